r"""Boolean model of spheres: Poisson germs, overlapping balls, exact statistics.

A radius is either a float (monodisperse) or a frozen continuous
``scipy.stats`` distribution (polydisperse, e.g. ``scipy.stats.uniform(1, 2)``,
``scipy.stats.truncnorm(...)`` or ``scipy.stats.lognorm(0.3, scale=2)``) with
support in :math:`[0, \infty)`. A grain must not overlap its own periodic
image, so the radii must stay at most L/2, L the smallest box edge: a bounded
support must lie in :math:`[0, L/2]`; an unbounded one is truncated at its
:math:`1 - \varepsilon` quantile :math:`R_\varepsilon`, :math:`\varepsilon =`
``TAIL_PROBABILITY``, which must be at most L/2. The radii then follow the law
conditioned on :math:`R \le R_\varepsilon` (sampled by inversion of the
quantile), and every exact statistic of this module is that of the truncated
law: within :math:`\varepsilon` of the untruncated one in total variation,
whatever the box.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import scipy.stats
from numpy.typing import ArrayLike, NDArray
from scipy import integrate

from generators._typing import RngLike, ShapeLike
from generators._validation import (
    MAX_NDIM,
    as_float_array,
    as_generator,
    as_integer,
    as_positive,
    as_real_in,
    as_shape,
    exactly_one,
)
from generators.packing import Packing, ball_volume, check_radius_fits, paint

RadiusLike = float | scipy.stats.rv_continuous  # a frozen distribution in practice

TAIL_PROBABILITY = 1e-9
"""Probability cut from the upper tail of a radius distribution with unbounded support
(module docstring): below one grain in 1e4 realizations of 1e5 grains, and it does not
depend on the box, so a medium's law does not change with its size."""

QUADRATURE_NODES = 64
"""Gauss-Legendre nodes of the average over a radius distribution; the lens volume
is smooth in the quantile above its kink at R = r/2, so 64 nodes reach about 1e-10
relative accuracy for the distributions of scipy.stats with a smooth quantile. A
truncated unbounded law is averaged over t = -ln(1 - u) instead (u the quantile),
where its tail is smooth, with ``TAIL_NODES`` nodes on each of ``TAIL_PANELS``
panels halving towards the lower end (tests: 1e-8 against scipy's adaptive
expectation for log-normal, gamma, Weibull and exponential radii)."""

TAIL_NODES, TAIL_PANELS = 16, 40


def boolean_spheres(
    shape: ShapeLike,
    radius: RadiusLike,
    *,
    intensity: float | None = None,
    volume_fraction: float | None = None,
    spacing: float = 1.0,
    rng: RngLike = None,
) -> Packing:
    r"""Boolean model of overlapping spheres (disks in 2-D) in a periodic box.

    Parameters
    ----------
    shape : sequence of int
        Number of voxels (N0,), (N0, N1) or (N0, N1, N2); each >= 2.
    radius : float or frozen scipy.stats continuous distribution
        Grain radius in physical length units (module docstring).
    intensity : float, optional
        Germs per unit d-volume, :math:`\lambda > 0`.
    volume_fraction : float, optional
        Target expected fraction :math:`\varphi \in (0, 1)` of the union of
        grains; exactly one of ``intensity`` and ``volume_fraction``.
    spacing : float, default 1.0
        Voxel edge length, > 0.
    rng : int, numpy.random.Generator, numpy.random.SeedSequence or None
        Source of randomness (count, then centres, then radii).

    Returns
    -------
    Packing
        ``labels`` (int8, 1 in the grains), ``centres`` (n, d) and ``radii``
        (n,) in physical units.

    Notes
    -----
    The number of germs is Poisson with mean :math:`\lambda \lvert V \rvert`,
    the germs are uniform in the box, the radii iid. The uncovered fraction
    is :math:`q = e^{-\lambda \mathrm{E}[v(R)]}` with :math:`v` the ball
    volume, so ``volume_fraction`` sets :math:`\lambda = -\ln(1 - \varphi) /
    \mathrm{E}[v(R)]` [1]_. Exact statistics: :func:`boolean_s2`,
    :func:`boolean_integral_range`. The voxel image adds a discretization
    error (:func:`generators.voxelize_spheres`).

    References
    ----------
    .. [1] G. Matheron, *Random Sets and Integral Geometry*, Wiley, 1975.

    Examples
    --------
    >>> packing = boolean_spheres((32, 32), 2.0, volume_fraction=0.4, rng=0)
    >>> packing.labels.dtype, packing.centres.shape[1]
    (dtype('int8'), 2)
    """
    shape = as_shape(shape)
    spacing = as_positive(spacing, "spacing")
    ndim = len(shape)
    _check_radius(radius, "radius", shape, spacing)
    intensity = _intensity(intensity, volume_fraction, radius, ndim)
    rng = as_generator(rng)

    box = np.array(shape, dtype=np.float64) * spacing
    count = rng.poisson(intensity * float(np.prod(box)))
    centres = rng.random((count, ndim)) * box
    if isinstance(radius, numbers.Real):
        radii = np.full(count, float(radius))
    elif _is_truncated(radius):  # inversion of the quantile below 1 - TAIL_PROBABILITY
        radii = np.asarray(radius.ppf(rng.random(count) * (1.0 - TAIL_PROBABILITY)), np.float64)
    else:
        radii = np.asarray(radius.rvs(size=count, random_state=rng), dtype=np.float64)
    return Packing(paint(shape, centres, radii, spacing), centres, radii)


def boolean_intensity(volume_fraction: float, radius: RadiusLike, ndim: int) -> float:
    r"""Intensity of the Boolean model of spheres with a given expected volume fraction.

    The inverse of :func:`boolean_volume_fraction`:
    :math:`\lambda = -\ln(1 - \varphi) / \mathrm{E}[v(R)]`, what
    :func:`boolean_spheres` uses when given ``volume_fraction``.

    Parameters
    ----------
    volume_fraction : float
        Expected fraction :math:`\varphi \in (0, 1)` of the union of grains.
    radius : float or frozen scipy.stats continuous distribution
        Grain radius (module docstring).
    ndim : int
        Dimension, 1 to 3.

    Returns
    -------
    float
        Germs per unit d-volume.

    Examples
    --------
    >>> round(boolean_intensity(boolean_volume_fraction(0.1, 1.0, 2), 1.0, 2), 12)
    0.1
    """
    ndim = _check_ndim(ndim)
    _check_radius(radius, "radius", None, 1.0)
    return _intensity(None, volume_fraction, radius, ndim)


def boolean_volume_fraction(intensity: float, radius: RadiusLike, ndim: int) -> float:
    r"""Expected fraction :math:`1 - e^{-\lambda \mathrm{E}[v(R)]}` covered by the grains.

    Parameters
    ----------
    intensity : float
        Germs per unit d-volume, > 0.
    radius : float or frozen scipy.stats continuous distribution
        Grain radius (module docstring).
    ndim : int
        Dimension d, 1 to 3.

    Returns
    -------
    float
        The volume fraction of the grains, in (0, 1).

    Examples
    --------
    >>> round(boolean_volume_fraction(0.1, 1.0, 2), 12)  # 1 - exp(-0.1 pi)
    0.269597308951
    """
    ndim = _check_ndim(ndim)
    _check_radius(radius, "radius", None, 1.0)
    intensity = as_positive(intensity, "intensity")
    return -math.expm1(-intensity * _mean_ball_volume(radius, ndim))


def boolean_s2(
    r: ArrayLike, intensity: float, radius: RadiusLike, ndim: int
) -> NDArray[np.float64]:
    r"""Two-point probability of the grains of a Boolean model of spheres.

    Parameters
    ----------
    r : array_like of float
        Distances >= 0 in physical length units.
    intensity : float
        Germs per unit d-volume, :math:`\lambda > 0`.
    radius : float or frozen scipy.stats continuous distribution
        Grain radius (module docstring).
    ndim : int
        Dimension d, 1 to 3.

    Returns
    -------
    ndarray of float64, the shape of ``r``
        :math:`S_2(r)` of the union of grains, from :math:`\varphi` at 0 to
        :math:`\varphi^2` beyond twice the largest radius.

    Notes
    -----
    Two points are both uncovered when no germ falls in the union of the two
    balls of radius R around them, so with :math:`q = 1 - \varphi` [1]_, [2]_

    .. math::

        S_2(r) = 1 - 2q + q^2 \exp\left(\lambda \bar K(r)\right),
        \qquad \bar K(r) = \mathrm{E}[K(r; R)],

    where :math:`K(r; R)` is the volume of the intersection of two balls of
    radius R at distance r (zero beyond 2R): :math:`2R - r` in 1-D,
    :math:`2R^2 \arccos\frac{r}{2R} - \frac{r}{2}\sqrt{4R^2 - r^2}` in 2-D,
    :math:`\frac{\pi}{12}(4R + r)(2R - r)^2` in 3-D. For a radius
    distribution the mean is a Gauss-Legendre quadrature over the quantile
    :math:`u \in (F(r/2), 1)`.

    References
    ----------
    .. [1] G. Matheron, *Random Sets and Integral Geometry*, Wiley, 1975.
    .. [2] S. Torquato, *Random Heterogeneous Materials*, Springer, 2002,
       section 3.1.

    Examples
    --------
    >>> phi = boolean_volume_fraction(0.1, 1.0, 2)
    >>> bool(abs(boolean_s2(0.0, 0.1, 1.0, 2) - phi) < 1e-15)
    True
    >>> bool(abs(boolean_s2(2.5, 0.1, 1.0, 2) - phi**2) < 1e-15)
    True
    """
    ndim = _check_ndim(ndim)
    _check_radius(radius, "radius", None, 1.0)
    intensity = as_positive(intensity, "intensity")
    r = as_float_array(r, "r", 0.0, math.inf)
    q = math.exp(-intensity * _mean_ball_volume(radius, ndim))
    return 1.0 - 2.0 * q + q**2 * np.exp(intensity * _mean_lens_volume(r, radius, ndim))


def boolean_integral_range(intensity: float, radius: RadiusLike, ndim: int) -> float:
    r"""Integral range of the grain indicator of a Boolean model of spheres.

    Parameters
    ----------
    intensity, radius, ndim
        As for :func:`boolean_s2`.

    Returns
    -------
    float
        :math:`A = \frac{1}{\varphi q} \int_{\mathbb{R}^d} (S_2 - \varphi^2)\,dh
        = \frac{q}{\varphi} \int_{\mathbb{R}^d} \left(e^{\lambda \bar K(|h|)}
        - 1\right) dh`, a d-volume in physical units.

    Notes
    -----
    No closed form: the radial integral over :math:`[0, 2R_\max]` is computed
    with adaptive quadrature (relative accuracy about 1e-9). As
    :math:`\lambda \to 0` it tends to :math:`\mathrm{E}[v(R)^2] /
    \mathrm{E}[v(R)]` (since :math:`\int K(|h|; R)\, dh = v(R)^2`), the ball
    volume for monodisperse grains, and it grows with :math:`\lambda` as the
    grains merge into clusters.

    References
    ----------
    .. [1] G. Matheron, *Random Sets and Integral Geometry*, Wiley, 1975.

    Examples
    --------
    >>> a = boolean_integral_range(1e-6, 1.0, 3)  # dilute: the ball volume
    >>> round(a / (4 / 3 * 3.141592653589793), 4)
    1.0
    """
    ndim = _check_ndim(ndim)
    _check_radius(radius, "radius", None, 1.0)
    intensity = as_positive(intensity, "intensity")
    mean_volume = _mean_ball_volume(radius, ndim)
    q = math.exp(-intensity * mean_volume)
    reach = 2.0 * _largest_radius(radius)

    def integrand(r: float) -> float:
        lens = float(_mean_lens_volume(np.array([r]), radius, ndim)[0])
        return r ** (ndim - 1) * math.expm1(intensity * lens)

    radial, _ = integrate.quad(integrand, 0.0, reach, epsabs=0.0, epsrel=1e-11, limit=200)
    sphere_area = 2.0 * math.pi ** (ndim / 2) / math.gamma(ndim / 2)
    return q / -math.expm1(-intensity * mean_volume) * sphere_area * radial


def lens_volume(r: np.ndarray, radius: np.ndarray, ndim: int) -> np.ndarray:
    """Volume of the intersection of two d-balls of radius ``radius`` at distance ``r``."""
    r, radius = np.broadcast_arrays(np.asarray(r, float), np.asarray(radius, float))
    inside = r < 2.0 * radius
    x = np.where(inside, r, 0.0)
    big = np.where(inside, radius, 1.0)
    if ndim == 1:
        value = 2.0 * big - x
    elif ndim == 2:
        value = 2.0 * big**2 * np.arccos(x / (2.0 * big)) - 0.5 * x * np.sqrt(
            np.maximum(4.0 * big**2 - x**2, 0.0)
        )
    else:
        value = math.pi / 12.0 * (4.0 * big + x) * (2.0 * big - x) ** 2
    return np.where(inside, value, 0.0)


def _mean_lens_volume(r: np.ndarray, radius: RadiusLike, ndim: int) -> np.ndarray:
    if isinstance(radius, numbers.Real):
        return lens_volume(r, float(radius), ndim)
    r = np.asarray(r, dtype=np.float64)
    if _is_truncated(radius):
        # E[K | R <= R_eps] = (1 / (1 - eps)) int K(r; isf(e^-t)) e^-t dt over t from
        # -ln(1 - F(r/2)) (the lens is empty for R < r/2) to -ln(eps), in panels halving
        # towards the lower end, where both the kink and the quantile's behaviour near
        # u = 0 make the integrand rough
        nodes, weights = np.polynomial.legendre.leggauss(TAIL_NODES)
        edges = np.concatenate(([0.0], 0.5 ** np.arange(TAIL_PANELS - 1, -1, -1.0)))
        x = (edges[:-1, None] + np.diff(edges)[:, None] * (nodes + 1.0) / 2.0).ravel()
        w = (np.diff(edges)[:, None] / 2.0 * weights).ravel()
        lower = -np.log1p(-radius.cdf(r / 2.0))[..., None]
        width = np.maximum(-math.log(TAIL_PROBABILITY) - lower, 0.0)
        t = lower + width * x
        values = lens_volume(r[..., None], radius.isf(np.exp(-t)), ndim) * np.exp(-t)
        return width[..., 0] * (values @ w) / (1.0 - TAIL_PROBABILITY)
    nodes, weights = np.polynomial.legendre.leggauss(QUADRATURE_NODES)
    lower = radius.cdf(r / 2.0)[..., None]  # the lens is empty for R < r/2
    u = lower + (1.0 - lower) * (nodes + 1.0) / 2.0
    values = lens_volume(r[..., None], radius.ppf(u), ndim)
    return (1.0 - lower[..., 0]) / 2.0 * (values @ weights)


def _mean_ball_volume(radius: RadiusLike, ndim: int) -> float:
    if isinstance(radius, numbers.Real):
        return float(ball_volume(float(radius), ndim))
    if _is_truncated(radius):  # the lens at distance 0 is the ball
        return float(_mean_lens_volume(np.array(0.0), radius, ndim))
    return float(ball_volume(1.0, ndim)) * float(radius.moment(ndim))


def _is_truncated(radius: RadiusLike) -> bool:
    """True for a distribution of unbounded support (truncated at TAIL_PROBABILITY)."""
    return not isinstance(radius, numbers.Real) and not math.isfinite(radius.support()[1])


def _largest_radius(radius: RadiusLike) -> float:
    if isinstance(radius, numbers.Real):
        return float(radius)
    if _is_truncated(radius):
        return float(radius.isf(TAIL_PROBABILITY))
    return float(radius.support()[1])


def _check_ndim(ndim: object) -> int:
    ndim = as_integer(ndim, "ndim", minimum=1)
    if ndim > MAX_NDIM:
        raise ValueError(f"ndim must be 1 to {MAX_NDIM}, got {ndim}")
    return ndim


def _check_radius(
    radius: object, name: str, shape: tuple[int, ...] | None, spacing: float
) -> None:
    """A positive float or a frozen continuous distribution on [0, half the box]."""
    if isinstance(radius, numbers.Real) and not isinstance(radius, bool):
        largest = as_positive(radius, name)
    elif isinstance(getattr(radius, "dist", None), scipy.stats.rv_continuous):
        low, high = (float(v) for v in radius.support())
        if low < 0.0:
            raise ValueError(
                f"{name} distribution must have a support in [0, inf), got [{low:g}, {high:g}]; "
                "truncate it, e.g. scipy.stats.truncnorm, or use a positive law such as "
                "scipy.stats.lognorm"
            )
        largest = _largest_radius(radius)
        if shape is not None and _is_truncated(radius):
            half_box = min(shape) * spacing / 2.0
            if largest > half_box:
                raise ValueError(
                    f"{name} distribution has an unbounded support, truncated at its "
                    f"1 - {TAIL_PROBABILITY:g} quantile {largest:g}, which must be at most "
                    f"half the smallest box edge ({half_box:g}); use a larger box or a "
                    "distribution truncated below it"
                )
    else:
        raise TypeError(
            f"{name} must be a positive float or a frozen scipy.stats continuous "
            f"distribution, got {radius!r}"
        )
    if shape is not None:
        check_radius_fits(largest, shape, spacing, name)


def _intensity(intensity: object, volume_fraction: object, radius: RadiusLike, ndim: int) -> float:
    if exactly_one(intensity=intensity, volume_fraction=volume_fraction) == "intensity":
        return as_positive(intensity, "intensity")
    phi = as_real_in(volume_fraction, "volume_fraction", 0.0, 1.0)
    return -math.log1p(-phi) / _mean_ball_volume(radius, ndim)
