"""The random media a study can sample: names, parameters and how to draw one SVE.

Each medium is a generator of :mod:`generators` with the parameters a spec's
``[medium]`` table gives. Every medium is periodic and, but for the
polycrystal, two-phase (labels 0 and 1); ``volume_fraction`` is the
(expected) fraction of phase 1. Lengths are physical (units of
``sampling.spacing``).

Generators and their parameters besides ``ndim`` and ``volume_fraction``:

- ``gaussian_level_cut``: ``covariance``, ``correlation_length`` (one
  length, or one per axis in C order: ``[l0, l1]`` in 2-D, ``[l0, l1, l2]``
  in 3-D, the principal axes along the grid axes, as
  :func:`sve.calibrate` writes an anisotropic fit); optional
  ``nu`` (Matérn), ``beta`` (power law), ``fraction`` ("expected" or
  "exact"), ``offset_variance`` (> 0: the non-ergodic control medium).
- ``boolean_spheres``: ``radius`` (overlapping disks/spheres are phase 1);
  optional ``radius_sigma`` in (0, 1]: the radii are then log-normal, of
  median ``radius`` and standard deviation ``radius_sigma`` of their
  logarithm (:func:`boolean_radius`; what :func:`sve.calibrate` fits as
  ``"boolean_lognormal"``); absent (or 0): one radius.
- ``rsa_spheres``: ``radius`` (hard disks/spheres to the target fraction).
- ``voronoi_mosaic``: ``cell_size`` (mean cell volume ``cell_size**ndim``;
  each cell is phase 1 with probability ``volume_fraction``).
- ``random_checkerboard``: ``cell_size`` (square cells of that many voxels).
- ``voronoi_polycrystal``: ``cell_size`` (mean grain volume
  ``cell_size**ndim``); no ``volume_fraction``: every grain is the same
  crystal (``property.crystal``) in a uniformly random orientation, and the
  labels are grain ids (int32), not phases. Mode "independent" only.
- ``random_laminate``: ``cell_size`` (layers of that many voxels, normal to
  axis 0, each phase 1 with probability ``volume_fraction``). Its indicator
  covariance depends on the lag along axis 0 only, so the integral range is
  infinite in 2-D and 3-D: the variance of a volume average decays like
  L^-1, not L^-d (a one-dimensional medium seen in d dimensions).

``random_checkerboard`` and ``random_laminate`` need sizes (and a parent)
that are whole multiples of ``cell_size``.

Alternative parameterizations (:data:`ALTERNATIVES`; the names the
generators take too): a Poisson-Voronoi medium (``voronoi_mosaic``,
``voronoi_polycrystal``) may give ``intensity`` (germs per unit volume,
physical units) instead of ``cell_size``, and ``boolean_spheres`` may give
``intensity`` instead of ``volume_fraction``; exactly one of each pair. The
validated table holds the canonical one (``cell_size = intensity**(-1/ndim)``;
``volume_fraction = 1 - exp(-intensity * ball volume)``,
:func:`generators.boolean_volume_fraction`), computed to rounding, so a study
reads the same however it was written and stores written before keep their
identity.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import generators

__all__ = [
    "ALTERNATIVES",
    "MEDIA",
    "CELL_MEDIA",
    "FRACTIONS",
    "POLYCRYSTAL",
    "draw_polycrystal",
    "characteristic_length",
    "draw_medium",
    "indicator_integral_range",
]

#: How a level cut meets the volume fraction: "expected" cuts at the fixed
#: Gaussian threshold, so each realization's fraction scatters as in the
#: stationary medium (the ensemble a size-convergence study is about: its
#: variance includes the fraction's fluctuations); "exact" cuts by rank, so
#: every realization has exactly round(φ·N) phase-1 voxels (a conditioned
#: ensemble with a smaller variance).
FRACTIONS = ("expected", "exact")


@dataclass(frozen=True)
class Medium:
    """A study medium: required and optional parameters, and its characteristic length."""

    required: tuple[str, ...]
    optional: dict[str, Any]
    length: str  # the parameter that sets the microstructure's length scale


MEDIA = {
    "gaussian_level_cut": Medium(
        ("covariance", "correlation_length"),
        {"nu": None, "beta": None, "fraction": "expected", "offset_variance": 0.0},
        "correlation_length",
    ),
    "boolean_spheres": Medium(("radius",), {}, "radius"),
    "rsa_spheres": Medium(("radius",), {}, "radius"),
    "voronoi_mosaic": Medium(("cell_size",), {}, "cell_size"),
    "random_checkerboard": Medium(("cell_size",), {}, "cell_size"),
    "random_laminate": Medium(("cell_size",), {}, "cell_size"),
    "voronoi_polycrystal": Medium(("cell_size",), {}, "cell_size"),
}

#: Pairs of parameters of which a ``[medium]`` table gives exactly one, per generator:
#: ``generator -> (canonical, alternative)``; the validated table holds the canonical one.
ALTERNATIVES = {
    "voronoi_mosaic": ("cell_size", "intensity"),
    "voronoi_polycrystal": ("cell_size", "intensity"),
    "boolean_spheres": ("volume_fraction", "intensity"),
}

#: Optional parameters a validated table holds only when given (so the tables of
#: stores written before them keep their identity): ``generator -> names``.
EXTRA_OPTIONAL = {"boolean_spheres": ("radius_sigma",)}

#: The one medium of grains of a single crystal (labels are grain ids, no phases).
POLYCRYSTAL = "voronoi_polycrystal"

#: Media made of whole cells of ``cell_size`` voxels: sizes must be multiples of it.
CELL_MEDIA = ("random_checkerboard", "random_laminate")


def characteristic_length(medium: dict[str, Any]) -> float:
    """The length scale of a validated ``[medium]`` table (physical units).

    Per-axis correlation lengths: the longest (what an SVE must outgrow).
    """
    length = medium[MEDIA[medium["generator"]].length]
    return float(max(length) if isinstance(length, list | tuple) else length)


def covariance(medium: dict[str, Any]) -> generators.CovarianceModel:
    """The covariance model of a ``gaussian_level_cut`` medium (per-axis lengths: anisotropic,
    principal axes along the grid axes).
    """
    extra = {name: medium[name] for name in ("nu", "beta") if medium.get(name) is not None}
    length = medium["correlation_length"]
    if isinstance(length, list | tuple):
        length = tuple(length)
    return generators.covariance_model(medium["covariance"], correlation_length=length, **extra)


def _level_cut(medium, shape, spacing, rng):
    model = covariance(medium)
    with warnings.catch_warnings():
        # a clipped periodic embedding is recorded per size in the dataset
        # (``field_variance_excess``), not repeated for every realization
        warnings.filterwarnings("ignore", category=generators.ClippedEmbeddingWarning)
        if medium["offset_variance"] > 0:
            field = generators.nonergodic_gaussian_field(
                shape, model, medium["offset_variance"], spacing=spacing, rng=rng
            )
        else:
            field = generators.gaussian_field(shape, model, spacing=spacing, rng=rng)
    return generators.level_cut(
        field, medium["volume_fraction"], exact=medium["fraction"] == "exact"
    )


def draw_polycrystal(
    medium: dict[str, Any], size: int, spacing: float, rng: np.random.Generator
) -> generators.Polycrystal:
    """Grains and orientations of one SVE of a validated ``voronoi_polycrystal`` medium."""
    return generators.voronoi_polycrystal(
        (size,) * medium["ndim"], cell_size=medium["cell_size"], spacing=spacing, rng=rng
    )


def _voronoi(medium, shape, spacing, rng):
    return generators.voronoi_mosaic(
        shape,
        cell_size=medium["cell_size"],
        volume_fraction=medium["volume_fraction"],
        spacing=spacing,
        rng=rng,
    )


def _laminate(medium, shape, spacing, rng):
    layers = generators.random_checkerboard(
        shape[:1],
        cell_size=int(medium["cell_size"]),
        volume_fraction=medium["volume_fraction"],
        rng=rng,
    )
    return np.broadcast_to(layers.reshape((-1,) + (1,) * (len(shape) - 1)), shape).copy()


def boolean_radius(medium: dict[str, Any]):
    """The radius of a ``boolean_spheres`` medium: a number, or with ``radius_sigma`` the
    frozen log-normal law ``scipy.stats.lognorm(radius_sigma, scale=radius)`` (median
    ``radius``; the generator truncates it at its 1 - 1e-6 quantile).
    """
    sigma = medium.get("radius_sigma")
    if not sigma:
        return float(medium["radius"])
    from scipy import stats

    return stats.lognorm(float(sigma), scale=float(medium["radius"]))


def radius_law_message(medium: dict[str, Any], sizes, spacing: float) -> str:
    """Why the smallest size cannot hold a log-normal Boolean medium's grains, or "".

    The generator truncates the law at its ``1 - TAIL_PROBABILITY`` quantile,
    which must be at most half the SVE's edge (a grain must not meet its own
    periodic image).
    """
    if medium.get("generator") != "boolean_spheres" or not medium.get("radius_sigma"):
        return ""
    from generators.boolean import TAIL_PROBABILITY

    largest = float(boolean_radius(medium).isf(TAIL_PROBABILITY))
    smallest = min(sizes)
    if largest <= smallest * spacing / 2:
        return ""
    return (
        f"sampling.sizes: the smallest SVE ({smallest} voxels) must be at least "
        f"{math.ceil(2 * largest / spacing)} voxels for medium.radius_sigma "
        f"{medium['radius_sigma']:g}: the log-normal radius is drawn up to its 1 - "
        f"{TAIL_PROBABILITY:g} quantile, {largest:.4g}, at most half the SVE's edge"
    )


_DRAW: dict[str, Callable] = {
    "gaussian_level_cut": _level_cut,
    "boolean_spheres": lambda m, shape, spacing, rng: (
        generators.boolean_spheres(
            shape,
            boolean_radius(m),
            volume_fraction=m["volume_fraction"],
            spacing=spacing,
            rng=rng,
        ).labels
    ),  # fmt: skip
    "rsa_spheres": lambda m, shape, spacing, rng: (
        generators.rsa_spheres(
            shape, m["radius"], m["volume_fraction"], spacing=spacing, rng=rng
        ).labels
    ),
    "voronoi_mosaic": _voronoi,
    "random_checkerboard": lambda m, shape, spacing, rng: generators.random_checkerboard(
        shape, cell_size=int(m["cell_size"]), volume_fraction=m["volume_fraction"], rng=rng
    ),
    "random_laminate": _laminate,
    POLYCRYSTAL: lambda m, shape, spacing, rng: (
        draw_polycrystal(m, shape[0], spacing, rng).grain_ids
    ),
}


def indicator_integral_range(medium: dict[str, Any], spacing: float) -> float:
    """Exact integral range of the phase-1 indicator (physical length units ** ndim), or NaN.

    Known for ``gaussian_level_cut`` (of its ergodic part: the offset of the
    non-ergodic control is what the ergodicity test looks for, so the band it
    is held to is the ergodic one), ``voronoi_mosaic`` and
    ``random_checkerboard`` (one cell); infinite for ``random_laminate`` (no
    finite integral range in 2-D or 3-D); NaN for the polycrystal (no phases)
    and the others (the report then estimates it from the independent
    realizations' volume fractions).
    """
    ndim, phi = medium["ndim"], medium.get("volume_fraction")
    generator = medium.get("generator")  # none for a measured image: NaN
    if generator == "gaussian_level_cut":
        return float(generators.level_cut_integral_range(covariance(medium), phi, ndim))
    if generator == "voronoi_mosaic":
        return float(generators.voronoi_integral_range(cell_size=medium["cell_size"], ndim=ndim))
    if generator == "random_checkerboard":
        return float((medium["cell_size"] * spacing) ** ndim)
    if generator == "random_laminate":
        return math.inf
    return float("nan")


def draw_medium(
    medium: dict[str, Any], size: int, spacing: float, rng: np.random.Generator
) -> np.ndarray:
    """Labels (shape ``(size,) * ndim``) of one SVE of a validated medium.

    Phases (int8) of a two-phase medium; grain ids (int32) of the polycrystal.
    """
    shape = (size,) * medium["ndim"]
    dtype = np.int32 if medium["generator"] == POLYCRYSTAL else np.int8
    return np.asarray(_DRAW[medium["generator"]](medium, shape, spacing, rng), dtype=dtype)


def validate_medium(table: dict[str, Any], positive, fail) -> dict[str, Any]:
    """Check a ``[medium]`` table; returns it with optional parameters filled in.

    ``positive(value, field)`` and ``fail(message)`` come from the spec module,
    so the messages name ``medium.<field>`` the same way as everywhere else.
    """
    generator = table.get("generator")
    if generator not in MEDIA:
        fail(f"medium.generator must be one of {tuple(MEDIA)}, got {generator!r}")
    kind = MEDIA[generator]
    fraction = () if generator == POLYCRYSTAL else ("volume_fraction",)
    canonical, alternative = ALTERNATIVES.get(generator, (None, None))
    known = {"generator", "ndim", *fraction, *kind.required, *kind.optional,
             *EXTRA_OPTIONAL.get(generator, ())}  # fmt: skip
    if alternative:
        known.add(alternative)
    for key in table:
        if key not in known:
            fail(
                f"unknown field 'medium.{key}' for generator {generator!r}; "
                f"known: {', '.join(sorted(known))}"
            )
    if alternative and (canonical in table) == (alternative in table):
        fail(
            f"give exactly one of medium.{canonical} and medium.{alternative} for generator "
            f"{generator!r}, got "
            + (" and ".join(f"{k} = {table[k]!r}" for k in (canonical, alternative)) if
               canonical in table else "neither")
        )  # fmt: skip
    for key in ("ndim", *fraction, *kind.required):
        if key not in table and key != canonical:
            fail(f"missing field 'medium.{key}'")
    out = {**kind.optional, **table}
    ndim = out["ndim"]
    if isinstance(ndim, bool) or ndim not in (2, 3):
        fail(f"medium.ndim must be 2 or 3, got {ndim!r}")
    if "radius_sigma" in out:
        sigma = out["radius_sigma"]
        if isinstance(sigma, bool) or not isinstance(sigma, int | float) or not 0 <= sigma <= 1:
            fail(f"medium.radius_sigma must be a number in [0, 1] (the standard deviation of "
                 f"ln R), got {sigma!r}")  # fmt: skip
        if sigma == 0:
            del out["radius_sigma"]  # one radius: the canonical table has no radius_sigma
        else:
            out["radius_sigma"] = float(sigma)
    if alternative in out:
        intensity = positive(out.pop(alternative), f"medium.{alternative}")
        if canonical == "cell_size":
            out["cell_size"] = intensity ** (-1.0 / ndim)
        else:
            radius = positive(out.get("radius"), "medium.radius")
            out["volume_fraction"] = generators.boolean_volume_fraction(
                intensity, boolean_radius({**out, "radius": radius}), ndim
            )
    phi = out.get("volume_fraction")
    if fraction and (isinstance(phi, bool) or not isinstance(phi, int | float) or not 0 < phi < 1):
        fail(f"medium.volume_fraction must be in (0, 1), got {phi!r}")
    if fraction:
        out["volume_fraction"] = float(phi)
    length = out.get("correlation_length")
    if generator == "gaussian_level_cut" and isinstance(length, list | tuple):
        if len(length) != ndim:
            fail(f"medium.correlation_length must be one number or {ndim} (one per axis, C "
                 f"order) for a {ndim}-D medium, got {len(length)}: {length!r}")  # fmt: skip
        out["correlation_length"] = [
            positive(value, f"medium.correlation_length[{axis}]")
            for axis, value in enumerate(length)
        ]
    for key in ("radius", "cell_size", "nu", "beta", "correlation_length"):
        if isinstance(out.get(key), list):
            continue
        if out.get(key) is not None:
            out[key] = positive(out[key], f"medium.{key}")
    if generator == "gaussian_level_cut":
        if not isinstance(out["covariance"], str):
            fail(f"medium.covariance must be a model name, got {out['covariance']!r}")
        try:
            covariance(out)
        except (TypeError, ValueError) as err:
            fail(f"medium.covariance: {err}")
        if out["fraction"] not in FRACTIONS:
            fail(f"medium.fraction must be one of {FRACTIONS}, got {out['fraction']!r}")
        variance = out["offset_variance"]
        if isinstance(variance, bool) or not isinstance(variance, int | float) or variance < 0:
            fail(f"medium.offset_variance must be a number >= 0, got {variance!r}")
        out["offset_variance"] = float(variance)
    if generator == "rsa_spheres" and phi >= generators.RSA_SATURATION[ndim]:
        fail(
            f"medium.volume_fraction must be below the RSA saturation limit "
            f"{generators.RSA_SATURATION[ndim]} in {ndim}-D, got {phi!r}"
        )
    if generator in CELL_MEDIA and out["cell_size"] != math.floor(out["cell_size"]):
        fail(f"medium.cell_size must be a whole number of voxels, got {out['cell_size']!r}")
    return out
