"""Permeability: the discrete operator, the solver and the properties of the tensor."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import scipy.ndimage

from sve import ConvergenceError, MemoryBudgetError, Microstructure
from sve.cli import main
from sve.solvers import UnresolvedThroatWarning, apparent_permeability
from sve.solvers._core import chebyshev
from sve.solvers.permeability import multigrid, sparse
from sve.solvers.permeability.cell_problem import body_force, pressure_drop, solve_cases
from sve.solvers.permeability.mac import Stencil, StokesOperator


def smooth_pores(shape, seed, length=2.0, fraction=0.5):
    """A periodic level cut of smoothed noise: True in the pores."""
    rng = np.random.default_rng(seed)
    field = scipy.ndimage.gaussian_filter(rng.standard_normal(shape), length, mode="wrap")
    return field < np.quantile(field, fraction)


def quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnresolvedThroatWarning)
        return apparent_permeability(*args, **kwargs)


@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize("mixed", [False, True])
def test_matrix_free_operator_equals_sparse_assembly(ndim, mixed):
    # The same matrix, entry by entry: agreement to round-off (measured 4e-15).
    rng = np.random.default_rng(3)
    shape = (7, 6, 5)[:ndim]
    fluid = (rng.random(shape) < 0.7).reshape(shape + (1,) * (3 - ndim))
    h = np.array([1.0, 1.3, 0.8][:ndim] + [1.0] * (3 - ndim))
    operator = StokesOperator(fluid, h, ndim, mixed=mixed, load=0 if mixed else None)
    matrix = sparse.assemble(operator)
    assert abs(matrix - matrix.T).max() == 0.0
    x = rng.standard_normal(operator.size)
    for comp in operator.components:
        operator.velocity(x, comp.axis)[~comp.active] = 0.0
    operator.pressure(x)[~operator.fluid] = 0.0
    y = np.empty_like(x)
    operator.apply(x, y)
    assert np.abs(matrix @ x - y).max() < 1e-12 * np.abs(y).max()


@pytest.mark.parametrize("mixed", [False, True])
def test_minres_agrees_with_superlu(mixed):
    # MINRES at tol 1e-10 against the sparse direct solve of the same system: the mean
    # velocities agree to 1e-8 relative (measured 1e-10).
    pores = smooth_pores((12, 12, 12), 4, length=1.5, fraction=0.6)
    operator = StokesOperator(pores, np.ones(3), 3, mixed=mixed, load=0 if mixed else None)
    load = pressure_drop(operator, 0, 12.0) if mixed else body_force(operator, 0)
    if not mixed:  # drop the clusters that do not wrap (as apparent_permeability does)
        from sve.solvers._core.clusters import find_clusters

        clusters = find_clusters(pores.astype(float), periodic=True, discretization="fv")
        keep = clusters.wraps.any(axis=1)
        pores = (clusters.labels >= 0) & keep[np.maximum(clusters.labels, 0)]
    else:
        from sve.solvers._core.clusters import find_clusters

        clusters = find_clusters(pores.astype(float), periodic=False, discretization="fv")
        joins = clusters.low[:, 0] & clusters.high[:, 0]
        pores = (clusters.labels >= 0) & joins[np.maximum(clusters.labels, 0)]
    operator = StokesOperator(pores, np.ones(3), 3, mixed=mixed, load=0 if mixed else None)
    load = pressure_drop(operator, 0, 12.0) if mixed else body_force(operator, 0)
    found = {}

    def finish(index, x, count, relative):
        found["mean"] = operator.mean_velocity_compact(x)
        found["full"] = operator.mean_velocity(operator.expand(x))

    compact = operator.compress(load)
    solve_cases(operator, [compact.copy], finish, periodic=not mixed, tol=1e-10, maxiter=2000)
    (direct,) = sparse.direct_solve(operator, [load], periodic=not mixed)
    a = found["mean"]
    assert np.array_equal(a, found["full"])  # the compact sums are those of the full vector
    b = operator.mean_velocity(direct)
    assert np.allclose(a, b, rtol=0.0, atol=1e-8 * abs(b[0]))


def test_symmetric_positive_hill_mandel():
    # tol 1e-8: symmetry and Hill-Mandel defects measured below 1e-8.
    result = quiet(smooth_pores((40, 40), 1, length=2.5), tol=1e-9)
    assert result.converged
    assert result.symmetry_defect < 1e-7
    assert result.hill_mandel_defect < 1e-7
    assert result.min_eigenvalue > 0.0
    assert result.divergence_residual < 1e-6 and result.momentum_residual < 1e-6
    assert result.tensor[0, 1] != 0.0  # a random medium couples the axes


def test_viscosity_does_not_change_the_tensor_and_scales_the_velocity():
    pores = smooth_pores((24, 24), 2, length=2.0)
    a = quiet(pores, viscosity=1.0, fields=True)
    b = quiet(pores, viscosity=2.5e-3, fields=True)
    np.testing.assert_array_equal(a.tensor, b.tensor)  # the solve never sees mu
    np.testing.assert_allclose(b.velocity, a.velocity / 2.5e-3, rtol=1e-14)
    np.testing.assert_array_equal(a.pressure, b.pressure)
    # the voxel-centred velocity averages to the tensor (superficial velocity)
    np.testing.assert_allclose(a.velocity.mean(axis=(2, 3)), a.tensor.T, atol=1e-12)
    assert np.all(a.velocity[:, :, ~pores] == 0.0)
    assert np.all(a.pressure[:, ~pores] == 0.0)


def test_rotation_and_mirror_permute_the_tensor():
    pores = smooth_pores((28, 20), 5, length=2.0)
    base = quiet(pores, tol=1e-10).tensor
    turned = quiet(pores.T.copy(), tol=1e-10).tensor
    mirrored = quiet(pores[::-1].copy(), tol=1e-10).tensor
    scale = np.abs(base).max()
    np.testing.assert_allclose(turned, base[::-1, ::-1], atol=1e-8 * scale)
    flip = np.diag([-1.0, 1.0])
    np.testing.assert_allclose(mirrored, flip @ base @ flip, atol=1e-8 * scale)


def test_spacing_scales_the_tensor_by_its_square():
    pores = smooth_pores((20, 20), 6)
    base = quiet(pores).tensor
    image = Microstructure(pores.astype(np.int8), spacing=2.0, unit="um")
    scaled = quiet(image, pore_label=1).tensor
    np.testing.assert_allclose(scaled, 4.0 * base, rtol=1e-14)


def test_closing_a_throat_lowers_the_permeability():
    pores = np.zeros((24, 16), dtype=bool)
    pores[:, 4:12] = True
    ks = []
    for opening in (8, 6, 4, 2):
        image = pores.copy()
        image[10:14, 4:12] = False
        image[10:14, 8 - opening // 2 : 8 + opening // 2] = True
        ks.append(quiet(image, tol=1e-10).tensor[0, 0])
    assert all(a > b for a, b in zip(ks, ks[1:], strict=False))
    closed = pores.copy()
    closed[10:14] = False
    result = quiet(closed)
    assert result.tensor[0, 0] == 0.0 and result.percolating == (False, False)


def test_non_percolating_and_isolated_pores():
    # A closed pore: no path anywhere, zero tensor, no solve, flagged.
    pores = np.zeros((10, 10, 10), dtype=bool)
    pores[3:7, 3:7, 3:7] = True
    result = quiet(pores)
    assert np.all(result.tensor == 0.0) and result.percolating == (False, False, False)
    assert result.iterations == (0, 0, 0) and result.converged
    assert any("no pore path" in note for note in result.notes)
    # An isolated pore beside a channel changes nothing (it is made solid; measured 0).
    channel = np.zeros((8, 12), dtype=bool)
    channel[:, 1:6] = True
    alone = quiet(channel, tol=1e-10).tensor
    channel[3:5, 8:10] = True
    with_pore = quiet(channel, tol=1e-10)
    np.testing.assert_allclose(with_pore.tensor, alone, rtol=1e-12, atol=1e-14)
    assert any("made solid" in note for note in with_pore.notes)
    assert with_pore.porosity == pytest.approx(channel.mean())


def test_mixed_channel_equals_periodic_and_free_slip_doubles_the_width():
    width = 6
    pores = np.zeros((5, width + 2), dtype=bool)
    pores[:, 1 : 1 + width] = True
    periodic = quiet(pores, tol=1e-12).tensor[0, 0]
    mixed = quiet(pores, bc="mixed", tol=1e-12)
    assert mixed.tensor[0, 0] == pytest.approx(periodic, rel=1e-9)
    assert np.isnan(mixed.tensor[0, 1]) and mixed.tensor[1, 1] == 0.0
    # Fluid against the domain wall at y = 0, a plate above: a free-slip wall is a
    # symmetry plane (a channel twice as wide), a no-slip wall a plate. Discrete exact:
    # k = w^3 / (12 H) (1 + 2 / w^2) for the no-slip channel of width w.
    against = np.zeros((5, width + 1), dtype=bool)
    against[:, :width] = True
    no_slip = quiet(against, bc="mixed", walls="no-slip", tol=1e-12).tensor[0, 0]
    free = quiet(against, bc="mixed", walls="free-slip", tol=1e-12).tensor[0, 0]
    height = width + 1
    assert no_slip == pytest.approx(width**3 / (12 * height) * (1 + 2 / width**2), rel=1e-9)
    wide = 2 * width
    expected = wide**2 / 12 * (1 + 2 / wide**2) * width / height
    assert free == pytest.approx(expected, rel=1e-9)


def test_reservoir_runs_and_is_mixed_only():
    pores = smooth_pores((16, 16), 7, fraction=0.6)
    result = quiet(pores, bc="mixed", reservoir=True, fields=True)
    assert result.converged and result.velocity.shape == (2, 2, 16, 16)
    assert np.all(np.diag(result.tensor) >= 0.0)
    with pytest.raises(ValueError, match="reservoir"):
        apparent_permeability(pores, reservoir=True)


def test_throat_warning():
    narrow = np.zeros((8, 6), dtype=bool)
    narrow[:, 1:4] = True  # 3 voxels across
    with pytest.warns(UnresolvedThroatWarning) as record:
        result = apparent_permeability(narrow)
    assert record[0].message.throat == result.throat == 3.0
    wide = np.zeros((8, 12), dtype=bool)
    wide[:, 1:10] = True  # 9 voxels across
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnresolvedThroatWarning)
        assert apparent_permeability(wide).throat == 9.0


def test_non_convergence_raises_or_flags():
    pores = smooth_pores((24, 24), 8)
    with pytest.raises(ConvergenceError, match="residual") as caught:
        quiet(pores, maxiter=2)
    assert caught.value.result is not None and not caught.value.result.converged
    flagged = quiet(pores, maxiter=2, on_failure="flag")
    assert not flagged.converged and flagged.residual > 1e-8


def test_reproducible_bit_for_bit():
    pores = smooth_pores((16, 16, 16), 9, fraction=0.6)
    a = quiet(pores)
    b = quiet(pores)
    np.testing.assert_array_equal(a.tensor, b.tensor)
    assert a.iterations == b.iterations


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"pores": np.zeros((4, 4), dtype=bool)}, ValueError, "pores"),
        ({"pores": np.eye(4, dtype=bool) & np.eye(4, k=0, dtype=bool)[::-1]}, ValueError, "pores"),
        ({"pores": np.ones((4, 4), dtype=bool)}, ValueError, "pores"),
        ({"pores": np.ones(5, dtype=bool)}, ValueError, "pores"),
        ({"pores": np.ones((2, 2, 2, 2), dtype=bool)}, ValueError, "pores"),
        ({"pores": np.zeros((4, 4)) + 0.5}, TypeError, "pores"),
        ({"pores": np.zeros((4, 4), dtype=np.int8)}, ValueError, "pore_label"),
        ({"viscosity": float("nan")}, ValueError, "viscosity"),
        ({"viscosity": -1.0}, ValueError, "viscosity"),
        ({"bc": "sideways"}, ValueError, "bc"),
        ({"walls": "sticky"}, ValueError, "walls"),
        ({"tol": 0.0}, ValueError, "tol"),
    ],
)
def test_bad_input_names_the_argument(kwargs, error, name):
    pores = np.zeros((6, 6), dtype=bool)
    pores[:, 1:4] = True
    arguments = {"pores": pores} | kwargs
    with pytest.raises(error, match=name):
        apparent_permeability(arguments.pop("pores"), **arguments)


def test_single_pore_voxel_refused():
    pores = np.zeros((5, 5), dtype=bool)
    pores[2, 2] = True
    with pytest.raises(ValueError, match="single pore voxel"):
        apparent_permeability(pores)


def test_memory_budget_refuses_before_allocating():
    pores = smooth_pores((16, 16), 10)
    with pytest.raises(MemoryBudgetError, match="apparent_permeability"):
        apparent_permeability(pores, memory_limit=1000)


def test_cli_permeability(tmp_path, capsys):
    labels = np.ones((6, 10), dtype=np.int8)
    labels[:, 2:8] = 0  # the pore phase is label 0: a channel 6 voxels wide
    image = tmp_path / "channel.npy"
    np.save(image, labels)
    argv = ["solve", str(image), "--permeability", "--pore-label", "0", "--tol", "1e-10"]
    assert main(argv + ["--json", "--bc", "periodic", "--bc", "mixed"]) == 0
    periodic, mixed = json.loads(capsys.readouterr().out)
    expected = 6**3 / (12 * 10) * (1 + 2 / 36)
    assert periodic["tensor"][0][0] == pytest.approx(expected, rel=1e-8)
    assert mixed["tensor"][0][0] == pytest.approx(expected, rel=1e-8)
    assert mixed["tensor"][0][1] is None
    assert main(["solve", str(image), "--permeability"]) == 2  # no --pore-label


def heterogeneous_stencil(shape, seed):
    """A heterogeneous, periodic, singular 7-point operator: random log-normal
    couplings, a third of the cells cut out (zero rows and columns).
    """
    rng = np.random.default_rng(seed)
    cells = rng.random(shape) > 1 / 3
    ws = []
    for b in range(3):
        both = cells & np.roll(cells, -1, axis=b)
        ws.append(np.where(both, np.exp(2.0 * rng.standard_normal(shape)), 0.0))
    diag = sum(w + np.roll(w, 1, axis=b) for b, w in enumerate(ws))
    return Stencil(diag, tuple(ws))


def matrices(stencil, mg):
    """Dense ``A`` and ``B`` (the cycle of `mg`) on the cells with a nonzero diagonal
    (the cells cut out are zero rows and columns of A, and the right-hand sides of the
    solver are zero there).
    """
    shape = stencil.shape
    n = stencil.diag.size
    a = np.empty((n, n))
    bmat = np.empty((n, n))
    unit = np.zeros(shape)
    out = np.empty(shape)
    for i in range(n):
        unit.reshape(-1)[i] = 1.0
        stencil.apply(unit, out)
        a[:, i] = out.reshape(-1)
        mg.apply(unit, out)
        bmat[:, i] = out.reshape(-1)
        unit.reshape(-1)[i] = 0.0
    inside = np.flatnonzero(stencil.diag.reshape(-1) > 0.0)
    return a[np.ix_(inside, inside)], bmat[np.ix_(inside, inside)]


def spectrum_of(a, bmat):
    """Eigenvalues of ``B A`` on the range of ``A`` (those of ``A^1/2 B A^1/2``)."""
    values, vectors = np.linalg.eigh(a)
    keep = values > 1e-10 * values.max()
    root = vectors[:, keep] * np.sqrt(values[keep])
    return np.linalg.eigvalsh(root.T @ bmat @ root)


@pytest.mark.parametrize("gamma", [2, pytest.param(4, marks=pytest.mark.slow)])
def test_multigrid_cycle_is_symmetric_with_bounded_spectrum(monkeypatch, gamma):
    """The cycle ``B`` of a heterogeneous, periodic, singular 7-point operator ``A``
    (random log-normal couplings, a third of the cells cut out) over three levels with
    `gamma` coarse visits: ``B`` symmetric to round-off and the eigenvalues of ``B A``
    in ``[0, 2]`` (``I - B A`` contracts in the ``A``-norm; multigrid docstring), i.e.
    positive semi-definite as MINRES needs; an odd or too small `gamma` is refused.
    """
    monkeypatch.setattr(multigrid, "COARSEST", 20)  # 8^3 -> 4^3 -> 2^3
    stencil = heterogeneous_stencil((8, 8, 8), 19)
    mg = multigrid.AggregationMultigrid(stencil, gamma=gamma)
    assert len(mg.levels) == 3
    a, bmat = matrices(stencil, mg)
    scale = np.abs(bmat).max()
    assert np.abs(bmat - bmat.T).max() < 1e-12 * scale  # measured 6e-18
    spectrum = spectrum_of(a, bmat)
    assert spectrum.min() > -1e-10 and spectrum.max() < 2.0 + 1e-10  # measured 0.05, 1.48
    with pytest.raises(ValueError, match="gamma"):
        multigrid.AggregationMultigrid(stencil, gamma=gamma + 1)


@pytest.mark.parametrize(("gamma", "degree"), [(3, 1), (4, 2)])
def test_chebyshev_cycle_is_symmetric_positive_with_bounds_inside_the_spectrum(
    monkeypatch, gamma, degree
):
    """The Chebyshev variant on four levels (8^3 -> 4^3 -> 2^3 -> 1, polynomials on
    levels 1 and 2): ``B`` symmetric to round-off and ``B A`` positive semi-definite
    (MINRES's need); on each polynomial level the estimated bounds bracket what the
    Ritz values allow: the lower bound not below the smallest eigenvalue of ``B A``
    (Ritz values lie inside the spectrum; `LOW_MARGIN` 1) and the upper one within
    `HIGH_MARGIN` of the largest, both to 2 % of the exact extremes (a 64 and an 8
    unknown level: 12 Lanczos steps resolve the ends); `degree` 2 (the pressure
    block's) makes the finest level a polynomial too, and its bounds are checked the
    same way against the one-cycle hierarchy's spectrum. A `gamma` below 2, a
    `degree` below 1 or without `chebyshev`, or a `chebyshev` that is not a bool is
    refused.
    """
    monkeypatch.setattr(multigrid, "COARSEST", 1)
    stencil = heterogeneous_stencil((8, 8, 8), 19)
    mg = multigrid.AggregationMultigrid(stencil, gamma=gamma, chebyshev=True, degree=degree)
    assert len(mg.levels) == 4
    a, bmat = matrices(stencil, mg)
    assert np.abs(bmat - bmat.T).max() < 1e-12 * np.abs(bmat).max()
    spectrum = spectrum_of(a, bmat)
    assert spectrum.min() > 1e-3  # positive definite on the range of A
    for index in (1, 2):
        level = mg.levels[index]
        exact = spectrum_of(*matrices(level.stencil, _LevelCycle(mg, index)))
        low, high = mg.bounds[index]
        assert exact[0] * (1 - 1e-9) <= low <= 1.02 * exact[0]
        ritz_high = high / chebyshev.HIGH_MARGIN
        assert 0.98 * exact[-1] <= ritz_high <= exact[-1] * (1 + 1e-9)
    if degree > 1:
        one = multigrid.AggregationMultigrid(stencil, gamma=gamma, chebyshev=True)
        exact = spectrum_of(*matrices(stencil, one))
        low, high = mg.bounds[0]
        assert exact[0] * (1 - 1e-9) <= low
        assert high / chebyshev.HIGH_MARGIN <= exact[-1] * (1 + 1e-9)
        # the polynomial of two cycles is closer to A^-1 than one cycle
        assert np.abs(1.0 - spectrum).max() < np.abs(1.0 - exact).max()
    with pytest.raises(ValueError, match="gamma"):
        multigrid.AggregationMultigrid(stencil, gamma=1, chebyshev=True)
    with pytest.raises(TypeError, match="chebyshev"):
        multigrid.AggregationMultigrid(stencil, chebyshev=1)
    with pytest.raises(ValueError, match="degree"):
        multigrid.AggregationMultigrid(stencil, chebyshev=True, degree=0)
    with pytest.raises(ValueError, match="degree"):
        multigrid.AggregationMultigrid(stencil, degree=2)


class _LevelCycle:
    """The cycle of one level of a hierarchy, as an object with ``apply``."""

    def __init__(self, mg, index):
        self.mg = mg
        self.index = index

    def apply(self, b, x):
        self.mg._cycle(self.index, b.copy(), x)
