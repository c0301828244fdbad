"""Preconditioned conjugate gradients on nodal fields (private)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from sve.solvers._kernels import cg_direction, cg_step, dot

Operator = Callable[[np.ndarray, np.ndarray], None]


def pcg(
    apply_operator: Operator,
    precondition: Operator,
    b: np.ndarray,
    x: np.ndarray,
    *,
    tol: float,
    maxiter: int,
    work: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    floor: float = 0.0,
) -> tuple[int, float]:
    """Solve ``A x = b`` from ``x = 0`` by preconditioned conjugate gradients.

    Parameters
    ----------
    apply_operator : callable
        ``apply_operator(p, out)`` writes ``A p`` into ``out``; ``A`` is
        symmetric positive semi-definite.
    precondition : callable
        ``precondition(r, out)`` writes ``M^-1 r`` into ``out``; ``M^-1`` is
        symmetric positive semi-definite with the null space of ``A``.
    b : ndarray, float64, C-contiguous
        Right-hand side.
    x : ndarray, float64, C-contiguous
        Overwritten with the solution, shape of `b`.
    tol : float
        Stop when ``sqrt(r . M^-1 r / b . M^-1 b) <= tol``.
    maxiter : int
        Largest number of iterations.
    work : tuple of 4 ndarrays
        Scratch arrays of the shape of `b`.
    floor : float, default 0.0
        If ``b . M^-1 b <= floor``, `b` is taken for round-off: ``x = 0``
        is returned after no iteration.

    Returns
    -------
    iterations : int
        Iterations done (0 when ``b . M^-1 b <= floor``).
    residual : float
        Final relative residual in the norm of the stopping rule.

    Notes
    -----
    The residual is updated by the recurrence of Hestenes and Stiefel, so the
    reported residual is the recursive one. Starting from ``x = 0`` with a
    preconditioner that removes the null space of ``A`` keeps every iterate
    orthogonal to that null space.
    """
    r, z, p, q = work
    flat_x, flat_r, flat_z, flat_p, flat_q = (a.reshape(-1) for a in (x, r, z, p, q))
    x[...] = 0.0
    r[...] = b
    precondition(r, z)
    rz = dot(flat_r, flat_z)
    if rz <= floor:
        return 0, 0.0
    rz_initial = rz
    p[...] = z
    residual = 1.0
    for iteration in range(1, maxiter + 1):
        apply_operator(p, q)
        alpha = rz / dot(flat_p, flat_q)
        cg_step(flat_x, flat_r, flat_p, flat_q, alpha)
        precondition(r, z)
        rz_next = dot(flat_r, flat_z)
        residual = math.sqrt(max(rz_next, 0.0) / rz_initial)
        if residual <= tol:
            return iteration, residual
        cg_direction(flat_p, flat_z, rz_next / rz)
        rz = rz_next
    return maxiter, residual
