"""Tests of sve.solvers.apparent_conductivity: periodic Q1 voxel elements, result, inputs.

The other boundary conditions, voids and finite volumes have their own modules.
"""

from __future__ import annotations

import doctest
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sve.solvers._core.bc
import sve.solvers.conductivity.apparent
from sve.solvers import (
    ConductivityResult,
    ConvergenceError,
    apparent_conductivity,
    canonical_bc,
)
from sve.solvers._core.transforms import preconditioner
from sve.solvers.conductivity.cell_problem import _Solver
from sve.solvers.conductivity.q1 import Q1Grid, element_modes
from sve.solvers.conductivity.q1_kernels import nodal_flux_2d, nodal_flux_3d
from tests._reference import periodic_conductivity_q1, q1_element_integrals
from tests.sve.solvers._media import random_labels, refine, smooth_two_phase

# Round-off of sums over at most ~1e5 voxels, far below every solver tolerance used.
ROUND_OFF = 1e-12


# --- discretization building blocks -----------------------------------------------------------


@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize("spacing", [1.0, 0.3])
def test_element_stiffness_is_the_tensor_product_and_the_quadrature(ndim, spacing):
    stiffness_1d = np.array([[1.0, -1.0], [-1.0, 1.0]]) / spacing
    mass_1d = np.array([[2.0, 1.0], [1.0, 2.0]]) * spacing / 6.0
    tensor_product = sum(
        _kron_all([stiffness_1d if j == i else mass_1d for j in range(ndim)]) for i in range(ndim)
    )
    hadamard = _kron_all([np.array([[1.0, 1.0], [1.0, -1.0]])] * ndim)
    from_modes = hadamard @ np.diag(element_modes(ndim, spacing)) @ hadamard
    quadrature, _ = q1_element_integrals(ndim, spacing)
    # Three ways to the same 4x4 / 8x8 matrix: they differ by round-off only.
    np.testing.assert_allclose(from_modes, tensor_product, rtol=0, atol=ROUND_OFF)
    np.testing.assert_allclose(quadrature, tensor_product, rtol=0, atol=ROUND_OFF)


def _kron_all(matrices):
    out = np.ones((1, 1))
    for matrix in matrices:
        out = np.kron(out, matrix)
    return out


@pytest.mark.parametrize("shape", [(6, 9), (7, 4), (4, 5, 6), (5, 3, 7)])
@pytest.mark.parametrize("spacing", [1.0, 0.25])
def test_preconditioner_inverts_the_homogeneous_operator(shape, spacing):
    reference = 2.5
    rng = np.random.default_rng(1)
    u = rng.standard_normal(shape)
    u -= u.mean()
    k = np.full(shape, reference)
    nodal_flux = nodal_flux_2d if len(shape) == 2 else nodal_flux_3d
    au = np.empty(shape)
    nodal_flux(u, np.zeros(2 ** len(shape)), k, element_modes(len(shape), spacing), au)
    back = np.empty(shape)
    preconditioner("q1", ("periodic",) * len(shape), shape, spacing, reference)(au, back)
    # Identity on zero-mean fields up to FFT round-off (~1e-15 relative).
    np.testing.assert_allclose(back, u, rtol=0, atol=ROUND_OFF)


# --- exact results ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "spacing"),
    [
        ((6, 7), 1.0),
        ((5, 4), 0.5),
        ((2, 5), 1.0),
        ((4, 5, 3), 1.0),
        ((3, 4, 4), 2.0),
        ((2, 3, 2), 1.0),
    ],
)
def test_matches_assembled_sparse_reference_per_phase(shape, spacing):
    phases = random_labels(shape, 3, seed=sum(shape))
    values = np.array([1.0, 7.5, 0.3])
    result = apparent_conductivity(phases, values, spacing=spacing, tol=1e-12)
    expected = periodic_conductivity_q1(values[phases], spacing)
    # tol=1e-12 with contrast 25 bounds the tensor error by ~5e-12 (docstring bound);
    # 1e-8 leaves room for the round-off of the direct solve.
    np.testing.assert_allclose(result.tensor, expected, rtol=0, atol=1e-8)
    assert result.converged


@pytest.mark.parametrize("shape", [(8, 5), (4, 3, 5)])
def test_matches_assembled_sparse_reference_per_voxel(shape):
    field = np.random.default_rng(7).lognormal(sigma=1.0, size=shape)
    result = apparent_conductivity(np.zeros(shape, np.int8), field, tol=1e-12)
    expected = periodic_conductivity_q1(field)
    # Same reasoning as the per-phase case; contrast ~50 here.
    np.testing.assert_allclose(result.tensor, expected, rtol=0, atol=1e-8)


@pytest.mark.parametrize("shape", [(8, 8), (5, 7), (4, 5, 6)])
@pytest.mark.parametrize("spacing", [1.0, 0.1])
def test_homogeneous_medium_gives_the_input(shape, spacing):
    phases = random_labels(shape, 2, seed=3)  # two labels, same value
    result = apparent_conductivity(phases, [3.7, 3.7], spacing=spacing)
    # The load vanishes up to round-off and the preconditioner is exact.
    np.testing.assert_allclose(result.tensor, 3.7 * np.eye(len(shape)), rtol=ROUND_OFF, atol=0)
    assert result.converged and max(result.iterations) <= 1


@pytest.mark.parametrize(("ndim", "normal"), [(2, 0), (2, 1), (3, 0), (3, 1), (3, 2)])
def test_laminate_gives_arithmetic_and_harmonic_means(ndim, normal):
    layers = np.array([0, 0, 1, 2, 2, 2, 1])
    values = np.array([1.0, 20.0, 0.5])
    shape = [4] * ndim
    shape[normal] = layers.size
    index = [np.newaxis] * ndim
    index[normal] = slice(None)
    phases = np.broadcast_to(layers[tuple(index)], shape).copy()
    result = apparent_conductivity(phases, values, tol=1e-12)
    expected = np.full(ndim, np.mean(values[layers]))
    expected[normal] = 1.0 / np.mean(1.0 / values[layers])
    # Q1 is exact for layers on the grid; tol=1e-12 leaves an error ~1e-11.
    np.testing.assert_allclose(result.tensor, np.diag(expected), rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("shape", [(32, 32), (12, 12, 12)])
@pytest.mark.parametrize("contrast", [10.0, 100.0])
@pytest.mark.parametrize("tol", [1e-6, 1e-9])
def test_tensor_is_spd_inside_bounds_with_small_defects(shape, contrast, tol):
    phases = smooth_two_phase(shape, np.random.default_rng(11))
    values = np.array([1.0, contrast])
    result = apparent_conductivity(phases, values, tol=tol)
    k = values[phases]
    voigt, reuss = k.mean(), 1.0 / np.mean(1.0 / k)
    eigenvalues = np.linalg.eigvalsh(0.5 * (result.tensor + result.tensor.T))
    # Exact for the discrete problem; the tensor error (<~ sqrt(contrast) tol) is the margin.
    margin = np.sqrt(contrast) * tol * voigt
    assert reuss - margin <= eigenvalues.min() and eigenvalues.max() <= voigt + margin
    assert eigenvalues.min() > 0
    # Both defects are first order in the residual with the factor sqrt(contrast)
    # of the docstring bound (the gap to Voigt is below the Voigt bound itself).
    assert result.symmetry_defect <= np.sqrt(contrast) * tol
    assert result.hill_mandel_defect <= np.sqrt(contrast) * tol
    assert result.residual <= tol and result.converged


# --- invariances --------------------------------------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    ndim=st.sampled_from([2, 3]),
    shift=st.tuples(st.integers(-9, 9), st.integers(-9, 9), st.integers(-9, 9)),
)
def test_periodic_shift_leaves_the_tensor_unchanged(seed, ndim, shift):
    phases = random_labels((7, 6, 5)[:ndim], 3, seed)
    values = [1.0, 9.0, 0.2]
    tensor = apparent_conductivity(phases, values, tol=1e-11).tensor
    shifted = apparent_conductivity(
        np.roll(phases, shift[:ndim], axis=tuple(range(ndim))), values, tol=1e-11
    ).tensor
    # Both solves are accurate to ~sqrt(45) * 1e-11 (docstring bound).
    np.testing.assert_allclose(shifted, tensor, rtol=0, atol=1e-9)


@pytest.mark.parametrize("shape", [(9, 7), (5, 6, 4)])
def test_rotation_and_reflection_transform_the_tensor(shape):
    phases = random_labels(shape, 3, seed=5)
    values = [1.0, 9.0, 0.2]
    tensor = apparent_conductivity(phases, values, tol=1e-11).tensor
    # np.rot90(axes=(0, 1)): new(y) = old(R y) with R = [[0, 1], [-1, 0]] in the
    # (0, 1) plane, so K_new = R^T K R.
    rotation = np.eye(len(shape))
    rotation[:2, :2] = [[0.0, 1.0], [-1.0, 0.0]]
    rotated = apparent_conductivity(np.rot90(phases, axes=(0, 1)), values, tol=1e-11).tensor
    # A reflection of axis 0 flips the sign of the off-diagonal entries of row/column 0.
    mirror = np.diag([-1.0] + [1.0] * (len(shape) - 1))
    reflected = apparent_conductivity(np.flip(phases, axis=0), values, tol=1e-11).tensor
    # Solver accuracy ~sqrt(45) * 1e-11 (docstring bound).
    np.testing.assert_allclose(rotated, rotation.T @ tensor @ rotation, rtol=0, atol=1e-9)
    np.testing.assert_allclose(reflected, mirror @ tensor @ mirror, rtol=0, atol=1e-9)
    assert np.abs(tensor - np.diag(np.diag(tensor))).max() > 1e-4  # off-diagonal is tested


@pytest.mark.parametrize("shape", [(10, 12), (6, 5, 7)])
def test_tensor_and_iterations_do_not_depend_on_spacing(shape):
    phases = random_labels(shape, 2, seed=8)
    results = [
        apparent_conductivity(phases, [1.0, 30.0], spacing=h, tol=1e-10)
        for h in (1.0, 0.37, 2.5e-6, 4e3)
    ]
    for result in results[1:]:
        # Exact scale invariance; only round-off differs between spacings.
        np.testing.assert_allclose(result.tensor, results[0].tensor, rtol=1e-9, atol=0)
        # Iterates are the same up to round-off; a one-iteration change at the stopping
        # threshold is possible in principle.
        assert np.abs(np.subtract(result.iterations, results[0].iterations)).max() <= 1


@pytest.mark.parametrize("shape", [(9, 8), (4, 6, 5)])
def test_per_voxel_field_equals_per_phase_values(shape):
    phases = random_labels(shape, 3, seed=2)
    values = np.array([2.0, 0.5, 11.0])
    per_phase = apparent_conductivity(phases, values, tol=1e-8)
    per_voxel = apparent_conductivity(np.zeros(shape, np.int64), values[phases], tol=1e-8)
    # The element conductivities are the same array, so the arithmetic is identical.
    np.testing.assert_array_equal(per_voxel.tensor, per_phase.tensor)
    assert per_voxel.iterations == per_phase.iterations


# --- solver behaviour ---------------------------------------------------------------------------


@pytest.mark.parametrize(("coarse_shape", "factor"), [((32, 32), 4), ((12, 12, 12), 3)])
@pytest.mark.parametrize("contrast", [10.0, 100.0])
def test_iteration_counts_do_not_grow_with_resolution(coarse_shape, factor, contrast):
    coarse = smooth_two_phase(coarse_shape, np.random.default_rng(4))
    counts = [
        np.array(
            apparent_conductivity(p, [1.0, contrast], tol=1e-8, preconditioner="fft").iterations
        )
        for p in (coarse, refine(coarse, factor))
    ]
    # The transforms: the preconditioned condition number is bounded by the contrast alone;
    # allow 20 % or 3 iterations for the change of the spectrum under refinement (multigrid:
    # test_boundary_conditions.py).
    assert np.all(np.abs(counts[1] - counts[0]) <= np.maximum(0.2 * counts[0], 3)), counts


@pytest.mark.parametrize(("shape", "tiles"), [((24, 24), 3), ((10, 10, 10), 2)])
def test_iteration_counts_of_a_periodic_tiling_are_those_of_its_tile(shape, tiles):
    # A periodic tiling of an image is the same periodic medium: the load and the operator
    # commute with the translations by one tile, so the Krylov spaces and the iterates are
    # those of the tile. The iteration count is a property of the medium's geometry, not of
    # the number of voxels: its growth on larger samples of a random medium comes from the
    # new geometry they hold (see the Notes of apparent_conductivity). One iteration of
    # slack: round-off may move a residual across `tol`.
    tile = smooth_two_phase(shape, np.random.default_rng(12))
    results = [
        apparent_conductivity(p, [1.0, 100.0], tol=1e-8) for p in (tile, np.tile(tile, tiles))
    ]
    counts = [np.array(result.iterations) for result in results]
    assert np.abs(counts[1] - counts[0]).max() <= 1, counts
    # Equal tensors within the error bound of the Notes, sqrt(kappa) tol k_max: the
    # single-precision transforms of the two sizes round differently.
    bound = np.sqrt(100.0) * 1e-8 * 100.0
    np.testing.assert_allclose(results[1].tensor, results[0].tensor, rtol=0, atol=bound)


@pytest.mark.parametrize("reference", [1.0, 10.0, 100.0])
def test_iterations_do_not_depend_on_the_reference_medium(reference):
    # M = k0 A_1: conjugate gradients are invariant under a scaling of the preconditioner,
    # so k0 (mean, geometric mean, (k_min + k_max) / 2 ...) changes neither the count nor
    # the solution, up to the single-precision rounding of the transforms (1e-7 relative).
    k = np.array([1.0, 100.0])[smooth_two_phase((32, 32), np.random.default_rng(13))]
    grid = Q1Grid(k, ("periodic", "periodic"), 1.0)
    load = np.empty(grid.shape)
    grid.flux(np.zeros(grid.shape), np.array([1.0, 0.0]), load)
    np.negative(load, out=load)
    solutions = []
    for k0 in (float(k.mean()), reference):
        solver = _Solver(grid, None, tol=1e-8, maxiter=200, reference=k0)
        u = np.empty(grid.shape)
        iterations, _ = solver.solve(load, u, 0.0)
        solutions.append((iterations, u))
    assert abs(solutions[1][0] - solutions[0][0]) <= 1
    scale = np.abs(solutions[0][1]).max()
    np.testing.assert_allclose(solutions[1][1], solutions[0][1], rtol=0, atol=1e-6 * scale)


def test_non_convergence_raises_or_flags():
    phases = smooth_two_phase((24, 24), np.random.default_rng(6))
    with pytest.raises(ConvergenceError, match="did not converge") as info:
        apparent_conductivity(phases, [1.0, 100.0], tol=1e-10, maxiter=2)
    assert info.value.result is not None and not info.value.result.converged
    flagged = apparent_conductivity(phases, [1.0, 100.0], tol=1e-10, maxiter=2, on_failure="flag")
    assert not flagged.converged
    assert flagged.iterations == (2, 2)
    assert flagged.residual > 1e-10
    assert np.all(np.isfinite(flagged.tensor))


def test_result_is_frozen_and_error_survives_pickling():
    phases = random_labels((6, 6), 2, seed=0)
    result = apparent_conductivity(phases, [1.0, 3.0])
    assert isinstance(result, ConductivityResult)
    assert result.tensor.dtype == np.float64 and result.tensor.shape == (2, 2)
    assert result.bc == "periodic" and result.discretization == "q1"
    assert result.wall_time > 0
    with pytest.raises(ValueError, match="read-only"):
        result.tensor[0, 0] = 0.0
    with pytest.raises(AttributeError):
        result.bc = "static"
    error = pickle.loads(pickle.dumps(ConvergenceError("message", result)))
    assert str(error) == "message" and error.result.bc == "periodic"


@pytest.mark.parametrize("module", [sve.solvers.conductivity.apparent, sve.solvers._core.bc])
def test_docstring_examples(module):
    assert doctest.testmod(module, raise_on_error=False).failed == 0


# --- boundary condition names -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["periodic", "PBC", "pbc", "Periodic"])
def test_periodic_names_are_accepted(name):
    result = apparent_conductivity(random_labels((4, 4), 2, 0), [1.0, 2.0], bc=name)
    assert result.bc == "periodic"


@pytest.mark.parametrize(
    ("name", "canonical"),
    [("KUBC", "kinematic"), ("subc", "static"), ("MUBC", "mixed"), ("Kinematic", "kinematic")],
)
def test_every_condition_is_implemented_under_its_aliases(name, canonical):
    assert canonical_bc(name) == canonical
    assert canonical in sve.solvers.CONDUCTIVITY_BCS
    result = apparent_conductivity(random_labels((4, 4), 2, 0), [1.0, 2.0], bc=name)
    assert result.bc == canonical


def test_static_finite_volumes_are_not_implemented():
    with pytest.raises(NotImplementedError, match="discretization='q1' only"):
        apparent_conductivity(GOOD_PHASES, [1.0, 2.0], bc="static", discretization="fv")


# --- invalid input ------------------------------------------------------------------------------

GOOD_PHASES = np.array([[0, 1], [1, 0]], dtype=np.int8)


@pytest.mark.parametrize(
    ("phases", "conductivity", "options", "error", "pattern"),
    [
        (np.zeros(5, np.int8), [1.0], {}, ValueError, "^phases must be 2-D or 3-D"),
        (np.zeros((2,) * 4, np.int8), [1.0], {}, ValueError, "^phases must be 2-D or 3-D"),
        (np.zeros((2, 2)), [1.0], {}, TypeError, "^phases must be an integer array"),
        (np.zeros((2, 2), bool), [1.0], {}, TypeError, "^phases must be an integer array"),
        (np.zeros((1, 4), np.int8), [1.0], {}, ValueError, "^phases must have at least 2"),
        (np.array([[0, -1], [0, 0]]), [1.0], {}, ValueError, "^phases must hold labels >= 0"),
        (GOOD_PHASES, [1.0], {}, ValueError, "^conductivity must give one value per phase"),
        (GOOD_PHASES, [1.0, np.nan], {}, ValueError, "^conductivity must be finite, got nan"),
        (GOOD_PHASES, [1.0, np.inf], {}, ValueError, "^conductivity must be finite, got inf"),
        (GOOD_PHASES, [1.0, -2.0], {}, ValueError, "^conductivity must be >= 0, got -2.0"),
        (GOOD_PHASES, [0.0, 0.0], {}, ValueError, "^conductivity must be > 0 in at least one"),
        (GOOD_PHASES, [1.0, 2.0], {"discretization": "fe"}, ValueError, "^discretization must"),
        (GOOD_PHASES, np.ones((3, 3)), {}, ValueError, "^conductivity must be a 1-D"),
        (GOOD_PHASES, 2.0, {}, ValueError, "^conductivity must be a 1-D"),
        (GOOD_PHASES, ["a", "b"], {}, TypeError, "^conductivity must hold real numbers"),
        (GOOD_PHASES, [1.0 + 1j, 2.0], {}, TypeError, "^conductivity must hold real numbers"),
        (GOOD_PHASES, [1.0, 2.0], {"bc": "dirichlet"}, ValueError, "^bc must be one of"),
        (GOOD_PHASES, [1.0, 2.0], {"bc": 1}, TypeError, "^bc must be a string"),
        (GOOD_PHASES, [1.0, 2.0], {"spacing": 0.0}, ValueError, "^spacing must be finite and > 0"),
        (GOOD_PHASES, [1.0, 2.0], {"spacing": -1.0}, ValueError, "^spacing must be finite"),
        (GOOD_PHASES, [1.0, 2.0], {"spacing": np.nan}, ValueError, "^spacing must be finite"),
        (GOOD_PHASES, [1.0, 2.0], {"spacing": "1"}, TypeError, "^spacing must be a real number"),
        (GOOD_PHASES, [1.0, 2.0], {"tol": 0.0}, ValueError, r"^tol must be in \(0, 1\), got 0.0"),
        (GOOD_PHASES, [1.0, 2.0], {"tol": -1e-6}, ValueError, r"^tol must be in \(0, 1\)"),
        (GOOD_PHASES, [1.0, 2.0], {"tol": 1.0}, ValueError, r"^tol must be in \(0, 1\)"),
        (GOOD_PHASES, [1.0, 2.0], {"tol": np.nan}, ValueError, r"^tol must be in \(0, 1\)"),
        (GOOD_PHASES, [1.0, 2.0], {"tol": None}, TypeError, "^tol must be a real number"),
        (GOOD_PHASES, [1.0, 2.0], {"maxiter": 0}, ValueError, "^maxiter must be >= 1, got 0"),
        (GOOD_PHASES, [1.0, 2.0], {"maxiter": 2.5}, TypeError, "^maxiter must be an integer"),
        (GOOD_PHASES, [1.0, 2.0], {"maxiter": True}, TypeError, "^maxiter must be an integer"),
        (GOOD_PHASES, [1.0, 2.0], {"on_failure": "warn"}, ValueError, "^on_failure must be one"),
    ],
)
def test_invalid_input_is_rejected_naming_the_argument(
    phases, conductivity, options, error, pattern
):
    with pytest.raises(error, match=pattern):
        apparent_conductivity(phases, conductivity, **options)


@pytest.mark.parametrize("shape", [(5, 7), (4, 6, 3)])
def test_boundary_load_is_the_unit_operator_on_the_linear_field(shape):
    # The static loads are made on the faces alone; they must be A_1 (Q . x), the operator of
    # unit conductivity applied to the linear field (the kernel, on the whole node grid).
    ndim = len(shape)
    ones = np.ones(shape)
    grid = Q1Grid(ones, ("neumann",) * ndim, 0.7)
    kernel = nodal_flux_2d if ndim == 2 else nodal_flux_3d
    corners = 0.7 * np.array(np.meshgrid(*([[0.0, 1.0]] * ndim), indexing="ij")).reshape(ndim, -1)
    for flux in np.random.default_rng(3).standard_normal((3, ndim)):
        made = np.empty(grid.shape)
        grid.boundary_load(flux, made)
        expected = np.empty(grid.shape)
        kernel(np.zeros(grid.shape), flux @ corners, ones, element_modes(ndim, 0.7), expected)
        np.testing.assert_allclose(made, expected, rtol=0.0, atol=1e-14)
        assert made.sum() == pytest.approx(0.0, abs=1e-13)  # no net flux
