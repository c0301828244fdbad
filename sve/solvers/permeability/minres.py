"""Preconditioned MINRES for the symmetric indefinite Stokes system (private).

Paige & Saunders (1975), with a symmetric positive (semi-)definite preconditioner
``M^-1``; the residual it tracks, and stops on, is ``||r||_{M^-1} / ||b||_{M^-1}``.

References
----------
.. [1] C. C. Paige, M. A. Saunders, "Solution of sparse indefinite systems of linear
   equations", SIAM J. Numer. Anal. 12 (1975) 617-629.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from sve.solvers.permeability.mac_kernels import axpy, dot, minres_direction


def minres(
    apply: Callable[[np.ndarray, np.ndarray], None],
    precondition: Callable[[np.ndarray, np.ndarray], None],
    b: np.ndarray,
    *,
    tol: float,
    maxiter: int,
) -> tuple[np.ndarray, int, float]:
    """Solve ``K x = b`` from zero; return ``x``, the iterations and the relative
    residual ``||r||_{M^-1} / ||b||_{M^-1}`` reached (0 for a zero right-hand side).
    """
    n = b.size
    x = np.zeros(n)
    r1 = b.copy()
    y = np.empty(n)
    precondition(r1, y)
    beta1 = float(dot(r1, y))
    if beta1 < 0.0:
        raise ArithmeticError("the preconditioner is not positive semi-definite")
    beta1 = math.sqrt(beta1)
    if beta1 == 0.0:
        return x, 0, 0.0
    r2 = r1.copy()
    v = np.empty(n)
    w = np.zeros(n)
    w1 = np.zeros(n)
    w2 = np.zeros(n)
    oldb = 0.0
    beta = beta1
    dbar = 0.0
    epsln = 0.0
    phibar = beta1
    cs = -1.0
    sn = 0.0
    relative = 1.0
    iterations = 0
    while iterations < maxiter:
        iterations += 1
        np.multiply(y, 1.0 / beta, out=v)
        apply(v, y)
        if iterations >= 2:
            axpy(-beta / oldb, r1, y)
        alfa = float(dot(v, y))
        axpy(-alfa / beta, r2, y)
        r1, r2 = r2, r1
        r2[:] = y
        precondition(r2, y)
        oldb = beta
        beta2 = float(dot(r2, y))
        if beta2 < 0.0:
            raise ArithmeticError("the preconditioner is not positive semi-definite")
        beta = math.sqrt(beta2)
        oldeps = epsln
        delta = cs * dbar + sn * alfa
        gbar = sn * dbar - cs * alfa
        epsln = sn * beta
        dbar = -cs * beta
        gamma = math.hypot(gbar, beta)
        if gamma == 0.0:
            break
        cs = gbar / gamma
        sn = beta / gamma
        phi = cs * phibar
        phibar = sn * phibar
        w1, w2, w = w2, w, w1
        minres_direction(v, w1, w2, oldeps, delta, gamma, w)  # in the old w1 buffer
        axpy(phi, w, x)
        relative = phibar / beta1
        if relative <= tol or beta == 0.0:
            break
    return x, iterations, relative
