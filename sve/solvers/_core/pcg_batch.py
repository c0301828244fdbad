"""Preconditioned conjugate gradients of many systems in lock step (private).

The throughput path of small images: one Python iteration drives every system of a
batch (several images, every load case), so the cost of the interpreter per iteration,
which exceeds that of the arithmetic on a 64**2 image, is paid once per batch. The
systems are the columns of (unknowns, columns) arrays, so that the kernels run over
them in vector instructions (``pcg_batch_kernels.py``).
Each system runs exactly the iteration of ``pcg.pcg`` (same operations in the same
order, its own scalars): its iterates, iteration count and residual are those of its
solve alone, bit for bit. A converged system's solution is copied out at once; it
stays in the arrays, frozen (step and direction coefficients 0), until the live
columns are packed into narrower arrays (``pack``).
The preconditioner works in single precision (as the transform preconditioner of
``transforms.py`` does with ``dtype=float32``): the step that updates the residual also
rounds it into a float32 array for it, and the pass that widens its result back to
float64 also forms the dot products ``r . z``, so that an iteration makes two passes
over the fields fewer than with the casts apart (same operations, same bits).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from sve.solvers._core.pcg import _EXACT, DELAY, _estimate
from sve.solvers._core.pcg_batch_kernels import (
    cg_directions,
    cg_steps_staged,
    dots,
    widened_dots,
)

#: ``apply(columns, v, out)``: ``out[:, c] = A_s v[:, c]`` for every column ``c``, which
#: holds system ``s = columns[c]`` (int64; (unknowns, len(columns)) arrays).
BatchOperator = Callable[[np.ndarray, np.ndarray, np.ndarray], None]
#: ``precondition(columns, staged)``: returns ``M_s^-1 staged[:, c]`` in column ``c``, a
#: float32 (unknowns, len(columns)) array; `staged` (float32, C-contiguous) may be
#: overwritten.
BatchPreconditioner = Callable[[np.ndarray, np.ndarray], np.ndarray]


def pcg_batch(
    apply_operator: BatchOperator,
    precondition: BatchPreconditioner,
    b: np.ndarray,
    x: np.ndarray,
    *,
    tol: float,
    maxiter: int,
    floor: np.ndarray,
    width: int = 32,
    energy: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Solve ``A_s x[s] = b[:, s]`` for every system ``s`` from ``x = 0`` (``pcg.pcg`` each,
    or ``pcg.pcg_energy`` with `energy`).

    Parameters
    ----------
    apply_operator : callable
        ``apply_operator(columns, v, out)`` writes ``A_s v[:, c]`` into ``out[:, c]``,
        ``s = columns[c]``; symmetric positive semi-definite. The same `columns` array is
        passed until the columns are packed (a new array then).
    precondition : callable
        ``precondition(columns, staged)`` returns ``M_s^-1 staged[:, c]`` in column
        ``c`` as a float32 array, `staged` the residuals rounded to float32;
        symmetric positive semi-definite.
    b : ndarray of shape (unknowns, systems), float64, C-contiguous
        Right-hand sides, one per column (not modified).
    x : ndarray of shape (systems, unknowns), float64
        Overwritten with the solutions, one per row.
    tol, maxiter : float, int
        As in ``pcg.pcg``: stop a system when ``sqrt(r . M^-1 r / b . M^-1 b) <= tol``.
    floor : ndarray of shape (systems,)
        Per system, ``b . M^-1 b`` at or below which `b` is round-off (``x = 0``, no
        iteration).
    width : int, default 32
        The live columns are packed into narrower arrays when they fill at most three
        quarters of the arrays, but never below `width` columns (the kernels are vector
        loops from 32 columns on: a frozen column costs less than a scalar loop).
    energy : ndarray of shape (systems,), optional
        The tensor stopping rule of ``pcg.pcg_energy`` with ``energy(s) = energy[i] - s``
        for system ``i`` (the volume times the energy of its affine field, as
        ``cell_problem._affine`` makes it): the same estimate from the same decreases,
        per system. Without it, the residual rule.

    Returns
    -------
    iterations : ndarray of int64, residuals : ndarray of float64
        Per system, as ``pcg.pcg`` returns them.
    errors : ndarray of float64
        Per system, the estimated relative energy error ``pcg.pcg_energy`` returns; NaN
        under the residual rule.
    """
    systems = b.shape[1]
    columns = np.arange(systems, dtype=np.int64)
    r = b.copy()
    z, p = np.empty_like(b), np.empty_like(b)
    xs = np.zeros_like(b)  # the iterates, one per column
    staged = r.astype(np.float32)  # r as the preconditioner takes it
    initial = np.empty(systems)
    widened_dots(precondition(columns, staged), r, z, initial)
    rz = initial.copy()
    iterations = np.zeros(systems, dtype=np.int64)
    residuals = np.zeros(systems)
    live = ~(initial <= floor)
    x[~live] = 0.0
    residuals[live] = 1.0
    errors = np.zeros(systems) if energy is not None else np.full(systems, np.nan)
    decreases = [[] for _ in range(systems)]  # per system, alpha_k r_k . z_k (the energy rule)
    p[...] = z
    pq, rz_next = np.empty(systems), np.empty(systems)
    alpha, beta = np.zeros(systems), np.zeros(systems)
    for iteration in range(1, maxiter + 1):
        count = int(np.count_nonzero(live))
        if count == 0:
            break
        if count <= 0.75 * columns.size and columns.size > width:
            keep = _packed(live, width)  # live columns first, frozen ones to fill
            columns, live, initial, rz = columns[keep], live[keep], initial[keep], rz[keep]
            xs, r, p = (np.ascontiguousarray(a[:, keep]) for a in (xs, r, p))
            z, staged = np.empty_like(r), np.empty(r.shape, np.float32)
            size = keep.size
            pq, rz_next, alpha, beta = pq[:size], rz_next[:size], alpha[:size], beta[:size]
        q = z  # as in pcg._iterations: q lives in z's array
        apply_operator(columns, p, q)
        dots(p, q, pq)
        alpha[:] = 0.0  # frozen columns: x and r unchanged
        np.divide(rz, pq, out=alpha, where=live)
        cg_steps_staged(xs, r, p, q, alpha, staged)
        widened_dots(precondition(columns, staged), r, z, rz_next)
        now = np.sqrt(np.maximum(rz_next[live], 0.0) / initial[live])  # as pcg: per system
        solved = columns[live]
        residuals[solved] = now
        iterations[solved] = iteration
        if energy is None:
            done = np.flatnonzero(live)[~(now > tol)]
        else:
            done = _energy_done(np.flatnonzero(live), columns, alpha, rz, rz_next, initial,
                                decreases, energy, floor, tol, errors)  # fmt: skip
        for c in done:
            x[columns[c]] = xs[:, c]
        live[done] = False
        beta[:] = 0.0  # frozen columns: p = z
        np.divide(rz_next, rz, out=beta, where=live)
        cg_directions(p, z, beta)
        rz[live] = rz_next[live]
    for c in np.flatnonzero(live):  # maxiter reached
        x[columns[c]] = xs[:, c]
        if energy is not None and decreases[columns[c]]:
            errors[columns[c]] = _energy_error(decreases[columns[c]], float(energy[columns[c]]))
    return iterations, residuals, errors


def _energy_done(alive, columns, alpha, rz, rz_next, initial, decreases, energy, floor, tol,
                 errors) -> np.ndarray:  # fmt: skip
    """The live columns that stop under the tensor rule this iteration (``pcg_energy``'s
    test, the same floats per system); the `errors` of those that stop set.

    ``_estimate`` (a sum and a search over every earlier iteration) runs only where the
    stop is possible: while no decrease is negative, the tail sums are non-decreasing
    towards the first iteration (rounding is monotone), so the estimate is at least the
    sum of the last `DELAY` decreases, added in ``_estimate``'s order; a system whose
    last sum exceeds both thresholds goes on. Its `errors` entry is then stale, made
    again by `_energy_error` if the iteration limit ends it.
    """
    done = []
    for c in alive:
        system = columns[c]
        history = decreases[system]
        history.append(float(alpha[c] * rz[c]))
        if rz_next[c] <= _EXACT * initial[c]:
            errors[system] = 0.0
            done.append(c)
            continue
        current = float(energy[system]) - math.fsum(history)
        if len(history) >= DELAY and min(history) >= 0.0:
            last = history[-1]
            for decrease in history[-2 : -DELAY - 1 : -1]:
                last += decrease  # np.cumsum's order: S_{m-DELAY}
            if last > tol * current and last > floor[system]:
                continue
        estimate = _estimate(history)
        errors[system] = estimate / current if current > 0.0 else math.inf
        if estimate <= tol * current or estimate <= floor[system]:
            done.append(c)
    return np.array(done, dtype=np.int64)


def _energy_error(history: list[float], energy: float) -> float:
    """``pcg_energy``'s error after the decreases `history` (a system the limit stopped)."""
    estimate, current = _estimate(history), energy - math.fsum(history)
    return estimate / current if current > 0.0 else math.inf


def _packed(live: np.ndarray, width: int) -> np.ndarray:
    """The columns to keep: every live one, then frozen ones up to `width` in all."""
    alive, frozen = np.flatnonzero(live), np.flatnonzero(~live)
    return np.concatenate([alive, frozen[: max(0, width - alive.size)]])
