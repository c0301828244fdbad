"""The report of a limits-of-homogenization study: figures, Markdown and JSON numbers.

:func:`write_limits_report` takes the results of `periodic_limits` or
`elastic_limits` (a `PeriodicLimits`), of `random_limits` (a `RandomLimits`)
and of `hole_concentration` (a `HoleConcentration`), any of them, and writes
to one folder:

* ``errors.png``: the errors against ``eps`` on log-log axes, each with its
  fitted slope and, beside it, a line of the rate the literature predicts;
* ``fields.png``: the DNS, homogenized, corrector-rebuilt and error fields of
  the finest ``eps``, side by side; ``profile.png``: the boundary-layer profile;
* ``random.png`` (random media: the interior error beside ``eps |ln
  eps|^(1/2)`` and the fluctuations of ``K_00`` beside ``eps^(d/2)``) and
  ``hole.png`` (the flux concentration at a hole);
* ``report.md``: the tables of errors per ``eps``, the fitted rates beside the
  theory's and the answer, sentences computed from the numbers;
* ``numbers.json``: the numbers of :func:`limits_numbers`.

The figures are drawn on :class:`matplotlib.figure.Figure` objects (no pyplot
state); the ``draw_*`` functions take a figure to draw on, so that a script
can pass one of ``pyplot``'s.

The rates (Bensoussan, Lions & Papanicolaou 1978; Allaire 1992; Gloria,
Neukamm & Otto 2015; Armstrong, Kuusi & Mourrat 2019): periodic media, the L2
error of ``u0`` falls as ``eps``, the H1 error of the first-order
reconstruction ``u1`` as ``eps^(1/2)`` over the part (the boundary layer) and
as ``eps`` at a fixed distance from the boundary; random media in the
interior, ``eps |ln eps|^(1/2)`` in 2-D and ``eps`` in 3-D, and the
fluctuations of an apparent tensor as ``eps^(d/2)``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from sve._validation import check_real
from sve.multiscale.limits import (
    HoleConcentration,
    PeriodicLimits,
    RandomLimits,
    l2_norm_squared,
)

__all__ = [
    "LIMITS_FIGURES",
    "PERIODIC_RATES",
    "RATE_TOLERANCE",
    "LimitsReport",
    "boundary_layer_width",
    "draw_errors",
    "draw_fields",
    "draw_hole",
    "draw_profile",
    "draw_random",
    "limits_numbers",
    "write_limits_report",
]

#: The rate the two-scale theory predicts for each error of a `PeriodicLimits`
#: (Bensoussan, Lions & Papanicolaou 1978; Allaire 1992): the L2 error of ``u0``, the
#: H1 error of ``u1`` over the part (asymptotic: the boundary layer) and at a fixed
#: distance from the boundary.
PERIODIC_RATES = {"l2_error": 1.0, "h1_error": 0.5, "h1_error_interior": 1.0}

#: A fitted rate "agrees" with the theory's when they differ by at most this (the band
#: of the issue's rate tests, 1 +- 0.15).
RATE_TOLERANCE = 0.15

#: Every figure a report may hold, as ``NAME.png``; which ones it holds depends on
#: the results it is given.
LIMITS_FIGURES = ("errors", "fields", "profile", "random", "hole")

_SLOPES = {
    "l2_error": "l2_slope",
    "h1_error": "h1_slope",
    "h1_error_interior": "h1_interior_slope",
}
_LABELS = {
    "l2_error": "L2 error of u0",
    "h1_error": "H1 error of u1, whole part",
    "h1_error_interior": "H1 error of u1, interior",
}
_DPI = 100


@dataclass(frozen=True)
class LimitsReport:
    """What `write_limits_report` wrote.

    Attributes
    ----------
    directory : Path
        The output folder.
    markdown : Path
        ``report.md``.
    numbers : Path
        ``numbers.json`` (the record of `limits_numbers`).
    figures : dict of str to Path
        ``NAME.png`` per figure drawn (names from `LIMITS_FIGURES`).
    answer : str
        The answer sentences of the report.
    """

    directory: Path
    markdown: Path
    numbers: Path
    figures: dict = field(default_factory=dict)
    answer: str = ""


def boundary_layer_width(profile, factor: float = 2.0) -> int:
    """Cells of the boundary layer: the leading strips of `profile` above `factor` x its median.

    Parameters
    ----------
    profile : array_like of shape (m,)
        The rms gradient error per cell-wide strip from the boundary
        (`PeriodicLimits.profile`), the boundary's strip first.
    factor : float, default 2
        A strip belongs to the layer when its rms exceeds `factor` times the
        median over all strips (the level of the bulk), > 1.

    Returns
    -------
    int
        The number of consecutive strips from the boundary above that level (0:
        no layer stands out from the bulk).
    """
    factor = check_real(factor, "factor", 1.0, math.inf)
    values = np.asarray(profile, dtype=np.float64)
    if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError(
            f"profile must be a non-empty 1-D array of finite values, got {profile!r}"
        )
    level = factor * float(np.median(values))
    width = 0
    while width < values.size and values[width] > level:
        width += 1
    return width


def _fraction(eps: float) -> str:
    """``0.0625`` -> ``"1/16"`` (the values of the studies are ``1 / n``)."""
    value = Fraction(float(eps)).limit_denominator(1 << 20)
    return str(value) if value.numerator != 1 or value.denominator != 1 else "1"


def _finite(value):
    """A JSON-safe copy: arrays to lists, NaN and infinities to None."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, np.ndarray):
        return _finite(value.tolist())
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value


def _agreement(measured: float, theory: float) -> str:
    if abs(measured - theory) <= RATE_TOLERANCE:
        return "agrees with"
    return "differs from"


THEORY_ONE = "the theory's 1"


def _rate(measured: float, theory: float, name: str) -> str:
    """``"rate 1.01, which agrees with the theory's 1"``; no rate from fewer than two eps."""
    if not math.isfinite(measured):
        return "no rate (fewer than two eps)"
    return f"rate {measured:.2f}, which {_agreement(measured, theory)} {name}"


def _field_norm(values: np.ndarray) -> float:
    """``||v||_L2`` of nodal fields on the unit box (a vector field: over its components)."""
    if values.ndim == 3 and values.shape[-1] == 2:  # plane displacement (N+1, N+1, 2)
        h = 1.0 / (values.shape[0] - 1)
        return math.sqrt(sum(l2_norm_squared(values[..., c], h) for c in range(2)))
    return math.sqrt(l2_norm_squared(values, 1.0 / (values.shape[0] - 1)))


def _physics(periodic: PeriodicLimits) -> str:
    """``"elasticity"`` for the plane displacements of `elastic_limits`, else conductivity."""
    dns = periodic.fields.get("dns")
    vector = dns is not None and dns.ndim == 3 and dns.shape[-1] == 2
    return "elasticity" if vector else "conductivity"


def _periodic_answer(result: PeriodicLimits, factor: float) -> tuple[str, dict]:
    eps = result.eps
    finest = int(np.argmin(eps))
    width = boundary_layer_width(result.profile, factor) if result.profile.size else 0
    norm = _field_norm(result.fields["homogenized"]) if result.fields else math.nan
    relative = float(result.l2_error[finest]) / norm if norm > 0 else math.nan
    if math.isfinite(relative):
        accuracy = f"the homogenized u0 is within {100 * relative:.2g} % of the DNS in L2"
    else:  # no fields to measure u0 by
        accuracy = f"the L2 error of u0 against the DNS is {result.l2_error[finest]:.3g}"
    sentences = [
        f"At eps = {_fraction(eps[finest])} {accuracy}; it falls with "
        f"{_rate(result.l2_slope, 1.0, THEORY_ONE)}."
    ]
    profile = result.profile
    if profile.size == 0:
        pass
    elif width == 0:
        sentences.append(
            f"No strip of the profile stands out from the bulk by more than a factor "
            f"{factor:g} at this eps: no boundary layer is resolved (the rms gradient error "
            f"of u1 is {profile.max():.3g} at most, {np.median(profile):.3g} in the median "
            "strip)."
        )
    else:  # a strip at or below the median ends the run: width < profile.size
        sentences.append(
            f"The boundary layer is {width} cell{'s' if width > 1 else ''} wide "
            f"({width * eps[finest]:.3g} of the part's edge): there the rms gradient error "
            f"of u1 reaches {profile[:width].max():.3g}, beyond it {profile[width:].max():.3g} "
            f"at most; the corrector-rebuilt u1 can be trusted farther than "
            f"{width * eps[finest]:.3g} from the boundary."
        )
    sentences.append(
        f"Away from the boundary (distance > {result.interior:g}) the H1 error of u1 falls "
        f"with {_rate(result.h1_interior_slope, 1.0, THEORY_ONE)}; over the whole part with "
        f"{_rate(result.h1_slope, 0.5, 'the asymptotic 1/2 of the boundary layer')}."
    )
    extra = {
        "boundary_layer_cells": width,
        "boundary_layer_width": width * float(eps[finest]),
        "layer_factor": float(factor),
        "l2_relative_error_finest": relative,
    }
    return " ".join(sentences), extra


def _random_rates(random: RandomLimits) -> dict:
    spread = random.tensors[:, :, 0, 0].std(axis=0, ddof=1)
    ndim = random.tensors.shape[-1]
    return {"spread_k00": spread, "ndim": ndim, "fluctuation_theory": ndim / 2.0}


def _random_answer(random: RandomLimits) -> str:
    rates = _random_rates(random)
    eps = ", ".join(_fraction(e) for e in random.eps)
    law = "eps |ln eps|^(1/2)" if rates["ndim"] == 2 else "eps"
    interior = _rate(
        random.h1_interior_slope,
        random.literature_slope,
        f"the {random.literature_slope:.2f} of {law}",
    )
    theory = rates["fluctuation_theory"]
    spread = _rate(random.fluctuation_slope, theory, f"d/2 = {theory:g}")
    return (
        f"Over eps = {eps} and {random.l2_error.shape[0]} realizations, the mean interior H1 "
        f"error of u1 falls with {interior} over the same eps; the standard deviation of "
        f"K_00 falls with {spread}."
    )


def _hole_answer(hole: HoleConcentration) -> str:
    gap = np.abs(hole.total_flux / hole.total_flux_homogenized - 1.0)
    excess = hole.peak_flux / hole.peak_flux_homogenized - 1.0
    coarse, fine = int(np.argmax(hole.eps)), int(np.argmin(hole.eps))
    peak = (
        f"the largest voxel flux next to the hole exceeds the homogenized peak by "
        f"{100 * excess.min():.3g} to {100 * excess.max():.3g} %"
        if np.all(excess > 0)
        else f"the largest voxel flux next to the hole is {100 * excess.min():.3g} to "
        f"{100 * excess.max():.3g} % off the homogenized peak"
    )
    return (
        f"Near the hole (radius {hole.hole_radius:g}) the total flux differs from the "
        f"homogenized one by {100 * gap[coarse]:.2g} % at eps = {_fraction(hole.eps[coarse])} "
        f"and {100 * gap[fine]:.2g} % at {_fraction(hole.eps[fine])}; {peak}."
    )


def limits_numbers(
    periodic: PeriodicLimits | None = None,
    *,
    random: RandomLimits | None = None,
    hole: HoleConcentration | None = None,
    layer_factor: float = 2.0,
) -> dict:
    """The numbers of a limits report, as a JSON-ready record.

    Parameters
    ----------
    periodic : PeriodicLimits, optional
        From `periodic_limits` or `elastic_limits`.
    random : RandomLimits, optional
        From `random_limits`.
    hole : HoleConcentration, optional
        From `hole_concentration`.
    layer_factor : float, default 2
        The `factor` of `boundary_layer_width`.

    Returns
    -------
    dict
        ``"periodic"``, ``"random"`` and ``"hole"`` (those given): every array of
        the result as a list (NaN as None), the fitted ``"slopes"`` beside the
        theory's ``"rates"``; and ``"answer"``, the report's sentences.
    """
    if periodic is None and random is None and hole is None:
        raise ValueError("limits_numbers needs at least one of periodic, random and hole")
    for value, name, kind in (
        (periodic, "periodic", PeriodicLimits),
        (random, "random", RandomLimits),
        (hole, "hole", HoleConcentration),
    ):
        if value is not None and not isinstance(value, kind):
            raise TypeError(f"{name} must be a {kind.__name__}, got {type(value).__name__}")
    record: dict = {}
    answers = []
    if periodic is not None:
        answer, extra = _periodic_answer(periodic, layer_factor)
        answers.append(answer)
        names = (
            "eps", "voxels", "l2_error", "h1_error_homogenized", "h1_error",
            "h1_error_interior", "h1_error_margin", "h1_error_margin_rms", "h1_error_layer",
            "energy_error", "profile", "effective_tensor",
        )  # fmt: skip
        section = {name: getattr(periodic, name) for name in names}
        section["slopes"] = {
            "l2_error": periodic.l2_slope,
            "h1_error": periodic.h1_slope,
            "h1_error_interior": periodic.h1_interior_slope,
            "h1_error_margin": periodic.h1_margin_slope,
            "h1_error_margin_rms": periodic.h1_margin_rms_slope,
            "h1_error_layer": periodic.h1_layer_slope,
        }
        section["rates"] = dict(PERIODIC_RATES)
        section.update(
            volume_fraction=periodic.volume_fraction,
            interior=periodic.interior,
            margin=periodic.margin,
            iterations=list(periodic.iterations),
            physics=_physics(periodic),
            **extra,
        )
        record["periodic"] = section
    if random is not None:
        answers.append(_random_answer(random))
        rates = _random_rates(random)
        names = ("eps", "voxels", "l2_error", "h1_error", "h1_error_interior", "tensors")
        section = {name: getattr(random, name) for name in names}
        section["fractions"] = random.fractions
        for name in ("l2_error", "h1_error", "h1_error_interior"):
            section[f"{name}_mean"] = getattr(random, name).mean(axis=0)
        section["spread_k00"] = rates["spread_k00"]
        section["slopes"] = {
            "l2_error": random.l2_slope,
            "h1_error": random.h1_slope,
            "h1_error_interior": random.h1_interior_slope,
            "spread_k00": random.fluctuation_slope,
        }
        section["rates"] = {
            "h1_error_interior": random.literature_slope,
            "spread_k00": rates["fluctuation_theory"],
        }
        section.update(volume_fraction=random.volume_fraction, interior=random.interior)
        record["random"] = section
    if hole is not None:
        answers.append(_hole_answer(hole))
        names = (
            "eps", "total_flux", "total_flux_homogenized", "window_flux",
            "window_flux_homogenized", "peak_flux", "peak_flux_homogenized",
            "effective_conductivity", "hole_radius",
        )  # fmt: skip
        record["hole"] = {name: getattr(hole, name) for name in names}
    record["answer"] = " ".join(answers)
    return _finite(record)


def _figure(fig: Figure | None, size: tuple[float, float]) -> Figure:
    if fig is None:
        fig = Figure(figsize=size, layout="constrained")
    return fig


def _theory_line(ax, eps: np.ndarray, errors: np.ndarray, rate: float, style: str, label: str):
    """A line of slope `rate` through the measured error at the geometric mean eps."""
    keep = np.isfinite(errors) & (errors > 0)
    if keep.sum() < 1:
        return
    anchor_eps = math.exp(float(np.mean(np.log(eps[keep]))))
    anchor = math.exp(float(np.mean(np.log(errors[keep]))))
    line = anchor * (eps / anchor_eps) ** rate
    ax.loglog(eps, line, style, lw=0.9, label=label)


def draw_errors(periodic: PeriodicLimits, fig: Figure | None = None) -> Figure:
    """The errors of a `PeriodicLimits` against eps, log-log, beside the theory's rates.

    The L2 error of ``u0`` and the H1 errors of ``u1`` (whole part, interior),
    each labelled with its fitted slope, and dashed lines of the rates of
    `PERIODIC_RATES` through the geometric mean of each.

    Parameters
    ----------
    periodic : PeriodicLimits
    fig : matplotlib.figure.Figure, optional
        The figure to draw on (e.g. one of ``pyplot``'s); a new one by default.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = _figure(fig, (5.5, 4.2))
    ax = fig.add_subplot()
    eps = periodic.eps
    for c, (name, rate) in enumerate(PERIODIC_RATES.items()):
        errors = getattr(periodic, name)
        slope = getattr(periodic, _SLOPES[name])
        ax.loglog(eps, errors, "o-", color=f"C{c}", label=f"{_LABELS[name]}: slope {slope:.2f}")
        _theory_line(ax, eps, errors, rate, f"C{c}--", f"theory: eps^{rate:g}")
    ax.set_xlabel("eps (cell / part)")
    ax.set_ylabel("error against the DNS")
    ax.set_title("periodic: errors and rates (BLP 1978, Allaire 1992)", fontsize=9)
    ax.legend(fontsize=7)
    return fig


def _planar(values: np.ndarray, title: str) -> tuple[np.ndarray, str]:
    """A 2-D map of nodal values and its title: the magnitude of a plane vector field, the
    mid-plane of a 3-D one.
    """
    if values.ndim == 3 and values.shape[-1] == 2:
        return np.linalg.norm(values, axis=-1), f"|{title}|"
    if values.ndim == 3:
        return values[:, :, values.shape[2] // 2], f"{title}, z = 1/2"
    return values, title


def draw_fields(periodic: PeriodicLimits, fig: Figure | None = None) -> Figure:
    """The DNS, homogenized, corrector-rebuilt and error fields of the finest eps.

    Four maps side by side; a plane displacement is drawn as its magnitude, a
    3-D field on its mid-plane ``z = 1/2``.

    Parameters
    ----------
    periodic : PeriodicLimits
        With `fields` (not empty).
    fig : matplotlib.figure.Figure, optional
        The figure to draw on (e.g. one of ``pyplot``'s); a new one by default.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not periodic.fields:
        raise ValueError("periodic has no fields to draw (fields is empty)")
    fig = _figure(fig, (15, 3.4))
    finest = _fraction(float(np.min(periodic.eps)))
    titles = {
        "dns": "DNS u_eps",
        "homogenized": "homogenized u0",
        "corrected": "u1 = u0 + eps w . grad u0",
        "error": "u_eps - u1",
    }
    axes = fig.subplots(1, 4)
    for ax, (key, title) in zip(axes, titles.items(), strict=True):
        values, label = _planar(periodic.fields[key], title)
        image = ax.imshow(values.T, origin="lower", extent=(0, 1, 0, 1), cmap="viridis")
        ax.set_title(f"{label} (eps = {finest})", fontsize=9)
        fig.colorbar(image, ax=ax, shrink=0.8)
    return fig


def draw_profile(periodic: PeriodicLimits, fig: Figure | None = None, factor: float = 2.0):
    """The boundary-layer profile: the rms gradient error of ``u1`` per cell-wide strip.

    For the finest eps, with the level that `boundary_layer_width` compares
    against and the layer it finds shaded.

    Parameters
    ----------
    periodic : PeriodicLimits
    fig : matplotlib.figure.Figure, optional
        The figure to draw on (e.g. one of ``pyplot``'s); a new one by default.
    factor : float, default 2
        As in `boundary_layer_width`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = _figure(fig, (5.5, 4.0))
    ax = fig.add_subplot()
    profile = periodic.profile
    strips = np.arange(profile.size)
    ax.semilogy(strips + 0.5, profile, "o-", label="rms |grad(u_eps - u1)| per strip")
    level = factor * float(np.median(profile))
    ax.axhline(level, color="k", ls=":", lw=0.9, label=f"{factor:g} x median strip")
    width = boundary_layer_width(profile, factor)
    if width:
        ax.axvspan(0, width, color="C3", alpha=0.15, label=f"boundary layer: {width} cell(s)")
    ax.set_xlabel(f"distance from the boundary, in cells (eps = {_fraction(min(periodic.eps))})")
    ax.set_ylabel("rms gradient error")
    ax.legend(fontsize=7)
    return fig


def draw_random(random: RandomLimits, fig: Figure | None = None) -> Figure:
    """Random media: errors and fluctuations against eps, beside the literature's rates.

    Left, the mean errors over realizations (bars: standard errors) and
    ``eps |ln eps|^(1/2)`` (2-D) or ``eps`` (3-D) through the interior error;
    right, the standard deviation of ``K_00`` and ``eps^(d/2)``.

    Parameters
    ----------
    random : RandomLimits
    fig : matplotlib.figure.Figure, optional
        The figure to draw on (e.g. one of ``pyplot``'s); a new one by default.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = _figure(fig, (10, 4.0))
    left, right = fig.subplots(1, 2)
    eps = random.eps
    rates = _random_rates(random)
    for c, (name, slope) in enumerate(
        (
            ("l2_error", random.l2_slope),
            ("h1_error", random.h1_slope),
            ("h1_error_interior", random.h1_interior_slope),
        )
    ):
        values = getattr(random, name)
        mean = values.mean(axis=0)
        sem = values.std(axis=0, ddof=1) / math.sqrt(values.shape[0])
        left.errorbar(eps, mean, yerr=sem, fmt="o-", color=f"C{c}", capsize=2,
                      label=f"{_LABELS[name]}: slope {slope:.2f}")  # fmt: skip
    interior = random.h1_error_interior.mean(axis=0)
    law = eps * np.sqrt(np.abs(np.log(eps))) if rates["ndim"] == 2 else eps
    keep = interior > 0
    if keep.any():
        scale = math.exp(float(np.mean(np.log(interior[keep] / law[keep]))))
        label = "eps |ln eps|^(1/2)" if rates["ndim"] == 2 else "eps"
        left.loglog(eps, scale * law, "C2--", lw=0.9,
                    label=f"theory: {label}, slope {random.literature_slope:.2f}")  # fmt: skip
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("eps (correlation length / part)")
    left.set_title("random: errors (GNO 2015, AKM 2019)", fontsize=9)
    left.legend(fontsize=7)
    spread = rates["spread_k00"]
    right.loglog(eps, spread, "o-", label=f"sd of K_00: slope {random.fluctuation_slope:.2f}")
    _theory_line(right, eps, spread, rates["fluctuation_theory"], "k--",
                 f"theory: eps^{rates['fluctuation_theory']:g}")  # fmt: skip
    right.set_xlabel("eps")
    right.set_title(f"fluctuations over {random.tensors.shape[0]} realizations", fontsize=9)
    right.legend(fontsize=7)
    return fig


def draw_hole(hole: HoleConcentration, fig: Figure | None = None) -> Figure:
    """Flux concentration at a hole: DNS against homogenized, per eps.

    Parameters
    ----------
    hole : HoleConcentration
    fig : matplotlib.figure.Figure, optional
        The figure to draw on (e.g. one of ``pyplot``'s); a new one by default.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = _figure(fig, (5.5, 4.0))
    ax = fig.add_subplot()
    ax.semilogx(hole.eps, hole.peak_flux, "o-", color="C3", label="DNS peak |q| next to hole")
    ax.semilogx(hole.eps, hole.peak_flux_homogenized, "o--", color="C3",
                label="homogenized peak |q|")  # fmt: skip
    ax.semilogx(hole.eps, hole.window_flux, "s-", color="C0", label="DNS window mean q_x")
    ax.semilogx(hole.eps, hole.window_flux_homogenized, "s--", color="C0",
                label="homogenized window mean q_x")  # fmt: skip
    ax.set_xlabel("eps (cell / part)")
    ax.set_ylabel("flux / far-field flux")
    ax.set_title(f"hole of radius {hole.hole_radius:g}: concentration", fontsize=9)
    ax.legend(fontsize=7)
    return fig


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, format="png", dpi=_DPI)
    return path


def _row(values) -> str:
    return "| " + " | ".join(values) + " |"


def _number(value) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.4g}"


def _markdown(record: dict, figures: dict) -> str:
    lines = ["# Limits of homogenization", "", "## Answer", "", record["answer"], ""]
    periodic = record.get("periodic")
    if periodic is not None:
        lines += [f"## Periodic disks ({periodic['physics']})", ""]
        columns = ["eps", "voxels", *PERIODIC_RATES, "h1_error_layer", "energy_error"]
        lines += [_row(columns), _row(["---"] * len(columns))]
        for j, eps in enumerate(periodic["eps"]):
            cells = [_fraction(eps), str(periodic["voxels"][j])]
            cells += [_number(periodic[name][j]) for name in columns[2:]]
            lines.append(_row(cells))
        lines += ["", _row(["error", "fitted rate", "theory"]), _row(["---"] * 3)]
        for name, rate in periodic["rates"].items():
            lines.append(_row([_LABELS[name], _number(periodic["slopes"][name]), f"{rate:g}"]))
        lines += [
            "",
            "Theory: Bensoussan, Lions & Papanicolaou (1978); Allaire (1992). "
            f"Interior: distance > {periodic['interior']:g} from the boundary; a rate "
            f"agrees when within {RATE_TOLERANCE:g} of the theory's.",
            "",
            "Boundary-layer profile (finest eps, rms gradient error of u1 per cell-wide "
            "strip from the boundary): "
            + ", ".join(_number(v) for v in periodic["profile"])
            + f"; layer width {periodic['boundary_layer_cells']} cell(s).",
            "",
        ]
    random = record.get("random")
    if random is not None:
        lines += ["## Random media", ""]
        columns = ["eps", "voxels", "l2_error_mean", "h1_error_mean", "h1_error_interior_mean",
                   "spread_k00"]  # fmt: skip
        lines += [_row(columns), _row(["---"] * len(columns))]
        for j, eps in enumerate(random["eps"]):
            cells = [_fraction(eps), str(random["voxels"][j])]
            cells += [_number(random[name][j]) for name in columns[2:]]
            lines.append(_row(cells))
        lines += [
            "",
            _row(["quantity", "fitted rate", "theory"]),
            _row(["---"] * 3),
            _row(["L2 error of u0", _number(random["slopes"]["l2_error"]), "-"]),
            _row(["H1 error of u1, whole part", _number(random["slopes"]["h1_error"]), "-"]),
            _row(["H1 error of u1, interior", _number(random["slopes"]["h1_error_interior"]),
                  _number(random["rates"]["h1_error_interior"])]),
            _row(["sd of K_00", _number(random["slopes"]["spread_k00"]),
                  _number(random["rates"]["spread_k00"])]),
            "",
            "Theory: eps |ln eps|^(1/2) in 2-D, eps in 3-D (Gloria, Neukamm & Otto 2015; "
            "Armstrong, Kuusi & Mourrat 2019), its slope over the same eps; fluctuations "
            "eps^(d/2).",
            "",
        ]  # fmt: skip
    hole = record.get("hole")
    if hole is not None:
        lines += ["## Near a hole", ""]
        columns = ["eps", "total_flux", "total_flux_homogenized", "peak_flux",
                   "peak_flux_homogenized"]  # fmt: skip
        lines += [_row(columns), _row(["---"] * len(columns))]
        for j, eps in enumerate(hole["eps"]):
            lines.append(_row([_fraction(eps)] + [_number(hole[c][j]) for c in columns[1:]]))
        lines.append("")
    lines += ["## Figures", ""]
    lines += [f"![{name}]({path.name})" for name, path in figures.items()]
    lines += ["", "The numbers are in `numbers.json`.", ""]
    return "\n".join(lines)


def write_limits_report(
    out_dir,
    periodic: PeriodicLimits | None = None,
    *,
    random: RandomLimits | None = None,
    hole: HoleConcentration | None = None,
    layer_factor: float = 2.0,
) -> LimitsReport:
    """Write the report of a limits-of-homogenization study to `out_dir`.

    Parameters
    ----------
    out_dir : str or Path
        The folder, created if missing; files of the same names are replaced.
    periodic : PeriodicLimits, optional
        From `periodic_limits` or `elastic_limits`: ``errors.png``,
        ``fields.png`` (when it holds fields) and ``profile.png``.
    random : RandomLimits, optional
        From `random_limits`: ``random.png``.
    hole : HoleConcentration, optional
        From `hole_concentration`: ``hole.png``.
    layer_factor : float, default 2
        The `factor` of `boundary_layer_width`.

    Returns
    -------
    LimitsReport
        The paths written and the answer; ``report.md`` and ``numbers.json``
        (`limits_numbers`) always.
    """
    record = limits_numbers(periodic, random=random, hole=hole, layer_factor=layer_factor)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    figures = {}
    if periodic is not None:
        figures["errors"] = _save(draw_errors(periodic), out / "errors.png")
        if periodic.fields:
            figures["fields"] = _save(draw_fields(periodic), out / "fields.png")
        if periodic.profile.size:
            figures["profile"] = _save(
                draw_profile(periodic, factor=layer_factor), out / "profile.png"
            )
    if random is not None:
        figures["random"] = _save(draw_random(random), out / "random.png")
    if hole is not None:
        figures["hole"] = _save(draw_hole(hole), out / "hole.png")
    numbers = out / "numbers.json"
    numbers.write_text(json.dumps(record, indent=2) + "\n")
    markdown = out / "report.md"
    markdown.write_text(_markdown(record, figures))
    return LimitsReport(
        directory=out, markdown=markdown, numbers=numbers, figures=figures,
        answer=record["answer"],
    )  # fmt: skip
