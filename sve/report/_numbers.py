"""The key numbers of a study report, as one tidy :class:`xarray.Dataset`.

Everything the Markdown and HTML pages print comes from :func:`key_numbers`,
so a user who scripts their own plots gets exactly the reported numbers.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr
from scipy import stats

from sve.solvers import isotropic_projection
from sve.solvers.bounds import (
    cubic_polycrystal_shear_bounds,
    hashin_shtrikman_bounds,
    hashin_shtrikman_bulk_bounds,
    hashin_shtrikman_shear_bounds,
    reuss_bound,
    voigt_bound,
)
from sve.solvers.permeability.apparent import THROAT_WARNING
from sve.statistics import (
    boundary_bias,
    ensemble_statistics,
    error_budget,
    fit_integral_range,
    fit_variance_scaling,
    isotropic_part,
    point_variance,
    rve_size,
)
from sve.statistics.bias import KINEMATIC, STATIC
from sve.statistics.ensemble import in_memory, ok_values
from sve.statistics.ergodicity import spatial_average_band, window_ergodicity
from sve.study.adaptive import adaptive_summary
from sve.study.media import covariance, indicator_integral_range
from sve.study.spec import StudySpec
from sve.study.tasks import STATUS

__all__ = [
    "key_numbers",
    "RELATIVE_ERRORS",
    "RVE_REALIZATIONS",
    "check_study_dataset",
    "convergence_part",
]

#: Target relative errors ε and numbers of realizations n of the RVE-size table.
RELATIVE_ERRORS = (0.01, 0.02, 0.05)
RVE_REALIZATIONS = (1, 10)

#: What the report summarizes (sve.statistics.isotropic_part), in words and as a label,
#: by property (conductivity) or modulus (elasticity).
PROPERTY = {
    "conductivity": "isotropic part tr(K)/d of the apparent conductivity",
    "bulk": "bulk modulus K = i·C·i/d² of the apparent stiffness (2-D: plane strain)",
    "shear": "shear modulus G = (tr C − dK)/(2(m − 1)) of the apparent stiffness (Mandel, "
    "2-D: plane strain)",
    "permeability": "isotropic part tr(k)/d of the apparent permeability (Darcy's law with "
    "the superficial velocity; SVEs that do not percolate along an axis count as 0 along it)",
}
QUANTITY = {
    "conductivity": "tr(K)/d",
    "bulk": "bulk modulus i·C·i/d²",
    "shear": "shear modulus G",
    "permeability": "tr(k)/d",
}


def summarized(spec: StudySpec) -> str:
    """The key of :data:`PROPERTY` and :data:`QUANTITY` of a study."""
    return spec.modulus if spec.property == "elasticity" else spec.property


#: Confidence level of every interval in the report.
CONFIDENCE = 0.95

#: Confidence level of the ergodicity test: rejected when p < 1 - 0.99.
ERGODICITY_CONFIDENCE = 0.99

_ERGODICITY_NOT_TESTABLE = (
    "not testable from this study: every SVE is an independent periodic realization, "
    "and an ergodicity test needs the windows of one large realization to compare "
    'with the ensemble (run the study with sampling.mode = "both"); no p-value is reported'
)
_ERGODICITY_WINDOWS_ONLY = (
    "not testable from this study: every SVE is a window of one parent "
    '(sampling.mode = "windows"), and the test compares them with independent '
    'realizations (run the study with sampling.mode = "both"); no p-value is reported'
)


def convergence_part(ds: xr.Dataset) -> xr.Dataset:
    """The sample the convergence pages summarize: the independent realizations of a
    mode "both" study (``ds.sel(sampling="independent")``), else the dataset itself.
    """
    if "sampling" in ds.dims:
        return ds.sel(sampling="independent", drop=True)
    return ds


def check_study_dataset(ds: object) -> xr.Dataset:
    """``ds`` (in memory: a lazy one is computed) if it is a study dataset with at
    least one ok record, else a clear error.
    """
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
    if "sweep" in ds.dims:
        raise ValueError(
            "a parameter sweep's dataset holds one study per value: take its key numbers "
            "per value (sve.study.split_sweep) or as a summary (sve.report.sweep_numbers)"
        )
    ds = in_memory(ds)
    missing = ["status"] if "status" not in ds else []
    if not any(name in ds for name in ("conductivity", "stiffness", "permeability")):
        missing.append("conductivity, stiffness or permeability")
    if "spec" not in ds.attrs or missing:
        raise ValueError(
            "not an SVE study dataset: "
            + ("no 'spec' attribute" if "spec" not in ds.attrs else f"no variable {missing}")
        )
    status = np.asarray(ds["status"].values)
    if not np.any(status == STATUS["ok"]):
        failed = int(np.count_nonzero(status == STATUS["failed"]))
        pending = int(np.count_nonzero(status == STATUS["pending"]))
        errors = sorted({str(e) for e in np.asarray(ds["error"].values).ravel() if e})
        detail = f"; errors: {'; '.join(errors)}" if errors else ""
        raise ValueError(
            f"the study has no successful solve yet ({pending} pending, {failed} failed of "
            f"{status.size}): nothing to report{detail}"
        )
    return ds


def _spec(ds: xr.Dataset) -> StudySpec:
    return StudySpec.from_json(ds.attrs["spec"])


def _counts(ds: xr.Dataset) -> xr.Dataset:
    """Records per size and status (summed over realizations and bcs)."""
    status = ds["status"]
    out = xr.Dataset(
        {
            f"records_{name}": (status == code).sum(("realization", "bc")).astype(np.int64)
            for name, code in STATUS.items()
        }
    )
    out["records_expected"] = xr.full_like(
        out["records_ok"], ds.sizes["realization"] * ds.sizes["bc"]
    )
    return out


def _dykhne(spec: StudySpec) -> tuple[float, str]:
    """√(σ0 σ1) and why it applies, or NaN and why not."""
    medium = spec.medium
    if spec.property == "permeability":
        return np.nan, "no exact reference for the permeability of this medium"
    if spec.property != "conductivity":
        return np.nan, "Dykhne's √(σ0 σ1) is a conductivity result: no reference here"
    symmetric = (
        spec.ndim == 2
        and len(spec.phases) == 2
        and spec.volume_fraction == 0.5
        and medium.get("generator") == "gaussian_level_cut"
        and medium.get("fraction", "expected") == "expected"
        and not medium.get("offset_variance", 0.0)
    )
    if symmetric:
        return float(np.sqrt(spec.phases[0] * spec.phases[1])), (
            "Dykhne: 2-D level cut at threshold 0 of an isotropic Gaussian field "
            "(phase-interchange symmetric), σ* = √(σ0 σ1)"
        )
    return np.nan, (
        "Dykhne's √(σ0 σ1) is not a reference here: it needs a 2-D medium that is "
        "statistically symmetric under phase interchange (level cut at φ = 0.5, "
        "'expected' fraction)"
    )


def _fits(
    stats: xr.Dataset, spec: StudySpec, notes: dict[str, str], whole: xr.DataArray | None = None
) -> xr.Dataset:
    """Variance-scaling and Kanit fits on the sizes with >= 2 ok realizations, NaN if too few."""
    usable = stats.isel(size=np.flatnonzero((stats["n"] >= 2).any("bc").values))
    out = xr.Dataset()
    nan_bc = xr.full_like(stats["mean"].isel(size=0, drop=True), np.nan)
    fit_names = ("exponent", "exponent_low", "exponent_high", "prefactor", "chi2_per_dof")
    kanit_names = (
        "alpha",
        "alpha_low",
        "alpha_high",
        "integral_range",
        "integral_range_low",
        "integral_range_high",
        "p_anomalous",
    )
    fit = kanit = None
    if usable.sizes["size"] < 3:
        notes["fit"] = (
            f"no variance-scaling fit: it needs >= 3 sizes with >= 2 ok realizations, "
            f"got {usable.sizes['size']}"
        )
    else:
        try:
            fit = fit_variance_scaling(usable, confidence=CONFIDENCE)
            if spec.polycrystal:
                # no point variance: every grain has the same rotation-invariant moduli, so
                # Kanit's A is undefined; the RVE sizes do not depend on it (it cancels)
                d2 = 1.0
            elif spec.property == "permeability":
                d2 = flow_point_variance(usable)
                notes["integral_range"] = FLOW_INTEGRAL_RANGE
            else:
                phases = spec.phase_scalars
                d2 = point_variance(spec.volume_fraction, phases[1], phases[0])
            kanit = fit_integral_range(
                usable, ndim=spec.ndim, point_variance=d2, confidence=CONFIDENCE
            )
            if np.isinf(indicator_integral_range(spec.medium, spec.spacing)):
                notes["integral_range"] = (
                    "a scale parameter of the fitted law only: this medium has no finite "
                    f"integral range ({infinite_range_reason(spec.medium)}), "
                    "so A, α and the RVE sizes extrapolate a fit, not Matheron's law"
                )
            if spec.polycrystal:
                for name in ("integral_range", "integral_range_low", "integral_range_high"):
                    kanit[name] = kanit[name] * np.nan
                notes["integral_range"] = (
                    "not defined for a polycrystal: Kanit's A needs the point variance of the "
                    "property, and every grain has the same rotation-invariant moduli; the "
                    "RVE sizes do not depend on it"
                )
        except ValueError as err:
            notes["fit"] = f"no variance-scaling fit: {err}"
            fit = kanit = None
    for name in fit_names:
        out[name] = fit[name] if fit is not None else nan_bc
    for name in kanit_names:
        out[name] = kanit[name] if kanit is not None else nan_bc
    out["anomalous"] = (
        kanit["anomalous"] if kanit is not None else xr.zeros_like(nan_bc, dtype=bool)
    )
    out["scaling"] = (
        kanit["scaling"] if kanit is not None else xr.full_like(nan_bc, "no fit", dtype=object)
    ).astype(str)
    unit = stats["length"].attrs.get("units", "1")
    out["integral_range"].attrs.update(units=f"({unit})^{spec.ndim}")
    if spec.image:
        out.update(_image_answer(kanit, usable, spec, nan_bc, whole))
    rows = []
    for eps in RELATIVE_ERRORS:
        cols = []
        for n in RVE_REALIZATIONS:
            if kanit is None:
                rve = xr.Dataset(
                    {name: nan_bc for name in ("rve_volume", "rve_volume_low", "rve_volume_high")}
                )
                rve["rve_length"] = nan_bc
                rve["extrapolated"] = xr.zeros_like(nan_bc, dtype=bool)
            else:
                rve = rve_size(kanit, usable, relative_error=eps, realizations=n)
            rve.attrs = {}
            cols.append(rve.drop_vars(["size", "length"], errors="ignore"))
        rows.append(xr.concat(cols, "rve_realizations"))
    rve = xr.concat(rows, "relative_error").assign_coords(
        relative_error=list(RELATIVE_ERRORS), rve_realizations=list(RVE_REALIZATIONS)
    )
    rve["rve_length"].attrs.update(units=unit)
    rve["rve_volume"].attrs.update(units=f"({unit})^{spec.ndim}")
    out.update(rve)
    return out.drop_vars(["size", "length"], errors="ignore")


#: What Kanit's A means for a permeability study (the report's note).
FLOW_INTEGRAL_RANGE = (
    "scaled by the point variance D² = k̄²(1 − φ)/φ of the field equal to k̄/φ in the pores "
    "and 0 in the solid (k̄ the mean at the largest size, φ the mean porosity there; a "
    "permeability has no local value to take a point variance of): A then equals the pore "
    "indicator's integral range when a window's permeability follows its porosity, "
    "k_V = k̄ φ_V/φ, and exceeds it by as much as the flow varies more than the pore "
    "fraction does; the RVE sizes do not depend on this choice (A cancels)"
)


def flow_point_variance(stats: xr.Dataset) -> xr.DataArray:
    """Per bc: the point variance ``k̄² (1 − φ) / φ`` of :data:`FLOW_INTEGRAL_RANGE`, from
    the mean scalar and the mean porosity at the largest size of ``stats``.
    """
    mean = stats["mean"].isel(size=-1, drop=True)
    phi = float(stats.attrs["porosity"])
    return (mean**2 * (1 - phi) / phi).drop_vars("length", errors="ignore")


def infinite_range_reason(medium: dict) -> str:
    """Why a medium's indicator has no finite integral range, named from the medium itself."""
    generator, ndim = medium["generator"], medium["ndim"]
    if generator == "random_laminate":
        return (
            "its layers extend across the whole domain, so the covariance of a random "
            "laminate does not decay along them"
        )
    if generator == "gaussian_level_cut":
        model = covariance(medium)
        beta = getattr(model, "beta", None)
        decay = f"r^-{beta:g}, with exponent {beta:g} ≤ d = {ndim}" if beta is not None else ""
        return (
            f"the {medium['covariance']} covariance of its Gaussian field decays "
            + (f"as {decay}" if decay else "too slowly")
            + f", too slowly to be integrable in {ndim}-D (long-range correlation)"
        )
    return (
        f"the covariance of its indicator is not integrable in {ndim}-D "
        f"(the {generator} generator's exact integral range is infinite)"
    )


def _trends(bias: xr.Dataset) -> xr.Dataset:
    """Per bc: mean at the smallest measured size minus mean at the largest, and its verdict.

    ``trend`` is "decreasing" (the interval of the difference is above 0),
    "increasing" (below 0), "no significant change" (it holds 0) or "not
    measured" (fewer than two sizes with an interval).
    """
    out = xr.Dataset()
    names = ("trend_drift", "trend_drift_low", "trend_drift_high", "trend_from_size")
    values = {name: [] for name in (*names, "trend")}
    sizes = bias["size"].values
    for bc in bias["bc"].values:
        b = bias.sel(bc=bc)
        finite = np.isfinite(b["drift_low"].values) & np.isfinite(b["drift_high"].values)
        usable = np.flatnonzero(finite[:-1]) if np.isfinite(b["drift"].values[-1]) else []
        if not len(usable):
            for name in names:
                values[name].append(np.nan)
            values["trend"].append("not measured")
            continue
        k = usable[0]
        low, high = float(b["drift_low"][k]), float(b["drift_high"][k])
        values["trend_drift"].append(float(b["drift"][k]))
        values["trend_drift_low"].append(low)
        values["trend_drift_high"].append(high)
        values["trend_from_size"].append(float(sizes[k]))
        values["trend"].append(
            "decreasing" if low > 0 else "increasing" if high < 0 else "no significant change"
        )
    for name, column in values.items():
        out[name] = ("bc", np.array(column, dtype=object if name == "trend" else float))
    out["trend"] = out["trend"].astype(str)
    return out.assign_coords(bc=bias["bc"].values)


#: The order of the apparent scalar over boundary conditions, smallest first, as
#: (names of the bc, label); a realization is checked on the ones the study has.
BRACKET = (STATIC, ("periodic", "PBC"), KINEMATIC)


def _bracket(ds: xr.Dataset, spec: StudySpec, notes: dict[str, str]) -> xr.Dataset:
    """How many realizations hold static <= periodic <= kinematic (to the solver tolerance).

    Each record's summarized scalar Z has a relative error of at most its final
    relative residual (the error budget's bound, at least the requested
    ``tol``), so ``a <= b`` holds when ``a - b <= r_a |a| + r_b |b|``.
    """
    out = xr.Dataset({"bracket_held": np.nan, "bracket_checked": 0})
    present = [str(bc) for bc in ds["bc"].values]
    if spec.property == "permeability":
        notes["bracket"] = (
            "not a bracket: no hierarchy theorem orders the mixed and periodic permeabilities "
            "of Stokes flow (their difference is reported as a gap)"
        )
        return out
    order = [next(bc for bc in present if bc in names) for names in BRACKET
             if any(bc in names for bc in present)]  # fmt: skip
    if len(order) < 2:
        notes["bracket"] = (
            f"not checked: it needs at least two of the static, periodic and kinematic "
            f"conditions, got {present}"
        )
        return out
    ok = ds["status"] == STATUS["ok"]
    scalar = ok_values(ds, spec.variable, isotropic=True)
    residual = ds["residual"] if "residual" in ds else xr.full_like(scalar, np.nan)
    error = np.abs(scalar) * np.maximum(residual.fillna(spec.tol), spec.tol)
    held = xr.ones_like(ok.isel(bc=0, drop=True), dtype=bool)
    checked = ok.sel(bc=order).all("bc")
    for low, high in zip(order[:-1], order[1:], strict=True):
        slack = error.sel(bc=low, drop=True) + error.sel(bc=high, drop=True)
        held = held & (scalar.sel(bc=low, drop=True) - scalar.sel(bc=high, drop=True) <= slack)
    out["bracket_checked"] = int(checked.sum())
    out["bracket_held"] = int((held & checked).sum()) if int(checked.sum()) else np.nan
    notes["bracket"] = " ≤ ".join(order)
    return out


def _indicator_range(full: xr.Dataset, spec: StudySpec) -> tuple[float, str]:
    """Integral range of the phase-1 indicator for the parent's band, and where it comes from."""
    exact = indicator_integral_range(spec.medium, spec.spacing)
    if np.isfinite(exact):
        return exact, "exact integral range of the medium's indicator"
    if "sampling" not in full.dims:
        return np.nan, "no integral range of the indicator is known for this generator"
    ok = (full["status"] == STATUS["ok"]).all("bc")
    fractions = (
        full["volume_fraction"].sel(sampling="independent").where(ok.sel(sampling="independent"))
    )
    counts = fractions.count("realization").values
    usable = np.flatnonzero(counts >= 3)
    if not usable.size:
        return np.nan, "the integral range of the indicator could not be estimated"
    k = usable[-1]
    phi = spec.volume_fraction
    volume = float(full["length"].values[k]) ** spec.ndim
    variance = float(fractions.isel(size=k).var("realization", ddof=1))
    return volume * variance / (phi * (1 - phi)), (
        f"integral range of the indicator estimated from the fraction variance of the "
        f"independent realizations at L = {float(full['length'].values[k]):g}"
    )


def _ergodicity(full: xr.Dataset, spec: StudySpec, notes: dict[str, str]) -> xr.Dataset:
    """The ergodicity numbers of key_numbers (see its docstring) and the note."""
    out = xr.Dataset()
    out["ergodicity_p_value"] = np.nan
    out["ergodicity_flagged"] = False
    if not spec.windows:
        notes["ergodicity"] = _ERGODICITY_NOT_TESTABLE
        return out
    level = 1 - ERGODICITY_CONFIDENCE
    sentences = []
    if spec.sampling_mode == "windows":
        sentences.append(_ERGODICITY_WINDOWS_ONLY)
    else:
        test = window_ergodicity(full, spec.variable, confidence=ERGODICITY_CONFIDENCE)
        renames = {
            "window_mean": "window_mean",
            "window_variance": "window_variance",
            "n_windows": "n_windows",
            "ensemble_mean": "ensemble_mean",
            "ensemble_variance": "ensemble_variance",
            "n_realizations": "n_independent",
            "p_mean": "ergodicity_p_mean",
            "p_variance": "ergodicity_p_variance",
            "p_value": "ergodicity_p",
        }
        for name, new in renames.items():
            out[new] = test[name].drop_vars("length", errors="ignore")
        p = float(test["combined_p_value"])
        bcs = ", ".join(test.attrs["bcs"])
        if not np.isfinite(p):
            sentences.append(
                "not testable yet: no size has >= 3 ok windows and >= 3 ok independent "
                "realizations; no p-value is reported"
            )
        else:
            out["ergodicity_p_value"] = p
            out["ergodicity_flagged"] = bool(test["flagged_combined"])
            where = (
                f"windows of one parent of {spec.parent_size} voxels against independent "
                f"realizations, Welch t on the means and F on the variances at each of "
                f"{int(test['n_tests'])} (size, bc) pairs ({bcs}), Bonferroni-combined"
            )
            if bool(test["flagged_combined"]):
                sentences.append(
                    f"non-ergodic: rejected at the {level:g} level, p = {p:.3g} ({where}): "
                    "the windows of one realization do not have the law of independent "
                    "realizations (a per-realization offset or a trend); a single large "
                    "sample is not representative"
                )
            else:
                sentences.append(
                    f"ergodicity not rejected at the {level:g} level, p = {p:.3g} ({where})"
                )
    out.update(_parent_band(full, spec, sentences))
    notes["ergodicity"] = "; ".join(sentences)
    return out


def _parent_band(full: xr.Dataset, spec: StudySpec, sentences: list[str]) -> xr.Dataset:
    """The parent's phase-1 fraction over growing corner windows against its band."""
    out = xr.Dataset()
    if "parent_volume_fraction" not in full:
        return out
    area, source = _indicator_range(full, spec)
    if not np.isfinite(area) or area <= 0:
        sentences.append(f"the parent's spatial average is not checked: {source}")
        return out
    phi = spec.volume_fraction
    band = spatial_average_band(
        full["parent_volume_fraction"].values,
        full["parent_length"].values,
        ndim=spec.ndim,
        ensemble_mean=phi,
        point_variance=phi * (1 - phi),
        integral_range=area,
        confidence=ERGODICITY_CONFIDENCE,
    )
    band = band.rename(length="parent_length")
    out["parent_fraction"] = band["spatial_mean"]
    out["parent_band"] = band["band"]
    out["parent_inside"] = band["inside"]
    whole = float(full["parent_volume_fraction"].values[-1])
    conf = f"{100 * ERGODICITY_CONFIDENCE:g} %"
    if bool(band["converged"]):
        sentences.append(
            f"the phase-1 fraction of the parent's corner windows stays inside the {conf} "
            f"band z·√(φ(1−φ)A/V) around φ = {phi:g} at every window up to the whole parent "
            f"({whole:.4f}; A = {area:.4g}, {source})"
        )
    else:
        outside = [f"{v:g}" for v, ok in zip(band["parent_length"].values, band["inside"].values,
                                              strict=True) if not ok]  # fmt: skip
        sentences.append(
            f"the phase-1 fraction of the parent's corner windows leaves the {conf} band "
            f"z·√(φ(1−φ)A/V) around φ = {phi:g} at edge(s) {', '.join(outside)} (whole "
            f"parent: {whole:.4f}; A = {area:.4g}, {source})"
        )
    return out


def _flow_gap(ds: xr.Dataset, spec: StudySpec) -> xr.Dataset:
    """Per size: the gap mixed − periodic of the summarized permeability, paired per
    realization, with its Student interval, and the gap relative to the periodic mean.

    A gap, not a bracket: no hierarchy theorem orders the two for Stokes flow
    (either may be the larger). NaN where the study lacks one of the two bcs.
    """
    present = [str(bc) for bc in ds["bc"].values]
    template = xr.full_like(ds["size"], np.nan, dtype=float)
    names = ("gap", "gap_low", "gap_high", "relative_gap")
    if not {"mixed", "periodic"} <= set(present):
        out = xr.Dataset({name: template for name in names})
        out.attrs["note"] = (
            f"no mixed − periodic gap: it needs both the mixed and the periodic bc, got {present}"
        )
        return out
    scalar = ok_values(ds, spec.variable, isotropic=True)
    difference = scalar.sel(bc="mixed", drop=True) - scalar.sel(bc="periodic", drop=True)
    n = difference.count("realization")
    gap = difference.mean("realization")
    se = np.sqrt(difference.var("realization", ddof=1) / n)
    t = xr.apply_ufunc(lambda k: stats.t.ppf(0.5 + CONFIDENCE / 2, np.maximum(k - 1, 1)), n)
    periodic = scalar.sel(bc="periodic", drop=True).where(difference.notnull())
    out = xr.Dataset(
        {
            "gap": gap,
            "gap_low": (gap - t * se).where(n >= 2),
            "gap_high": (gap + t * se).where(n >= 2),
            "relative_gap": gap / periodic.mean("realization"),
        }
    )
    out.attrs["note"] = (
        "gap = mixed − periodic, paired per realization; a gap, not a bracket: no hierarchy "
        "theorem holds for Stokes flow"
    )
    return out


def _flow_percolation(ds: xr.Dataset) -> xr.Dataset:
    """Per size (and bc, axis): porosity and the fraction of SVEs that do not percolate."""
    from sve.study.percolation import permeability_summary

    summary = permeability_summary(ds)
    solved = ds["status"] == STATUS["ok"]
    throat = ds["throat"].where(solved & ds["throat"].notnull())
    narrow = (throat < THROAT_WARNING).where(throat.notnull())
    return xr.Dataset(
        {
            "porosity": summary["porosity"],
            "non_percolating_fraction": summary["non_percolating_fraction"],
            "non_percolating_any": summary["non_percolating_any"],
            "narrow_throat_fraction": narrow.mean("realization"),
        }
    )


def _component_mean(ds: xr.Dataset, spec: StudySpec) -> xr.Dataset:
    """Mean over ok realizations of each diagonal component of the apparent tensor, and
    the half-width of its Student interval at the report's confidence.
    """
    diagonal = xr.DataArray(np.arange(spec.tensor_size), dims="component")
    values = ds[spec.variable].where(ds["status"] == STATUS["ok"])
    values = values.isel(i=diagonal, j=diagonal).drop_vars(["i", "j"], errors="ignore")
    n = values.count("realization")
    t = xr.apply_ufunc(lambda k: stats.t.ppf(0.5 + CONFIDENCE / 2, np.maximum(k - 1, 1)), n)
    half = (t * np.sqrt(values.var("realization", ddof=1) / n)).where(n >= 2)
    mean = values.mean("realization")
    return xr.Dataset({"component_mean": mean, "component_statistical": half})


def _bounds(spec: StudySpec, ds: xr.Dataset, notes: dict[str, str]) -> xr.Dataset:
    """Voigt, Reuss and Hashin-Shtrikman bounds of the summarized scalar; for a
    polycrystal also its exact bulk modulus and the largest deviation from it.
    """
    out = xr.Dataset()
    if spec.property == "permeability":
        out["voigt"] = out["reuss"] = out["hs_lower"] = out["hs_upper"] = np.nan
        notes["bounds"] = (
            "are not available: the permeability has no phase values to bound it from (the "
            "solid has k = 0 and the pore space no value of its own)"
        )
        return out
    if spec.polycrystal:
        crystal = spec.crystal_stiffness()
        projection = isotropic_projection(crystal)
        bulk = projection.bulk_voigt  # = bulk_reuss: a cubic crystal's bulk modulus
        apparent = isotropic_part(ds[spec.variable].where(ds["status"] == STATUS["ok"]), "bulk")
        out["bulk_exact"] = bulk
        out["bulk_max_deviation"] = float(np.nanmax(np.abs(apparent.values / bulk - 1)))
        if spec.modulus == "bulk":
            out["voigt"] = out["reuss"] = out["hs_lower"] = out["hs_upper"] = bulk
            notes["bounds"] = "every bound is the exact bulk modulus (c11 + 2 c12)/3"
            return out
        out["voigt"], out["reuss"] = projection.shear_voigt, projection.shear_reuss
        c = spec.crystal
        if spec.ndim == 3:
            out["hs_lower"], out["hs_upper"] = cubic_polycrystal_shear_bounds(
                c["c11"], c["c12"], c["c44"]
            )
            notes["bounds"] = "of an untextured polycrystal of the cubic crystal"
        else:
            out["hs_lower"] = out["hs_upper"] = np.nan
            notes["bounds"] = (
                "of an untextured polycrystal of the cubic crystal (Hashin–Shtrikman "
                "polycrystal bounds are given in 3-D only)"
            )
        return out
    fractions = [1 - spec.volume_fraction, spec.volume_fraction]
    phases = list(spec.phase_scalars)
    out["voigt"] = voigt_bound(fractions, phases)
    out["reuss"] = reuss_bound(fractions, phases)
    if spec.medium.get("generator") == "random_laminate":
        notes["bounds"] = (
            f"at the spec's volume fraction φ = {spec.volume_fraction:g}; on aligned layers "
            "they are the exact means along (Voigt) and across (Reuss) the layers, and the "
            "Hashin–Shtrikman bounds, which assume statistical isotropy, do not apply"
        )
        out["hs_lower"] = out["hs_upper"] = np.nan
        return out
    if spec.property == "conductivity":
        hs = hashin_shtrikman_bounds(fractions, phases, spec.ndim)
    else:
        bulk, shear = spec.phase_bulk(), spec.phase_shear()
        if spec.modulus == "shear":
            hs = hashin_shtrikman_shear_bounds(fractions, bulk, shear, spec.ndim)
        else:
            hs = hashin_shtrikman_bulk_bounds(fractions, bulk, shear, spec.ndim)
    out["hs_lower"], out["hs_upper"] = hs
    notes["bounds"] = f"at the spec's volume fraction φ = {spec.volume_fraction:g}"
    return out


#: The per-bc answers of an image study (:func:`_image_answer`).
IMAGE_ANSWERS = (
    "image_value",
    "image_value_low",
    "image_value_high",
    "image_relative_error",
    "image_representative",
    "image_rve_length",
)


def whole_image_value(ds: xr.Dataset, spec: StudySpec) -> xr.DataArray | None:
    """The whole image's value per bc (the summarized scalar of its tensor), if it was solved.

    From the dataset's ``whole_image`` attribute (:mod:`sve.study.whole`);
    None when it holds no solved image (extrapolated, or not tried yet). A
    bc whose solve did not converge is NaN.
    """
    outcome = json.loads(ds.attrs.get("whole_image", "null") or "null")
    if not outcome or outcome.get("mode") != "solved":
        return None
    tensor = np.array(outcome["tensor"], dtype=float)
    dims = ("bc", "i", "j")
    array = xr.DataArray(tensor, dims=dims, coords={"bc": list(outcome["bc"])}, name=spec.variable)
    value = isotropic_part(array, spec.modulus if spec.property != "conductivity" else "bulk")
    converged = xr.DataArray(np.array(outcome["converged"], bool), dims=("bc",),
                             coords={"bc": list(outcome["bc"])})  # fmt: skip
    return value.where(converged).drop_vars([c for c in value.coords if c != "bc"])


def _image_answer(
    kanit, usable: xr.Dataset, spec: StudySpec, nan_bc, whole: xr.DataArray | None = None
) -> xr.Dataset:
    """An image study's three answers per bc, from the data and the fitted variance law.

    ``image_value``: the whole image's value where it was solved (``whole``,
    :func:`whole_image_value`), else the mean of the windows of the largest
    size (an extrapolation: the dataset's ``whole_image`` attribute says
    which), with ``image_value_low``/``_high`` = value ∓ z
    D(V_image), D² the fitted law ``ln D² = c + γ (ln L − x̄)`` at the image's
    equivalent edge ``L_image = V_image^(1/d)`` (the medium's spread at the
    image's volume, not the windows' uncertainty); ``image_relative_error`` =
    z D(V_image) / |value|; ``image_representative`` = it is at most
    ``sampling.target_precision``; ``image_rve_length``: the edge at which
    z D(V) / |value| equals the target, from the same line. z is the normal
    quantile of the report's confidence. NaN without a fit (or where the
    variance does not decrease).
    """
    out = xr.Dataset({name: nan_bc for name in IMAGE_ANSWERS})
    out["image_representative"] = xr.zeros_like(nan_bc, dtype=bool)
    if whole is not None:
        out["image_value"] = whole.reindex(bc=nan_bc["bc"])
    if kanit is None or not usable.sizes["size"]:
        return out
    z = stats.norm.ppf(0.5 + CONFIDENCE / 2)
    shape, h = spec.medium["image_shape"], spec.voxel_size
    edge = float(np.prod([n * hi for n, hi in zip(shape, h, strict=True)])) ** (1 / spec.ndim)
    value = usable["mean"].isel(size=-1, drop=True)
    if whole is not None:
        value = whole.reindex(bc=value["bc"])
    slope = kanit["exponent"].where(kanit["exponent"] < 0)
    c, center = kanit["log_variance_center"], kanit["log_length_center"]
    spread = z * np.sqrt(np.exp(c + slope * (np.log(edge) - center)))
    relative = spread / abs(value)
    eps = spec.target_precision
    out["image_value"] = value
    out["image_value_low"], out["image_value_high"] = value - spread, value + spread
    out["image_relative_error"] = relative
    out["image_representative"] = relative <= eps
    out["image_rve_length"] = np.exp(center + (np.log((eps * value / z) ** 2) - c) / slope)
    out["image_rve_length"].attrs.update(units=spec.length_unit)
    out.attrs = {}
    for name in IMAGE_ANSWERS:
        out[name] = out[name].drop_vars(["size", "length"], errors="ignore")
    return out


def _whole_note(ds: xr.Dataset) -> str:
    """Where an image study's value at the image's size comes from, in words."""
    outcome = json.loads(ds.attrs.get("whole_image", "null") or "null")
    if not outcome:
        return ("extrapolated: the mean of the windows of the largest size (the whole image "
                "was not tried: a study run before whole images were solved)")  # fmt: skip
    budget = json.loads(ds.attrs.get("whole_image_budget", "{}") or "{}").get("budget_bytes")
    within = f" of {budget / 2**20:.1f} MiB" if budget else ""
    if outcome["mode"] == "solved":
        return (f"solved: the whole image, {outcome['estimate_bytes'] / 2**20:.1f} MiB by the "
                f"memory model, within the worker's budget{within}")  # fmt: skip
    return ("extrapolated: the mean of the windows of the largest size, since the whole "
            f"image was not solved ({outcome['reason']}{within})")  # fmt: skip


def key_numbers(ds: xr.Dataset) -> xr.Dataset:
    """The key numbers of a study's convergence report, as one tidy Dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        A study dataset (:func:`sve.open_study`), possibly partial; it needs
        at least one ok record.

    Returns
    -------
    xarray.Dataset
        Of the isotropic part tr(K)/d of the apparent conductivity (or, for
        an elasticity study, the bulk or shear modulus of the apparent
        stiffness that ``property.modulus`` names,
        :func:`sve.statistics.isotropic_part`), at the
        confidence level ``attrs["confidence"]`` (0.95):

        * per ``size`` and ``bc``: ``mean``, ``ci_low``, ``ci_high``,
          ``variance``, ``n`` (ok realizations); the error budget
          ``statistical`` (CI half-width), ``bc_bias`` (the ``|KUBC − SUBC|`` gap,
          NaN without both), ``solver`` (largest residual × ``|mean|``),
          ``discretization`` (NaN: not estimated without a refinement
          check); ``max_residual``;
        * per ``bc``: the variance fit ``exponent`` γ of D² ∝ L^γ with
          ``exponent_low``/``exponent_high``, ``prefactor``,
          ``chi2_per_dof``; Kanit's ``alpha``, ``integral_range`` (with
          ``_low``/``_high``), ``p_anomalous``, ``anomalous``, ``scaling``;
        * per ``bc``, ``relative_error`` ε ∈ {0.01, 0.02, 0.05} and
          ``rve_realizations`` n ∈ {1, 10}: ``rve_length``, ``rve_volume``
          (with ``_low``/``_high``) and ``extrapolated`` (outside the
          measured sizes);
        * per ``size``: ``records_pending``, ``records_ok``,
          ``records_not_converged``, ``records_failed``,
          ``records_expected`` (counted over realizations and bcs), the
          ``gap`` KUBC − SUBC with ``gap_low``/``gap_high``;
        * per ``size``, ``bc`` and ``component`` (0 … m − 1): ``component_mean``,
          the mean of each diagonal component of the apparent tensor over the
          ok realizations, and ``component_statistical``, the half-width of
          its interval;
        * per ``bc``, the size effect on the mean: ``trend_drift`` (mean at the
          smallest size with an interval, ``trend_from_size``, minus the mean at
          the largest) with ``trend_drift_low``/``trend_drift_high``, and
          ``trend``: "decreasing" or "increasing" where that interval
          excludes 0, "no significant change" where it holds 0, "not measured";
        * ``bracket_checked``, the (size, realization) pairs solved under at
          least two of static, periodic and kinematic conditions, and
          ``bracket_held``, how many of them hold static ≤ periodic ≤
          kinematic to the solver tolerance (``attrs["bracket"]`` names the
          order checked, or why nothing is);
        * scalars: ``voigt``, ``reuss``, ``hs_lower``, ``hs_upper`` (bounds
          of the summarized scalar at the spec's volume fraction, or of an
          untextured polycrystal; ``attrs["bounds"]`` says which), for a
          polycrystal ``bulk_exact`` ((c11 + 2 c12)/3) and
          ``bulk_max_deviation`` (largest relative deviation of an ok
          record's bulk modulus from it), ``dykhne`` (NaN where it is not
          a reference), ``ergodicity_p_value`` (NaN where not testable),
          ``ergodicity_flagged`` (bool),
          ``wall_time`` (sum of solve times, s), ``workers`` (largest over
          runs, 0 if unknown).

        * mode "both" (:func:`sve.statistics.ergodicity.window_ergodicity`, per
          ``size`` and ``bc``): ``window_mean``, ``window_variance``,
          ``n_windows``, ``ensemble_mean``, ``ensemble_variance``,
          ``n_independent``, ``ergodicity_p_mean``,
          ``ergodicity_p_variance``, ``ergodicity_p`` (per pair);
        * window modes, along ``parent_length``: ``parent_fraction``,
          ``parent_band`` (half-width of the integral-range band around the
          expected fraction φ), ``parent_inside``.
        * permeability studies: ``gap``, ``gap_low``, ``gap_high`` are the
          mixed − periodic gap of tr(k)/d (paired per realization; a gap,
          not a bracket: ``attrs["gap"]``) and ``relative_gap`` the gap over
          the periodic mean, per ``size``; ``bc_bias`` is ``|gap|``;
          ``porosity`` (per ``size``), ``non_percolating_fraction`` (per
          ``size``, ``bc`` and axis ``i``) and ``non_percolating_any`` (per
          ``size`` and ``bc``), :func:`sve.study.percolation.permeability_summary`;
          ``narrow_throat_fraction`` (per ``size`` and ``bc``): the solved
          SVEs whose narrowest throat is under 4 voxels across (among those
          with a throat); the integral range is scaled by the point variance
          k̄²(1 − φ)/φ (``attrs["integral_range"]``);
        * adaptive studies (``sampling.adaptive_target``, per ``size``,
          :func:`sve.study.adaptive.adaptive_summary`): ``realizations_used``,
          ``adaptive_state`` ("reached", "budget", or "running" while the
          study is unfinished), ``target_reached``,
          ``relative_half_width`` (of the mean's 95 % interval, largest over
          bcs); attrs ``adaptive_target``, ``max_realizations``.

        ``attrs`` hold the notes the report prints: ``ergodicity``,
        ``dykhne``, ``fit`` (why a fit is missing), ``integral_range``
        (polycrystal: why A is NaN; a medium with no finite integral range:
        why, from its generator and covariance), ``bounds``, ``bracket``, ``bc_bias``,
        ``discretization``, ``s2``, ``complete`` (1 when every record is
        finished).

    Notes
    -----
    The fits use the sizes with at least two ok realizations (all of them
    for a complete study), so they equal :func:`sve.statistics.fit_variance_scaling`,
    :func:`~sve.statistics.fit_integral_range` (point variance
    φ(1 − φ)(σ1 − σ0)²) and :func:`~sve.statistics.rve_size` applied to
    :func:`~sve.statistics.ensemble_statistics` of the dataset.

    A mode "both" study is summarized on its independent realizations
    (:func:`convergence_part`); its windows enter the ergodicity verdict:
    ``ergodicity_p_value`` is the Bonferroni-combined p-value of
    :func:`sve.statistics.ergodicity.window_ergodicity` over the testable sizes and the
    non-periodic bcs (all bcs if periodic is the only one), at the
    confidence level 0.99 (``ergodicity_flagged``: p < 0.01). Alongside,
    the phase-1 fraction of the parent's growing corner windows is held to
    the band z √(φ(1−φ) A / V) (:func:`sve.statistics.ergodicity.spatial_average_band`)
    with the indicator's exact integral range A where the generator knows it,
    else A estimated from the independent realizations' fraction variance at
    the largest size (``V Var φ_V / (φ(1-φ))``).
    """
    ds = check_study_dataset(ds)
    spec = _spec(ds)
    full, ds = ds, convergence_part(ds)
    notes: dict[str, str] = {}
    variable = spec.variable
    stats = ensemble_statistics(ds, variable, confidence=CONFIDENCE)
    if spec.property == "permeability":
        ok = (ds["status"] == STATUS["ok"]).all("bc")
        last = ds["porosity"].isel(size=-1).where(ok.isel(size=-1))
        stats.attrs["porosity"] = float(last.mean())
    out = stats[["mean", "ci_low", "ci_high", "variance", "n"]].copy()
    whole = whole_image_value(full, spec) if spec.image else None
    out.update(_fits(stats, spec, notes, whole))
    if spec.image:
        notes["image_value"] = _whole_note(full)
    budget = error_budget(ds, variable, tol=spec.tol, confidence=CONFIDENCE)
    for name in ("statistical", "bc_bias", "solver"):
        out[name] = budget[name]
    out["discretization"] = xr.full_like(budget["solver"], np.nan)
    out["max_residual"] = ds["residual"].where(ds["status"] == STATUS["ok"]).max("realization")
    bias = boundary_bias(ds, variable, confidence=CONFIDENCE)
    if spec.property == "permeability":
        gap = _flow_gap(ds, spec)
        bias.update(gap)
        bias.attrs["note"] = gap.attrs["note"]
        out["budget_gap"] = abs(bias["gap"])
        out["bc_bias"] = xr.where(out["bc"].isin(["mixed", "periodic"]), out["budget_gap"], np.nan)
        out = out.drop_vars("budget_gap")
        out.update(_flow_percolation(ds))
    gaps = ("gap", "gap_low", "gap_high", "relative_gap")
    for name in gaps if "relative_gap" in bias else gaps[:3]:
        out[name] = bias[name]
    out.update(_counts(ds))
    if spec.adaptive:
        out.update(adaptive_summary(full))
        notes.update(adaptive_target=spec.adaptive_target, max_realizations=spec.max_realizations)
    out.update(_bounds(spec, ds, notes))
    out.update(_component_mean(ds, spec))
    out.update(_trends(bias))
    out.update(_bracket(ds, spec, notes))
    out["dykhne"], notes["dykhne"] = _dykhne(spec)
    out.update(_ergodicity(full, spec, notes))
    out["wall_time"] = float(full["wall_time"].sum())
    runs = json.loads(ds.attrs.get("runs", "[]"))
    out["workers"] = max((int(run.get("workers") or 0) for run in runs), default=0)
    notes["bc_bias"] = bias.attrs.get("note", "")
    if spec.property == "permeability":
        notes["gap"] = bias.attrs["note"]
    notes["discretization"] = (
        "not estimated: the study has no refinement check (one resolution per size)"
    )
    medium = spec.medium
    if spec.polycrystal:
        notes["s2"] = (
            "the volume of every grain of the first realizations at the largest size (a "
            "polycrystal has no phases, hence no S2), against the mean grain volume "
            "cell_size^d of the Poisson–Voronoi tessellation"
        )
    elif medium.get("generator") == "gaussian_level_cut" and medium.get("fraction") == "exact":
        notes["s2"] = (
            "the 'exact' (rank) level cut conditions every realization on its fraction, "
            "so its S2 is expected to fall short of the exact curve at long range by about "
            "the variance of the fraction; the figure shows the measured curve against it"
        )
    elif medium.get("generator") == "boolean_spheres":
        notes["s2"] = (
            "exact for the Boolean model at the intensity of the expected fraction "
            "(generators.boolean_s2); voxelization rounds the grains' edges"
        )
    elif spec.image:
        notes["s2"] = (
            "measured on the first windows of the largest size of the image (not periodic: "
            "long lags are biased); a measured image has no exact S2"
        )
    elif medium.get("generator") != "gaussian_level_cut":
        notes["s2"] = f"no exact S2 is known here for the {medium.get('generator')} generator"
    else:
        notes["s2"] = "exact for the 'expected' level cut (fixed Gaussian threshold)"
    out.attrs.update(
        {
            **notes,
            "confidence": CONFIDENCE,
            "complete": int(not np.any(full["status"].values == STATUS["pending"])),
            "property": PROPERTY[summarized(spec)],
            "quantity": QUANTITY[summarized(spec)],
            "units": ds[variable].attrs.get("units", ""),
            "study": spec.name,
        }
    )
    for name in ("mean", "ci_low", "ci_high"):
        out[name].attrs.update(units=out.attrs["units"])
    return out
