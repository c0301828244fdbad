"""Chebyshev polynomials of a multigrid cycle, and the bounds they need (private).

Shared by the aggregation multigrids of the permeability (``permeability/multigrid.py``)
and of the finite-volume conductivity (``conductivity/fv_multigrid.py``): the visits of
a coarse level become a fixed polynomial of its cycle (the AMLI cycle of Axelsson &
Vassilevski), which stops the cycle from degrading with the number of levels when the
piecewise-constant coarse operators are too stiff.

`polynomial` applies ``x = p(B A) B b``: `degree` steps of the Chebyshev iteration
preconditioned by the cycle ``B``, from zero, for bounds ``[low, high]`` of the
spectrum of ``B A`` (Saad 2003, alg. 12.1). ``1 - t p(t)`` is the Chebyshev polynomial
of the interval scaled to 1 at ``t = 0``: it lies in ``[0, 1]`` on ``[0, low]`` and
under 1 in modulus up to ``low + high``, so ``p >= 0`` there, and ``p(B A) B`` is
symmetric positive semi-definite when ``B`` is and the spectrum of ``B A`` lies under
``low + high``. The operator is fixed and linear, as conjugate gradients need.

`ritz_bounds` estimates the bounds: the extreme Ritz values of a few steps of
conjugate gradients preconditioned by ``B`` (the Lanczos tridiagonal matrix of their
coefficients, Saad 2003, sec. 6.7.3), from a start the caller draws with a fixed seed;
Ritz values lie inside the spectrum, so ``high`` is raised by a margin.

References
----------
.. [1] O. Axelsson, P. S. Vassilevski, "Algebraic multilevel preconditioning
   methods II", SIAM J. Numer. Anal. 27 (1990) 1569-1590.
.. [2] Y. Saad, "Iterative methods for sparse linear systems", 2nd ed., SIAM (2003).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from threadpoolctl import ThreadpoolController

from sve.solvers._core.chebyshev_kernels import chebyshev_first, chebyshev_last, chebyshev_step
from sve.solvers._core.pcg_kernels import axpy, dot

#: Lanczos (CG) steps of a bound estimate.
LANCZOS = 12
#: Factor on the largest Ritz value of ``B A`` (the upper bound).
HIGH_MARGIN = 1.1
#: Factor on the smallest Ritz value of ``B A`` (the lower bound).
LOW_MARGIN = 1.0
# Made at the first estimate and kept: threadpoolctl inspects the loaded libraries each
# time a limit is made from scratch (about 9 ms with Numba's loaded, 12 times a solve).
_CONTROLLER: ThreadpoolController | None = None


def _one_blas_thread():
    """A context with one BLAS thread (LAPACK rounds differently with other counts)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


def polynomial(
    bounds: tuple[float, float],
    degree: int,
    cycle: Callable[[np.ndarray, np.ndarray], None],
    residual: Callable[[np.ndarray, np.ndarray], None],
    b: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    r: np.ndarray,
    d: np.ndarray | None = None,
) -> None:
    """Write ``x = p(B A) B b`` for the Chebyshev bounds ``bounds`` of ``B A``.

    Parameters
    ----------
    bounds : tuple of 2 floats
        ``(low, high)``, ``0 < low < high``.
    degree : int
        Number of cycles, >= 2.
    cycle : callable
        ``cycle(v, out)``: ``out = B v`` (`v` left unchanged).
    residual : callable
        ``residual(x, out)``: ``out = b - A x``.
    b, x, y, r : ndarray
        The right-hand side, the result, and two work arrays of its shape (``y`` the
        cycle's output, ``r`` the residual's). With `degree` 2, `r` may be `b`, which
        is then overwritten.
    d : ndarray, optional
        The direction, a third work array; needed for `degree` > 2.
    """
    low, high = bounds
    theta = 0.5 * (high + low)
    delta = 0.5 * (high - low)
    sigma = theta / delta
    cycle(b, y)
    rho = 1.0 / sigma
    if degree == 2:  # no direction array: after the first step it equals x
        chebyshev_first(y, x, x, 1.0 / theta)
        residual(x, r)
        cycle(r, y)
        following = 1.0 / (2.0 * sigma - rho)
        chebyshev_last(y, x, following * rho, 2.0 * following / delta)
        return
    chebyshev_first(y, d, x, 1.0 / theta)
    for _ in range(degree - 1):
        residual(x, r)
        cycle(r, y)
        following = 1.0 / (2.0 * sigma - rho)
        chebyshev_step(y, d, x, following * rho, 2.0 * following / delta)
        rho = following


def polynomial_updating(
    bounds: tuple[float, float],
    degree: int,
    cycle: Callable[[np.ndarray, np.ndarray], None],
    update: Callable[[np.ndarray, np.ndarray], None],
    b: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    d: np.ndarray | None = None,
) -> None:
    """`polynomial` with the residual updated, ``r -= A d`` after each step, in `b`
    (overwritten): one work array fewer, the same polynomial up to round-off.

    `update` is ``update(d, r)``: ``r -= A d`` in place. `d` is needed for `degree` > 2.
    """
    low, high = bounds
    theta = 0.5 * (high + low)
    delta = 0.5 * (high - low)
    sigma = theta / delta
    cycle(b, y)
    rho = 1.0 / sigma
    d = x if degree == 2 else d  # degree 2: the one direction is x itself
    chebyshev_first(y, d, x, 1.0 / theta)
    for step in range(degree - 1):
        update(d, b)
        cycle(b, y)
        following = 1.0 / (2.0 * sigma - rho)
        if step == degree - 2 and degree == 2:
            chebyshev_last(y, x, following * rho, 2.0 * following / delta)
        else:
            chebyshev_step(y, d, x, following * rho, 2.0 * following / delta)
        rho = following


def ritz_bounds(
    apply: Callable[[np.ndarray, np.ndarray], None],
    cycle: Callable[[np.ndarray, np.ndarray], None],
    r: np.ndarray,
    steps: int = LANCZOS,
    high_margin: float = HIGH_MARGIN,
    low_margin: float = LOW_MARGIN,
    work: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[float, float]:
    """Chebyshev bounds ``(low, high)`` of the spectrum of ``B A``: the extreme Ritz
    values of `steps` steps of CG preconditioned by ``B``, ``high`` raised by
    `high_margin`, ``low`` lowered by `low_margin` (and at most half ``high``).

    `apply` (``apply(v, out)``: ``out = A v``) and `cycle` (``out = B v``) act on
    arrays of the shape and dtype of `r`, the start residual (overwritten): ``A z`` for
    a seeded random ``z``, in the range of ``A``. Dot products are serial, and the
    tridiagonal eigenvalues come from one BLAS thread: the same bits on any number.
    `work`, three arrays like `r`, saves allocating them.
    """
    if work is None:
        work = (np.empty_like(r), np.empty_like(r), np.empty_like(r))
    z, ap, p = work
    cycle(r, z)
    p[...] = z
    rz = float(dot(r.reshape(-1), z.reshape(-1)))
    start_rz = rz
    alphas: list[float] = []
    betas: list[float] = []
    for _ in range(steps):
        if not rz > 1e-24 * start_rz:
            break  # an invariant subspace (a small level): its Ritz values are exact
        apply(p, ap)
        pap = float(dot(p.reshape(-1), ap.reshape(-1)))
        if not pap > 0.0:
            break
        alpha = rz / pap
        alphas.append(alpha)
        axpy(-alpha, ap.reshape(-1), r.reshape(-1))
        cycle(r, z)
        new = float(dot(r.reshape(-1), z.reshape(-1)))
        beta = new / rz
        betas.append(beta)
        p *= beta
        p += z
        rz = new
    m = len(alphas)
    if m == 0:
        return 1.0, 2.0  # nothing to estimate (no unknowns): any valid interval
    t = np.zeros((m, m))
    for j in range(m):
        t[j, j] = 1.0 / alphas[j] + (betas[j - 1] / alphas[j - 1] if j else 0.0)
        if j + 1 < m:
            t[j, j + 1] = t[j + 1, j] = np.sqrt(betas[j]) / alphas[j]
    with _one_blas_thread():
        ritz = np.linalg.eigvalsh(t)
    high = high_margin * float(ritz[-1])
    low = min(low_margin * float(ritz[0]), 0.5 * high)
    return low, high
