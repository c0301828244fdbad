r"""Stationarity and ergodicity: one large realization against independent realizations."""

from __future__ import annotations

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike
from scipy import stats

from ._validation import check_confidence, check_positive_values, check_real


def _field(values: ArrayLike, name: str, ndim: tuple[int, ...]) -> np.ndarray:
    array = np.asarray(values)
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    if array.ndim not in ndim:
        raise ValueError(
            f"{name} must be {' or '.join(map(str, ndim))}-D, got shape {array.shape}"
        )
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return array


def tile_means(field: np.ndarray, window: tuple[int, ...]) -> np.ndarray:
    """Means of the non-overlapping windows tiling ``field`` from its origin (remainder cut)."""
    counts = [n // w for n, w in zip(field.shape, window, strict=True)]
    cropped = field[tuple(slice(0, c * w) for c, w in zip(counts, window, strict=True))]
    split = [v for c, w in zip(counts, window, strict=True) for v in (c, w)]
    return cropped.reshape(split).mean(axis=tuple(range(1, 2 * field.ndim, 2))).ravel()


def ergodicity_test(
    large: ArrayLike, realizations: ArrayLike, *, confidence: float = 0.99
) -> xr.Dataset:
    r"""Two-sample tests of the window means of one large realization against an ensemble.

    Parameters
    ----------
    large : array_like of float, shape (N0, ..., N_{d-1}), d = 1, 2 or 3
        One large realization of the field (a property, or a phase indicator).
    realizations : array_like of float, shape (n, W0, ..., W_{d-1})
        n >= 3 independent realizations of the window (same sampling mode as
        the windows of ``large``: windows of larger samples, or all periodic).
        ``large`` must hold at least 3 windows of shape (W0, ...).
    confidence : float in (0, 1), default 0.99
        The medium is flagged when ``p_value < 1 - confidence``.

    Returns
    -------
    xarray.Dataset
        Scalars: ``tile_mean`` and ``tile_variance`` (mean and unbiased
        variance of the k window means of ``large``), ``ensemble_mean`` and
        ``ensemble_variance`` (of the n realization means), ``n_tiles``,
        ``n_realizations``; ``p_mean`` (Welch t test, equal means),
        ``p_variance`` (two-sided F test, equal variances), ``p_value``
        (Bonferroni: ``min(1, 2 min(p_mean, p_variance))``) and ``flagged``
        (bool): stationarity or ergodicity rejected.

    Notes
    -----
    If the medium is stationary and ergodic, the k window means of one large
    realization and the n means of independent realizations are two samples
    of the same law [1]_: nearly independent and nearly normal once the
    window is much larger than the integral range (:math:`D^2(V) = \sigma^2
    A / V`). The tests:

    * Welch's t test compares the means without assuming equal variances:
      it catches a large realization whose spatial average is not the
      ensemble mean (a per-realization offset, a drifting mean).
    * The F test :math:`F = s_\mathrm{ens}^2 / s_\mathrm{tile}^2` with
      (n − 1, k − 1) degrees of freedom, two-sided, compares the spreads: a
      random per-realization offset adds its variance to the ensemble only
      (F large, non-ergodic), a trend inside the large sample widens the
      tiles only (F small, non-stationary). The F test is exact for normal
      samples and the window means are normal by the central limit theorem,
      which is why it is preferred here to rank-based tests of scale.

    The Bonferroni combination keeps the false-positive rate at or below
    ``1 - confidence`` without assuming the two p-values independent.

    References
    ----------
    .. [1] C. Lantuéjoul, "Ergodicity and integral range", J. Microsc. 161(3),
       387-403, 1991.
    .. [2] B. L. Welch, "The generalization of Student's problem when several
       different population variances are involved", Biometrika 34, 28-35, 1947.
    """
    field = _field(large, "large", (1, 2, 3))
    ensemble = _field(realizations, "realizations", (field.ndim + 1,))
    confidence = check_confidence(confidence)
    window = ensemble.shape[1:]
    if ensemble.shape[0] < 3:
        raise ValueError(f"realizations must hold at least 3 samples, got {ensemble.shape[0]}")
    tiles = (
        tile_means(field, window)
        if all(w <= n for w, n in zip(window, field.shape, strict=True))
        else np.empty(0)
    )
    if tiles.size < 3:
        raise ValueError(
            f"large (shape {field.shape}) must hold at least 3 windows of shape {window}, "
            f"got {tiles.size}"
        )
    means = ensemble.reshape(ensemble.shape[0], -1).mean(axis=1)
    p_mean = stats.ttest_ind(tiles, means, equal_var=False).pvalue
    ratio = means.var(ddof=1) / tiles.var(ddof=1)
    tail = stats.f.cdf(ratio, means.size - 1, tiles.size - 1)
    p_variance = 2 * min(tail, 1 - tail)
    p_value = min(1.0, 2 * min(p_mean, p_variance))
    out = xr.Dataset(
        {
            "tile_mean": tiles.mean(),
            "tile_variance": tiles.var(ddof=1),
            "ensemble_mean": means.mean(),
            "ensemble_variance": means.var(ddof=1),
            "n_tiles": tiles.size,
            "n_realizations": means.size,
            "p_mean": float(p_mean),
            "p_variance": float(p_variance),
            "p_value": p_value,
            "flagged": p_value < 1 - confidence,
        }
    )
    out.attrs.update(window=list(window), confidence=confidence)
    return out


def spatial_average_convergence(
    large: ArrayLike,
    *,
    ensemble_mean: float,
    point_variance: float,
    integral_range: float,
    spacing: float = 1.0,
    confidence: float = 0.99,
) -> xr.Dataset:
    r"""Spatial average of growing windows of one realization against the integral-range band.

    Parameters
    ----------
    large : array_like of float, 1-D to 3-D
        One large realization.
    ensemble_mean : float
        The ensemble (expected) mean of the field.
    point_variance : float
        Point variance :math:`\sigma^2 > 0` of the field.
    integral_range : float
        Integral range A > 0, physical length units to the power d.
    spacing : float, default 1.0
        Voxel edge length, physical length units.
    confidence : float in (0, 1), default 0.99
        Level of the band.

    Returns
    -------
    xarray.Dataset
        Along ``size`` (window edges :math:`N_\min / 2^k` in voxels, at least
        4, the whole sample last; coordinate ``length`` in physical units):
        ``spatial_mean`` (the mean over the window at the origin),
        ``band`` (half-width :math:`z \sqrt{\sigma^2 A / V}`), ``z_score``,
        ``inside`` (bool); scalar ``converged``: every window inside.

    Notes
    -----
    For a stationary ergodic field and :math:`V \gg A` the spatial average
    over V is normal with mean the ensemble mean and variance
    :math:`\sigma^2 A / V` [1]_; a non-ergodic field converges to its own
    realization's mean instead and leaves the shrinking band. The windows
    are nested, so their deviations are correlated: read ``inside`` as a
    per-size check, not as independent tests.

    References
    ----------
    .. [1] G. Matheron, *Estimer et choisir*, Les Cahiers du CMM de
       Fontainebleau 7, 1978; C. Lantuéjoul (1991), J. Microsc. 161(3), 387-403.
    """
    field = _field(large, "large", (1, 2, 3))
    check_real(ensemble_mean, "ensemble_mean", -np.inf, np.inf)
    check_positive_values(point_variance, "point_variance")
    check_positive_values(integral_range, "integral_range")
    spacing = check_real(spacing, "spacing", 0.0, np.inf)
    confidence = check_confidence(confidence)
    smallest = min(field.shape)
    sizes = sorted({max(smallest >> k, 4) for k in range(8)} | {smallest})
    means = np.array([field[(slice(0, n),) * field.ndim].mean() for n in sizes])
    volumes = (np.array(sizes) * spacing) ** field.ndim
    sd = np.sqrt(point_variance * integral_range / volumes)
    z = (means - ensemble_mean) / sd
    band = stats.norm.ppf(0.5 + confidence / 2) * sd
    inside = np.abs(means - ensemble_mean) <= band
    coords = {"size": sizes, "length": ("size", np.array(sizes) * spacing)}
    out = xr.Dataset(
        {
            "spatial_mean": ("size", means),
            "band": ("size", band),
            "z_score": ("size", z),
            "inside": ("size", inside),
            "converged": bool(inside.all()),
        },
        coords=coords,
    )
    out.attrs.update(confidence=confidence, ensemble_mean=ensemble_mean)
    return out
