"""Numba kernels of the lock-step conjugate gradients of many systems (private).

Each system is one row of a 2-D array (systems, unknowns); only the rows listed in
``active`` are touched. Every row gets the operations of ``pcg_kernels.py`` in the same
order, so a system solved in a batch has the iterates it has alone, bit for bit.
"""

from numba import njit

from sve.solvers._core.pcg_kernels import cg_direction, cg_step, dot


@njit(cache=True, nogil=True)
def dots(a, b, active, out):
    """``out[s] = a[s] . b[s]`` for the rows ``s`` in `active` (``pcg_kernels.dot``)."""
    for s in active:
        out[s] = dot(a[s], b[s])


@njit(cache=True, nogil=True)
def cg_steps(x, r, p, q, alpha, active):
    """``x[s] += alpha[s] p[s]`` and ``r[s] -= alpha[s] q[s]`` for the rows in `active`."""
    for s in active:
        cg_step(x[s], r[s], p[s], q[s], alpha[s])


@njit(cache=True, nogil=True)
def cg_directions(p, z, beta, active):
    """``p[s] = z[s] + beta[s] p[s]`` for the rows in `active`."""
    for s in active:
        cg_direction(p[s], z[s], beta[s])
