"""Cell-centred finite volumes (discretization="fv")."""

from __future__ import annotations

import numpy as np
import pytest

from sve.solvers import apparent_conductivity
from sve.solvers._core.clusters import find_clusters
from sve.solvers.conductivity.apparent import _element_conductivity
from sve.solvers.conductivity.cell_problem import _carrying
from sve.solvers.conductivity.fv import Phases
from tests._reference import conductivity_fv
from tests.sve.solvers._media import laminate, random_labels, refine, smooth_two_phase

FV_BCS = ("kinematic", "periodic", "mixed")


@pytest.mark.parametrize("bc", FV_BCS)
@pytest.mark.parametrize(("shape", "spacing"), [((6, 5), 1.0), ((2, 3), 0.5), ((4, 3, 5), 2.0)])
def test_matches_assembled_sparse_reference(bc, shape, spacing):
    values = np.array([1.0, 7.5, 0.3])
    phases = random_labels(shape, 3, seed=sum(shape))
    result = apparent_conductivity(
        phases, values, bc=bc, spacing=spacing, tol=1e-12, discretization="fv"
    )
    expected = conductivity_fv(values[phases], bc, spacing)
    # tol=1e-12 at contrast 25: tensor error ~5e-12; 1e-8 covers the direct solve. The
    # reference takes the mixed value from the outlet current, an independent formula.
    np.testing.assert_allclose(result.tensor, expected, rtol=0, atol=1e-8)
    assert result.discretization == "fv" and result.converged


@pytest.mark.parametrize(("ndim", "normal"), [(2, 1), (3, 0)])
@pytest.mark.parametrize("bc", ["periodic", "mixed"])
def test_laminates_are_exact(ndim, normal, bc):
    layers = [0, 1, 1, 2, 0]
    values = np.array([1.0, 20.0, 0.5])
    result = apparent_conductivity(
        laminate(ndim, normal, layers), values, bc=bc, tol=1e-12, discretization="fv"
    )
    diagonal = np.full(ndim, np.mean(values[layers]))
    diagonal[normal] = 1.0 / np.mean(1.0 / values[layers])
    # Harmonic face conductances are series resistances: exact across layers, as is the
    # arithmetic mean along them; tol=1e-12 leaves ~1e-11.
    np.testing.assert_allclose(np.diag(result.tensor), diagonal, rtol=1e-9)


@pytest.mark.parametrize("bc", FV_BCS)
def test_iteration_counts_do_not_grow_with_resolution(bc):
    coarse = smooth_two_phase((24, 24), np.random.default_rng(4))
    counts = [
        np.array(
            apparent_conductivity(p, [1.0, 100.0], bc=bc, tol=1e-8, discretization="fv").iterations
        )
        for p in (coarse, refine(coarse, 4))
    ]
    # Same spectral argument as Q1: the reference operator is the FV Laplacian itself.
    assert np.all(counts[1] <= counts[0] + np.maximum(0.25 * counts[0], 4)), counts


def test_q1_and_fv_agree_under_refinement_of_a_smooth_medium():
    coarse = smooth_two_phase((16, 16), np.random.default_rng(1), length=2.0)
    gaps = []
    for factor in (1, 2, 4):
        phases = refine(coarse, factor)
        q1, fv = (
            apparent_conductivity(phases, [1.0, 10.0], tol=1e-10, discretization=d).tensor
            for d in ("q1", "fv")
        )
        gaps.append(np.abs(q1 - fv).max())
    # Two consistent discretizations of one geometry: their gap shrinks with refinement.
    assert gaps[2] < gaps[1] < gaps[0]


# -- faces read from the labels (Phases) ------------------------------------------------


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int64])
@pytest.mark.parametrize(
    ("shape", "kinds"),
    [
        ((7, 9, 11), ("periodic",) * 3),
        ((7, 9, 11), ("dirichlet",) * 3),
        ((12, 10), ("dirichlet", "neumann")),
    ],
)
def test_faces_from_labels_equal_the_stored_faces(dtype, shape, kinds):
    """The per-phase tables give the numbers of the per-face arrays: the operator, the
    flux averages and the multigrid cycle agree bit for bit."""
    from sve.solvers.conductivity.fv import FVGrid, Phases
    from sve.solvers.conductivity.fv_multigrid import fv_multigrid

    rng = np.random.default_rng(5)
    labels = rng.integers(0, 3, size=shape).astype(dtype)
    table = np.array([1.0, 7.3, 0.2])
    spacing = (1.0, 1.3, 0.7)[: len(shape)]
    stored = FVGrid(table[labels], kinds, spacing)
    read = FVGrid(Phases.of(labels, table), kinds, spacing)
    assert read.labels is not None and stored.labels is None
    for a, b in zip(stored.conductances, read.conductances, strict=True):
        np.testing.assert_array_equal(a, b)
    u = rng.standard_normal(shape)
    for gradient in (np.zeros(len(shape)), np.eye(len(shape))[1]):
        a, b = np.empty(shape), np.empty(shape)
        stored.flux(u, gradient, a)
        read.flux(u, gradient, b)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(stored.mean_flux(u, gradient), read.mean_flux(u, gradient))
    if "periodic" not in kinds:
        for precision in (np.float64, np.float32):
            r = rng.standard_normal(shape).astype(precision)
            a, b = np.empty(shape, precision), np.empty(shape, precision)
            fv_multigrid(stored.conductances)(r, a)
            fv_multigrid(read)(r, b)
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("void", [1.0, 0.0])
@pytest.mark.parametrize(
    ("bc", "preconditioner"), [("mixed", "multigrid"), ("kinematic", "fft"), ("periodic", "fft")]
)
def test_labels_path_gives_the_tensor_of_the_per_voxel_field(bc, preconditioner, void):
    """Per-phase values take the labels path, the same values per voxel the stored faces:
    the same tensor bit for bit, in both precisions. With a void phase (a third of the
    voxels) the clusters that carry no flux are voided in the labels (``Carriers``)
    where the field path zeroes them in the field."""
    rng = np.random.default_rng(2)
    phases = rng.integers(0, 3, size=(10, 12, 9)).astype(np.int8)
    values = np.array([void, 10.0, 0.3])
    medium, _, _ = _element_conductivity(phases, values, labels=True)
    assert isinstance(medium, Phases)
    if void == 0.0:
        clusters = find_clusters(medium.conducting(), periodic=False, discretization="fv")
        assert clusters.labels.dtype == np.int32
        dead = ~_carrying(clusters, "mixed", 0)
        assert dead.any()  # clusters to void under mixed conditions, on both paths
    for precision in ("double", "single"):
        options = dict(
            bc=bc, discretization="fv", preconditioner=preconditioner, precision=precision
        )
        by_label = apparent_conductivity(phases, values, **options)
        by_voxel = apparent_conductivity(phases, values[phases], **options)
        np.testing.assert_array_equal(by_label.tensor, by_voxel.tensor)
        assert by_label.iterations == by_voxel.iterations
        assert by_label.voigt == pytest.approx(by_voxel.voigt, rel=1e-14)
        assert by_label.reuss == pytest.approx(by_voxel.reuss, rel=1e-14)
