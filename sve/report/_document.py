"""The report as a list of blocks, rendered to Markdown and to a self-contained HTML page.

Both renderings come from the same blocks, and every number in the blocks is
formatted from :func:`sve.report.key_numbers`: the two pages cannot disagree.
Inline markup inside text is limited to ``**bold**``, ```code``` and relative links
``[text](folder/page.html)`` (``.html`` or ``.md`` targets).
"""

from __future__ import annotations

import base64
import html
import json
import re
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from sve.study.spec import StudySpec
from sve.study.tasks import STATUS

__all__ = ["Block", "build", "to_html", "to_markdown"]


@dataclass
class Block:
    """One piece of the report: heading, paragraph, banner, list, table, figure or code."""

    kind: str
    text: str = ""
    rows: list[list[str]] = field(default_factory=list)
    header: list[str] = field(default_factory=list)


#: The confidence of the report's intervals (:data:`sve.report._numbers.CONFIDENCE`).
CONFIDENCE_LEVEL = 0.95


def fmt(value: float, spec: str) -> str:
    """``value`` formatted with ``spec``; an en dash for NaN."""
    value = float(value)
    return "–" if not np.isfinite(value) else format(value, spec)


def interval(low: float, high: float, spec: str) -> str:
    return f"[{fmt(low, spec)}, {fmt(high, spec)}]"


# ---------------------------------------------------------------- building


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _unit(unit: str, power: int = 1) -> str:
    """`` [unit]`` or `` [unit^power]``; empty for a dimensionless ``"1"``."""
    if unit in ("", "1"):
        return ""
    return f" [{unit}]" if power == 1 else f" [{unit}^{power}]"


def _banners(ds: xr.Dataset, numbers: xr.Dataset) -> list[Block]:
    blocks = []
    status = ds["status"].values
    done = int(np.count_nonzero(status != STATUS["pending"]))
    if done < status.size:
        rows = [
            [
                str(int(size)),
                str(int(numbers["records_ok"].sel(size=size))),
                str(int(numbers["records_not_converged"].sel(size=size))),
                str(int(numbers["records_failed"].sel(size=size))),
                str(int(numbers["records_pending"].sel(size=size))),
                str(int(numbers["records_expected"].sel(size=size))),
            ]
            for size in numbers["size"].values
        ]
        blocks += [
            Block(
                "banner",
                f"**Partial study**: {done} of {status.size} solves finished; the numbers "
                "below use the finished ones only. Missing solves per size (records = "
                "realizations × boundary conditions):",
            ),
            Block(
                "table",
                header=["size [voxel]", "ok", "not converged", "failed", "missing", "expected"],
                rows=rows,
            ),
        ]
    unconverged = int(np.count_nonzero(status == STATUS["not_converged"]))
    if unconverged:
        blocks.append(
            Block("banner", f"**{unconverged} solves did not converge** and are left out.")
        )
    failed = int(np.count_nonzero(status == STATUS["failed"]))
    if failed:
        blocks.append(
            Block(
                "banner",
                f"**{failed} solves failed** and are left out: see *Failed records* below.",
            )
        )
    excess = ds["field_variance_excess"].values if "field_variance_excess" in ds else []
    if np.any(np.asarray(excess) > 1e-6):
        worst = int(np.argmax(excess))
        blocks.append(
            Block(
                "banner",
                f"Boxes of {int(ds['size'][worst])} voxels are small for the covariance: its "
                "periodic embedding is clipped, which adds a relative "
                f"{float(excess[worst]):.1e} to the field variance (`field_variance_excess`).",
            )
        )
    return blocks


def _phases(spec: StudySpec) -> str:
    if spec.polycrystal:
        constants = ", ".join(f"{k} = {v:g}" for k, v in spec.crystal.items())
        return (
            f"one cubic crystal ({constants}) in uniformly random grain orientations; "
            f"statistics of the {spec.modulus} modulus"
        )
    if spec.property == "permeability":
        physics = spec.physics
        walls = (
            f"; mixed: {physics.walls} side walls"
            + (", one-voxel inlet and outlet reservoirs" if physics.reservoir else "")
            if "mixed" in spec.bc
            else ""
        )
        return (
            f"Stokes flow in phase {physics.pore_label} (the pores; the other phase is solid, "
            f"no slip on its faces), viscosity {physics.viscosity:g}{walls}; k in "
            f"{_length_squared(spec)} (superficial Darcy velocity)"
        )
    if spec.property == "conductivity":
        return f"phase conductivities {list(spec.phases)} (phase 0, phase 1)"
    moduli = "; ".join(", ".join(f"{k} = {v:g}" for k, v in p.items()) for p in spec.phases)
    return (
        f"isotropic phases {moduli} (phase 0, phase 1); statistics of the {spec.modulus} modulus"
    )


def _length_squared(spec: StudySpec) -> str:
    """The unit of a permeability: the length unit squared (lengths without a unit: 1)."""
    return "units of length²" if spec.length_unit == "1" else f"{spec.length_unit}²"


def _summary(ds: xr.Dataset, spec: StudySpec) -> list[Block]:
    unit = spec.length_unit
    medium = ", ".join(
        f"{k} = {v}" for k, v in spec.medium.items() if k not in ("ndim",) and v is not None
    )
    return [
        Block(
            "list",
            rows=[
                [f"Medium: {spec.ndim}-D {medium}"],
                [f"Property: {spec.property}, {_phases(spec)}"],
                [
                    f"Sizes: {list(spec.sizes)} voxels (spacing {spec.spacing:g}{_unit(unit)}); "
                    f"{_realizations(spec)}; boundary conditions {list(spec.bc)}"
                ],
                [
                    f"Solver tolerance {spec.tol:g}; discretization: "
                    f"{ds.attrs.get('discretization', spec.discretization)}"
                ],
                [f"Seed entropy {ds.attrs.get('seed_entropy', spec.seed)}"],
                *_sampling(spec),
            ],
        )
    ]


def _realizations(spec: StudySpec) -> str:
    if not spec.adaptive:
        return f"{spec.realizations} realizations each"
    return (
        f"adaptive sampling: {spec.realizations} realizations in the first round, then rounds "
        f"until the relative 95 % CI half-width of the mean is ≤ {spec.adaptive_target:g} "
        f"for every boundary condition, at most {spec.max_realizations} per size"
    )


def _adaptive(numbers: xr.Dataset, spec: StudySpec) -> list[Block]:
    """One line: realizations used per size and whether the target was reached."""
    if not spec.adaptive:
        return []
    verdict = {"reached": "target reached", "budget": "budget used", "running": "unfinished"}
    parts = []
    for size in numbers["size"].values:
        s = numbers.sel(size=size)
        rel = float(s["relative_half_width"])
        width = f"± {100 * rel:.2g} %" if np.isfinite(rel) else "no interval yet"
        parts.append(
            f"L = {int(size)}: {int(s['realizations_used'])} realizations, "
            f"{verdict[str(s['adaptive_state'].values)]} ({width})"
        )
    return [Block("p", "Adaptive sampling per size: " + "; ".join(parts) + ".")]


_SAMPLING = {
    "windows": "every SVE of size L is a non-overlapping L-window of one periodic parent",
    "both": "independent periodic realizations (the convergence sections below) and the "
    "non-overlapping windows of one periodic parent (the ergodicity test)",
}


def _sampling(spec: StudySpec) -> list[list[str]]:
    """The summary line of the window modes (none for independent realizations)."""
    if not spec.windows:
        return []
    if spec.image:
        placement = {
            "tiles": "non-overlapping tiles",
            "random": "windows at seeded random "
            "positions (they may overlap: their confidence intervals are too narrow)",
        }
        return [[f"Sampling: every SVE of size L is one of the {placement[spec.window_placement]}"
                 f" of edge L of the measured image {spec.medium['image']} "
                 f"({' x '.join(map(str, spec.medium['image_shape']))} voxels of "
                 f"{' x '.join(f'{h:g}' for h in spec.voxel_size)} {spec.medium['unit']}); "
                 "they are one realization: their spread is the uncertainty of this "
                 "image, not of the medium"]]  # fmt: skip
    return [[f"Sampling: {_SAMPLING[spec.sampling_mode]} of {spec.parent_size} voxels a side"]]


def _mean_section(numbers: xr.Dataset, spec: StudySpec) -> list[Block]:
    conf = int(round(100 * numbers.attrs["confidence"]))
    rows = []
    for bc in numbers["bc"].values:
        for size in numbers["size"].values:
            s = numbers.sel(bc=bc, size=size)
            rows.append(
                [
                    str(bc),
                    str(int(size)),
                    f"{float(s['length']) / spec.length:.1f}" if spec.length > 0 else "n/a",
                    str(int(s["n"])),
                    fmt(s["mean"], ".5g"),
                    interval(s["ci_low"], s["ci_high"], ".5g"),
                    fmt(s["variance"], ".3g"),
                ]
            )
    bounds = [
        [
            f"Voigt (arithmetic mean) {fmt(numbers['voigt'], '.5g')}, Reuss (harmonic mean) "
            f"{fmt(numbers['reuss'], '.5g')}"
        ],
    ]
    if spec.property == "permeability":
        bounds = []
    if np.isfinite(float(numbers["hs_lower"])):
        bounds.append([f"Hashin–Shtrikman ({spec.ndim}-D) [{fmt(numbers['hs_lower'], '.5g')}, "
                       f"{fmt(numbers['hs_upper'], '.5g')}]"])  # fmt: skip
    if "bulk_exact" in numbers:
        bounds.append(
            [f"Bulk modulus of any untextured or textured polycrystal of a cubic crystal, "
             f"exact: (c11 + 2 c12)/3 = **{fmt(numbers['bulk_exact'], '.6g')}**; largest "
             f"relative deviation of a solved SVE's i·C·i/d² from it: "
             f"{fmt(numbers['bulk_max_deviation'], '.2e')}"]
        )  # fmt: skip
    elif np.isfinite(float(numbers["dykhne"])):
        bounds.append([f"{numbers.attrs['dykhne']}: **{fmt(numbers['dykhne'], '.5g')}**"])
    else:
        bounds.append([numbers.attrs["dykhne"]])
    if spec.property == "permeability":
        bounds.append(
            [
                "Darcy velocity is superficial (averaged over the whole SVE, solid included); "
                "an SVE whose pores do not cross it along an axis counts as k = 0 along it"
            ]
        )
    return [
        Block("h2", "Mean against size"),
        Block(
            "p",
            f"{_size_effect(numbers)} {_bracket(numbers)} Bounds {numbers.attrs['bounds']}:",
        ),
        Block("list", rows=bounds),
        Block(
            "table",
            header=[
                "bc",
                "L [voxel]",
                "L / ℓ",
                "n",
                f"mean {numbers.attrs['quantity']}",
                f"{conf} % CI",
                "variance",
            ],  # fmt: skip
            rows=rows,
        ),
        Block("figure", "mean_vs_size", header=["mean against size"]),
        *_components(numbers, spec),
    ]


def _names(bcs: list[str]) -> str:
    return ", ".join(bcs)


def _size_effect(numbers: xr.Dataset) -> str:
    """What the means do with L, per bc, from the interval of their drift (``trend``)."""
    conf = int(round(100 * numbers.attrs["confidence"]))
    last = int(numbers["size"].values[-1])
    parts = []
    for bc in numbers["bc"].values:
        s = numbers.sel(bc=bc)
        trend = str(s["trend"].item())
        if trend == "not measured":
            parts.append(f"{bc}: not measured (fewer than two sizes with an interval)")
            continue
        parts.append(
            f"{bc}: {trend} (mean at L = {int(s['trend_from_size'])} minus mean at L = {last}: "
            f"{fmt(s['trend_drift'], '.3g')}, {conf} % interval "
            f"{interval(s['trend_drift_low'], s['trend_drift_high'], '.3g')})"
        )
    return f"The {numbers.attrs['quantity']} with growing L: " + "; ".join(parts) + "."


def _bracket(numbers: xr.Dataset) -> str:
    """Whether static <= periodic <= kinematic held realization by realization."""
    checked = int(numbers["bracket_checked"])
    if not checked:
        return f"The order of the boundary conditions is {numbers.attrs['bracket']}."
    held = int(numbers["bracket_held"])
    order = numbers.attrs["bracket"]
    if held == checked:
        return (
            f"Per realization, {order} holds for all {checked} (size, realization) pairs "
            "solved under these conditions (to the solver tolerance)."
        )
    return (
        f"Per realization, {order} **fails for {checked - held} of {checked}** (size, "
        "realization) pairs solved under these conditions, beyond the solver tolerance."
    )


def _anomaly_note(numbers: xr.Dataset, flagged: list[str], boundary: list[str]) -> str:
    """What the anomalous flags under boundary conditions say, read against periodic."""
    bcs = [str(bc) for bc in numbers["bc"].values]
    text = f"Flagged under {_names(boundary)} conditions."
    if "periodic" not in bcs:
        return text + (
            " This study has no periodic condition, the one without a boundary layer, to "
            "tell a boundary effect from long-range correlation."
        )
    first, last = int(numbers["size"].values[0]), int(numbers["size"].values[-1])
    ratios = []
    for bc in boundary:
        ratio = numbers["variance"].sel(bc=bc) / numbers["variance"].sel(bc="periodic")
        ratios.append(
            f"{bc} {fmt(ratio.isel(size=0), '.3g')} at L = {first} and "
            f"{fmt(ratio.isel(size=-1), '.3g')} at L = {last}"
        )
    text += f" Variance relative to periodic: {'; '.join(ratios)}."
    if "periodic" in flagged:
        return text + (
            " The periodic exponent, free of a boundary layer, is flagged too: the slow "
            "decay is the medium's."
        )
    return text + (
        " The periodic exponent, free of a boundary layer, is not flagged: the slower "
        "decay is the boundary condition's (a pre-asymptotic boundary effect), not the "
        "medium's."
    )


def _component_agreement(numbers: xr.Dataset) -> str:
    """Whether the diagonal components at the largest size agree within their intervals."""
    conf = int(round(100 * numbers.attrs["confidence"]))
    agree, differ, unknown = [], [], []
    for bc in numbers["bc"].values:
        mean = numbers["component_mean"].sel(bc=bc).isel(size=-1).values
        half = numbers["component_statistical"].sel(bc=bc).isel(size=-1).values
        if not np.all(np.isfinite(mean) & np.isfinite(half)):
            unknown.append(str(bc))
            continue
        gaps = np.abs(mean[:, None] - mean[None, :]) - (half[:, None] + half[None, :])
        (differ if np.any(gaps > 0) else agree).append(str(bc))
    parts = []
    if agree:
        parts.append(f"they agree within their {conf} % intervals under {_names(agree)}")
    if differ:
        parts.append(
            f"they differ beyond their {conf} % intervals under {_names(differ)} (the "
            "apparent tensor is anisotropic at this size)"
        )
    if unknown:
        parts.append(f"no interval under {_names(unknown)} (fewer than 2 realizations)")
    return "; ".join(parts)


def _alpha_sentence(numbers: xr.Dataset) -> str:
    """Where the interval of Kanit's alpha holds 1 (A is then Matheron's integral range)."""
    conf = int(round(100 * numbers.attrs["confidence"]))
    holds, excludes = [], []
    for bc in numbers["bc"].values:
        low, high = float(numbers["alpha_low"].sel(bc=bc)), float(numbers["alpha_high"].sel(bc=bc))
        if np.isfinite(low) and np.isfinite(high):
            (holds if low <= 1 <= high else excludes).append(str(bc))
    if not holds and not excludes:
        return "A is Matheron's integral range where α = 1; no α is fitted here."
    parts = []
    if holds:
        parts.append(f"holds 1 under {_names(holds)}: there A reads as Matheron's integral range")
    if excludes:
        parts.append(f"excludes 1 under {_names(excludes)}: there A is only the scale of the law")
    return f"The {conf} % interval of α " + "; it ".join(parts) + "."


def _components(numbers: xr.Dataset, spec: StudySpec) -> list[Block]:
    """Mean diagonal components of the apparent tensor at the largest size, per bc."""
    size = int(numbers["size"].values[-1])
    rows = []
    for bc in numbers["bc"].values:
        diagonal = numbers["component_mean"].sel(bc=bc).isel(size=-1)
        rows.append([str(bc), *(fmt(value, ".5g") for value in diagonal.values)])
    name = {"conductivity": "K", "elasticity": "C", "permeability": "k"}[spec.property]
    header = ["bc", *(f"{name}{k + 1}{k + 1}" for k in range(numbers.sizes["component"]))]
    notation = " (Mandel notation)" if spec.property == "elasticity" else ""
    return [
        Block(
            "p",
            f"Mean diagonal components of the apparent tensor{notation} at the largest size "
            f"L = {size} voxels: {_component_agreement(numbers)}.",
        ),
        Block("table", header=header, rows=rows),
    ]


def _variance_section(numbers: xr.Dataset, spec: StudySpec) -> list[Block]:
    d = spec.ndim
    conf = int(round(100 * numbers.attrs["confidence"]))
    blocks = [Block("h2", "Variance scaling and integral range")]
    if "fit" in numbers.attrs:
        blocks.append(Block("p", numbers.attrs["fit"] + "."))
    rows = []
    for bc in numbers["bc"].values:
        s = numbers.sel(bc=bc)
        rows.append(
            [
                str(bc),
                f"**{fmt(s['exponent'], '.3f')}**",
                interval(s["exponent_low"], s["exponent_high"], ".3f"),
                fmt(s["chi2_per_dof"], ".2f"),
                str(-d),
                str(s["scaling"].item()),
                fmt(s["p_anomalous"], ".3g"),
            ]
        )
    blocks.append(
        Block(
            "table",
            header=[
                "bc",
                "exponent γ of D² ∝ L^γ",
                f"{conf} % interval",
                "χ²/dof",
                "short range",
                "scaling",
                "p (anomalous)",
            ],
            rows=rows,
        )
    )
    flagged = [str(bc) for bc in numbers["bc"].values if bool(numbers["anomalous"].sel(bc=bc))]
    boundary = [bc for bc in flagged if bc != "periodic"]
    if boundary:
        blocks.append(Block("p", _anomaly_note(numbers, flagged, boundary)))
    unit = spec.length_unit
    rows = [
        [
            str(bc),
            fmt(numbers["alpha"].sel(bc=bc), ".3f"),
            interval(numbers["alpha_low"].sel(bc=bc), numbers["alpha_high"].sel(bc=bc), ".3f"),
            fmt(numbers["integral_range"].sel(bc=bc), ".4g"),
            interval(
                numbers["integral_range_low"].sel(bc=bc),
                numbers["integral_range_high"].sel(bc=bc),
                ".4g",
            ),
        ]
        for bc in numbers["bc"].values
    ]
    if "integral_range" in numbers.attrs:
        kanit = (
            "Kanit's law D²(V) = D² (A/V)^α: the integral range A is "
            f"{numbers.attrs['integral_range']}."
        )
    else:
        kanit = (
            "Kanit's law D²(V) = D² (A/V)^α with the point variance D² = φ(1 − φ)(z1 − z0)², "
            f"z the {numbers.attrs['quantity']} of each phase. {_alpha_sentence(numbers)}"
        )
    blocks += [
        Block("p", kanit),
        Block(
            "table",
            header=[
                "bc",
                "α",
                f"{conf} % interval",
                f"integral range A{_unit(unit, d)}",
                f"{conf} % interval",
            ],  # fmt: skip
            rows=rows,
        ),
        Block("figure", "variance_vs_size", header=["variance against size"]),
    ]
    return blocks


def _rve_section(numbers: xr.Dataset, spec: StudySpec) -> list[Block]:
    unit = spec.length_unit
    conf = int(round(100 * numbers.attrs["confidence"]))
    rows = []
    any_extrapolated = False
    for bc in numbers["bc"].values:
        for eps in numbers["relative_error"].values:
            row = [str(bc), f"{100 * eps:g} %"]
            for n in numbers["rve_realizations"].values:
                s = numbers.sel(bc=bc, relative_error=eps, rve_realizations=n)
                flag = ""
                if bool(s["extrapolated"]) and np.isfinite(float(s["rve_length"])):
                    flag, any_extrapolated = " (extrapolated)", True
                row.append(
                    f"{fmt(s['rve_length'], '.4g')}{flag}; V "
                    f"{interval(s['rve_volume_low'], s['rve_volume_high'], '.3g')}"
                )
            rows.append(row)
    note = (
        f"Edge length L_RVE{_unit(unit)} at which the mean of n realizations has a relative "
        f"error ε (two standard errors, Kanit et al. 2003), with the {conf} % interval of "
        f"the volume V = L^{spec.ndim}. The BC bias is not included (see the error budget)."
    )
    if any_extrapolated:
        note += (
            f" **(extrapolated)**: outside the measured sizes {spec.sizes[0] * spec.spacing:g}–"
            f"{spec.sizes[-1] * spec.spacing:g}{_unit(unit)}, it relies on the fitted power law."
        )
    return [
        Block("h2", "RVE size"),
        Block("p", note),
        Block(
            "table",
            header=["bc", "ε", *[f"n = {int(n)}" for n in numbers["rve_realizations"].values]],
            rows=rows,
        ),
    ]


def _budget_section(numbers: xr.Dataset, spec: StudySpec) -> list[Block]:
    size = int(numbers["size"].values[-1])
    conf = int(round(100 * numbers.attrs["confidence"]))
    rows = []
    for bc in numbers["bc"].values:
        s = numbers.sel(bc=bc).isel(size=-1)
        rows.append(
            [
                str(bc),
                fmt(s["mean"], ".5g"),
                fmt(s["statistical"], ".2g"),
                fmt(s["bc_bias"], ".2g"),
                fmt(s["solver"], ".2g"),
                "not estimated",
            ]
        )
    if spec.property == "permeability":
        units, gap = f"in {_length_squared(spec)}", "|mixed − periodic| gap of the means"
    else:
        units = f"in the units of the {spec.property} phases"
        gap = "|KUBC − SUBC| gap of the means"
    if spec.stop == "tensor":
        solver = "largest estimated entry error of the apparent tensors (solver.stop = 'tensor')"
    else:
        solver = "largest final relative residual × |mean|"
    return [
        Block("h2", "Error budget"),
        Block(
            "p",
            f"At the largest size, L = {size} voxels, {units}; the "
            "parts are kept apart (a random error, a bounded systematic one, a numerical one). "
            f"Statistical: half-width of the {conf} % interval of the mean. BC bias: "
            f"{gap} ({numbers.attrs['bc_bias'] or 'n/a'}). Solver: "
            f"{solver} (tolerance {spec.tol:g}). "
            f"Discretization: {numbers.attrs['discretization']}.",
        ),
        Block(
            "table",
            header=["bc", "mean", "statistical", "BC bias", "solver", "discretization"],
            rows=rows,
        ),
    ]


def _failures(ds: xr.Dataset, title: str = "Failed records") -> list[Block]:
    status = ds["status"].values
    if not np.any(status == STATUS["failed"]):
        return []
    errors = np.asarray(ds["error"].values)
    failed = np.any(status == STATUS["failed"], axis=-1)  # (size, realization)
    by_text: dict[str, list[str]] = {}
    for k, r in zip(*np.nonzero(failed), strict=True):
        text = str(errors[k, r]) or "(no error text)"
        by_text.setdefault(text, []).append(f"{int(ds['size'][k])}/{int(ds['realization'][r])}")
    rows = [[text, str(len(where)), ", ".join(where)] for text, where in by_text.items()]
    return [
        Block("h2", title),
        Block("p", "Left out of every number above; a rerun of the study retries them."),
        Block("table", header=["error", "count", "size/realization"], rows=rows),
    ]


def _provenance(ds: xr.Dataset, numbers: xr.Dataset, spec: StudySpec) -> list[Block]:
    runs = json.loads(ds.attrs.get("runs", "[]"))
    try:
        versions = json.loads(ds.attrs.get("versions", "{}"))
        versions = ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))
    except (TypeError, ValueError):
        versions = str(ds.attrs.get("versions", "unknown"))
    status = ds["status"].values
    ok = ds["iterations"].where(ds["status"] == STATUS["ok"])
    items = [
        [
            f"Seed entropy {ds.attrs.get('seed_entropy', spec.seed)}; seeding: "
            f"{ds.attrs.get('seeding_scheme', 'unknown')}"
        ],
        [f"Versions: {versions or 'unknown'}"],
        [
            f"Total solver wall time: {fmt(numbers['wall_time'], '.1f')} s over "
            f"{int(np.count_nonzero(status != STATUS['pending']))} solves (mean iterations "
            f"{fmt(ok.mean(), '.1f')})"
        ],
    ]
    blocks = [Block("h2", "Provenance"), Block("list", rows=items)]
    if runs:
        blocks.append(
            Block(
                "table",
                header=[
                    "run started",
                    "finished",
                    "wall time [s]",
                    "workers",
                    "scheduler",
                    "tasks",
                    "failed",
                ],  # fmt: skip
                rows=[
                    [
                        str(run.get("started", "")),
                        str(run.get("finished", "")),
                        str(run.get("wall_time_s", "")),
                        str(run.get("workers", "")),
                        str(run.get("scheduler", "")),
                        str(run.get("tasks", "")),
                        str(run.get("failed_tasks", "")),
                    ]
                    for run in runs
                ],
            )
        )
    else:
        blocks.append(Block("p", "No run record in the store (attrs['runs'] is empty)."))
    spec_text = json.dumps(json.loads(ds.attrs["spec"]), indent=2)
    blocks += [Block("p", "Spec:"), Block("code", spec_text)]
    return blocks


def _ergodicity_section(numbers: xr.Dataset, spec: StudySpec) -> list[Block]:
    """The verdict (with its p-value where testable), the tests per size and bc, the parent."""
    p_value = float(numbers["ergodicity_p_value"])
    note = _sentence(numbers.attrs["ergodicity"])
    blocks = [Block("h2", "Ergodicity")]
    if np.isfinite(p_value):
        verdict = "non-ergodic" if bool(numbers["ergodicity_flagged"]) else "not rejected"
        blocks.append(Block("p", f"Verdict: **{verdict}**, p = {p_value:.3g}."))
    blocks.append(Block("p", note + "."))
    if "ergodicity_p" in numbers:
        rows = []
        for size in numbers["size"].values:
            for bc in numbers["bc"].values:
                s = numbers.sel(size=size, bc=bc)
                rows.append(
                    [
                        str(int(size)),
                        str(bc),
                        f"{int(s['n_windows'])}",
                        f"{fmt(s['window_mean'], '.4g')} / {fmt(s['window_variance'], '.3g')}",
                        f"{int(s['n_independent'])}",
                        f"{fmt(s['ensemble_mean'], '.4g')} / {fmt(s['ensemble_variance'], '.3g')}",
                        fmt(s["ergodicity_p_mean"], ".3g"),
                        fmt(s["ergodicity_p_variance"], ".3g"),
                        fmt(s["ergodicity_p"], ".3g"),
                    ]
                )
        blocks += [
            Block(
                "p",
                "Windows of the parent against independent realizations, "
                f"{numbers.attrs['quantity']} (– : fewer than 3 values in a sample):",
            ),
            Block(
                "table",
                header=[
                    "size [voxel]",
                    "bc",
                    "windows",
                    "windows mean / variance",
                    "independent",
                    "independent mean / variance",
                    "p (Welch t)",
                    "p (F)",
                    "p",
                ],
                rows=rows,
            ),  # fmt: skip
        ]
    if "parent_fraction" in numbers:
        unit = _unit(spec.length_unit)
        rows = [
            [
                f"{float(length):g}",
                fmt(numbers["parent_fraction"].sel(parent_length=length), ".4f"),
                f"± {fmt(numbers['parent_band'].sel(parent_length=length), '.4f')}",
                "yes" if bool(numbers["parent_inside"].sel(parent_length=length)) else "**no**",
            ]
            for length in numbers["parent_length"].values
        ]
        blocks.append(
            Block(
                "table",
                header=[
                    f"parent corner window edge{unit}",
                    "phase-1 fraction",
                    f"band around φ = {spec.volume_fraction:g}",
                    "inside",
                ],
                rows=rows,
            )  # fmt: skip
        )
    return blocks


def _morphology(numbers: xr.Dataset, spec: StudySpec) -> list[Block]:
    if spec.polycrystal:
        return [
            Block("p", f"Grain volumes: {numbers.attrs['s2']}."),
            Block("figure", "grains", header=["grain volumes"]),
        ]
    return [
        Block("p", f"Two-point probability S2 of phase 1: {numbers.attrs['s2']}."),
        Block("figure", "s2", header=["two-point probability"]),
    ]


def _image_answers(numbers: xr.Dataset, spec: StudySpec) -> list[Block]:
    """An image study's answers, one sentence each per bc, from the key numbers."""
    if not spec.image or "image_value" not in numbers:
        return []
    unit = spec.length_unit
    shape = " x ".join(map(str, spec.medium["image_shape"]))
    eps = spec.target_precision
    largest = int(numbers["size"].values[-1]) if numbers.sizes.get("size") else 0
    lengths = [n * h for n, h in zip(spec.medium["image_shape"], spec.voxel_size, strict=True)]
    edge = float(np.prod(lengths)) ** (1 / spec.ndim)
    solved = numbers.attrs.get("image_value", "").startswith("solved")
    items = []
    for bc in numbers["bc"].values:
        s = numbers.sel(bc=bc)
        if not np.isfinite(float(s["image_value"])) or not np.isfinite(
            float(s["image_relative_error"])
        ):
            items.append([f"{bc}: no answer at the image's size: it needs a decreasing "
                          "variance fitted on >= 3 sizes"])  # fmt: skip
            continue
        verdict = "is" if bool(s["image_representative"]) else "is not"
        source = (
            "the whole image, solved"
            if solved
            else "EXTRAPOLATED (the whole image exceeds the memory budget or was not solved): "
            f"the mean of the windows of the largest size, L = {largest * spec.spacing:g} {unit}"
        )
        items += [
            [f"{bc}: the value at the image's size is {fmt(s['image_value'], '.4g')} ± "
             f"{fmt(float(s['image_value_high']) - float(s['image_value']), '.2g')} "
             f"({int(round(100 * CONFIDENCE_LEVEL))} %: {source}, "
             "± 1.96 D(V_image) from the fitted "
             "variance law at the "
             f"volume of the whole image, {shape} voxels, an equivalent edge of "
             f"{edge:.4g} {unit}; the boundary-condition gap and the discretization are "
             "given separately below)."],
            [f"{bc}: the image {verdict} representative at the target precision "
             f"{100 * eps:g} % (relative uncertainty at its size "
             f"{100 * float(s['image_relative_error']):.2g} %)."],
            [f"{bc}: the edge that would be is {fmt(s['image_rve_length'], '.3g')} {unit}."],
        ]  # fmt: skip
    return [Block("p", "The answers for this image (from the windows study; the value at "
                  f"the image's size: {numbers.attrs.get('image_value', '')}):"),
            Block("list", rows=items)]  # fmt: skip


def _tortuosity_section(ds: xr.Dataset, spec: StudySpec) -> list[Block]:
    """Percolation and tortuosity per size (conductivity studies with a void phase)."""
    if "tortuosity" not in ds:
        return []
    from sve.study.percolation import percolation_summary

    summary = percolation_summary(ds.load() if hasattr(ds, "load") else ds)
    rows = []
    for bc in summary["bc"].values:
        for size in summary["size"].values:
            for axis in summary["i"].values:
                s = summary.sel(bc=bc, size=size, i=axis)
                fraction, tau = fmt(s["percolating_fraction"], ".3g"), fmt(s["tortuosity"], ".4g")
                rows.append([str(bc), str(int(size)), str(int(axis)), fraction, tau])
    return [
        Block("h2", "Percolation and tortuosity"),
        Block(
            "p",
            "Tortuosity factor τ = φ·D0/D_eff in TauFactor's convention (φ the mean "
            "conducting fraction, D0 the conducting phase's conductivity, D_eff the mean "
            "apparent diagonal conductivity along the axis); windows that do not percolate "
            "along the axis count as zero conductivity, so τ is never averaged over "
            "infinite values. Percolating: the fraction of the solved windows with a "
            "conducting path between the two faces normal to the axis.",
        ),  # fmt: skip
        Block("table", header=["bc", "L [voxel]", "axis", "percolating", "τ"], rows=rows),
    ]


def _flow_section(numbers: xr.Dataset, spec: StudySpec) -> list[Block]:
    """Permeability studies: the mixed − periodic gap, percolation, the flow figure."""
    if spec.property != "permeability":
        return []
    conf = int(round(100 * numbers.attrs["confidence"]))
    blocks = [Block("h2", "Flow: boundary-condition gap and percolation")]
    if "gap" in numbers.attrs:
        rows = [
            [
                str(int(size)),
                fmt(numbers["gap"].sel(size=size), ".4g"),
                interval(numbers["gap_low"].sel(size=size), numbers["gap_high"].sel(size=size),
                         ".4g"),
                fmt(100 * numbers["relative_gap"].sel(size=size), ".3g"),
            ]
            for size in numbers["size"].values
        ]  # fmt: skip
        blocks += [
            Block(
                "p",
                f"Gap between the boundary conditions: {numbers.attrs['gap']}. "
                "It measures how much the answer still depends on the boundary conditions at "
                "each size, and should shrink as the SVE grows; its sign carries no bound.",
            ),
            Block(
                "table",
                header=[
                    "L [voxel]",
                    f"gap {numbers.attrs['quantity']} mixed − periodic",
                    f"{conf} % interval",
                    "relative to periodic [%]",
                ],
                rows=rows,
            ),
        ]
    rows = []
    for bc in numbers["bc"].values:
        for size in numbers["size"].values:
            s = numbers.sel(bc=bc, size=size)
            rows.append(
                [
                    str(bc),
                    str(int(size)),
                    fmt(s["porosity"], ".4f"),
                    *(fmt(v, ".3g") for v in s["non_percolating_fraction"].values),
                    fmt(s["non_percolating_any"], ".3g"),
                ]
            )
    for row, (bc, size) in zip(
        rows,
        [(bc, size) for bc in numbers["bc"].values for size in numbers["size"].values],
        strict=True,
    ):
        row.append(fmt(numbers["narrow_throat_fraction"].sel(bc=bc, size=size), ".3g"))
    axes = [f"not percolating along axis {i}" for i in range(spec.ndim)]
    blocks += [
        Block(
            "p",
            "Fraction of the solved SVEs whose pore space does not join the two faces normal "
            "to an axis (periodic: across the period). They count as k = 0 along that axis in "
            "every statistic above, never as a missing value. Narrow throat: the fraction "
            "whose narrowest throat is under 4 voxels across, where the value is a "
            "resolution artefact as much as a property.",
        ),
        Block(
            "table",
            header=["bc", "L [voxel]", "porosity", *axes, "any axis", "narrow throat"],
            rows=rows,
        ),  # fmt: skip
        Block("p", f"Flow field of one SVE: {numbers.attrs.get('flow_figure', '')}."),
        Block("figure", "flow", header=["velocity magnitude in one SVE"]),
    ]
    return blocks


def build(ds: xr.Dataset, numbers: xr.Dataset, spec: StudySpec) -> list[Block]:
    """The report's blocks, every number formatted from ``numbers``.

    A mode "both" study: banners and failures of its independent
    realizations (the sample the convergence pages use), the windows'
    failures in a section of their own.
    """
    full = ds
    if "sampling" in ds.dims:
        ds = ds.sel(sampling="independent", drop=True)
        window_failures = _failures(
            full.sel(sampling="windows", drop=True), "Failed records (windows of the parent)"
        )
    else:
        window_failures = []
    return [
        Block("h1", f"Size-convergence report: {spec.name}"),
        *_image_answers(numbers, spec),
        *_banners(ds, numbers),
        *_summary(ds, spec),
        *_adaptive(numbers, spec),
        Block("h2", "Microstructure"),
        Block("figure", "thumbnails", header=["realization 0 at each size"]),
        *_morphology(numbers, spec),
        *_mean_section(numbers, spec),
        *_variance_section(numbers, spec),
        *_rve_section(numbers, spec),
        *_tortuosity_section(ds, spec),
        *_flow_section(numbers, spec),
        *_ergodicity_section(numbers, spec),
        *_budget_section(numbers, spec),
        *_failures(ds),
        *window_failures,
        *_provenance(full, numbers, spec),
    ]


# ---------------------------------------------------------------- rendering


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: list[Block]) -> str:
    """Markdown text; figures link to ``NAME.png`` beside the page."""
    lines: list[str] = []
    for block in blocks:
        if block.kind == "h1":
            lines += [f"# {block.text}", ""]
        elif block.kind == "h2":
            lines += [f"## {block.text}", ""]
        elif block.kind == "p":
            lines += [block.text, ""]
        elif block.kind == "banner":
            lines += [f"> {block.text}", ""]
        elif block.kind == "list":
            lines += [f"- {row[0]}" for row in block.rows] + [""]
        elif block.kind == "table":
            lines.append("| " + " | ".join(_md_cell(h) for h in block.header) + " |")
            lines.append("|" + "---|" * len(block.header))
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
            lines.append("")
        elif block.kind == "figure":
            lines += [f"![{block.header[0]}]({block.text}.png)", ""]
        elif block.kind == "code":
            lines += ["```json", block.text, "```", ""]
    return "\n".join(lines)


def _inline(text: str) -> str:
    escaped = html.escape(text, quote=False)
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)
    escaped = re.sub(r"(?<![\w*])\*(?!\s)(.+?)\*", r"<em>\1</em>", escaped)
    # relative links to other pages of a report folder: [text](folder/page.html)
    escaped = re.sub(r"\[([^\]]+)\]\(([\w./-]+\.(?:html|md))\)", r'<a href="\2">\1</a>', escaped)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", escaped)


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em}
h2{font-size:1.25em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}th{background:#f3f3f3}
.banner{background:#fff4d6;border-left:5px solid #e0a800;padding:.6em 1em;margin:.8em 0}
figure{margin:1em 0}img{max-width:100%;height:auto}
pre{background:#f6f6f6;padding:.8em;overflow-x:auto;font-size:.85em}
"""

#: No network: only inline styles and data: images may load.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def to_html(blocks: list[Block], images: dict[str, bytes]) -> str:
    """A self-contained HTML page; figures embedded as base64 PNG."""
    title = next((b.text for b in blocks if b.kind == "h1"), "report")
    body: list[str] = []
    for block in blocks:
        if block.kind in ("h1", "h2"):
            body.append(f"<{block.kind}>{_inline(block.text)}</{block.kind}>")
        elif block.kind == "p":
            body.append(f"<p>{_inline(block.text)}</p>")
        elif block.kind == "banner":
            body.append(f'<div class="banner" role="alert">{_inline(block.text)}</div>')
        elif block.kind == "list":
            items = "".join(f"<li>{_inline(row[0])}</li>" for row in block.rows)
            body.append(f"<ul>{items}</ul>")
        elif block.kind == "table":
            head = "".join(f"<th>{_inline(h)}</th>" for h in block.header)
            rows = "".join(
                "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>"
                for row in block.rows
            )
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif block.kind == "figure":
            data = base64.b64encode(images[block.text]).decode("ascii")
            alt = html.escape(block.header[0])
            body.append(
                f'<figure><img src="data:image/png;base64,{data}" alt="{alt}">'
                f"<figcaption>{alt} ({block.text}.png, {block.text}.svg)</figcaption></figure>"
            )
        elif block.kind == "code":
            body.append(f"<pre><code>{html.escape(block.text)}</code></pre>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
