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
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import shutil
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import xarray as xr
import zarr

from generators import embedding_variance_excess
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
    "completed",
    "create_store",
    "empty_dataset",
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
        "components scaled by sqrt 2; 2-D plane strain); NaN shear entries under mixed "
        "conditions",
        "units": "same as the moduli of property.phases",
        "notation": "mandel",
    },
}


def empty_dataset(spec: StudySpec) -> xr.Dataset:
    """The study dataset with every record pending (NaN values, status 0)."""
    n_size, n_real, n_bc, d = len(spec.sizes), spec.realizations, len(spec.bc), spec.ndim
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

    # "absent" exists only where there are windows: mode independent keeps its attributes
    flags = STATUS if spec.windows else {k: v for k, v in STATUS.items() if k != "absent"}

    ds = xr.Dataset(
        {
            spec.variable: (
                (*rec, "i", "j"),
                full((*n_base, n_bc, m, m), np.nan),
                _TENSOR_ATTRS[spec.property],
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
    if both:
        ds = ds.assign_coords(sampling=list(SAMPLINGS))
    if spec.windows:
        _add_parent(ds, spec)
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
            raise ValueError(
                f"store {str(store)!r} holds a different study spec; choose another store "
                "or pass overwrite=True (command line: --overwrite) to discard it"
            )
        return existing
    ds = empty_dataset(spec)
    # build it beside, then move it in place: a run killed while creating the
    # store leaves no half-written store behind
    partial = store.with_name(f".{store.name}.creating-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    chunks = _chunks(ds)
    template = ds.copy()
    for name in _record_variables(ds):
        # lazy: with compute=False only the metadata is written and every record
        # reads as its fill value (NaN, 0, "") until a batch writes it
        template[name] = ds[name].chunk(chunks)
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
    if store.exists():
        shutil.rmtree(store)
    partial.rename(store)
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
    """Open a study store (lazily); ``ValueError`` if it is not one."""
    store = Path(store)
    if not store.exists():
        raise ValueError(f"store {str(store)!r} does not exist")
    try:
        ds = xr.open_zarr(store, consolidated=False)
    except Exception as err:  # zarr raises several types for a foreign directory
        raise ValueError(f"store {str(store)!r} is not a readable Zarr store: {err}") from None
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
