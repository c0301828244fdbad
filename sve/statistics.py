"""Ensemble statistics of study datasets: means, confidence intervals, variance scaling.

Dataset in, Dataset out (xarray); no Dask, no plotting. Only records whose
``status`` is ``ok`` enter the statistics.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import special, stats

__all__ = ["isotropic_part", "ensemble_statistics", "fit_variance_scaling"]

_OK = 1  # sve.study.tasks.STATUS["ok"]; the statistics layer must not import the study layer


def isotropic_part(tensor: xr.DataArray) -> xr.DataArray:
    """Mean of the diagonal, tr(K)/d, of a tensor with dimensions ``i`` and ``j``."""
    for dim in ("i", "j"):
        if dim not in tensor.dims:
            raise ValueError(f"tensor must have dimensions 'i' and 'j', got {tensor.dims}")
    diagonal = tensor.where(tensor["i"] == tensor["j"])
    return diagonal.sum(("i", "j"), skipna=True, min_count=1) / tensor.sizes["i"]


def _check_study(ds: xr.Dataset, variable: str) -> None:
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
    for name in (variable, "status"):
        if name not in ds:
            raise ValueError(f"ds has no variable {name!r}; variables: {list(ds.data_vars)}")
    if "realization" not in ds[variable].dims or "size" not in ds[variable].dims:
        raise ValueError(
            f"{variable} must have dimensions 'size' and 'realization', got {ds[variable].dims}"
        )


def ensemble_statistics(
    ds: xr.Dataset,
    variable: str = "conductivity",
    *,
    isotropic: bool = True,
    confidence: float = 0.95,
) -> xr.Dataset:
    """Mean, variance and t confidence interval over realizations, per size and bc.

    Parameters
    ----------
    ds : xarray.Dataset
        A study dataset (dimensions ``size``, ``realization``, ``bc``, ...).
    variable : str
        The apparent property to summarize.
    isotropic : bool
        Summarize the isotropic part tr(K)/d instead of every component.
    confidence : float in (0, 1)
        Level of the two-sided confidence interval of the mean.

    Returns
    -------
    xarray.Dataset
        ``mean``, ``variance`` (unbiased), ``n`` (ok realizations),
        ``ci_low``, ``ci_high``; dimensions ``size``, ``bc`` (and ``i``, ``j``
        unless ``isotropic``).

    Notes
    -----
    The interval is mean ± t_{n-1,(1+c)/2} s/√n (Student), exact for normal
    samples and asymptotically right otherwise.
    """
    _check_study(ds, variable)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    values = ds[variable].where(ds["status"] == _OK)
    if isotropic:
        values = isotropic_part(values)
    n = values.count("realization")
    mean = values.mean("realization")
    variance = values.var("realization", ddof=1)
    t = xr.apply_ufunc(lambda k: stats.t.ppf(0.5 + confidence / 2, np.maximum(k - 1, 1)), n).where(
        n >= 2
    )
    half = t * np.sqrt(variance / n)
    out = xr.Dataset(
        {
            "mean": mean,
            "variance": variance,
            "n": n,
            "ci_low": mean - half,
            "ci_high": mean + half,
        }
    )
    out.attrs.update(variable=variable, isotropic=int(isotropic), confidence=confidence)
    return out


def fit_variance_scaling(
    statistics: xr.Dataset,
    *,
    length: str = "length",
    confidence: float = 0.95,
) -> xr.Dataset:
    """Fit the power law D²(L) = D²₀ L^γ of the variance against the edge length.

    Parameters
    ----------
    statistics : xarray.Dataset
        Output of :func:`ensemble_statistics` (needs ``variance``, ``n`` and the
        coordinate ``length`` along ``size``).
    length : str
        Name of the length coordinate (physical units).
    confidence : float in (0, 1)
        Level of the interval on the exponent.

    Returns
    -------
    xarray.Dataset
        ``exponent`` γ, ``exponent_low``/``exponent_high``, ``prefactor`` D²₀,
        ``chi2_per_dof`` (goodness of fit), for every remaining dimension
        (e.g. ``bc``). Short-range media in d dimensions give γ ≈ −d.

    Notes
    -----
    Weighted least squares on ln D² = ln D²₀ + γ ln L. For n normal samples,
    ln s² has variance ψ₁((n−1)/2) (trigamma), which sets the weights, so
    the interval on γ comes from the sampling error of the variances; if the
    points scatter more than that (χ²/dof > 1) the interval is widened by
    √(χ²/dof).

    References
    ----------
    Kanit, T., Forest, S., Galliet, I., Mounoury, V., Jeulin, D. (2003).
    Determination of the size of the representative volume element for random
    composites: statistical and numerical approach. Int. J. Solids Struct. 40,
    3647-3679.
    """
    for name in ("variance", "n"):
        if name not in statistics:
            raise ValueError(f"statistics has no variable {name!r}")
    if length not in statistics.coords:
        raise ValueError(f"statistics has no coordinate {length!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if statistics.sizes.get("size", 0) < 3:
        raise ValueError(
            f"a variance-scaling fit needs at least 3 sizes, got {statistics.sizes.get('size', 0)}"
        )
    x = np.log(statistics[length])

    def fit(variance, n, x):
        use = np.isfinite(variance) & (n >= 3)
        if use.sum() < 3:
            return np.nan, np.nan, np.nan, np.nan
        if np.any(variance[use] <= 0):
            raise ValueError("variances must be > 0 to fit a power law, got a zero variance")
        y, xs = np.log(variance[use]), x[use]
        w = 1.0 / special.polygamma(1, (n[use] - 1) / 2.0)
        xm = np.sum(w * xs) / np.sum(w)
        ym = np.sum(w * y) / np.sum(w)
        sxx = np.sum(w * (xs - xm) ** 2)
        slope = np.sum(w * (xs - xm) * (y - ym)) / sxx
        intercept = ym - slope * xm
        chi2 = np.sum(w * (y - intercept - slope * xs) ** 2) / (use.sum() - 2)
        se = np.sqrt(max(chi2, 1.0) / sxx)
        return slope, se, np.exp(intercept), chi2

    slope, se, prefactor, chi2 = xr.apply_ufunc(
        fit,
        statistics["variance"],
        statistics["n"],
        x,
        input_core_dims=[["size"], ["size"], ["size"]],
        output_core_dims=[[], [], [], []],
        vectorize=True,
    )
    z = stats.norm.ppf(0.5 + confidence / 2)
    out = xr.Dataset(
        {
            "exponent": slope,
            "exponent_low": slope - z * se,
            "exponent_high": slope + z * se,
            "prefactor": prefactor,
            "chi2_per_dof": chi2,
        }
    )
    out.attrs.update(confidence=confidence)
    return out
