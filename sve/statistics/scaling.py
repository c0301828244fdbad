r"""Kanit's variance law: integral range, anomalous scaling, RVE size, realizations needed."""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import stats

from sve._validation import check_integer, check_positive_values, check_real
from sve.statistics.ensemble import check_fit_input, in_memory, log_variance_fit

_REFERENCE = (
    "Kanit, T., Forest, S., Galliet, I., Mounoury, V., Jeulin, D. (2003), Int. J. Solids "
    "Struct. 40, 3647-3679"
)


def point_variance(
    volume_fraction: float | xr.DataArray, property_1: float, property_2: float
) -> float | xr.DataArray:
    r"""Point variance :math:`D^2 = \varphi (1 - \varphi) (Z_1 - Z_2)^2` of a two-phase property.

    Parameters
    ----------
    volume_fraction : float or xarray.DataArray
        Fraction :math:`\varphi \in (0, 1)` of phase 1 (dimensionless).
    property_1, property_2 : float
        The property of phase 1 and of phase 2 (any units).

    Returns
    -------
    float or xarray.DataArray
        :math:`D^2`, in the units of the property squared: the variance of
        the property at one point, the one-voxel limit of the apparent
        variance [1]_.

    References
    ----------
    .. [1] T. Kanit et al. (2003), Int. J. Solids Struct. 40, 3647-3679, eq. (20).

    Examples
    --------
    >>> point_variance(0.5, 10.0, 1.0)
    20.25
    """
    phi = volume_fraction
    values = phi.values if isinstance(phi, xr.DataArray) else phi
    if not np.all((np.asarray(values) > 0) & (np.asarray(values) < 1)):
        raise ValueError(f"volume_fraction must be in (0, 1), got {volume_fraction!r}")
    for name, value in (("property_1", property_1), ("property_2", property_2)):
        check_real(value, name, -np.inf, np.inf)
    if property_1 == property_2:
        raise ValueError(f"property_1 and property_2 must differ, got {property_1!r} twice")
    return phi * (1 - phi) * (property_1 - property_2) ** 2


def fit_integral_range(
    statistics: xr.Dataset,
    *,
    ndim: int,
    point_variance: float | xr.DataArray,
    length: str = "length",
    confidence: float = 0.95,
) -> xr.Dataset:
    r"""Fit Kanit's law :math:`D^2(V) = D^2 (A / V)^\alpha`: exponent, integral range, anomaly.

    Parameters
    ----------
    statistics : xarray.Dataset
        Output of :func:`ensemble_statistics` (``variance``, ``n``, the
        coordinate ``length`` along ``size``), >= 3 sizes.
    ndim : int
        Dimension d of the volume elements (1, 2 or 3): :math:`V = L^d`.
    point_variance : float or xarray.DataArray
        :math:`D^2 > 0`, the point variance of the property (units of the
        property squared), e.g. :func:`point_variance` for two phases, or
        the variance of the one-voxel property; a DataArray may vary per bc
        or component.
    length : str
        Name of the length coordinate (physical units).
    confidence : float in (0, 1)
        Level of the intervals and of the anomaly test.

    Returns
    -------
    xarray.Dataset
        For every remaining dimension (``bc``, ``i``, ``j``):
        ``alpha`` (dimensionless) with ``alpha_low``/``alpha_high``;
        ``integral_range`` A (length units to the power d) with
        ``integral_range_low``/``integral_range_high``; ``p_anomalous``
        (one-sided p-value of γ = −d against γ > −d); ``anomalous`` (bool,
        ``p_anomalous < 1 − confidence``); ``scaling`` (str label); and the fit
        itself, ``exponent`` γ of :math:`D^2 \propto L^\gamma`,
        ``exponent_se``, ``log_length_center`` :math:`\bar x`,
        ``log_variance_center`` c and ``log_variance_center_se`` (the fit is
        :math:`\ln D^2(L) = c + \gamma (\ln L - \bar x)`), used by
        :func:`rve_size`.

    Notes
    -----
    With :math:`V = L^d`, :math:`\gamma = -\alpha d`. The line is the weighted
    fit of :func:`fit_variance_scaling`, centred at the weighted mean
    :math:`\bar x` of :math:`\ln L` so that c and γ are uncorrelated. The
    integral range is where the fitted law reaches the point variance,

    .. math:: \ln A = d \bar x + d\, \frac{\ln D^2 - c}{\gamma},

    with the delta-method variance :math:`(d/\gamma)^2 \sigma_c^2 + (d (\ln
    D^2 - c)/\gamma^2)^2 \sigma_\gamma^2` and a log-normal interval [1]_.
    :math:`D^2` is taken as exact (it is a property of the phases). For
    short-range media :math:`\alpha = 1` and A is Matheron's integral range;
    with :math:`\alpha \ne 1` A is only the scale parameter of the law.

    Long-range correlations (:math:`C(r) \sim r^{-\beta}`, β < d) make the
    variance decay like :math:`L^{-\beta}`, slower than :math:`L^{-d}` [2]_.
    The anomaly test is one-sided, :math:`z = (\gamma + d)/\sigma_\gamma`,
    :math:`p = 1 - \Phi(z)`; an exponent significantly *steeper* than −d is
    not anomalous in this sense (boundary effects at small sizes can cause
    it) and is only visible in ``exponent``.

    References
    ----------
    .. [1] T. Kanit et al. (2003), Int. J. Solids Struct. 40, 3647-3679.
    .. [2] C. Lantuéjoul, "Ergodicity and integral range", J. Microsc. 161(3),
       387-403, 1991.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from sve.statistics import synthetic_study
    >>> ds = synthetic_study()  # sizes 8 to 64, 50 realizations, variance 4 / L^2
    >>> sizes = ds["size"].values
    >>> from sve.statistics import ensemble_statistics
    >>> kanit = fit_integral_range(ensemble_statistics(ds), ndim=2, point_variance=4.0)
    >>> str(kanit["scaling"].sel(bc="periodic").values)  # D^2(V) = 4 (A / V), A = 1
    'short-range (L^-d)'
    >>> bool(kanit["integral_range_low"] < 1.0 < kanit["integral_range_high"])
    True
    """
    check_fit_input(statistics, length, confidence)
    statistics = in_memory(statistics)
    ndim = check_integer(ndim, "ndim", 1)
    if ndim > 3:
        raise ValueError(f"ndim must be 1, 2 or 3, got {ndim!r}")
    check_positive_values(point_variance, "point_variance")
    slope, slope_se, center, center_se, x_center, _ = xr.apply_ufunc(
        log_variance_fit,
        statistics["variance"],
        statistics["n"],
        np.log(statistics[length]),
        input_core_dims=[["size"], ["size"], ["size"]],
        output_core_dims=[[]] * 6,
        vectorize=True,
    )
    z = stats.norm.ppf(0.5 + confidence / 2)
    log_d2 = np.log(point_variance)
    log_a = ndim * x_center + ndim * (log_d2 - center) / slope
    log_a_se = np.sqrt(
        (ndim / slope) ** 2 * center_se**2
        + (ndim * (log_d2 - center) / slope**2) ** 2 * slope_se**2
    )
    p = xr.apply_ufunc(stats.norm.sf, (slope + ndim) / slope_se)
    anomalous = p < 1 - confidence
    label = xr.where(anomalous, "anomalous (slower than L^-d: long-range)", "short-range (L^-d)")
    # A fit so loose that A or its interval exceeds ~1e308 gives +inf (an unbounded
    # interval, printed as such), not an overflow warning.
    with np.errstate(over="ignore"):
        a, a_low, a_high = (
            np.exp(log_a), np.exp(log_a - z * log_a_se), np.exp(log_a + z * log_a_se)
        )  # fmt: skip
    out = xr.Dataset(
        {
            "alpha": -slope / ndim,
            "alpha_low": -(slope + z * slope_se) / ndim,
            "alpha_high": -(slope - z * slope_se) / ndim,
            "integral_range": a,
            "integral_range_low": a_low,
            "integral_range_high": a_high,
            "p_anomalous": p,
            "anomalous": anomalous & np.isfinite(slope),
            "scaling": label.where(np.isfinite(slope), "no fit"),
            "exponent": slope,
            "exponent_se": slope_se,
            "log_length_center": x_center,
            "log_variance_center": center,
            "log_variance_center_se": center_se,
        }
    )
    unit = statistics[length].attrs.get("units", "1")
    out["integral_range"].attrs.update(units=f"({unit})^{ndim}", long_name="Kanit integral range")
    out.attrs.update(confidence=confidence, ndim=ndim, reference=_REFERENCE)
    return out


def _largest_size_mean(statistics: xr.Dataset) -> tuple[xr.DataArray, xr.DataArray]:
    """Mean at the largest size with a finite mean, and the variance of its logarithm."""
    if not isinstance(statistics, xr.Dataset):
        raise TypeError(f"statistics must be an xarray.Dataset, got {type(statistics).__name__}")
    for name in ("mean", "variance", "n"):
        if name not in statistics:
            raise ValueError(f"statistics has no variable {name!r}")
    last = statistics.isel(size=-1)
    if np.any(last["mean"].values == 0):
        raise ValueError("the mean at the largest size must be non-zero for a relative error")
    return np.abs(last["mean"]), last["variance"] / (last["n"] * last["mean"] ** 2)


def rve_size(
    fit: xr.Dataset,
    statistics: xr.Dataset,
    *,
    relative_error: float,
    realizations: int = 1,
) -> xr.Dataset:
    r"""RVE volume for a relative error of the mean of n realizations (Kanit et al. 2003).

    Parameters
    ----------
    fit : xarray.Dataset
        Output of :func:`fit_integral_range`.
    statistics : xarray.Dataset
        The :func:`ensemble_statistics` it was fitted on (``mean``, ``variance``,
        ``n``); :math:`\bar Z` is the mean at the largest size.
    relative_error : float
        Target relative error ε in (0, 1) (e.g. 0.01 for 1 %).
    realizations : int, default 1
        Number n >= 1 of realizations averaged at that volume.

    Returns
    -------
    xarray.Dataset
        ``rve_volume`` (length units to the power d) with ``rve_volume_low``
        / ``rve_volume_high`` and ``rve_length`` :math:`V^{1/d}`, per bc (and
        component); ``extrapolated`` (bool) when the RVE lies outside the
        fitted sizes. NaN where the variance does not decrease.

    Notes
    -----
    The relative error of the mean of n realizations of volume V is
    :math:`\varepsilon = 2 D(V) / (\bar Z \sqrt n)` (two standard errors), so

    .. math::

        V_\mathrm{RVE} = A \left[\frac{4 D^2}{\varepsilon^2 \bar Z^2 n}\right]^{1/\alpha},
        \qquad
        \ln L_\mathrm{RVE} = \bar x + \frac{\ln(\varepsilon^2 \bar Z^2 n / 4) - c}{\gamma},

    the second form (the fit of :func:`fit_integral_range`) showing that the
    point variance :math:`D^2` cancels: the RVE size depends only on the
    fitted line. Its uncertainty is propagated by the delta method from the
    independent errors of c, γ and :math:`\ln \bar Z` (variance
    :math:`s^2 / (n \bar Z^2)` at the largest size); the interval is
    log-normal.

    References
    ----------
    .. [1] T. Kanit et al. (2003), Int. J. Solids Struct. 40, 3647-3679, eq. (23).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from sve.statistics import synthetic_study
    >>> ds = synthetic_study()  # sizes 8 to 64, 50 realizations, variance 4 / L^2
    >>> sizes = ds["size"].values
    >>> from sve.statistics import ensemble_statistics
    >>> stats = ensemble_statistics(ds)
    >>> kanit = fit_integral_range(stats, ndim=2, point_variance=4.0)
    >>> rve = rve_size(kanit, stats, relative_error=0.01).sel(bc="periodic")
    >>> # 2 D / (Z sqrt(V)) = 0.01 with D^2 = 4 / V, Z = 3: L = sqrt(V) = 400 / 3 = 133
    >>> bool(rve["rve_volume_low"] < (400 / 3) ** 2 < rve["rve_volume_high"])
    True
    >>> bool(rve["extrapolated"])  # beyond the largest measured size, 64
    True
    """
    relative_error = check_real(relative_error, "relative_error", 0.0, 1.0)
    realizations = check_integer(realizations, "realizations", 1)
    for name in ("exponent", "exponent_se", "log_length_center", "log_variance_center"):
        if not isinstance(fit, xr.Dataset) or name not in fit:
            raise ValueError(f"fit must be the output of fit_integral_range (no {name!r})")
    fit, statistics = in_memory(fit), in_memory(statistics)
    zbar, log_zbar_var = _largest_size_mean(statistics)
    d = fit.attrs["ndim"]
    slope, c = fit["exponent"].where(fit["exponent"] < 0), fit["log_variance_center"]
    target = np.log(relative_error**2 * zbar**2 * realizations / 4)
    log_length = fit["log_length_center"] + (target - c) / slope
    log_length_se = np.sqrt(
        (fit["log_variance_center_se"] / slope) ** 2
        + ((target - c) / slope**2 * fit["exponent_se"]) ** 2
        + (2 / slope) ** 2 * log_zbar_var
    )
    z = stats.norm.ppf(0.5 + fit.attrs["confidence"] / 2)
    lengths = np.log(statistics["length"]) if "length" in statistics.coords else None
    with np.errstate(over="ignore"):  # an unbounded interval is +inf, as in fit_integral_range
        out = xr.Dataset(
            {
                "rve_volume": np.exp(d * log_length),
                "rve_volume_low": np.exp(d * (log_length - z * log_length_se)),
                "rve_volume_high": np.exp(d * (log_length + z * log_length_se)),
                "rve_length": np.exp(log_length),
            }
        )
    if lengths is not None:
        out["extrapolated"] = (log_length > lengths.max()) | (log_length < lengths.min())
    out.attrs.update(
        relative_error=relative_error, realizations=realizations, reference=_REFERENCE
    )
    return out


def realizations_needed(statistics: xr.Dataset, *, relative_error: float) -> xr.Dataset:
    r"""Realizations needed at each measured size for a relative error ε of the mean.

    Parameters
    ----------
    statistics : xarray.Dataset
        Output of :func:`ensemble_statistics`.
    relative_error : float
        Target ε in (0, 1).

    Returns
    -------
    xarray.Dataset
        ``realizations`` :math:`\lceil 4 s^2(L) / (\varepsilon^2 \bar Z^2) \rceil`
        (float, NaN where undefined) with ``realizations_low`` /
        ``realizations_high`` from the chi-square interval of :math:`s^2` at
        the statistics' confidence; dimensions of ``statistics`` minus none.

    Notes
    -----
    :math:`\bar Z` is the mean at the largest size, as in :func:`rve_size`.
    The interval of :math:`s^2` is :math:`[(n-1)s^2/\chi^2_{n-1,(1+c)/2},
    (n-1)s^2/\chi^2_{n-1,(1-c)/2}]`, exact for normal samples [1]_.

    References
    ----------
    .. [1] T. Kanit et al. (2003), Int. J. Solids Struct. 40, 3647-3679.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from sve.statistics import synthetic_study
    >>> ds = synthetic_study()  # sizes 8 to 64, 50 realizations, variance 4 / L^2
    >>> sizes = ds["size"].values
    >>> from sve.statistics import ensemble_statistics
    >>> needed = realizations_needed(ensemble_statistics(ds), relative_error=0.01)
    >>> n = needed.sel(bc="periodic")  # 4 s^2 / (0.01 Z)^2 with s^2 = 4 / L^2, Z = 3
    >>> bool(((n["realizations_low"] <= 4 * 4 / (0.03 * sizes) ** 2)
    ...       & (4 * 4 / (0.03 * sizes) ** 2 <= n["realizations_high"])).all())
    True
    """
    relative_error = check_real(relative_error, "relative_error", 0.0, 1.0)
    zbar, _ = _largest_size_mean(statistics)
    statistics = in_memory(statistics)
    confidence = statistics.attrs.get("confidence", 0.95)
    dof = (statistics["n"] - 1).where(statistics["n"] >= 2)
    scale = 4 / (relative_error**2 * zbar**2)
    upper = xr.apply_ufunc(stats.chi2.ppf, 0.5 + confidence / 2, dof)
    lower = xr.apply_ufunc(stats.chi2.ppf, 0.5 - confidence / 2, dof)
    out = xr.Dataset(
        {
            "realizations": np.ceil(scale * statistics["variance"]),
            "realizations_low": np.ceil(scale * statistics["variance"] * dof / upper),
            "realizations_high": np.ceil(scale * statistics["variance"] * dof / lower),
        }
    )
    out.attrs.update(relative_error=relative_error, confidence=confidence)
    return out
