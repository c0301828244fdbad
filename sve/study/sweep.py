"""Parameter sweeps: one sub-study per value of a swept field, one dataset with ``sweep``.

A spec with a ``[sweep]`` table (:mod:`sve.study.spec`) is a list of ordinary
sub-studies (:meth:`sve.study.StudySpec.sweep_specs`), one per value of the
swept field, all with the same root seed (common random numbers). Each is
stored exactly as a study of its own, so resume, ``sve status``, the
statistics and the per-value report work on it unchanged:

``STORE/`` (e.g. ``results/contrast_sweep.zarr``) is a Zarr group whose
attributes hold the sweep's spec (``spec``, with ``sweep_field`` and
``sweep_values``) and, one per value, ``STORE/sweep-K/`` a complete study
store of sub-study K (``sve status STORE/sweep-1`` works on it directly). The
group and every sub-store are created together, beside the final path, and
moved in place, so a sweep store is never half created
(:func:`sve.study.store.create_sweep_store`; this module is the dataset side:
paths, attributes, combining and splitting).

:func:`combine_sweep` joins the sub-studies' datasets along a new first
dimension ``sweep`` (coordinate: the swept values, in the spec's order;
attribute ``sweep_field``); every variable gets the dimension. The
dataset's ``spec`` attribute is the sweep's spec; ``sweep_attrs`` (JSON
text) keeps each sub-study's own attributes (its spec, runs, ...), so
:func:`split_sweep` gives back each sub-study's dataset exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr
import zarr

from sve.study.schema import ZARR_FORMAT
from sve.study.spec import StudySpec

__all__ = [
    "SWEEP_DIM",
    "SWEEP_SEEDING",
    "combine_sweep",
    "is_sweep",
    "root_attrs",
    "split_sweep",
    "sweep_store_paths",
]

#: The dataset dimension of the swept values.
SWEEP_DIM = "sweep"
SWEEP_SEEDING = (
    "common random numbers: every sweep value is a sub-study with the same root seed, so "
    "realization (size, k) draws the same random stream at every value"
)
#: Attributes of a sweep dataset that are the sweep's own (not the first sub-study's).
_OWN = ("title", "spec", "sweep_field", "sweep_seeding", "sweep_attrs")
#: Per-run attributes that belong to one sub-study (kept in ``sweep_attrs`` only).
_PER_VALUE = ("runs", "active_run")


def sweep_store_paths(spec: StudySpec, store: str | Path) -> list[Path]:
    """The sub-study stores of a sweep store: ``STORE/sweep-K``, one per value."""
    return [Path(store) / f"sweep-{k}" for k in range(len(spec.sweep_values))]


def root_attrs(spec: StudySpec, store: Path) -> dict:
    """Attributes of a sweep store's root group (the sweep's spec, values, sub-stores)."""
    return {
        "title": f"SVE parameter sweep {spec.name!r}",
        "spec": spec.to_json(),
        "sweep_field": spec.sweep_field,
        "sweep_values": list(spec.sweep_values),
        "sweep_stores": [p.name for p in sweep_store_paths(spec, store)],
        "sweep_seeding": SWEEP_SEEDING,
    }


def is_sweep(source: xr.Dataset | str | Path) -> bool:
    """True for a sweep dataset (a ``sweep`` dimension) or a sweep store."""
    if isinstance(source, xr.Dataset):
        return SWEEP_DIM in source.dims and "sweep_attrs" in source.attrs
    try:
        attrs = zarr.open_group(str(source), mode="r", zarr_format=ZARR_FORMAT).attrs
    except Exception:  # not a Zarr group: not a sweep store
        return False
    return "sweep_field" in attrs


def combine_sweep(spec: StudySpec, datasets: list[xr.Dataset]) -> xr.Dataset:
    """The sub-studies' datasets (in the order of ``spec.sweep_values``) as one dataset.

    Every variable gets the leading dimension ``sweep`` (coordinate: the
    swept values, attributes ``long_name`` and ``sweep_field``); the other
    coordinates are common to the sub-studies. Attributes: the sweep's
    ``spec`` and ``title``, ``sweep_field``, ``sweep_seeding``, the
    attributes the sub-studies share (seeding scheme, versions, ...), and
    ``sweep_attrs``: JSON text of the list of each sub-study's attributes.
    """
    if len(datasets) != len(spec.sweep_values):
        raise ValueError(
            f"combine_sweep needs {len(spec.sweep_values)} datasets (one per value), "
            f"got {len(datasets)}"
        )
    combined = xr.concat(
        datasets,
        dim=SWEEP_DIM,
        data_vars="all",
        coords="minimal",
        compat="override",
        join="exact",
        combine_attrs="override",
    )
    combined = combined.assign_coords(
        {
            SWEEP_DIM: (
                SWEEP_DIM,
                np.array(spec.sweep_values, dtype=float),
                {
                    "long_name": f"swept parameter {spec.sweep_field}",
                    "sweep_field": spec.sweep_field,
                },
            )
        }
    )
    first = datasets[0].attrs
    shared = {
        key: value
        for key, value in first.items()
        if key not in (*_OWN, *_PER_VALUE) and all(d.attrs.get(key) == value for d in datasets[1:])
    }
    combined.attrs = {
        **shared,
        "title": f"SVE parameter sweep {spec.name!r}",
        "spec": spec.to_json(),
        "sweep_field": spec.sweep_field,
        "sweep_seeding": SWEEP_SEEDING,
        "sweep_attrs": json.dumps([dict(d.attrs) for d in datasets]),
    }
    return combined


def split_sweep(ds: xr.Dataset) -> list[xr.Dataset]:
    """Each sub-study's dataset (with its own attributes) of a sweep dataset."""
    if not is_sweep(ds):
        raise ValueError("not a sweep dataset (no 'sweep' dimension or 'sweep_attrs')")
    attrs = json.loads(ds.attrs["sweep_attrs"])
    parts = []
    for k, own in enumerate(attrs):
        part = ds.isel({SWEEP_DIM: k}, drop=True)
        part.attrs = dict(own)
        parts.append(part)
    return parts
