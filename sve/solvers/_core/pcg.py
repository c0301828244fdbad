"""Preconditioned conjugate gradients on nodal fields (private)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np

from sve.solvers._core.pcg_kernels import (
    THREADED,
    THREADED_SMALL,
    cg_direction,
    cg_step,
    dot,
    lane_dot,
    residual_step,
)
from sve.solvers._core.threads import threaded

#: The vector operations (dot, step, direction) of `pcg` by default: serial Numba loops.
SERIAL = (dot, cg_step, cg_direction)
#: `SERIAL` with the dot product in ``LANES`` partial sums (``pcg_kernels.lane_dot``, three
#: times as fast at 32^3): the vector operations of small fields (`vector_ops_for`).
SMALL = (lane_dot, cg_step, cg_direction)


def vector_ops_for(size: int) -> tuple:
    """The vector operations for fields of `size` entries: `SMALL` below `FREE_FROM`
    (the SVEs of studies; ``pcg_batch_kernels`` sums in its order), `SERIAL` from it on
    (the bits of before); from ``threads.PARALLEL_SIZE`` on their threaded versions
    (``pcg_kernels.THREADED_SMALL`` and ``THREADED``, the same bits on any number of
    threads; ``THREADED_SMALL`` also those of `SMALL`).
    """
    if size < FREE_FROM:
        return THREADED_SMALL if threaded(size) else SMALL
    return THREADED if threaded(size) else SERIAL


Operator = Callable[[np.ndarray, np.ndarray], None]
#: Scratch arrays of conjugate gradients, of the shape of the right-hand side: r, z and p.
Work = tuple[np.ndarray, np.ndarray, np.ndarray]

# The estimate of the energy error of x_k is the sum of the d decreases after it (Strakos &
# Tichy 2002), a lower bound, tight once those d iterations removed most of that error. d is
# at least DELAY, and long enough to divide the error by CONTRACTION at the mean rate of the
# iterations so far; see ``pcg_energy``.
DELAY = 3
CONTRACTION = 16.0
#: From this many unknowns (a 64^3 image) the Q1 multigrid solves of the conductivity in
#: double precision under the residual rule, without local fields, keep no solution
#: (``pcg_free``; ``conductivity/cell_problem._keeps_no_solution``); ``memory_estimate``
#: counts it so. Below, the solution is kept as before (the bits of before).
FREE_FROM = 1 << 18
# r . M^-1 r at this fraction of its initial value is round-off: x_m solves the system.
_EXACT = np.finfo(float).eps ** 2


def _iterations(
    apply_operator: Operator,
    precondition: Operator,
    b: np.ndarray,
    x: np.ndarray,
    maxiter: int,
    work: Work,
    vector_ops: tuple | None = None,
) -> Iterator[tuple[float, float]]:
    """Run conjugate gradients from ``x = 0``, updating `x` in place.

    Yields ``(0, r_0 . z_0)`` first, then after each iteration ``k = 0, 1, ...``
    (at most `maxiter`) the pair ``(alpha_k r_k . z_k, r_{k+1} . z_{k+1})``:
    the decrease of the squared energy error ``||x - x_k||_A^2 - ||x - x_{k+1}||_A^2``
    and the new preconditioned residual norm squared (``z = M^-1 r``).

    ``q = A p`` lives in the array of ``z``: ``z`` is dead once it has made the
    new direction ``p`` and ``q`` once it has updated ``r``, so three arrays
    hold the four vectors. `b` may be the first of them (``r``).
    """
    dot, cg_step, cg_direction = vector_ops or SERIAL
    r, z, p = work
    q = z
    flat_x, flat_r, flat_z, flat_p, flat_q = (a.reshape(-1) for a in (x, r, z, p, q))
    x[...] = 0.0
    if b is not r:
        r[...] = b
    precondition(r, z)
    rz = dot(flat_r, flat_z)
    yield 0.0, rz
    p[...] = z
    for _ in range(maxiter):
        apply_operator(p, q)
        alpha = rz / dot(flat_p, flat_q)
        cg_step(flat_x, flat_r, flat_p, flat_q, alpha)
        precondition(r, z)
        rz_next = dot(flat_r, flat_z)
        yield alpha * rz, rz_next
        cg_direction(flat_p, flat_z, rz_next / rz)
        rz = rz_next


def pcg(
    apply_operator: Operator,
    precondition: Operator,
    b: np.ndarray,
    x: np.ndarray,
    *,
    tol: float,
    maxiter: int,
    work: Work,
    floor: float = 0.0,
    vector_ops: tuple | None = None,
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
        Right-hand side; it may be ``work[0]``, which saves a field (it is
        overwritten then).
    x : ndarray, float64, C-contiguous
        Overwritten with the solution, shape of `b`.
    tol : float
        Stop when ``sqrt(r . M^-1 r / b . M^-1 b) <= tol``.
    maxiter : int
        Largest number of iterations.
    work : tuple of 3 ndarrays
        Scratch arrays of the shape of `b` (``r``, ``z`` and ``A p``, ``p``).
    floor : float, default 0.0
        If ``b . M^-1 b <= floor``, `b` is taken for round-off: ``x = 0``
        is returned after no iteration.
    vector_ops : tuple of 3 callables, optional
        ``(dot, step, direction)`` with the signatures of ``pcg_kernels.dot``,
        ``cg_step`` and ``cg_direction``; `SERIAL` by default, or
        ``pcg_kernels.THREADED`` (the same bits on any number of threads).

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
    steps = _iterations(apply_operator, precondition, b, x, maxiter, work, vector_ops)
    _, rz_initial = next(steps)
    if rz_initial <= floor:
        return 0, 0.0
    residual = 1.0
    for iteration, (_, rz) in enumerate(steps, start=1):
        residual = math.sqrt(max(rz, 0.0) / rz_initial)
        if residual <= tol:
            return iteration, residual
    return maxiter, residual


def pcg_energy(
    apply_operator: Operator,
    precondition: Operator,
    b: np.ndarray,
    x: np.ndarray,
    *,
    energy: Callable[[float], float],
    tol: float,
    maxiter: int,
    work: Work,
    floor: float = 0.0,
    vector_ops: tuple | None = None,
) -> tuple[int, float, float]:
    """Solve ``A x = b`` from ``x = 0``; stop on the estimated energy error of the iterate.

    Parameters as in `pcg`, except:

    energy : callable
        ``energy(s)`` is the quantity whose relative accuracy is wanted (the
        apparent energy of a load case times the volume) at an iterate of
        squared energy norm ``s = x_k . A x_k``; it is ``> 0`` at the solution.
    tol : float
        Stop at the first iteration ``m`` where the estimate ``Delta =
        sum_{j=k}^{m-1} alpha_j r_j . z_j`` of ``||x - x_k||_A^2`` is at most
        ``tol * energy(x_m . A x_m)``, or at most `floor`, with ``k`` the
        latest iterate that is ``d = m - k >= DELAY`` iterations back and
        ``d ln(S_0 / S_k) >= k ln(CONTRACTION)``, ``S_k = sum_{j=k}^{m-1}
        alpha_j r_j . z_j``; or as soon as ``r . M^-1 r`` falls to round-off
        (``eps**2`` times its initial value).

    Returns
    -------
    iterations : int
        Iterations done (0 when ``b . M^-1 b <= floor``).
    residual : float
        Final relative residual ``sqrt(r . M^-1 r / b . M^-1 b)``.
    error : float
        ``Delta / energy(x_m . A x_m)`` at the last iteration (``Delta =
        S_k`` as above); 0 when no iteration was needed or ``r . M^-1 r``
        reached round-off (``x_m`` is then the solution to working
        precision, even where ``energy`` vanishes).

    Notes
    -----
    Conjugate gradients from ``x_0 = 0`` with a symmetric positive
    (semi-)definite preconditioner satisfy, in exact arithmetic,
    ``||x - x_k||_A^2 - ||x - x_{k+1}||_A^2 = alpha_k r_k . z_k`` and
    ``x_k . A x_k = sum_{j<k} alpha_j r_j . z_j`` (Hestenes & Stiefel
    1952). Hence ``Delta`` is a lower bound of ``||x - x_k||_A^2``, short of
    it by ``||x - x_m||_A^2``: the returned iterate ``x_m`` has the error
    ``||x - x_k||_A^2 - Delta``, at most ``Delta`` as soon as the d
    iterations from ``x_k`` halved the squared energy error. Strakos &
    Tichy (2002) show that the estimate survives rounding errors; it fails
    where conjugate gradients stall for more than d iterations. The delay
    therefore adapts (in the spirit of Meurant, Papez & Tichy 2021, not
    their rule): ``S_0 / S_k`` estimates the reduction ``||x - x_0||_A^2 /
    ||x - x_k||_A^2`` of the first k iterations, and d must be long enough
    to divide the error by `CONTRACTION` at their mean rate. That rate is
    pessimistic where conjugate gradients accelerate (superlinear
    convergence) and averages earlier stalls in, but it is optimistic where
    a fast start is followed by a stall: an estimate taken early in such a
    stall falls short (measured up to 1.2 times on small images with voids
    at ``tol = 1e-3``). With a singular ``A`` (voids, periodic constants)
    every iterate stays in the complement of the null space, where
    ``||.||_A`` is a norm.
    """
    steps = _iterations(apply_operator, precondition, b, x, maxiter, work, vector_ops)
    _, rz_initial = next(steps)
    if rz_initial <= floor:
        return 0, 0.0, 0.0
    decreases = []
    residual, error = 1.0, 1.0
    for iteration, (decrease, rz) in enumerate(steps, start=1):
        decreases.append(decrease)
        residual = math.sqrt(max(rz, 0.0) / rz_initial)
        if rz <= _EXACT * rz_initial:
            return iteration, residual, 0.0
        estimate, current = _estimate(decreases), energy(math.fsum(decreases))
        error = estimate / current if current > 0.0 else math.inf
        if estimate <= tol * current or estimate <= floor:
            return iteration, residual, error
    return maxiter, residual, error


def _estimate(decreases: list[float]) -> float:
    """``S_k``, the sum of ``decreases[k:]``, for the latest ``k`` at least `DELAY` back with
    ``(m - k) ln(S_0 / S_k) >= k ln(CONTRACTION)`` (``m = len(decreases)``); ``S_0`` if none.
    """
    tails = np.cumsum(np.asarray(decreases)[::-1])[::-1]  # S_0 ... S_{m-1}
    m = len(decreases)
    for k in range(m - DELAY, 0, -1):
        if tails[k] <= 0.0 or (m - k) * math.log(tails[0] / tails[k]) >= k * math.log(CONTRACTION):
            return float(tails[k])
    return float(tails[0])


def pcg_free(
    apply_operator: Operator,
    precondition: Operator,
    b: np.ndarray,
    *,
    observe: Callable[[np.ndarray, float], None],
    tol: float,
    maxiter: int,
    work: Work,
    floor: float = 0.0,
    vector_ops: tuple | None = None,
) -> tuple[int, float]:
    """`pcg` without the iterate: ``x = sum_k alpha_k p_k`` is never formed.

    ``observe(p, alpha)`` sees every search direction ``p_k`` with its step ``alpha_k``
    (after ``A p_k`` and before ``r`` is updated); a caller that needs only linear
    functionals of the solution (a mean flux, dot products with kept vectors) accumulates
    ``alpha_k * f(p_k)`` there, and the field of ``x`` (8 bytes per unknown in float64)
    is not stored. The iterations, the stopping rule and the recursive residual left in
    ``work[0]`` are those of `pcg` (the same scalars, the same bits of ``r``); ``A p``
    lives in ``z``'s array as there. `b` may be ``work[0]``.

    Returns ``(iterations, residual)`` as `pcg`.
    """
    dot = (vector_ops or SERIAL)[0]
    cg_direction = (vector_ops or SERIAL)[2]
    r, z, p = work
    q = z
    flat_r, flat_z, flat_p, flat_q = (a.reshape(-1) for a in (r, z, p, q))
    if b is not r:
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
        observe(p, alpha)
        residual_step(flat_r, flat_q, alpha)
        precondition(r, z)
        rz_next = dot(flat_r, flat_z)
        residual = math.sqrt(max(rz_next, 0.0) / rz_initial)
        if residual <= tol:
            return iteration, residual
        cg_direction(flat_p, flat_z, rz_next / rz)
        rz = rz_next
    return maxiter, residual
