"""The study dataset and its Zarr store.

One schema everywhere (ARCHITECTURE.md): dimensions ``size`` (edge length in
voxels), ``realization``, ``bc`` and tensor indices ``i``, ``j``. The store is
created whole (every record ``pending``) before any task runs, then each
finished batch is written into its own region by the client, so an
interrupted study leaves a readable store whose ``status`` says what is done.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import shutil
from pathlib import Path

import numpy as np
import xarray as xr
import zarr

from generators import covariance_model, embedding_variance_excess
from sve.study.spec import StudySpec
from sve.study.tasks import ERROR_LENGTH, SEEDING_SCHEME, STATUS

__all__ = [
    "completed",
    "create_store",
    "empty_dataset",
    "open_study",
    "record_run",
    "write_batch",
]

#: Zarr format 2: its string encoding (the ``bc`` coordinate) is stable and read by every
#: Zarr library, while Zarr 3 still marks fixed-length strings as unspecified.
ZARR_FORMAT = 2
_DEPENDENCIES = ("numpy", "scipy", "numba", "xarray", "dask", "distributed", "zarr")
_PER_REALIZATION = ("volume_fraction", "error")


def _versions() -> dict[str, str]:
    names = ("sve-toolkit", *_DEPENDENCIES)
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def empty_dataset(spec: StudySpec) -> xr.Dataset:
    """The study dataset with every record pending (NaN values, status 0)."""
    n_size, n_real, n_bc, d = len(spec.sizes), spec.realizations, len(spec.bc), spec.ndim
    rec = ("size", "realization", "bc")
    model = covariance_model(spec.covariance, length=spec.correlation_length)

    def full(shape, fill, dtype=np.float64):
        return np.full(shape, fill, dtype=dtype)

    ds = xr.Dataset(
        {
            "conductivity": (
                (*rec, "i", "j"),
                full((n_size, n_real, n_bc, d, d), np.nan),
                {
                    "long_name": "apparent conductivity tensor (flux = K · gradient)",
                    "units": "same as property.phases",
                },
            ),
            "volume_fraction": (
                ("size", "realization"),
                full((n_size, n_real), np.nan),
                {"long_name": "volume fraction of phase 1", "units": "1"},
            ),
            "iterations": (
                rec,
                full((n_size, n_real, n_bc), 0, np.int32),
                {"long_name": "CG iterations (largest over load cases)"},
            ),
            "residual": (
                rec,
                full((n_size, n_real, n_bc), np.nan),
                {"long_name": "final relative residual (largest over load cases)", "units": "1"},
            ),
            "hill_mandel_defect": (
                rec,
                full((n_size, n_real, n_bc), np.nan),
                {"long_name": "relative Hill-Mandel defect", "units": "1"},
            ),
            "wall_time": (
                rec,
                full((n_size, n_real, n_bc), np.nan),
                {"long_name": "wall time of the solve", "units": "s"},
            ),
            "field_variance_excess": (
                "size",
                [
                    embedding_variance_excess((n,) * d, model, spacing=spec.spacing)
                    for n in spec.sizes
                ],
                {
                    "long_name": "relative variance added to the Gaussian field by clipping "
                    "its periodic circulant embedding (0: exact covariance)",
                    "units": "1",
                },
            ),
            "error": (
                ("size", "realization"),
                np.full((n_size, n_real), "", dtype=f"<U{ERROR_LENGTH}"),
                {"long_name": "error of a failed task (empty when none)"},
            ),
            "status": (
                rec,
                full((n_size, n_real, n_bc), STATUS["pending"], np.int8),
                {
                    "long_name": "record status",
                    "flag_values": list(STATUS.values()),
                    "flag_meanings": " ".join(STATUS),
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
            "i": np.arange(d),
            "j": np.arange(d),
        },
        attrs={
            "title": f"SVE size-convergence study {spec.name!r}",
            "spec": spec.to_json(),
            "seed_entropy": str(spec.seed),
            "seeding_scheme": SEEDING_SCHEME,
            "discretization": "q1 voxel finite elements",
            "versions": json.dumps(_versions(), sort_keys=True),
        },
    )
    return ds


def _encoding(ds: xr.Dataset, batch: int) -> dict:
    chunks = {"size": 1, "realization": batch}
    return {
        name: {"chunks": tuple(chunks.get(dim, ds.sizes[dim]) for dim in var.dims)}
        for name, var in ds.data_vars.items()
    }


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
    ds.to_zarr(
        partial,
        mode="w",
        encoding=_encoding(ds, spec.batch),
        consolidated=False,
        zarr_format=ZARR_FORMAT,
    )
    if store.exists():
        shutil.rmtree(store)
    partial.rename(store)
    return ds


def write_batch(store: str | Path, size_index: int, realizations: range, out: dict) -> None:
    """Write the records of one finished batch into their region of the store.

    ``status`` is written last, in a second step: a process killed between the
    two leaves the batch ``pending`` (recomputed on resume), never a record
    marked done without its values.
    """
    region = {
        "size": slice(size_index, size_index + 1),
        "realization": slice(realizations.start, realizations.stop),
    }
    dims = ("size", "realization", "bc", "i", "j")

    def part(names):
        return xr.Dataset(
            {
                name: (
                    dims[:2] if name in _PER_REALIZATION else dims[: out[name].ndim + 1],
                    out[name][np.newaxis],
                )
                for name in names
            }
        )

    part([name for name in out if name != "status"]).to_zarr(
        store, region=region, consolidated=False
    )
    part(["status"]).to_zarr(store, region=region, consolidated=False)


def record_run(target: xr.Dataset | str | Path, run: dict) -> None:
    """Append the provenance of one run (times, workers, tasks) to ``attrs["runs"]``.

    ``target`` is an in-memory dataset or a store; the attribute is JSON text
    holding a list, one entry per call of :func:`sve.run_study` that had work.
    """
    if isinstance(target, xr.Dataset):
        runs = json.loads(target.attrs.get("runs", "[]"))
        target.attrs["runs"] = json.dumps([*runs, run])
        return
    group = zarr.open_group(str(target), mode="r+", zarr_format=ZARR_FORMAT)
    runs = json.loads(group.attrs.get("runs", "[]"))
    group.attrs["runs"] = json.dumps([*runs, run])


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
    """Boolean (size, realization): every bc of that realization has a result.

    ``failed`` records do not count: a rerun retries them.
    """
    finished = ds["status"].isin([STATUS["ok"], STATUS["not_converged"]])
    return finished.all("bc").values
