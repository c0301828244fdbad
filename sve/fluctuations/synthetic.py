r"""Synthetic stationary processes with exact correlations, for tests and examples.

Every generator takes its random source explicitly (``rng``: an int seed or a
:class:`numpy.random.Generator`) and starts in the stationary state, so the same
arguments give bit-identical series and every sample is an equilibrium
sample. The discretizations are exact: the sampled series have exactly the
autocorrelation of the continuous process at the sampling times, whatever the
step.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg, signal

from sve._validation import check_integer, check_positive, is_integer

__all__ = [
    "brownian_velocities",
    "gle_autocorrelation",
    "gle_kernel",
    "gle_velocities",
    "ornstein_uhlenbeck",
    "ou_autocorrelation",
    "ou_sum",
]


def _generator(rng: object) -> np.random.Generator:
    """An explicit random source: an int seed >= 0 or a Generator (None refused)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if is_integer(rng) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"rng must be an int seed >= 0 or a numpy.random.Generator (passed explicitly), "
        f"got {rng!r}"
    )


def _shape(n_steps: object, n_series: object) -> tuple[int, ...]:
    n_steps = check_integer(n_steps, "n_steps", 2)
    if n_series is None:
        return (n_steps,)
    return (check_integer(n_series, "n_series", 1), n_steps)


def ornstein_uhlenbeck(
    n_steps: int,
    dt: float,
    *,
    tau: float,
    sigma: float = 1.0,
    n_series: int | None = None,
    rng: np.random.Generator | int,
) -> np.ndarray:
    r"""Stationary Ornstein–Uhlenbeck series, exactly discretized.

    Parameters
    ----------
    n_steps : int
        Samples per series (>= 2), at times ``0, dt, ..., (n_steps - 1) dt``.
    dt : float
        Sampling step (any time unit), > 0.
    tau : float
        Correlation time τ > 0 (same unit as `dt`).
    sigma : float, default 1.0
        Standard deviation σ of the process (any unit).
    n_series : int, optional
        Number of independent series; None gives one 1-D series.
    rng : int or numpy.random.Generator
        The random source, passed explicitly (no default).

    Returns
    -------
    ndarray of float64, shape ``(n_steps,)`` or ``(n_series, n_steps)``
        The series, in the unit of `sigma`.

    Notes
    -----
    The autocorrelation is :math:`C(t) = \sigma^2 e^{-|t|/\tau}`, so
    :math:`\int_0^\infty C\,dt = \sigma^2 \tau`. The exact update is the AR(1)
    recursion :math:`x_{n+1} = \phi x_n + \sigma\sqrt{1-\phi^2}\,\xi_n` with
    :math:`\phi = e^{-\Delta t/\tau}` and :math:`\xi_n` standard normal, started
    from :math:`x_0 \sim N(0, \sigma^2)` [1]_.

    References
    ----------
    .. [1] D. T. Gillespie, "Exact numerical simulation of the Ornstein-Uhlenbeck
       process and its integral", Phys. Rev. E 54, 2084 (1996).

    Examples
    --------
    >>> x = ornstein_uhlenbeck(100_000, 0.1, tau=1.0, sigma=2.0, rng=0)
    >>> round(float(x.var()), 1)
    4.0
    """
    shape = _shape(n_steps, n_series)
    dt = check_positive(dt, "dt")
    tau = check_positive(tau, "tau")
    sigma = check_positive(sigma, "sigma")
    noise = _generator(rng).standard_normal(shape)
    return _ar1(noise, np.exp(-dt / tau), sigma)


def _ar1(noise: np.ndarray, phi: float, sigma: float) -> np.ndarray:
    """Stationary AR(1) with coefficient `phi` and standard deviation `sigma`."""
    start = sigma * noise[..., :1]
    rest, _ = signal.lfilter(
        [sigma * np.sqrt(1.0 - phi**2)], [1.0, -phi], noise[..., 1:], axis=-1, zi=phi * start
    )
    return np.concatenate([start, rest], axis=-1)


def ou_sum(
    n_steps: int,
    dt: float,
    *,
    taus: list[float] | np.ndarray,
    sigmas: list[float] | np.ndarray,
    n_series: int | None = None,
    rng: np.random.Generator | int,
) -> np.ndarray:
    r"""Sum of independent stationary Ornstein–Uhlenbeck series.

    Parameters
    ----------
    n_steps, dt, n_series
        As in :func:`ornstein_uhlenbeck`.
    taus, sigmas : sequence of float
        Correlation time and standard deviation of each term (same length).
    rng : int or numpy.random.Generator
        The random source, passed explicitly.

    Returns
    -------
    ndarray of float64, shape ``(n_steps,)`` or ``(n_series, n_steps)``

    Notes
    -----
    :math:`C(t) = \sum_i \sigma_i^2 e^{-|t|/\tau_i}` and
    :math:`\int_0^\infty C\,dt = \sum_i \sigma_i^2 \tau_i` (see
    :func:`ou_autocorrelation`).

    Examples
    --------
    >>> x = ou_sum(1000, 0.1, taus=[1.0, 0.2], sigmas=[1.0, 2.0], n_series=3, rng=1)
    >>> x.shape
    (3, 1000)
    """
    taus, sigmas = _terms(taus, sigmas)
    shape = _shape(n_steps, n_series)
    dt = check_positive(dt, "dt")
    generator = _generator(rng)
    total = np.zeros(shape)
    for tau, sigma in zip(taus, sigmas, strict=True):
        total += _ar1(generator.standard_normal(shape), np.exp(-dt / tau), sigma)
    return total


def _terms(taus: object, sigmas: object) -> tuple[np.ndarray, np.ndarray]:
    taus = np.atleast_1d(np.asarray(taus, dtype=float))
    sigmas = np.atleast_1d(np.asarray(sigmas, dtype=float))
    if taus.ndim != 1 or taus.shape != sigmas.shape or taus.size == 0:
        raise ValueError(
            f"taus and sigmas must be 1-D sequences of the same length >= 1, got shapes "
            f"{taus.shape} and {sigmas.shape}"
        )
    for name, values in (("taus", taus), ("sigmas", sigmas)):
        if not np.all(np.isfinite(values) & (values > 0)):
            raise ValueError(f"{name} must be finite and > 0, got {values.tolist()!r}")
    return taus, sigmas


def ou_autocorrelation(
    t: np.ndarray | float, *, taus: list[float] | np.ndarray, sigmas: list[float] | np.ndarray
) -> np.ndarray:
    r"""Exact autocorrelation :math:`\sum_i \sigma_i^2 e^{-|t|/\tau_i}` of :func:`ou_sum`.

    Its integral over :math:`[0, \infty)` is :math:`\sum_i \sigma_i^2 \tau_i`.

    Examples
    --------
    >>> float(ou_autocorrelation(0.0, taus=[1.0, 2.0], sigmas=[1.0, 1.0]))
    2.0
    """
    taus, sigmas = _terms(taus, sigmas)
    t = np.abs(np.asarray(t, dtype=float))
    return np.sum(sigmas**2 * np.exp(-t[..., None] / taus), axis=-1)


def brownian_velocities(
    n_steps: int,
    dt: float,
    *,
    mass: float,
    friction: float,
    kT: float,
    ndim: int = 3,
    n_series: int | None = None,
    rng: np.random.Generator | int,
) -> np.ndarray:
    r"""Velocities of a Brownian (Langevin) particle, exactly discretized.

    Parameters
    ----------
    n_steps, dt
        As in :func:`ornstein_uhlenbeck`.
    mass : float
        Particle mass m > 0.
    friction : float
        Friction rate γ > 0 (1 / time): :math:`m\dot v = -m\gamma v + F`.
    kT : float
        Thermal energy :math:`k_B T` > 0 (mass × velocity² units).
    ndim : int, default 3
        Number of velocity components d.
    n_series : int, optional
        Number of independent particles; None gives one.
    rng : int or numpy.random.Generator
        The random source, passed explicitly.

    Returns
    -------
    ndarray of float64, shape ``(ndim, n_steps)`` or ``(n_series, ndim, n_steps)``
        Each component an Ornstein–Uhlenbeck process with τ = 1/γ and
        σ² = kT/m.

    Notes
    -----
    The Einstein relation gives the self-diffusion coefficient
    :math:`D = \frac{1}{d}\int_0^\infty \langle v(0)\cdot v(t)\rangle dt =
    k_B T / (m \gamma)`.

    Examples
    --------
    >>> v = brownian_velocities(1000, 0.01, mass=1.0, friction=2.0, kT=1.0, rng=0)
    >>> v.shape
    (3, 1000)
    """
    ndim = check_integer(ndim, "ndim", 1)
    mass = check_positive(mass, "mass")
    friction = check_positive(friction, "friction")
    kT = check_positive(kT, "kT")
    check_integer(n_steps, "n_steps", 2)
    series = None if n_series is None else check_integer(n_series, "n_series", 1)
    shape = (ndim, n_steps) if series is None else (series, ndim, n_steps)
    dt = check_positive(dt, "dt")
    noise = _generator(rng).standard_normal(shape)
    return _ar1(noise, np.exp(-dt * friction), np.sqrt(kT / mass))


def _gle_matrices(mass, kT, strength, tau):
    """Drift matrix and stationary covariance of (v, u), u the auxiliary variable."""
    drift = np.array([[0.0, 1.0], [-strength, -1.0 / tau]])
    covariance = np.diag([kT / mass, kT * strength / mass])
    return drift, covariance


def _gle_arguments(mass, kT, strength, tau):
    return (
        check_positive(mass, "mass"),
        check_positive(kT, "kT"),
        check_positive(strength, "strength"),
        check_positive(tau, "tau"),
    )


def gle_velocities(
    n_steps: int,
    dt: float,
    *,
    mass: float = 1.0,
    kT: float = 1.0,
    strength: float,
    tau: float,
    n_series: int | None = None,
    rng: np.random.Generator | int,
) -> np.ndarray:
    r"""Velocities of a generalized Langevin equation with an exponential memory kernel.

    Parameters
    ----------
    n_steps, dt, n_series
        As in :func:`ornstein_uhlenbeck`.
    mass : float, default 1.0
        Mass m > 0.
    kT : float, default 1.0
        Thermal energy :math:`k_B T` > 0.
    strength : float
        :math:`K_0 > 0` (1 / time²), the kernel at t = 0.
    tau : float
        Memory time τ > 0 of the kernel :math:`K(t) = K_0 e^{-t/\tau}`.
    rng : int or numpy.random.Generator
        The random source, passed explicitly.

    Returns
    -------
    ndarray of float64, shape ``(n_steps,)`` or ``(n_series, n_steps)``
        The velocity, stationary from the first sample.

    Notes
    -----
    The GLE :math:`m\dot v = -m\int_0^t K(t-s) v(s)\,ds + F(t)` with
    :math:`\langle F(0)F(t)\rangle = m k_B T K(t)` is Markovian in (v, u) with
    one auxiliary Ornstein–Uhlenbeck variable [1]_:

    .. math::

        dv = u\,dt, \qquad du = (-K_0 v - u/\tau)\,dt + \sqrt{2 k_B T K_0 / (m\tau)}\,dW,

    whose stationary law is :math:`v \sim N(0, k_BT/m)`, :math:`u \sim N(0,
    k_BT K_0/m)`, independent. The linear SDE is stepped exactly:
    :math:`X_{n+1} = e^{A\Delta t} X_n + \eta_n` with
    :math:`\operatorname{cov}\eta = \Sigma - e^{A\Delta t}\Sigma e^{A^T\Delta t}`,
    Σ the stationary covariance. :func:`gle_autocorrelation` is the exact
    velocity autocorrelation and :func:`gle_kernel` the kernel.

    References
    ----------
    .. [1] R. Zwanzig, *Nonequilibrium Statistical Mechanics*, Oxford (2001), ch. 2
       and 9 (the GLE and its Markovian embedding).

    Examples
    --------
    >>> v = gle_velocities(20_000, 0.05, strength=1.0, tau=1.0, rng=3)
    >>> round(float(v.var()), 1)  # kT / m
    1.0
    """
    shape = _shape(n_steps, n_series)
    dt = check_positive(dt, "dt")
    mass, kT, strength, tau = _gle_arguments(mass, kT, strength, tau)
    drift, covariance = _gle_matrices(mass, kT, strength, tau)
    step = linalg.expm(drift * dt)
    noise_cov = covariance - step @ covariance @ step.T
    factor = linalg.cholesky(noise_cov + 1e-300 * np.eye(2), lower=True)
    generator = _generator(rng)
    batch = shape[:-1]
    state = generator.standard_normal(batch + (2,)) * np.sqrt(np.diag(covariance))
    kicks = generator.standard_normal((shape[-1] - 1,) + batch + (2,)) @ factor.T
    out = np.empty(shape[-1:] + batch)
    out[0] = state[..., 0]
    for n in range(shape[-1] - 1):
        state = state @ step.T + kicks[n]
        out[n + 1] = state[..., 0]
    return np.moveaxis(out, 0, -1)


def gle_autocorrelation(
    t: np.ndarray | float,
    *,
    mass: float = 1.0,
    kT: float = 1.0,
    strength: float,
    tau: float,
) -> np.ndarray:
    r"""Exact velocity autocorrelation of :func:`gle_velocities`.

    :math:`C(t) = [e^{A|t|}\Sigma]_{00}` with A and Σ as in
    :func:`gle_velocities`; :math:`C(0) = k_BT/m` and
    :math:`\int_0^\infty C\,dt = k_BT / (m K_0 \tau)`.

    Examples
    --------
    >>> float(gle_autocorrelation(0.0, strength=1.0, tau=1.0))
    1.0
    """
    mass, kT, strength, tau = _gle_arguments(mass, kT, strength, tau)
    drift, covariance = _gle_matrices(mass, kT, strength, tau)
    t = np.abs(np.asarray(t, dtype=float))
    values, vectors = np.linalg.eig(drift)
    if np.linalg.cond(vectors) > 1e8:  # (nearly) repeated eigenvalue: no eigenbasis
        flat = [(linalg.expm(drift * s) @ covariance)[0, 0] for s in t.ravel()]
        return np.reshape(flat, t.shape)
    # e^{At} = V diag(e^{lambda t}) V^-1, element (0, :) times the first column of Sigma
    weights = vectors[0, :] * (np.linalg.inv(vectors) @ covariance[:, 0])
    return np.real(np.sum(weights * np.exp(values * t[..., None]), axis=-1))


def gle_kernel(t: np.ndarray | float, *, strength: float, tau: float) -> np.ndarray:
    r"""The memory kernel :math:`K(t) = K_0 e^{-t/\tau}` of :func:`gle_velocities`.

    Examples
    --------
    >>> float(gle_kernel(1.0, strength=2.0, tau=1.0))  # 2 / e
    0.7357588823428847
    """
    strength = check_positive(strength, "strength")
    tau = check_positive(tau, "tau")
    return strength * np.exp(-np.abs(np.asarray(t, dtype=float)) / tau)
