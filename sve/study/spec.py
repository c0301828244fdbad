"""Study specifications: what to generate, what to solve, at which sizes.

A spec is read from TOML (or a plain dict) and validated *before any work
starts*: every error names the offending field, the rule and the value
received, e.g. ``sampling.sizes[2] must be an integer >= 2, got -4``.

The TOML layout, every field with its default, the sampling modes, adaptive
sampling, parameter sweeps and the schema versions are documented in the
docs' study specification reference (``docs/spec.rst``);
``studies/default.toml`` is a commented example. A validated spec
(:class:`StudySpec`) holds one frozen section per table.
"""

from __future__ import annotations

import copy
import json
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from sve.solvers import (
    CONDUCTIVITY_BCS,
    ELASTICITY_BCS,
    PERMEABILITY_BCS,
    cubic,
    implemented_bc,
    isotropic,
    isotropic_projection,
)
from sve.solvers._core.refinement import MIN_TOL
from sve.study.image import (
    WINDOW_PLACEMENTS,
    validate_image_medium,
    window_shape,
    with_labels,
)
from sve.study.media import (
    CELL_MEDIA,
    MEDIA,
    POLYCRYSTAL,
    characteristic_length,
    radius_law_message,
    validate_medium,
)

__all__ = [
    "SCHEMA_VERSION",
    "PhysicsSection",
    "SamplingSection",
    "SolverSection",
    "SpecError",
    "StudySpec",
    "SweepSection",
    "Table",
    "load_spec",
]

#: Layout of a spec's JSON text (the ``spec`` attribute of every store):
#: 1, the flat fields of the spec before its sections (stores written before
#: issue 16; read, never written); 2, the TOML tables with ``schema_version``
#: (:meth:`StudySpec.to_dict`). A TOML file may give ``schema_version`` (1 or 2:
#: the TOML layout is the same); without it, it is read as the current one.
SCHEMA_VERSION = 2

PROPERTIES = ("conductivity", "elasticity", "permeability")
#: The dataset variable of each property: its apparent tensor (d x d conductivity or
#: permeability, or Mandel stiffness m x m with m = 3 in 2-D, 6 in 3-D).
VARIABLES = {
    "conductivity": "conductivity",
    "elasticity": "stiffness",
    "permeability": "permeability",
}
_BCS = {
    "conductivity": CONDUCTIVITY_BCS,
    "elasticity": ELASTICITY_BCS,
    "permeability": PERMEABILITY_BCS,
}
_SOLVERS = {
    "conductivity": "apparent_conductivity",
    "elasticity": "apparent_stiffness",
    "permeability": "apparent_permeability",
}
#: Values of ``property.walls`` (permeability under mixed conditions: the side walls).
WALLS = ("no-slip", "free-slip")
#: Fields of the ``[property]`` table each property takes (besides ``name``).
PROPERTY_FIELDS = {
    "conductivity": ("phases", "field_moments"),
    "elasticity": ("phases", "modulus", "crystal", "field_moments"),
    "permeability": ("pore_label", "viscosity", "walls", "reservoir"),
}
DISCRETIZATIONS = ("q1", "fv")
#: Values of ``solver.stop`` (:func:`sve.apparent_conductivity`).
STOPS = ("residual", "tensor")
#: Values of ``solver.precision`` (:func:`sve.apparent_conductivity`).
PRECISIONS = ("double", "single")
#: Values of ``property.modulus``: the scalar an elasticity study's statistics summarize
#: (:func:`sve.statistics.isotropic_part`).
MODULI = ("bulk", "shear")
#: Values of ``sampling.mode``.
SAMPLING_MODES = ("independent", "windows", "both")
#: Largest parent (voxels in all) of the window modes: every task regenerates it
#: (a 1024^2 level cut takes 0.07 s, a 256^3 one 1.5 s and 134 MB of float64 field).
MAX_PARENT_VOXELS = 2**27
#: Most values of one ``[sweep]`` field (each is a whole sub-study).
MAX_SWEEP_VALUES = 64
#: Numeric ``[medium]`` parameters a sweep may vary (those the generator knows).
SWEEPABLE_MEDIUM = (
    "volume_fraction",
    "correlation_length",
    "radius",
    "cell_size",
    "nu",
    "beta",
    "offset_variance",
)
_SWEEP_FIELD = re.compile(
    r"^(?:medium\.(?P<medium>\w+)|property\.phases\[(?P<phase>[01])\](?:\.(?P<modulus>\w+))?)$"
)


class SpecError(ValueError):
    """A study specification that breaks a rule; the message names the field."""


class Table(dict):
    """A read-only table of a spec (``[medium]``, ``property.crystal``, a phase's moduli).

    A ``dict`` (it prints, compares and serializes to JSON as one) whose
    items cannot change, hashed by its content, so a frozen
    :class:`StudySpec` stays frozen and hashable. ``{**table, key: value}``
    makes a changed (plain) copy.
    """

    def __init__(self, items: Mapping[str, Any] | None = None, /, **more: Any) -> None:
        data = {**(items or {}), **more}
        super().__init__({key: _frozen(value) for key, value in data.items()})

    def _read_only(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("a spec Table is read-only; build a changed copy: {**table, key: value}")

    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(json.dumps(self, sort_keys=True))

    def __reduce__(self):
        return (Table, (dict(self),))

    def __copy__(self) -> Table:
        return self

    def __deepcopy__(self, memo: dict) -> Table:
        return self


def _frozen(value: Any) -> Any:
    if isinstance(value, Mapping):
        return value if isinstance(value, Table) else Table(value)
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return value


def _plain(value: Any) -> Any:
    """JSON-ready copy: tables as dicts, tuples as lists."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class PhysicsSection:
    """The ``[property]`` table: what is solved, and the phases' (or crystal's) values.

    ``name``: "conductivity", "elasticity" or "permeability"; ``phases``:
    conductivity of phase 0 and phase 1, or their isotropic moduli tables
    (empty for the polycrystal and for permeability); ``modulus``
    (elasticity): "bulk" or "shear", the scalar the statistics summarize;
    ``crystal``: cubic constants ``c11, c12, c44`` of the polycrystal's
    grains (empty for two-phase media); ``field_moments``: store the
    per-phase means and second moments of the local fields of every record
    (two-phase media only). Permeability (the Stokes cell
    problem in the pore space, :func:`sve.apparent_permeability`):
    ``pore_label``, the phase (0 or 1) the fluid fills (-1 for the other
    properties); ``viscosity`` (the permeability does not depend on it);
    ``walls``, the side walls under mixed conditions ("no-slip" or
    "free-slip"); ``reservoir``, a one-voxel inlet and outlet reservoir
    under mixed conditions.
    """

    name: str
    phases: tuple[float, ...] | tuple[Table, ...] = ()
    modulus: str = "bulk"
    crystal: Table = field(default_factory=Table)
    field_moments: bool = False
    pore_label: int = -1
    viscosity: float = 1.0
    walls: str = "no-slip"
    reservoir: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "phases", _frozen(tuple(self.phases)))
        object.__setattr__(self, "crystal", _frozen(dict(self.crystal)))


@dataclass(frozen=True)
class SamplingSection:
    """The ``[sampling]`` table: sizes (voxels), voxel edge, realizations, sampling mode.

    ``mode``: "independent", "windows" or "both"; ``parent_size``: edge of the
    window modes' parent (0 without one); ``adaptive_target`` and
    ``max_realizations``: adaptive sampling (0, 0: a fixed ``realizations``).
    Image studies (:mod:`sve.study.image`): ``windows``, the placement of the
    windows ("tiles" or "random"), and ``target_precision``, the relative
    precision the report asks the image to be representative at; ``spacing``
    is the finest voxel edge and ``length_unit`` the image's unit.
    """

    sizes: tuple[int, ...]
    realizations: int
    spacing: float = 1.0
    length_unit: str = "1"
    mode: str = "independent"
    parent_size: int = 0
    adaptive_target: float = 0.0
    max_realizations: int = 0
    windows: str = "tiles"
    target_precision: float = 0.05

    def __post_init__(self) -> None:
        object.__setattr__(self, "sizes", tuple(self.sizes))


#: ``solver.batch = "auto"`` (`StudySpec.task_batch`): realizations per task at least
#: (the former default), up to this many voxels a task on small SVEs, and at least this
#: many tasks per size where there are realizations enough.
AUTO_BATCH = 8
AUTO_BATCH_VOXELS = 2**18
AUTO_BATCH_TASKS = 16


@dataclass(frozen=True)
class SolverSection:
    """The ``[solver]`` table: boundary conditions, tolerance, discretization, batch."""

    bc: tuple[str, ...]
    tol: float = 1e-6
    maxiter: int = 1000
    discretization: str = "q1"
    #: Realizations per Dask task: an integer >= 1, or "auto" (`StudySpec.task_batch`).
    #: How the work is grouped changes no result (batched solves give the bits of
    #: one-at-a-time solves): not part of the study's identity, so a store resumes
    #: whatever its batch was.
    batch: int | str = field(default="auto", compare=False)
    stop: str = "residual"
    #: Bytes a solve may use; 0: the machine's available memory (or the Dask worker's).
    memory_limit: int = 0
    #: "double" or "single" (float32 conjugate gradients, conductivity only).
    precision: str = "double"

    def __post_init__(self) -> None:
        object.__setattr__(self, "bc", tuple(self.bc))


@dataclass(frozen=True)
class SweepSection:
    """The ``[sweep]`` table: the swept field (e.g. "property.phases[1]") and its values.

    ``field`` "" and no values: no sweep.
    """

    field: str = ""
    values: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(self.values))


#: Where each flat attribute of the spec of before the sections lives now:
#: ``name -> (section, field)``; kept as read-only properties of :class:`StudySpec`.
FLAT_FIELDS = {
    "property": ("physics", "name"),
    "phases": ("physics", "phases"),
    "modulus": ("physics", "modulus"),
    "crystal": ("physics", "crystal"),
    "field_moments": ("physics", "field_moments"),
    "pore_label": ("physics", "pore_label"),
    "sizes": ("sampling", "sizes"),
    "spacing": ("sampling", "spacing"),
    "length_unit": ("sampling", "length_unit"),
    "realizations": ("sampling", "realizations"),
    "sampling_mode": ("sampling", "mode"),
    "parent_size": ("sampling", "parent_size"),
    "adaptive_target": ("sampling", "adaptive_target"),
    "max_realizations": ("sampling", "max_realizations"),
    "window_placement": ("sampling", "windows"),
    "target_precision": ("sampling", "target_precision"),
    "bc": ("solver", "bc"),
    "tol": ("solver", "tol"),
    "maxiter": ("solver", "maxiter"),
    "discretization": ("solver", "discretization"),
    "batch": ("solver", "batch"),
    "stop": ("solver", "stop"),
    "precision": ("solver", "precision"),
    "sweep_field": ("sweep", "field"),
    "sweep_values": ("sweep", "values"),
}


def _flat(name: str, doc: str) -> property:
    section, key = FLAT_FIELDS[name]
    return property(lambda self: getattr(getattr(self, section), key), doc=doc)


@dataclass(frozen=True)
class StudySpec:
    """A validated size-convergence study (immutable; build with :func:`load_spec`).

    Nested frozen sections mirror the TOML tables: ``medium`` (the
    ``[medium]`` table, a read-only :class:`Table`), ``physics``
    (``[property]``, :class:`PhysicsSection`), ``sampling``
    (:class:`SamplingSection`), ``solver`` (:class:`SolverSection`) and
    ``sweep`` (:class:`SweepSection`). The flat attributes of before the
    sections (``spec.sizes``, ``spec.tol``, ``spec.property``, ...; the map
    is :data:`FLAT_FIELDS`) stay as read-only properties. Lengths are in
    physical units (``length_unit``), sizes in voxels.

    ``schema_version`` is the layout of :meth:`to_json` (:data:`SCHEMA_VERSION`);
    it is not part of the study's identity (neither is ``store``), so a spec
    read from a store of an older layout equals the same spec loaded today.
    """

    name: str
    seed: int
    medium: Table
    physics: PhysicsSection
    sampling: SamplingSection
    solver: SolverSection
    sweep: SweepSection = field(default_factory=SweepSection)
    #: Top-level ``store``: where `sve run` and `run_study` write when given no store
    #: ("": ``results/NAME.zarr`` on the command line, memory only in Python). Not part
    #: of the study's identity: left out of the JSON and of equality, so a moved store
    #: still resumes.
    store: str = field(default="", compare=False)
    schema_version: int = field(default=SCHEMA_VERSION, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "medium", _frozen(dict(self.medium)))

    @classmethod
    def from_flat(cls, **fields: Any) -> StudySpec:
        """A spec from the flat fields of before the sections (:data:`FLAT_FIELDS`).

        Top-level fields (``name``, ``seed``, ``medium``, ``store``) are taken
        as they are; no validation (:func:`load_spec` validates).
        """
        sections: dict[str, dict[str, Any]] = {
            "physics": {}, "sampling": {}, "solver": {}, "sweep": {}
        }  # fmt: skip
        top = {}
        for key, value in fields.items():
            if key in FLAT_FIELDS:
                section, name = FLAT_FIELDS[key]
                sections[section][name] = value
            else:
                top[key] = value
        return cls(
            **top,
            physics=PhysicsSection(**sections["physics"]),
            sampling=SamplingSection(**sections["sampling"]),
            solver=SolverSection(**sections["solver"]),
            sweep=SweepSection(**sections["sweep"]),
        )

    def replace(self, **changes: Any) -> StudySpec:
        """A copy with fields changed: top-level or section fields, or flat names.

        ``spec.replace(realizations=16, tol=1e-8)`` changes
        ``sampling.realizations`` and ``solver.tol``; ``spec.replace(name="b")``
        the name. Not validated (give the result to :func:`load_spec` via
        :meth:`to_dict` to check it).
        """
        top: dict[str, Any] = {}
        sections: dict[str, dict[str, Any]] = {}
        for key, value in changes.items():
            if key in FLAT_FIELDS:
                section, name = FLAT_FIELDS[key]
                sections.setdefault(section, {})[name] = value
            elif key in {f.name for f in fields(self)}:
                top[key] = value
            else:
                raise TypeError(f"StudySpec has no field {key!r}")
        for section, values in sections.items():
            top[section] = replace(top.get(section, getattr(self, section)), **values)
        return replace(self, **top)

    def with_sampling(self, **changes: Any) -> StudySpec:
        """A copy with ``sampling`` fields changed (names of :class:`SamplingSection`)."""
        return replace(self, sampling=replace(self.sampling, **changes))

    @property
    def swept(self) -> bool:
        """True when the spec sweeps a parameter (a ``[sweep]`` table)."""
        return bool(self.sweep_field)

    def sweep_specs(self) -> tuple[StudySpec, ...]:
        """The sub-study of each sweep value: this spec with the value in the swept field.

        Plain specs (no sweep), named ``"NAME [FIELD = VALUE]"``; every one has
        this spec's seed (common random numbers, docs/spec.rst). Empty
        without a sweep.
        """
        return tuple(_with_value(self, value) for value in self.sweep_values)

    @property
    def adaptive(self) -> bool:
        """True when realizations are added per size until ``adaptive_target`` is met."""
        return self.adaptive_target > 0

    @property
    def allocated_realizations(self) -> int:
        """Length of the dataset's ``realization`` dimension: the budget when adaptive."""
        return self.max_realizations if self.adaptive else self.realizations

    @property
    def windows(self) -> bool:
        """True when the study samples windows of one large parent (mode windows or both)."""
        return self.sampling_mode != "independent"

    @property
    def image(self) -> bool:
        """True when the study samples windows of a measured image (``medium.image``)."""
        return "image" in self.medium

    @property
    def conducting_phase(self) -> int | None:
        """The conducting phase of a conductivity study with a void phase (conductivity
        0), whose windows get percolation flags and tortuosity factors; else None.
        """
        if self.property != "conductivity" or self.polycrystal or all(self.phases):
            return None
        return 0 if self.phases[0] else 1

    @property
    def voxel_size(self) -> tuple[float, ...]:
        """Voxel edge per axis: the image's ``medium.voxel_size``, else ``spacing`` each."""
        if self.image:
            return tuple(self.medium["voxel_size"])
        return (self.spacing,) * self.ndim

    def task_batch(self, size: int) -> int:
        """Realizations (or windows) of edge `size` per Dask task: ``solver.batch``, or
        with "auto" at least `AUTO_BATCH`, and up to `AUTO_BATCH_VOXELS` voxels a task on
        small SVEs while every size keeps `AUTO_BATCH_TASKS` tasks or more (``sampling.
        realizations``, the first round of an adaptive study, split that many ways).

        Each task costs the scheduler, the client and the worker a few milliseconds
        whatever it holds: 64^2 SVEs of about 8 ms each, 8 a task, ran at 135-139 tensors/s
        inside a study on 2 workers, 32 or 128 a task at 155-163/s
        (docs/solver_notes.rst, "Small SVEs", ninth round).
        """
        if self.batch != "auto":
            return self.batch
        voxels = math.prod(self.window_shape(size))
        by_voxels = -(-AUTO_BATCH_VOXELS // voxels)
        by_tasks = -(-self.realizations // AUTO_BATCH_TASKS)
        return max(AUTO_BATCH, min(by_voxels, by_tasks))

    def window_shape(self, size: int) -> tuple[int, ...]:
        """Voxels per axis of an SVE of edge ``size``: ``(size,) * ndim`` but for an
        image of box voxels (:func:`sve.study.image.window_shape`).
        """
        return window_shape(self.medium, size) if self.image else (size,) * self.ndim

    @property
    def ndim(self) -> int:
        """Number of dimensions of the SVEs."""
        return self.medium["ndim"]

    @property
    def volume_fraction(self) -> float:
        """(Expected) volume fraction of phase 1; NaN for the polycrystal (no phases)."""
        return self.medium.get("volume_fraction", math.nan)

    @property
    def polycrystal(self) -> bool:
        """True for a polycrystal of one cubic crystal (``property.crystal``), no phases."""
        return bool(self.crystal)

    def crystal_stiffness(self) -> np.ndarray:
        """Mandel stiffness (m, m) of the polycrystal's crystal in its cube axes."""
        if not self.polycrystal:
            raise ValueError("crystal_stiffness needs a polycrystal study (property.crystal)")
        return cubic(self.crystal["c11"], self.crystal["c12"], self.crystal["c44"], self.ndim)

    @property
    def variable(self) -> str:
        """Name of the apparent tensor in the study dataset: conductivity or stiffness."""
        return VARIABLES[self.property]

    @property
    def tensor_size(self) -> int:
        """Rows of the apparent tensor: d (conductivity, permeability) or 3 (2-D) / 6 (3-D)
        (Mandel stiffness).
        """
        return 3 * (self.ndim - 1) if self.property == "elasticity" else self.ndim

    def phase_stiffness(self) -> np.ndarray:
        """Mandel stiffness of each phase, shape (2, m, m) (elasticity studies only)."""
        if self.property != "elasticity":
            raise ValueError(f"phase_stiffness needs an elasticity study, got {self.property!r}")
        return np.array([isotropic(self.ndim, **moduli) for moduli in self.phases])

    @property
    def phase_scalars(self) -> tuple[float, float]:
        """The scalar the statistics summarize, per phase (phase 0, phase 1).

        Conductivity: the conductivities. Elasticity: the moduli named by
        ``modulus``, the bulk moduli ``i.C.i / d**2`` (3-D: ``K``; 2-D plane
        strain: ``lam + mu``) or the shear moduli, the projection
        :func:`sve.statistics.isotropic_part` takes of the apparent stiffness.
        """
        if self.property == "conductivity":
            return tuple(self.phases)
        return self.phase_shear() if self.modulus == "shear" else self.phase_bulk()

    def phase_bulk(self) -> tuple[float, float]:
        """Bulk modulus ``i.C.i / d**2`` of each phase (elasticity studies only)."""
        return tuple(isotropic_projection(c).bulk_voigt for c in self.phase_stiffness())

    def phase_shear(self) -> tuple[float, float]:
        """Shear modulus ``mu`` of each phase (elasticity studies only)."""
        return tuple(isotropic_projection(c).shear_voigt for c in self.phase_stiffness())

    @property
    def length(self) -> float:
        """The medium's characteristic length (correlation length, radius or cell size);
        NaN for an image (none is known).
        """
        if self.image:
            return math.nan
        return characteristic_length(self.medium)

    def to_dict(self) -> dict[str, Any]:
        """The spec in the TOML layout, with ``schema_version``: what :func:`load_spec`
        reads back to this spec (fields that do not apply are left out).
        """
        physics: dict[str, Any] = {"name": self.property}
        if self.property == "permeability":
            physics.update(pore_label=self.physics.pore_label, viscosity=self.physics.viscosity)
            if "mixed" in self.bc:  # the side walls and reservoir of the pressure-drop setup
                physics.update(walls=self.physics.walls, reservoir=self.physics.reservoir)
        elif self.polycrystal:
            physics["crystal"] = _plain(self.crystal)
        else:
            physics["phases"] = _plain(self.phases)
        if self.property == "elasticity":
            physics["modulus"] = self.modulus
        if self.field_moments:  # only when set: the JSON of other specs is unchanged
            physics["field_moments"] = True
        sampling: dict[str, Any] = {
            "sizes": list(self.sizes),
            "spacing": self.spacing,
            "length_unit": self.length_unit,
            "realizations": self.realizations,
            "mode": self.sampling_mode,
        }
        if self.image:  # the voxel size and unit are the image's (medium.voxel_size, unit)
            del sampling["spacing"], sampling["length_unit"]
            sampling.update(windows=self.window_placement, target_precision=self.target_precision)
        elif self.windows:
            sampling["parent_size"] = self.parent_size
        if self.adaptive:
            sampling.update(
                adaptive_target=self.adaptive_target, max_realizations=self.max_realizations
            )
        data = {
            "schema_version": SCHEMA_VERSION,
            "name": self.name,
            "seed": self.seed,
            "medium": _plain(self.medium),
            "property": physics,
            "sampling": sampling,
            "solver": {key: _plain(value) for key, value in asdict(self.solver).items()},
        }
        if self.swept:
            data["sweep"] = {self.sweep_field: list(self.sweep_values)}
        return data

    def to_json(self) -> str:
        """The spec as canonical JSON text (stored in the dataset's attributes).

        The layout of :meth:`to_dict` (the TOML tables, with
        ``schema_version``); :meth:`from_json` also reads the flat text of
        stores written before the sections (schema version 1, no
        ``schema_version`` field).
        """
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> StudySpec:
        """Inverse of :meth:`to_json`; reads every schema version (1: flat fields).

        Version 2 text is validated again (:func:`load_spec`); version 1 text
        is taken as it was written, as before. A version newer than this
        code's :data:`SCHEMA_VERSION` raises ``ValueError``.
        """
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError(f"a spec's JSON text must hold an object, got {type(data).__name__}")
        if "schema_version" not in data:  # version 1: the flat dataclass fields
            return cls.from_flat(
                **{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
            )
        _schema_version(data["schema_version"])
        return _validate(data, trusted=True)

    phases = _flat("phases", "``property.phases`` (empty for the polycrystal).")
    modulus = _flat("modulus", "``property.modulus``: 'bulk' or 'shear' (elasticity).")
    crystal = _flat("crystal", "``property.crystal``: cubic constants, or empty.")
    field_moments = _flat(
        "field_moments", "``property.field_moments``: store per-phase field moments."
    )
    sizes = _flat("sizes", "``sampling.sizes``: edge lengths in voxels.")
    spacing = _flat("spacing", "``sampling.spacing``: voxel edge, physical units.")
    length_unit = _flat("length_unit", "``sampling.length_unit``.")
    realizations = _flat("realizations", "``sampling.realizations`` (first round if adaptive).")
    sampling_mode = _flat("sampling_mode", "``sampling.mode``.")
    parent_size = _flat("parent_size", "``sampling.parent_size`` (0: no parent).")
    adaptive_target = _flat("adaptive_target", "``sampling.adaptive_target`` (0: none).")
    window_placement = _flat("window_placement", "``sampling.windows`` (image studies).")
    target_precision = _flat("target_precision", "``sampling.target_precision`` (images).")
    max_realizations = _flat("max_realizations", "``sampling.max_realizations`` (0: none).")
    bc = _flat("bc", "``solver.bc``.")
    tol = _flat("tol", "``solver.tol``.")
    maxiter = _flat("maxiter", "``solver.maxiter``.")
    discretization = _flat("discretization", "``solver.discretization``.")
    batch = _flat("batch", "``solver.batch``: realizations per task, or 'auto'.")
    stop = _flat("stop", "``solver.stop``.")
    precision = _flat("precision", "``solver.precision``.")
    sweep_field = _flat("sweep_field", "``[sweep]``: the swept field ('' without a sweep).")
    sweep_values = _flat("sweep_values", "``[sweep]``: the swept values.")
    pore_label = _flat("pore_label", "``property.pore_label`` (permeability; else -1).")
    property = _flat(
        "property", "``property.name``: 'conductivity', 'elasticity' or 'permeability'."
    )


def _with_value(spec: StudySpec, value: float) -> StudySpec:
    """``spec``'s sub-study at one sweep value (a plain spec; see ``sweep_specs``)."""
    match = _SWEEP_FIELD.match(spec.sweep_field)
    fields: dict[str, Any] = {
        "name": f"{spec.name} [{spec.sweep_field} = {value:g}]",
        "sweep": SweepSection(),
    }
    if match["medium"]:
        fields["medium"] = {**spec.medium, match["medium"]: value}
    else:
        phases = list(spec.phases)
        k = int(match["phase"])
        phases[k] = {**phases[k], match["modulus"]: value} if match["modulus"] else value
        fields["phases"] = tuple(phases)
    return spec.replace(**fields)


_SECTIONS = {
    "medium": None,  # depends on the generator: checked by sve.study.media
    "property": (
        "name",
        "phases",
        "modulus",
        "crystal",
        "field_moments",
        "pore_label",
        "viscosity",
        "walls",
        "reservoir",
    ),  # fmt: skip
    "sampling": (
        "sizes",
        "lengths",
        "spacing",
        "length_unit",
        "realizations",
        "mode",
        "parent_size",
        "adaptive_target",
        "max_realizations",
        "windows",
        "target_precision",
    ),
    "solver": (
        "bc",
        "tol",
        "maxiter",
        "discretization",
        "batch",
        "stop",
        "memory_limit",
        "precision",
    ),
}
_DEFAULTS = {
    "sampling.spacing": 1.0,
    "sampling.length_unit": "1",
    "sampling.mode": "independent",
    "solver.bc": ["periodic"],
    "solver.tol": 1e-6,
    "solver.maxiter": 1000,
    "solver.discretization": "q1",
    "solver.stop": "residual",
    "solver.batch": "auto",
    "solver.memory_limit": 0,
    "solver.precision": "double",
}


#: The top-level fields of a macro spec (``sve macro``, or ``sve run`` on a ``[macro]``
#: table of them); ``seed`` and ``[medium]`` are shared with study specs.
MACRO_FIELDS = (
    "physics", "seed", "realizations", "mesh", "material", "medium", "dirichlet", "flux",
)  # fmt: skip


def read_spec_tables(path: str | Path) -> dict[str, Any]:
    """The raw tables of a TOML spec file; `SpecError` if it is missing or not TOML."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"spec file {str(path)!r} does not exist")
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise SpecError(f"spec file {str(path)!r} is not valid TOML: {err}") from None


def spec_kind(data: dict[str, Any]) -> str:
    """``"macro"`` or ``"study"``: what a spec's raw tables describe.

    A macro spec holds its problem in a ``[macro]`` table (beside it only a
    ``[medium]`` that the macro problem uses), or in the flat layout of ``sve
    macro`` (``physics``, ``realizations``, ``[mesh]``, ``[material]``,
    ``[dirichlet]``, ``[flux]`` at the top level). Anything else is a study spec.

    Raises
    ------
    SpecError
        For a spec that mixes the two: a ``[macro]`` table beside study fields
        (or beside the flat macro fields), or flat macro fields beside study
        sections. A study and a macro problem are two specs.
    """
    shared = {"seed", "medium"}
    if "macro" in data:
        if not isinstance(data["macro"], dict):
            raise SpecError(f"macro must be a table, got {data['macro']!r}")
        other = sorted(set(data) - {"macro", "medium"})
        if other:
            raise SpecError(
                "a spec with a [macro] table holds the macro problem in it and at most a "
                f"[medium] beside it; it also has {other} (macro fields go in [macro]; a "
                "study and a macro problem are two specs)"
            )
        if "medium" in data and "medium" in data["macro"]:
            raise SpecError("medium is given twice: at the top level and in [macro]")
        return "macro"
    macro = sorted(set(data) & (set(MACRO_FIELDS) - shared))
    study = sorted(set(data) & ({"schema_version", "name", "store", "sweep", *_SECTIONS} - shared))
    if macro and study:
        raise SpecError(
            f"the spec mixes macro fields {macro} with study fields {study}: a study and a "
            "macro problem are two specs"
        )
    return "macro" if macro else "study"


def macro_tables(data: dict[str, Any]) -> dict[str, Any]:
    """The flat macro spec of raw tables whose problem is in a ``[macro]`` table (the
    ``[medium]`` beside it moved in); a flat macro spec unchanged.
    """
    if spec_kind(data) != "macro" or "macro" not in data:
        return data
    out = dict(data["macro"])
    if "medium" in data:
        out["medium"] = data["medium"]
    return out


def load_spec(source: str | Path | dict[str, Any] | StudySpec) -> StudySpec:
    """Read and validate a study specification.

    Parameters
    ----------
    source : path to a TOML file, dict with the same layout, or StudySpec
        The specification (layout in docs/spec.rst).

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
    base = path.parent if isinstance(source, str | Path) else None
    return _validate(data, base=base)


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


def _moduli(value: Any, field: str, ndim: int) -> dict[str, float]:
    """A table of isotropic moduli (one pair of E/nu, K/G, lam/mu), checked."""
    if not isinstance(value, dict):
        raise SpecError(
            f"{field} must be a table of isotropic moduli for elasticity, e.g. "
            f"{{E = 1.0, nu = 0.3}} or {{K = 2.0, G = 1.0}}, got {value!r}"
        )
    try:
        isotropic(ndim, **value)
    except (TypeError, ValueError) as err:
        raise SpecError(f"{field}: {err}") from None
    return {key: float(number) for key, number in sorted(value.items())}


#: A physical length is a whole number of voxels when length / spacing is within this
#: relative distance of an integer: decimal inputs (0.1 * 3) round off, real misfits do not.
_WHOLE_VOXELS = 1e-9


def _sizes(sampling: Any, spacing: float) -> tuple[int, ...]:
    """Edge lengths in voxels from ``sampling.sizes`` or, in physical units,
    ``sampling.lengths`` (each a whole number of ``spacing``).
    """
    table = sampling if isinstance(sampling, dict) else {}
    if "sizes" in table and "lengths" in table:
        raise SpecError("give sampling.sizes (voxels) or sampling.lengths (physical), not both")
    if "lengths" in table:
        lengths = table["lengths"]
        if not isinstance(lengths, list) or not lengths:
            raise SpecError(
                f"sampling.lengths must be a non-empty list of numbers, got {lengths!r}"
            )
        sizes = []
        for i, value in enumerate(lengths):
            field = f"sampling.lengths[{i}]"
            voxels = _positive(value, field) / spacing
            if abs(voxels - round(voxels)) > _WHOLE_VOXELS * voxels or round(voxels) < 2:
                raise SpecError(
                    f"{field} must be a whole number (>= 2) of sampling.spacing = {spacing:g}, "
                    f"got {value!r} ({voxels:.6g} voxels)"
                )
            sizes.append(round(voxels))
        name = "sampling.lengths"
    else:
        sizes = _get({"sampling": table} if sampling is not None else {}, "sampling.sizes")
        if not isinstance(sizes, list) or not sizes:
            raise SpecError(f"sampling.sizes must be a non-empty list of integers, got {sizes!r}")
        sizes = [_integer(v, f"sampling.sizes[{i}]", 2) for i, v in enumerate(sizes)]
        name = "sampling.sizes"
    if len(set(sizes)) != len(sizes) or sizes != sorted(sizes):
        raise SpecError(f"{name} must be strictly increasing, got {sizes}")
    return tuple(sizes)


def _substitute(data: dict[str, Any], field: str, value: Any) -> dict[str, Any]:
    """A copy of the raw spec ``data`` with ``value`` in the swept ``field`` (no [sweep])."""
    out = copy.deepcopy({k: v for k, v in data.items() if k != "sweep"})
    match = _SWEEP_FIELD.match(field)
    if match["medium"]:
        if isinstance(out.get("medium"), dict):
            out["medium"][match["medium"]] = value
        return out
    table = out.get("property")
    phases = table.get("phases") if isinstance(table, dict) else None
    k = int(match["phase"])
    if isinstance(phases, list) and len(phases) == 2:  # else the validator names the problem
        if match["modulus"] and isinstance(phases[k], dict):
            phases[k][match["modulus"]] = value
        elif not match["modulus"]:
            phases[k] = value
    return out


def _swept_value(spec: StudySpec, field: str) -> float:
    """The validated value of the swept ``field`` in a (sub-study) spec."""
    match = _SWEEP_FIELD.match(field)
    if match["medium"]:
        return spec.medium[match["medium"]]
    phase = spec.phases[int(match["phase"])]
    return phase[match["modulus"]] if match["modulus"] else phase


def _validate_sweep(data: dict[str, Any], **context: Any) -> StudySpec:
    """A spec with a ``[sweep]`` table: every sub-study validated, errors naming the value."""
    table = data["sweep"]
    if not isinstance(table, dict) or len(table) != 1:
        raise SpecError(
            "sweep must be a table with exactly one field (the swept parameter), e.g. "
            f'"property.phases[1]" = [2.0, 10.0, 100.0], got {table!r}'
        )
    ((field, values),) = table.items()
    match = _SWEEP_FIELD.match(field)
    medium = data.get("medium") if isinstance(data.get("medium"), dict) else {}
    prop = data.get("property") if isinstance(data.get("property"), dict) else {}
    generator = medium.get("generator")
    known_medium = [
        key
        for key in SWEEPABLE_MEDIUM
        if generator not in MEDIA
        or key in ("volume_fraction", *MEDIA[generator].required, *MEDIA[generator].optional)
    ]
    elasticity = prop.get("name") == "elasticity"
    permeability = prop.get("name") == "permeability"  # no phase values: the medium only
    if (
        match is None
        or (match["medium"] and match["medium"] not in known_medium)
        or (match["phase"] and (permeability or bool(match["modulus"]) != elasticity))
    ):
        phase = (
            "property.phases[i].E (or nu, K, G, lam, mu)" if elasticity else "property.phases[i]"
        )
        media = ", ".join(f"medium.{key}" for key in known_medium)
        raise SpecError(
            f"sweep: unknown field {field!r}; a sweep varies one of "
            + (f"{media} (a permeability study has no phase values)" if permeability
               else f"{media} or {phase} (i = 0 or 1)")
        )  # fmt: skip
    name = f'sweep."{field}"'
    if not isinstance(values, list) or not 2 <= len(values) <= MAX_SWEEP_VALUES:
        raise SpecError(
            f"{name} must be a list of 2 to {MAX_SWEEP_VALUES} numbers, got {values!r}"
        )
    specs = []
    for k, value in enumerate(values):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise SpecError(f"{name}[{k}] must be a finite number, got {value!r}")
        try:
            specs.append(_validate(_substitute(data, field, value), **context))
        except SpecError as err:
            # an error about the swept field is the value's; any other is the base spec's
            where = field.split("].")[0] + "]" if match["modulus"] else field
            if where in str(err):
                raise SpecError(f"{name}[{k}]: {err}") from None
            raise
    if len({spec.conducting_phase for spec in specs}) > 1:
        raise SpecError(
            f"{name} must not make a phase void (0) at some values only, got {values!r}: a "
            "void phase gives the study percolation and tortuosity records the others lack"
        )
    swept = [_swept_value(spec, field) for spec in specs]
    if len(set(swept)) != len(swept):
        raise SpecError(f"{name} must hold distinct values, got {values!r}")
    return replace(
        specs[0], name=_string(_get(data, "name"), "name"),
        sweep=SweepSection(field=field, values=tuple(swept)),
    )  # fmt: skip


def _validate(data: dict[str, Any], base: Path | None = None, trusted: bool = False) -> StudySpec:
    """Validate a spec's raw tables. ``base``: the folder a relative ``medium.image`` is
    relative to (the spec file's; ``None``: the working directory); ``trusted``: the text
    of a store, whose image fields are taken as written (:mod:`sve.study.image`).
    """
    if "sweep" in data:
        return _validate_sweep(data, base=base, trusted=trusted)
    known = {"schema_version", "name", "seed", "store", "sweep", *_SECTIONS}
    for key, value in data.items():
        if key not in known:
            raise SpecError(f"unknown field {key!r}; known: {', '.join(sorted(known))}")
        if key in _SECTIONS:
            if not isinstance(value, dict):
                raise SpecError(f"{key} must be a table, got {value!r}")
            for sub in value:
                if _SECTIONS[key] is not None and sub not in _SECTIONS[key]:
                    raise SpecError(
                        f"unknown field '{key}.{sub}'; known: {', '.join(_SECTIONS[key])}"
                    )

    if "schema_version" in data:
        _schema_version(data["schema_version"])
    name = _string(_get(data, "name"), "name")
    seed = _integer(_get(data, "seed"), "seed", 0)

    if "medium" not in data:
        raise SpecError("missing section [medium] (needed for field 'medium.generator')")

    def fail(message: str):
        raise SpecError(message) from None

    table = data["medium"]
    image = isinstance(table, dict) and "image" in table
    if image:
        medium = validate_image_medium(table, base, fail, trusted=trusted)
    else:
        medium = validate_medium(table, _positive, fail)

    prop = _string(_get(data, "property.name"), "property.name")
    if prop not in PROPERTIES:
        raise SpecError(f"property.name must be one of {PROPERTIES}, got {prop!r}")
    _property_fields(data, prop)
    modulus, crystal = _modulus(data, prop, medium), _crystal(data, prop, medium)
    field_moments = _field_moments(data, crystal)
    if prop == "permeability":
        phases, flow = (), _flow(data, medium)
    else:
        phases, flow = (
            (() if crystal else _phases(_get(data, "property.phases"), prop, medium["ndim"])),
            {},
        )

    if image:
        for key in ("spacing", "length_unit", "parent_size"):
            if key in data.get("sampling", {}):
                raise SpecError(
                    f"sampling.{key} is not used with medium.image (the voxel size and unit "
                    "are medium.voxel_size and medium.unit; the image is the parent)"
                )
        spacing, length_unit = min(medium["voxel_size"]), medium["unit"]
    else:
        spacing = _positive(_get(data, "sampling.spacing"), "sampling.spacing")
        length_unit = _string(_get(data, "sampling.length_unit"), "sampling.length_unit")
    sizes = _sizes(data.get("sampling"), spacing)
    realizations = _integer(_get(data, "sampling.realizations"), "sampling.realizations", 2)
    placement, target_precision = _image_sampling(data, medium, sizes)
    if medium.get("generator") in CELL_MEDIA:
        cell = int(medium["cell_size"])
        for i, size in enumerate(sizes):
            if size % cell:
                raise SpecError(
                    f"sampling.sizes[{i}] must be a multiple of medium.cell_size {cell} for "
                    f"the {medium['generator']} generator, got {size}"
                )
    if message := radius_law_message(medium, sizes, spacing):
        raise SpecError(message)
    mode, parent_size = _sampling_mode(data, medium, sizes)
    if crystal and mode != "independent":
        raise SpecError(
            f"sampling.mode must be 'independent' for the {POLYCRYSTAL} medium, got {mode!r}"
        )
    target, budget = _adaptive(data, realizations, mode)

    bcs = _get(data, "solver.bc")
    if isinstance(bcs, str):
        bcs = [bcs]
    if not isinstance(bcs, list) or not bcs:
        raise SpecError(f"solver.bc must be a non-empty list of names, got {bcs!r}")
    try:
        bcs = tuple(dict.fromkeys(implemented_bc(b, _BCS[prop], _SOLVERS[prop]) for b in bcs))
    except NotImplementedError as err:
        if prop == "permeability":
            raise SpecError(
                f"solver.bc: a permeability study takes {list(PERMEABILITY_BCS)} (periodic: the "
                "full tensor from body-force load cases; mixed: a pressure drop between two "
                "opposite faces, the laboratory setup); the Stokes cell problem has no "
                f"kinematic or static conditions of a flux, got {bcs!r}"
            ) from None
        raise SpecError(f"solver.bc: {err}") from None
    except (TypeError, ValueError) as err:
        raise SpecError(f"solver.bc: {err}") from None
    if prop == "permeability" and "mixed" not in bcs:
        for key in ("walls", "reservoir"):
            if key in data.get("property", {}):
                raise SpecError(
                    f"property.{key} is only used under solver.bc 'mixed' (the side walls and "
                    f"the inlet/outlet of the pressure-drop setup), got solver.bc {list(bcs)}"
                )
    tol = _positive(_get(data, "solver.tol"), "solver.tol")
    if tol >= 1:
        raise SpecError(f"solver.tol must be in (0, 1), got {tol!r}")
    maxiter = _integer(_get(data, "solver.maxiter"), "solver.maxiter", 1)
    batch = _get(data, "solver.batch")
    if batch != "auto" and (isinstance(batch, bool) or not isinstance(batch, int) or batch < 1):
        raise SpecError(f"solver.batch must be an integer >= 1 or 'auto', got {batch!r}")
    discretization = _get(data, "solver.discretization")
    if discretization not in DISCRETIZATIONS:
        raise SpecError(
            f"solver.discretization must be one of {DISCRETIZATIONS}, got {discretization!r}"
        )
    if discretization == "fv" and prop == "elasticity":
        raise SpecError("solver.discretization must be 'q1' for elasticity, got 'fv'")
    stop = _get(data, "solver.stop")
    if stop not in STOPS:
        raise SpecError(f"solver.stop must be one of {STOPS}, got {stop!r}")
    precision = _get(data, "solver.precision")
    if precision not in PRECISIONS:
        raise SpecError(f"solver.precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "single" and prop != "conductivity":
        raise SpecError(f"solver.precision must be 'double' for {prop}, got 'single'")
    if precision == "single" and stop == "tensor":
        raise SpecError("solver.precision 'single' needs solver.stop = 'residual'")
    if precision == "single" and tol < MIN_TOL:
        raise SpecError(
            f"solver.tol must be >= {MIN_TOL:g} with solver.precision = 'single', got {tol!r}"
        )
    if stop == "tensor" and prop != "conductivity":
        raise SpecError(f"solver.stop must be 'residual' for {prop}, got 'tensor'")
    if discretization != "q1" and prop == "permeability":
        raise SpecError(
            f"solver.discretization is not used by permeability (the Stokes cell problem has "
            f"one discretization, the staggered MAC grid); remove it, got {discretization!r}"
        )
    if discretization == "fv" and "static" in bcs:
        raise SpecError("solver.bc: 'static' is not implemented with solver.discretization = 'fv'")

    store = data.get("store", "")
    if "store" in data:
        store = _string(store, "store")
    return StudySpec(
        store=store,
        name=name,
        seed=seed,
        medium=medium,
        physics=PhysicsSection(
            name=prop,
            phases=phases,
            modulus=modulus,
            crystal=crystal,
            field_moments=field_moments,
            **flow,
        ),
        sampling=SamplingSection(
            sizes=sizes,
            realizations=realizations,
            spacing=spacing,
            length_unit=length_unit,
            mode=mode,
            parent_size=parent_size,
            adaptive_target=target,
            max_realizations=budget,
            windows=placement,
            target_precision=target_precision,
        ),
        solver=SolverSection(
            bc=bcs,
            tol=tol,
            maxiter=maxiter,
            discretization=discretization,
            batch=batch,
            stop=stop,
            memory_limit=_memory_budget(
                data, prop, medium, sizes, bcs, discretization, phases, precision
            ),
            precision=precision,
        ),
    )


def _memory_budget(
    data, prop, medium, sizes, bcs, discretization, phases, precision="double"
) -> int:
    """``solver.memory_limit`` in bytes (0: unset), checked: the largest size must fit it
    (unset: the memory available here) under every boundary condition.
    """
    from sve.solvers._core.memory import (
        MemoryBudgetError,
        check_budget,
        memory_limit_bytes,
        parse_memory,
    )
    from sve.study.estimates import case_estimate

    value = _get(data, "solver.memory_limit")
    try:
        limit = 0 if value in (0, "") else parse_memory(value, "solver.memory_limit")
        available, source = memory_limit_bytes(limit or None)
        image = "image" in medium
        shape = window_shape(medium, max(sizes)) if image else (max(sizes),) * medium["ndim"]
        estimate = case_estimate(
            shape,
            prop,
            bcs,
            discretization=discretization,
            phases=phases or (),
            precision=precision,
            spacing=medium.get("voxel_size"),  # measured images: box voxels change "auto"
        )
        if image:  # a window task holds its window's labels beside the solve
            estimate = with_labels(estimate)
        check_budget(estimate, available, "study", source=source)
    except (TypeError, ValueError, MemoryBudgetError) as err:
        raise SpecError(f"solver.memory_limit: {err}") from None
    return limit


def _schema_version(value: Any) -> int:
    """A spec's ``schema_version``, checked: an integer from 1 to :data:`SCHEMA_VERSION`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= SCHEMA_VERSION:
        raise SpecError(
            f"schema_version must be an integer from 1 to {SCHEMA_VERSION} (this version of "
            f"sve reads no later spec layout), got {value!r}"
        )
    return value


def _phases(phases: Any, prop: str, ndim: int) -> tuple:
    """``property.phases`` of a two-phase medium: conductivities or moduli tables, checked.

    A conductivity may be 0 (a void phase: the pores of a tortuosity study, the
    holes of a foam), in one phase at most.
    """
    if not isinstance(phases, list) or len(phases) != 2:
        raise SpecError(
            f"property.phases must be a list of 2 values (phase 0, phase 1), got {phases!r}"
        )
    if prop == "conductivity":
        values = []
        for i, v in enumerate(phases):
            field = f"property.phases[{i}]"
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v < math.inf:
                raise SpecError(f"{field} must be a finite number >= 0 (0: a void), got {v!r}")
            values.append(float(v))
        if not any(values):
            raise SpecError(
                f"property.phases must have one conducting phase (> 0), got {phases!r}"
            )
        return tuple(values)
    return tuple(_moduli(v, f"property.phases[{i}]", ndim) for i, v in enumerate(phases))


def _field_moments(data: dict[str, Any], crystal: dict[str, float]) -> bool:
    """``property.field_moments``: a boolean (default false); two-phase media only."""
    value = data.get("property", {}).get("field_moments", False)
    if not isinstance(value, bool):
        raise SpecError(f"property.field_moments must be true or false, got {value!r}")
    if value and crystal:
        raise SpecError(
            f"property.field_moments is for two-phase media, not the {POLYCRYSTAL} medium "
            "(one phase per grain)"
        )
    return value


def _property_fields(data: dict[str, Any], prop: str) -> None:
    """Refuse the ``[property]`` fields of another property: those of permeability in a
    conductivity or elasticity study, and those of the others in a permeability study.
    """
    table = data.get("property", {})
    own = PROPERTY_FIELDS[prop]
    for key in table:
        if key == "name" or key in own:
            continue
        if prop == "permeability" or key in PROPERTY_FIELDS["permeability"]:
            raise SpecError(
                f"property.{key} is not used by a {prop} study (its fields: "
                f"{', '.join(f'property.{k}' for k in own)}); remove it"
            )


def _flow(data: dict[str, Any], medium: dict[str, Any]) -> dict[str, Any]:
    """The permeability fields of ``[property]``, checked: ``pore_label`` (required, a
    phase of the medium), ``viscosity``, ``walls``, ``reservoir``.
    """
    table = data.get("property", {})
    if "pore_label" not in table:
        raise SpecError(
            "missing field 'property.pore_label' (the phase the fluid fills, 0 or 1, needed "
            "by a permeability study)"
        )
    label = table["pore_label"]
    if isinstance(label, bool) or not isinstance(label, int) or label not in (0, 1):
        where = f"the image {medium['image']!r}" if "image" in medium else "a two-phase medium"
        raise SpecError(
            f"property.pore_label must be a phase of the medium, 0 or 1 (the phases of "
            f"{where}), got {label!r}"
        )
    viscosity = _positive(table.get("viscosity", 1.0), "property.viscosity")
    walls = table.get("walls", "no-slip")
    if walls not in WALLS:
        raise SpecError(f"property.walls must be one of {WALLS}, got {walls!r}")
    reservoir = table.get("reservoir", False)
    if not isinstance(reservoir, bool):
        raise SpecError(f"property.reservoir must be true or false, got {reservoir!r}")
    return {"pore_label": label, "viscosity": viscosity, "walls": walls, "reservoir": reservoir}


def _modulus(data: dict[str, Any], prop: str, medium: dict[str, Any]) -> str:
    """``property.modulus``: default "shear" for the polycrystal (whose bulk modulus is
    exact, so it has no variance to study), "bulk" otherwise.
    """
    table = data.get("property", {})
    if "modulus" not in table:
        return "shear" if medium.get("generator") == POLYCRYSTAL else "bulk"
    if prop != "elasticity":
        raise SpecError(f"property.modulus is only used by elasticity studies, got {prop!r}")
    if table["modulus"] not in MODULI:
        raise SpecError(f"property.modulus must be one of {MODULI}, got {table['modulus']!r}")
    return table["modulus"]


def _crystal(data: dict[str, Any], prop: str, medium: dict[str, Any]) -> dict[str, float]:
    """``property.crystal`` of a polycrystal (cubic constants, checked), else ``{}``."""
    table = data.get("property", {})
    if medium.get("generator") != POLYCRYSTAL:
        if "crystal" in table:
            raise SpecError(
                f"property.crystal is only used by medium.generator {POLYCRYSTAL!r}, "
                f"got {medium.get('generator', 'an image')!r}"
            )
        return {}
    if prop != "elasticity":
        raise SpecError(
            f"property.name must be 'elasticity' for the {POLYCRYSTAL} medium (grains of one "
            f"cubic crystal), got {prop!r}"
        )
    if "phases" in table:
        raise SpecError(
            f"property.phases is not used by the {POLYCRYSTAL} medium (every grain is "
            "property.crystal in its own orientation); remove it"
        )
    crystal = _get(data, "property.crystal")
    if not isinstance(crystal, dict) or set(crystal) != {"c11", "c12", "c44"}:
        raise SpecError(
            "property.crystal must be a table of the cubic constants c11, c12, c44, e.g. "
            f"{{c11 = 168.4, c12 = 121.4, c44 = 75.4}}, got {crystal!r}"
        )
    for key, value in crystal.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SpecError(f"property.crystal.{key} must be a number, got {value!r}")
    try:
        cubic(crystal["c11"], crystal["c12"], crystal["c44"], medium["ndim"])
    except ValueError as err:
        raise SpecError(f"property.crystal: {err}") from None
    return {key: float(crystal[key]) for key in ("c11", "c12", "c44")}


def _adaptive(data: dict[str, Any], realizations: int, mode: str) -> tuple[float, int]:
    """``sampling.adaptive_target`` and ``sampling.max_realizations`` (0, 0: not adaptive)."""
    sampling = data.get("sampling", {})
    if "adaptive_target" not in sampling:
        if "max_realizations" in sampling:
            raise SpecError(
                "sampling.max_realizations is only used with sampling.adaptive_target "
                "(adaptive sampling); without it every size has sampling.realizations"
            )
        return 0.0, 0
    target = sampling["adaptive_target"]
    if (
        isinstance(target, bool)
        or not isinstance(target, int | float)
        or not 0 < target < 1  # NaN fails too
    ):
        raise SpecError(
            f"sampling.adaptive_target must be a number in (0, 1) (relative confidence-interval "
            f"half-width), got {target!r}"
        )
    if "max_realizations" not in sampling:
        raise SpecError(
            "missing field 'sampling.max_realizations' (the budget of realizations per size, "
            "needed by sampling.adaptive_target)"
        )
    budget = sampling["max_realizations"]
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < realizations:
        raise SpecError(
            f"sampling.max_realizations must be an integer >= sampling.realizations "
            f"({realizations}), got {budget!r}"
        )
    if mode != "independent":
        raise SpecError(
            f"sampling.adaptive_target needs sampling.mode 'independent', got {mode!r} "
            "(the windows of one parent are a fixed set, not a sample to grow)"
        )
    return float(target), budget


def _sampling_mode(
    data: dict[str, Any], medium: dict[str, Any], sizes: tuple[int, ...]
) -> tuple[str, int]:
    """``sampling.mode`` and ``sampling.parent_size`` (0 without a parent), checked."""
    if "image" in medium:
        mode = data.get("sampling", {}).get("mode", "windows")
        if mode != "windows":
            raise SpecError(
                f"sampling.mode must be 'windows' for a study of medium.image (its windows are "
                f"all there is: no independent realizations), got {mode!r}"
            )
        return mode, 0
    mode = _get(data, "sampling.mode")
    if mode not in SAMPLING_MODES:
        raise SpecError(f"sampling.mode must be one of {SAMPLING_MODES}, got {mode!r}")
    given = "parent_size" in data.get("sampling", {})
    if mode == "independent":
        if given:
            raise SpecError(
                "sampling.parent_size is only used with sampling.mode 'windows' or 'both', "
                "got sampling.mode 'independent'"
            )
        return mode, 0
    if not given:
        raise SpecError(f"missing field 'sampling.parent_size' (needed by sampling.mode {mode!r})")
    parent = data["sampling"]["parent_size"]
    if isinstance(parent, bool) or not isinstance(parent, int) or parent < sizes[-1]:
        raise SpecError(
            f"sampling.parent_size must be an integer >= the largest size {sizes[-1]} "
            f"(voxels), got {parent!r}"
        )
    if parent ** medium["ndim"] > MAX_PARENT_VOXELS:
        raise SpecError(
            f"sampling.parent_size must give at most {MAX_PARENT_VOXELS} voxels (every task "
            f"regenerates the parent), got {parent}^{medium['ndim']} = {parent ** medium['ndim']}"
        )
    if medium["generator"] in CELL_MEDIA and parent % int(medium["cell_size"]):
        raise SpecError(
            f"sampling.parent_size must be a multiple of medium.cell_size "
            f"{int(medium['cell_size'])} for the {medium['generator']} generator, got {parent}"
        )
    return mode, parent


def _image_sampling(
    data: dict[str, Any], medium: dict[str, Any], sizes: tuple[int, ...]
) -> tuple[str, float]:
    """``sampling.windows`` and ``sampling.target_precision`` (image studies), and the
    check that every window fits in the image.
    """
    sampling = data.get("sampling", {}) if isinstance(data.get("sampling"), dict) else {}
    if "image" not in medium:
        for key in ("windows", "target_precision"):
            if key in sampling:
                raise SpecError(f"sampling.{key} is only used with medium.image")
        return "tiles", 0.05
    placement = sampling.get("windows", "tiles")
    if placement not in WINDOW_PLACEMENTS:
        raise SpecError(f"sampling.windows must be one of {WINDOW_PLACEMENTS}, got {placement!r}")
    precision = sampling.get("target_precision", 0.05)
    if (
        isinstance(precision, bool)
        or not isinstance(precision, int | float)
        or not (0 < precision < 1)
    ):
        raise SpecError(
            f"sampling.target_precision must be a number in (0, 1) (relative), got {precision!r}"
        )
    name = "sampling.lengths" if "lengths" in sampling else "sampling.sizes"
    shape = tuple(medium["image_shape"])
    for k, size in enumerate(sizes):
        window = window_shape(medium, size)
        if min(window) < 2 or any(n > total for n, total in zip(window, shape, strict=True)):
            raise SpecError(
                f"{name}[{k}]: the window of edge {size * min(medium['voxel_size']):g} "
                f"{medium['unit']} ({' x '.join(map(str, window))} voxels) must hold at least "
                f"2 voxels per axis and fit in the image {medium['image']!r} of shape "
                f"{' x '.join(map(str, shape))}"
            )
    return placement, float(precision)
