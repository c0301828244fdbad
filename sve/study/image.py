"""Studies of a measured image: the ``[medium] image = ...`` table and its windows.

A spec whose ``[medium]`` table names an ``image`` studies windows of that
image instead of generated media (``sampling.mode = "windows"``, the only
mode: the image is one realization, there are no independent ones)::

    [medium]
    image = "scan.tif"              # relative to the spec file's folder (a dict: the cwd)
    mapping = {0 = 0, 255 = 1}      # stored value -> phase (0 or 1); or threshold = 127.5
                                    # or threshold = "otsu"; neither: the values are 0/1
    voxel_size = [0.5, 0.5, 1.5]    # one number or one per axis (C order), in unit
    unit = "um"
    # dataset = "segmented"         # Zarr group or HDF5 file: the array's path
    # raw files: shape = [200, 200, 200], dtype = "uint8", byte_order = "little", offset = 0

    [sampling]
    sizes = [16, 32, 64]            # window edge in voxels of the finest axis, or
    # lengths = [8.0, 16.0, 32.0]   # window edge in the image's unit
    realizations = 64               # windows per size (at most, for tiles)
    windows = "tiles"               # or "random": `realizations` windows at seeded positions
    target_precision = 0.05         # the report's representativity question

**Validation** (:func:`validate_image_medium`, before any work): the image
is opened and read once, slab by slab along axis 0 (never whole in memory):
it must be 2-D or 3-D, hold only values the mapping knows (or 0 and 1
without a mapping or threshold) and both phases. The validated table holds
the absolute path, the format, ``ndim``, ``image_shape``, the phase-1
fraction of the whole image (``volume_fraction``), the Otsu threshold when
asked (``otsu_threshold``) and the SHA-256 of the file(s) (``sha256``: a
folder hashes its files' relative names and contents in order). These
derived fields are part of the study's identity: a store made from an image
is resumed only with the same bytes, and a changed image is refused by name.

**Window edges.** Windows are cubes in physical length. A size ``n`` counts
voxels of the finest axis (edge ``L = n * min(voxel_size)``; with cubic
voxels, ``n`` voxels along every axis as for generated media); ``lengths``
give ``L`` directly (a whole number of the finest voxel edge). Axis ``i``
then holds ``round(L / h_i)`` voxels (ties up), so the window's edge along
a coarser axis is ``L`` to within half a voxel. Every window must hold at
least 2 voxels per axis and fit in the image.

**Placement** (``sampling.windows``): ``"tiles"`` (default) are
non-overlapping windows tiling the image from its origin, per axis
(``image_shape[i] // n_i`` of them along axis ``i``, the remainder unused),
spread over the image when ``realizations`` is smaller than their number
(the rule of :func:`sve.study.windows.window_origin`). ``"random"``: exactly
``realizations`` windows at uniform positions drawn from
``SeedSequence(seed, spawn_key=(size, WINDOW_TAG))``, so they may overlap.
Overlapping windows share voxels, so their values are positively
correlated: their spread still estimates the variance of one window's value,
but a confidence interval that treats them as independent is too narrow
(at most about ``image volume / window volume`` of them carry independent
information). Neighbouring tiles are correlated too, over the correlation
length, but much less. The dataset says which it holds (attribute
``window_placement``, ``windows_overlap``).

**Reading** (:func:`open_source`, through :func:`sve.images.open_image`): each
task opens the image itself (the client never ships it through the scheduler)
and keeps it open per worker
process; it reads only its windows' voxels: a memory map for ``.npy``, raw
files and uncompressed TIFF, chunk reads of a Zarr array or an HDF5
dataset, and page by page (only the pages a window spans) for other TIFF
stacks and folders of slices.

Void phases and tortuosity: :func:`sve.study.percolation.percolation_summary`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import numbers
import os
from pathlib import Path
from typing import Any

import numpy as np

from sve.images import (
    BYTE_ORDERS,
    FORMATS,
    SLAB_BYTES,
    SLICE_SUFFIXES,
    ImageError,
    ImageSource,
    _format,
    _natural_key,
    distinct_values,
    open_image,
    otsu_threshold,
    segment,
)

__all__ = [
    "IMAGE_FIELDS",
    "WINDOW_PLACEMENTS",
    "WINDOW_TAG",
    "image_sha256",
    "open_source",
    "read_window",
    "validate_image_medium",
    "window_shape",
    "with_labels",
]

#: The fields a user gives in an image ``[medium]`` table.
IMAGE_FIELDS = (
    "image", "format", "dataset", "shape", "dtype", "byte_order", "offset", "mapping",
    "threshold", "voxel_size", "unit",
)  # fmt: skip
#: Fields the validation derives from the image (written in the store's spec text).
DERIVED_FIELDS = ("ndim", "image_shape", "volume_fraction", "sha256", "otsu_threshold")
#: Values of ``sampling.windows`` for an image study.
WINDOW_PLACEMENTS = ("tiles", "random")
#: Second spawn-key word of the random windows' positions (no realization index reaches it).
WINDOW_TAG = 2**63 - 2


# ----------------------------------------------------------------- reading


def _open(path: Path, medium: dict[str, Any]) -> ImageSource:
    """The image of a ``[medium]`` table, opened lazily (``ImageError`` naming the file)."""
    shape = medium.get("shape")
    return open_image(
        path,
        format=medium["format"],
        dataset=medium.get("dataset"),
        shape=tuple(shape) if shape is not None else None,
        dtype=medium.get("dtype"),
        byte_order=medium.get("byte_order", "little"),
        offset=medium.get("offset", 0),
    )


@functools.lru_cache(maxsize=1)
def _cached_source(medium_json: str) -> ImageSource:
    medium = json.loads(medium_json)
    return _open(Path(medium["image"]), medium)


def open_source(medium: dict[str, Any]) -> ImageSource:
    """The validated medium's image, opened lazily; the last one is kept per process."""
    return _cached_source(json.dumps(dict(medium), sort_keys=True, default=list))


# ----------------------------------------------------------------- segmentation


def _segment(values: np.ndarray, medium: dict[str, Any]) -> np.ndarray:
    """Phase labels (int8) of stored values, by the medium's mapping or threshold."""
    threshold = medium.get("otsu_threshold", medium.get("threshold"))
    return segment(values, mapping=medium.get("mapping"), threshold=threshold,
                   where=medium["image"]).astype(np.int8, copy=False)  # fmt: skip


def read_window(medium: dict[str, Any], origin, shape) -> np.ndarray:
    """Phase labels (int8, read-only) of the window of ``shape`` voxels at ``origin``.

    Reads only the window; the pages of a memory-mapped image it touched are
    unmapped afterwards (:meth:`sve.images.ImageSource.release`), so a worker
    that reads many windows holds only their labels, not the image. Read-only:
    a :class:`~sve.microstructure.Microstructure` takes it without a copy.
    """
    region = tuple(slice(o, o + n) for o, n in zip(origin, shape, strict=True))
    source = open_source(medium)
    labels = _segment(source.read(region), medium)
    source.release()
    labels.flags.writeable = False
    return labels


def with_labels(estimate, windows: int = 1):
    """A solve's memory estimate plus the labels (int8) its task holds beside it.

    `estimate` (a :class:`sve.solvers.MemoryEstimate`) is the peak growth of a
    solve over its input; a task of an image study reads that input during
    the task, so its peak growth adds the labels of the `windows` windows it
    holds while it solves (one byte per voxel each; the pages of the image it
    read are released, :func:`read_window`). Returns the estimate with an
    item ``"window labels held by the task (int8)"`` in the breakdown, the
    total and the bytes per grid point raised by it.
    """
    from dataclasses import replace

    voxels = math.prod(estimate.shape)
    held = int(windows) * voxels
    breakdown = {**estimate.breakdown, "window labels held by the task (int8)": held}
    return replace(
        estimate,
        bytes=estimate.bytes + held,
        bytes_per_voxel=(estimate.bytes + held) / voxels,
        breakdown=breakdown,
        per_point=estimate.per_point + held / estimate.points,
    )


# ----------------------------------------------------------------- validation


def _hash_files(files: list[Path], root: Path | None) -> str:
    digest = hashlib.sha256()
    for file in files:
        if root is not None:  # a folder: its files' names are part of the content
            digest.update(file.relative_to(root).as_posix().encode() + b"\0")
        with open(file, "rb") as handle:
            while block := handle.read(SLAB_BYTES):
                digest.update(block)
    return digest.hexdigest()


def image_sha256(path: str | Path, format: str | None = None) -> str:
    """SHA-256 (hex) of an image's bytes: the file, or a folder's files with their names.

    A folder of slices hashes its slices in natural order; any other folder
    (a Zarr store) every file below it in sorted order of relative path.
    """
    path = Path(path)
    if path.is_dir():
        if (format or _format(path, None)) == "slices":
            files = sorted(
                (p for p in path.iterdir() if p.suffix.lower() in SLICE_SUFFIXES),
                key=_natural_key,
            )
        else:
            files = sorted(p for p in path.rglob("*") if p.is_file())
        return _hash_files(files, path)
    return _hash_files([path], None)


def _number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _key(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _check_options(table: dict[str, Any], path: Path, fail) -> dict[str, Any]:
    """The user fields of an image table, checked and canonical (no file read yet)."""
    where = f"the image {str(path)!r}"
    out: dict[str, Any] = {"image": str(path)}
    fmt = table.get("format")
    if fmt is not None and fmt not in FORMATS:
        fail(f"medium.format must be one of {tuple(FORMATS)} ({where}), got {fmt!r}")
    try:
        out["format"] = _format(path, fmt)
    except ImageError as err:
        fail(f"medium.image: {err}")
    if "dataset" in table:
        if out["format"] not in ("zarr", "hdf5"):
            fail(f"medium.dataset is only used by Zarr and HDF5 images ({where})")
        if not isinstance(table["dataset"], str) or not table["dataset"]:
            fail(f"medium.dataset must be a non-empty string, got {table['dataset']!r}")
        out["dataset"] = table["dataset"]
    raw = ("shape", "dtype", "byte_order", "offset")
    if out["format"] != "raw":
        for key in raw:
            if key in table:
                fail(f"medium.{key} is only used by raw images ({where} is {out['format']})")
    else:
        shape = table.get("shape")
        if (
            not isinstance(shape, list | tuple)
            or len(shape) not in (2, 3)
            or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in shape)
        ):
            fail(f"medium.shape must be 2 or 3 integers >= 1 for the raw image {where}, "
                 f"got {shape!r}")  # fmt: skip
        out["shape"] = [int(n) for n in shape]
        dtype = table.get("dtype")
        try:
            out["dtype"] = np.dtype(dtype).name if isinstance(dtype, str) else None
        except TypeError:
            out["dtype"] = None
        if out["dtype"] is None:
            fail(f"medium.dtype must name a NumPy dtype (e.g. 'uint8') for {where}, "
                 f"got {dtype!r}")  # fmt: skip
        out["byte_order"] = table.get("byte_order", "little")
        if out["byte_order"] not in BYTE_ORDERS:
            fail(f"medium.byte_order must be 'little' or 'big', got {out['byte_order']!r}")
        offset = table.get("offset", 0)
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            fail(f"medium.offset must be an integer >= 0, got {offset!r}")
        out["offset"] = offset
    if "mapping" in table and "threshold" in table:
        fail(f"give medium.mapping or medium.threshold, not both ({where})")
    if "mapping" in table:
        mapping = table["mapping"]
        if not isinstance(mapping, dict) or not mapping:
            fail(f"medium.mapping must be a table of stored value -> phase, e.g. "
                 f"{{0 = 0, 255 = 1}}, got {mapping!r}")  # fmt: skip
        canonical = {}
        for key, label in mapping.items():
            try:
                stored = float(key)
            except (TypeError, ValueError):
                fail(f"medium.mapping keys must be numbers (stored values), got {key!r}")
            if isinstance(label, bool) or label not in (0, 1):
                fail(f"medium.mapping[{key!r}] must be a phase label, 0 or 1, got {label!r}")
            canonical[_key(stored)] = int(label)
        out["mapping"] = dict(sorted(canonical.items(), key=lambda item: float(item[0])))
    if "threshold" in table:
        threshold = table["threshold"]
        if threshold != "otsu" and not (_number(threshold) and math.isfinite(threshold)):
            fail(f"medium.threshold must be a finite number or 'otsu', got {threshold!r}")
        out["threshold"] = threshold if threshold == "otsu" else float(threshold)
    out["unit"] = table.get("unit", "voxel")
    if not isinstance(out["unit"], str) or not out["unit"].strip():
        fail(f"medium.unit must be a non-empty string (e.g. 'um'), got {out['unit']!r}")
    return out


def _voxel_size(value: Any, ndim: int, fail) -> list[float]:
    entries = value if isinstance(value, list | tuple) else [value] * ndim
    if len(entries) != ndim or not all(_number(h) and math.isfinite(h) and h > 0 for h in entries):
        fail(f"medium.voxel_size must be one number > 0 or {ndim} (one per axis), "
             f"got {value!r}")  # fmt: skip
    return [float(h) for h in entries]


def _scan(path: Path, medium: dict[str, Any], fail) -> dict[str, Any]:
    """Open the image, read it once slab by slab, and derive its fields (``ndim``, ...)."""
    where = str(path)
    try:
        source = _open(path, medium)
    except ImageError as err:
        fail(f"medium.image: {err}")
    try:
        if source.ndim not in (2, 3):
            fail(f"medium.image: {where} must be 2-D or 3-D, got {source.ndim}-D with shape "
                 f"{source.shape}")  # fmt: skip
        if any(n < 2 for n in source.shape):
            fail(f"medium.image: {where} must hold at least 2 voxels per axis, got {source.shape}")
        derived: dict[str, Any] = {}
        if medium.get("threshold") == "otsu":
            derived["otsu_threshold"] = otsu_threshold(source)
        elif "mapping" not in medium and "threshold" not in medium:
            if not (np.issubdtype(source.dtype, np.integer) or source.dtype == np.bool_):
                fail(f"medium.mapping: {where} holds grey values ({source.dtype}): give "
                     "medium.mapping or medium.threshold (a number or 'otsu')")  # fmt: skip
        counts = np.zeros(2, np.int64)
        keys = {float(k) for k in medium.get("mapping", {})}
        for region in source.slabs():
            values = source.read(region)
            if "mapping" in medium:
                unknown = [v for v in distinct_values(values).tolist() if float(v) not in keys]
                if unknown:
                    fail(f"medium.mapping: {where} holds values outside the mapping: "
                         f"{unknown[:10]} (mapping keys: {sorted(keys)})")  # fmt: skip
            elif "threshold" not in medium:
                present = distinct_values(values).tolist()
                if not set(present) <= {0, 1}:
                    fail(f"medium.mapping: {where} holds the values {present[:10]}, not phase "
                         "labels 0 and 1: give medium.mapping (e.g. {0 = 0, 255 = 1}) or "
                         "medium.threshold")  # fmt: skip
            labels = _segment(values, {**medium, **derived})
            counts += np.bincount(labels.ravel(), minlength=2)[:2]
            del values, labels
            source.release()  # a memory map: its pages read so far leave the RSS
    except ImageError as err:
        fail(f"medium.image: {err}")
    finally:
        source.close()
    if (counts == 0).any():
        only = int(np.flatnonzero(counts)[0])
        fail(f"medium.image: {where} holds one phase only (phase {only}) after "
             f"{'the mapping' if 'mapping' in medium else 'the threshold' if 'threshold' in medium else 'reading'}; "  # noqa: E501
             "a study needs both")  # fmt: skip
    return {
        **derived,
        "ndim": source.ndim,
        "image_shape": list(source.shape),
        "volume_fraction": float(counts[1] / counts.sum()),
    }


@functools.lru_cache(maxsize=8)
def _scan_cached(path: str, stamp: tuple, options_json: str) -> str:
    """The derived fields as JSON; cached per file version (a sweep validates once)."""
    messages: list[str] = []

    def fail(message: str):
        messages.append(message)
        raise _Failed

    try:
        derived = _scan(Path(path), json.loads(options_json), fail)
    except _Failed:
        return json.dumps({"error": messages[0]})
    derived["sha256"] = image_sha256(path, json.loads(options_json)["format"])
    return json.dumps(derived)


class _Failed(Exception):
    pass


def validate_image_medium(
    table: dict[str, Any], base: Path | None, fail, *, trusted: bool = False
) -> dict[str, Any]:
    """Check an image ``[medium]`` table; returns the canonical table with derived fields.

    ``base``: the folder a relative ``image`` path is relative to (the spec
    file's; ``None``: the working directory). ``fail(message)`` raises the
    spec's error. ``trusted``: the table is a store's spec text (derived
    fields present): taken as written, the file not opened, so a store whose
    image has moved still opens. Otherwise the image is read (module
    docstring), and derived fields given in the table must match it (a
    changed image names ``medium.sha256``).
    """
    known = {*IMAGE_FIELDS, *DERIVED_FIELDS}
    for key in table:
        if key not in known:
            fail(f"unknown field 'medium.{key}' for an image medium; known: "
                 f"{', '.join(IMAGE_FIELDS)}")  # fmt: skip
    image = table["image"]
    if not isinstance(image, str) or not image:
        fail(f"medium.image must be a path (a non-empty string), got {image!r}")
    path = Path(image).expanduser()
    if not path.is_absolute():
        path = (base or Path.cwd()) / path
    path = Path(os.path.abspath(path))
    if trusted and all(key in table for key in ("ndim", "image_shape", "sha256")):
        out = {key: table[key] for key in table}
        out["voxel_size"] = [float(h) for h in table["voxel_size"]]
        return out
    if not path.exists():
        fail(f"medium.image: no such file or folder: {path}")
    out = _check_options(table, path, fail)
    stat = path.stat()
    stamp = (stat.st_mtime_ns, stat.st_size, *(
        (p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(path.iterdir())
    )) if path.is_dir() else (stat.st_mtime_ns, stat.st_size)  # fmt: skip
    derived = json.loads(_scan_cached(str(path), stamp, json.dumps(out, sort_keys=True)))
    if "error" in derived:
        fail(derived["error"])
    for key in ("sha256", *DERIVED_FIELDS):  # a changed file is named as such first
        if key in table and key in derived and table[key] != derived[key]:
            if key == "sha256":
                fail(f"medium.sha256: the image {str(path)!r} changed: its SHA-256 is "
                     f"{derived[key]}, the spec (its store) holds {table[key]}")  # fmt: skip
            fail(f"medium.{key}: {table[key]!r} disagrees with the image {str(path)!r} "
                 f"({derived[key]!r})")  # fmt: skip
    out.update(derived)
    out["voxel_size"] = _voxel_size(table.get("voxel_size", 1.0), derived["ndim"], fail)
    return out


def window_shape(medium: dict[str, Any], size: int) -> tuple[int, ...]:
    """Voxels per axis of a window of edge ``size`` voxels of the finest axis.

    ``round(size * min(h) / h_i)`` along axis ``i`` (ties up): a cube in
    physical length (module docstring).
    """
    h = medium["voxel_size"]
    finest = min(h)
    return tuple(int(math.floor(size * finest / hi + 0.5)) for hi in h)
