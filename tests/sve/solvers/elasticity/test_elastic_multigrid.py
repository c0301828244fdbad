"""The multigrid preconditioner of periodic 3-D elasticity (``preconditioner="multigrid"``).

It changes the path to the solution, not the solution: tensors agree with the transform
preconditioner to the solver tolerance, laminates are exact, the cycle is the same bits
on any number of threads.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
import scipy.linalg

import generators
from sve.solvers import apparent_stiffness, memory_estimate
from sve.solvers._core import threads as solver_threads
from sve.solvers.elasticity import q1_multigrid
from sve.solvers.elasticity.apparent import _materials
from sve.solvers.elasticity.cell_problem import Problem
from sve.solvers.moduli import cubic, isotropic
from tests.sve.solvers._media import random_labels, smooth_two_phase
from tests.sve.solvers.elasticity.test_elasticity import COPPER, backus_average

TOL = 1e-8


def contrast_100():
    return np.array([isotropic(3, E=1.0, nu=0.3), isotropic(3, E=100.0, nu=0.3)])


def test_multigrid_matches_the_transforms_on_a_random_medium():
    phases = smooth_two_phase((16, 16, 16), np.random.default_rng(5))
    stack = contrast_100()
    fft = apparent_stiffness(phases, stack, tol=TOL, preconditioner="fft")
    mg = apparent_stiffness(phases, stack, tol=TOL, preconditioner="multigrid")
    scale = np.abs(fft.tensor).max()
    # Both stop at a relative residual TOL in their own preconditioner norm; the energy
    # error of either tensor is of order TOL times the contrast (100): 10 TOL apart at most
    # was asked, 1e3 TOL would still be far below any physical use.
    assert np.abs(mg.tensor - fft.tensor).max() <= 10 * TOL * scale
    assert mg.symmetry_defect <= 10 * TOL
    assert max(mg.iterations) < max(fft.iterations)  # 13-14 against 41-42 here


def test_multigrid_laminate_is_exact():
    thickness = np.array([6, 2, 4])  # 12 layers: 12 x 8 x 8 halves to 6 x 4 x 4, 3 x 2 x 2
    labels = np.repeat(np.arange(3), thickness)
    phases = np.broadcast_to(labels[:, None, None], (12, 8, 8)).astype(np.int8)
    layers = generators.rotate_tensor(
        cubic(*COPPER, ndim=3), generators.random_rotations(3, 3, rng=3)
    )
    result = apparent_stiffness(phases, layers, tol=1e-11, preconditioner="multigrid")
    expected = backus_average(layers, thickness / thickness.sum(), 0)
    # The exact field is in the Q1 space: only the solver tolerance remains (as for the
    # transforms in test_elasticity.py).
    np.testing.assert_allclose(result.tensor, expected, rtol=0, atol=1e-8 * np.abs(expected).max())


def test_multigrid_homogeneous_medium_returns_the_input_tensor():
    stack = cubic(*COPPER, ndim=3)[None]
    result = apparent_stiffness(np.zeros((8, 8, 8), np.int8), stack, preconditioner="multigrid")
    np.testing.assert_allclose(result.tensor, stack[0], rtol=1e-12)


@pytest.mark.slow
def test_both_preconditioners_are_the_same_bits_on_any_number_of_threads(monkeypatch):
    phases = random_labels((16, 16, 8), 3, seed=2)
    stack = np.array([isotropic(3, E=e, nu=0.3) for e in (1.0, 10.0, 100.0)])
    results = []
    threads = numba.get_num_threads()
    try:
        for parallel, count in ((False, 1), (True, 1), (True, threads)):
            size = 1 if parallel else 1 << 40  # every kernel parallel, or none
            monkeypatch.setattr(solver_threads, "PARALLEL_SIZE", size)
            numba.set_num_threads(count)
            for preconditioner in ("fft", "multigrid"):
                result = apparent_stiffness(phases, stack, tol=1e-6, preconditioner=preconditioner)
                results.append((preconditioner, result.tensor, result.iterations))
    finally:
        numba.set_num_threads(threads)
    for preconditioner in ("fft", "multigrid"):
        runs = [r for r in results if r[0] == preconditioner]
        for _, tensor, iterations in runs[1:]:
            assert np.array_equal(tensor, runs[0][1])
            assert iterations == runs[0][2]


def assembled(level):
    """The matrix of a level's operator, column by column (small levels only)."""
    size = 3 * int(np.prod(level.shape))
    matrix = np.empty((size, size))
    for k in range(size):
        unit = np.zeros(level.shape + (3,))
        unit.reshape(-1)[k] = 1.0
        out = np.empty_like(unit)
        level.apply(unit, out)
        matrix[:, k] = out.reshape(-1)
    return matrix


@pytest.mark.parametrize(
    ("shape", "first"), [((4, 4, 4), 0), pytest.param((8, 8, 16), 1, marks=pytest.mark.slow)]
)
def test_smoother_bounds_hold(shape, first):
    # The Chebyshev interval needs an upper bound of the eigenvalues of D^-1 A on every
    # level (D the 3 x 3 diagonal blocks): the element bound on the image, Gershgorin on
    # the coarse levels. Checked against the assembled matrices; the coarse ones are
    # symmetric (half of them is stored).
    phases = smooth_two_phase(shape, np.random.default_rng(1), length=1.0)
    material, stack = _materials(phases, contrast_100())
    problem = Problem(material, stack, 1.0, 1e-6, 10, "periodic", preconditioner="multigrid")
    for level in q1_multigrid.hierarchy(problem)[first:]:
        matrix = assembled(level)
        blocks = np.zeros_like(matrix)
        for n in range(0, len(matrix), 3):
            blocks[n : n + 3, n : n + 3] = matrix[n : n + 3, n : n + 3]
        largest = scipy.linalg.eigh(matrix, blocks, eigvals_only=True)[-1]
        assert largest <= level.upper
        # float32 coefficients on the intermediate levels, their round-off only
        np.testing.assert_allclose(matrix, matrix.T, rtol=0, atol=1e-6 * np.abs(matrix).max())


@pytest.mark.parametrize(
    ("shape", "bc", "voids"),
    [
        ((16, 16), "periodic", False),
        ((8, 8, 8), "kinematic", False),
        ((8, 8, 8), "periodic", True),
    ],
)
def test_multigrid_refuses_what_it_does_not_serve(shape, bc, voids):
    ndim = len(shape)
    phases = (np.indices(shape).sum(axis=0) % 2).astype(np.int8)
    stack = np.array([isotropic(ndim, E=1.0, nu=0.3), isotropic(ndim, E=2.0, nu=0.3)])
    if voids:
        stack[1] = 0.0
    with pytest.raises(ValueError, match="preconditioner"):
        apparent_stiffness(phases, stack, bc=bc, preconditioner="multigrid")
    with pytest.raises(ValueError, match="preconditioner"):
        apparent_stiffness(phases, stack, bc=bc, preconditioner="fast")


def test_memory_estimate_of_the_multigrid_hierarchy():
    shape = (128, 128, 128)
    fft = memory_estimate(shape, property="elasticity", preconditioner="fft")
    mg = memory_estimate(shape, property="elasticity", preconditioner="multigrid")
    assert mg.bytes > fft.bytes
    # auto takes the transforms for elasticity
    assert memory_estimate(shape, property="elasticity").bytes == fft.bytes
