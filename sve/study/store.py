"""The Zarr store of a study: create, resume, grow, write records, record runs, open.

Zarr I/O only: what the dataset holds is :mod:`sve.study.schema`. A store is
created whole (every record ``pending``, :func:`sve.study.schema.empty_dataset`)
beside its final path and moved in place, so a run killed while creating it
leaves nothing half written; then the run loop writes each finished batch
into its own region (:func:`write_records`). Reopening a store resumes it
when it holds the same study (:meth:`sve.study.StudySpec` equality, whatever
the JSON layout it was written in, :data:`sve.study.spec.SCHEMA_VERSION`), and
grows it when the new spec only adds realizations or sizes
(:func:`grows`): the records already computed are copied unchanged, since
every realization's stream depends on its size and index only
(:mod:`sve.study.seeding`).

Run history: ``attrs["runs"]`` (JSON list) keeps one entry per run that had
work, in order, killed runs included: a run writes ``active_run`` when it
starts and moves it into ``runs`` when it ends; a run that finds an
``active_run`` left behind (the run before it was killed) first records that
one as interrupted (:func:`close_interrupted_run`).

A parameter sweep's store (:mod:`sve.study.sweep`) is a Zarr group with one
study store per value (:func:`create_sweep_store`, :func:`open_study`).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import xarray as xr
import zarr

from sve.study.schema import ZARR_FORMAT, empty_dataset, record_variables
from sve.study.spec import StudySpec
from sve.study.sweep import combine_sweep, root_attrs, sweep_store_paths

__all__ = [
    "CHUNK",
    "close_interrupted_run",
    "create_store",
    "create_sweep_store",
    "grows",
    "open_group",
    "open_study",
    "open_sweep",
    "record_run",
    "write_records",
]

#: Records per Zarr chunk along ``realization`` (at most): a chunk of one size
#: holds many batches, so a large study stays a few thousand files.
CHUNK = 1024


def _chunks(ds: xr.Dataset) -> dict[str, int]:
    return {"size": 1, "realization": min(CHUNK, ds.sizes["realization"])}


def different_spec_error(store: Path) -> ValueError:
    """The error for a store that holds another study than the one being run."""
    return ValueError(
        f"store {str(store)!r} holds a different study spec; choose another store "
        "or pass overwrite=True (command line: --overwrite) to discard it (a spec that only "
        "adds realizations or sizes grows the store instead)"
    )


@contextmanager
def built_beside(store: Path) -> Iterator[Path]:
    """Yield a scratch path beside `store` to build a store in, then move it in place
    (replacing `store`): a run killed while creating a store leaves no half-written
    store behind.
    """
    partial = store.with_name(f".{store.name}.creating-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    yield partial
    if store.exists():
        shutil.rmtree(store)
    partial.rename(store)


def grows(held: StudySpec, spec: StudySpec) -> bool:
    """True when ``spec`` is the study ``held`` with more realizations and/or sizes.

    Every other field equal, ``spec.realizations >= held.realizations`` and
    ``spec.sizes`` holding every size of ``held``; mode "independent", no
    adaptive target, no sweep (windows depend on the realization count, and
    adaptive rounds on the first round). Such a store is grown in place by
    :func:`create_store`, its records unchanged.
    """
    plain = (
        not spec.windows and not spec.adaptive and not spec.swept
        and not held.windows and not held.adaptive and not held.swept
    )  # fmt: skip
    if not plain or spec.realizations < held.realizations:
        return False
    if not set(held.sizes) <= set(spec.sizes) or spec == held:
        return False
    return spec.with_sampling(sizes=held.sizes, realizations=held.realizations) == held


def _write_whole(ds: xr.Dataset, store: Path, *, records: bool) -> None:
    """Write a study dataset as a new store at ``store`` (built beside, moved in place).

    ``records``: also write the record variables' values (a grown store);
    otherwise only their metadata, every record reading as its fill value
    (NaN, 0, "") until a batch writes it.
    """
    chunks = _chunks(ds)
    template = ds.copy()
    for name in record_variables(ds):
        template[name] = ds[name].chunk(chunks)  # lazy: compute=False writes metadata only
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
        if records:
            group = zarr.open_group(str(partial), mode="r+", zarr_format=ZARR_FORMAT)
            for name in record_variables(ds):
                group[name][...] = ds[name].values


def _grow(store: Path, held: xr.Dataset, spec: StudySpec) -> xr.Dataset:
    """The store's study grown to ``spec`` (:func:`grows`), written in place; returns it.

    Every record of ``held`` is copied unchanged to its size and realization;
    the new ones are ``pending``. Attributes (run history, versions of the
    store's creation, ...) are kept, but for the new ``spec`` and ``title``.
    """
    ds = empty_dataset(spec)
    held = held.load()
    n = held.sizes["realization"]
    for s, size in enumerate(held["size"].values):
        k = spec.sizes.index(int(size))
        for name in record_variables(ds):
            ds[name].values[k, :n] = held[name].values[s]
    ds.attrs.update({key: v for key, v in held.attrs.items() if key not in ("spec", "title")})
    _write_whole(ds, store, records=True)
    return ds


def create_store(spec: StudySpec, store: str | Path, *, overwrite: bool = False) -> xr.Dataset:
    """Create (or reopen, to resume or grow) the Zarr store of a study.

    Returns the dataset as stored. An existing store is resumed when it
    holds the same study (whatever the spec layout it was written with) and
    grown when ``spec`` only adds realizations or sizes (:func:`grows`: the
    records it holds are kept bit for bit); another spec raises
    ``ValueError`` unless ``overwrite`` is true, so finished work is never
    silently lost.
    """
    store = Path(store)
    store.parent.mkdir(parents=True, exist_ok=True)
    if store.exists() and not overwrite:
        existing = open_study(store)
        held = StudySpec.from_json(existing.attrs["spec"])
        if held == spec:
            return existing
        if grows(held, spec):
            return _grow(store, existing, spec)
        if held.image and spec.image and held.medium["sha256"] != spec.medium["sha256"]:
            raise ValueError(
                f"store {str(store)!r} was made from another version of the image "
                f"{spec.medium['image']!r} (SHA-256 {held.medium['sha256']}, the file now "
                f"{spec.medium['sha256']}): its windows would not be those the store holds; "
                "restore the image, or pass overwrite=True (command line: --overwrite)"
            )
        raise different_spec_error(store)
    ds = empty_dataset(spec)
    _write_whole(ds, store, records=False)
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
    for name in sorted(record_variables(ds), key=lambda name: name == "status"):
        values = ds[name].values
        for size, block in blocks:
            region = (size, slice(block * chunk, (block + 1) * chunk))
            group[name][region] = values[region]


def record_run(ds: xr.Dataset, run: dict, group: zarr.Group | None = None) -> None:
    """Append the provenance of one run (times, workers, tasks) to ``attrs["runs"]``.

    The attribute is JSON text holding a list, one entry per call of
    :func:`sve.run_study` that had work, killed ones included
    (:func:`close_interrupted_run`); updated in ``ds`` and, when given, in
    the store's ``group``.
    """
    ds.attrs["runs"] = json.dumps([*json.loads(ds.attrs.get("runs", "[]")), run])
    if group is not None:
        group.attrs["runs"] = ds.attrs["runs"]


def close_interrupted_run(ds: xr.Dataset, group: zarr.Group | None = None) -> dict | None:
    """Move an ``active_run`` left by a killed run into the history; return its entry.

    The entry is what the run wrote when it started (``started``,
    ``tasks``, and from this version ``workers``, ``hosts``, ``scheduler``)
    with ``finished`` null and ``interrupted`` true; the records it had
    written stay in the store. ``None`` (and nothing changes) without an
    ``active_run``. Updated in ``ds`` and, when given, in the store's
    ``group``.
    """
    if "active_run" not in ds.attrs:
        return None
    entry = {**json.loads(ds.attrs.pop("active_run")), "finished": None, "interrupted": True}
    record_run(ds, entry, group)
    if group is not None:
        group.attrs.pop("active_run", None)
    return entry


def open_study(store: str | Path) -> xr.Dataset:
    """Open a study store (lazily); ``ValueError`` if it is not one.

    A parameter sweep's store opens as one dataset with a leading ``sweep``
    dimension (:func:`open_sweep`).
    """
    store = Path(store)
    if not store.exists():
        raise ValueError(f"store {str(store)!r} does not exist")
    try:
        ds = xr.open_zarr(store, consolidated=False)
    except Exception as err:  # zarr raises several types for a foreign directory
        raise ValueError(f"store {str(store)!r} is not a readable Zarr store: {err}") from None
    if "status" not in ds and "sweep_field" in ds.attrs:  # a parameter sweep's group
        return open_sweep(store)
    if "spec" not in ds.attrs or "status" not in ds:
        raise ValueError(f"store {str(store)!r} is not an SVE study store (no spec or status)")
    return ds


def create_sweep_store(
    spec: StudySpec, store: str | Path, *, overwrite: bool = False
) -> list[Path]:
    """Create (or reopen, to resume) a sweep store; return its sub-study store paths.

    An existing store is resumed when it holds the same sweep spec (each
    sub-store through :func:`create_store`); a different spec (or a plain
    study) raises ``ValueError`` unless ``overwrite``.
    """
    if not spec.swept:
        raise ValueError(f"spec {spec.name!r} has no [sweep] table")
    store = Path(store)
    if store.exists() and not overwrite:
        try:
            held = dict(zarr.open_group(str(store), mode="r", zarr_format=ZARR_FORMAT).attrs)
        except Exception as err:  # zarr raises several types for a foreign directory
            raise ValueError(f"store {str(store)!r} is not a readable Zarr store: {err}") from None
        if "spec" not in held or StudySpec.from_json(held["spec"]) != spec:
            raise different_spec_error(store)
        paths = sweep_store_paths(spec, store)
        for sub, path in zip(spec.sweep_specs(), paths, strict=True):
            create_store(sub, path)  # resumes it (or creates one deleted by hand)
        return paths
    store.parent.mkdir(parents=True, exist_ok=True)
    with built_beside(store) as partial:
        group = zarr.open_group(str(partial), mode="w", zarr_format=ZARR_FORMAT)
        group.attrs.update(root_attrs(spec, store))
        for sub, path in zip(spec.sweep_specs(), sweep_store_paths(spec, partial), strict=True):
            create_store(sub, path)
    return sweep_store_paths(spec, store)


def open_sweep(store: str | Path) -> xr.Dataset:
    """Open a sweep store (lazily) as one dataset (:func:`sve.study.sweep.combine_sweep`)."""
    store = Path(store)
    attrs = zarr.open_group(str(store), mode="r", zarr_format=ZARR_FORMAT).attrs
    spec = StudySpec.from_json(attrs["spec"])
    return combine_sweep(spec, [open_study(path) for path in sweep_store_paths(spec, store)])
