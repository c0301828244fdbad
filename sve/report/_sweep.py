"""The report of a parameter sweep: one report per value and a summary page.

The summary puts, per boundary condition, the fitted variance exponent, the
integral range and the RVE size against the swept value, each with its
interval. Every number comes from :func:`sve.report.key_numbers` of the
value's own sub-study (the numbers its own report prints), gathered by
:func:`sweep_numbers`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from sve.report import _document, _figures
from sve.report._document import Block, fmt, interval
from sve.report._numbers import check_study_dataset, key_numbers
from sve.study.spec import StudySpec
from sve.study.sweep import SWEEP_DIM, split_sweep

__all__ = ["SUMMARY_VARIABLES", "SUMMARY_ERRORS", "sweep_numbers", "summarize", "write"]

#: The key numbers the summary gathers per value (all of :func:`key_numbers`' names).
SUMMARY_VARIABLES = (
    "mean",
    "ci_low",
    "ci_high",
    "n",
    "exponent",
    "exponent_low",
    "exponent_high",
    "alpha",
    "integral_range",
    "integral_range_low",
    "integral_range_high",
    "rve_length",
    "rve_volume",
    "rve_volume_low",
    "rve_volume_high",
    "extrapolated",
)
#: Relative errors ε of the summary's RVE sizes (for one realization, n = 1).
SUMMARY_ERRORS = (0.01, 0.05)


def summarize(spec: StudySpec, values: list[float], numbers: list[xr.Dataset]) -> xr.Dataset:
    """The summary Dataset: :data:`SUMMARY_VARIABLES` of each value's key numbers along
    ``sweep`` (coordinate ``values``), plus ``rve_length_low`` / ``rve_length_high``
    (the interval of the RVE volume as edge lengths, ``V^(1/d)``).
    """
    parts = []
    for n in numbers:
        part = n[list(SUMMARY_VARIABLES)]
        part.attrs = {}
        parts.append(part)
    out = xr.concat(parts, dim=SWEEP_DIM, coords="minimal", compat="override", join="exact")
    out = out.assign_coords(
        {
            SWEEP_DIM: (
                SWEEP_DIM,
                np.array(values, dtype=float),
                {"long_name": f"swept parameter {spec.sweep_field}"},
            )
        }
    )
    d = spec.ndim
    for side in ("low", "high"):
        out[f"rve_length_{side}"] = out[f"rve_volume_{side}"] ** (1 / d)
        out[f"rve_length_{side}"].attrs.update(out["rve_length"].attrs)
    first = numbers[0].attrs
    out.attrs.update(
        sweep_field=spec.sweep_field,
        study=spec.name,
        confidence=first["confidence"],
        quantity=first["quantity"],
        property=first["property"],
        complete=int(all(n.attrs["complete"] for n in numbers)),
    )
    return out


def sweep_numbers(ds: xr.Dataset) -> xr.Dataset:
    """The summary numbers (:func:`summarize`) of a sweep dataset, over the values that
    have at least one ok solve.

    Parameters
    ----------
    ds : xarray.Dataset
        A parameter sweep's dataset (a ``sweep`` dimension), in memory or lazy
        (:func:`sve.open_study` of a sweep's store).

    Returns
    -------
    xarray.Dataset
        Per swept value and bc: the variance exponent, the integral range
        and the RVE size with their intervals (:func:`summarize`).

    Raises
    ------
    ValueError
        If ``ds`` is not a sweep or no value has an ok solve yet.
    """
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
    if SWEEP_DIM not in ds.dims or "spec" not in ds.attrs:
        raise ValueError(
            f"ds must be a parameter sweep's dataset (a {SWEEP_DIM!r} dimension and a "
            f"'spec' attribute), got dimensions {tuple(ds.dims)}"
        )
    spec = StudySpec.from_json(ds.attrs["spec"])
    values, numbers = [], []
    for value, part in zip(ds[SWEEP_DIM].values, split_sweep(ds), strict=True):
        try:
            numbers.append(key_numbers(check_study_dataset(part).load()))
        except ValueError:  # nothing solved yet at this value
            continue
        values.append(float(value))
    if not numbers:
        raise ValueError("the sweep has no successful solve yet: nothing to report")
    return summarize(spec, values, numbers)


# ---------------------------------------------------------------- the figure


def figure(summary: xr.Dataset, spec: StudySpec) -> Figure:
    """Exponent, integral range and RVE size (ε = 1 %, 5 %; n = 1) against the swept value."""
    fig = Figure(figsize=(13, 4.2), layout="constrained")
    axes = fig.subplots(1, 3)
    x = summary[SWEEP_DIM].values
    logx = bool(np.all(x > 0) and x.max() / x.min() >= 10)
    unit = spec.length_unit
    conf = int(round(100 * summary.attrs["confidence"]))
    colours = [f"C{k}" for k in range(summary.sizes["bc"])]

    def bars(ax, y, low, high, **style):
        y, low, high = (np.asarray(v, dtype=float) for v in (y, low, high))
        yerr = np.array(
            [np.where(np.isfinite(low), y - low, 0), np.where(np.isfinite(high), high - y, 0)]
        )
        ax.errorbar(shifted, y, yerr=np.clip(yerr, 0, None), capsize=3, ms=5, **style)

    n_bc = summary.sizes["bc"]
    span = np.ptp(np.log(x) if logx else x) or 1.0
    for k, (bc, colour) in enumerate(zip(summary["bc"].values, colours, strict=True)):
        dodge = 0.02 * span * (k - (n_bc - 1) / 2)  # side by side, not on top of each other
        shifted = x * np.exp(dodge) if logx else x + dodge
        s = summary.sel(bc=bc)
        bars(axes[0], s["exponent"], s["exponent_low"], s["exponent_high"],
             color=colour, marker="o", label=str(bc))  # fmt: skip
        bars(axes[1], s["integral_range"], s["integral_range_low"], s["integral_range_high"],
             color=colour, marker="o", label=str(bc))  # fmt: skip
        for eps, marker, line in zip(SUMMARY_ERRORS, ("o", "s"), ("-", "--"), strict=False):
            r = s.sel(relative_error=eps, rve_realizations=1)
            label = f"{bc}, ε = {100 * eps:g} %"
            bars(axes[2], r["rve_length"], r["rve_length_low"], r["rve_length_high"],
                 color=colour, marker=marker, ls=line, label=label)  # fmt: skip
    axes[0].axhline(-spec.ndim, color="k", ls=":", lw=1, label=f"−d = {-spec.ndim}")
    axes[0].set_ylabel(f"variance exponent γ (D² ∝ L^γ), {conf} % CI")
    axes[1].set_ylabel(f"integral range A{_document._unit(unit, spec.ndim)}, {conf} % CI")
    axes[1].set_yscale("log")
    axes[2].set_ylabel(f"RVE edge L_RVE{_document._unit(unit)} (n = 1)")
    axes[2].set_yscale("log")
    for ax in axes:
        if logx:
            ax.set_xscale("log")
        ax.set_xticks(x, [f"{v:g}" for v in x])
        ax.minorticks_off()
        ax.set_xlabel(spec.sweep_field)
        ax.legend(fontsize=7)
    fig.suptitle(f"{spec.name}: size convergence against {spec.sweep_field}", fontsize=10)
    return fig


# ---------------------------------------------------------------- the page


def _table(summary: xr.Dataset, unit: str, ndim: int) -> tuple[Block, bool]:
    rows = []
    extrapolated = False
    for bc in summary["bc"].values:
        for value in summary[SWEEP_DIM].values:
            s = summary.sel({"bc": bc, SWEEP_DIM: value})
            largest = s.isel(size=-1)
            row = [
                str(bc),
                f"{value:g}",
                f"{fmt(s['exponent'], '.3f')} "
                f"{interval(s['exponent_low'], s['exponent_high'], '.3f')}",
                f"{fmt(s['integral_range'], '.4g')} "
                f"{interval(s['integral_range_low'], s['integral_range_high'], '.3g')}",
            ]
            for eps in SUMMARY_ERRORS:
                r = s.sel(relative_error=eps, rve_realizations=1)
                flag = ""
                if bool(r["extrapolated"]) and np.isfinite(float(r["rve_length"])):
                    flag, extrapolated = " (extrapolated)", True
                row.append(
                    f"{fmt(r['rve_length'], '.4g')} "
                    f"{interval(r['rve_length_low'], r['rve_length_high'], '.3g')}{flag}"
                )
            row.append(
                f"{fmt(largest['mean'], '.5g')} "
                f"{interval(largest['ci_low'], largest['ci_high'], '.5g')}"
            )
            rows.append(row)
    header = [
        "bc",
        "value",
        "exponent γ",
        f"integral range A{_document._unit(unit, ndim)}",
        *[f"L_RVE, ε = {100 * eps:g} %, n = 1" for eps in SUMMARY_ERRORS],
        f"mean at L = {float(summary['length'].values[-1]):g}",
    ]
    return Block("table", header=header, rows=rows), extrapolated


def build(spec: StudySpec, summary: xr.Dataset, skipped: list[float]) -> list[Block]:
    """The summary page's blocks, every number formatted from ``summary``."""
    conf = int(round(100 * summary.attrs["confidence"]))
    unit = spec.length_unit
    values = ", ".join(f"{v:g}" for v in spec.sweep_values)
    blocks = [Block("h1", f"Parameter sweep: {spec.name}")]
    if skipped:
        blocks.append(
            Block(
                "banner",
                f"**Partial sweep**: no successful solve yet at {spec.sweep_field} = "
                f"{', '.join(f'{v:g}' for v in skipped)}; those values are left out.",
            )
        )
    if not summary.attrs["complete"]:
        blocks.append(
            Block(
                "banner",
                "**Partial sweep**: some sub-studies are unfinished; their numbers use the "
                "finished solves only (see each value's report).",
            )
        )
    table, extrapolated = _table(summary, unit, spec.ndim)
    note = (
        f"Per boundary condition and value of `{spec.sweep_field}`: the variance exponent γ "
        "of D² ∝ L^γ, the integral range A (Kanit's fit D² = D²_point (A/V)^α) "
        f"and the RVE edge L_RVE{_document._unit(unit)} at which one realization (n = 1) "
        f"has a relative error ε, each with its {conf} % interval, and the mean "
        f"{summary.attrs['quantity']} at the largest size. Every number is the one the "
        "value's own report prints (sve.report.key_numbers of its sub-study)."
    )
    if extrapolated:
        note += (
            " **(extrapolated)**: outside the measured sizes, it relies on the fitted power law."
        )
    links = [
        [f"{spec.sweep_field} = {v:g}: [report](sweep-{k}/report.html) "
         f"([Markdown](sweep-{k}/report.md))"]
        for k, v in enumerate(spec.sweep_values)
        if v not in skipped
    ]  # fmt: skip
    first = spec.sweep_specs()[0]
    return [
        *blocks,
        Block(
            "list",
            rows=[
                [f"Swept: `{spec.sweep_field}` = {values} ({len(spec.sweep_values)} sub-studies)"],
                [
                    f"Each value is a full study: {first.ndim}-D "
                    f"{first.medium.get('generator', 'measured image')}, "
                    f"{first.property}, sizes {list(first.sizes)} voxels, "
                    f"{first.realizations} realizations"
                    f"{' (adaptive)' if first.adaptive else ''}, boundary conditions "
                    f"{list(first.bc)}"
                ],
                [
                    f"Seed entropy {spec.seed} for every value: common random numbers (the same "
                    "realizations of the underlying random field at every value)"
                ],
            ],
        ),
        Block("h2", "Size convergence against the swept value"),
        Block("p", note),
        table,
        Block(
            "figure",
            "sweep",
            header=[f"exponent, integral range and RVE size against {spec.sweep_field}"],
        ),
        Block("h2", "Reports per value"),
        Block("list", rows=links),
        Block("h2", "Spec"),
        Block("code", json.dumps(json.loads(spec.to_json()), indent=2)),
    ]


@dataclass(frozen=True)
class Written:
    """Paths of the summary page and figure, its numbers and the per-value reports."""

    markdown: Path
    html: Path
    figure: Path
    numbers: xr.Dataset
    reports: tuple


def write(ds: xr.Dataset, out_dir: Path, report) -> Written:
    """Write each value's report (``out_dir/sweep-K``, by ``report``) and the summary
    (``sweep.md``, ``sweep.html``, ``sweep.png``/``.svg``) into ``out_dir``.
    """
    spec = StudySpec.from_json(ds.attrs["spec"])
    out_dir.mkdir(parents=True, exist_ok=True)
    reports, values, skipped = [], [], []
    for k, (value, part) in enumerate(zip(ds[SWEEP_DIM].values, split_sweep(ds), strict=True)):
        try:
            check_study_dataset(part)
        except ValueError:  # nothing solved yet at this value
            skipped.append(float(value))
            continue
        reports.append(report(part, out_dir / f"sweep-{k}"))
        values.append(float(value))
    if not reports:
        raise ValueError("the sweep has no successful solve yet: nothing to report")
    summary = summarize(spec, values, [r.numbers for r in reports])
    png = _figures.save(figure(summary, spec), out_dir, "sweep")
    blocks = build(spec, summary, skipped)
    markdown = out_dir / "sweep.md"
    markdown.write_text(_document.to_markdown(blocks), encoding="utf-8")
    page = out_dir / "sweep.html"
    page.write_text(_document.to_html(blocks, {"sweep": png}), encoding="utf-8")
    return Written(markdown, page, out_dir / "sweep.png", summary, tuple(reports))
