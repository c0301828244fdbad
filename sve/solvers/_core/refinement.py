r"""Mixed-precision conjugate gradients: float32 iteration vectors, float64 residuals (private).

``precision="single"`` of the conductivity solves. The solution ``x`` is
float64; the residual, the preconditioned residual, the search direction and
the operator product are float32. Every round (iterative refinement, Wilkinson
1963; for conjugate gradients with a reliable update of the residual, van der
Vorst & Ye 2000; Carson & Higham 2018) recomputes the true residual
``r = b - A x`` in float64 arithmetic (into a float64 view of the memory of the
float32 direction and product, dead at that moment), rounds it to float32 and
runs preconditioned conjugate gradients on ``A d = r`` from ``d = 0``, adding
``alpha p`` to the float64 ``x`` directly, until the preconditioned residual
norm has fallen by `INNER_REDUCTION` (or to the final tolerance). The stopping
rule is that of the double-precision solver, ``sqrt(r . M^-1 r / b . M^-1 b) <=
tol``, evaluated on the true residual of each round, so the tensor computed
from ``x`` in float64 is as accurate as the double-precision solve's at the
same `tol`, down to the floor of `MIN_TOL` (see ``apparent_conductivity``).

Storage per unknown: ``x`` (8 bytes), ``r`` (4) and one buffer of 8 bytes that
holds ``z`` (and ``A p``) and ``p`` as float32 or the float64 residual of the
round: 20 bytes where the double-precision solver keeps ``x``, ``r``, ``z``
and ``p`` in 32.

References
----------
.. [1] J. H. Wilkinson, "Rounding errors in algebraic processes", Prentice-Hall
   (1963).
.. [2] H. A. van der Vorst, Q. Ye, "Residual replacement strategies for Krylov
   subspace iterative methods for the convergence of true residuals", SIAM J.
   Sci. Comput. 22 (2000) 835-852.
.. [3] E. Carson, N. J. Higham, "Accelerating the solution of linear systems by
   iterative refinement in three precisions", SIAM J. Sci. Comput. 40 (2018)
   A817-A847.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from sve.solvers._core.pcg import Operator
from sve.solvers._core.pcg_kernels import cg_direction, cg_step, dot

#: Reduction of the preconditioned residual norm by one inner (float32) solve before the
#: residual is recomputed in float64. Measured on a 64**2 level cut of contrast 1e4
#: (periodic Q1 and mixed finite volumes): 1e-4 took more rounds and up to 9 times the
#: tensor error of double precision at tol = 1e-8; 1e-5 and 1e-6 came within 3 times of
#: it; 1e-6 makes a solve at tol >= 1e-6 one float32 run checked by one float64 residual,
#: with the iterations of double precision.
INNER_REDUCTION = 1e-6
#: Smallest `tol` of ``precision="single"``: below it the float32 rounding of the kept
#: fluctuations (Hill-Mandel defect) and of the inner recurrences dominate, and the rounds
#: would gain less than a digit each.
MIN_TOL = 1e-8

Residual = Callable[[np.ndarray, np.ndarray], None]


class Work:
    """The float32 vectors of `pcg_refined` on `shape`: ``r``, and one buffer of 8 bytes per
    unknown that is either ``z`` and ``p`` (float32) or ``scratch`` (float64).

    ``z`` comes first, followed by `room` float32 entries before ``p``: ``room`` is the flat
    float32 array from the first entry of ``z`` to the last of that room, where the
    preconditioner may work (the half spectrum of the periodic transforms is ``z`` plus
    two entries per row).
    """

    def __init__(self, shape: tuple[int, ...], room: int = 0) -> None:
        size = int(np.prod(shape))
        room += room % 2  # p and the float64 scratch stay 8-byte aligned
        self.r = np.empty(shape, dtype=np.float32)
        self._buffer = np.empty(2 * size + room, dtype=np.float32)
        self.z = self._buffer[:size].reshape(shape)
        self.p = self._buffer[size + room :].reshape(shape)
        self.room = self._buffer[: size + room]
        self.scratch = self._buffer[: 2 * size].view(np.float64).reshape(shape)


def pcg_refined(
    apply_operator: Operator,
    precondition: Operator,
    residual: Residual,
    x: np.ndarray,
    *,
    tol: float,
    maxiter: int,
    work: Work,
    floor: float = 0.0,
) -> tuple[int, float]:
    """Solve ``A x = b`` from ``x = 0``: float32 conjugate gradients, float64 residuals.

    Parameters
    ----------
    apply_operator, precondition : callable
        As in ``pcg.pcg``, called on float32 arrays.
    residual : callable
        ``residual(x, out)`` writes ``b - A x`` (constrained: zero on the fixed
        unknowns, floating-cluster means removed) into the float64 `out`, in
        float64 arithmetic.
    x : ndarray, float64
        Overwritten with the solution.
    tol, maxiter, floor
        As in ``pcg.pcg``; `maxiter` counts the inner iterations of all rounds.
    work : Work
        The float32 vectors of `x`'s shape.

    Returns
    -------
    iterations : int
        Inner iterations over all rounds.
    residual : float
        ``sqrt(r . M^-1 r / b . M^-1 b)`` of the true residual of the last round.
    """
    r, z, p, scratch = work.r, work.z, work.p, work.scratch
    q = z
    flat_x, flat_r, flat_z, flat_p, flat_q = (a.reshape(-1) for a in (x, r, z, p, q))
    x[...] = 0.0
    iterations = 0
    rz_initial = None
    while True:
        residual(x, scratch)
        r[...] = scratch  # rounded to float32; scratch is z and p again from here
        precondition(r, z)
        rz = dot(flat_r, flat_z)
        if rz_initial is None:
            rz_initial = rz
            if rz_initial <= floor:
                x[...] = 0.0
                return 0, 0.0
        relative = math.sqrt(max(rz, 0.0) / rz_initial)
        if relative <= tol or iterations >= maxiter:
            return iterations, relative
        target = max(tol * math.sqrt(rz_initial / rz), INNER_REDUCTION) ** 2 * rz
        p[...] = z
        done = iterations
        while iterations < maxiter:
            apply_operator(p, q)
            pq = dot(flat_p, flat_q)
            if not pq > 0.0:  # breakdown (round-off): recompute the residual
                break
            alpha = rz / pq
            cg_step(flat_x, flat_r, flat_p, flat_q, alpha)
            iterations += 1
            precondition(r, z)
            rz_next = dot(flat_r, flat_z)
            if rz_next <= target:
                break
            cg_direction(flat_p, flat_z, rz_next / rz)
            rz = rz_next
        if iterations == done:  # no progress possible: report the residual reached
            residual(x, scratch)
            r[...] = scratch
            precondition(r, z)
            rz = dot(flat_r, flat_z)
            return iterations, math.sqrt(max(rz, 0.0) / rz_initial)
