r"""Memory kernels of the generalized Langevin equation (Mori–Zwanzig) from an autocorrelation.

Eliminating fast variables leaves, for a slow one v (a velocity, or any
observable), the generalized Langevin equation (GLE)
:math:`m\dot v = -m\int_0^t K(t-s)\,v(s)\,ds + F(t)`: a memory kernel K and a
noise F orthogonal to v(0), tied by the fluctuation–dissipation theorem
:math:`\langle F(0)F(t)\rangle = m k_BT\,K(t)`. Multiplied by v(0) and averaged,
it gives a closed equation for the autocorrelation
:math:`C(t) = \langle v(0)v(t)\rangle`, which this module inverts for K.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sve._validation import check_positive

__all__ = ["MemoryKernel", "memory_kernel"]


@dataclass(frozen=True)
class MemoryKernel:
    r"""A memory kernel with the friction and noise it implies.

    Attributes
    ----------
    times : ndarray
        :math:`t_n = n\Delta t`, n = 0 ... N − 2 (time units).
    kernel : ndarray
        :math:`K(t_n)` (1 / time²).
    friction : float
        :math:`\gamma = \int_0^{t_{max}} K\,dt` (1 / time, trapezoid rule over
        `times`): the Markovian friction rate when the kernel has decayed
        within `times`.
    running_friction : ndarray
        :math:`\int_0^{t_n} K\,dt` against `times` (1 / time).
    noise_autocorrelation : ndarray
        :math:`\langle F(0)F(t_n)\rangle = m k_BT\,K(t_n)` (force² units).
    mass : float
        The mass m used for the noise.
    kT : float
        The thermal energy :math:`k_BT` used for the noise.
    """

    times: np.ndarray = field(repr=False)
    kernel: np.ndarray = field(repr=False)
    friction: float
    running_friction: np.ndarray = field(repr=False)
    noise_autocorrelation: np.ndarray = field(repr=False)
    mass: float
    kT: float


def memory_kernel(
    acf: np.ndarray,
    dt: float,
    *,
    mass: float = 1.0,
    kT: float | None = None,
) -> MemoryKernel:
    r"""Memory kernel K(t) of the GLE from the autocorrelation C(t) of the slow variable.

    Parameters
    ----------
    acf : array_like of float, shape (n,)
        :math:`C(n\Delta t)` for n = 0 ... N − 1, N >= 3, with C(0) > 0: e.g.
        the velocity autocorrelation (:func:`~sve.fluctuations.autocorrelation`
        of a velocity series), in velocity² units.
    dt : float
        The lag step Δt > 0 (time units).
    mass : float, default 1.0
        Mass m > 0, for the noise autocorrelation only.
    kT : float, optional
        Thermal energy :math:`k_BT` > 0, for the noise only; by default
        :math:`m\,C(0)` (equipartition, when v is a velocity).

    Returns
    -------
    MemoryKernel
        The kernel at :math:`t_n`, n = 0 ... N − 2, the friction
        :math:`\int K` and the noise autocorrelation :math:`m k_BT K`.

    Notes
    -----
    The GLE gives :math:`\dot C(t) = -\int_0^t K(s)\,C(t-s)\,ds`, a Volterra
    equation of the first kind for K. Differentiated once it becomes one of
    the second kind, which is well posed:

    .. math:: K(t)\,C(0) = -\ddot C(t) - \int_0^t K(s)\,\dot C(t-s)\,ds.

    The integral is discretized by the trapezoid rule on the lag grid, and,
    since :math:`\dot C(0) = 0` for an even C, solved forward:

    .. math::

        K_n = -\frac{1}{C_0}\Big[\ddot C_n + \Delta t\big(\tfrac12 K_0 \dot C_n
        + \sum_{j=1}^{n-1} K_j \dot C_{n-j}\big)\Big],
        \qquad K_0 = -\ddot C_0 / C_0,

    with the derivatives by central differences, C extended evenly to
    negative lags: :math:`\dot C_n = (C_{n+1} - C_{n-1})/(2\Delta t)`,
    :math:`\ddot C_n = (C_{n+1} - 2C_n + C_{n-1})/\Delta t^2`,
    and at t = 0, where an even C is smooth from the right only (its third
    derivative :math:`\dddot C(0^+) = -\dot K(0)\,C(0)` is not 0 in general,
    so it jumps at 0), the one-sided
    :math:`\ddot C_0 = (8C_1 - C_2 - 7C_0)/(2\Delta t^2)`, exact to
    :math:`O(\Delta t^2)` given :math:`\dot C(0) = 0` (the symmetric
    :math:`2(C_1 - C_0)/\Delta t^2` is only first order). Every step is second order:
    the error is :math:`O(\Delta t^2)` (measured in the tests: halving Δt
    divides it by 4). The last lag has no central difference and is dropped.
    Noise in an estimated C is amplified by the second difference: sample
    the slow variable finely and average many series (or components).

    References
    ----------
    .. [1] R. Zwanzig, *Nonequilibrium Statistical Mechanics*, Oxford (2001),
       ch. 8-9 (projection operators, the GLE and the second fluctuation-
       dissipation theorem).
    .. [2] B. J. Berne, G. D. Harp, "On the calculation of time correlation
       functions", Adv. Chem. Phys. 17, 63 (1970) (the kernel from the
       velocity autocorrelation by a Volterra equation).

    Examples
    --------
    The exact autocorrelation of a GLE with :math:`K(t) = e^{-t}`:

    >>> import numpy as np
    >>> from sve.fluctuations import gle_autocorrelation, memory_kernel
    >>> t = 0.01 * np.arange(400)
    >>> result = memory_kernel(gle_autocorrelation(t, strength=1.0, tau=1.0), 0.01)
    >>> float(np.max(np.abs(result.kernel - np.exp(-result.times)))) < 1e-4
    True
    """
    acf = np.asarray(acf, dtype=float)
    dt = check_positive(dt, "dt")
    mass = check_positive(mass, "mass")
    if acf.ndim != 1 or acf.size < 3:
        raise ValueError(f"acf must be 1-D with >= 3 lags, got shape {acf.shape}")
    if not np.all(np.isfinite(acf)):
        index = int(np.flatnonzero(~np.isfinite(acf))[0])
        raise ValueError(f"acf must be finite, got {acf[index]} at lag {index}")
    if not acf[0] > 0:
        raise ValueError(f"acf[0] must be > 0 (a variance), got {acf[0]!r}")
    kT = mass * float(acf[0]) if kT is None else check_positive(kT, "kT")
    even = np.concatenate([acf[1:2], acf])  # C_{-1} = C_1
    first = (even[2:] - even[:-2]) / (2 * dt)  # n = 0 ... N-2; first[0] = 0
    second = (even[2:] - 2 * even[1:-1] + even[:-2]) / dt**2
    if acf.size >= 4:  # C is smooth on t >= 0 only: a one-sided second-order C''(0)
        second[0] = (8 * acf[1] - acf[2] - 7 * acf[0]) / (2 * dt**2)
    size = acf.size - 1
    kernel = np.empty(size)
    kernel[0] = -second[0] / acf[0]
    for n in range(1, size):
        history = np.dot(kernel[1:n], first[n - 1 : 0 : -1]) if n > 1 else 0.0
        kernel[n] = -(second[n] + dt * (0.5 * kernel[0] * first[n] + history)) / acf[0]
    running = dt * (np.cumsum(kernel) - 0.5 * (kernel[0] + kernel))
    return MemoryKernel(
        times=dt * np.arange(size),
        kernel=kernel,
        friction=float(running[-1]),
        running_friction=running,
        noise_autocorrelation=mass * kT * kernel,
        mass=mass,
        kT=kT,
    )
