"""Numba kernels of the Chebyshev steps and bound estimates of ``chebyshev.py`` (private)."""

from numba import njit


@njit(cache=True, nogil=True)
def chebyshev_first(y, d, x, a):
    """In place ``x = d = a y`` (3-D arrays): the first Chebyshev step."""
    yf = y.reshape(-1)
    df = d.reshape(-1)
    xf = x.reshape(-1)
    for i in range(yf.size):
        value = a * yf[i]
        df[i] = value
        xf[i] = value


@njit(cache=True, nogil=True)
def chebyshev_step(y, d, x, a, c):
    """In place ``d = a d + c y``, then ``x += d`` (3-D arrays): a Chebyshev step."""
    yf = y.reshape(-1)
    df = d.reshape(-1)
    xf = x.reshape(-1)
    for i in range(yf.size):
        value = a * df[i] + c * yf[i]
        df[i] = value
        xf[i] += value


@njit(cache=True, nogil=True)
def chebyshev_last(y, x, a, c):
    """In place ``x += a x + c y`` (3-D arrays): the second Chebyshev step, whose
    direction before it is ``x`` itself (`chebyshev_step` with ``d`` = ``x``).
    """
    yf = y.reshape(-1)
    xf = x.reshape(-1)
    for i in range(yf.size):
        xf[i] += a * xf[i] + c * yf[i]
