"""The boundary-value solver on the voxels of a whole part (conductivity).

Exact references: affine fields in a homogeneous medium and piecewise-linear fields in
laminates are in the Q1 space, so the discrete solution equals them up to the solver
tolerance; the cell solvers (same discretization) give the same numbers as the matching
boundary-value problems; a smooth manufactured solution converges at second order in L2.
"""

from __future__ import annotations

import numpy as np
import pytest

from sve.solvers import apparent_conductivity
from sve.solvers.conductivity.boundary_value import (
    element_gradients,
    face_names,
    solve_conductivity_bvp,
)
from sve.solvers.result import ConvergenceError
from tests.sve.solvers._media import laminate, smooth_two_phase

TOL = 1e-10


def _grid(result):
    return np.meshgrid(*result.coordinates, indexing="ij")


@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize("preconditioner", ["multigrid", "fft"])
def test_homogeneous_affine_data_is_reproduced_exactly(ndim, preconditioner):
    """u = c + E . x is in the Q1 space: nodal error at round-off times 1/tol; energy
    1/2 k |E|^2 V and face fluxes k E . n times the face area, exactly."""
    n = 16 if ndim == 2 else 8
    h = 1.0 / n
    E = np.array([0.3, -0.7, 0.4])[:ndim]
    k = 2.5
    result = solve_conductivity_bvp(
        np.zeros((n,) * ndim, np.int8),
        [k],
        dirichlet={"boundary": lambda *x: 1.0 + sum(e * xi for e, xi in zip(E, x, strict=False))},
        spacing=h,
        tol=TOL,
        preconditioner=preconditioner,
    )
    exact = 1.0 + sum(e * xi for e, xi in zip(E, _grid(result), strict=True))
    # free nodes only move by CG; tolerance 1e-10 relative residual -> ~1e-10 field error
    assert np.abs(result.potential - exact).max() < 1e-9
    np.testing.assert_allclose(
        result.gradient, np.broadcast_to(E, result.gradient.shape), atol=1e-8
    )
    np.testing.assert_allclose(result.flux, k * result.gradient)
    assert result.energy == pytest.approx(0.5 * k * E @ E, rel=1e-10)  # V = 1
    for a in range(ndim):  # area 1; edge nodes shared by two faces split exactly
        assert result.face_flux[f"{'xyz'[a]}max"] == pytest.approx(k * E[a], rel=1e-8)
        assert result.face_flux[f"{'xyz'[a]}min"] == pytest.approx(-k * E[a], rel=1e-8)
    assert sum(result.face_flux.values()) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("ndim", [2, 3])
def test_laminate_across_layers_harmonic_mean(ndim):
    """Layers normal to x, u = 0 on xmin and 1 on xmax, insulated elsewhere: the exact
    solution is piecewise linear (continuous normal flux), in the Q1 space; the flux
    through xmax is the harmonic mean times the drop over the length times the area."""
    layers = [0, 0, 1, 1, 1, 0, 1, 0]
    k = np.array([1.0, 7.0])
    phases = laminate(ndim, 0, layers, width=4)
    h = 0.25
    result = solve_conductivity_bvp(
        phases, k, dirichlet={"xmin": 0.0, "xmax": 1.0}, spacing=h, tol=TOL
    )
    resistances = h / k[np.array(layers)]
    q = 1.0 / resistances.sum()  # flux per unit area, harmonic mean / length
    exact = np.concatenate([[0.0], np.cumsum(resistances)]) * q
    along = result.potential[(slice(None),) + (0,) * (ndim - 1)]
    np.testing.assert_allclose(along, exact, atol=1e-9)
    area = (4 * h) ** (ndim - 1)
    assert result.face_flux["xmax"] == pytest.approx(q * area, rel=1e-9)
    assert result.face_flux["xmin"] == pytest.approx(-q * area, rel=1e-9)
    assert result.energy == pytest.approx(0.5 * 1.0 * q * area, rel=1e-9)  # Clapeyron


@pytest.mark.parametrize("ndim", [2, 3])
def test_laminate_along_layers_arithmetic_mean(ndim):
    """Layers normal to y, drop along x: u = x exactly, flux = arithmetic mean."""
    layers = [0, 1, 1, 0]
    k = np.array([2.0, 5.0])
    phases = laminate(ndim, 1, layers, width=6)
    h = 0.5
    length = 6 * h
    result = solve_conductivity_bvp(
        phases, k, dirichlet={"xmin": 0.0, "xmax": 3.0}, spacing=h, tol=TOL
    )
    x = _grid(result)[0]
    np.testing.assert_allclose(result.potential, x, atol=1e-9)
    area = len(layers) * h * (6 * h) ** (ndim - 2)  # 4 layers: an even grid
    expected = k[np.array(layers)].mean() * 3.0 / length * area
    assert result.face_flux["xmax"] == pytest.approx(expected, rel=1e-9)


def test_manufactured_solution_converges_at_second_order():
    """u = sin(pi x) sin(pi y) + x y on the unit square, K = 2 diag-free scalar, source
    s = 2 * 2 pi^2 sin sin, Dirichlet on xmin, ymin, ymax, the exact normal flux on xmax.
    The nodal L2 error of Q1 with consistent loads falls as h^2: measured slope over
    h = 1/16 .. 1/64 within 0.15 of 2 (about 2.0 measured)."""
    k = 2.0

    def exact(x, y):
        return np.sin(np.pi * x) * np.sin(np.pi * y) + x * y

    def source(x, y):
        return k * 2 * np.pi**2 * np.sin(np.pi * x) * np.sin(np.pi * y)

    def flux_xmax(x, y):  # n = +x: k du/dx at x = 1
        return k * (np.pi * np.cos(np.pi * x) * np.sin(np.pi * y) + y)

    errors = []
    sizes = [16, 32, 64]
    for n in sizes:
        result = solve_conductivity_bvp(
            np.zeros((n, n), np.int8),
            [k],
            dirichlet={"xmin": exact, "ymin": exact, "ymax": exact},
            flux={"xmax": flux_xmax},
            source=source,
            spacing=1.0 / n,
            tol=1e-12,
        )
        error = result.potential - exact(*_grid(result))
        errors.append(np.sqrt(np.mean(error**2)))
    slope = np.polyfit(np.log(1.0 / np.array(sizes)), np.log(errors), 1)[0]
    assert abs(slope - 2.0) < 0.15, (slope, errors)


def test_clapeyron_and_balance_random_medium():
    """Mixed data on a random two-phase medium with a source: u . A u = boundary work +
    source work (Clapeyron, to round-off of the solution), and the face fluxes plus the
    source total vanish (balance, to the solver tolerance)."""
    rng = np.random.default_rng(3)
    phases = smooth_two_phase((32, 32), rng)
    result = solve_conductivity_bvp(
        phases,
        [1.0, 20.0],
        dirichlet={"xmin": 0.0, "ymax": lambda x, y: x},
        flux={"xmax": 0.5},
        source=1.0,
        spacing=1.0 / 32,
        tol=1e-12,
    )
    assert result.boundary_work + result.source_work == pytest.approx(2 * result.energy, rel=1e-9)
    assert result.face_flux["xmax"] == pytest.approx(0.5, rel=1e-12)  # prescribed, length 1
    assert sum(result.face_flux.values()) + result.source_total == pytest.approx(0.0, abs=1e-9)
    assert result.source_total == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("bc", ["mixed", "kinematic", "static"])
def test_matches_the_cell_solver(bc):
    """The boundary-value problems of the cell conditions give the apparent tensor of
    `apparent_conductivity` (same Q1 discretization): mixed, u = x on xmin/xmax and
    insulated sides, flux through xmax / area = C_00; kinematic, u = E . x on the boundary,
    energy = 1/2 E . C E V; static, uniform flux Q . n everywhere, energy = 1/2 Q . C^-1 Q V.
    Both solved to 1e-10: agreement to 1e-7 relative."""
    rng = np.random.default_rng(7)
    phases = smooth_two_phase((32, 32), rng)
    k = [1.0, 10.0]
    tensor = apparent_conductivity(phases, k, bc=bc, tol=1e-11).tensor
    if bc == "mixed":
        result = solve_conductivity_bvp(
            phases, k, dirichlet={"xmin": 0.0, "xmax": 32.0}, tol=1e-11
        )
        assert result.face_flux["xmax"] / 32 == pytest.approx(tensor[0, 0], rel=1e-7)
        return
    E = np.array([0.6, -0.8])
    if bc == "kinematic":
        result = solve_conductivity_bvp(
            phases, k, dirichlet={"boundary": lambda x, y: E[0] * x + E[1] * y}, tol=1e-11
        )
        assert result.energy == pytest.approx(0.5 * E @ tensor @ E * 32**2, rel=1e-7)
        mean_flux = result.flux.mean(axis=(0, 1))
        np.testing.assert_allclose(mean_flux, tensor @ E, rtol=1e-7)
    else:
        Q = E
        normal = {"xmin": -Q[0], "xmax": Q[0], "ymin": -Q[1], "ymax": Q[1]}
        result = solve_conductivity_bvp(phases, k, flux=normal, tol=1e-11)
        resistivity = np.linalg.inv(tensor)
        assert result.energy == pytest.approx(0.5 * Q @ resistivity @ Q * 32**2, rel=1e-7)
        assert np.nanmean(result.potential) == pytest.approx(0.0, abs=1e-9)


def test_voids_match_the_mixed_cell_solver_and_hold_nan():
    """A plate with holes, one conducting island inside a hole (floating: its mean set to
    0) and a dead end: the flux equals the mixed apparent conductivity with voids; nodes in
    holes are NaN, fluxes in voids 0."""
    phases = np.zeros((24, 24), np.int8)
    phases[4:12, 4:12] = 1
    phases[7:9, 7:9] = 0  # an island inside the hole
    phases[16:20, 10:22] = 1
    k = [3.0, 0.0]
    cell = apparent_conductivity(phases, k, bc="mixed", tol=1e-11).tensor[0, 0]
    result = solve_conductivity_bvp(phases, k, dirichlet={"xmin": 0.0, "xmax": 24.0}, tol=1e-11)
    assert result.face_flux["xmax"] / 24 == pytest.approx(cell, rel=1e-7)
    assert np.isnan(result.potential[6, 6])
    assert np.all(result.flux[phases == 1] == 0.0)
    assert np.all(np.isnan(result.gradient[phases == 1]))
    island = result.potential[7:10, 7:10]
    assert np.mean(island) == pytest.approx(0.0, abs=1e-12)
    assert any("voids" in note for note in result.notes)


def test_floating_cluster_with_net_load_is_refused():
    """An island held by no Dirichlet node that takes a source has no steady state."""
    phases = np.ones((12, 12), np.int8)
    phases[:, :2] = 0  # conducting strip at the left, holds the Dirichlet face
    phases[5:8, 5:8] = 0  # island
    with pytest.raises(ValueError, match="net load"):
        solve_conductivity_bvp(phases, [1.0, 0.0], dirichlet={"xmin": 0.0}, source=1.0)
    with pytest.raises(ValueError, match="net load"):  # pure Neumann, unbalanced
        solve_conductivity_bvp(np.zeros((8, 8), np.int8), [1.0], flux={"xmax": 1.0})


def test_preconditioners_agree_and_results_are_reproducible():
    rng = np.random.default_rng(11)
    phases = smooth_two_phase((32, 32), rng)
    options = dict(dirichlet={"xmin": 0.0}, flux={"ymax": 1.0}, source=0.3, tol=1e-11)
    a = solve_conductivity_bvp(phases, [1.0, 50.0], preconditioner="multigrid", **options)
    b = solve_conductivity_bvp(phases, [1.0, 50.0], preconditioner="fft", **options)
    np.testing.assert_allclose(a.potential, b.potential, rtol=1e-8, atol=1e-8)
    again = solve_conductivity_bvp(phases, [1.0, 50.0], preconditioner="multigrid", **options)
    assert np.array_equal(a.potential, again.potential)
    assert a.energy == again.energy
    assert a.iterations < 40  # multigrid: 20 measured; transforms with contrast 50: more


@pytest.mark.parametrize("preconditioner", ["multigrid", "fft"])
def test_anisotropic_tensor_patch_test(preconditioner):
    """A homogeneous anisotropic tensor with affine data: exact, with either preconditioner
    (multigrid: the cycle of the isotropic stand-in trace(K) / d)."""
    K = np.array([[[2.0, 0.7], [0.7, 1.0]]])
    E = np.array([1.0, 2.0])
    result = solve_conductivity_bvp(
        np.zeros((16, 8), np.int8),
        K,
        dirichlet={"boundary": lambda x, y: E[0] * x + E[1] * y},
        tol=TOL,
        preconditioner=preconditioner,
    )
    assert result.preconditioner == preconditioner
    expected = np.broadcast_to(K[0] @ E, result.flux.shape)
    np.testing.assert_allclose(result.flux, expected, rtol=1e-8)
    assert result.energy == pytest.approx(0.5 * E @ K[0] @ E * 128, rel=1e-9)


def test_anisotropic_laminate_across_layers():
    """Anisotropic layers normal to x, u = 0 on xmin and 8 on xmax, insulated y faces:
    the mixed cell problem, so the flux through xmax over the area equals the mixed
    apparent conductivity of the cell solver (same discretization; both at 1e-11)."""
    layers = np.array([[[2.0, 0.5], [0.5, 1.0]], [[1.0, -0.3], [-0.3, 3.0]]])
    phases = laminate(2, 0, [0, 1, 1, 0, 1, 0, 0, 1], width=8)
    cell = apparent_conductivity(phases, layers, bc="mixed", tol=1e-11).tensor[0, 0]
    for preconditioner in ("multigrid", "fft"):
        result = solve_conductivity_bvp(
            phases,
            layers,
            dirichlet={"xmin": 0.0, "xmax": 8.0},
            tol=1e-11,
            preconditioner=preconditioner,
        )
        assert result.face_flux["xmax"] / 8 == pytest.approx(cell, rel=1e-7)


def test_dirichlet_mask_form_and_element_gradients():
    """Dirichlet data as (mask, values) on part of a face; element_gradients of an affine
    field is its gradient."""
    n = 16
    mask = np.zeros((n + 1, n + 1), bool)
    mask[0, 4:12] = True
    values = np.zeros_like(mask, dtype=float)
    result = solve_conductivity_bvp(
        np.zeros((n, n), np.int8), [1.0], dirichlet=(mask, values), source=1.0, tol=TOL
    )
    assert result.converged and result.iterations < 60
    assert sum(result.face_flux.values()) == pytest.approx(-n * n, rel=1e-8)
    x, y = np.meshgrid(np.arange(5.0), np.arange(4.0), indexing="ij")
    g = element_gradients(2 * x - 3 * y, (0.5, 2.0))
    np.testing.assert_allclose(g[..., 0], 4.0)
    np.testing.assert_allclose(g[..., 1], -1.5)
    assert face_names(3) == ("xmin", "xmax", "ymin", "ymax", "zmin", "zmax")


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(dirichlet={"west": 0.0}), ValueError, "face must be one of"),
        (dict(dirichlet={"xmin": 0.0}, flux={"xmin": 1.0}), ValueError, "already has"),
        (dict(dirichlet={"xmin": np.zeros(3)}), ValueError, "node shape"),
        (dict(dirichlet={"xmin": np.nan}), ValueError, "finite"),
        (dict(dirichlet={"xmin": 0.0, "ymin": 1.0}), ValueError, "different values"),
        (dict(dirichlet=[0.0]), TypeError, "mapping"),
        (dict(dirichlet={"xmin": "a"}), TypeError, "number"),
        (dict(dirichlet={"xmin": 0.0}, source=np.ones(3)), ValueError, "voxel shape"),
        (dict(dirichlet={"xmin": 0.0}, tol=2.0), ValueError, "tol"),
        (dict(dirichlet={"xmin": 0.0}, preconditioner="ilu"), ValueError, "preconditioner"),
        (dict(dirichlet={"xmin": lambda x, y: np.ones(3)}), ValueError, "returned shape"),
        (dict(dirichlet=(np.ones((9, 9)), np.zeros((9, 9)))), TypeError, "boolean"),
    ],
)
def test_bad_inputs(kwargs, error, match):
    with pytest.raises(error, match=match):
        solve_conductivity_bvp(np.zeros((8, 8), np.int8), [1.0], **kwargs)


def test_bad_conductivity_and_multigrid_shape():
    with pytest.raises(ValueError, match="conductivity"):
        solve_conductivity_bvp(np.zeros((8, 8), np.int8), [-1.0], dirichlet={"xmin": 0.0})
    with pytest.raises(ValueError, match="halve"):  # 2 x 97 nodes: the coarsest too large
        solve_conductivity_bvp(
            np.zeros((97, 97), np.int8), [1.0], dirichlet={"xmin": 0.0}, preconditioner="multigrid"
        )


def test_non_convergence_says_so():
    rng = np.random.default_rng(0)
    phases = smooth_two_phase((32, 32), rng)
    options = dict(dirichlet={"xmin": 0.0}, source=1.0, maxiter=2, tol=1e-12)
    with pytest.raises(ConvergenceError, match="did not converge"):
        solve_conductivity_bvp(phases, [1.0, 100.0], **options)
    result = solve_conductivity_bvp(phases, [1.0, 100.0], on_failure="flag", **options)
    assert not result.converged and result.iterations == 2


def test_memory_budget_is_checked_before_the_solve():
    """A limit below the estimate refuses the solve with MemoryBudgetError (a MemoryError)
    naming the function; a generous one lets it run."""
    from sve.solvers import MemoryBudgetError

    phases = np.zeros((64, 64), np.int8)
    with pytest.raises(MemoryBudgetError, match="solve_conductivity_bvp"):
        solve_conductivity_bvp(phases, [1.0], dirichlet={"xmin": 0.0}, memory_limit="1 MB")
    result = solve_conductivity_bvp(phases, [1.0], dirichlet={"xmin": 0.0}, memory_limit="2 GB")
    assert result.converged
