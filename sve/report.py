"""Convergence reports: Markdown with PNG figures, from a study dataset or store.

Figures: the mean of the isotropic part tr(K)/d ± its 95 % confidence
interval against the size, and its variance against the size on log-log
axes with the fitted exponent and the L^-d reference line.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from sve.statistics import ensemble_statistics, fit_variance_scaling
from sve.study.store import open_study
from sve.study.tasks import STATUS

__all__ = ["report"]


def report(source: xr.Dataset | str | Path, out_dir: str | Path) -> Path:
    """Write the convergence report of a study.

    Parameters
    ----------
    source : xarray.Dataset or path to a study store
        A (possibly partial) study dataset.
    out_dir : path
        Folder for ``report.md``, ``mean_vs_size.png`` and
        ``variance_vs_size.png`` (created if needed).

    Returns
    -------
    pathlib.Path
        The path of ``report.md``.
    """
    ds = source if isinstance(source, xr.Dataset) else open_study(source).load()
    if "spec" not in ds.attrs or "status" not in ds:
        raise ValueError("source is not a study dataset (no spec attribute or status variable)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    spec = json.loads(ds.attrs["spec"])

    stats = ensemble_statistics(ds, "conductivity")
    fit = fit_variance_scaling(stats) if ds.sizes["size"] >= 3 else None
    _plot_mean(stats, spec, out_dir / "mean_vs_size.png")
    _plot_variance(stats, fit, spec, out_dir / "variance_vs_size.png")
    path = out_dir / "report.md"
    path.write_text(_markdown(ds, stats, fit, spec))
    return path


def _size_axis(ax, stats: xr.Dataset) -> None:
    """Log axis of edge lengths, ticked at the study's sizes."""
    length = stats["length"].values
    ax.set_xscale("log")
    ax.set_xticks(length, [f"{v:g}" for v in length])
    ax.minorticks_off()
    ax.set_xlabel(f"edge length L [{stats['length'].attrs.get('units', '1')}]")


def _plot_mean(stats: xr.Dataset, spec: dict, path: Path) -> None:
    fig = Figure(figsize=(6, 4), layout="constrained")  # no pyplot: no global state
    ax = fig.add_subplot()
    length = stats["length"].values
    for bc in stats["bc"].values:
        s = stats.sel(bc=bc)
        ax.errorbar(
            length,
            s["mean"],
            yerr=[s["mean"] - s["ci_low"], s["ci_high"] - s["mean"]],
            marker="o",
            capsize=3,
            label=f"{bc} (mean ± 95 % CI)",
        )
    _size_axis(ax, stats)
    ax.set_ylabel("apparent conductivity tr(K)/d")
    ax.set_title(f"{spec['name']}: mean against size")
    ax.legend()
    fig.savefig(path, dpi=120)


def _plot_variance(stats: xr.Dataset, fit: xr.Dataset | None, spec: dict, path: Path) -> None:
    fig = Figure(figsize=(6, 4), layout="constrained")  # no pyplot: no global state
    ax = fig.add_subplot()
    length = stats["length"].values
    d = spec["ndim"]
    for bc in stats["bc"].values:
        (points,) = ax.loglog(length, stats["variance"].sel(bc=bc), "o", label=f"{bc}")
        if fit is not None and np.isfinite(fit["exponent"].sel(bc=bc)):
            f = fit.sel(bc=bc)
            ax.loglog(
                length,
                f["prefactor"].item() * length ** f["exponent"].item(),
                "-",
                color=points.get_color(),
                label=f"{bc} fit: L^{f['exponent'].item():.2f} "
                f"[{f['exponent_low'].item():.2f}, {f['exponent_high'].item():.2f}]",
            )
    finite = stats["variance"].where(np.isfinite(stats["variance"]), drop=False)
    anchor = float(finite.isel(size=0).max()) if np.isfinite(finite.isel(size=0)).any() else 1.0
    ax.loglog(length, anchor * (length / length[0]) ** (-d), "k--", lw=1, label=f"L^-{d}")
    _size_axis(ax, stats)
    ax.set_ylabel("variance of tr(K)/d")
    ax.set_title(f"{spec['name']}: variance against size")
    ax.legend()
    fig.savefig(path, dpi=120)


def _markdown(ds: xr.Dataset, stats: xr.Dataset, fit: xr.Dataset | None, spec: dict) -> str:
    status = ds["status"].values
    done = int(np.count_nonzero(status != STATUS["pending"]))
    unconverged = int(np.count_nonzero(status == STATUS["not_converged"]))
    failed = int(np.count_nonzero(status == STATUS["failed"]))
    lines = [f"# Size-convergence report: {spec['name']}", ""]
    if done < status.size:
        lines += [
            f"> **Partial study**: {done} of {status.size} solves finished; "
            "the numbers below use the finished ones only.",
            "",
        ]
    excess = ds["field_variance_excess"]
    if (excess > 1e-6).any():
        worst = int(np.argmax(excess.values))
        lines += [
            f"> Boxes of {int(ds['size'][worst])} voxels are small for the covariance: its "
            "periodic embedding is clipped, which adds a relative "
            f"{float(excess[worst]):.1e} to the field variance (`field_variance_excess`).",
            "",
        ]
    if unconverged:
        lines += [f"> **{unconverged} solves did not converge** and are left out.", ""]
    if failed:
        errors = sorted({str(e) for e in np.asarray(ds["error"]).ravel() if e})
        lines += [f"> **{failed} solves failed** and are left out: {'; '.join(errors)}", ""]
    unit = ds["length"].attrs.get("units", "1")
    lines += [
        f"- Medium: {spec['ndim']}-D {spec['generator']} ({spec['covariance']} covariance, "
        f"correlation length {spec['correlation_length']:g} {unit}, "
        f"volume fraction {spec['volume_fraction']:g})",
        f"- Property: {spec['property']}, phases {list(spec['phases'])}",
        f"- Sizes: {list(spec['sizes'])} voxels (spacing {spec['spacing']:g} {unit}); "
        f"{spec['realizations']} realizations each; boundary conditions {list(spec['bc'])}",
        f"- Seed entropy {ds.attrs['seed_entropy']}; solver tolerance {spec['tol']:g}; "
        f"discretization: {ds.attrs.get('discretization', 'unknown')}",
        "",
        "## Variance scaling",
        "",
    ]
    d = spec["ndim"]
    if fit is None:
        lines += ["Fewer than 3 sizes: no fit.", ""]
    else:
        lines += [
            "| bc | exponent γ of D² ∝ L^γ | 95 % interval | χ²/dof | expected (short range) |",
            "|---|---|---|---|---|",
        ]
        for bc in fit["bc"].values:
            f = fit.sel(bc=bc)
            lines.append(
                f"| {bc} | **{f['exponent'].item():.3f}** | "
                f"[{f['exponent_low'].item():.3f}, {f['exponent_high'].item():.3f}] | "
                f"{f['chi2_per_dof'].item():.2f} | {-d} |"
            )
        lines.append("")
    lines += [
        "![variance against size](variance_vs_size.png)",
        "",
        "## Mean against size",
        "",
        "| bc | L [voxel] | L / ℓ | n | mean tr(K)/d | 95 % CI | variance |",
        "|---|---|---|---|---|---|---|",
    ]
    for bc in stats["bc"].values:
        for k, size in enumerate(stats["size"].values):
            s = stats.sel(bc=bc).isel(size=k)
            lines.append(
                f"| {bc} | {size} | {size * spec['spacing'] / spec['correlation_length']:.1f} | "
                f"{int(s['n'])} | {float(s['mean']):.5g} | "
                f"[{float(s['ci_low']):.5g}, {float(s['ci_high']):.5g}] | "
                f"{float(s['variance']):.3g} |"
            )
    lines += ["", "![mean against size](mean_vs_size.png)", "", "## Provenance", ""]
    lines += [
        f"- Seeding: {ds.attrs['seeding_scheme']}",
        f"- Versions: {ds.attrs.get('versions', 'unknown')}",
        f"- Total solver wall time: {float(ds['wall_time'].sum()):.1f} s "
        f"(mean iterations {float(ds['iterations'].where(status == STATUS['ok']).mean()):.1f})",
        "",
        "Spec:",
        "",
        "```json",
        json.dumps(spec, indent=2),
        "```",
        "",
    ]
    return "\n".join(lines)
