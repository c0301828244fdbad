"""Study specifications: what to generate, what to solve, at which sizes.

A spec is read from TOML (or a plain dict) and validated *before any work
starts*: every error names the offending field, the rule and the value
received, e.g. ``sampling.sizes[2] must be an integer >= 2, got -4``.

The TOML layout (see ``studies/default.toml`` for a commented example)::

    name = "default"
    seed = 20261121                 # root entropy of numpy.random.SeedSequence

    [medium]
    generator = "gaussian_level_cut"
    ndim = 2
    covariance = "gaussian"         # or "exponential"
    correlation_length = 4.0        # physical units (same as sampling.spacing)
    volume_fraction = 0.5           # of phase 1
    fraction = "expected"           # or "exact" (see below)

    [property]
    name = "conductivity"
    phases = [1.0, 10.0]            # value of phase 0, phase 1

    [sampling]
    sizes = [16, 32, 64, 128, 256]  # edge length in voxels
    spacing = 1.0                   # voxel edge, physical units
    length_unit = "1"               # units attribute of physical lengths
    realizations = 64

    [solver]
    bc = ["periodic"]
    tol = 1e-6
    maxiter = 1000
    batch = 8                       # realizations per Dask task
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from generators import covariance_model
from sve.solvers import CONDUCTIVITY_BCS, implemented_bc

__all__ = ["StudySpec", "SpecError", "load_spec"]

GENERATORS = ("gaussian_level_cut",)
PROPERTIES = ("conductivity",)
#: How the level cut meets the volume fraction: "expected" cuts at the fixed
#: Gaussian threshold, so each realization's fraction scatters as in the
#: stationary medium (the ensemble a size-convergence study is about: its
#: variance includes the fraction's fluctuations); "exact" cuts by rank, so
#: every realization has exactly round(φ·N) phase-1 voxels (a conditioned
#: ensemble with a smaller variance).
FRACTIONS = ("expected", "exact")


class SpecError(ValueError):
    """A study specification that breaks a rule; the message names the field."""


@dataclass(frozen=True)
class StudySpec:
    """A validated size-convergence study (immutable; build with :func:`load_spec`).

    Attributes mirror the TOML layout of the module docstring; lengths are in
    physical units (``length_unit``), sizes in voxels.
    """

    name: str
    seed: int
    generator: str
    ndim: int
    covariance: str
    correlation_length: float
    volume_fraction: float
    fraction: str
    property: str
    phases: tuple[float, ...]
    sizes: tuple[int, ...]
    spacing: float
    length_unit: str
    realizations: int
    bc: tuple[str, ...]
    tol: float
    maxiter: int
    batch: int

    def to_json(self) -> str:
        """The spec as canonical JSON text (stored in the dataset's attributes)."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> StudySpec:
        """Inverse of :meth:`to_json`."""
        data = json.loads(text)
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


_SECTIONS = {
    "medium": (
        "generator",
        "ndim",
        "covariance",
        "correlation_length",
        "volume_fraction",
        "fraction",
    ),
    "property": ("name", "phases"),
    "sampling": ("sizes", "spacing", "length_unit", "realizations"),
    "solver": ("bc", "tol", "maxiter", "batch"),
}
_DEFAULTS = {
    "medium.fraction": "expected",
    "sampling.spacing": 1.0,
    "sampling.length_unit": "1",
    "solver.bc": ["periodic"],
    "solver.tol": 1e-6,
    "solver.maxiter": 1000,
    "solver.batch": 8,
}


def load_spec(source: str | Path | dict[str, Any] | StudySpec) -> StudySpec:
    """Read and validate a study specification.

    Parameters
    ----------
    source : path to a TOML file, dict with the same layout, or StudySpec
        The specification (layout in the module docstring).

    Returns
    -------
    StudySpec

    Raises
    ------
    SpecError
        (a ``ValueError``) naming the first field that breaks a rule: a
        missing or unknown field, a size below 2 voxels, an unknown covariance
        model, a volume fraction outside (0, 1), ...
    """
    if isinstance(source, StudySpec):
        return source
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise SpecError(f"spec file {str(path)!r} does not exist")
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as err:
            raise SpecError(f"spec file {str(path)!r} is not valid TOML: {err}") from None
    elif isinstance(source, dict):
        data = source
    else:
        raise TypeError(f"spec must be a path, a dict or a StudySpec, got {type(source).__name__}")
    return _validate(data)


def _get(data: dict[str, Any], dotted: str) -> Any:
    section, _, key = dotted.partition(".")
    if not key:
        if section not in data:
            raise SpecError(f"missing field {dotted!r}")
        return data[section]
    table = data.get(section)
    if table is None:
        if dotted in _DEFAULTS:
            return _DEFAULTS[dotted]
        raise SpecError(f"missing section [{section}] (needed for field {dotted!r})")
    if not isinstance(table, dict):
        raise SpecError(f"{section} must be a table, got {table!r}")
    if key not in table:
        if dotted in _DEFAULTS:
            return _DEFAULTS[dotted]
        raise SpecError(f"missing field {dotted!r}")
    return table[key]


def _integer(value: Any, field: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SpecError(f"{field} must be an integer >= {minimum}, got {value!r}")
    return value


def _positive(value: Any, field: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise SpecError(f"{field} must be a finite number > 0, got {value!r}")
    return float(value)


def _string(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise SpecError(f"{field} must be a non-empty string, got {value!r}")
    return value


def _validate(data: dict[str, Any]) -> StudySpec:
    known = {"name", "seed", *_SECTIONS}
    for key, value in data.items():
        if key not in known:
            raise SpecError(f"unknown field {key!r}; known: {', '.join(sorted(known))}")
        if key in _SECTIONS:
            if not isinstance(value, dict):
                raise SpecError(f"{key} must be a table, got {value!r}")
            for sub in value:
                if sub not in _SECTIONS[key]:
                    raise SpecError(
                        f"unknown field '{key}.{sub}'; known: {', '.join(_SECTIONS[key])}"
                    )

    name = _string(_get(data, "name"), "name")
    seed = _integer(_get(data, "seed"), "seed", 0)

    generator = _string(_get(data, "medium.generator"), "medium.generator")
    if generator not in GENERATORS:
        raise SpecError(f"medium.generator must be one of {GENERATORS}, got {generator!r}")
    ndim = _get(data, "medium.ndim")
    if ndim not in (2, 3) or isinstance(ndim, bool):
        raise SpecError(f"medium.ndim must be 2 or 3, got {ndim!r}")
    covariance = _string(_get(data, "medium.covariance"), "medium.covariance")
    length = _positive(_get(data, "medium.correlation_length"), "medium.correlation_length")
    try:
        covariance_model(covariance, length=length)
    except ValueError as err:
        raise SpecError(f"medium.covariance: {err}") from None
    phi = _get(data, "medium.volume_fraction")
    if isinstance(phi, bool) or not isinstance(phi, int | float) or not 0 < phi < 1:
        raise SpecError(f"medium.volume_fraction must be in (0, 1), got {phi!r}")

    fraction = _get(data, "medium.fraction")
    if fraction not in FRACTIONS:
        raise SpecError(f"medium.fraction must be one of {FRACTIONS}, got {fraction!r}")

    prop = _string(_get(data, "property.name"), "property.name")
    if prop not in PROPERTIES:
        raise SpecError(f"property.name must be one of {PROPERTIES}, got {prop!r}")
    phases = _get(data, "property.phases")
    if not isinstance(phases, list) or len(phases) != 2:
        raise SpecError(
            f"property.phases must be a list of 2 values (phase 0, phase 1), got {phases!r}"
        )
    phases = tuple(_positive(v, f"property.phases[{i}]") for i, v in enumerate(phases))

    sizes = _get(data, "sampling.sizes")
    if not isinstance(sizes, list) or not sizes:
        raise SpecError(f"sampling.sizes must be a non-empty list of integers, got {sizes!r}")
    sizes = tuple(_integer(v, f"sampling.sizes[{i}]", 2) for i, v in enumerate(sizes))
    if len(set(sizes)) != len(sizes) or list(sizes) != sorted(sizes):
        raise SpecError(f"sampling.sizes must be strictly increasing, got {list(sizes)}")
    spacing = _positive(_get(data, "sampling.spacing"), "sampling.spacing")
    length_unit = _string(_get(data, "sampling.length_unit"), "sampling.length_unit")
    realizations = _integer(_get(data, "sampling.realizations"), "sampling.realizations", 2)

    bcs = _get(data, "solver.bc")
    if isinstance(bcs, str):
        bcs = [bcs]
    if not isinstance(bcs, list) or not bcs:
        raise SpecError(f"solver.bc must be a non-empty list of names, got {bcs!r}")
    try:
        bcs = tuple(
            dict.fromkeys(
                implemented_bc(b, CONDUCTIVITY_BCS, "apparent_conductivity") for b in bcs
            )
        )
    except (TypeError, ValueError, NotImplementedError) as err:
        raise SpecError(f"solver.bc: {err}") from None
    tol = _positive(_get(data, "solver.tol"), "solver.tol")
    if tol >= 1:
        raise SpecError(f"solver.tol must be in (0, 1), got {tol!r}")
    maxiter = _integer(_get(data, "solver.maxiter"), "solver.maxiter", 1)
    batch = _integer(_get(data, "solver.batch"), "solver.batch", 1)

    return StudySpec(
        name=name,
        seed=seed,
        generator=generator,
        ndim=ndim,
        covariance=covariance,
        correlation_length=length,
        volume_fraction=float(phi),
        fraction=fraction,
        property=prop,
        phases=phases,
        sizes=sizes,
        spacing=spacing,
        length_unit=length_unit,
        realizations=realizations,
        bc=bcs,
        tol=tol,
        maxiter=maxiter,
        batch=batch,
    )
