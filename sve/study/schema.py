"""The study dataset: its dimensions, variables, attributes and status codes.

One schema everywhere (docs: the dataset schema): dimensions ``size`` (edge
length in voxels), ``realization``, ``bc`` and tensor indices ``i``, ``j``.
A store (:mod:`sve.study.store`) is created whole from :func:`empty_dataset`
(every record ``pending``) before any task runs, then each finished batch is
written into its own region, so an interrupted study leaves a readable store
whose ``status`` says what is done.

Status codes (variable ``status``, int8, one per record: size, realization
[, sampling], bc; :data:`STATUS`, meanings in :data:`STATUS_MEANINGS`):

- 0 ``pending``: not solved yet (a new store, or a run that was stopped);
  the next run computes it.
- 1 ``ok``: solved, the solver converged.
- 2 ``not_converged``: solved, the solver stopped at ``solver.maxiter``
  before ``solver.tol``; values are kept (``residual`` says how far), the
  statistics leave them out.
- 3 ``failed``: the task raised, or its workers kept dying; no values, the
  error text is in ``error``; the next run retries it.
- 4 ``absent``: not sampled (no values, never solved): a window index
  beyond the windows the parent holds at that size (window modes), or an
  adaptive study's realization beyond those its size needed. Counts as
  finished. Only in studies with windows or adaptive sampling.

Record variables: the apparent tensor (``conductivity`` (i, j) = d x d,
``stiffness``, Mandel m x m, or ``permeability``, d x d), ``volume_fraction``, ``iterations``,
``residual``, ``hill_mandel_defect``, ``wall_time``, ``error``, ``status``
and, with ``solver.stop = "tensor"``, ``tensor_accuracy``; per size:
``field_variance_excess``. Permeability studies add ``porosity`` (per
record), ``percolating`` (per record, bc and axis i) and ``symmetry_defect``;
the per-size fraction of SVEs that do not percolate (whose permeability along
the axis is 0, never NaN) is derived from ``percolating``
(:func:`sve.study.percolation.permeability_summary`). Attributes: ``title``,
``spec`` (the spec's JSON text, :meth:`sve.study.StudySpec.to_json`), ``seed_entropy``,
``seeding_scheme`` (:mod:`sve.study.seeding`), ``discretization``,
``versions``, and once run ``runs`` (JSON list, one entry per run, killed
runs included: :func:`sve.study.store.record_run`) and, while a run goes
on, ``active_run``.

Sampling modes (``sampling.mode``, :mod:`sve.study.spec`) and the schema:

- ``"independent"``: the schema above, unchanged.
- ``"windows"``: the same schema, so every consumer (ensemble statistics,
  report, ``sve status``) works on windows as it does on realizations;
  ``realization`` k is window k of the parent
  (:func:`sve.study.tasks.window_origin`) and the records beyond the
  windows the parent holds at a size are ``absent`` (status 4, NaN values).
- ``"both"``: one more dimension ``sampling`` = ("independent", "windows"),
  placed right after ``realization`` on every record variable. ``ds.sel(sampling=s)``
  is a dataset of the single-mode schema (what the report's convergence
  pages use, with "independent"), and the two samples side by side are what
  :func:`sve.statistics.ergodicity.window_ergodicity` compares. A new dimension rather
  than ``*_windows`` copies of every variable: one selection gives any
  consumer the sample it wants, and the run loop, the store writes and
  ``completed`` need no change of shape logic (records stay indexed by size
  and realization first).

Window modes add ``window_count`` (per size: windows used) and, along
``parent_edge``, ``parent_volume_fraction``: the phase-1 fraction of the
parent's corner windows of growing edge (``parent_size / 2**k``, the whole
parent last), drawn here on the client once (small), for the spatial-average
convergence check; attributes ``sampling_mode``, ``parent_size``,
``parent_seeding_scheme``.

Adaptive sampling (``sampling.adaptive_target``, :mod:`sve.study.spec`)
keeps the schema: ``realization`` is allocated at ``max_realizations``, the
realizations a size did not need end ``absent`` once the size is finished,
and the attributes ``adaptive_target``, ``max_realizations`` and
``adaptive_rule`` say how the rounds were chosen. How many realizations a
size used and whether it reached the target is derived from the dataset
itself (:func:`sve.study.adaptive.adaptive_progress`,
:func:`sve.study.adaptive.adaptive_summary`), so a resumed
run, ``sve status`` and the report all read the same state from the store.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform

import numpy as np
import xarray as xr

from generators import embedding_variance_excess
from sve.study.media import covariance
from sve.study.seeding import PARENT_SEEDING_SCHEME, SEEDING_SCHEME
from sve.study.spec import StudySpec
from sve.study.windows import generate_parent, parent_edges, window_count, window_origin

__all__ = [
    "FIELD_MOMENTS",
    "ADAPTIVE_CONFIDENCE",
    "ADAPTIVE_RULE",
    "ERROR_LENGTH",
    "ROUND_GROWTH",
    "SAMPLINGS",
    "STATUS",
    "STATUS_MEANINGS",
    "ZARR_FORMAT",
    "completed",
    "empty_dataset",
    "parent_edges",
    "record_variables",
]

#: Status codes of each (size, realization[, sampling], bc) record, stored as int8
#: (module docstring; :data:`STATUS_MEANINGS`).
STATUS = {"pending": 0, "ok": 1, "not_converged": 2, "failed": 3, "absent": 4}
#: What each status code means (the dataset schema's documentation of ``status``).
STATUS_MEANINGS = {
    "pending": "not solved yet; the next run computes it",
    "ok": "solved, the solver converged",
    "not_converged": "solved, the solver stopped at solver.maxiter before solver.tol",
    "failed": "the task raised or its workers kept dying; see 'error'; the next run retries it",
    "absent": "not sampled: a window beyond those the parent holds at the size, or an adaptive "
    "realization its size did not need; counts as finished",
}

#: The ``sampling`` coordinate of a mode "both" dataset (dimension after ``realization``).
SAMPLINGS = ("independent", "windows")

#: Length of the stored error messages (fixed-width strings in the store).
ERROR_LENGTH = 200

#: Zarr format 2: its string encoding (the ``bc`` coordinate) is stable and read by every
#: Zarr library, while Zarr 3 still marks fixed-length strings as unspecified.
ZARR_FORMAT = 2

# ------------------------------------------- the adaptive rule (attribute ``adaptive_rule``)
# Part of the schema: :func:`sve.study.adaptive.adaptive_progress` replays this rule on
# the stored records, so changing it would change what an existing store means.

#: Largest growth of one round: a size holds at most this many times its realizations
#: after its next round (the variance of a few realizations is itself uncertain).
ROUND_GROWTH = 4
#: Confidence level of the adaptive target's interval (as the report's).
ADAPTIVE_CONFIDENCE = 0.95
ADAPTIVE_RULE = (
    "round 1: sampling.realizations; after each complete round of n realizations, stop if "
    "the relative 95 % CI half-width r of the mean isotropic scalar is <= adaptive_target "
    "for every bc, or if n = max_realizations; else the next round brings the size to "
    f"min(max_realizations, max(n + realizations, min({ROUND_GROWTH} n, "
    "ceil(n (r / adaptive_target)^2))))"
)


#: The per-phase field moments a study stores with ``property.field_moments = true``:
#: per property, the attribute of the solver's ``phase_moments`` (stored as the variable
#: ``phase_<name>``), its extra dimensions after (load_case, phase) and its long name.
FIELD_MOMENTS = {
    "conductivity": {
        "mean_gradient": (("i",), "phase mean of the temperature gradient <g>_phase"),
        "mean_flux": (("i",), "phase mean of the flux <q>_phase"),
        "gradient_moment": (("i", "j"), "phase second moment of the gradient <g_i g_j>_phase"),
        "flux_moment": (("i", "j"), "phase second moment of the flux <q_i q_j>_phase"),
        "energy": ((), "phase mean of q . g"),
    },
    "elasticity": {
        "mean_strain": (("i",), "phase mean of the Mandel strain <eps>_phase"),
        "mean_stress": (("i",), "phase mean of the Mandel stress <sigma>_phase"),
        "strain_moment": (("i", "j"), "phase second moment of the Mandel strain"),
        "stress_moment": (("i", "j"), "phase second moment of the Mandel stress"),
        "energy": ((), "phase mean of sigma . eps"),
    },
}
#: Units of each field moment (after the property's units).
_MOMENT_UNITS = {
    "conductivity": {
        "mean_gradient": "1 (per unit load gradient)",
        "mean_flux": "same as property.phases",
        "gradient_moment": "1",
        "flux_moment": "(same as property.phases)^2",
        "energy": "same as property.phases",
    },
    "elasticity": {
        "mean_strain": "1 (per unit load strain)",
        "mean_stress": "same as the moduli",
        "strain_moment": "1",
        "stress_moment": "(same as the moduli)^2",
        "energy": "same as the moduli",
    },
}


_DEPENDENCIES = ("numpy", "scipy", "numba", "xarray", "dask", "distributed", "zarr")


def _versions() -> dict[str, str]:
    names = ("sve-toolkit", *_DEPENDENCIES)
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


_TENSOR_ATTRS = {
    "conductivity": {
        "long_name": "apparent conductivity tensor (flux = K · gradient)",
        "units": "same as property.phases",
    },
    "elasticity": {
        "long_name": "apparent stiffness tensor, Mandel notation (sigma = C eps; shear "
        "components scaled by sqrt 2; 2-D plane strain); NaN normal-shear coupling under mixed "
        "conditions",
        "units": "same as the moduli of property.phases",
        "notation": "mandel",
    },
    "permeability": {
        "long_name": "apparent permeability tensor k of Darcy's law q = -(k / viscosity) "
        "grad p, q the superficial velocity (averaged over the whole window, solid "
        "included); periodic: the full d x d tensor from d body-force load cases; mixed: "
        "the directional value of a pressure drop along each axis on the diagonal, NaN off "
        "it; 0 along an axis the pore space does not cross",
        "units": "sampling.length_unit squared",
    },
}


def _tensor_attrs(spec: StudySpec) -> dict[str, str]:
    """Attributes of the apparent tensor; a stiffness names the modulus its statistics
    summarize (``modulus``, read by :func:`sve.statistics.isotropic_part`'s callers).
    """
    attrs = dict(_TENSOR_ATTRS[spec.property])
    if spec.property == "permeability":
        unit = spec.length_unit
        attrs.update(
            units="1" if unit == "1" else f"{unit}^2",  # "1": lengths without a unit
            pore_label=spec.pore_label,
            viscosity=spec.physics.viscosity,
            walls=spec.physics.walls,
            reservoir=int(spec.physics.reservoir),
        )
    if spec.property == "elasticity":
        attrs["modulus"] = spec.modulus
        if spec.polycrystal:
            attrs["units"] = "same as property.crystal"
    return attrs


def empty_dataset(spec: StudySpec) -> xr.Dataset:
    """The study dataset with every record pending (NaN values, status 0)."""
    n_size, n_bc, d = len(spec.sizes), len(spec.bc), spec.ndim
    n_real = spec.allocated_realizations
    m = spec.tensor_size
    both = spec.sampling_mode == "both"
    # every record variable is (size, realization[, sampling], ...): see the module docstring
    base = ("size", "realization", "sampling") if both else ("size", "realization")
    n_base = (n_size, n_real, len(SAMPLINGS)) if both else (n_size, n_real)
    rec = (*base, "bc")
    if spec.medium.get("generator") == "gaussian_level_cut":
        model = covariance(spec.medium)
        # mode "windows": every SVE is cut from the parent, whose embedding is what counts
        edges = [spec.parent_size] * n_size if spec.sampling_mode == "windows" else spec.sizes
        excess = [embedding_variance_excess((n,) * d, model, spacing=spec.spacing) for n in edges]
    else:
        excess = [0.0] * n_size  # no Gaussian field: nothing is clipped

    def full(shape, fill, dtype=np.float64):
        return np.full(shape, fill, dtype=dtype)

    # "absent" exists only with windows or adaptive sampling: other studies keep their attributes
    sparse = spec.windows or spec.adaptive
    flags = STATUS if sparse else {k: v for k, v in STATUS.items() if k != "absent"}

    ds = xr.Dataset(
        {
            spec.variable: (
                (*rec, "i", "j"),
                full((*n_base, n_bc, m, m), np.nan),
                _tensor_attrs(spec),
            ),
            "volume_fraction": (
                base,
                full(n_base, np.nan),
                {"long_name": "volume fraction of phase 1", "units": "1"},
            ),
            "iterations": (
                rec,
                full((*n_base, n_bc), 0, np.int32),
                {"long_name": "CG iterations (largest over load cases)"},
            ),
            "residual": (
                rec,
                full((*n_base, n_bc), np.nan),
                {"long_name": "final relative residual (largest over load cases)", "units": "1"},
            ),
            "hill_mandel_defect": (
                rec,
                full((*n_base, n_bc), np.nan),
                {"long_name": "relative Hill-Mandel defect", "units": "1"},
            ),
            "wall_time": (
                rec,
                full((*n_base, n_bc), np.nan),
                {"long_name": "wall time of the solve", "units": "s"},
            ),
            "field_variance_excess": (
                "size",
                excess,
                {
                    "long_name": "relative variance added to the Gaussian field by clipping "
                    "its periodic circulant embedding (0: exact covariance)",
                    "units": "1",
                },
            ),
            "error": (
                base,
                np.full(n_base, "", dtype=f"<U{ERROR_LENGTH}"),
                {"long_name": "error of a failed task (empty when none)"},
            ),
            "status": (
                rec,
                full((*n_base, n_bc), STATUS["pending"], np.int8),
                {
                    "long_name": "record status",
                    "flag_values": list(flags.values()),
                    "flag_meanings": " ".join(flags),
                },
            ),
        },
        coords={
            "size": ("size", np.array(spec.sizes), {"long_name": "edge length", "units": "voxel"}),
            "length": (
                "size",
                np.array(spec.sizes) * spec.spacing,
                {"long_name": "physical edge length", "units": spec.length_unit},
            ),
            "realization": np.arange(n_real),
            "bc": list(spec.bc),
            "i": np.arange(m),
            "j": np.arange(m),
        },
        attrs={
            "title": f"SVE size-convergence study {spec.name!r}",
            "spec": spec.to_json(),
            "seed_entropy": str(spec.seed),
            "seeding_scheme": SEEDING_SCHEME,
            "discretization": _discretization(spec),
            "versions": json.dumps(_versions(), sort_keys=True),
        },
    )
    if spec.stop == "tensor":
        ds["tensor_accuracy"] = (
            rec,
            full((*n_base, n_bc), np.nan),
            {
                "long_name": "estimated bound on the entries' error of the apparent tensor, "
                "relative to its Frobenius norm (solver.stop = 'tensor')",
                "units": "1",
            },
        )
    if spec.conducting_phase is not None:
        phase = spec.conducting_phase
        ds["percolating"] = (
            (*rec, "i"),
            full((*n_base, n_bc, d), -1, np.int8),
            {
                "long_name": "1: the conducting phase joins the two faces normal to axis i "
                "(under the record's bc), 0: it does not, -1: not solved",
                "flag_values": [-1, 0, 1],
                "flag_meanings": "not_solved not_percolating percolating",
            },
        )
        ds["tortuosity"] = (
            (*rec, "i"),
            full((*n_base, n_bc, d), np.nan),
            {
                "long_name": "tortuosity factor tau = phi D0 / D_eff along axis i (TauFactor's "
                "convention: phi the window's conducting fraction, D0 the conducting phase's "
                "conductivity, D_eff the apparent diagonal conductivity); NaN where the window "
                "does not percolate along i (zero conductivity: never an infinite tau; "
                "per-size values and fractions: sve.study.percolation.percolation_summary)",
                "units": "1",
                "conducting_phase": phase,
                "conducting_conductivity": spec.phases[phase],
            },
        )
    if spec.field_moments:
        _add_field_moments(ds, spec, rec, (*n_base, n_bc))
    if spec.property == "permeability":
        _add_flow(ds, spec, rec, base, n_base, n_bc)
    if both:
        ds = ds.assign_coords(sampling=list(SAMPLINGS))
    if spec.image:
        _add_image(ds, spec)
    elif spec.windows:
        _add_parent(ds, spec)
    if spec.adaptive:
        ds.attrs.update(
            adaptive_target=spec.adaptive_target,
            max_realizations=spec.max_realizations,
            adaptive_rule=ADAPTIVE_RULE,
        )
    return ds


def _add_field_moments(ds: xr.Dataset, spec: StudySpec, rec: tuple, shape: tuple) -> None:
    """The per-phase field moments of ``property.field_moments`` (:data:`FIELD_MOMENTS`),
    in place: one variable ``phase_<name>`` per moment, (record, load_case, phase, ...).
    """
    m = spec.tensor_size
    load = (
        "unit gradient (flux under static conditions) along axis load_case"
        if spec.property == "conductivity"
        else "unit Mandel strain (stress under static conditions) component load_case"
    )
    for name, (dims, long_name) in FIELD_MOMENTS[spec.property].items():
        ds[f"phase_{name}"] = (
            (*rec, "load_case", "phase", *dims),
            np.full((*shape, m, 2) + (m,) * len(dims), np.nan),
            {
                "long_name": f"{long_name}, per load case ({load}); NaN where the phase is "
                "absent from the SVE or the case is not solved",
                "units": _MOMENT_UNITS[spec.property][name],
            },
        )
    ds.coords["load_case"] = ("load_case", np.arange(m))
    ds.coords["phase"] = ("phase", np.arange(2))


def _discretization(spec: StudySpec) -> str:
    """The dataset's ``discretization`` attribute: the scheme of the study's solver."""
    if spec.property == "permeability":
        return (
            "staggered (MAC) finite volumes: velocities on voxel faces, pressures in voxels, "
            "no slip on every solid voxel face"
        )
    return {
        "q1": "q1 voxel finite elements",
        "fv": "cell-centred finite volumes (harmonic face conductances)",
    }[spec.discretization]


def _add_flow(ds: xr.Dataset, spec: StudySpec, rec, base, n_base, n_bc) -> None:
    """The permeability study's record variables (module docstring), in place."""
    d = spec.ndim
    ds["iterations"].attrs["long_name"] = (
        "saddle-point solver iterations (largest over load cases)"
    )
    ds["porosity"] = (
        base,
        np.full(n_base, np.nan),
        {"long_name": f"pore fraction of the SVE (phase {spec.pore_label}, the fluid)",
         "units": "1"},
    )  # fmt: skip
    ds["percolating"] = (
        (*rec, "i"),
        np.full((*n_base, n_bc, d), -1, np.int8),
        {
            "long_name": "1: the pore space joins the two faces normal to axis i (under the "
            "record's bc; periodic: across the period), 0: it does not (the permeability "
            "along i is 0), -1: not solved",
            "flag_values": [-1, 0, 1],
            "flag_meanings": "not_solved not_percolating percolating",
        },
    )
    ds["throat"] = (
        rec,
        np.full((*n_base, n_bc), np.nan),
        {"long_name": "estimated width of the narrowest throat on the widest path (voxels; "
         "under 4 the permeability is a resolution artefact as much as a property; NaN "
         "where nothing percolates)", "units": "voxel"},
    )  # fmt: skip
    ds["symmetry_defect"] = (
        rec,
        np.full((*n_base, n_bc), np.nan),
        {"long_name": "||k - k^T|| / ||k|| (Frobenius; periodic only, NaN under mixed)",
         "units": "1"},
    )  # fmt: skip


def _add_parent(ds: xr.Dataset, spec: StudySpec) -> None:
    """The window-mode variables and attributes (module docstring), in place."""
    ds["window_count"] = (
        "size",
        np.array([window_count(spec, n) for n in spec.sizes], dtype=np.int64),
        {"long_name": "windows of the parent used at each size: min(realizations, "
         "(parent_size // size)**ndim)"},
    )  # fmt: skip
    parent = generate_parent(spec)
    edges = parent_edges(spec.parent_size)
    fractions = [
        np.count_nonzero(parent[(slice(0, n),) * spec.ndim] == 1) / n**spec.ndim for n in edges
    ]
    ds["parent_volume_fraction"] = (
        "parent_edge",
        np.array(fractions),
        {"long_name": "phase-1 fraction of the parent's corner window of each edge", "units": "1"},
    )
    ds.coords["parent_edge"] = (
        "parent_edge",
        np.array(edges),
        {"long_name": "edge of the parent's corner window", "units": "voxel"},
    )
    ds.coords["parent_length"] = (
        "parent_edge",
        np.array(edges) * spec.spacing,
        {"long_name": "physical edge of the parent's corner window", "units": spec.length_unit},
    )
    ds.attrs.update(
        sampling_mode=spec.sampling_mode,
        parent_size=spec.parent_size,
        parent_seeding_scheme=PARENT_SEEDING_SCHEME,
    )


#: What overlapping (random) windows do to the statistics: the dataset attribute
#: ``windows_overlap`` of an image study (:mod:`sve.study.image`).
OVERLAP_NOTES = {
    "tiles": "no: non-overlapping tiles (neighbouring tiles are still correlated over the "
    "correlation length, so a confidence interval treating them as independent is somewhat "
    "too narrow when windows are not much larger than it)",
    "random": "yes: windows at random positions may share voxels; their spread still estimates "
    "the variance of one window's value, but they are correlated, so a confidence interval "
    "treating them as independent is too narrow (at most about image volume / window volume "
    "of them are independent)",
}


def _add_image(ds: xr.Dataset, spec: StudySpec) -> None:
    """The image study's variables and attributes (:mod:`sve.study.image`), in place."""
    medium = spec.medium
    n_real, d = spec.allocated_realizations, spec.ndim
    counts = [window_count(spec, n) for n in spec.sizes]
    origins = np.full((len(spec.sizes), n_real, d), -1, dtype=np.int64)
    for k, size in enumerate(spec.sizes):
        for w in range(counts[k]):
            origins[k, w] = window_origin(spec, size, w)
    ds["window_count"] = (
        "size",
        np.array(counts, dtype=np.int64),
        {"long_name": "windows of the image used at each size (tiles: min(realizations, "
         "prod(image_shape // window_shape)); random: realizations)"},
    )  # fmt: skip
    ds["window_shape"] = (
        ("size", "axis"),
        np.array([spec.window_shape(n) for n in spec.sizes], dtype=np.int64),
        {"long_name": "voxels of a window along each axis (a cube in physical length: "
         "round(length / voxel_size))", "units": "voxel"},
    )  # fmt: skip
    ds["window_origin"] = (
        ("size", "window", "axis"),
        origins,
        {"long_name": "voxel index of each window's first voxel in the image (window k is "
         "realization k; -1: not sampled)", "units": "voxel"},
    )  # fmt: skip
    ds.coords["axis"] = ("axis", np.arange(d))
    ds.coords["voxel_size"] = (
        "axis", np.array(spec.voxel_size), {"long_name": "voxel edge", "units": medium["unit"]}
    )  # fmt: skip
    provenance = {
        key: medium[key]
        for key in ("image", "format", "dataset", "sha256", "image_shape", "voxel_size",
                    "unit", "mapping", "threshold", "otsu_threshold", "volume_fraction")
        if key in medium
    }  # fmt: skip
    ds.attrs.update(
        sampling_mode=spec.sampling_mode,
        image=json.dumps(provenance, sort_keys=True),
        image_volume_fraction=medium["volume_fraction"],
        window_placement=spec.window_placement,
        windows_overlap=OVERLAP_NOTES[spec.window_placement],
        target_precision=spec.target_precision,
    )
    if spec.window_placement == "random":
        ds.attrs["window_seeding_scheme"] = (
            "numpy.random.SeedSequence(entropy=seed, spawn_key=(size_in_voxels, "
            "2**63 - 2)) -> default_rng.integers(0, image_shape - window_shape + 1, "
            "size=(realizations, ndim)); window k is row k"
        )


def record_variables(ds: xr.Dataset) -> list[str]:
    """Variables with one entry per (size, realization) record; the others are fixed."""
    return [name for name in ds.data_vars if "realization" in ds[name].dims]


def completed(ds: xr.Dataset) -> np.ndarray:
    """Boolean (size, realization): every bc (and sampling) of that realization has a result.

    ``failed`` records do not count: a rerun retries them; ``absent`` windows
    (nothing to solve) do.
    """
    finished = ds["status"].isin([STATUS["ok"], STATUS["not_converged"], STATUS["absent"]])
    others = [dim for dim in finished.dims if dim not in ("size", "realization")]
    return finished.all(others).values
