"""Preconditioned MINRES for the symmetric indefinite Stokes system (private).

Paige & Saunders (1975), with a symmetric positive (semi-)definite preconditioner
``M^-1``; the residual it tracks, and stops on, is ``||r||_{M^-1} / ||b||_{M^-1}``.

Memory. Every vector is compact (the unknowns alone: the active faces and the fluid
cells, `mac.StokesOperator.segments`; the operator and the preconditioner go through
the full grids one component at a time), and six of them live at once: the solution,
the two last search directions and three Lanczos buffers that rotate. The operator
writes ``K v - (beta / beta_old) r_1`` over the older Lanczos vector ``r_1`` (it is
read only there), and the preconditioner writes ``M^-1 r_2`` over ``v`` once the new
direction's numerator has read it. The arithmetic and its order are those of the
textbook recurrences on full vectors (the entries left out only ever added exact
zeros), so the iterates are the same bits.

References
----------
.. [1] C. C. Paige, M. A. Saunders, "Solution of sparse indefinite systems of linear
   equations", SIAM J. Numer. Anal. 12 (1975) 617-629.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from sve.solvers._core.pcg_kernels import axpy, dot
from sve.solvers.permeability.mac_kernels import direction_numerator, scale


def minres(
    apply: Callable[[np.ndarray, np.ndarray, float, bool], None],
    precondition: Callable[[np.ndarray, np.ndarray], None],
    b: np.ndarray,
    *,
    tol: float,
    maxiter: int,
) -> tuple[np.ndarray, int, float]:
    """Solve ``K x = b`` from zero; return ``x``, the iterations and the relative residual
    ``||r||_{M^-1} / ||b||_{M^-1}`` reached (0 for a zero right-hand side).

    All vectors are compact. ``apply(v, y, a, accumulate)`` writes ``K v`` into `y`, or
    with `accumulate` ``K v + a y``; ``precondition(r, z)`` writes ``M^-1 r`` into `z`.
    `b` is overwritten (it becomes a Lanczos buffer).
    """
    m = b.size
    x = np.zeros(m)
    y = np.empty(m)
    precondition(b, y)
    beta1 = float(dot(b, y))
    if beta1 < 0.0:
        raise ArithmeticError("the preconditioner is not positive semi-definite")
    beta1 = math.sqrt(beta1)
    if beta1 == 0.0:
        return x, 0, 0.0
    r2 = b  # the latest Lanczos vector (unpreconditioned); y = M^-1 r2
    r1 = np.empty(m)  # the one before (not read in the first iteration)
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
        v = y
        scale(v, 1.0 / beta)
        # r1 = K v - (beta / oldb) r1: the new Lanczos vector's start, in r1's buffer
        apply(v, r1, -beta / oldb if iterations >= 2 else 0.0, iterations >= 2)
        alfa = float(dot(v, r1))
        axpy(-alfa / beta, r2, r1)
        r1, r2 = r2, r1
        oldeps = epsln
        delta = cs * dbar + sn * alfa
        gbar = sn * dbar - cs * alfa
        # the new direction (v - oldeps w2 - delta w) / gamma, in the buffer of w2: its
        # numerator now, while v lives, which frees v for the preconditioner's output
        direction_numerator(v, w2, w, oldeps, delta)
        y = v
        precondition(r2, y)
        oldb = beta
        beta2 = float(dot(r2, y))
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
