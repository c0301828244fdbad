r"""Stationarity and ergodicity: one large realization against independent realizations.

Field level (:func:`ergodicity_test`, :func:`spatial_average_convergence`):
arrays of one large realization and of independent ones. Study level
(:func:`window_ergodicity`, :func:`spatial_average_band`): the apparent
properties of a study run with ``sampling.mode = "both"`` (dimension
``sampling`` = "independent", "windows"), Dataset in, Dataset out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike
from scipy import stats

from sve._validation import check_confidence, check_positive_values, check_real
from sve.statistics.ensemble import check_study, in_memory, ok_values


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

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> large = rng.standard_normal((64, 64))  # white noise: 16 windows of 16 x 16
    >>> test = ergodicity_test(large, rng.standard_normal((20, 16, 16)))
    >>> int(test["n_tiles"]), bool(test["flagged"])
    (16, False)
    >>> bool(ergodicity_test(large, 1.0 + rng.standard_normal((20, 16, 16)))["flagged"])
    True
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
    p_mean, p_variance, p_value = _two_sample(tiles, means)
    out = xr.Dataset(
        {
            "tile_mean": tiles.mean(),
            "tile_variance": tiles.var(ddof=1),
            "ensemble_mean": means.mean(),
            "ensemble_variance": means.var(ddof=1),
            "n_tiles": tiles.size,
            "n_realizations": means.size,
            "p_mean": p_mean,
            "p_variance": p_variance,
            "p_value": p_value,
            "flagged": p_value < 1 - confidence,
        }
    )
    out.attrs.update(window=list(window), confidence=confidence)
    return out


def _two_sample(tiles: np.ndarray, means: np.ndarray) -> tuple[float, float, float]:
    """Welch t p-value, two-sided F p-value and their Bonferroni combination.

    Equal samples with zero spread (a homogeneous medium) are no evidence of
    anything: p = 1 where a statistic is 0/0.
    """
    spread_t, spread_m = tiles.var(ddof=1), means.var(ddof=1)
    if spread_t == 0 and spread_m == 0:
        same = bool(np.isclose(tiles.mean(), means.mean(), rtol=1e-12, atol=0))
        p_mean, p_variance = (1.0 if same else 0.0), 1.0
    elif spread_t == 0 or spread_m == 0:
        p_mean = float(stats.ttest_ind(tiles, means, equal_var=False).pvalue)
        p_variance = 0.0  # one sample has no spread at all, the other has
    else:
        p_mean = float(stats.ttest_ind(tiles, means, equal_var=False).pvalue)
        tail = stats.f.cdf(spread_m / spread_t, means.size - 1, tiles.size - 1)
        p_variance = float(2 * min(tail, 1 - tail))
    return p_mean, p_variance, min(1.0, 2 * min(p_mean, p_variance))


#: Fewest ok values of each sample (windows, independent realizations) a test needs.
MIN_SAMPLE = 3


def window_ergodicity(
    ds: xr.Dataset,
    variable: str | None = None,
    *,
    isotropic: bool = True,
    confidence: float = 0.99,
    bcs: Sequence[str] | None = None,
) -> xr.Dataset:
    r"""Windows of one parent against independent realizations, per size and bc.

    Parameters
    ----------
    ds : xarray.Dataset
        A study dataset with a ``sampling`` dimension holding "independent"
        and "windows" (study ``sampling.mode = "both"``); only ok records
        count.
    variable : str or None
        The apparent property (default: the study's tensor).
    isotropic : bool, default True
        Test its isotropic part (tr(K)/d or the bulk modulus i.C.i/d²).
    confidence : float in (0, 1), default 0.99
        Ergodicity is rejected when a p-value is below ``1 - confidence``.
    bcs : sequence of str or None
        The boundary conditions the combined verdict uses. Default: every bc
        but "periodic" when the study has another one (periodic conditions
        on a window measure the periodized window, biased against periodic
        realizations by O(ℓ/L) even for an ergodic medium), else all.

    Returns
    -------
    xarray.Dataset
        Per ``size`` and ``bc``: ``window_mean``, ``window_variance``,
        ``n_windows``, ``ensemble_mean``, ``ensemble_variance``,
        ``n_realizations`` (over the ok values of each sample), ``p_mean``
        (Welch t), ``p_variance`` (two-sided F), ``p_value``
        (``min(1, 2 min(p_mean, p_variance))``), ``testable`` (both samples
        >= 3 values; NaN p-values elsewhere), ``flagged``. Scalars:
        ``combined_p_value`` (Bonferroni over the ``k`` testable (size, bc)
        pairs of ``bcs``: ``min(1, k min p_value)``, NaN when k = 0),
        ``n_tests`` (k) and ``flagged_combined`` (``combined_p_value <
        1 - confidence``). ``attrs``: ``confidence``, ``bcs``.

    Notes
    -----
    Under stationarity and ergodicity the windows of one large realization
    and independent realizations of the same size are two samples of one
    law [1]_ (for windows much larger than the integral range, where the
    periodic realizations and the non-periodic windows differ by O(ℓ/L)).
    The two tests are those of :func:`ergodicity_test`: a random
    per-realization offset moves the windows' mean away from the ensemble
    mean (Welch) and adds its variance to the ensemble only (F). The
    windows of one parent are not exactly independent (neighbours share
    their boundary region), nor are the tests at different sizes (one
    parent): Bonferroni keeps the combined false-positive rate at or below
    ``1 - confidence`` whatever their dependence.

    References
    ----------
    .. [1] C. Lantuéjoul, "Ergodicity and integral range", J. Microsc. 161(3),
       387-403, 1991.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> z = 3.0 + np.random.default_rng(0).standard_normal((2, 12, 2, 2))
    >>> ds = xr.Dataset(
    ...     {"conductivity": (("size", "realization", "bc", "sampling", "i", "j"),
    ...                       z[..., None, None]),
    ...      "status": (("size", "realization", "bc", "sampling"), np.ones(z.shape, np.int8))},
    ...     coords={"size": [8, 16], "bc": ["kinematic", "static"],
    ...             "sampling": ["independent", "windows"], "i": [0], "j": [0]})
    >>> out = window_ergodicity(ds)  # one law for windows and realizations
    >>> int(out["n_tests"]), bool(out["flagged_combined"])
    (4, False)
    >>> ds["conductivity"].loc[{"sampling": "windows"}] += 2.0  # the windows are offset
    >>> bool(window_ergodicity(ds)["flagged_combined"])
    True
    """
    variable = check_study(ds, variable)
    ds = in_memory(ds)
    confidence = check_confidence(confidence)
    samplings = list(ds["sampling"].values) if "sampling" in ds.dims else []
    if not {"independent", "windows"} <= set(samplings):
        raise ValueError(
            "ds must have a 'sampling' dimension with 'independent' and 'windows' "
            f"(a study with sampling.mode = 'both'), got {samplings or 'none'}"
        )
    all_bcs = [str(b) for b in ds["bc"].values]
    if bcs is None:
        bcs = [b for b in all_bcs if b != "periodic"] or all_bcs
    else:
        bcs = [bcs] if isinstance(bcs, str) else list(bcs)
        unknown = [b for b in bcs if b not in all_bcs]
        if unknown or not bcs:
            raise ValueError(f"bcs must be a non-empty subset of {all_bcs}, got {bcs}")
    values = ok_values(ds, variable, isotropic)
    windows = values.sel(sampling="windows").transpose("size", "bc", "realization").values
    ensemble = values.sel(sampling="independent").transpose("size", "bc", "realization").values
    shape = windows.shape[:2]
    names = ("window_mean", "window_variance", "ensemble_mean", "ensemble_variance",
             "p_mean", "p_variance", "p_value")  # fmt: skip
    table = {name: np.full(shape, np.nan) for name in names}
    counts = {"n_windows": np.zeros(shape, np.int64), "n_realizations": np.zeros(shape, np.int64)}
    for index in np.ndindex(shape):
        tiles, means = windows[index], ensemble[index]
        tiles, means = tiles[np.isfinite(tiles)], means[np.isfinite(means)]
        counts["n_windows"][index], counts["n_realizations"][index] = tiles.size, means.size
        if tiles.size:
            table["window_mean"][index] = tiles.mean()
        if means.size:
            table["ensemble_mean"][index] = means.mean()
        if tiles.size >= 2:
            table["window_variance"][index] = tiles.var(ddof=1)
        if means.size >= 2:
            table["ensemble_variance"][index] = means.var(ddof=1)
        if tiles.size >= MIN_SAMPLE and means.size >= MIN_SAMPLE:
            p = _two_sample(tiles, means)
            table["p_mean"][index], table["p_variance"][index], table["p_value"][index] = p
    dims = ("size", "bc")
    out = xr.Dataset(
        {name: (dims, value) for name, value in {**table, **counts}.items()},
        coords={"size": ds["size"], "bc": ds["bc"]},
    )
    if "length" in ds.coords:
        out = out.assign_coords(length=ds["length"])
    out["testable"] = np.isfinite(out["p_value"])
    out["flagged"] = out["p_value"] < 1 - confidence
    used = out["p_value"].sel(bc=bcs).values
    used = used[np.isfinite(used)]
    out["n_tests"] = used.size
    out["combined_p_value"] = min(1.0, used.size * used.min()) if used.size else np.nan
    out["flagged_combined"] = bool(used.size) and out["combined_p_value"].item() < 1 - confidence
    out.attrs.update(confidence=confidence, bcs=list(bcs))
    return out


def spatial_average_band(
    spatial_mean: ArrayLike,
    lengths: ArrayLike,
    *,
    ndim: int,
    ensemble_mean: float,
    point_variance: float,
    integral_range: float,
    confidence: float = 0.99,
) -> xr.Dataset:
    r"""Spatial averages over growing windows of one realization against the integral-range band.

    The computation of :func:`spatial_average_convergence` on averages
    already taken (e.g. the phase-1 fractions of a study's parent,
    ``parent_volume_fraction``).

    Parameters
    ----------
    spatial_mean : array_like of float, shape (k,)
        The average over each window.
    lengths : array_like of float, shape (k,)
        Physical edge of each (cubic) window, > 0.
    ndim : int
        1, 2 or 3: window volume ``length**ndim``.
    ensemble_mean, point_variance, integral_range, confidence
        As for :func:`spatial_average_convergence` (``integral_range`` in
        physical length units to the power ``ndim``).

    Returns
    -------
    xarray.Dataset
        Along ``length``: ``spatial_mean``, ``band`` (half-width
        :math:`z \sqrt{\sigma^2 A / V}`), ``z_score``, ``inside``; scalar
        ``converged`` (every window inside) and ``last_inside`` (the
        largest window inside).

    Examples
    --------
    >>> band = spatial_average_band([0.52, 0.49, 0.501], [8.0, 16.0, 32.0], ndim=2,
    ...     ensemble_mean=0.5, point_variance=0.25, integral_range=4.0)
    >>> band["band"].round(4).values  # z sqrt(D^2 A / L^2), z = 2.576 at 99 %
    array([0.322 , 0.161 , 0.0805])
    >>> bool(band["converged"])
    True
    """
    means = np.asarray(spatial_mean, dtype=np.float64)
    lengths = np.asarray(lengths, dtype=np.float64)
    if means.ndim != 1 or lengths.shape != means.shape or not means.size:
        raise ValueError(
            f"spatial_mean and lengths must be 1-D of one non-zero length, got shapes "
            f"{means.shape} and {lengths.shape}"
        )
    if not (np.isfinite(means).all() and np.isfinite(lengths).all() and (lengths > 0).all()):
        raise ValueError("spatial_mean must be finite and lengths finite and > 0")
    if ndim not in (1, 2, 3) or isinstance(ndim, bool):
        raise ValueError(f"ndim must be 1, 2 or 3, got {ndim!r}")
    check_real(ensemble_mean, "ensemble_mean", -np.inf, np.inf)
    check_positive_values(point_variance, "point_variance")
    check_positive_values(integral_range, "integral_range")
    confidence = check_confidence(confidence)
    sd = np.sqrt(point_variance * integral_range / lengths**ndim)
    band = stats.norm.ppf(0.5 + confidence / 2) * sd
    inside = np.abs(means - ensemble_mean) <= band
    out = xr.Dataset(
        {
            "spatial_mean": ("length", means),
            "band": ("length", band),
            "z_score": ("length", (means - ensemble_mean) / sd),
            "inside": ("length", inside),
            "converged": bool(inside.all()),
            "last_inside": bool(inside[np.argmax(lengths)]),
        },
        coords={"length": lengths},
    )
    out.attrs.update(confidence=confidence, ensemble_mean=float(ensemble_mean))
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

    Examples
    --------
    >>> import numpy as np
    >>> large = np.random.default_rng(0).standard_normal((64, 64))  # A = 1 voxel
    >>> band = spatial_average_convergence(
    ...     large, ensemble_mean=0.0, point_variance=1.0, integral_range=1.0)
    >>> bool(band["converged"]), bool(band["inside"].all())
    (True, True)
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
