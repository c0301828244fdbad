"""Batched conductivity solves: the same results as one image at a time, bit for bit.

`apparent_conductivity_batch` solves the periodic load cases of small scalar Q1 images
together (one lock-step conjugate gradient); every system keeps its own scalars, so the
tensors, iteration counts and residuals must equal those of `apparent_conductivity`
exactly, whatever the batch holds, how it is cut or how many threads the transforms use.
The throughput changes of the solvers (coarsest level by Cholesky, serial transforms of
small images, the transforms instead of multigrid at <= 32^3 voxels under "auto", the
V-cycle on small images) move tensors only within the solver tolerance: REFERENCES were
computed with the code before those changes (commit e85dba7).
"""

import numpy as np
import pytest
import scipy.fft

from generators import Gaussian, gaussian_field, level_cut
from sve.solvers import apparent_conductivity, apparent_conductivity_batch
from sve.solvers.conductivity import batch as batch_module
from sve.solvers.conductivity.apparent import _steps
from sve.solvers.conductivity.q1 import Q1Grid
from sve.solvers.conductivity.q1_batch_kernels import nodal_flux_columns_2d
from sve.solvers.conductivity.q1_kernels import nodal_flux_2d
from sve.solvers.conductivity.q1_multigrid import (
    _coarsest_inverse,
    _dense,
    cycle_gamma,
    stencil,
)
from sve.study import load_spec
from sve.study.tasks import solve_batch

pytestmark = pytest.mark.filterwarnings("ignore::generators.ClippedEmbeddingWarning")


def medium(shape, seed):
    """A level cut of correlation length 4 at fraction 1/2 (the issue's media)."""
    return level_cut(gaussian_field(shape, Gaussian(length=4), rng=seed), 0.5)


def assert_same(a, b):
    np.testing.assert_array_equal(a.tensor, b.tensor)
    assert a.iterations == b.iterations
    assert a.residual == b.residual
    assert a.hill_mandel_defect == b.hill_mandel_defect
    assert a.preconditioner == b.preconditioner and a.converged == b.converged


def test_batch_equals_one_at_a_time_bit_for_bit():
    # 2-D images of one shape (batched), one of another shape, one with voids (one at a
    # time, projected), a 3-D pair (batched) and a laminate (round-off load: 0 iterations).
    images = [medium((24, 24), seed) for seed in range(5)]
    images.append(medium((16, 20), 9))
    images.append(np.where(medium((24, 24), 11) == 1, 2, images[0]).astype(np.int8))
    conductivity = [1.0, 100.0, 0.0]
    results = apparent_conductivity_batch(images, conductivity, tol=1e-8)
    for image, result in zip(images, results, strict=True):
        assert_same(result, apparent_conductivity(image, conductivity, tol=1e-8))
    cubes = [medium((8, 8, 8), seed) for seed in (1, 2)]
    for image, result in zip(cubes, apparent_conductivity_batch(cubes, [1, 100]), strict=True):
        assert_same(result, apparent_conductivity(image, [1, 100]))
    layers = np.zeros((8, 8), np.int8)
    layers[:, 4:] = 1
    (result,) = apparent_conductivity_batch([layers], [1.0, 3.0])
    assert result.iterations == (0, apparent_conductivity(layers, [1.0, 3.0]).iterations[1])
    assert_same(result, apparent_conductivity(layers, [1.0, 3.0]))


def test_batch_results_do_not_depend_on_its_cut_or_threads(monkeypatch):
    images = [medium((32, 32), seed) for seed in range(6)]
    whole = apparent_conductivity_batch(images, [1.0, 100.0])
    monkeypatch.setattr(batch_module, "BATCH_SYSTEMS", 4)  # batches of 2 images
    cut = apparent_conductivity_batch(images, [1.0, 100.0])
    with scipy.fft.set_workers(2):  # the transforms on 2 threads
        threaded = apparent_conductivity_batch(images[::-1], [1.0, 100.0])[::-1]
    for a, b, c in zip(whole, cut, threaded, strict=True):
        assert_same(a, b)
        assert_same(a, c)


def test_wide_3d_batches_equal_one_at_a_time_bit_for_bit():
    # 16 images of 6^3: 48 columns, the vector loops of the 3-D kernels (from 32 columns
    # on) and the packing of the live columns as systems converge at different counts.
    cubes = [medium((6, 6, 6), seed) for seed in range(16)]
    results = apparent_conductivity_batch(cubes, [1.0, 100.0], tol=1e-8)
    counts = {n for result in results for n in result.iterations}
    assert len(counts) > 1  # the systems leave the batch at different iterations
    for image, result in zip(cubes, results, strict=True):
        assert_same(result, apparent_conductivity(image, [1.0, 100.0], tol=1e-8))


def test_tensor_stopping_rule_in_a_batch_equals_one_at_a_time_bit_for_bit():
    # stop="tensor": every system runs pcg_energy's estimate on its own decreases, so the
    # energy-form tensors, iterations, residuals and accuracy bounds are those of one image
    # at a time; 2-D images of one shape and a wide 3-D batch (48 columns, packing).
    squares = [medium((24, 24), seed) for seed in range(4)]
    cubes = [medium((6, 6, 6), seed) for seed in range(16)]
    for images in (squares, cubes):
        results = apparent_conductivity_batch(images, [1.0, 100.0], tol=1e-6, stop="tensor")
        for image, result in zip(images, results, strict=True):
            single = apparent_conductivity(image, [1.0, 100.0], tol=1e-6, stop="tensor")
            assert_same(result, single)
            assert result.stop == "tensor"
            assert result.tensor_accuracy == single.tensor_accuracy
            assert 0.0 < result.tensor_accuracy <= 1e-6
    # stopped by the iteration limit: the error estimate of the last iteration, as alone
    options = dict(tol=1e-6, stop="tensor", maxiter=6, on_failure="flag")
    results = apparent_conductivity_batch(squares, [1.0, 100.0], **options)
    for image, result in zip(squares, results, strict=True):
        single = apparent_conductivity(image, [1.0, 100.0], **options)
        assert_same(result, single)
        assert not result.converged and result.iterations == (6, 6)
        assert result.tensor_accuracy == single.tensor_accuracy > 1e-6


def test_3d_images_from_32_cubed_voxels_go_one_at_a_time():
    # Measured faster one at a time (batch.BATCH_3D_BELOW); 2-D and smaller 3-D batch.
    def batched(shape):
        options = dict(bc="periodic", spacing=None, tol=1e-6, maxiter=100, on_failure="raise",
                       discretization="q1", preconditioner="auto", stop="residual",
                       memory_limit=None, fields=False)  # fmt: skip
        request = next(_steps(np.indices(shape).sum(axis=0) % 2, [1.0, 100.0], **options))
        return batch_module.batchable(request)

    assert not batched((32, 32, 32))
    assert batched((31, 32, 32)) and batched((64, 64)) and batched((256, 256))


def test_other_conditions_and_options_go_one_at_a_time():
    images = [medium((12, 12), seed) for seed in range(3)]
    for options in (dict(bc="kinematic"), dict(fields="summary")):
        for image, result in zip(
            images, apparent_conductivity_batch(images, [1.0, 10.0], **options), strict=True
        ):
            single = apparent_conductivity(image, [1.0, 10.0], **options)
            np.testing.assert_array_equal(result.tensor, single.tensor)


# Tensors of apparent_conductivity(medium(shape, seed), [1, 100], bc=bc, tol=1e-6) with the
# code before the throughput changes (multigrid for the 3-D cases then; the transforms now
# for 16^3 and 32^3): they must agree within 10 tol relative to the tensor's norm. The
# changes measured here were at most 5e-8 relative.
REFERENCES = [
    ((32, 32, 32), "periodic", 1, [[29.152871164432096, -0.8874374129219439, 1.1349032922049518],
                                   [-0.8874375189232827, 27.247906426992056, -0.6473529192527825],
                                   [1.134903437385272, -0.6473532867425806, 30.28196275374608]]),
    ((16, 16, 16), "kinematic", 2, [[43.41767760449078, 0.47101745207657997, -1.0571523776823364],
                                    [0.47101739183883035, 40.568040646624176, 2.296662953623595],
                                    [-1.0571524235826097, 2.296663087806917, 34.37247160478525]]),
    ((16, 16, 16), "static", 3, [[10.62486547370564, -0.10777810118524586, -0.7540400949324622],
                                 [-0.10777817420796174, 8.138190153059087, 0.25210826232318684],
                                 [-0.7540401107067632, 0.25210833647010894, 9.325584555762209]]),
    ((64, 64), "periodic", 5, [[6.524701919174881, 0.21803726614073055],
                               [0.21804602891844393, 14.583418921045665]]),
]  # fmt: skip


@pytest.mark.parametrize(("shape", "bc", "seed", "expected"), REFERENCES)
def test_tensors_stay_within_the_tolerance_of_the_references(shape, bc, seed, expected):
    tol = 1e-6
    result = apparent_conductivity(medium(shape, seed), [1.0, 100.0], bc=bc, tol=tol)
    expected = np.array(expected)
    error = np.linalg.norm(result.tensor - expected) / np.linalg.norm(expected)
    assert error <= 10 * tol
    (batched,) = apparent_conductivity_batch([medium(shape, seed)], [1.0, 100.0], bc=bc)
    np.testing.assert_array_equal(batched.tensor, result.tensor)


@pytest.mark.parametrize("stop", ["residual", "tensor"])
def test_study_records_do_not_depend_on_how_tasks_cut_the_realizations(stop):
    spec = load_spec(
        {
            "name": "cut",
            "seed": 3,
            "medium": {"generator": "gaussian_level_cut", "ndim": 2,
                       "covariance": "gaussian", "correlation_length": 4.0,
                       "volume_fraction": 0.5, "fraction": "exact"},
            "property": {"name": "conductivity", "phases": [1.0, 100.0]},
            "sampling": {"sizes": [16], "realizations": 4},
            "solver": {"bc": ["periodic", "kinematic"], "tol": 1e-6, "stop": stop},
        }
    )  # fmt: skip
    whole = solve_batch(spec, 16, range(4))
    parts = [solve_batch(spec, 16, range(0, 1)), solve_batch(spec, 16, range(1, 4))]
    for name, values in whole.items():
        if name == "wall_time":
            continue
        np.testing.assert_array_equal(values, np.concatenate([p[name] for p in parts]))


def test_batch_refuses_a_single_array():
    with pytest.raises(TypeError, match="phases must be a sequence"):
        apparent_conductivity_batch(np.zeros((4, 4), np.int8), [1.0])
    with pytest.raises(ValueError, match="conductivity"):
        apparent_conductivity_batch([np.zeros((4, 4), np.int8)], [-1.0])


@pytest.mark.parametrize("kinds", [("periodic",) * 3, ("neumann",) * 3, ("dirichlet",) * 3])
def test_coarsest_cholesky_is_the_pseudo_inverse_up_to_constants(kinds):
    # The coarsest solve without voids: a Cholesky factor (constants regularized) instead
    # of the eigendecomposition; on a zero-mean right-hand side the two differ by a
    # constant (none under Dirichlet ends), which the cycle's mean removal takes out.
    rng = np.random.default_rng(5)
    k = np.where(rng.random((4, 4, 4)) < 0.5, 1.0, 100.0)
    nodes = tuple(4 if kind == "periodic" else 5 for kind in kinds)
    element = np.diag(np.arange(1.0, 9.0))  # any SPD element with constants in its kernel
    ones = np.ones(8) / np.sqrt(8)
    element = element - np.outer(element @ ones, ones) - np.outer(ones, ones @ element)
    element += (ones @ element @ ones) * np.outer(ones, ones)
    elements = k.reshape(-1, 1, 1) * element
    matrix = _dense(stencil(elements, k.shape, nodes))
    inverse_diagonal = np.where(np.diag(matrix) > 0, 1.0 / np.diag(matrix), 0.0)
    if kinds[0] == "dirichlet":  # the end nodes fixed
        fixed = np.zeros(nodes, bool)
        fixed[[0, -1]] = fixed[:, [0, -1]] = fixed[:, :, [0, -1]] = True
        inverse_diagonal[fixed.reshape(-1)] = 0.0
    constants = kinds[0] != "dirichlet"
    direct = _coarsest_inverse(matrix, inverse_diagonal, constants=constants, voids=False)
    dense = _coarsest_inverse(matrix, inverse_diagonal, constants=constants, voids=True)
    b = rng.standard_normal(matrix.shape[0])
    b[inverse_diagonal == 0] = 0.0
    b -= b.mean() if constants else 0.0
    x, y = np.empty_like(b), np.empty_like(b)
    direct(b, x)
    dense(b, y)
    shift = (x - y).mean() if constants else 0.0
    assert np.abs(x - y - shift).max() <= 1e-10 * np.abs(y).max()
    assert np.all(x[inverse_diagonal == 0] == 0.0)


def test_the_cycle_is_a_v_cycle_on_small_moderate_images_only():
    small = np.where(np.arange(16**3).reshape(16, 16, 16) % 3 == 0, 1.0, 100.0)
    assert cycle_gamma(small, voids=False) == 1
    assert cycle_gamma(small, voids=True) == 2  # voids: the W-cycle
    assert cycle_gamma(small * np.where(small > 1, 100.0, 1.0), voids=False) == 2  # 1e4
    assert cycle_gamma(np.ones((80, 80, 80)), voids=False) == 2  # above 64^3 voxels


def test_both_mean_fluxes_in_one_pass_are_those_of_two_calls():
    rng = np.random.default_rng(5)
    grid = Q1Grid(rng.uniform(1.0, 100.0, (6, 5, 7)), ("periodic",) * 3, np.ones(3))
    u, gradient = rng.standard_normal(grid.shape), np.array([0.0, 1.0, 0.0])
    flux, mean = grid.mean_fluxes(u, gradient)
    assert np.array_equal(flux, grid.mean_flux(u, gradient))
    assert np.array_equal(mean, grid.mean_flux(u, np.zeros(3)))


@pytest.mark.parametrize("width", [1, 5, 24, 40])
def test_2d_column_operator_is_the_one_system_operator_bit_for_bit(width):
    # The column kernel sums a row's element fluxes after making them (two loops): each
    # node must still get the additions of nodal_flux_2d in its order, at any width.
    rng = np.random.default_rng(width)
    shape = (7, 9)
    modes = Q1Grid(np.ones(shape), ("periodic",) * 2, np.array([1.0, 0.7]))._modes
    u = rng.standard_normal(shape + (width,))
    k = rng.uniform(1.0, 100.0, shape + (width,))
    out = np.full_like(u, np.nan)  # overwritten
    nodal_flux_columns_2d(u, k, modes, out)
    alone = np.empty(shape)
    for c in range(width):
        nodal_flux_2d(np.ascontiguousarray(u[..., c]), np.zeros(4),
                      np.ascontiguousarray(k[..., c]), modes, alone)  # fmt: skip
        assert np.array_equal(out[..., c], alone)


def test_2d_batches_are_cut_at_batch_nodes_2d(monkeypatch):
    images = [medium((16, 16), seed) for seed in range(3)]
    whole = apparent_conductivity_batch(images, [1.0, 100.0])
    monkeypatch.setattr(batch_module, "BATCH_NODES_2D", 2 * 16 * 16)  # one image a batch
    calls = []
    monkeypatch.setattr(batch_module, "_periodic_batch",
                        lambda requests, solve=batch_module._periodic_batch:
                        calls.append(len(requests)) or solve(requests))  # fmt: skip
    for a, b in zip(whole, apparent_conductivity_batch(images, [1.0, 100.0]), strict=True):
        assert_same(a, b)
    assert calls == [1, 1, 1]
