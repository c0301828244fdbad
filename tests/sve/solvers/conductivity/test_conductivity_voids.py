"""Voids (zero conductivity), floating clusters, percolation and extreme contrast."""

from __future__ import annotations

import numpy as np
import pytest

from generators import Gaussian, gaussian_field, level_cut
from sve.solvers import apparent_conductivity
from sve.solvers._core.clusters import find_clusters
from sve.solvers.conductivity.cell_problem import Carriers, _voided
from sve.solvers.conductivity.fv import Phases
from tests._reference import bounded_conductivity_q1, conductivity_fv, periodic_conductivity_q1
from tests.sve.solvers._media import random_labels, smooth_two_phase

BCS = ("kinematic", "periodic", "static", "mixed")
# Every (bc, discretization) pair that is implemented (static finite volumes are not).
PAIRS = [(bc, d) for d in ("q1", "fv") for bc in BCS if (bc, d) != ("static", "fv")]
# Stand-in conductivity of the voids in the assembled references: the tensor moves by
# O(EPSILON * |grad T|^2) inside the voids, far below the tolerance used against it.
EPSILON = 1e-10


def reference(k, bc, discretization):
    if discretization == "fv":
        return conductivity_fv(k, bc)
    return periodic_conductivity_q1(k) if bc == "periodic" else bounded_conductivity_q1(k, bc)


@pytest.mark.parametrize(("bc", "discretization"), PAIRS)
@pytest.mark.parametrize(("shape", "seed"), [((6, 7), 0), ((7, 5), 1), ((4, 5, 4), 2)])
def test_voids_match_the_reference_with_a_tiny_conductivity(discretization, bc, shape, seed):
    phases = (np.random.default_rng(seed).random(shape) < 0.35).astype(np.int8)  # 1 = void
    result = apparent_conductivity(
        phases, [1.0, 0.0], bc=bc, tol=1e-12, discretization=discretization
    )
    expected = reference(np.array([1.0, EPSILON])[phases], bc, discretization)
    # Gradients in voids are O(1/h) at worst here, so the EPSILON stand-in shifts the
    # reference by ~1e-9 (SUBC: its zero directions become O(EPSILON * N) instead of 0).
    np.testing.assert_allclose(result.tensor, expected, rtol=0, atol=1e-7)
    assert result.converged and np.all(np.isfinite(np.diag(result.tensor)))
    assert any(note.startswith("voids:") for note in result.notes)


@pytest.mark.parametrize(("bc", "discretization"), PAIRS)
def test_floating_islands_carry_no_flux(bc, discretization):
    # A conducting band along axis 1 crossing the cell, plus islands cut off by voids.
    phases = np.ones((12, 12), np.int8)  # 1 = void
    phases[4:8, :] = 0
    islands = phases.copy()
    islands[1, 2] = islands[10, 5] = islands[10, 6] = 0
    results = [
        apparent_conductivity(p, [2.0, 0.0], bc=bc, tol=1e-10, discretization=discretization)
        for p in (phases, islands)
    ]
    # Islands carry no flux (projected out under periodic and static conditions, made void
    # under kinematic and mixed ones): the same tensor to solver accuracy.
    np.testing.assert_allclose(results[1].tensor, results[0].tensor, rtol=1e-8, atol=1e-8)
    assert results[1].converged


@pytest.mark.parametrize("discretization", ["q1", "fv"])
@pytest.mark.parametrize(
    "conductivity", [[2.0, 0.0], [np.diag([2.0, 3.0]), np.zeros((2, 2))]], ids=["scalar", "tensor"]
)
def test_dead_ends_of_the_mixed_condition_carry_no_flux(discretization, conductivity):
    # A band joining the two faces normal to axis 0, a branch touching only the face at
    # index 0, and an island: under mixed conditions along axis 0 the two last hold a
    # constant temperature and are made void before the solve.
    phases = np.ones((12, 12), np.int8)  # 1 = void
    phases[:, 4:8] = 0
    extra = phases.copy()
    extra[0:4, 10] = 0  # the branch
    extra[6, 1] = 0  # the island
    results = [
        apparent_conductivity(
            p, conductivity, bc="mixed", tol=1e-10, discretization=discretization
        )
        for p in (phases, extra)
    ]
    # Removing them is exact: the same tensor to solver accuracy (1e-10 on the residual).
    assert results[1].tensor[0, 0] > 0.0
    np.testing.assert_allclose(results[1].tensor, results[0].tensor, rtol=1e-8, atol=1e-8)
    assert results[1].converged


@pytest.mark.parametrize("bc", ["periodic", "mixed"])
@pytest.mark.parametrize("ndim", [2, 3])
def test_a_direction_without_a_path_gives_zero_with_a_note(bc, ndim):
    phases = np.zeros((6,) * ndim, np.int8)
    phases[3] = 1  # a void layer normal to axis 0
    result = apparent_conductivity(phases, [1.0, 0.0], bc=bc)
    assert result.tensor[0, 0] == 0.0 and result.iterations[0] == 0
    assert result.percolating == (False,) + (True,) * (ndim - 1)
    assert any("no conducting path along axis 0" in note for note in result.notes)
    # Along the layers: the arithmetic mean (5 conducting layers of 6), exact.
    np.testing.assert_allclose(np.diag(result.tensor)[1:], 5.0 / 6.0, rtol=1e-9)
    assert result.min_eigenvalue == 0.0 and result.reuss == 0.0 and result.bounds_defect == 0.0


def test_static_condition_with_voids_on_the_boundary_is_degenerate():
    phases = random_labels((8, 8), 2, seed=5)
    result = apparent_conductivity(phases, [1.0, 0.0], bc="static")
    # A uniform flux cannot enter through void faces: zero, flagged, never NaN.
    np.testing.assert_array_equal(result.tensor, 0.0)
    assert any(note.startswith("static:") for note in result.notes)


def test_corner_contacts_conduct_in_q1_but_not_in_finite_volumes():
    diagonal = 1 - np.eye(6, dtype=np.int8)  # conducting voxels touch at corners only
    q1 = apparent_conductivity(diagonal, [1.0, 0.0], bc="mixed")
    fv = apparent_conductivity(diagonal, [1.0, 0.0], bc="mixed", discretization="fv")
    assert q1.percolating == (True, True) and np.all(np.diag(q1.tensor) > 0.05)
    assert fv.percolating == (False, False) and np.all(np.diag(fv.tensor) == 0.0)


@pytest.mark.parametrize("bc", BCS)
@pytest.mark.parametrize("contrast", [1e6, 1e-6])
def test_extreme_contrast_converges_inside_the_bounds(bc, contrast):
    phases = smooth_two_phase((32, 32), np.random.default_rng(8), length=1.5)
    tol = 1e-8
    result = apparent_conductivity(phases, [1.0, contrast], bc=bc, tol=tol, maxiter=3000)
    assert result.converged and np.all(np.isfinite(np.diag(result.tensor)))
    # The docstring bound: errors ~ sqrt(contrast) tol times the gap to the Voigt bound,
    # which dwarfs the tensor itself when the good conductor does not percolate.
    allowed = np.sqrt(max(contrast, 1 / contrast)) * tol * result.voigt
    assert result.bounds_defect * result.voigt <= allowed and result.min_eigenvalue > 0
    scale = np.linalg.norm(np.nan_to_num(result.tensor))
    assert result.hill_mandel_defect * scale <= allowed


@pytest.mark.parametrize("bc", BCS)
def test_extreme_contrast_matches_the_reference(bc):
    phases = random_labels((6, 5), 2, seed=9)
    values = np.array([1.0, 1e6])
    result = apparent_conductivity(phases, values, bc=bc, tol=1e-13, maxiter=5000)
    k = values[phases]
    expected = periodic_conductivity_q1(k) if bc == "periodic" else bounded_conductivity_q1(k, bc)
    # Relative: tol 1e-13 times sqrt(1e6) bounds the error by ~1e-10 of the Voigt bound; the
    # direct solve at condition ~1e6 loses ~1e-10 as well.
    np.testing.assert_allclose(result.tensor, expected, rtol=1e-7, atol=1e-7 * k.mean())


@pytest.mark.parametrize(
    ("bc", "preconditioner"),
    [("periodic", "multigrid"), ("kinematic", "fft"), ("static", "fft"), ("mixed", "multigrid")],
)
def test_a_void_phase_read_from_the_labels_gives_the_tensor_of_the_field(bc, preconditioner):
    """Q1: per-phase values with a void phase take the labels path (no float64 field,
    the dead clusters voided in a copy of the labels), values per voxel the field: the
    same tensors and iteration counts bit for bit, in both precisions. (Finite volumes:
    ``test_finite_volumes.py``.)"""
    # 30 % conducting: 8 clusters, 2 floating under kinematic and mixed conditions
    phases = level_cut(gaussian_field((16,) * 3, Gaussian(length=2.0), rng=0), 0.3)
    phases = phases.astype(np.int8)
    if bc == "static":  # a conducting skin: a void on its boundary makes it degenerate
        phases = np.pad(phases[1:-1, 1:-1, 1:-1], 1, constant_values=1)
    values = np.array([0.0, 10.0])
    for precision in ("double", "single"):
        options = dict(bc=bc, preconditioner=preconditioner, precision=precision, tol=1e-7)
        by_label = apparent_conductivity(phases, values, **options)
        by_voxel = apparent_conductivity(phases, values[phases], **options)
        np.testing.assert_array_equal(by_label.tensor, by_voxel.tensor)
        assert by_label.iterations == by_voxel.iterations
        assert np.all(np.diag(by_label.tensor) > 0.0)
        assert any(note.startswith("voids:") for note in by_label.notes)


def test_carriers_hold_the_load_cases_each_cluster_carries():
    """Finite volumes, 5 x 6: cluster A (column 0) joins the faces normal to axis 0 and
    touches the low face of axis 1; B (row 2, columns 3-5) touches the high face of axis
    1 only; C (voxel (4, 3)) the high face of axis 0 only. Mixed conditions: A carries
    load case 0, nothing carries case 1. Kinematic: every cluster touching a face carries
    every case. Voids have every bit. `_voided` gives the dead voxels the void phase."""
    labels = np.zeros((5, 6), np.int8)  # phase 0: void, phase 1: conducting
    labels[:, 0] = 1
    labels[2, 3:] = 1
    labels[4, 3] = 1
    a, b, c = (slice(None), 0), (2, slice(3, None)), (4, 3)
    clusters = find_clusters(labels > 0, periodic=False, discretization="fv")
    assert clusters.count == 3
    mixed = Carriers.of(clusters, "mixed", labels.shape).bits
    assert np.all(mixed[a] == 0b01) and np.all(mixed[b] == 0) and mixed[c] == 0
    assert np.all(mixed[labels == 0] == 0xFF)
    kinematic = Carriers.of(clusters, "kinematic", labels.shape).bits
    assert np.all(kinematic[labels > 0] == 0b11)
    medium = Phases.of(labels, np.array([0.0, 3.0]))
    for axis, alive in ((0, labels[:, 0:1]), (1, np.zeros((5, 1), np.int8))):
        voided, _ = _voided(medium, Carriers(mixed), axis, None)
        assert voided.labels[:, 0:1].tolist() == alive.tolist()
        assert np.count_nonzero(voided.labels) == alive.sum()  # B and C void in both cases
    assert _voided(medium, Carriers(kinematic), 0, None)[0] is medium  # nothing to void
