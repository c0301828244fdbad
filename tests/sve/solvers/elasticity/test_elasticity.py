"""Tests of sve.solvers.elasticity.apparent.apparent_stiffness: Q1 voxel elasticity, every BC.

Oracles: the assembled scipy.sparse reference (``_elastic_reference.py``) on
small images; exact results (homogeneous medium, Backus laminate, Hill's
equal-shear theorem, the bulk modulus of cubic polycrystals); variational
orderings (Huet's hierarchy); polycrystal Hashin-Shtrikman bounds.
"""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import scipy.ndimage

import generators
import sve.solvers.elasticity.apparent
import sve.solvers.moduli
from sve.solvers import StiffnessResult, apparent_stiffness
from sve.solvers.bounds import cubic_polycrystal_shear_bounds
from sve.solvers.elasticity.voids import zero_modes
from sve.solvers.moduli import cubic, isotropic, isotropic_projection
from sve.solvers.result import ConvergenceError
from tests.sve.solvers._media import random_labels, refine, smooth_two_phase
from tests.sve.solvers.elasticity._elastic_reference import apparent_stiffness_reference

BCS = ("kinematic", "periodic", "static", "mixed")
# Round-off of sums over at most ~1e4 voxels and of 6x6 inversions, far below any solver
# tolerance used here.
ROUND_OFF = 1e-12
# Copper (GPa, Voigt constants): Zener anisotropy 2 c44 / (c11 - c12) = 3.2.
COPPER = (168.4, 121.4, 75.4)


def mandel_size(ndim):
    return 3 * (ndim - 1)


def two_isotropic_phases(ndim):
    """Contrast 10 in Young's modulus, different Poisson ratios."""
    return np.array([isotropic(ndim, E=1.0, nu=0.3), isotropic(ndim, E=10.0, nu=0.2)])


def rotated_cubic_per_voxel(shape, seed):
    """Every voxel its own randomly rotated copper crystal (per-voxel Mandel stack)."""
    ndim = len(shape)
    rotations = generators.random_rotations(int(np.prod(shape)), ndim, rng=seed)
    crystal = cubic(*COPPER, ndim=ndim)
    return generators.rotate_tensor(crystal, rotations).reshape(shape + crystal.shape)


def normal_block(tensor):
    ndim = 2 if tensor.shape[0] == 3 else 3
    return tensor[:ndim, :ndim]


def coupling(tensor):
    """Mask of the normal-shear coupling entries: undefined (NaN) under mixed conditions."""
    ndim = 2 if tensor.shape[0] == 3 else 3
    normal = np.arange(len(tensor)) < ndim
    return normal[:, None] != normal[None, :]


# --- agreement with the assembled direct-solve reference ----------------------------------------


@pytest.mark.parametrize("bc", BCS)
@pytest.mark.parametrize(("shape", "seed"), [((6, 5), 0), ((4, 3, 5), 1)])
@pytest.mark.parametrize("materials", ["isotropic", "cubic"])
def test_matches_the_sparse_reference(bc, shape, seed, materials):
    ndim = len(shape)
    if materials == "isotropic":
        phases = random_labels(shape, 2, seed)
        stiffness = two_isotropic_phases(ndim)
        per_voxel = stiffness[phases]
    else:
        phases = np.zeros(shape, np.int8)
        stiffness = per_voxel = rotated_cubic_per_voxel(shape, seed)
    result = apparent_stiffness(phases, stiffness, bc=bc, tol=1e-12, maxiter=5000)
    expected = apparent_stiffness_reference(per_voxel, bc)
    # CG stops at a relative residual of 1e-12 (contrast <= 10 here, so the tensor error is
    # below ~1e-11 of its norm); the direct solve loses ~cond * eps ~ 1e-13.
    scale = np.linalg.norm(np.nan_to_num(expected))
    np.testing.assert_allclose(result.tensor, expected, rtol=0, atol=1e-9 * scale)
    assert result.converged and result.bc == bc and result.discretization == "q1"
    if bc == "mixed":  # the normal and shear blocks are defined, not their coupling
        assert np.isnan(result.tensor[coupling(result.tensor)]).all()
        assert np.isfinite(result.tensor[~coupling(result.tensor)]).all()


# --- exact results ------------------------------------------------------------------------------


# Mixed conditions are not exact for a rotated crystal (normal-shear coupling): see below.
@pytest.mark.parametrize(
    ("bc", "kind"),
    [
        (bc, kind)
        for bc in BCS
        for kind in ("isotropic", "cubic", "rotated cubic")
        if (bc, kind) != ("mixed", "rotated cubic")
    ],
)
@pytest.mark.parametrize("shape", [(5, 6), (4, 5, 3)])
def test_homogeneous_medium_returns_the_input_tensor(bc, shape, kind):
    ndim = len(shape)
    tensor = material(kind, ndim)
    result = apparent_stiffness(np.zeros(shape, np.int8), [tensor], bc=bc, spacing=0.3, tol=1e-12)
    # The affine field solves every problem exactly: under affine conditions the loads are
    # round-off and CG does not run; under static ones CG must find the affine field (to
    # tol=1e-12, a few iterations) from the boundary tractions.
    expected = tensor.copy()
    if bc == "mixed":
        expected[coupling(expected)] = np.nan
    np.testing.assert_allclose(
        result.tensor, expected, rtol=0, atol=ROUND_OFF * np.abs(tensor).max()
    )
    if bc != "static":
        assert result.iterations == (0,) * len(result.iterations)


def material(kind, ndim):
    if kind == "isotropic":
        return isotropic(ndim, E=3.0, nu=0.25)
    if kind == "cubic":  # cube axes along the grid: orthotropic
        return cubic(*COPPER, ndim=ndim)
    angle = 0.5  # radians, about axis 2 then (3-D) about axis 0: far from any symmetry
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    if ndim == 2:
        return generators.rotate_tensor(cubic(*COPPER, ndim=2), turn)
    about_2, about_0 = np.eye(3), np.eye(3)
    about_2[:2, :2] = turn
    about_0[1:, 1:] = turn
    return generators.rotate_tensor(cubic(*COPPER), about_0 @ about_2)


@pytest.mark.parametrize("shape", [(5, 6), (4, 5, 3)])
def test_mixed_conditions_on_a_coupled_homogeneous_medium_lie_between_the_blocks(shape):
    # A rotated crystal couples normal strains to shear stresses. Mixed conditions hold the
    # normal displacements on the faces and free the shear tractions, which a uniform strain
    # cannot satisfy together (a uniform shear strain moves the held components along the
    # faces): the result lies strictly between the normal block of C (shears held at zero)
    # and the inverse of the normal block of the compliance (shear stresses relaxed to zero).
    ndim = len(shape)
    tensor = material("rotated cubic", ndim)
    result = apparent_stiffness(np.zeros(shape, np.int8), [tensor], bc="mixed", tol=1e-12)
    mixed = normal_block(result.tensor)
    relaxed = np.linalg.inv(normal_block(np.linalg.inv(tensor)))
    assert_below(relaxed, mixed, ROUND_OFF)
    assert_below(mixed, normal_block(tensor), ROUND_OFF)
    assert np.linalg.norm(mixed - normal_block(tensor)) > 1e-3 * np.linalg.norm(tensor)


def backus_average(layers, fractions, normal):
    """Exact stiffness of a laminate of homogeneous layers normal to grid axis `normal`.

    Backus (1962) for layered media: the traction on the layer planes and the
    strain components within them are uniform. Split the Mandel components
    into ``n`` (those involving the normal axis: continuous stress) and ``t``
    (in-plane: continuous strain); per layer ``eps_n = A sig_n + B eps_t`` and
    ``sig_t = B^T sig_n + D eps_t`` with ``A = C_nn^-1``, ``B = -C_nn^-1 C_nt``,
    ``D = C_tt - C_tn C_nn^-1 C_nt``. Volume averages of ``A``, ``B``, ``D``
    are exact (``sig_n``, ``eps_t`` uniform); invert back. The Mandel basis is
    orthonormal, so the split is a plain block partition. For isotropic layers
    this gives Backus' formulas, e.g. ``C_nnnn = <1/(lam + 2 mu)>^-1``.

    References: G. E. Backus, J. Geophys. Res. 67 (1962) 4427-4440; G. W.
    Milton, The Theory of Composites (2002), section 9.5.
    """
    m = layers.shape[-1]
    ndim = 2 if m == 3 else 3
    pairs = {2: ((0, 0), (1, 1), (0, 1)), 3: ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))}
    n = [k for k, pair in enumerate(pairs[ndim]) if normal in pair]
    t = [k for k in range(m) if k not in n]
    a_mean, b_mean, d_mean = 0.0, 0.0, 0.0
    for c, f in zip(layers, fractions, strict=True):
        inverse = np.linalg.inv(c[np.ix_(n, n)])
        a_mean = a_mean + f * inverse
        b_mean = b_mean - f * inverse @ c[np.ix_(n, t)]
        d_mean = d_mean + f * (c[np.ix_(t, t)] - c[np.ix_(t, n)] @ inverse @ c[np.ix_(n, t)])
    c_nn = np.linalg.inv(a_mean)
    c_nt = -c_nn @ b_mean
    out = np.empty((m, m))
    out[np.ix_(n, n)] = c_nn
    out[np.ix_(n, t)] = c_nt
    out[np.ix_(t, n)] = c_nt.T
    out[np.ix_(t, t)] = d_mean + b_mean.T @ c_nn @ b_mean
    return out


def test_backus_average_reduces_to_the_isotropic_formulas():
    # Backus (1962), layers normal to x3 (Voigt indices): C33 = <1/(lam+2mu)>^-1,
    # C44 = <1/mu>^-1, C66 = <mu>, C13 = <lam/(lam+2mu)> C33,
    # C11 = <4mu(lam+mu)/(lam+2mu)> + <lam/(lam+2mu)>^2 C33.
    lam, mu, f = np.array([1.0, 7.0, 0.5]), np.array([0.5, 4.0, 2.0]), np.array([0.2, 0.5, 0.3])
    layers = np.array([isotropic(3, lam=a, mu=b) for a, b in zip(lam, mu, strict=True)])
    c = backus_average(layers, f, normal=2)
    c33 = 1.0 / np.sum(f / (lam + 2 * mu))
    c13 = np.sum(f * lam / (lam + 2 * mu)) * c33
    c11 = (
        np.sum(f * 4 * mu * (lam + mu) / (lam + 2 * mu))
        + np.sum(f * lam / (lam + 2 * mu)) ** 2 * c33
    )
    c44, c66 = 1.0 / np.sum(f / mu), np.sum(f * mu)
    # Mandel shear entries are twice the Voigt ones.
    expected = [c11, c11, c33, 2 * c44, 2 * c44, 2 * c66, c11 - 2 * c66, c13, c13]
    got = [c[0, 0], c[1, 1], c[2, 2], c[3, 3], c[4, 4], c[5, 5], c[0, 1], c[0, 2], c[1, 2]]
    np.testing.assert_allclose(got, expected, rtol=ROUND_OFF)


@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize("normal", [0, 1])
@pytest.mark.parametrize("kind", ["isotropic", "cubic"])
def test_backus_laminate_is_exact_under_periodic_conditions(ndim, normal, kind):
    thickness = np.array([3, 1, 2])  # voxel layers of the three phases
    labels = np.repeat(np.arange(3), thickness)
    shape = [4] * ndim
    shape[normal] = labels.size
    index = [np.newaxis] * ndim
    index[normal] = slice(None)
    phases = np.broadcast_to(labels[tuple(index)], shape).astype(np.int8)
    if kind == "isotropic":
        layers = np.array(
            [isotropic(ndim, E=e, nu=nu) for e, nu in [(1.0, 0.3), (20.0, 0.1), (4.0, 0.45)]]
        )
    else:  # anisotropic layers couple normal and shear components
        rotations = generators.random_rotations(3, ndim, rng=3)
        layers = generators.rotate_tensor(cubic(*COPPER, ndim=ndim), rotations)
    result = apparent_stiffness(phases, layers, bc="periodic", tol=1e-11)
    expected = backus_average(layers, thickness / thickness.sum(), normal)
    # The exact field is piecewise affine across the layers, hence in the Q1 space: only the
    # solver tolerance (1e-11, contrast 20) remains.
    np.testing.assert_allclose(result.tensor, expected, rtol=0, atol=1e-8 * np.abs(expected).max())


def hill_bulk(bulk, shear, fractions, ndim):
    """Hill's equal-shear theorem: ``1/(k* + a mu) = <1/(k + a mu)>``, ``a = 4/3`` in 3-D and
    ``a = 1`` for the 2-D (plane-strain) bulk modulus ``k = lam + mu``.

    R. Hill, J. Mech. Phys. Solids 11 (1963) 357-372.
    """
    a = 4.0 / 3.0 if ndim == 3 else 1.0
    return 1.0 / np.sum(fractions / (bulk + a * shear)) - a * shear


def bulk_of(tensor):
    """``i . C . i / d**2``: the response to an isotropic strain (Mandel)."""
    return isotropic_projection(tensor).bulk_voigt


@pytest.mark.parametrize("ndim", [2, 3])
def test_hill_equal_shear_bulk_modulus_converges_under_refinement(ndim):
    shear, lams = 1.0, np.array([0.5, 30.0])
    materials = np.array([isotropic(ndim, lam=lam, mu=shear) for lam in lams])
    if ndim == 2:  # checkerboard of 2 x 2 cells
        base, factors = generators.checkerboard((4, 4), 2), (2, 4, 8, 16)
        bulk = lams + shear
    else:  # cubic inclusion of 1/8 of the volume
        base = np.zeros((4, 4, 4), np.int8)
        base[1:3, 1:3, 1:3] = 1
        factors, bulk = (1, 2, 4), lams + 2.0 * shear / 3.0
    fractions = np.array([1 - base.mean(), base.mean()])
    exact = hill_bulk(bulk, shear, fractions, ndim)
    errors = []
    for factor in factors:
        result = apparent_stiffness(refine(base, factor), materials, bc="periodic", tol=1e-10)
        errors.append(bulk_of(result.tensor) / exact - 1.0)
    # The exact field is a gradient with kinks on the interfaces and singular at corners:
    # not in the Q1 space, so a discretization error remains, of the sign of the energy
    # (Q1 is too stiff: above the exact value) and shrinking at least linearly in h
    # (measured slopes ~1.8 in 2-D, ~1.5 in 3-D; errors 3e-3 at 64**2, 1e-2 at 16**3).
    errors = np.array(errors)
    assert np.all(errors > 0)
    slopes = -np.diff(np.log(errors)) / np.log(2.0)
    assert np.all(slopes > 1.0), errors
    assert errors[-1] < 0.015


@pytest.mark.parametrize("seed", range(4))
def test_cubic_polycrystal_bulk_modulus_is_exact_under_periodic_conditions(seed):
    crystal = generators.voronoi_polycrystal((10, 10, 10), 20 / 10**3, rng=seed)
    stack = generators.rotate_tensor(cubic(*COPPER), crystal.rotations)
    result = apparent_stiffness(crystal.grain_ids, stack, bc="periodic", tol=1e-6)
    bulk = (COPPER[0] + 2 * COPPER[1]) / 3
    # Every grain answers an isotropic strain e I with the stress 3 K e I: the affine field
    # is the exact solution, whatever the orientations. The row combination i . C sees it
    # independently of the solver tolerance (tol=1e-6 here): i . C(x) (E + eps(u~)) =
    # 3K (tr E + div u~), and the average of div u~ vanishes for periodic u~. Only round-off
    # remains. (The column combination C . i carries the CG error, ~tol.)
    ones = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(
        ones @ result.tensor, 3 * bulk * ones, rtol=0, atol=ROUND_OFF * bulk
    )
    projection = isotropic_projection(result.tensor)
    np.testing.assert_allclose(
        [projection.bulk_voigt, projection.bulk_reuss], bulk, rtol=ROUND_OFF
    )


def test_large_polycrystal_shear_modulus_lies_inside_hashin_shtrikman_bounds():
    crystal = generators.voronoi_polycrystal((32, 32, 32), 150 / 32**3, rng=11)
    stack = generators.rotate_tensor(cubic(*COPPER), crystal.rotations)
    result = apparent_stiffness(crystal.grain_ids, stack, bc="periodic", tol=1e-8)
    lower, upper = cubic_polycrystal_shear_bounds(*COPPER)
    projection = isotropic_projection(result.tensor)
    # 150 grains of ~200 voxels: close to isotropic (distance ~2 %, the sampling scatter of a
    # finite aggregate), the Q1 stiffening (~1 % of G at this resolution) keeps it below the
    # upper bound by a small margin (measured 49.0 < 49.45 GPa; the window is 45.96-49.45).
    assert projection.distance < 0.05
    for shear in (projection.shear_voigt, projection.shear_reuss):
        assert lower < shear < upper


# --- variational properties ---------------------------------------------------------------------


def assert_below(lower, upper, tol):
    """``x . lower x <= x . upper x`` for all x, up to `tol` times the scale of `upper`."""
    gap = np.linalg.eigvalsh(0.5 * ((upper - lower) + (upper - lower).T))
    assert gap.min() >= -tol * np.linalg.norm(upper), gap


@pytest.mark.parametrize(("shape", "seed"), [((12, 10), 0), ((12, 12), 1), ((6, 7, 5), 2)])
def test_huet_hierarchy_holds_per_realization(shape, seed):
    ndim = len(shape)
    phases = smooth_two_phase(shape, np.random.default_rng(seed), length=1.0)
    tol = 1e-10
    results = {
        bc: apparent_stiffness(phases, two_isotropic_phases(ndim), bc=bc, tol=tol) for bc in BCS
    }
    static, periodic, kinematic = (
        results[bc].tensor for bc in ("static", "periodic", "kinematic")
    )
    # Errors of the tensors are O(contrast * tol) of their norm (contrast 10): far below the
    # gaps, which are O(1) on these small images.
    slack = 100 * tol
    assert_below(static, periodic, slack)
    assert_below(periodic, kinematic, slack)
    # Mixed conditions admit more fields than kinematic ones for a normal strain, and their
    # stress pairs with uniform normal tractions: the normal block lies between the inverse of
    # the normal block of the static compliance and the normal block of the kinematic tensor
    # (the former is below the normal block of the static tensor itself: Schur complement).
    mixed = normal_block(results["mixed"].tensor)
    assert_below(np.linalg.inv(normal_block(results["static"].compliance)), mixed, slack)
    assert_below(mixed, normal_block(kinematic), slack)
    # Hazanov & Huet (1994), diagonal form, as in docs/physics.rst.
    static_diagonal = 1.0 / np.diag(results["static"].compliance)[:ndim]
    assert np.all(static_diagonal <= np.diag(mixed) * (1 + slack))
    assert np.all(np.diag(mixed) <= np.diag(kinematic)[:ndim] * (1 + slack))
    # The shear block, from the complementary conditions, in the same bracket.
    shear = slice(ndim, None)
    mixed_shear = results["mixed"].tensor[shear, shear]
    static_shear = np.linalg.inv(results["static"].compliance[shear, shear])
    assert_below(static_shear, mixed_shear, slack)
    assert_below(mixed_shear, kinematic[shear, shear], slack)


@pytest.mark.parametrize("bc", BCS)
@pytest.mark.parametrize("shape", [(16, 14), (6, 6, 7)])
def test_results_are_symmetric_positive_definite_with_small_hill_mandel_defect(bc, shape):
    ndim = len(shape)
    phases = smooth_two_phase(shape, np.random.default_rng(4), length=1.0)
    tol, contrast = 1e-8, 10.0
    result = apparent_stiffness(phases, two_isotropic_phases(ndim), bc=bc, tol=tol)
    # The defect is the work of the final residual on the fluctuation and the asymmetry comes
    # from the residuals of two load cases: both bounded by contrast * tol relative to ||C||
    # (residuals in the preconditioner norm, reference medium within the contrast).
    assert result.hill_mandel_defect <= contrast * tol
    assert result.symmetry_defect <= contrast * tol
    m = len(result.tensor)
    # mixed: the normal and the shear block, each on its own; otherwise the whole tensor
    blocks = [slice(0, ndim), slice(ndim, m)] if bc == "mixed" else [slice(0, m)]
    lowest = min(
        np.linalg.eigvalsh(0.5 * (t + t.T)).min() for t in (result.tensor[b, b] for b in blocks)
    )
    assert lowest > 0 and result.min_eigenvalue == pytest.approx(lowest)
    # Between the Reuss and Voigt averages of the phases (as quadratic forms).
    fractions = np.bincount(phases.reshape(-1), minlength=2) / phases.size
    stack = two_isotropic_phases(ndim)
    voigt = np.einsum("n,nij->ij", fractions, stack)
    reuss = np.linalg.inv(np.einsum("n,nij->ij", fractions, np.linalg.inv(stack)))
    # The result carries the same bounds and measures its distance to them.
    np.testing.assert_allclose(result.voigt_tensor, voigt, rtol=1e-14)
    np.testing.assert_allclose(result.reuss_tensor, reuss, rtol=1e-12)
    assert 0.0 <= result.bounds_defect <= contrast * tol
    for b in blocks:
        block, compliance = result.tensor[b, b], result.compliance[b, b]
        np.testing.assert_allclose(compliance @ block, np.eye(len(block)), atol=contrast * tol)
        # a block of a mixed tensor: between <C>_bb and (<C^-1>_bb)^-1
        upper, lower = voigt[b, b], np.linalg.inv(np.linalg.inv(reuss)[b, b])
        assert_below(lower, block, contrast * tol)
        assert_below(block, upper, contrast * tol)


def test_bounds_defect_sees_a_tensor_outside_the_bounds_and_voids_zero_reuss():
    """A porous image: Reuss is 0; a tensor pushed above Voigt is measured, relative."""
    from sve.solvers.elasticity.apparent import _bounds

    phases = smooth_two_phase((12, 12), np.random.default_rng(2), length=1.0)
    stack = np.array([np.zeros((3, 3)), isotropic(2, E=1.0, nu=0.3)])
    result = apparent_stiffness(phases, stack, bc="periodic", tol=1e-8)
    # a direction the solid does not carry has eigenvalue 0 up to the solver error (tol)
    assert not result.reuss_tensor.any() and result.bounds_defect <= 10 * 1e-8
    voigt = result.voigt_tensor
    outside = voigt + 0.01 * np.linalg.norm(voigt) * np.eye(3)
    _, _, defect = _bounds(phases.astype(np.int32), stack, outside, [slice(0, 3)])
    assert defect == pytest.approx(0.01, rel=1e-12)


@pytest.mark.parametrize("bc", ["periodic", "kinematic"])
def test_iteration_counts_do_not_grow_with_resolution(bc):
    base = smooth_two_phase((16, 16), np.random.default_rng(3), length=1.5)
    counts = []
    for factor in (1, 2, 4):  # 16, 32, 64 voxels per side, the same geometry
        result = apparent_stiffness(refine(base, factor), two_isotropic_phases(2), bc=bc, tol=1e-8)
        counts.append(max(result.iterations))
    # The reference-medium preconditioner bounds the condition number by the contrast
    # (periodic) or a resolution-independent multiple of it (bounded): counts stay within
    # the +-20 % the issue asks of the benchmark (measured 29/29/29 and 40/43/45).
    assert max(counts) <= 1.2 * min(counts), counts


def test_tensor_does_not_depend_on_the_spacing():
    phases = random_labels((6, 5), 2, seed=3)
    results = [
        apparent_stiffness(phases, two_isotropic_phases(2), bc="static", spacing=h, tol=1e-12)
        for h in (1.0, 0.01)
    ]
    # Both solved to 1e-12: the tensors agree to that accuracy.
    np.testing.assert_allclose(results[1].tensor, results[0].tensor, rtol=1e-9)


# --- result, failure and inputs -----------------------------------------------------------------


def test_result_is_read_only_and_failure_is_reported():
    phases = smooth_two_phase((16, 16), np.random.default_rng(0))
    with pytest.raises(ConvergenceError, match="maxiter"):
        apparent_stiffness(phases, two_isotropic_phases(2), maxiter=2)
    result = apparent_stiffness(phases, two_isotropic_phases(2), maxiter=2, on_failure="flag")
    assert isinstance(result, StiffnessResult) and not result.converged
    assert result.residual > 1e-6 and result.iterations == (2, 2, 2)
    with pytest.raises(ValueError, match="read-only"):
        result.tensor[0, 0] = 1.0


def test_isotropic_moduli_given_three_ways_agree():
    phases = random_labels((6, 6), 2, seed=1)
    lam, mu = lame = (1.5, 1.0)
    ways = [
        [{"E": 2.6, "nu": 0.3}, {"E": 26.0, "nu": 0.3}],
        [{"K": lam + 2 * mu / 3, "G": mu}, {"K": 10 * (lam + 2 * mu / 3), "G": 10 * mu}],
        [{"lam": lam, "mu": mu}, {"lam": 10 * lame[0], "mu": 10 * mu}],
    ]
    tensors = [apparent_stiffness(phases, way, tol=1e-12).tensor for way in ways]
    # The same Lame parameters up to round-off of the conversions.
    for tensor in tensors[1:]:
        np.testing.assert_allclose(tensor, tensors[0], rtol=1e-10)


@pytest.mark.parametrize(
    ("stiffness", "match"),
    [
        ([{"E": 1.0, "nu": 0.5}], r"stiffness\[0\].*nu must be in \(-1, 0.5\)"),
        ([{"E": 1.0, "nu": -1.0}], r"stiffness\[0\].*nu must be in \(-1, 0.5\)"),
        ([{"E": 1.0, "nu": 0.3}, {"E": -2.0, "nu": 0.3}], r"stiffness\[1\].*E must be > 0"),
        ([{"K": 1.0, "G": -1.0}], r"stiffness\[0\].*G must be > 0"),
        ([{"K": -1.0, "G": 1.0}], r"stiffness\[0\].*K must be > 0"),
        ([{"lam": 1.0, "mu": 0.0}], r"stiffness\[0\].*mu must be > 0"),
        ([{"E": 1.0, "G": 0.3}], r"stiffness\[0\].*one pair"),
        (
            [[[1.0, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]],
            r"stiffness\[0\] must be symmetric",
        ),
        ([np.diag([1.0, 1.0, -0.1])], r"stiffness\[0\] must be positive definite"),
        (
            [[[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]]],
            r"stiffness\[0\] must be positive",
        ),
        ([np.eye(6)], r"stiffness\[0\] must be .* shape \(3, 3\)"),
        (np.ones((2, 6, 6)), r"stiffness as an array must have shape \(n, 3, 3\)"),
        ([np.full((3, 3), np.nan)], "stiffness must be finite"),
        ([], "stiffness must hold at least one material"),
        ([{"E": 1.0, "nu": 0.3}], "one material per phase label 0..1, got 1"),
    ],
)
def test_bad_stiffness_is_rejected_naming_it(stiffness, match):
    phases = np.zeros((4, 4), np.int8)
    phases[0, 0] = 1
    with pytest.raises(ValueError, match=match):
        apparent_stiffness(phases, stiffness)


@pytest.mark.parametrize(
    ("phases", "kwargs", "error", "match"),
    [
        (np.zeros((4, 4)), {}, TypeError, "phases must be an integer array"),
        (np.zeros(4, np.int8), {}, ValueError, "phases must be 2-D or 3-D"),
        (np.zeros((4, 1), np.int8), {}, ValueError, "phases must have at least 2 voxels"),
        (np.full((4, 4), -1), {}, ValueError, "phases must hold labels >= 0"),
        (np.zeros((4, 4), np.int8), {"bc": "dirichlet"}, ValueError, "bc must be one of"),
        (np.zeros((4, 4), np.int8), {"bc": 3}, TypeError, "bc must be a string"),
        (np.zeros((4, 4), np.int8), {"tol": 0.0}, ValueError, r"tol must be in \(0, 1\)"),
        (np.zeros((4, 4), np.int8), {"maxiter": 0}, ValueError, "maxiter must be >= 1"),
        (np.zeros((4, 4), np.int8), {"spacing": -1.0}, ValueError, "spacing must be finite"),
        (np.zeros((4, 4), np.int8), {"on_failure": "warn"}, ValueError, "on_failure must be"),
    ],
)
def test_bad_arguments_are_rejected_naming_them(phases, kwargs, error, match):
    with pytest.raises(error, match=match):
        apparent_stiffness(phases, [{"E": 1.0, "nu": 0.3}], **kwargs)


def test_stiffness_of_the_wrong_type_is_rejected():
    with pytest.raises(TypeError, match="stiffness must be a sequence"):
        apparent_stiffness(np.zeros((4, 4), np.int8), 3.0)
    with pytest.raises(TypeError, match="stiffness must hold real numbers"):
        apparent_stiffness(np.zeros((4, 4), np.int8), np.eye(3)[None] * 1j)


@pytest.mark.parametrize("module", [sve.solvers.elasticity.apparent, sve.solvers.moduli])
def test_docstring_examples_run(module):
    failures, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failures == 0


# --- voids (zero stiffness) ---------------------------------------------------------------------


def with_voids(ndim):
    """Isotropic solid (label 0) and a void (label 1)."""
    return np.array([isotropic(ndim, E=1.0, nu=0.3), np.zeros((mandel_size(ndim),) * 2)])


def diagonal_chain(shape, width=None):
    """Solid voxels (label 0) on the main diagonal only, touching at corners (3-D: at edges
    when `width` extends them along the last axis); voids (label 1) elsewhere."""
    phases = np.ones(shape, np.int8)
    n = min(shape[:2])
    if len(shape) == 2:
        phases[np.arange(n), np.arange(n)] = 0
    elif width is None:
        phases[np.arange(n), np.arange(n), np.arange(n)] = 0
    else:
        phases[np.arange(n), np.arange(n), :] = 0
    return phases


POROUS = {
    "random 2-D": (np.random.default_rng(0).random((6, 7)) < 0.55).astype(np.int8),
    "random 2-D b": (np.random.default_rng(1).random((7, 6)) < 0.55).astype(np.int8),
    "random 3-D": (np.random.default_rng(2).random((4, 5, 4)) < 0.55).astype(np.int8),
    "corner chain 2-D": diagonal_chain((6, 6)),
    "corner chain 3-D": diagonal_chain((5, 5, 5)),
    "edge chain 3-D": diagonal_chain((5, 5, 4), width=4),
}


@pytest.mark.parametrize("bc", ["periodic", "kinematic", "mixed"])
@pytest.mark.parametrize("name", list(POROUS))
def test_voids_match_the_reference(bc, name):
    phases = POROUS[name]
    stiffness = with_voids(phases.ndim)
    result = apparent_stiffness(phases, stiffness, bc=bc, tol=1e-12, maxiter=5000)
    expected = apparent_stiffness_reference(stiffness[phases], bc)
    # Floating parts and hinge mechanisms (voxels touching at a corner or an edge) leave
    # zero-energy modes: the reference takes the minimum-norm solution, the solver projects
    # them out; stresses are unique. CG to 1e-12 (~100 iterations), dense solve ~1e-13.
    scale = np.nanmax(np.abs(expected))
    np.testing.assert_allclose(result.tensor, expected, rtol=0, atol=1e-9 * scale)
    assert result.converged and any(note.startswith("voids:") for note in result.notes)


@pytest.mark.parametrize("shape", [(7, 6), pytest.param((5, 5, 6), marks=pytest.mark.slow)])
def test_static_conditions_with_interior_voids_match_the_reference(shape):
    ndim = len(shape)
    phases = (np.random.default_rng(5).random(shape) < 0.5).astype(np.int8)
    interior = tuple(slice(1, -1) for _ in shape)
    shell = np.zeros(shape, np.int8)
    shell[interior] = phases[interior]  # a solid boundary shell carries the tractions
    stiffness = with_voids(ndim)
    result = apparent_stiffness(shell, stiffness, bc="static", tol=1e-12, maxiter=5000)
    expected = apparent_stiffness_reference(stiffness[shell], "static")
    # As above: the reference is the minimum-norm solution, the stresses are unique.
    np.testing.assert_allclose(result.tensor, expected, rtol=0, atol=1e-9 * np.abs(expected).max())
    np.testing.assert_allclose(result.compliance @ result.tensor, np.eye(len(expected)), atol=1e-9)


def rigid_count(solid, bc):
    ndim = solid.ndim
    periodic = bc == "periodic"
    nodes = solid.shape if periodic else tuple(n + 1 for n in solid.shape)
    fixed = np.zeros(nodes + (ndim,), bool)
    for c in range(ndim):
        for axis in range(ndim):
            if bc == "kinematic" or (bc == "mixed" and axis == c):
                index = [slice(None)] * ndim
                for end in (0, -1):
                    index[axis] = end
                    fixed[tuple(index) + (c,)] = True
    return zero_modes(solid, fixed, periodic=periodic)


def _solid(shape, *voxels):
    out = np.zeros(shape, bool)
    for voxel in voxels:
        out[voxel] = True
    return out


@pytest.mark.parametrize(
    ("solid", "bc", "modes"),
    [
        (_solid((4, 4), (1, 1)), "static", 3),  # one floating voxel: rigid motions
        (_solid((4, 4), (1, 1), (1, 2)), "static", 3),  # sharing an edge: one body
        (_solid((4, 4), (1, 1), (2, 2)), "static", 4),  # a corner hinge: + relative rotation
        (_solid((4, 4, 4), (1, 1, 1), (1, 1, 2)), "static", 6),  # a face: one body
        (_solid((4, 4, 4), (1, 1, 1), (1, 2, 2)), "static", 7),  # an edge: rotation about it
        (_solid((4, 4, 4), (1, 1, 1), (2, 2, 2)), "static", 9),  # a corner: 3 rotations
        (_solid((4, 4), (1, 1), (2, 2)), "periodic", 4),  # not wrapping: as static
        (_solid((4, 4), *[(1, j) for j in range(4)]), "periodic", 2),  # wraps: no rotation
        (_solid((4, 4, 4), *[(i, 1, 1) for i in range(4)]), "periodic", 4),  # + spin about it
        (_solid((4, 4), (0, 1)), "kinematic", 0),  # on a held face
        (_solid((4, 4), (1, 1)), "kinematic", 3),  # inside: floating
        (_solid((4, 4), *[(i, 1) for i in range(4)]), "mixed", 1),  # held along 0: slides
        (_solid((4, 4), (0, 0), (1, 1)), "kinematic", 1),  # hinged to a held voxel: rotates
    ],
)
def test_zero_energy_modes_are_rigid_motions_and_hinge_mechanisms(solid, bc, modes):
    # Counted by hand: 3 (6) rigid motions per part in 2-D (3-D), minus 2 (3) per hinge node
    # in 2-D (3-D corner), minus 5 for a 3-D edge (two nodes), minus held components.
    result = rigid_count(solid, bc)
    assert result.modes == modes


@pytest.mark.parametrize("bc", ["periodic", "kinematic", "mixed"])
def test_floating_islands_carry_no_stress(bc):
    phases = np.ones((12, 12), np.int8)  # 1 = void
    phases[4:8, :] = 0  # a solid band along axis 1 crossing the cell
    islands = phases.copy()
    islands[1, 2] = islands[10, 5] = islands[10, 6] = islands[9, 7] = 0  # with a hinge
    results = [apparent_stiffness(p, with_voids(2), bc=bc, tol=1e-10) for p in (phases, islands)]
    # Islands only add zero-energy modes, projected out: the same tensor to solver accuracy.
    np.testing.assert_allclose(results[1].tensor, results[0].tensor, rtol=1e-8, atol=1e-8)
    assert results[1].converged


@pytest.mark.parametrize("ndim", [2, 3])
def test_a_void_layer_gives_the_backus_limit_under_periodic_conditions(ndim):
    phases = np.zeros((6,) + (4,) * (ndim - 1), np.int8)
    phases[2] = 1  # a void layer normal to axis 0
    stiffness = with_voids(ndim)
    result = apparent_stiffness(phases, stiffness, bc="periodic", tol=1e-11)
    # Backus with a layer of vanishing stiffness: no stress along the normal components,
    # the in-plane block the solid fraction times the in-plane stiffness of the solid with
    # the normal stresses relaxed, D = C_tt - C_tn C_nn^-1 C_nt.
    expected = backus_average(stiffness[:1], [1.0], 0)
    pairs = {2: ((0, 0), (1, 1), (0, 1)), 3: ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))}
    n = [k for k, pair in enumerate(pairs[ndim]) if 0 in pair]
    t = [k for k in range(mandel_size(ndim)) if k not in n]
    c = stiffness[0]
    expected = np.zeros_like(c)
    relaxed = c[np.ix_(t, t)] - c[np.ix_(t, n)] @ np.linalg.inv(c[np.ix_(n, n)]) @ c[np.ix_(n, t)]
    expected[np.ix_(t, t)] = 5 / 6 * relaxed
    # Exact in Q1 (piecewise affine field): solver tolerance only.
    np.testing.assert_allclose(result.tensor, expected, rtol=0, atol=1e-8)
    assert np.isnan(result.compliance).all()
    assert any("singular" in note for note in result.notes)


@pytest.mark.parametrize("bc", BCS)
@pytest.mark.parametrize("shape", [(6, 5), (4, 4, 5)])
def test_an_all_void_image_or_an_island_has_zero_stiffness(bc, shape):
    ndim = len(shape)
    island = np.ones(shape, np.int8)
    island[(slice(1, 3),) * ndim] = 0  # solid touching no face: it carries nothing
    expected = np.zeros((mandel_size(ndim),) * 2)
    if bc == "mixed":
        expected[coupling(expected)] = np.nan
    for phases, atol in ((np.ones(shape, np.int8), 0.0), (island, 1e-9)):
        result = apparent_stiffness(phases, with_voids(ndim), bc=bc, tol=1e-10)
        # All void: no load at all, exactly zero. Island: its load is self-equilibrated and
        # its exact displacement a rigid motion minus E . x, stress-free; CG gets there to
        # tol=1e-10 (unit solid stiffness). A singular tensor, a note, no error.
        np.testing.assert_allclose(result.tensor, expected, rtol=0, atol=atol)
        assert np.isnan(result.compliance).all() and result.converged
        assert any("singular" in note for note in result.notes)


def test_static_conditions_with_voids_on_the_boundary_give_zero_with_a_note():
    phases = random_labels((8, 8), 2, seed=5)  # voids on the faces
    result = apparent_stiffness(phases, with_voids(2), bc="static")
    # A uniform traction cannot be applied on void faces: zero, flagged, never NaN.
    np.testing.assert_array_equal(result.tensor, 0.0)
    assert any(note.startswith("static:") for note in result.notes)


@pytest.mark.parametrize("ndim", [2, 3])
def test_porous_medium_with_percolating_solid_is_spd_and_ordered(ndim):
    shape = (24, 24) if ndim == 2 else (12, 12, 12)
    field = scipy.ndimage.gaussian_filter(
        np.random.default_rng(6).standard_normal(shape), 1.5, mode="wrap"
    )
    phases = (field > np.quantile(field, 0.7)).astype(np.int8)  # 30 % voids
    stiffness = with_voids(ndim)
    tol = 1e-9
    results = {
        bc: apparent_stiffness(phases, stiffness, bc=bc, tol=tol, maxiter=5000)
        for bc in ("periodic", "kinematic", "mixed")
    }
    solid = (1 - phases.mean()) * stiffness[0]  # the Voigt bound; the Reuss bound is 0
    for bc, result in results.items():
        block = normal_block(result.tensor) if bc == "mixed" else result.tensor
        assert np.isfinite(block).all() and result.min_eigenvalue > 0 and result.converged
        # Solver errors are O(tol) relative to ||C|| (solid contrast 1): a 100 tol margin.
        assert result.symmetry_defect <= 100 * tol and result.hill_mandel_defect <= 100 * tol
        assert_below(block, normal_block(solid) if bc == "mixed" else solid, 100 * tol)
    assert_below(results["periodic"].tensor, results["kinematic"].tensor, 100 * tol)
    assert_below(
        normal_block(results["mixed"].tensor), normal_block(results["kinematic"].tensor), 100 * tol
    )


@pytest.mark.parametrize("shape", [(12, 10), (6, 6, 7)])
def test_huet_hierarchy_holds_with_interior_voids(shape):
    ndim = len(shape)
    phases = (np.random.default_rng(7).random(shape) < 0.4).astype(np.int8)
    shell = np.zeros(shape, np.int8)
    interior = tuple(slice(1, -1) for _ in shape)
    shell[interior] = phases[interior]  # solid faces: every condition carries every load
    tol = 1e-10
    results = {
        bc: apparent_stiffness(shell, with_voids(ndim), bc=bc, tol=tol, maxiter=5000) for bc in BCS
    }
    # As for the two-phase media: tensor errors O(tol) of ||C|| (unit solid), gaps O(1).
    slack = 100 * tol
    assert_below(results["static"].tensor, results["periodic"].tensor, slack)
    assert_below(results["periodic"].tensor, results["kinematic"].tensor, slack)
    mixed = normal_block(results["mixed"].tensor)
    assert_below(np.linalg.inv(normal_block(results["static"].compliance)), mixed, slack)
    assert_below(mixed, normal_block(results["kinematic"].tensor), slack)
    assert all(result.min_eigenvalue > 0 for result in results.values())


def test_both_results_have_the_same_fields():
    """StiffnessResult has every field of ConductivityResult, plus its compliance."""
    from dataclasses import fields

    from sve.solvers import ConductivityResult

    conductivity = [f.name for f in fields(ConductivityResult)]
    stiffness = [f.name for f in fields(StiffnessResult)]
    assert stiffness == conductivity + ["compliance"]


def test_stiffness_bounds_and_percolation_fields():
    """Voigt and Reuss scalars bound the eigenvalues; a void layer normal to axis 0 stops
    percolation along axis 0 only (the solid is connected along axis 1)."""
    phases = np.ones((8, 8), np.int8)
    phases[3, :] = 0  # a void layer normal to axis 0
    moduli = [np.zeros((3, 3)), {"E": 1.0, "nu": 0.3}]  # phase 0: a void
    result = apparent_stiffness(phases, moduli, bc="kinematic")
    assert result.percolating == (False, True)
    assert result.reuss == 0.0  # a void: <C^-1> is infinite
    assert result.voigt == pytest.approx(np.linalg.eigvalsh(result.voigt_tensor)[-1])
    assert (result.preconditioner, result.stop) == ("fft", "residual")
    assert np.isnan(result.tensor_accuracy)
    full = apparent_stiffness(np.ones((6, 6), np.int8), [{"E": 2.0, "nu": 0.3}] * 2)
    assert full.percolating == (True, True)
    eigenvalues = np.linalg.eigvalsh(isotropic(2, E=2.0, nu=0.3))  # one phase: C itself
    np.testing.assert_allclose([full.reuss, full.voigt], eigenvalues[[0, -1]], rtol=1e-12)
