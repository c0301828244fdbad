r"""Boundary-condition bias (KUBC−SUBC gap, drift of the means) and the error budget."""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr
from scipy import optimize, stats

from sve._validation import check_confidence, check_real
from sve.statistics.ensemble import (
    check_study,
    ensemble_statistics,
    in_memory,
    ok_values,
    weighted_line,
)

KINEMATIC = ("kinematic", "KUBC")
STATIC = ("static", "SUBC")


def _find_bc(ds: xr.Dataset, names: tuple[str, ...]) -> str | None:
    if "bc" not in ds.dims:
        return None
    found = [bc for bc in ds["bc"].values.tolist() if str(bc) in names]
    return found[0] if found else None


def boundary_bias(
    ds: xr.Dataset,
    variable: str | None = None,
    *,
    isotropic: bool = True,
    length: str = "length",
    confidence: float = 0.95,
) -> xr.Dataset:
    r"""KUBC−SUBC gap of the mean against size with its power-law fit, and each BC's drift.

    Parameters
    ----------
    ds : xarray.Dataset
        A study dataset (``size``, ``realization``, ``bc``; ``status``).
    variable : str or None
        The apparent property; by default the study's tensor,
        ``conductivity`` or ``stiffness``.
    isotropic : bool
        Use the isotropic part (:func:`isotropic_part`: tr(K)/d, or the bulk
        modulus of a stiffness), else every component.
    length : str
        Name of the length coordinate.
    confidence : float in (0, 1)
        Level of the intervals.

    Returns
    -------
    xarray.Dataset
        ``gap``, ``gap_low``, ``gap_high``, ``gap_n`` per ``size``: the mean
        over realizations of :math:`Z_\mathrm{KUBC} - Z_\mathrm{SUBC}`, paired
        on the realizations where both solves are ok; ``gap_exponent`` κ
        (:math:`\mathrm{gap} \propto L^\kappa`) with ``gap_exponent_low`` /
        ``gap_exponent_high`` and ``gap_prefactor`` (NaN with fewer than 3
        sizes of positive gap); ``drift``, ``drift_low``, ``drift_high`` per
        ``size`` and ``bc``: the mean at each size minus the mean at the
        largest size; per ``bc``, the fit of the means to
        :math:`\bar Z(L) = Z_\infty + c\,L^{\kappa}`: ``limit``
        :math:`Z_\infty` (the mean extrapolated to infinite size) and
        ``drift_exponent`` κ, each with ``_low``/``_high`` (NaN with fewer than
        4 sizes or when the fit does not converge), and ``limit_supported``
        (bool): whether the data identify the limit at all, that is the fit
        converged and the whole interval of κ is below 0 (attribute
        ``limit_rule``). Where it is False the means show no significant
        decay with L, κ and :math:`Z_\infty` trade off against each other,
        and ``limit`` is an artefact of the fit, not an extrapolation (its
        interval is then typically orders of magnitude wider than the means'
        spread). Without both a kinematic and a static bc every gap variable
        is NaN and the attribute ``note`` says why.

    Notes
    -----
    For every realization :math:`C_\mathrm{SUBC} \le C_\mathrm{PBC} \le
    C_\mathrm{KUBC}` [1]_, and the ensemble means bracket the effective
    property at every size [2]_, so the gap bounds the BC bias of the mean
    under any of these conditions. It is paired per realization (same
    microstructure under both BCs), which removes the microstructural
    scatter from its interval (Student t on the differences). The fit is a
    weighted line through :math:`\ln \mathrm{gap}` against :math:`\ln L`
    with the delta-method variance :math:`\mathrm{se}^2/\mathrm{gap}^2`,
    widened by :math:`\sqrt{\chi^2/\mathrm{dof}}` when larger than 1. The
    drift interval treats the two sizes as independent (the seeding scheme
    draws them from different streams). The drift fit is a weighted
    nonlinear least-squares fit (weights 1/se² of the means) whose
    intervals come from its covariance, widened by √(χ²/dof) when larger
    than 1.

    References
    ----------
    .. [1] C. Huet, "Application of variational concepts to size effects in
       elastic heterogeneous bodies", J. Mech. Phys. Solids 38, 813-841, 1990.
    .. [2] T. Kanit et al. (2003), Int. J. Solids Struct. 40, 3647-3679.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from sve.statistics import synthetic_study
    >>> ds = synthetic_study(realizations=40, point_variance=1.0, gap=2.0,
    ...                      bc=["kinematic", "periodic", "static"])  # gap = 2 / L
    >>> bias = boundary_bias(ds)
    >>> bool(bias["gap_exponent_low"] < -1.0 < bias["gap_exponent_high"])  # gap = 2 / L
    True
    >>> # PBC means do not drift with L here: their extrapolated limit is not identified
    >>> bool(bias["limit_supported"].sel(bc="periodic"))
    False
    """
    variable = check_study(ds, variable)
    ds = in_memory(ds)
    confidence = check_confidence(confidence)
    if length not in ds.coords:
        raise ValueError(f"ds has no coordinate {length!r}")
    values = ok_values(ds, variable, isotropic)
    statistics = ensemble_statistics(ds, variable, isotropic=isotropic, confidence=confidence)
    last = statistics.isel(size=-1)
    t = xr.apply_ufunc(
        lambda k: stats.t.ppf(0.5 + confidence / 2, np.maximum(k - 1, 1)), statistics["n"]
    )
    drift = statistics["mean"] - last["mean"]
    drift_se = np.sqrt(statistics["variance"] / statistics["n"] + last["variance"] / last["n"])
    out = xr.Dataset({"drift": drift, "drift_low": drift - t * drift_se})
    out["drift_high"] = drift + t * drift_se
    fitted = xr.apply_ufunc(
        _drift_fit,
        statistics["mean"],
        np.sqrt(statistics["variance"] / statistics["n"]),
        ds[length],
        input_core_dims=[["size"]] * 3,
        output_core_dims=[[]] * 4,
        vectorize=True,
    )
    z = stats.norm.ppf(0.5 + confidence / 2)
    for name, value, se in (
        ("limit", fitted[0], fitted[1]),
        ("drift_exponent", fitted[2], fitted[3]),
    ):
        out.update({name: value, f"{name}_low": value - z * se, f"{name}_high": value + z * se})
    # Z_inf + c L^kappa has a limit only if the means decay: kappa < 0 with the whole
    # interval, else kappa -> 0 makes Z_inf and c degenerate (Z_inf - c and c both diverge)
    out["limit_supported"] = np.isfinite(out["limit"]) & (out["drift_exponent_high"] < 0)
    kinematic, static = _find_bc(ds, KINEMATIC), _find_bc(ds, STATIC)
    if kinematic is None or static is None:
        nan = xr.full_like(statistics["mean"].isel(bc=0, drop=True), np.nan)
        for name in ("gap", "gap_low", "gap_high", "gap_n"):
            out[name] = nan
        scalar = nan.isel(size=0, drop=True)
        for name in ("gap_exponent", "gap_exponent_low", "gap_exponent_high", "gap_prefactor"):
            out[name] = scalar
        out.attrs["note"] = (
            "no BC gap: it needs both a kinematic (KUBC) and a static (SUBC) bc, got "
            f"{ds['bc'].values.tolist() if 'bc' in ds.dims else 'no bc dimension'}"
        )
    else:
        difference = values.sel(bc=kinematic, drop=True) - values.sel(bc=static, drop=True)
        n = difference.count("realization")
        gap = difference.mean("realization")
        se = np.sqrt(difference.var("realization", ddof=1) / n)
        t_gap = xr.apply_ufunc(
            lambda k: stats.t.ppf(0.5 + confidence / 2, np.maximum(k - 1, 1)), n
        )
        out.update({"gap": gap, "gap_low": gap - t_gap * se, "gap_high": gap + t_gap * se})
        out["gap_n"] = n
        slope, slope_se, prefactor = xr.apply_ufunc(
            _gap_fit,
            gap,
            se,
            np.log(ds[length]),
            input_core_dims=[["size"]] * 3,
            output_core_dims=[[]] * 3,
            vectorize=True,
        )
        z = stats.norm.ppf(0.5 + confidence / 2)
        out.update(
            {
                "gap_exponent": slope,
                "gap_exponent_low": slope - z * slope_se,
                "gap_exponent_high": slope + z * slope_se,
                "gap_prefactor": prefactor,
            }
        )
        out.attrs["note"] = f"gap = {kinematic} - {static}, paired per realization"
    out.attrs.update(
        variable=variable,
        isotropic=int(isotropic),
        confidence=confidence,
        limit_rule=LIMIT_RULE.format(confidence=confidence),
    )
    return out


#: When ``boundary_bias`` calls its extrapolated limit supported by the data.
LIMIT_RULE = (
    "limit_supported: the fit of Z(L) = Z_inf + c L^kappa converged and the "
    "{confidence:g} interval of kappa lies below 0 (a significant decay of the means); "
    "otherwise Z_inf is not identified by the data"
)


def _drift_fit(
    mean: np.ndarray, se: np.ndarray, length: np.ndarray
) -> tuple[float, float, float, float]:
    """Z_inf, its se, kappa, its se of mean = Z_inf + c L^kappa (NaN if not identifiable)."""
    use = np.isfinite(mean) & np.isfinite(se) & (se > 0)
    if use.sum() < 4:
        return np.nan, np.nan, np.nan, np.nan
    x, y, sigma = length[use] / length[use].max(), mean[use], se[use]

    def model(x, limit, c, kappa):
        return limit + c * x**kappa

    start = (y[-1], y[0] - y[-1], -1.0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", optimize.OptimizeWarning)
            p, cov = optimize.curve_fit(
                model, x, y, p0=start, sigma=sigma, absolute_sigma=True, maxfev=5000
            )
    except (RuntimeError, optimize.OptimizeWarning, ValueError):
        return np.nan, np.nan, np.nan, np.nan
    chi2 = np.sum(((y - model(x, *p)) / sigma) ** 2) / (use.sum() - 3)
    errors = np.sqrt(np.diag(cov) * max(chi2, 1.0))
    if not np.all(np.isfinite(errors)):
        return np.nan, np.nan, np.nan, np.nan
    return p[0], errors[0], p[2], errors[2]


def _gap_fit(gap: np.ndarray, se: np.ndarray, x: np.ndarray) -> tuple[float, float, float]:
    use = np.isfinite(gap) & np.isfinite(se) & (gap > 0) & (se > 0)
    if use.sum() < 3:
        return np.nan, np.nan, np.nan
    slope, slope_se, ym, _, xm, _ = weighted_line(
        x[use], np.log(gap[use]), (gap[use] / se[use]) ** 2
    )
    return slope, slope_se, np.exp(ym - slope * xm)


def error_budget(
    ds: xr.Dataset,
    variable: str | None = None,
    *,
    isotropic: bool = True,
    tol: float | None = None,
    confidence: float = 0.95,
) -> xr.Dataset:
    r"""Error budget of every reported mean: statistical, BC bias and solver, kept apart.

    Parameters
    ----------
    ds : xarray.Dataset
        A study dataset.
    variable : str or None
        The apparent property; by default the study's tensor,
        ``conductivity`` or ``stiffness``.
    isotropic : bool
        Use the isotropic part (:func:`isotropic_part`: tr(K)/d, or the bulk
        modulus of a stiffness), else every component.
    tol : float, optional
        Relative solver tolerance in (0, 1), used when ``ds`` has no
        ``residual`` variable.
    confidence : float in (0, 1)
        Level of the statistical interval.

    Returns
    -------
    xarray.Dataset
        Per ``size`` and ``bc`` (and component): ``mean``; ``statistical``,
        the half-width of its Student interval; ``bc_bias``, the upper
        bound ``|KUBC − SUBC|`` (the gap) of the BC bias of the mean (NaN without both
        BCs, with the ``note`` attribute of :func:`boundary_bias`);
        ``solver``, the solver error bound :math:`r_\max \lvert \bar Z
        \rvert` with :math:`r_\max` the largest final relative residual of
        the ok solves (or ``tol``; NaN when neither is known), or, when
        ``ds`` has ``tensor_accuracy`` (a study with ``solver.stop =
        "tensor"``), the largest estimated entry error ``tensor_accuracy ×
        ||K||_F`` of the ok solves, which bounds the error of every entry and
        of tr(K)/d. All in the
        units of the property; they are not summed (different natures: a
        random error, a bounded systematic one and a numerical one).

    Notes
    -----
    The apparent property is a quadratic form (an energy) of the solution,
    so its error is of second order in the field error; taking the relative
    residual itself as the relative error of the property is conservative.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from sve.statistics import synthetic_study
    >>> ds = synthetic_study(realizations=40, point_variance=1.0, gap=2.0,
    ...                      bc=["kinematic", "periodic", "static"])  # gap = 2 / L
    >>> budget = error_budget(ds, tol=1e-6).sel(bc="periodic")
    >>> [name for name in budget.data_vars]
    ['mean', 'statistical', 'bc_bias', 'solver']
    >>> bool((budget["bc_bias"] > budget["solver"]).all())
    True
    """
    variable = check_study(ds, variable)
    ds = in_memory(ds)
    if tol is not None:
        tol = check_real(tol, "tol", 0.0, 1.0)
    statistics = ensemble_statistics(ds, variable, isotropic=isotropic, confidence=confidence)
    bias = boundary_bias(ds, variable, isotropic=isotropic, confidence=confidence)
    ok = ds["status"] == 1
    if "tensor_accuracy" in ds:
        norm = np.sqrt((ds[variable] ** 2).sum(("i", "j")))
        solver = (ds["tensor_accuracy"] * norm).where(ok).max("realization")
        solver = solver.broadcast_like(statistics["mean"])
    else:
        if "residual" in ds:
            residual = ds["residual"].where(ok).max("realization")
        else:
            residual = xr.full_like(statistics["mean"], np.nan if tol is None else tol)
        solver = residual * np.abs(statistics["mean"])
    out = xr.Dataset(
        {
            "mean": statistics["mean"],
            "statistical": (statistics["ci_high"] - statistics["ci_low"]) / 2,
            "bc_bias": np.abs(bias["gap"]).broadcast_like(statistics["mean"]),
            "solver": solver,
        }
    )
    out.attrs.update(
        variable=variable, confidence=confidence, bc_bias_note=bias.attrs.get("note", "")
    )
    return out
