"""Preconditioned conjugate gradients of many systems in lock step (private).

The throughput path of small images: one Python iteration drives every system of a
batch (several images, every load case), so the cost of the interpreter per iteration,
which exceeds that of the arithmetic on a 64**2 image, is paid once per batch.
Each system runs exactly the iteration of ``pcg.pcg`` (same kernels, same order of
operations, its own scalars), and leaves the batch when it converges: its iterates,
iteration count and residual are those of its solve alone, bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sve.solvers._core.pcg_batch_kernels import cg_directions, cg_steps, dots

#: ``apply(active, p, out)``: ``out[s] = A_s p[s]`` for the systems ``s`` in `active`
#: (int64 indices into the rows of the (systems, unknowns) arrays).
BatchOperator = Callable[[np.ndarray, np.ndarray, np.ndarray], None]


def pcg_batch(
    apply_operator: BatchOperator,
    precondition: BatchOperator,
    b: np.ndarray,
    x: np.ndarray,
    *,
    tol: float,
    maxiter: int,
    floor: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``A_s x[s] = b[s]`` for every row ``s`` from ``x = 0`` (``pcg.pcg`` per row).

    Parameters
    ----------
    apply_operator, precondition : callable
        ``f(active, v, out)`` writes ``A_s v[s]`` (or ``M_s^-1 v[s]``) into ``out[s]`` for
        the rows in `active`; both symmetric positive semi-definite.
    b : ndarray of shape (systems, unknowns), float64, C-contiguous
        Right-hand sides (not modified).
    x : ndarray of the shape of `b`, float64
        Overwritten with the solutions.
    tol, maxiter : float, int
        As in ``pcg.pcg``: stop a row when ``sqrt(r . M^-1 r / b . M^-1 b) <= tol``.
    floor : ndarray of shape (systems,)
        Per row, ``b . M^-1 b`` at or below which `b` is round-off (``x = 0``, no
        iteration).

    Returns
    -------
    iterations : ndarray of int64, residuals : ndarray of float64
        Per row, as ``pcg.pcg`` returns them.
    """
    systems = b.shape[0]
    r, z, p = (np.empty_like(b) for _ in range(3))
    q = z  # as in pcg._iterations: q lives in z's array
    x[...] = 0.0
    r[...] = b
    every = np.arange(systems, dtype=np.int64)
    precondition(every, r, z)
    rz = np.empty(systems)
    dots(r, z, every, rz)
    initial = rz.copy()
    iterations = np.zeros(systems, dtype=np.int64)
    residuals = np.zeros(systems)
    active = every[~(initial <= floor)]
    residuals[active] = 1.0
    p[...] = z
    pq = np.empty(systems)
    rz_next = np.empty(systems)
    for iteration in range(1, maxiter + 1):
        if active.size == 0:
            break
        apply_operator(active, p, q)
        dots(p, q, active, pq)
        alpha = np.zeros(systems)
        alpha[active] = rz[active] / pq[active]
        cg_steps(x, r, p, q, alpha, active)
        precondition(active, r, z)
        dots(r, z, active, rz_next)
        for s in active:  # per row, as pcg does with Python floats
            residuals[s] = np.sqrt(max(float(rz_next[s]), 0.0) / float(initial[s]))
        iterations[active] = iteration
        going = active[residuals[active] > tol]
        beta = np.zeros(systems)
        beta[going] = rz_next[going] / rz[going]
        cg_directions(p, z, beta, going)
        rz[going] = rz_next[going]
        active = going
    return iterations, residuals
