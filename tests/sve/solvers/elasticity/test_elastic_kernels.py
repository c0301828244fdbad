"""Kernels of the elastic multigrid and the written-out isotropic Q1 element product.

Each kernel against a plain reference (a dense matrix, numpy, the generic loop), and its
serial and parallel compilations against each other: the same bits on any number of
threads.
"""

from __future__ import annotations

import numpy as np
import pytest

import generators
from sve.solvers.elasticity import q1_kernels, q1_multigrid
from sve.solvers.elasticity import q1_multigrid_kernels as kernels
from sve.solvers.elasticity.q1 import element_stiffness, sparse_hadamard
from sve.solvers.moduli import cubic, isotropic


@pytest.mark.parametrize("shape", [(2, 2, 2), (3, 4, 5), (4, 2, 6)])
def test_block_stencil_is_the_matrix_of_its_coefficients(shape):
    # Half stencils of random blocks: the product is that of the symmetric matrix they
    # store (q1_multigrid._dense), odd axes and 2-long axes (both neighbours one node)
    # included. Relative round-off only: the sums differ in order.
    rng = np.random.default_rng(4)
    coefficients = rng.standard_normal(shape + (14, 3, 3)).astype(np.float32)
    x = rng.standard_normal(shape + (3,))
    expected = q1_multigrid._dense(coefficients) @ x.reshape(-1)
    serial, parallel = np.empty_like(x), np.empty_like(x)
    kernels.block_stencil[0](coefficients, x, serial)
    kernels.block_stencil[1](coefficients, x, parallel)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(serial.reshape(-1), expected, rtol=0, atol=1e-13 * scale)
    assert np.array_equal(serial, parallel)


def prolongation(coarse_shape):
    """The trilinear interpolation matrix (periodic), dof ``3 n + component``."""
    fine_shape = tuple(2 * m for m in coarse_shape)
    one_d = []
    for m in coarse_shape:
        p = np.zeros((2 * m, m))
        for i in range(2 * m):
            p[i, (i // 2) % m] += 0.5 if i % 2 else 1.0
            if i % 2:
                p[i, ((i + 1) // 2) % m] += 0.5
        one_d.append(p)
    matrix = np.kron(np.kron(np.kron(one_d[0], one_d[1]), one_d[2]), np.eye(3))
    return matrix, fine_shape


@pytest.mark.parametrize("coarse_shape", [(1, 1, 1), (2, 3, 2), (3, 2, 4)])
def test_restriction_and_prolongation_are_the_trilinear_matrix(coarse_shape):
    p, fine_shape = prolongation(coarse_shape)
    rng = np.random.default_rng(7)
    b, q = rng.standard_normal((2,) + fine_shape + (3,))
    coarse = rng.standard_normal(coarse_shape + (3,))
    restricted = [np.empty(coarse_shape + (3,)) for _ in range(2)]
    prolonged = [b.copy() for _ in range(2)]
    for parallel in (0, 1):
        kernels.restrict[parallel](b, q, restricted[parallel])
        kernels.prolong_add[parallel](coarse, prolonged[parallel])
    np.testing.assert_allclose(restricted[0].reshape(-1), p.T @ (b - q).reshape(-1), atol=1e-13)
    expected = b.reshape(-1) + p @ coarse.reshape(-1)
    np.testing.assert_allclose(prolonged[0].reshape(-1), expected, atol=1e-13)
    assert np.array_equal(restricted[0], restricted[1])
    assert np.array_equal(prolonged[0], prolonged[1])


def test_remove_mean_leaves_no_mean_and_the_same_bits_on_threads():
    x = np.random.default_rng(3).standard_normal((6, 5, 4, 3)) + np.array([1.0, -2.0, 3.0])
    serial, parallel = x.copy(), x.copy()
    kernels.remove_mean[0](serial)
    kernels.remove_mean[1](parallel)
    np.testing.assert_allclose(serial, x - x.reshape(-1, 3).mean(axis=0), rtol=0, atol=1e-14)
    assert np.array_equal(serial, parallel)


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (1.0, 0.5, 3.0)])
def test_isotropic_element_product_is_the_generic_loop(spacing):
    # Isotropic materials take the written-out product (q1_kernels._isotropic_khat); an
    # explicit zero entry appended to the pattern sends the same product through the
    # generic loop over the entries. The same sums in the same order, but the compiler
    # may fuse other products of them (fused multiply-adds): round-off apart. Each is
    # the same bits serial and parallel.
    stack = np.array([isotropic(3, E=1.0, nu=0.3), isotropic(3, E=100.0, nu=0.2)])
    rows, cols, vals = sparse_hadamard(element_stiffness(stack, spacing))
    assert np.array_equal(rows, q1_kernels.ISOTROPIC_ROWS)
    assert np.array_equal(cols, q1_kernels.ISOTROPIC_COLS)
    padded = (np.r_[rows, 23], np.r_[cols, 0], np.ascontiguousarray(np.c_[vals, np.zeros(2)]))
    rng = np.random.default_rng(9)
    material = rng.integers(0, 2, (4, 5, 6)).astype(np.int32)
    u = rng.standard_normal((4, 5, 6, 3))
    w = rng.standard_normal(24)
    outs = []
    for pattern in ((rows, cols, vals), padded):
        for kernel in q1_kernels._FORCE_3D:
            out = np.empty_like(u)
            kernel(u, w, material, *pattern, out)
            outs.append(out)
    assert np.array_equal(outs[0], outs[1])
    assert np.array_equal(outs[2], outs[3])
    np.testing.assert_allclose(outs[0], outs[2], rtol=0, atol=1e-14 * np.abs(outs[2]).max())


def dense_forces(u, w, material, ke):
    """``sum_e Ke[mat_e] (u_e + w)`` element by element (periodic node grid)."""
    out = np.zeros_like(u)
    shape = material.shape
    for index in np.ndindex(shape):
        nodes = [
            tuple((index[k] + corner[k]) % shape[k] for k in range(3))
            for corner in np.ndindex(2, 2, 2)
        ]
        forces = ke[material[index]] @ (np.concatenate([u[n] for n in nodes]) + w)
        for a, n in enumerate(nodes):
            out[n] += forces[3 * a : 3 * a + 3]
    return out


@pytest.mark.parametrize("kind", ["isotropic", "rotated crystal"])
def test_element_product_is_the_dense_element_matrix(kind):
    # The written-out isotropic product and the generic loop (a rotated crystal fills 171
    # entries of Khat, not the isotropic pattern) against the dense element matrices.
    if kind == "isotropic":
        stack = np.array([isotropic(3, E=1.0, nu=0.3), isotropic(3, E=100.0, nu=0.2)])
    else:
        stack = generators.rotate_tensor(
            cubic(170.0, 124.0, 75.0, ndim=3), generators.random_rotations(2, 3, rng=1)
        )
    ke = element_stiffness(stack, (1.0, 0.5, 2.0))
    pattern = sparse_hadamard(ke)
    assert (pattern[0].size == q1_kernels.ISOTROPIC_ROWS.size) == (kind == "isotropic")
    rng = np.random.default_rng(2)
    material = rng.integers(0, 2, (3, 4, 5)).astype(np.int32)
    u = rng.standard_normal((3, 4, 5, 3))
    w = rng.standard_normal(24)
    out = np.empty_like(u)
    q1_kernels.sparse_force_3d(u, w, material, *pattern, out)
    expected = dense_forces(u, w, material, ke)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-12 * np.abs(expected).max())
