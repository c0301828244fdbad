from __future__ import annotations

import math

import numpy as np
import pytest

from generators import grain_tensors, random_rotations, rotate_tensor

ROUND_OFF = 1e-12


def isotropic_stiffness_mandel(bulk, shear, ndim):
    m = 3 if ndim == 2 else 6
    c = np.zeros((m, m))
    lam = bulk - 2.0 * shear / ndim
    c[:ndim, :ndim] = lam
    c[range(m), range(m)] += 2.0 * shear
    return c


def mandel_to_tensor(c, ndim):
    pairs = {2: [(0, 0), (1, 1), (0, 1)], 3: [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]}[
        ndim
    ]
    t = np.zeros((ndim,) * 4)
    for a, (i, j) in enumerate(pairs):
        for b, (k, l) in enumerate(pairs):
            w = (1.0 if i == j else math.sqrt(0.5)) * (1.0 if k == l else math.sqrt(0.5))
            for p, q in {(i, j), (j, i)}:
                for r, s in {(k, l), (l, k)}:
                    t[p, q, r, s] = c[a, b] * w
    return t


@pytest.mark.parametrize("ndim", [2, 3])
def test_second_order_invariants_are_kept(ndim):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((ndim, ndim))
    k = a @ a.T + np.eye(ndim)
    rotated = rotate_tensor(k, random_rotations(50, ndim, rng=1))
    assert rotated.shape == (50, ndim, ndim)
    np.testing.assert_allclose(np.trace(rotated, axis1=1, axis2=2), np.trace(k), rtol=ROUND_OFF)
    np.testing.assert_allclose(
        np.linalg.eigvalsh(rotated), np.broadcast_to(np.linalg.eigvalsh(k), (50, ndim)), rtol=1e-10
    )


@pytest.mark.parametrize("ndim", [2, 3])
def test_mandel_rotation_matches_the_fourth_order_one_and_keeps_eigenvalues(ndim):
    rng = np.random.default_rng(2)
    m = 3 * (ndim - 1)
    a = rng.standard_normal((m, m))
    c = a @ a.T + m * np.eye(m)  # an anisotropic stiffness, SPD
    rotation = random_rotations(1, ndim, rng=3)[0]
    mandel = rotate_tensor(c, rotation)
    full = rotate_tensor(mandel_to_tensor(c, ndim), rotation)
    np.testing.assert_allclose(mandel_to_tensor(mandel, ndim), full, atol=1e-12 * np.abs(c).max())
    np.testing.assert_allclose(np.linalg.eigvalsh(mandel), np.linalg.eigvalsh(c), rtol=1e-10)
    # an isotropic stiffness is unchanged by every rotation
    iso = isotropic_stiffness_mandel(3.0, 1.2, ndim)
    np.testing.assert_allclose(rotate_tensor(iso, rotation), iso, atol=ROUND_OFF)


def test_rotations_compose():
    r1, r2 = random_rotations(2, 3, rng=4)
    c = np.diag([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    np.testing.assert_allclose(
        rotate_tensor(rotate_tensor(c, r2), r1), rotate_tensor(c, r1 @ r2), atol=1e-12
    )


def test_grain_tensors_index_the_rotated_tensors():
    rotations = random_rotations(3, 2, rng=5)
    ids = np.array([[0, 2, 1], [1, 1, 0]], dtype=np.int32)
    k = np.diag([1.0, 10.0])
    per_voxel = grain_tensors(ids, rotations, k)
    assert per_voxel.shape == (2, 3, 2, 2)
    np.testing.assert_allclose(per_voxel[0, 1], rotations[2] @ k @ rotations[2].T)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: rotate_tensor(np.eye(2), np.diag([1.0, -1.0])), ValueError, "proper rotation"),
        (lambda: rotate_tensor(np.eye(2), 2 * np.eye(2)), ValueError, "proper rotation"),
        (lambda: rotate_tensor(np.eye(4), np.eye(2)), ValueError, "tensor must have shape"),
        (lambda: rotate_tensor(np.eye(2), np.eye(4)), ValueError, "rotation must have shape"),
        (
            lambda: grain_tensors(np.array([0, 3]), np.stack([np.eye(2)] * 2), np.eye(2)),
            ValueError,
            r"grain_ids must lie in \[0, 1\]",
        ),
        (
            lambda: grain_tensors(np.array([0.0]), np.stack([np.eye(2)]), np.eye(2)),
            TypeError,
            "grain_ids must hold integers",
        ),
        (
            lambda: grain_tensors(np.array([0]), np.eye(2), np.eye(2)),
            ValueError,
            r"rotations must have shape \(n, d, d\)",
        ),
        (lambda: random_rotations(3, 4), ValueError, "ndim must be 2 or 3"),
        (lambda: random_rotations(-1, 3), ValueError, "n must be >= 0"),
    ],
)
def test_bad_arguments_are_rejected(call, error, message):
    with pytest.raises(error, match=message):
        call()
