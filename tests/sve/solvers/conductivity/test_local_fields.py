"""Local fields of the conductivity solver (``fields=``): Hill-Mandel on the fields,
per-phase moments, the sensitivity of the apparent energy, exact fields of homogeneous
media and laminates, and no effect on the solve when off.
"""

from __future__ import annotations

import numpy as np
import pytest

from sve.solvers import apparent_conductivity
from tests.sve.solvers._media import laminate, random_labels

CASES = [
    ("q1", "periodic"),
    ("q1", "kinematic"),
    ("q1", "static"),
    ("q1", "mixed"),
    ("fv", "periodic"),
    ("fv", "kinematic"),
    ("fv", "mixed"),
]
IDS = [f"{d}-{bc}" for d, bc in CASES]
K3 = np.array([1.0, 4.0, 20.0])
# Solves at tol=1e-12 on a few hundred unknowns: the Hill-Mandel gap of a CG iterate is
# of the order of the residual (1e-12) times the contrast; 1e-9 leaves room for round-off.
HILL_MANDEL = 1e-9


def totals(moments):
    """Volume averages of the gradient, the flux and the energy per load case."""
    phi = moments.volume_fraction
    gradient = np.einsum("p,lpi->li", phi, moments.mean_gradient)
    flux = np.einsum("p,lpi->li", phi, moments.mean_flux)
    return gradient, flux, moments.energy @ phi


@pytest.mark.parametrize(("discretization", "bc"), CASES, ids=IDS)
def test_hill_mandel_on_the_fields(discretization, bc):
    phases = random_labels((8, 10), 3, seed=1)
    result = apparent_conductivity(
        phases, K3, bc=bc, discretization=discretization, tol=1e-12, fields="summary"
    )
    moments = result.phase_moments
    assert result.fields is None
    gradient, flux, energy = totals(moments)
    loads = moments.loads
    if bc == "mixed":  # <q . g> = E . <q> = <q_i> = K_ii; <q_j>, <g_j> (j != i) need not vanish
        np.testing.assert_allclose(energy, np.einsum("li,li->l", loads, flux), rtol=HILL_MANDEL)
        np.testing.assert_allclose(energy, np.diag(result.tensor), rtol=HILL_MANDEL)
        off = np.abs(flux - np.diag(np.diag(flux))).max()
        assert off > 1e-3  # the off-diagonal averages do not vanish: <q>.<g> != <q.g>
    else:
        np.testing.assert_allclose(energy, np.einsum("li,li->l", gradient, flux), rtol=HILL_MANDEL)
    if bc == "static":  # <q> = Q exactly, <g> the columns of the resistivity K^-1
        np.testing.assert_allclose(flux, loads, atol=1e-10)
        np.testing.assert_allclose(gradient.T, np.linalg.inv(result.tensor), rtol=1e-9)
    else:  # <g_i> = E_i along the loaded axis (every axis but under mixed conditions)
        np.testing.assert_allclose(np.diag(gradient), 1.0, rtol=1e-12)
        if bc != "mixed":
            np.testing.assert_allclose(gradient, loads, atol=1e-12)
            np.testing.assert_allclose(flux.T, result.tensor, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize(("discretization", "bc"), CASES, ids=IDS)
def test_phase_means_weight_back_to_the_voxel_averages(discretization, bc):
    phases = random_labels((6, 7), 3, seed=2)
    result = apparent_conductivity(
        phases, K3, bc=bc, discretization=discretization, tol=1e-10, fields="full"
    )
    moments, fields = result.phase_moments, result.fields
    gradient, flux, _ = totals(moments)
    # The same numbers summed two ways (per phase, then over voxels): round-off only.
    np.testing.assert_allclose(fields.gradient.mean(axis=(1, 2)), gradient, atol=1e-13)
    np.testing.assert_allclose(fields.flux.mean(axis=(1, 2)), flux, atol=1e-12)
    for p, label in enumerate(moments.labels):
        mask = phases == label
        np.testing.assert_allclose(
            fields.gradient[:, mask].mean(axis=1), moments.mean_gradient[:, p], atol=1e-13
        )
        np.testing.assert_allclose(moments.volume_fraction[p], mask.mean(), rtol=0, atol=0)
    # The second moment is at least the square of the mean (Jensen), per phase and case.
    outer = np.einsum("lpi,lpj->lpij", moments.mean_gradient, moments.mean_gradient)
    excess = np.linalg.eigvalsh(moments.gradient_moment - outer)
    assert excess.min() > -1e-12


@pytest.mark.parametrize(("discretization", "bc"), CASES, ids=IDS)
def test_phase_energy_is_the_derivative_of_the_apparent_energy(discretization, bc):
    """phi_a <g . g>_a = d(E . K E) / d k_a against central differences of the tensor."""
    phases = random_labels((8, 10), 3, seed=1)
    options = dict(bc=bc, discretization=discretization, tol=1e-12)
    moments = apparent_conductivity(phases, K3, fields="summary", **options).phase_moments
    sensitivity = np.einsum("lpii->lp", moments.gradient_moment) * moments.volume_fraction
    for a in range(3):
        step = 1e-4 * K3[a]
        up, down = K3.copy(), K3.copy()
        up[a] += step
        down[a] -= step
        high = apparent_conductivity(phases, up, **options).tensor
        low = apparent_conductivity(phases, down, **options).tensor
        if bc == "static":  # d(Q . K^-1 Q) / d k_a = -phi_a <g . g>_a
            slope = -(np.diag(np.linalg.inv(high)) - np.diag(np.linalg.inv(low))) / (2 * step)
        else:
            slope = (np.diag(high) - np.diag(low)) / (2 * step)
        # Central differences: truncation (step / k)**2 ~ 1e-8 times the curvature; the
        # solves at 1e-12 add about 1e-12 / 2e-4; measured at most 8e-9 relative.
        np.testing.assert_allclose(sensitivity[:, a], slope, rtol=1e-7)


@pytest.mark.parametrize(("discretization", "bc"), CASES, ids=IDS)
def test_homogeneous_medium_has_uniform_exact_fields(discretization, bc):
    phases = np.zeros((5, 6), dtype=np.int8)
    result = apparent_conductivity(
        phases,
        [3.0],
        bc=bc,
        discretization=discretization,
        spacing=(0.5, 1.5),
        tol=1e-12,
        fields="full",
    )
    fields = result.fields
    loads = fields.loads[:, None, None, :]
    if bc == "static":  # flux Q, gradient Q / k, to the solver tolerance (1e-12, 42 nodes)
        shape = fields.flux.shape
        np.testing.assert_allclose(fields.flux, np.broadcast_to(loads, shape), atol=1e-10)
        np.testing.assert_allclose(
            fields.gradient, np.broadcast_to(loads / 3.0, shape), atol=1e-10
        )
        # the corrector T - <g> . x is a constant
        assert np.ptp(fields.corrector, axis=(1, 2)).max() < 1e-10
    else:  # the affine field solves the problem: no solve, exact zeros
        np.testing.assert_array_equal(fields.gradient, np.broadcast_to(loads, fields.flux.shape))
        np.testing.assert_array_equal(fields.flux, 3.0 * fields.gradient)
        np.testing.assert_array_equal(fields.corrector, 0.0)
    assert result.phase_moments.labels.tolist() == [0]


def test_anisotropic_homogeneous_medium_gives_k_e():
    tensor = np.array([[2.0, 0.5], [0.5, 1.0]])
    fields = apparent_conductivity(np.zeros((4, 5), int), tensor[None], fields="full").fields
    for j in range(2):  # the affine field solves it: exact
        np.testing.assert_array_equal(fields.gradient[j], np.broadcast_to(np.eye(2)[j], (4, 5, 2)))
        np.testing.assert_allclose(
            fields.flux[j], np.broadcast_to(tensor[:, j], (4, 5, 2)), rtol=1e-15
        )


@pytest.mark.parametrize("discretization", ["q1", "fv"])
def test_laminate_fields_are_the_exact_piecewise_constants(discretization):
    k = np.array([1.0, 10.0])
    phases = laminate(2, normal=1, layers=[0, 0, 1, 1, 1, 0], width=4)
    result = apparent_conductivity(
        phases, k, discretization=discretization, tol=1e-12, fields="full"
    )
    fields = result.fields
    harmonic = 1.0 / np.mean(1.0 / k[phases])
    # along the layers (E = e_0): g = e_0, q = k e_0; across (E = e_1): q_1 = harmonic mean,
    # g_1 = harmonic / k. CG at 1e-12 on 24 unknowns: 1e-10 absolute.
    expected_g = np.zeros((2,) + phases.shape + (2,))
    expected_g[0, ..., 0] = 1.0
    expected_g[1, ..., 1] = harmonic / k[phases]
    expected_q = expected_g * k[phases][None, ..., None]
    np.testing.assert_allclose(fields.gradient, expected_g, atol=1e-10)
    np.testing.assert_allclose(fields.flux, expected_q, atol=1e-10)
    moments = result.phase_moments
    np.testing.assert_allclose(moments.mean_gradient[1, :, 1], harmonic / k, rtol=1e-10)
    np.testing.assert_allclose(
        moments.gradient_moment[1, :, 1, 1], (harmonic / k) ** 2, rtol=1e-10
    )


@pytest.mark.parametrize(("discretization", "bc"), CASES, ids=IDS)
def test_fields_do_not_change_the_solve(discretization, bc):
    phases = random_labels((6, 8), 3, seed=3)
    plain = apparent_conductivity(phases, K3, bc=bc, discretization=discretization)
    with_fields = apparent_conductivity(
        phases, K3, bc=bc, discretization=discretization, fields="full"
    )
    off = apparent_conductivity(phases, K3, bc=bc, discretization=discretization, fields=False)
    for other in (with_fields, off):
        np.testing.assert_array_equal(other.tensor, plain.tensor)
        assert other.iterations == plain.iterations
        assert other.hill_mandel_defect == plain.hill_mandel_defect
    assert plain.fields is None and plain.phase_moments is None
    assert off.fields is None and off.phase_moments is None


def test_corrector_rebuilds_the_gradient_with_box_voxels():
    """The periodic corrector in the user's length unit: E + grad w (element average of the
    nodal differences) is the gradient field; the corrector of e_j is retrievable with its
    node coordinates.
    """
    phases = random_labels((6, 8), 2, seed=4)
    spacing = (0.5, 1.5)
    fields = apparent_conductivity(
        phases, [1.0, 5.0], spacing=spacing, tol=1e-12, fields=True
    ).fields
    np.testing.assert_allclose(fields.coordinates[0], 0.5 * np.arange(6))
    np.testing.assert_allclose(fields.coordinates[1], 1.5 * np.arange(8))
    np.testing.assert_allclose(fields.centres[1], 1.5 * (np.arange(8) + 0.5))
    w = fields.corrector
    assert w.shape == (2, 6, 8)
    wx = np.roll(w, -1, axis=1) - w
    d0 = 0.5 * (wx + np.roll(wx, -1, axis=2)) / spacing[0]
    wy = np.roll(w, -1, axis=2) - w
    d1 = 0.5 * (wy + np.roll(wy, -1, axis=1)) / spacing[1]
    rebuilt = np.stack([d0, d1], axis=-1) + fields.loads[:, None, None, :]
    np.testing.assert_allclose(rebuilt, fields.gradient, atol=1e-12)


def test_voids_give_zero_flux_and_undetermined_gradient():
    phases = random_labels((8, 8), 3, seed=5)
    result = apparent_conductivity(phases, [0.0, 1.0, 3.0], tol=1e-12, fields="full")
    fields, moments = result.fields, result.phase_moments
    void = phases == 0
    assert np.all(fields.flux[:, void] == 0.0)
    assert np.all(np.isnan(fields.gradient[:, void]))
    assert np.all(np.isnan(moments.mean_gradient[:, 0]))
    assert np.all(np.isfinite(moments.mean_gradient[:, 1:]))
    # Hill-Mandel on the conducting phases: sum_a phi_a <q . g>_a = E . <q> = K_jj.
    energy = moments.energy @ moments.volume_fraction
    np.testing.assert_allclose(energy, np.diag(result.tensor), rtol=1e-9)


def test_static_fields_follow_the_compatible_load_cases():
    phases = np.ones((6, 6), dtype=np.int8)
    phases[0, :] = 0  # a void layer on a face: no uniform flux is compatible
    result = apparent_conductivity(phases, [0.0, 2.0], bc="static", fields="full")
    assert result.phase_moments.loads.shape == (0, 2)
    assert result.fields.gradient.shape == (0, 6, 6, 2)
    assert result.fields.corrector.shape == (0, 7, 7)


@pytest.mark.parametrize("bad", ["yes", "fields", 1, 2.0])
def test_fields_argument_is_checked(bad):
    with pytest.raises(ValueError, match="fields"):
        apparent_conductivity(np.zeros((4, 4), int), [1.0], fields=bad)


@pytest.mark.parametrize("bc", ["periodic", "kinematic", "static", "mixed"])
def test_hill_mandel_in_3d_with_rotated_tensors(bc):
    rng = np.random.default_rng(6)
    phases = random_labels((4, 5, 6), 2, seed=6)
    q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    tensors = np.array([q @ np.diag([1.0, 2.0, 5.0]) @ q.T, 3.0 * np.eye(3)])
    result = apparent_conductivity(phases, tensors, bc=bc, tol=1e-12, fields="full")
    moments, fields = result.phase_moments, result.fields
    gradient, flux, energy = totals(moments)
    product = np.einsum("li,li->l", moments.loads if bc == "mixed" else gradient, flux)
    np.testing.assert_allclose(energy, product, rtol=HILL_MANDEL)
    # flux = K g voxel by voxel
    stack = tensors[phases]
    np.testing.assert_allclose(
        fields.flux, np.einsum("...ij,l...j->l...i", stack, fields.gradient), rtol=1e-12
    )
    assert fields.corrector.shape[1:] == ((4, 5, 6) if bc == "periodic" else (5, 6, 7))


def test_corrector_at_interpolates_the_q1_corrector_periodically():
    phases = random_labels((6, 8), 2, seed=7)
    spacing = (0.5, 1.5)
    fields = apparent_conductivity(phases, [1.0, 5.0], spacing=spacing, fields=True).fields
    x, y = np.meshgrid(*fields.coordinates, indexing="ij")
    nodes = np.stack([x.ravel(), y.ravel()], axis=1)
    at_nodes = fields.corrector_at(nodes).reshape(fields.corrector.shape)
    np.testing.assert_allclose(at_nodes, fields.corrector, atol=1e-15)
    period = np.array([6 * 0.5, 8 * 1.5])
    np.testing.assert_allclose(  # one period further, and negative positions: the same
        fields.corrector_at(nodes + period), fields.corrector_at(nodes), atol=1e-13
    )
    np.testing.assert_allclose(
        fields.corrector_at(nodes - 2 * period), fields.corrector_at(nodes), atol=1e-13
    )
    # the centre of the last voxel: the mean of its four corners, two of them wrapped
    centre = fields.corrector_at([5.5 * 0.5, 7.5 * 1.5])[:, 0]
    w = fields.corrector
    corners = (w[:, 5, 7] + w[:, 0, 7] + w[:, 5, 0] + w[:, 0, 0]) / 4.0
    np.testing.assert_allclose(centre, corners, atol=1e-15)


@pytest.mark.parametrize("discretization", ["q1", "fv"])
def test_first_order_correction_of_a_laminate_is_the_exact_corrector(discretization):
    """Across the layers w_1'(y) = H / k(y) - 1 (H the harmonic mean): the correction at two
    points differs by epsilon times the integral of it between them.
    """
    k = np.array([1.0, 4.0])
    layers = [0, 0, 0, 1, 1, 0, 1, 1]
    phases = laminate(2, normal=1, layers=layers, width=4)
    fields = apparent_conductivity(
        phases, k, discretization=discretization, tol=1e-12, fields="full"
    ).fields
    harmonic = 1.0 / np.mean(1.0 / k[layers])
    slope = harmonic / k[layers] - 1.0  # per layer (unit voxels)
    epsilon = 0.1
    # positions along axis 1 at layer boundaries (q1 nodes) or layer centres (fv cells)
    offset = 0.5 if discretization == "fv" else 0.0
    ys = (np.arange(8) + offset) * epsilon
    points = np.stack([np.full(8, 0.37), ys], axis=1)
    correction = fields.first_order_correction(points, np.tile([0.0, 1.0], (8, 1)), epsilon)
    if discretization == "q1":
        exact = epsilon * np.concatenate([[0.0], np.cumsum(slope)[:-1]])
    else:  # centre to centre: half of each neighbouring layer
        exact = epsilon * np.concatenate([[0.0], np.cumsum(0.5 * (slope[:-1] + slope[1:]))])
    np.testing.assert_allclose(correction - correction[0], exact, atol=1e-10)
    # along the layers the corrector vanishes
    along = fields.first_order_correction(points, np.tile([1.0, 0.0], (8, 1)), epsilon)
    np.testing.assert_allclose(along, 0.0, atol=1e-10)


def test_corrector_functions_check_their_input():
    phases = random_labels((4, 4), 2, seed=8)
    fields = apparent_conductivity(phases, [1.0, 2.0], fields=True).fields
    with pytest.raises(ValueError, match="gradient"):
        fields.first_order_correction(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="points"):
        fields.corrector_at(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="epsilon"):
        fields.first_order_correction(np.zeros((3, 2)), np.zeros((3, 2)), epsilon=0.0)
    kinematic = apparent_conductivity(phases, [1.0, 2.0], bc="kinematic", fields=True).fields
    with pytest.raises(ValueError, match="periodic"):
        kinematic.corrector_at([0.5, 0.5])
