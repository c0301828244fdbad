"""The Chebyshev polynomial of a cycle and its Ritz bounds (``_core/chebyshev.py``)."""

from __future__ import annotations

import numpy as np
import pytest

from sve.solvers._core.chebyshev import polynomial, polynomial_updating, ritz_bounds

SIZE = 40


def _system(seed: int):
    """A random SPD matrix (condition 1e2) and its Jacobi cycle ``B = D^-1``."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((SIZE, SIZE)))
    a = (q * np.geomspace(1.0, 1e2, SIZE)) @ q.T
    inverse = 1.0 / np.diag(a)
    return a, inverse


def _operators(a, inverse):
    def apply(v, out):
        out[...] = a @ v

    def cycle(v, out):
        out[...] = inverse * v

    return apply, cycle


def test_ritz_bounds_of_a_full_krylov_space_are_the_extreme_eigenvalues():
    a, inverse = _system(1)
    apply, cycle = _operators(a, inverse)
    exact = np.linalg.eigvalsh(np.sqrt(inverse)[:, None] * a * np.sqrt(inverse))
    r = a @ np.random.default_rng(2).standard_normal(SIZE)
    # SIZE steps span the whole space in exact arithmetic; in floating point CG loses
    # orthogonality and needs more to resolve the smallest eigenvalue (with SIZE steps it
    # was 4e-3 high): 2 SIZE steps, then the extreme Ritz values are the extreme
    # eigenvalues of B A to 1e-6. No margins.
    low, high = ritz_bounds(apply, cycle, r, steps=2 * SIZE, high_margin=1.0, low_margin=1.0)
    assert high == pytest.approx(exact[-1], rel=1e-6)
    assert low == pytest.approx(min(exact[0], 0.5 * high), rel=1e-6)


@pytest.mark.parametrize("degree", [2, 3, 5])
def test_polynomial_is_the_optimal_chebyshev_one_and_symmetric_positive(degree):
    """``M = p(B A) B`` for the exact bounds: symmetric, ``M A`` positive, and
    ``max |1 - lambda(M A)|`` equal to ``1 / T_degree(sigma)``, the Chebyshev minimum
    (Saad 2003, sec. 12.1), ``sigma = (high + low) / (high - low)``; the two forms (the
    residual recomputed, or updated in place) agree to round-off.
    """
    a, inverse = _system(3)
    apply, cycle = _operators(a, inverse)
    spectrum = np.linalg.eigvalsh(np.sqrt(inverse)[:, None] * a * np.sqrt(inverse))
    bounds = (float(spectrum[0]), float(spectrum[-1]))
    matrices = []
    for updating in (False, True):
        m = np.empty((SIZE, SIZE))
        for column in range(SIZE):
            b = np.zeros(SIZE)
            b[column] = 1.0
            x, y, r, d = (np.empty(SIZE) for _ in range(4))
            if updating:

                def update(direction, residual):
                    residual -= a @ direction

                polynomial_updating(bounds, degree, cycle, update, b, x, y, d)
            else:

                def residual(v, out, b=b):
                    out[...] = b - a @ v

                polynomial(bounds, degree, cycle, residual, b, x, y, r, d)
            m[:, column] = x
        matrices.append(m)
    m, updated = matrices
    # round-off of a few products at condition 1e2
    assert np.abs(updated - m).max() <= 1e-10 * np.abs(m).max()
    assert np.abs(m - m.T).max() <= 1e-10 * np.abs(m).max()
    values = np.linalg.eigvals(m @ a).real
    assert values.min() > 0.0
    sigma = (bounds[1] + bounds[0]) / (bounds[1] - bounds[0])
    optimal = 1.0 / np.cosh(degree * np.arccosh(sigma))
    assert np.abs(1.0 - values).max() == pytest.approx(optimal, rel=1e-6)
