"""Preconditioned MINRES for the symmetric indefinite Stokes system (private).

Paige & Saunders (1975), with a symmetric positive (semi-)definite preconditioner
``M^-1``; the residual it tracks, and stops on, is ``||r||_{M^-1} / ||b||_{M^-1}``.

Memory. The operator and the preconditioner act on full grid vectors (the input ``v``
and the output ``y``, two vectors), but the five vectors that only the recurrences
read (the two last residuals, the two last search directions and the solution) are
kept on the `support` alone: the entries where an operator or preconditioner output
can be nonzero (the active faces and the fluid cells), every other entry being
exactly 0. The arithmetic and its order are those of the full vectors (the dropped
entries only ever added exact zeros), so the iterates are the same bits.

References
----------
.. [1] C. C. Paige, M. A. Saunders, "Solution of sparse indefinite systems of linear
   equations", SIAM J. Numer. Anal. 12 (1975) 617-629.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from sve.solvers.permeability.mac_kernels import (
    axpy,
    axpy_scatter,
    direction_numerator,
    dot,
    dot_gather,
    gather,
    scale,
    scatter,
)


def minres(
    apply: Callable[[np.ndarray, np.ndarray], None],
    precondition: Callable[[np.ndarray, np.ndarray], None],
    b: np.ndarray,
    support: np.ndarray,
    *,
    tol: float,
    maxiter: int,
) -> tuple[np.ndarray, int, float]:
    """Solve ``K x = b`` from zero; return ``x`` on `support` (``x[i]`` the entry
    ``support[i]`` of the full solution, 0 elsewhere), the iterations and the relative
    residual ``||r||_{M^-1} / ||b||_{M^-1}`` reached (0 for a zero right-hand side).

    `b` (full, zero off `support`) is overwritten: it is the work vector ``v``.
    `support` lists, ascending, the entries where ``K z`` and ``M^-1 z`` may be
    nonzero.
    """
    n = b.size
    m = support.size
    x = np.zeros(m)
    r1 = np.empty(m)
    r2 = np.empty(m)
    gather(b, support, r2)
    y = np.empty(n)
    precondition(b, y)
    beta1 = float(dot(b, y))
    if beta1 < 0.0:
        raise ArithmeticError("the preconditioner is not positive semi-definite")
    beta1 = math.sqrt(beta1)
    if beta1 == 0.0:
        return x, 0, 0.0
    v = b
    w = np.zeros(m)  # the latest search direction
    w2 = np.zeros(m)  # the one before
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
            axpy_scatter(-beta / oldb, r1, support, y)
        alfa = float(dot(v, y))
        axpy_scatter(-alfa / beta, r2, support, y)
        r1, r2 = r2, r1
        gather(y, support, r2)
        oldeps = epsln
        delta = cs * dbar + sn * alfa
        gbar = sn * dbar - cs * alfa
        # the new direction (v - oldeps w2 - delta w) / gamma, in the buffer of w2: its
        # numerator now, while v lives, which frees v for the preconditioner's input
        direction_numerator(v, support, w2, w, oldeps, delta)
        scatter(r2, support, v)
        precondition(v, y)
        oldb = beta
        beta2 = float(dot_gather(r2, support, y))
        if beta2 < 0.0:
            raise ArithmeticError("the preconditioner is not positive semi-definite")
        beta = math.sqrt(beta2)
        epsln = sn * beta
        dbar = -cs * beta
        gamma = math.hypot(gbar, beta)
        if gamma == 0.0:
            break
        cs = gbar / gamma
        sn = beta / gamma
        phi = cs * phibar
        phibar = sn * phibar
        scale(w2, 1.0 / gamma)
        w, w2 = w2, w
        axpy(phi, w, x)
        relative = phibar / beta1
        if relative <= tol or beta == 0.0:
            break
    return x, iterations, relative
