"""Ensemble statistics over the ``realization`` dimension and the variance-scaling fit.

Dataset in, Dataset out (xarray); no Dask, no plotting. Only records whose
``status`` is ``ok`` enter the statistics.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import special, stats

from sve._validation import check_confidence, check_integer

OK = 1  # sve.study.tasks.STATUS["ok"]; the statistics layer must not import the study layer


#: The scalar moduli of a stiffness :func:`isotropic_part` can take.
MODULI = ("bulk", "shear")


def isotropic_part(tensor: xr.DataArray, modulus: str = "bulk") -> xr.DataArray:
    """The isotropic scalar of a tensor with dimensions ``i`` and ``j``.

    A conductivity (any other name): the mean of the diagonal, ``tr(K) / d``.
    A Mandel stiffness (named ``stiffness``, ``m = 3`` in 2-D or ``6`` in
    3-D), by ``modulus``:

    - ``"bulk"``: ``K = i.C.i / d**2``, the mean of its ``d x d`` normal
      block (3-D: ``(C11 + C22 + C33 + 2 (C12 + C13 + C23)) / 9``; 2-D plane
      strain: ``lam + mu`` for an isotropic tensor);
    - ``"shear"``: ``G = (tr C - d K) / (2 (m - 1))`` (3-D: ``(tr C - 3K) / 10``;
      2-D: ``(tr C - 2K) / 4``), since an isotropic ``C = d K J + 2 G K_dev``
      has ``tr J = 1`` and ``tr K_dev = m - 1`` in Mandel notation.

    Both are the Voigt-type projections of :func:`sve.solvers.isotropic_projection`
    (``bulk_voigt``, ``shear_voigt``); they read the normal block and the
    diagonal only, so they are defined under mixed conditions too (whose
    normal-shear coupling is NaN).

    Examples
    --------
    >>> import xarray as xr
    >>> K = xr.DataArray([[2.0, 0.1], [0.1, 4.0]], dims=("i", "j"), name="conductivity")
    >>> float(isotropic_part(K))  # tr(K) / d
    3.0
    """
    if not isinstance(tensor, xr.DataArray):
        raise TypeError(f"tensor must be an xarray.DataArray, got {type(tensor).__name__}")
    tensor = in_memory(tensor)
    for dim in ("i", "j"):
        if dim not in tensor.dims:
            raise ValueError(f"tensor must have dimensions 'i' and 'j', got {tensor.dims}")
    if modulus not in MODULI:
        raise ValueError(f"modulus must be one of {MODULI}, got {modulus!r}")
    m = tensor.sizes["i"]
    if tensor.name == "stiffness":
        if m not in (3, 6):
            raise ValueError(f"a Mandel stiffness has 3 or 6 rows, got {m}")
        d = 2 if m == 3 else 3
        block = tensor.isel(i=slice(0, d), j=slice(0, d))
        bulk = block.sum(("i", "j"), skipna=False) / d**2
        if modulus == "bulk":
            return bulk
        trace = tensor.where(tensor["i"] == tensor["j"]).sum(("i", "j"), skipna=True)
        return (trace - d * bulk) / (2 * (m - 1))
    diagonal = tensor.where(tensor["i"] == tensor["j"])
    return diagonal.sum(("i", "j"), skipna=True, min_count=1) / m


def in_memory(data):
    """``data`` with every array in memory.

    A lazy (Dask-backed) dataset or array, such as :func:`sve.open_study`
    returns, is computed into a new object (the caller's stays lazy); one
    already in memory is returned as is. Anything else is returned unchanged
    for the caller's own type check.
    """
    if isinstance(data, xr.Dataset):
        lazy = any(variable.chunks is not None for variable in data.variables.values())
        return data.compute() if lazy else data
    if isinstance(data, xr.DataArray):
        return data.compute() if data.chunks is not None else data
    return data


#: The apparent tensors a study dataset may hold, one per study.
TENSORS = ("conductivity", "stiffness")


def check_study(ds: xr.Dataset, variable: str | None) -> str:
    """The name of ``variable`` (default: the study's tensor) in a study dataset.

    Checks that ``ds`` holds it and ``status``, over size and realization.
    """
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
    if variable is None:
        variable = next((name for name in TENSORS if name in ds), TENSORS[0])
    for name in (variable, "status"):
        if name not in ds:
            raise ValueError(f"ds has no variable {name!r}; variables: {list(ds.data_vars)}")
    if "realization" not in ds[variable].dims or "size" not in ds[variable].dims:
        raise ValueError(
            f"{variable} must have dimensions 'size' and 'realization', got {ds[variable].dims}"
        )
    return variable


def ok_values(ds: xr.Dataset, variable: str, isotropic: bool) -> xr.DataArray:
    """``variable`` where ``status`` is ok (NaN elsewhere), its isotropic part if asked
    (of a stiffness: the modulus its ``modulus`` attribute names, bulk by default).
    """
    modulus = ds[variable].attrs.get("modulus", "bulk")
    values = ds[variable].where(ds["status"] == OK)
    return isotropic_part(values, modulus) if isotropic else values


def ensemble_statistics(
    ds: xr.Dataset,
    variable: str | None = None,
    *,
    isotropic: bool = True,
    confidence: float = 0.95,
    bootstrap: int = 0,
    rng: int | np.random.Generator | None = None,
) -> xr.Dataset:
    """Mean, variance and t confidence interval over realizations, per size and bc.

    Parameters
    ----------
    ds : xarray.Dataset
        A study dataset (dimensions ``size``, ``realization``, ``bc``, ...).
    variable : str or None
        The apparent property to summarize; by default the study's tensor,
        ``conductivity`` or ``stiffness``.
    isotropic : bool
        Summarize the isotropic part (:func:`isotropic_part`: tr(K)/d, or the
        modulus of a stiffness its ``modulus`` attribute names, bulk by
        default) instead of every component.
    confidence : float in (0, 1)
        Level of the two-sided confidence intervals.
    bootstrap : int, default 0
        Number of bootstrap resamples (0: none, else >= 100) for percentile
        intervals of the mean and the variance.
    rng : int, numpy.random.Generator or None
        Seed of the bootstrap resampling (``numpy.random.default_rng``).

    Returns
    -------
    xarray.Dataset
        ``mean``, ``variance`` (unbiased), ``n`` (ok realizations),
        ``ci_low``, ``ci_high``; dimensions ``size``, ``bc`` (and ``i``, ``j``
        unless ``isotropic``). With ``bootstrap``: also ``mean_boot_low``,
        ``mean_boot_high``, ``variance_boot_low``, ``variance_boot_high``.

    Notes
    -----
    The interval is mean ± t_{n-1,(1+c)/2} s/√n (Student), exact for normal
    samples and asymptotically right otherwise. The bootstrap resamples the
    ok realizations of each (size, bc, component) with replacement and takes
    the (1 ∓ c)/2 quantiles of the resampled mean and variance (percentile
    bootstrap [1]_): no normality assumed, which matters most for the
    variance, whose chi-square interval is badly wrong for skewed samples.

    References
    ----------
    .. [1] B. Efron and R. J. Tibshirani, *An Introduction to the Bootstrap*,
       Chapman & Hall, 1993, chapter 13.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from sve.statistics import synthetic_study
    >>> ds = synthetic_study()  # sizes 8 to 64, 50 realizations, variance 4 / L^2
    >>> sizes = ds["size"].values
    >>> stats = ensemble_statistics(ds)
    >>> stats["n"].values.ravel()
    array([50, 50, 50, 50])
    >>> bool(((stats["ci_low"] < 3.0) & (3.0 < stats["ci_high"])).all())  # the true mean
    True
    """
    variable = check_study(ds, variable)
    ds = in_memory(ds)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    bootstrap = check_integer(bootstrap, "bootstrap", 0)
    if 0 < bootstrap < 100:
        raise ValueError(f"bootstrap must be 0 or >= 100 resamples, got {bootstrap!r}")
    values = ok_values(ds, variable, isotropic)
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
    if bootstrap:
        out.update(_bootstrap(values, bootstrap, confidence, np.random.default_rng(rng)))
    out.attrs.update(variable=variable, isotropic=int(isotropic), confidence=confidence)
    return out


def _bootstrap(
    values: xr.DataArray, resamples: int, confidence: float, rng: np.random.Generator
) -> dict[str, xr.DataArray]:
    """Percentile bootstrap intervals of the mean and variance of every cell."""
    cells = values.transpose(..., "realization")
    flat = cells.values.reshape(-1, cells.sizes["realization"])
    quantiles = [0.5 - confidence / 2, 0.5 + confidence / 2]
    limits = np.full((4, flat.shape[0]), np.nan)
    for cell, row in enumerate(flat):
        sample = row[np.isfinite(row)]
        if sample.size < 2:
            continue
        resampled = sample[rng.integers(0, sample.size, (resamples, sample.size))]
        limits[:2, cell] = np.quantile(resampled.mean(axis=1), quantiles)
        limits[2:, cell] = np.quantile(resampled.var(axis=1, ddof=1), quantiles)
    dims = cells.dims[:-1]
    shape = cells.shape[:-1]
    names = ("mean_boot_low", "mean_boot_high", "variance_boot_low", "variance_boot_high")
    coords = {
        name: coord for name, coord in cells.coords.items() if "realization" not in coord.dims
    }
    return {
        name: xr.DataArray(limit.reshape(shape), dims=dims, coords=coords)
        for name, limit in zip(names, limits, strict=True)
    }


def weighted_line(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, ...]:
    """Weighted least squares y = ym + slope (x - xm).

    Returns slope, its standard error, ym, its standard error, xm, chi²/dof;
    the errors are widened by √(χ²/dof) when the points scatter more than
    their weights say.
    """
    xm = np.sum(w * x) / np.sum(w)
    ym = np.sum(w * y) / np.sum(w)
    sxx = np.sum(w * (x - xm) ** 2)
    slope = np.sum(w * (x - xm) * (y - ym)) / sxx
    intercept = ym - slope * xm
    chi2 = np.sum(w * (y - intercept - slope * x) ** 2) / (x.size - 2)
    inflation = max(chi2, 1.0)
    return slope, np.sqrt(inflation / sxx), ym, np.sqrt(inflation / np.sum(w)), xm, chi2


def log_variance_fit(variance: np.ndarray, n: np.ndarray, x: np.ndarray) -> tuple[float, ...]:
    """``weighted_line`` of ln s² on x, weights 1/ψ₁((n-1)/2); NaN when < 3 usable sizes."""
    use = np.isfinite(variance) & (n >= 3)
    if use.sum() < 3:
        return (np.nan,) * 6
    if np.any(variance[use] <= 0):
        raise ValueError("variances must be > 0 to fit a power law, got a zero variance")
    w = 1.0 / special.polygamma(1, (n[use] - 1) / 2.0)
    return weighted_line(x[use], np.log(variance[use]), w)


def check_fit_input(statistics: xr.Dataset, length: str, confidence: float) -> None:
    """Statistics with ``variance``, ``n``, the ``length`` coordinate and >= 3 sizes."""
    if not isinstance(statistics, xr.Dataset):
        raise TypeError(f"statistics must be an xarray.Dataset, got {type(statistics).__name__}")
    for name in ("variance", "n"):
        if name not in statistics:
            raise ValueError(f"statistics has no variable {name!r}")
    if length not in statistics.coords:
        raise ValueError(f"statistics has no coordinate {length!r}")
    check_confidence(confidence)
    if statistics.sizes.get("size", 0) < 3:
        raise ValueError(
            f"a variance-scaling fit needs at least 3 sizes, got {statistics.sizes.get('size', 0)}"
        )


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
    √(χ²/dof). :func:`fit_integral_range` reads the same fit as Kanit's law
    and flags anomalous exponents.

    References
    ----------
    Kanit, T., Forest, S., Galliet, I., Mounoury, V., Jeulin, D. (2003).
    Determination of the size of the representative volume element for random
    composites: statistical and numerical approach. Int. J. Solids Struct. 40,
    3647-3679.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from sve.statistics import synthetic_study
    >>> ds = synthetic_study()  # sizes 8 to 64, 50 realizations, variance 4 / L^2
    >>> sizes = ds["size"].values
    >>> fit = fit_variance_scaling(ensemble_statistics(ds)).sel(bc="periodic")
    >>> round(float(fit["exponent"]), 1)  # short range in 2-D: -d
    -2.0
    >>> bool(fit["exponent_low"] < -2.0 < fit["exponent_high"])
    True
    """
    check_fit_input(statistics, length, confidence)
    statistics = in_memory(statistics)
    x = np.log(statistics[length])

    def fit(variance, n, x):
        slope, se, ym, _, xm, chi2 = log_variance_fit(variance, n, x)
        return slope, se, np.exp(ym - slope * xm), chi2

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
