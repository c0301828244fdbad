"""The kernels of the multigrid cycle of small images (q1_small_kernels) and the serial
3-D Q1 operator (q1_kernels.flux_rows)."""

from __future__ import annotations

import numpy as np
import pytest

from sve.solvers.conductivity import q1_multigrid
from sve.solvers.conductivity.fv import Phases
from sve.solvers.conductivity.q1 import Q1Grid, element_modes
from sve.solvers.conductivity.q1_kernels import _flux_row_call, flux_rows
from sve.solvers.conductivity.q1_multigrid import (
    Cycle,
    _node_shape,
    _taps,
    hierarchy,
    prolongation_taps,
    restriction_taps,
)
from sve.solvers.conductivity.q1_multigrid_kernels import (
    pad_stencil_3d,
    prolong_add_2d,
    prolong_add_3d,
    restrict_2d,
    restrict_3d,
    stencil_3d,
    stencil_padded_3d,
)
from sve.solvers.conductivity.q1_small_kernels import (
    empty_scratch,
    flux_planes,
    prolong_separable_2d,
    prolong_separable_3d,
    restrict_separable_2d,
    restrict_separable_3d,
    v_cycle_single,
    v_cycle_small,
)
from tests.sve.solvers._media import smooth_two_phase

# (voxels of the coarse grid, axis kinds, steps per axis: 2 halved, 1 left fine)
GRIDS = [
    ((8, 6), ("periodic", "periodic"), (2, 2)),
    ((8, 6), ("dirichlet", "neumann"), (2, 2)),
    ((8, 6), ("periodic", "neumann"), (1, 2)),
    ((4, 6, 5), ("periodic",) * 3, (2, 2, 2)),
    ((4, 6, 5), ("neumann", "dirichlet", "periodic"), (2, 2, 2)),
    ((4, 6, 5), ("periodic", "neumann", "periodic"), (2, 1, 2)),
]


@pytest.mark.parametrize(("coarse", "kinds", "steps"), GRIDS)
def test_separable_transfers_are_the_tensor_product_ones(coarse, kinds, steps):
    # The same operators as the tap kernels (sums in another order: equal to rounding, 1e-15
    # relative), and P is the transpose of R (to rounding): the cycle stays symmetric.
    periodic = [kind == "periodic" for kind in kinds]
    fine_voxels = tuple(n * s for n, s in zip(coarse, steps, strict=True))
    fine, nodes = _node_shape(fine_voxels, kinds), _node_shape(coarse, kinds)
    restriction = _taps(restriction_taps, nodes, periodic, np.array(steps))
    prolongation = _taps(prolongation_taps, nodes, periodic, np.array(steps))
    rng = np.random.default_rng(5)
    b, q, c = rng.standard_normal(fine), rng.standard_normal(fine), rng.standard_normal(nodes)
    scratch = empty_scratch([fine, nodes])
    two = len(fine) == 2
    restrict, prolong = (restrict_2d, prolong_add_2d) if two else (restrict_3d, prolong_add_3d)
    restrict_separable = restrict_separable_2d if two else restrict_separable_3d
    prolong_separable = prolong_separable_2d if two else prolong_separable_3d
    expected, restricted = np.empty(nodes), np.empty(nodes)
    restrict(b, q, expected, *restriction)
    restrict_separable(b, q, restricted, *restriction, scratch)
    np.testing.assert_allclose(restricted, expected, rtol=0, atol=1e-14 * np.abs(expected).max())
    expected, prolonged = np.zeros(fine), np.zeros(fine)
    prolong(c, expected, *prolongation)
    prolong_separable(c, prolonged, *prolongation, scratch)
    np.testing.assert_allclose(prolonged, expected, rtol=0, atol=1e-14 * np.abs(expected).max())
    assert np.vdot(restricted, c) == pytest.approx(np.vdot(b - q, prolonged), rel=1e-13)


@pytest.mark.parametrize("nodes", [(8, 8, 8), (9, 9, 9), (8, 9, 8), (9, 8, 9)])
@pytest.mark.parametrize("labels", [False, True])
def test_flux_rows_is_the_row_by_row_operator_bit_for_bit(nodes, labels):
    # flux_rows (the serial loop of nodal_flux_3d) adds the element fluxes in the order of
    # _flux_row (the slabs' row kernel): the same bits on periodic and open axes, on the
    # conductivities and on the labels, on box voxels, with an offset field.
    phases = (np.random.default_rng(1).random((8, 8, 8)) < 0.5).astype(np.int8)
    table = np.array([1.0, 100.0])
    k, values = (phases, table) if labels else (table[phases], None)
    modes = element_modes(3, np.array([1.0, 0.7, 1.3]))
    w = np.random.default_rng(2).standard_normal(8)
    u = np.random.default_rng(3).standard_normal(nodes)
    rows, expected = np.empty(nodes), np.zeros(nodes)
    flux_rows(u, w, k, modes, rows, values)
    for i in range(k.shape[0]):
        _flux_row_call(u, w, k, modes, expected, values, i, True, True)
    np.testing.assert_array_equal(rows, expected)


@pytest.mark.parametrize("nodes", [(8, 8, 8), (9, 9, 9), (8, 9, 8), (9, 8, 9)])
@pytest.mark.parametrize("labels", [False, True])
def test_flux_planes_is_the_q1_operator_to_float32_rounding(nodes, labels):
    # flux_planes (v_cycle_single's operator): the float64 operator of flux_rows to float32
    # rounding, on periodic, open and mixed axes, box voxels, conductivities or labels.
    phases = (np.random.default_rng(1).random((8, 8, 8)) < 0.5).astype(np.int8)
    table = np.array([1.0, 100.0])
    k, values = (phases, table) if labels else (table[phases], None)
    modes = element_modes(3, np.array([1.0, 0.7, 1.3]))
    u = np.random.default_rng(3).standard_normal(nodes)
    expected, single = np.empty(nodes), np.empty(nodes, np.float32)
    flux_rows(u, np.zeros(8), k, modes, expected, values)
    k32 = k if labels else k.astype(np.float32)
    table32 = values.astype(np.float32) if labels else None
    flux_planes(u.astype(np.float32), k32, table32, modes.astype(np.float32), single)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(single, expected, rtol=0, atol=5e-7 * scale)


@pytest.mark.parametrize("nodes", [(8, 8, 8), (9, 9, 9), (8, 9, 8)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("phases", [2, 3])
def test_flux_planes_reads_labels_as_their_values(nodes, dtype, phases):
    # The labels of a two-phase table pick their value by a comparison, other tables by a
    # look-up: the same bits as the conductivities themselves, in float64 and float32.
    labels = np.random.default_rng(1).integers(0, phases, (8, 8, 8)).astype(np.int8)
    table = np.array([1.0, 100.0, 7.5][:phases], dtype)
    modes = element_modes(3, np.array([1.0, 0.7, 1.3])).astype(dtype)
    u = np.random.default_rng(3).standard_normal(nodes).astype(dtype)
    by_labels, by_values = np.empty(nodes, dtype), np.empty(nodes, dtype)
    flux_planes(u, labels, table, modes, by_labels)
    flux_planes(u, table[labels], None, modes, by_values)
    np.testing.assert_array_equal(by_labels, by_values)


@pytest.mark.parametrize("kinds", [("periodic",) * 3, ("neumann", "dirichlet", "periodic")])
def test_grid_flux_planes_is_flux_without_an_affine_part(kinds):
    # Q1Grid.flux_planes (the conjugate gradient's operator in the multigrid solves of
    # small 3-D images): flux(u, 0) summed in another order, zero on the fixed nodes.
    labels = (np.random.default_rng(1).random((8, 7, 6)) < 0.5).astype(np.int8)
    grid = Q1Grid(Phases.of(labels, np.array([1.0, 100.0])), kinds, (1.0, 0.7, 1.3))
    u = np.random.default_rng(3).standard_normal(grid.shape)
    expected, planes = np.empty(grid.shape), np.empty(grid.shape)
    grid.flux(u, np.zeros(3), expected)
    grid.flux_planes(u, planes)
    np.testing.assert_allclose(planes, expected, rtol=0, atol=1e-14 * np.abs(expected).max())
    np.testing.assert_array_equal(planes == 0.0, expected == 0.0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_float32_level_0_cycle_is_symmetric_and_near_the_float64_one(dtype):
    # v_cycle_single: level 0 in float32, a fixed linear operator, symmetric up to the
    # rounding of float32 (relative 1e-7 a sweep, a few sweeps: 1e-5 bounds it), within
    # 1e-5 of the float64 cycle, and positive on fields of zero mean; with float64 coarse
    # levels and with the float32 ones of the 3-D double solves (cell_problem) alike.
    phases = smooth_two_phase((16, 16, 16), np.random.default_rng(4), length=1.5)
    labels = Phases.of(phases.astype(np.int8), np.array([1.0, 100.0]))
    levels = hierarchy(labels, 1.0)
    cycle = Cycle(levels, degree=2, fine_degree=1, gamma=1, dtype=dtype, fine_dtype=np.float32)
    assert cycle.single is not None
    rng = np.random.default_rng(6)
    x, y = (rng.standard_normal(16**3) for _ in range(2))
    x -= x.mean()
    y -= y.mean()
    bx, by, double = np.empty_like(x), np.empty_like(y), np.empty_like(x)
    v_cycle_single(x, bx, *cycle.single)
    v_cycle_single(y, by, *cycle.single)
    v_cycle_small(x, double, *cycle.compiled)
    scale = np.linalg.norm(bx) * np.linalg.norm(y)
    assert abs(np.vdot(bx, y) - np.vdot(x, by)) <= 1e-5 * scale
    assert np.linalg.norm(bx - double) <= 1e-5 * np.linalg.norm(double)
    assert np.vdot(bx, x) > 0.0


def test_multigrid_solves_of_small_3d_images_take_the_plane_operator(monkeypatch):
    # The conjugate gradient of a small 3-D multigrid solve applies Q1Grid.flux_planes; with
    # flux(u, 0) in its place the tensor moves only by the order of the sums.
    from sve.solvers import apparent_conductivity

    image = smooth_two_phase((16, 16, 16), np.random.default_rng(4), length=1.5)
    options = dict(tol=1e-8, preconditioner="multigrid")
    planes = apparent_conductivity(image, [1.0, 100.0], **options).tensor
    calls = []

    def rows(grid, u, out):
        calls.append(u.shape)
        grid.flux(u, np.zeros(3), out)

    monkeypatch.setattr(Q1Grid, "flux_planes", rows)
    expected = apparent_conductivity(image, [1.0, 100.0], **options).tensor
    assert calls
    np.testing.assert_allclose(planes, expected, rtol=0, atol=1e-12 * np.abs(expected).max())


@pytest.mark.parametrize(
    ("nodes", "dtype"),
    [
        ((16, 16, 16), np.float32),
        ((5, 7, 9), np.float32),  # odd, unequal axes (open axes have N + 1 nodes)
        ((3, 1, 2), np.float64),  # an axis of one node: the wrapped neighbour is itself
        ((17, 16, 9), np.float64),
    ],
)
def test_padded_stencil_is_the_stencil_bit_for_bit(nodes, dtype):
    # stencil_padded_3d sums the terms of stencil_3d in its order from the coefficients laid
    # out by pad_stencil_3d: the same bits, float32 vectors (3-D coarse levels) and float64.
    rng = np.random.default_rng(8)
    coefficients = rng.standard_normal(nodes + (14,)).astype(np.float32)
    x = rng.standard_normal(nodes).astype(dtype)
    expected, out = np.empty_like(x), np.full_like(x, np.nan)
    stencil_3d.serial(coefficients, x, expected)
    stencil_padded_3d(pad_stencil_3d(coefficients), x, out)
    np.testing.assert_array_equal(out, expected)


def test_small_images_take_the_padded_stencil_on_their_larger_coarse_levels(monkeypatch):
    # A 32^3 image's level 1 (16^3 nodes) keeps the padded copy, its level 2 (8^3) does not;
    # a 64^3 image (SLABS_FROM nodes) keeps the padded layout only on every level smoothed.
    image = smooth_two_phase((32, 32, 32), np.random.default_rng(4), length=1.5)
    levels = hierarchy(image * 99.0 + 1.0, 1.0)
    assert [level.apply.padded.shape[0] for level in levels[1:-1]] == [16, 0]
    np.testing.assert_array_equal(
        levels[1].apply.padded, pad_stencil_3d(levels[1].apply.coefficients)
    )
    large = smooth_two_phase((64, 64, 64), np.random.default_rng(4), length=2.0) + 1.0
    levels = hierarchy(large, 1.0)
    assert [level.apply.padded.shape[0] for level in levels[1:-1]] == [32, 16, 8]
    assert all(level.apply.coefficients is None for level in levels[1:-1])
    assert levels[-1].apply.padded.size == 0  # the coarsest: solved directly
    # the padded levels are the stencils of before, bit for bit
    plain = q1_multigrid._stencil_apply
    with monkeypatch.context() as patch:
        patch.setattr(q1_multigrid, "_stencil_apply", lambda c, pad=False, keep=True: plain(c))
        unpadded = hierarchy(large, 1.0)
    x = np.random.default_rng(5).random(levels[1].shape).astype(np.float32)
    for level, before in zip(levels[1:-1], unpadded[1:-1], strict=True):
        x = x[tuple(slice(0, n) for n in level.shape)]
        y, z = np.empty_like(x), np.empty_like(x)
        level.apply(x.reshape(-1), y.reshape(-1))
        before.apply(x.reshape(-1), z.reshape(-1))
        np.testing.assert_array_equal(y, z)
