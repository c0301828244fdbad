"""The study dataset and its Zarr store.

One schema everywhere (ARCHITECTURE.md): dimensions ``size`` (edge length in
voxels), ``realization``, ``bc`` and tensor indices ``i``, ``j``. The store is
created whole (every record ``pending``) before any task runs, then each
finished batch is written into its own region by the client, so an
interrupted study leaves a readable store whose ``status`` says what is done.

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
itself (:func:`adaptive_progress`, :func:`adaptive_summary`), so a resumed
run, ``sve status`` and the report all read the same state from the store.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import platform
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr
import zarr

from generators import embedding_variance_excess
from sve.statistics import ensemble_statistics
from sve.study.media import covariance
from sve.study.spec import StudySpec
from sve.study.tasks import (
    ERROR_LENGTH,
    PARENT_SEEDING_SCHEME,
    SAMPLINGS,
    SEEDING_SCHEME,
    STATUS,
    generate_parent,
    window_count,
)

__all__ = [
    "SizeProgress",
    "adaptive_progress",
    "adaptive_summary",
    "completed",
    "create_store",
    "empty_dataset",
    "next_round",
    "open_group",
    "open_study",
    "record_run",
    "write_records",
]

#: Zarr format 2: its string encoding (the ``bc`` coordinate) is stable and read by every
#: Zarr library, while Zarr 3 still marks fixed-length strings as unspecified.
ZARR_FORMAT = 2
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
}


def _tensor_attrs(spec: StudySpec) -> dict[str, str]:
    """Attributes of the apparent tensor; a stiffness names the modulus its statistics
    summarize (``modulus``, read by :func:`sve.statistics.isotropic_part`'s callers)."""
    attrs = dict(_TENSOR_ATTRS[spec.property])
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
    if spec.medium["generator"] == "gaussian_level_cut":
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
            "discretization": {
                "q1": "q1 voxel finite elements",
                "fv": "cell-centred finite volumes (harmonic face conductances)",
            }[spec.discretization],
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
    if both:
        ds = ds.assign_coords(sampling=list(SAMPLINGS))
    if spec.windows:
        _add_parent(ds, spec)
    if spec.adaptive:
        ds.attrs.update(
            adaptive_target=spec.adaptive_target,
            max_realizations=spec.max_realizations,
            adaptive_rule=ADAPTIVE_RULE,
        )
    return ds


def parent_edges(parent_size: int) -> list[int]:
    """Edges of the parent's nested corner windows: ``parent_size >> k`` (>= 4), whole last."""
    return sorted({max(parent_size >> k, 4) for k in range(8)} | {parent_size})


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


#: Records per Zarr chunk along ``realization`` (at most): a chunk of one size
#: holds many batches, so a large study stays a few thousand files.
CHUNK = 1024


def _record_variables(ds: xr.Dataset) -> list[str]:
    """Variables with one entry per (size, realization) record; the others are fixed."""
    return [name for name in ds.data_vars if "realization" in ds[name].dims]


def _chunks(ds: xr.Dataset) -> dict[str, int]:
    return {"size": 1, "realization": min(CHUNK, ds.sizes["realization"])}


def different_spec_error(store: Path) -> ValueError:
    """The error for a store that holds another study than the one being run."""
    return ValueError(
        f"store {str(store)!r} holds a different study spec; choose another store "
        "or pass overwrite=True (command line: --overwrite) to discard it"
    )


@contextmanager
def built_beside(store: Path) -> Iterator[Path]:
    """Yield a scratch path beside `store` to build a store in, then move it in place
    (replacing `store`): a run killed while creating a store leaves no half-written
    store behind."""
    partial = store.with_name(f".{store.name}.creating-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    yield partial
    if store.exists():
        shutil.rmtree(store)
    partial.rename(store)


def create_store(spec: StudySpec, store: str | Path, *, overwrite: bool = False) -> xr.Dataset:
    """Create (or reopen, to resume) the Zarr store of a study.

    Returns the dataset as stored. An existing store is resumed when it
    holds the same spec; a different spec raises ``ValueError`` unless
    ``overwrite`` is true, so finished work is never silently lost.
    """
    store = Path(store)
    store.parent.mkdir(parents=True, exist_ok=True)
    if store.exists() and not overwrite:
        existing = open_study(store)
        if existing.attrs.get("spec") != spec.to_json():
            raise different_spec_error(store)
        return existing
    ds = empty_dataset(spec)
    chunks = _chunks(ds)
    template = ds.copy()
    for name in _record_variables(ds):
        # lazy: with compute=False only the metadata is written and every record
        # reads as its fill value (NaN, 0, "") until a batch writes it
        template[name] = ds[name].chunk(chunks)
    with built_beside(store) as partial:
        template.to_zarr(
            partial,
            mode="w",
            encoding={
                name: {"chunks": tuple(chunks.get(dim, ds.sizes[dim]) for dim in var.dims)}
                for name, var in ds.data_vars.items()
            },
            consolidated=False,
            zarr_format=ZARR_FORMAT,
            compute=False,
        )
    return ds


def open_group(store: str | Path) -> zarr.Group:
    """The store's Zarr group, opened for writing batches (open it once per run)."""
    return zarr.open_group(str(store), mode="r+", zarr_format=ZARR_FORMAT)


def write_records(group: zarr.Group, ds: xr.Dataset, touched: Iterable[tuple[int, int]]) -> None:
    """Copy the touched chunks of the in-memory study dataset into the store.

    The client keeps the study in memory; after each group of finished tasks
    it rewrites the chunks they touched, ``touched`` being
    ``(size_index, realization)`` pairs: one Zarr write per chunk and
    variable, however many tasks finished together (rewriting what did not
    change is harmless). ``status`` is written last: a process killed before
    it leaves those records ``pending`` (recomputed on resume), never a record
    marked done without its values; Zarr replaces each chunk file atomically,
    so the store stays readable at any moment.
    """
    chunk = _chunks(ds)["realization"]
    blocks = sorted({(size, realization // chunk) for size, realization in touched})
    for name in sorted(_record_variables(ds), key=lambda name: name == "status"):
        values = ds[name].values
        for size, block in blocks:
            region = (size, slice(block * chunk, (block + 1) * chunk))
            group[name][region] = values[region]


def record_run(ds: xr.Dataset, run: dict, group: zarr.Group | None = None) -> None:
    """Append the provenance of one run (times, workers, tasks) to ``attrs["runs"]``.

    The attribute is JSON text holding a list, one entry per call of
    :func:`sve.run_study` that had work; updated in ``ds`` and, when given, in
    the store's ``group``.
    """
    ds.attrs["runs"] = json.dumps([*json.loads(ds.attrs.get("runs", "[]")), run])
    if group is not None:
        group.attrs["runs"] = ds.attrs["runs"]


def open_study(store: str | Path) -> xr.Dataset:
    """Open a study store (lazily); ``ValueError`` if it is not one.

    A parameter sweep's store opens as one dataset with a leading ``sweep``
    dimension (:func:`sve.study.sweep.open_sweep`).
    """
    store = Path(store)
    if not store.exists():
        raise ValueError(f"store {str(store)!r} does not exist")
    try:
        ds = xr.open_zarr(store, consolidated=False)
    except Exception as err:  # zarr raises several types for a foreign directory
        raise ValueError(f"store {str(store)!r} is not a readable Zarr store: {err}") from None
    if "status" not in ds and "sweep_field" in ds.attrs:  # a parameter sweep's group
        from sve.study.sweep import open_sweep

        return open_sweep(store)
    if "spec" not in ds.attrs or "status" not in ds:
        raise ValueError(f"store {str(store)!r} is not an SVE study store (no spec or status)")
    return ds


def completed(ds: xr.Dataset) -> np.ndarray:
    """Boolean (size, realization): every bc (and sampling) of that realization has a result.

    ``failed`` records do not count: a rerun retries them; ``absent`` windows
    (nothing to solve) do.
    """
    finished = ds["status"].isin([STATUS["ok"], STATUS["not_converged"], STATUS["absent"]])
    others = [dim for dim in finished.dims if dim not in ("size", "realization")]
    return finished.all(others).values


# ---------------------------------------------------------------- adaptive sampling

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


def next_round(spec: StudySpec, n: int, relative_half_width: float) -> int:
    """Realizations a size holds after its next round (the rule of ``ADAPTIVE_RULE``).

    The half-width shrinks as 1/√n, so ``n (r / ε)²`` realizations are
    predicted to reach the target ε; the round brings at least
    ``sampling.realizations`` more, at most ``ROUND_GROWTH`` times ``n``
    (an early variance estimate is noisy: no wild overshoot), never more
    than the budget. ``r`` infinite or NaN (fewer than 2 ok values, a zero
    mean) grows by the largest step.
    """
    r = relative_half_width
    predicted = math.ceil(n * (r / spec.adaptive_target) ** 2) if math.isfinite(r) else math.inf
    grown = max(n + spec.realizations, min(ROUND_GROWTH * n, predicted))
    return int(min(spec.max_realizations, grown))


def relative_half_width(ds: xr.Dataset, spec: StudySpec, size_index: int, n: int) -> float:
    """Largest over bcs of the relative CI half-width of the first n realizations of a size.

    ``(ci_high - ci_low) / 2 / |mean|`` of
    :func:`sve.statistics.ensemble_statistics` (isotropic scalar, 95 %, ok
    records only) on realizations ``0 .. n-1``; infinite when a bc has no
    interval (fewer than 2 ok values) or a zero mean.
    """
    part = ds[[spec.variable, "status"]].isel(size=[size_index], realization=slice(0, n))
    stats = ensemble_statistics(part, spec.variable, confidence=ADAPTIVE_CONFIDENCE)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = ((stats["ci_high"] - stats["ci_low"]) / 2 / abs(stats["mean"])).values
    rel = np.where(np.isfinite(rel), rel, np.inf)
    return float(rel.max())


@dataclass(frozen=True)
class SizeProgress:
    """Where adaptive sampling stands at one size (:func:`adaptive_progress`).

    ``realizations``: the size uses realizations ``0 .. realizations-1``
    (the current round's end while ``state`` is "running"); ``state``:
    "running" (some of them unfinished), "reached" (target met) or "budget"
    (``max_realizations`` used, target not met); ``relative_half_width``: of
    the last complete round (``inf`` before the first); ``rounds``: the ends
    of the rounds so far, increasing.
    """

    realizations: int
    state: str
    relative_half_width: float
    rounds: tuple[int, ...]


def adaptive_progress(ds: xr.Dataset, spec: StudySpec, size_index: int) -> SizeProgress:
    """Replay the adaptive rule on what the dataset holds at one size.

    Starting from ``sampling.realizations``, each round whose realizations
    are all finished (ok, not converged; ``failed`` and ``pending`` are not)
    is judged on realizations ``0 .. n-1`` alone (:func:`relative_half_width`,
    :func:`next_round`), so the state depends only on those results, never
    on timing, workers or interruptions: a resumed run re-derives it from the
    store.
    """
    if not spec.adaptive:
        raise ValueError("the study has no adaptive target (sampling.adaptive_target)")
    finished = completed(ds[["status"]].isel(size=[size_index]))[0]
    n, rel, rounds = spec.realizations, math.inf, [spec.realizations]
    while True:
        if not finished[:n].all():
            return SizeProgress(n, "running", rel, tuple(rounds))
        rel = relative_half_width(ds, spec, size_index, n)
        if rel <= spec.adaptive_target:
            return SizeProgress(n, "reached", rel, tuple(rounds))
        if n >= spec.max_realizations:
            return SizeProgress(n, "budget", rel, tuple(rounds))
        n = next_round(spec, n, rel)
        rounds.append(n)


def adaptive_summary(ds: xr.Dataset) -> xr.Dataset:
    """Per size, what adaptive sampling did (an empty Dataset for other studies).

    Variables along ``size``: ``realizations_used`` (int64),
    ``adaptive_state`` ("running", "reached", "budget"), ``target_reached``
    (bool), ``relative_half_width`` (of the last complete round, largest
    over bcs; inf before one); attrs ``adaptive_target``,
    ``max_realizations``.
    """
    spec = StudySpec.from_json(ds.attrs["spec"])
    if not spec.adaptive:
        return xr.Dataset()
    ds = ds[[spec.variable, "status"]].load()
    progress = [adaptive_progress(ds, spec, s) for s in range(len(spec.sizes))]
    out = xr.Dataset(
        {
            "realizations_used": ("size", np.array([p.realizations for p in progress], np.int64)),
            "adaptive_state": ("size", np.array([p.state for p in progress])),
            "target_reached": ("size", np.array([p.state == "reached" for p in progress])),
            "relative_half_width": ("size", np.array([p.relative_half_width for p in progress])),
        },
        coords={"size": ds["size"].values},
    )
    out.attrs.update(adaptive_target=spec.adaptive_target, max_realizations=spec.max_realizations)
    return out
