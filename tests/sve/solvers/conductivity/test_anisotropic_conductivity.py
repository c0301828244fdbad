"""Anisotropic conductivity tensors (per label, per voxel) in sve.solvers.apparent_conductivity.

Q1 voxel elements under every boundary condition against the assembled sparse
reference, exact cases (homogeneous medium, laminate of anisotropic layers),
covariance under 90-degree rotations of the grid, Huet's hierarchy, the
scalar path for multiples of the identity, diagonal tensors with finite
volumes, voids, and rejected inputs.
"""

from __future__ import annotations

import numpy as np
import pytest

from generators import voronoi_polycrystal
from sve.solvers import apparent_conductivity
from sve.solvers.conductivity.q1 import HADAMARD_ENTRIES, Q1Grid, TensorQ1Grid, element_hadamard
from tests._reference import (
    bounded_conductivity_q1,
    conductivity_fv,
    periodic_conductivity_q1,
    q1_gradient_products,
)
from tests.sve.solvers._media import laminate, random_labels, symmetric_eigenvalues

BCS = ("kinematic", "periodic", "static", "mixed")
# Solver tolerance of the comparisons with exact values: the tensor error is about
# sqrt(kappa) tol off the diagonal and kappa tol**2 on it (conductivity docstring), kappa
# <= 100 here, so 1e-12 leaves the comparisons at 1e-8 with margin for round-off.
TOL = 1e-12
# Relative agreement with direct sparse solves and exact formulas: solver error (above)
# plus round-off of direct solves on a few hundred unknowns.
EXACT = 1e-8


def random_spd(n, ndim, rng, *, low=0.5, high=5.0):
    """`n` random symmetric positive definite tensors, eigenvalues in [low, high]."""
    out = np.empty((n, ndim, ndim))
    for m in range(n):
        q, _ = np.linalg.qr(rng.standard_normal((ndim, ndim)))
        out[m] = q @ np.diag(rng.uniform(low, high, ndim)) @ q.T
    return 0.5 * (out + out.transpose(0, 2, 1))


def reference(field, bc):
    """Direct sparse solve of the Q1 cell problem for a tensor field."""
    if bc == "periodic":
        return periodic_conductivity_q1(field)
    return bounded_conductivity_q1(field, bc)


def assert_tensor_close(actual, expected, rtol):
    """Entries agree to `rtol` of the largest entry (NaN where `expected` is NaN)."""
    scale = np.nanmax(np.abs(expected))
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_allclose(
        np.nan_to_num(actual), np.nan_to_num(expected), rtol=0, atol=rtol * scale
    )


def rotate(tensors, rotation):
    """``R K R^T`` for a stack of tensors."""
    return np.einsum("ia,nab,jb->nij", rotation, tensors, rotation)


# --- the assembled reference ------------------------------------------------------------------


@pytest.mark.parametrize("bc", BCS)
@pytest.mark.parametrize(
    ("shape", "per_voxel"),
    [((5, 6), False), ((4, 3), True), ((3, 4, 3), False), ((3, 3, 2), True)],
)
def test_agrees_with_the_assembled_reference(bc, shape, per_voxel):
    rng = np.random.default_rng(len(shape) * 10 + per_voxel)
    ndim = len(shape)
    if per_voxel:  # every voxel its own tensor
        phases = np.zeros(shape, np.int8)
        field = random_spd(int(np.prod(shape)), ndim, rng).reshape(shape + (ndim, ndim))
        conductivity = field
    else:
        phases = random_labels(shape, 3, seed=ndim)
        conductivity = random_spd(3, ndim, rng)
        field = conductivity[phases]
    result = apparent_conductivity(phases, conductivity, bc=bc, tol=TOL)
    assert_tensor_close(result.tensor, reference(field, bc), EXACT)
    assert result.converged and result.hill_mandel_defect < EXACT


@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize("spacing", [1.0, 0.3])
def test_the_hadamard_form_is_the_quadrature_and_has_the_kernel_pattern(ndim, spacing):
    tensors = random_spd(4, ndim, np.random.default_rng(ndim))
    khat = element_hadamard(tensors, spacing)
    hadamard = np.ones((1, 1))
    for _ in range(ndim):
        hadamard = np.kron(hadamard, [[1.0, 1.0], [1.0, -1.0]])
    quadrature = np.einsum("nij,ijab->nab", tensors, q1_gradient_products(ndim, spacing))
    scale = np.abs(quadrature).max()
    # Ke = H Khat H: the same matrix up to round-off.
    np.testing.assert_allclose(hadamard @ khat @ hadamard, quadrature, rtol=0, atol=1e-13 * scale)
    pattern = np.zeros(khat.shape[1:], dtype=bool)
    for row, col in HADAMARD_ENTRIES[ndim]:
        pattern[row, col] = pattern[col, row] = True
    # The kernels read only the pattern: every other entry is zero up to round-off.
    assert np.abs(khat[:, ~pattern]).max() <= 1e-14 * np.abs(khat).max()


@pytest.mark.parametrize("ndim", [2, 3])
def test_the_tensor_kernel_of_isotropic_tensors_is_the_scalar_kernel(ndim):
    shape = (5, 4, 3)[:ndim]
    rng = np.random.default_rng(3)
    values = np.array([0.5, 2.0, 7.0])
    phases = random_labels(shape, 3, seed=4)
    k = values[phases]
    for kinds in (("periodic",) * ndim, ("dirichlet",) * ndim, ("neumann",) * ndim):
        scalar = Q1Grid(k, kinds, 0.7)
        tensor = TensorQ1Grid(
            k, kinds, 0.7, phases.astype(np.int32), values[:, None, None] * np.eye(ndim)
        )
        u = rng.standard_normal(scalar.shape)
        gradient = rng.standard_normal(ndim)
        a, b = np.empty(scalar.shape), np.empty(scalar.shape)
        scalar.flux(u, gradient, a)
        tensor.flux(u, gradient, b)
        # Different orders of the same sums: round-off only.
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-12 * np.abs(a).max())
        np.testing.assert_allclose(
            tensor.mean_flux(u, gradient), scalar.mean_flux(u, gradient), rtol=1e-12
        )


# --- exact results ------------------------------------------------------------------------------


@pytest.mark.parametrize("bc", BCS)
@pytest.mark.parametrize("ndim", [2, 3])
def test_a_homogeneous_anisotropic_medium_returns_its_tensor(bc, ndim):
    rng = np.random.default_rng(ndim)
    tensor = random_spd(1, ndim, rng)
    if bc == "mixed":
        # No flux through the lateral faces allows T = x_i only if K e_i is normal to
        # them: the tensor must be diagonal in the grid axes (see the next test).
        tensor = np.diag(np.diag(tensor[0]))[None]
    phases = np.zeros((4, 5, 3)[:ndim], np.int8)
    result = apparent_conductivity(phases, tensor, bc=bc, tol=TOL)
    expected = tensor[0].copy()
    if bc == "mixed":
        expected[~np.eye(ndim, dtype=bool)] = np.nan
    # The affine field (static: the field of the gradient K^-1 Q) is the exact discrete
    # solution. It needs no iteration under affine conditions (round-off only); static ones
    # solve for it, to the solver accuracy (sqrt(kappa) tol relative, kappa < 10).
    assert_tensor_close(result.tensor, expected, 1e-12 if bc != "static" else 1e-10)
    if bc != "static":
        assert result.iterations == (0,) * ndim


def test_mixed_conditions_bracket_a_rotated_homogeneous_tensor():
    """With off-diagonal entries the lateral no-flux condition perturbs the affine field;
    the diagonal lies between the static value 1 / (K^-1)_ii and K_ii (Hazanov-Huet)."""
    tensor = np.array([[3.0, 1.0], [1.0, 2.0]])
    result = apparent_conductivity(np.zeros((6, 6), np.int8), tensor[None], bc="mixed", tol=TOL)
    lower = 1.0 / np.diag(np.linalg.inv(tensor))
    diagonal = np.diag(result.tensor)
    assert np.all(lower < diagonal) and np.all(diagonal < np.diag(tensor))
    assert result.bounds_defect == 0.0


def laminate_tensor(tensors, fractions, normal):
    """Effective tensor of a laminate of anisotropic layers normal to `normal`.

    In every layer the gradient is uniform, ``g_m = E + c_m n`` (the tangential
    gradient is continuous), and so is the normal flux ``n . K_m g_m = Q_n``;
    ``<g> = E`` gives ``sum_m f_m c_m = 0``. Hence
    ``c_m = (Q_n - n . K_m E) / k_m`` with ``k_m = n . K_m n`` and
    ``Q_n = <n . K E / k> / <1 / k>``, and the effective flux is
    ``<K (E + c n)>``, i.e. (Milton, The Theory of Composites, 2002, ch. 9;
    Backus 1962 for the elastic analogue)

        K* = <K> - <K n n K / k> + <K n / k> <n K / k> / <1 / k>.
    """
    n = np.eye(tensors.shape[-1])[normal]
    kn = tensors @ n  # K_m n, (layers, d)
    knn = kn @ n  # n . K_m n
    mean = lambda x: np.tensordot(fractions, x, axes=1)  # noqa: E731
    return (
        mean(tensors)
        - mean(np.einsum("mi,mj->mij", kn, kn) / knn[:, None, None])
        + np.outer(mean(kn / knn[:, None]), mean(kn / knn[:, None])) / mean(1.0 / knn)
    )


@pytest.mark.parametrize(("ndim", "normal"), [(2, 0), (2, 1), (3, 0), (3, 2)])
def test_a_laminate_of_anisotropic_layers_under_periodic_conditions(ndim, normal):
    rng = np.random.default_rng(10 * ndim + normal)
    tensors = random_spd(2, ndim, rng, low=0.3, high=10.0)
    layers = np.array([0, 0, 1, 0, 1, 1, 1])
    phases = laminate(ndim, normal, layers, width=3)
    fractions = np.bincount(layers, minlength=2) / layers.size
    result = apparent_conductivity(phases, tensors, tol=TOL)
    # The exact field is piecewise linear across the layers, in the Q1 space: exact.
    assert_tensor_close(result.tensor, laminate_tensor(tensors, fractions, normal), EXACT)


def test_the_laminate_formula_reduces_to_wiener_for_isotropic_layers():
    tensors = np.array([np.eye(2), 10.0 * np.eye(2)])
    fractions = np.array([0.25, 0.75])
    expected = np.diag([1.0 / (0.25 + 0.075), 0.25 + 7.5])
    np.testing.assert_allclose(laminate_tensor(tensors, fractions, 0), expected, rtol=1e-14)


def test_a_void_layer_leaves_the_tangential_laminate_limit():
    """Anisotropic slab between void layers (periodic): no normal flux at all, and along
    the slab K - K n n K / k_nn (the laminate formula as one layer's k_nn -> 0)."""
    tensor = np.array([[4.0, 1.5], [1.5, 2.0]])
    layers = np.array([1, 1, 1, 0, 1, 1])
    phases = laminate(2, 1, layers, width=4)
    result = apparent_conductivity(phases, [np.zeros((2, 2)), tensor], tol=TOL)
    n = np.array([0.0, 1.0])
    kn = tensor @ n
    expected = 5.0 / 6.0 * (tensor - np.outer(kn, kn) / (n @ kn))
    assert_tensor_close(result.tensor, expected, EXACT)
    assert result.percolating == (True, False)
    assert any("no conducting path along axis 1" in note for note in result.notes)


# --- invariance, hierarchy, scalar path ---------------------------------------------------------


@pytest.mark.parametrize("bc", BCS)
@pytest.mark.parametrize("ndim", [2, 3])
def test_a_quarter_turn_of_grains_and_tensors_rotates_the_apparent_tensor(bc, ndim):
    shape = (8, 8) if ndim == 2 else (6, 6, 4)
    crystal = voronoi_polycrystal(shape, intensity=6.0 / np.prod(shape), rng=ndim)
    tensors = np.einsum(
        "nia,ab,njb->nij", crystal.rotations, np.diag([1.0, 4.0, 9.0][:ndim]), crystal.rotations
    )
    # np.rot90 over axes (0, 1): the voxel at (p, q) moves to (-q, p) (up to a shift).
    quarter = np.eye(ndim)
    quarter[:2, :2] = [[0.0, -1.0], [1.0, 0.0]]
    turned = apparent_conductivity(
        np.rot90(crystal.grain_ids, axes=(0, 1)), rotate(tensors, quarter), bc=bc, tol=TOL
    )
    original = apparent_conductivity(crystal.grain_ids, tensors, bc=bc, tol=TOL)
    expected = quarter @ original.tensor @ quarter.T
    if bc == "mixed":  # the diagonal is permuted (a signed permutation); nothing else defined
        expected = np.full((ndim, ndim), np.nan)
        np.fill_diagonal(expected, np.abs(quarter) @ np.diag(original.tensor))
    assert_tensor_close(turned.tensor, expected, EXACT)


@pytest.mark.parametrize("ndim", [2, 3])
def test_huet_hierarchy_holds_per_realization(ndim):
    shape = (10, 10) if ndim == 2 else (6, 6, 6)
    crystal = voronoi_polycrystal(shape, intensity=8.0 / np.prod(shape), rng=5)
    tensors = np.einsum(
        "nia,ab,njb->nij", crystal.rotations, np.diag([1.0, 30.0, 5.0][:ndim]), crystal.rotations
    )
    tol = 1e-8
    tensor = {
        bc: apparent_conductivity(crystal.grain_ids, tensors, bc=bc, tol=tol).tensor for bc in BCS
    }
    # Energy errors of the solves: sqrt(kappa) tol of the largest conductivity, kappa = 30.
    margin = np.sqrt(30.0) * tol * 30.0
    assert symmetric_eigenvalues(tensor["periodic"] - tensor["static"]).min() >= -margin
    assert symmetric_eigenvalues(tensor["kinematic"] - tensor["periodic"]).min() >= -margin
    mixed = np.diag(tensor["mixed"])
    assert np.all(mixed <= np.diag(tensor["kinematic"]) + margin)
    assert np.all(mixed >= 1.0 / np.diag(np.linalg.inv(tensor["static"])) - margin)


@pytest.mark.parametrize("bc", BCS)
def test_a_tensor_field_of_multiples_of_the_identity_is_the_scalar_problem(bc):
    phases = random_labels((6, 5, 4), 3, seed=8)
    values = np.array([1.0, 3.0, 20.0])
    field = values[phases][..., None, None] * np.eye(3)
    scalar = apparent_conductivity(phases, values, bc=bc)
    as_field = apparent_conductivity(phases, field, bc=bc)
    per_label = apparent_conductivity(phases, values[:, None, None] * np.eye(3), bc=bc)
    # Multiples of the identity take the scalar path: the same arithmetic, bit for bit.
    np.testing.assert_array_equal(as_field.tensor, scalar.tensor)
    np.testing.assert_array_equal(per_label.tensor, scalar.tensor)
    assert as_field.iterations == scalar.iterations


def test_the_result_reports_tensor_bounds_and_the_anisotropy():
    tensors = np.array([np.diag([1.0, 100.0]), np.diag([100.0, 1.0])])
    phases = random_labels((8, 8), 2, seed=1)
    result = apparent_conductivity(phases, tensors)
    fractions = np.bincount(phases.ravel(), minlength=2) / phases.size
    np.testing.assert_allclose(result.voigt_tensor, np.tensordot(fractions, tensors, axes=1))
    reuss = np.linalg.inv(np.tensordot(fractions, np.linalg.inv(tensors), axes=1))
    np.testing.assert_allclose(result.reuss_tensor, reuss)
    assert result.bounds_defect == 0.0
    assert any("condition number up to 100" in note for note in result.notes)


# --- finite volumes ---------------------------------------------------------------------------


@pytest.mark.parametrize("bc", ["periodic", "kinematic", "mixed"])
@pytest.mark.parametrize("shape", [(5, 6), (3, 4, 3)])
def test_finite_volumes_with_diagonal_tensors_agree_with_the_reference(bc, shape):
    ndim = len(shape)
    rng = np.random.default_rng(2)
    tensors = np.array([np.diag(rng.uniform(0.5, 5.0, ndim)) for _ in range(3)])
    phases = random_labels(shape, 3, seed=3)
    result = apparent_conductivity(phases, tensors, bc=bc, discretization="fv", tol=TOL)
    assert_tensor_close(result.tensor, conductivity_fv(tensors[phases], bc), EXACT)
    assert result.discretization == "fv"


# --- rejected input ---------------------------------------------------------------------------

GOOD_PHASES = np.array([[0, 1], [1, 0]], dtype=np.int8)
SPD = np.array([[2.0, 0.5], [0.5, 1.0]])


@pytest.mark.parametrize(
    ("conductivity", "options", "pattern"),
    [
        (np.array([SPD, [[1.0, 0.5], [0.0, 1.0]]]), {}, r"^conductivity must hold symmetric"),
        (np.array([SPD, [[1.0, 2.0], [2.0, 1.0]]]), {}, r"^conductivity must hold positive defin"),
        (
            np.array([SPD, [[1.0, 0.0], [0.0, 0.0]]]),
            {},
            r"smallest eigenvalue 0 .* conductivity\[1\]",
        ),
        (np.array([SPD, -SPD]), {}, r"^conductivity must hold positive definite"),
        (np.array([SPD, [[np.nan, 0.0], [0.0, 1.0]]]), {}, r"^conductivity must be finite"),
        (np.array([SPD, [[np.inf, 0.0], [0.0, 1.0]]]), {}, r"^conductivity must be finite"),
        (np.array([SPD]), {}, r"^conductivity must give one tensor per phase label 0..1"),
        (np.array([np.eye(3), np.eye(3)]), {}, r"^conductivity must be .* got shape \(2, 3, 3\)"),
        (np.zeros((2, 2, 2)), {}, r"^conductivity must be > 0 in at least one voxel"),
        (np.ones((2, 2, 3, 3)), {}, r"^conductivity must be .* got shape \(2, 2, 3, 3\)"),
        (np.array([SPD, SPD]), {"discretization": "fv"}, r"^conductivity must hold diagonal"),
    ],
)
def test_bad_tensors_are_rejected_naming_conductivity(conductivity, options, pattern):
    with pytest.raises(ValueError, match=pattern):
        apparent_conductivity(GOOD_PHASES, conductivity, **options)


def test_a_bad_voxel_tensor_is_located():
    field = np.broadcast_to(SPD, (2, 2, 2, 2)).copy()
    field[1, 0] = [[1.0, 3.0], [3.0, 1.0]]
    with pytest.raises(ValueError, match=r"positive definite.* at voxel \(1, 0\)"):
        apparent_conductivity(GOOD_PHASES, field)


@pytest.mark.parametrize("ndim", [2, 3])
def test_voids_among_tensors_keep_the_hierarchy(ndim):
    shape = (9, 9) if ndim == 2 else (6, 6, 5)
    phases = random_labels(shape, 4, seed=11)  # label 0, a quarter of the voxels: voids
    tensors = np.concatenate(
        [np.zeros((1, ndim, ndim)), random_spd(3, ndim, np.random.default_rng(1))]
    )
    tol = 1e-10
    results = {bc: apparent_conductivity(phases, tensors, bc=bc, tol=tol) for bc in BCS}
    per_voxel = apparent_conductivity(phases, tensors[phases], bc="static", tol=tol)
    # The same tensors, indexed otherwise: the same problem up to the order of the sums.
    np.testing.assert_allclose(per_voxel.tensor, results["static"].tensor, rtol=1e-12, atol=1e-12)
    tensor = {bc: r.tensor for bc, r in results.items()}
    # Solver error: sqrt(kappa) tol of the largest conductivity, kappa <= 10 here.
    margin = np.sqrt(10.0) * tol * 5.0
    assert symmetric_eigenvalues(tensor["periodic"] - tensor["static"]).min() >= -margin
    assert symmetric_eigenvalues(tensor["kinematic"] - tensor["periodic"]).min() >= -margin
    assert all(np.isfinite(np.diag(r.tensor)).all() and r.converged for r in results.values())
    assert all(any(note.startswith("voids:") for note in r.notes) for r in results.values())
