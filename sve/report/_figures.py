"""The report's figures, drawn on :class:`matplotlib.figure.Figure` (no pyplot state).

Each function returns a Figure; :func:`save` writes it as PNG and SVG and
returns the PNG bytes for embedding in the HTML page.
"""

from __future__ import annotations

import io
import math
import warnings
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

import generators
from sve.morphology import radial_average, two_point_probability
from sve.solvers import UnresolvedThroatWarning, apparent_permeability
from sve.study.media import boolean_radius, covariance
from sve.study.spec import StudySpec
from sve.study.tasks import (
    flow_options,
    generate_parent,
    generate_sve,
    sve_microstructure,
    window_count,
)

__all__ = ["flow", "grains", "mean_vs_size", "s2", "save", "thumbnails", "variance_vs_size"]

PHASE_COLOURS = ListedColormap(["#f2efe6", "#2b4c7e"])  # phase 0 light, phase 1 dark
DPI = 110
#: Realizations of the largest size regenerated for the measured S2.
S2_REALIZATIONS = 4


def save(fig: Figure, out_dir: Path, name: str) -> bytes:
    """Write ``name.png`` and ``name.svg`` into ``out_dir``; return the PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    png = buffer.getvalue()
    (out_dir / f"{name}.png").write_bytes(png)
    fig.savefig(out_dir / f"{name}.svg", format="svg", metadata={"Date": None})
    return png


def _size_axis(ax, numbers: xr.Dataset) -> None:
    """Log axis of edge lengths, ticked at the study's sizes."""
    length = numbers["length"].values
    ax.set_xscale("log")
    ax.set_xticks(length, [f"{v:g}" for v in length])
    ax.minorticks_off()
    ax.set_xlabel(f"edge length L [{numbers['length'].attrs.get('units', '1')}]")


def _slice(phases: np.ndarray) -> np.ndarray:
    """The image itself in 2-D, its middle section normal to the last axis in 3-D."""
    return phases if phases.ndim == 2 else phases[..., phases.shape[-1] // 2]


def thumbnails(spec: StudySpec) -> Figure:
    """Realization 0 at every size, regenerated from the spec, at a common physical scale."""
    sizes = list(spec.sizes)
    fig = Figure(figsize=(2.0 * len(sizes) + 0.4, 2.6), layout="constrained")
    axes = fig.subplots(1, len(sizes), squeeze=False)[0]
    for ax, size in zip(axes, sizes, strict=True):
        image = _slice(generate_sve(spec, size, 0))
        extent = (0, size * spec.spacing, 0, size * spec.spacing)
        # grains: ids cycled through a qualitative map (neighbours rarely share a colour)
        colours = {"cmap": "tab20", "vmin": 0, "vmax": 19} if spec.polycrystal else {
            "cmap": PHASE_COLOURS, "vmin": 0, "vmax": 1
        }  # fmt: skip
        ax.imshow(
            image.T % 20 if spec.polycrystal else image.T,
            origin="lower",
            interpolation="nearest",
            extent=extent,
            **colours,
        )
        unit = "" if spec.length_unit in ("", "1") else f" {spec.length_unit}"
        ax.set_title(f"L = {size * spec.spacing:g}{unit}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    section = "" if spec.ndim == 2 else " (middle section)"
    legend = "one colour per grain" if spec.polycrystal else "dark = phase 1"
    fig.suptitle(f"{spec.name}: realization 0 at each size{section}; {legend}", fontsize=10)
    return fig


def grains(spec: StudySpec, note: str) -> Figure:
    """Histogram of the grain volumes of a polycrystal's first SVEs at the largest size."""
    size = max(spec.sizes)
    count = min(S2_REALIZATIONS, spec.realizations)
    voxel = spec.spacing**spec.ndim
    volumes = np.concatenate(
        [np.bincount(generate_sve(spec, size, k).ravel()) for k in range(count)]
    )
    volumes = volumes[volumes > 0] * voxel  # grains thinner than a voxel hold none
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.add_subplot()
    ax.hist(volumes, bins=40, color="#2b4c7e", alpha=0.8,
            label=f"{volumes.size} grains of {count} SVEs, L = {size}")  # fmt: skip
    mean_volume = spec.medium["cell_size"] ** spec.ndim
    ax.axvline(mean_volume, color="k", ls="--", lw=1,
               label=f"mean grain volume cell_size^d = {mean_volume:g}")  # fmt: skip
    ax.set_xlabel(f"grain volume [{spec.length_unit}^{spec.ndim}]")
    ax.set_ylabel("grains")
    ax.set_title(f"Grain volumes ({note})", fontsize=9)
    ax.legend(fontsize=8)
    return fig


def measured_s2(spec: StudySpec) -> tuple[np.ndarray, np.ndarray, int]:
    """Radial S2 of phase 1, mean over the first realizations of the largest size.

    Mode "windows": of the parent instead (the windows are not periodic).
    Returns the radii, the profile, the number of images and their edge.
    """
    size = max(spec.sizes)
    count = min(S2_REALIZATIONS, spec.realizations)
    images = (generate_sve(spec, size, realization) for realization in range(count))
    if spec.image:  # windows of the image (not periodic: S2 at long lags is biased)
        images = (generate_sve(spec, size, k) for k in range(min(count, window_count(spec, size))))
        count = min(count, window_count(spec, size))
    elif spec.sampling_mode == "windows":
        # the SVEs are non-periodic windows: measure the (periodic) parent they are cut from
        size, count, images = spec.parent_size, 1, iter([generate_parent(spec)])
    profiles = []
    for phases in images:
        radii, profile = radial_average(two_point_probability(phases), spacing=spec.voxel_size)
        profiles.append(profile)
    # longer lags wrap around the period; past a few lengths S2 is flat at about φ²
    reach = 8 * spec.length if spec.length > 0 else math.inf
    keep = radii <= min(size * spec.spacing / 2, reach)
    return radii[keep], np.mean(profiles, axis=0)[keep], count, size


_EXACT = {"gaussian_level_cut": "level cut", "boolean_spheres": "Boolean model"}


def direction_average(correlation_at, r: np.ndarray, ndim: int, of, points: int = 256):
    """Average over directions of ``of(correlation_at(r * u))`` for unit vectors ``u``.

    2-D: ``points`` angles evenly spread over a half turn (the function is
    even); 3-D: a Fibonacci lattice of ``points`` directions on a hemisphere
    (nearly uniform; error far below a measured profile's scatter).
    """
    r = np.asarray(r, dtype=float)
    k = np.arange(points) + 0.5
    if ndim == 2:
        angle = np.pi * k / points
        u = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    else:
        z = k / points  # uniform in cos(polar) over a hemisphere
        azimuth = np.pi * (1 + 5**0.5) * k
        s = np.sqrt(1 - z**2)
        u = np.stack([z, s * np.cos(azimuth), s * np.sin(azimuth)], axis=1)
    lags = r[:, None, None] * u[None, :, :]
    return np.mean(of(correlation_at(lags)), axis=1)


def exact_s2(spec: StudySpec, r: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(r, S2(r))`` of phase 1 where the generator knows it exactly, else None.

    Level cuts: :func:`generators.level_cut_s2` of the covariance; with
    per-axis correlation lengths, its average over directions (what the
    measured radial average estimates: :func:`direction_average`). Boolean
    spheres (phase 1 = the union of grains): :func:`generators.boolean_s2` at
    the intensity of the spec's expected fraction,
    ``lambda = -ln(1 - phi) / E[omega_d R^d]`` (one radius, or the log-normal
    law of ``radius_sigma``).
    """
    medium, phi = spec.medium, spec.volume_fraction
    if medium.get("generator") == "gaussian_level_cut":
        model = covariance(medium)
        if model.ndim is None:
            return r, generators.level_cut_s2(model.correlation(r), phi)
        return r, direction_average(
            model.correlation_at, r, model.ndim, lambda c: generators.level_cut_s2(c, phi)
        )
    if medium.get("generator") == "boolean_spheres":
        radius = boolean_radius(medium)  # a number, or the log-normal law
        intensity = generators.boolean_intensity(phi, radius, spec.ndim)
        return r, generators.boolean_s2(r, intensity, radius, spec.ndim)
    return None


def s2(spec: StudySpec, note: str) -> Figure:
    """Measured S2 of phase 1 against the generator's exact S2 (level cuts)."""
    radii, profile, count, size = measured_s2(spec)
    phi = spec.volume_fraction
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(
        radii,
        profile,
        "o",
        ms=3,
        label=f"measured: mean of {count} SVEs, L = {size}"
        if spec.sampling_mode != "windows"
        else f"measured on the parent, L = {size}",
    )
    exact = exact_s2(spec, np.linspace(0, radii.max(), 400))
    if exact is not None:
        ax.plot(
            *exact,
            "-",
            color="k",
            lw=1.2,
            label=f"exact S2 of the {_EXACT[spec.medium['generator']]}",
        )
    ax.axhline(phi**2, color="0.5", ls=":", lw=1, label="φ² (no correlation)")
    ax.set_xlabel(f"distance r [{spec.length_unit}]")
    ax.set_ylabel("S2(r) of phase 1")
    ax.set_title(f"Two-point probability ({note})", fontsize=9)
    ax.legend(fontsize=8)
    return fig


def mean_vs_size(numbers: xr.Dataset, spec: StudySpec) -> Figure:
    """Mean ± CI against size for every bc, with the bounds as horizontal lines."""
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    length = numbers["length"].values
    conf = int(round(100 * numbers.attrs["confidence"]))
    for k, bc in enumerate(numbers["bc"].values):
        s = numbers.sel(bc=bc)
        ax.errorbar(
            length * (1 + 0.015 * (k - (numbers.sizes["bc"] - 1) / 2)),  # dodge the bars
            s["mean"],
            yerr=[s["mean"] - s["ci_low"], s["ci_high"] - s["mean"]],
            marker="o",
            ms=4,
            capsize=3,
            label=f"{bc} (mean ± {conf} % CI)",
        )
    lines = [
        ("voigt", "Voigt (arithmetic)", "0.35", "--"),
        ("reuss", "Reuss (harmonic)", "0.35", "--"),
        ("hs_upper", "Hashin–Shtrikman upper", "tab:brown", "-."),
        ("hs_lower", "Hashin–Shtrikman lower", "tab:brown", "-."),
        ("dykhne", "Dykhne √(σ0σ1)", "k", ":"),
    ]
    for name, label, colour, style in lines:
        value = float(numbers[name])
        if np.isfinite(value):
            ax.axhline(value, color=colour, ls=style, lw=1, label=f"{label}: {value:.4g}")
    _size_axis(ax, numbers)
    ax.set_ylabel(f"apparent {spec.property}: {numbers.attrs['quantity']}")
    ax.set_title(f"{spec.name}: mean against size", fontsize=10)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig


def variance_vs_size(numbers: xr.Dataset, spec: StudySpec) -> Figure:
    """Variance against size (log-log), fitted power laws and the L^-d reference."""
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    length = numbers["length"].values
    d = spec.ndim
    anomalous = bool(numbers["anomalous"].any())
    for bc in numbers["bc"].values:
        s = numbers.sel(bc=bc)
        variance = s["variance"].values
        shown = np.isfinite(variance) & (variance > 0)
        (points,) = ax.loglog(length[shown], variance[shown], "o", label=f"{bc}")
        if np.isfinite(s["exponent"]):
            ax.loglog(
                length,
                float(s["prefactor"]) * length ** float(s["exponent"]),
                "-",
                color=points.get_color(),
                label=f"{bc} fit: γ = {float(s['exponent']):.3f} "
                f"[{float(s['exponent_low']):.3f}, {float(s['exponent_high']):.3f}]",
            )
    finite = numbers["variance"].where(numbers["variance"] > 0)
    first = finite.isel(size=0)
    anchor = float(first.max()) if bool(np.isfinite(first).any()) else float(finite.max())
    if np.isfinite(anchor):
        label = (
            f"L^-{d} (short-range reference)" if anomalous else f"L^-{d} (expected, short range)"
        )
        ax.loglog(length, anchor * (length / length[0]) ** (-d), "k--", lw=1, label=label)
    _size_axis(ax, numbers)
    ax.set_ylabel(f"variance of {numbers.attrs['quantity']}")
    title = f"{spec.name}: variance against size"
    if anomalous:
        title += " — anomalous scaling flagged"
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig


#: Most voxels of the SVE whose flow field the report draws (a solve at report time): the
#: largest size under it (64**3 in 3-D, 512**2 in 2-D), else the smallest size.
FLOW_FIGURE_VOXELS = 2**18


def flow_sve(spec: StudySpec) -> tuple[int, str]:
    """The size and bc of the SVE whose flow field the report draws (realization 0)."""
    fits = [n for n in spec.sizes if math.prod(spec.window_shape(n)) <= FLOW_FIGURE_VOXELS]
    size = max(fits) if fits else min(spec.sizes)
    bc = "periodic" if "periodic" in spec.bc else spec.bc[0]
    return size, bc


def _speed(velocity: np.ndarray, ndim: int) -> np.ndarray:
    """Velocity magnitude per voxel of the first load case: ``velocity`` holds the load
    cases, then the d components, then the voxels (a single load case may drop its axis).
    """
    velocity = np.asarray(velocity, dtype=np.float64)
    if velocity.ndim == ndim + 2:
        velocity = velocity[0]
    return np.sqrt(np.sum(velocity**2, axis=0))


def flow(spec: StudySpec) -> tuple[Figure, str]:
    """Velocity magnitude of one SVE (2-D: the SVE, 3-D: its middle section), and the
    caption saying which SVE, which load and why.

    Solved here, at report time, with ``fields=True`` (one solve): the study
    stores no fields (d velocity components per voxel and record would
    multiply the store's size by thousands for one figure), and every SVE is
    regenerated bit for bit from the spec, so the figure shows exactly a
    solved record.
    """
    size, bc = flow_sve(spec)
    sve = sve_microstructure(spec, size, 0)
    with warnings.catch_warnings():  # a narrow throat: the study records it already
        warnings.simplefilter("ignore", UnresolvedThroatWarning)
        result = apparent_permeability(sve, bc=bc, fields=True, **flow_options(spec))
    speed = _slice(_speed(result.velocity, spec.ndim))
    pores = _slice(sve.labels == spec.pore_label)
    image = np.ma.masked_where(~pores, speed)
    lengths = [n * h for n, h in zip(sve.labels.shape, sve.spacing, strict=True)]
    fig = Figure(figsize=(5.6, 4.6), layout="constrained")
    ax = fig.add_subplot()
    ax.set_facecolor("#4a4a4a")  # the solid
    shown = ax.imshow(image.T, origin="lower", interpolation="nearest", cmap="viridis",
                      extent=(0, lengths[0], 0, lengths[1]))  # fmt: skip
    fig.colorbar(shown, ax=ax, label=f"|u| (unit load, viscosity {spec.physics.viscosity:g})")
    unit = "" if spec.length_unit in ("", "1") else f" [{spec.length_unit}]"
    ax.set_xlabel(f"x0{unit}")
    ax.set_ylabel(f"x1{unit}")
    section = "" if spec.ndim == 2 else ", middle section normal to axis 2"
    load = "a body force along axis 0" if bc == "periodic" else "a pressure drop along axis 0"
    k = float(result.tensor[0, 0])
    ax.set_title(f"{spec.name}: L = {size}, realization 0, {bc}{section}\nk00 = {k:.4g}",
                 fontsize=9)  # fmt: skip
    caption = (
        f"the velocity magnitude |u| in realization 0 of size L = {size} voxels{section}, "
        f"{bc} conditions, {load} (grey: solid); solved at report time with fields=True, "
        "since the store keeps no fields (d velocity components per voxel of every record "
        "for one figure) and the SVE is regenerated bit for bit from the spec; the largest "
        f"size of at most {FLOW_FIGURE_VOXELS} voxels"
    )
    return fig, caption
