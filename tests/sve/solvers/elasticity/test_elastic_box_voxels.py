"""Apparent stiffness on box voxels: a spacing (h0, h1[, h2]) with different entries.

Oracles: the assembled scipy.sparse reference (``_elastic_reference.py``,
which takes the edges per axis) with and without voids; homogeneous media
and the Backus laminate with its layers normal to each axis in turn
(exact); Huet's hierarchy and the Voigt and Reuss bounds per realization;
an image stretched along an axis on which it is constant against the image
with its voxels duplicated (exact under periodic conditions).
"""

from __future__ import annotations

import numpy as np
import pytest

from sve.solvers import apparent_stiffness
from tests.sve.solvers._media import laminate, random_labels, smooth_two_phase
from tests.sve.solvers.elasticity._elastic_reference import apparent_stiffness_reference
from tests.sve.solvers.elasticity.test_elasticity import (
    POROUS,
    assert_below,
    backus_average,
    coupling,
    material,
    normal_block,
    two_isotropic_phases,
    with_voids,
)

BCS = ("kinematic", "periodic", "static", "mixed")
BOXES = {2: (1.0, 3.0), 3: (1.0, 1.0, 3.0)}
ROUND_OFF = 1e-12


@pytest.mark.parametrize("bc", BCS)
@pytest.mark.parametrize(
    ("shape", "spacing"),
    [((6, 5), (1.0, 3.0)), ((4, 3, 5), (1.0, 1.0, 3.0)), ((3, 4, 4), (2.0, 0.5, 1.3))],
)
def test_matches_the_sparse_reference_on_box_voxels(bc, shape, spacing):
    ndim = len(shape)
    phases = random_labels(shape, 2, seed=sum(shape))
    stiffness = two_isotropic_phases(ndim)
    result = apparent_stiffness(phases, stiffness, bc=bc, spacing=spacing, tol=1e-12, maxiter=5000)
    expected = apparent_stiffness_reference(stiffness[phases], bc, spacing)
    # CG to a relative residual of 1e-12 at contrast 10 (tensor error ~1e-11 of its norm);
    # the direct solve loses ~cond * eps. A cubic reference differs by O(1) here.
    scale = np.linalg.norm(np.nan_to_num(expected))
    np.testing.assert_allclose(result.tensor, expected, rtol=0, atol=1e-9 * scale)
    cubic = apparent_stiffness_reference(stiffness[phases], bc, 1.0)
    assert np.nanmax(np.abs(cubic - expected)) > 1e-3 * scale  # the spacing matters here
    assert result.converged


@pytest.mark.parametrize("bc", ["periodic", "kinematic", "mixed"])
@pytest.mark.parametrize(
    "name",
    ["random 2-D", "random 3-D"]
    + [pytest.param(n, marks=pytest.mark.slow) for n in ("corner chain 3-D", "edge chain 3-D")],
)
def test_voids_match_the_reference_on_box_voxels(bc, name):
    """Floating parts and hinges: their zero-energy modes are rigid motions of the physical
    positions (node index times h_i), not of the indices."""
    phases = POROUS[name]
    spacing = BOXES[phases.ndim]
    stiffness = with_voids(phases.ndim)
    result = apparent_stiffness(phases, stiffness, bc=bc, spacing=spacing, tol=1e-12, maxiter=5000)
    expected = apparent_stiffness_reference(stiffness[phases], bc, spacing)
    scale = np.nanmax(np.abs(expected))
    np.testing.assert_allclose(result.tensor, expected, rtol=0, atol=1e-9 * scale)
    assert result.converged


@pytest.mark.parametrize("shape", [(7, 6), pytest.param((5, 5, 6), marks=pytest.mark.slow)])
def test_static_conditions_with_interior_voids_match_the_reference_on_box_voxels(shape):
    ndim = len(shape)
    phases = (np.random.default_rng(5).random(shape) < 0.5).astype(np.int8)
    interior = tuple(slice(1, -1) for _ in shape)
    shell = np.zeros(shape, np.int8)
    shell[interior] = phases[interior]  # a solid boundary shell carries the tractions
    stiffness = with_voids(ndim)
    spacing = BOXES[ndim]
    result = apparent_stiffness(
        shell, stiffness, bc="static", spacing=spacing, tol=1e-12, maxiter=5000
    )
    expected = apparent_stiffness_reference(stiffness[shell], "static", spacing)
    np.testing.assert_allclose(result.tensor, expected, rtol=0, atol=1e-9 * np.abs(expected).max())


@pytest.mark.parametrize(
    ("bc", "kind"),
    [
        (bc, kind)
        for bc in BCS
        for kind in ("isotropic", "cubic", "rotated cubic")
        if (bc, kind) != ("mixed", "rotated cubic")  # not exact (normal-shear coupling)
    ],
)
@pytest.mark.parametrize("shape", [(5, 6), (4, 5, 3)])
def test_homogeneous_medium_returns_the_input_tensor_on_box_voxels(bc, shape, kind):
    ndim = len(shape)
    tensor = material(kind, ndim)
    result = apparent_stiffness(
        np.zeros(shape, np.int8), [tensor], bc=bc, spacing=BOXES[ndim], tol=1e-12
    )
    expected = tensor.copy()
    if bc == "mixed":
        expected[coupling(expected)] = np.nan
    # The affine field solves every problem; static conditions find it to tol=1e-12.
    np.testing.assert_allclose(
        result.tensor, expected, rtol=0, atol=1e3 * ROUND_OFF * np.abs(tensor).max()
    )


@pytest.mark.parametrize("ndim", [2, 3])
def test_backus_laminate_is_exact_on_box_voxels_with_layers_normal_to_each_axis(ndim):
    thickness = np.array([3, 1, 2])
    layers = np.array(
        [
            two_isotropic_phases(ndim)[0],
            two_isotropic_phases(ndim)[1] * 2.0,
            material("rotated cubic", ndim) / 50.0,  # couples normal and shear components
        ]
    )
    for normal in range(ndim):
        phases = laminate(ndim, normal, np.repeat(np.arange(3), thickness), width=4)
        result = apparent_stiffness(phases, layers, bc="periodic", spacing=BOXES[ndim], tol=1e-11)
        expected = backus_average(layers, thickness / thickness.sum(), normal)
        # piecewise affine exact field, in the Q1 space: only the solver tolerance remains
        np.testing.assert_allclose(
            result.tensor, expected, rtol=0, atol=1e-8 * np.abs(expected).max()
        )


@pytest.mark.parametrize(("shape", "seed"), [((12, 10), 0), ((6, 7, 5), 2)])
def test_huet_hierarchy_and_bounds_hold_per_realization_on_box_voxels(shape, seed):
    ndim = len(shape)
    phases = smooth_two_phase(shape, np.random.default_rng(seed), length=1.0)
    stack = two_isotropic_phases(ndim)
    tol = 1e-10
    results = {
        bc: apparent_stiffness(phases, stack, bc=bc, spacing=BOXES[ndim], tol=tol) for bc in BCS
    }
    static, periodic, kinematic = (
        results[bc].tensor for bc in ("static", "periodic", "kinematic")
    )
    # Tensor errors O(contrast * tol) of their norm; the gaps are O(1) on these images.
    slack = 100 * tol
    assert_below(static, periodic, slack)
    assert_below(periodic, kinematic, slack)
    mixed = normal_block(results["mixed"].tensor)
    assert_below(np.linalg.inv(normal_block(results["static"].compliance)), mixed, slack)
    assert_below(mixed, normal_block(kinematic), slack)
    fractions = np.bincount(phases.reshape(-1), minlength=2) / phases.size
    voigt = np.einsum("n,nij->ij", fractions, stack)
    reuss = np.linalg.inv(np.einsum("n,nij->ij", fractions, np.linalg.inv(stack)))
    assert_below(reuss, static, slack)
    assert_below(kinematic, voigt, slack)
    # the spacing changes the answer: the cubic periodic tensor differs by O(1)
    cubic = apparent_stiffness(phases, stack, bc="periodic", tol=tol).tensor
    assert np.abs(cubic - periodic).max() > 1e-3 * np.abs(periodic).max()


@pytest.mark.parametrize(("shape", "axis"), [((5, 4, 3), 2), ((6, 4), 1), ((3, 5, 4), 0)])
def test_a_stretched_image_equals_the_duplicated_one_where_the_medium_is_constant_along_it(
    shape, axis
):
    """Periodic conditions: a shift along `axis` maps solutions to solutions, so the unique
    fluctuation of a medium constant along `axis` is constant along it, on both grids; the
    energies of such fields agree on the two grids (one voxel of length 2 or two of length
    1), hence so do the minimizers. Exact, to the solver tolerance."""
    ndim = len(shape)
    section = list(shape)
    section[axis] = 1
    labels = np.random.default_rng(sum(shape)).integers(0, 2, size=section)
    phases = np.broadcast_to(labels, shape).astype(np.int8)
    spacing = np.ones(ndim)
    spacing[axis] = 2.0
    stack = two_isotropic_phases(ndim)
    stretched = apparent_stiffness(phases, stack, spacing=tuple(spacing), tol=1e-12)
    duplicated = apparent_stiffness(np.repeat(phases, 2, axis=axis), stack, tol=1e-12)
    np.testing.assert_allclose(
        stretched.tensor, duplicated.tensor, rtol=0, atol=1e-9 * np.abs(duplicated.tensor).max()
    )


@pytest.mark.parametrize("bc", BCS)
def test_a_uniform_scaling_of_box_voxels_changes_nothing(bc):
    phases = random_labels((5, 4, 3), 2, seed=3)
    results = [
        apparent_stiffness(phases, two_isotropic_phases(3), bc=bc, spacing=h, tol=1e-12)
        for h in ((1.0, 1.0, 3.0), (0.01, 0.01, 0.03))
    ]
    scale = np.abs(np.nan_to_num(results[0].tensor)).max()
    np.testing.assert_allclose(
        results[1].tensor, results[0].tensor, rtol=0, atol=1e-12 * scale, equal_nan=True
    )


# Measured (`benchmarks/bench_spacing.py --elasticity --size 32`: level cut of a Gaussian field
# of correlation length 3 voxels, phi = 0.5, Young's contrast 10, tol 1e-6): the largest count
# at spacing (1, 1, 3) over that at (1, 1, 1) was 1.00-1.10 under the four conditions (the
# reference medium of the preconditioner has the same voxel edges). The issue asks for at
# most 1.5.
ITERATION_RATIO = 1.5


@pytest.mark.parametrize("bc", BCS)
def test_iteration_counts_on_box_voxels_stay_within_1_5_times_the_cubic_ones(bc):
    from generators import Gaussian, gaussian_field, level_cut

    phases = level_cut(gaussian_field((16, 16, 16), Gaussian(2.0), rng=0), 0.5)
    counts = [
        max(
            apparent_stiffness(
                phases, two_isotropic_phases(3), bc=bc, spacing=h, tol=1e-6
            ).iterations
        )
        for h in ((1.0, 1.0, 1.0), (1.0, 1.0, 3.0))
    ]
    assert counts[1] <= ITERATION_RATIO * counts[0], counts
