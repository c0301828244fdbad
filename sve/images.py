"""Measured images in: TIFF stacks, slice folders, NumPy, raw binary, Zarr and HDF5.

`read_image` reads a segmented or grey voxel image (micro-CT, FIB-SEM, serial
sections) and returns a `~sve.Microstructure`: phase labels with the voxel
size per axis, its unit and where the image came from. Stored values become
phase labels through a mapping (``{0: 0, 255: 1}``) or a threshold (a number,
or ``"otsu"``); an integer image with neither is taken as labels already.
Every problem with the file or the arguments raises `ImageError` (a
``ValueError``) naming the file and the argument, before any work starts.

Axis order: as stored, C order. A multi-page TIFF and a folder of slices stack
their pages (slices) along axis 0, so a ``(z, y, x)`` stack gives labels of
shape ``(Nz, Ny, Nx)``, and ``spacing`` is given in that order.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from sve.microstructure import Microstructure

__all__ = ["FORMATS", "ImageError", "read_image"]

#: Format name -> file suffixes (a folder of slices has no suffix of its own).
FORMATS = {
    "tiff": (".tif", ".tiff"),
    "slices": (),
    "npy": (".npy",),
    "raw": (".raw", ".bin", ".dat", ".vol"),
    "zarr": (".zarr",),
    "hdf5": (".h5", ".hdf5", ".he5"),
}
#: Suffixes of the slices a folder may hold.
SLICE_SUFFIXES = (".tif", ".tiff", ".png")
BYTE_ORDERS = {"little": "<", "big": ">"}


class ImageError(ValueError):
    """An image that cannot be read or segmented as asked, named with its file."""


def read_image(
    path: str | Path,
    *,
    format: str | None = None,
    dataset: str | None = None,
    shape: tuple[int, ...] | None = None,
    dtype: str | np.dtype | None = None,
    byte_order: str = "little",
    offset: int = 0,
    mapping: Mapping | None = None,
    threshold: float | str | None = None,
    spacing: float | tuple[float, ...] = 1.0,
    unit: str = "voxel",
    min_phases: int = 2,
) -> Microstructure:
    """Read a measured voxel image as a microstructure of phase labels.

    Parameters
    ----------
    path : str or Path
        A TIFF file (one page, or a multi-page stack), a folder of TIFF or PNG
        slices (stacked in natural order: ``s2`` before ``s10``), a ``.npy``
        file, a raw binary file, a Zarr array or group, or an HDF5 file.
    format : {"tiff", "slices", "npy", "raw", "zarr", "hdf5"}, optional
        The file's format; by default from its suffix (a folder: slices,
        unless it ends in ``.zarr``).
    dataset : str, optional
        The array's path inside a Zarr group or an HDF5 file (required there).
    shape : tuple of int, optional
        Raw files only (required): voxels per axis, C order.
    dtype : str or numpy.dtype, optional
        Raw files only (required): e.g. ``"uint8"``, ``"uint16"``, ``"float32"``.
    byte_order : {"little", "big"}, default "little"
        Raw files only: the byte order of multi-byte values.
    offset : int, default 0
        Raw files only: bytes to skip before the data (a header).
    mapping : mapping, optional
        Stored value -> phase label (an integer >= 0), e.g. ``{0: 0, 255: 1}``;
        keys may be strings holding numbers (as TOML writes them). Every value
        in the image must be a key.
    threshold : float or "otsu", optional
        For a grey image: voxels above it are phase 1, the others phase 0;
        ``"otsu"`` takes Otsu's threshold of the histogram (scikit-image).
    spacing : float or tuple of float, default 1.0
        Voxel edge length, one number or one per axis, in `unit`.
    unit : str, default "voxel"
        Unit of `spacing`: ``"nm"``, ``"um"``, ``"mm"``, ``"m"``, ``"voxel"``...
    min_phases : int, default 2
        Fewest distinct labels accepted: a study needs two; 1 reads a
        homogeneous image (a check of a solver).

    Returns
    -------
    Microstructure
        Labels (int8 when the labels fit, else int32), the voxel size and
        unit, and the provenance: the file, its format, the dataset, the
        mapping or the threshold used.

    Raises
    ------
    ImageError
        A missing or unreadable file, an unknown format, a missing or
        inconsistent argument (raw shape and dtype against the file size), an
        image that is not 2-D or 3-D, values outside the mapping, a grey image
        without a threshold or a mapping, or one phase only.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from sve.images import read_image
    >>> grey = np.zeros((4, 6), np.uint8)
    >>> grey[:, 3:] = 255
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> np.save(folder / "scan.npy", grey)
    >>> image = read_image(folder / "scan.npy", mapping={0: 0, 255: 1}, spacing=0.5, unit="um")
    >>> int(image.labels.sum()), image.lengths, image.provenance["format"]
    (12, (2.0, 3.0), 'npy')
    """
    path = Path(path)
    if not path.exists():
        raise ImageError(f"path: no such file or folder: {path}")
    format = _format(path, format)
    if mapping is not None and threshold is not None:
        raise ImageError(f"{path}: give mapping or threshold, not both")
    values = _READERS[format](
        path, dataset=dataset, shape=shape, dtype=dtype, byte_order=byte_order, offset=offset
    )
    if values.ndim not in (2, 3):
        raise ImageError(
            f"{path}: the image must be 2-D or 3-D, got {values.ndim}-D with shape {values.shape}"
        )
    provenance = {"source": str(path), "format": format}
    if dataset is not None:
        provenance["dataset"] = dataset
    if mapping is not None:
        labels, provenance["mapping"] = _mapped(values, mapping, path)
    elif threshold is not None:
        labels, provenance["threshold"] = _thresholded(values, threshold, path)
    else:
        labels = _as_labels(values, path)
    present = np.unique(labels)
    if present.size < min_phases:
        raise ImageError(
            f"{path}: the image holds {present.size} phase(s) ({present.tolist()}); at least "
            f"{min_phases} are needed (check the mapping or the threshold)"
        )
    try:
        return Microstructure(labels, spacing=spacing, unit=unit, provenance=provenance)
    except (TypeError, ValueError) as error:
        raise ImageError(f"{path}: {error}") from None


def _format(path: Path, format: str | None) -> str:
    if format is not None:
        if format not in FORMATS:
            raise ImageError(f"{path}: format must be one of {tuple(FORMATS)}, got {format!r}")
        return format
    suffix = path.suffix.lower()
    for name, suffixes in FORMATS.items():
        if suffix in suffixes:
            return name
    if path.is_dir():
        return "slices"
    known = sorted(s for suffixes in FORMATS.values() for s in suffixes)
    raise ImageError(
        f"{path}: unknown image format {suffix!r}: known suffixes are {known} and folders of "
        "slices; or pass format="
    )


def _tiff(path: Path, **_) -> np.ndarray:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tiff:
            series = tiff.series
            if len(series) > 1 and all(s.shape == series[0].shape for s in series):
                return np.stack([s.asarray() for s in series])  # pages written one by one
            return tiff.asarray()
    except Exception as error:  # tifffile raises many kinds on a damaged file
        raise ImageError(f"{path}: not a readable TIFF file ({error})") from None


def _natural_key(path: Path) -> list:
    return [
        int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)
    ]


def _slices(path: Path, **_) -> np.ndarray:
    files = sorted(
        (p for p in path.iterdir() if p.suffix.lower() in SLICE_SUFFIXES), key=_natural_key
    )
    if not files:
        raise ImageError(f"{path}: the folder holds no slices ({', '.join(SLICE_SUFFIXES)})")
    planes = [_slice(file) for file in files]
    first = planes[0]
    for file, plane in zip(files, planes, strict=True):
        if plane.shape != first.shape or plane.dtype != first.dtype:
            raise ImageError(
                f"{file}: slice of shape {plane.shape} and dtype {plane.dtype}, unlike "
                f"{files[0].name} ({first.shape}, {first.dtype})"
            )
    return np.stack(planes)


def _slice(file: Path) -> np.ndarray:
    if file.suffix.lower() == ".png":
        import imageio.v3 as iio

        try:
            plane = iio.imread(file)
        except Exception as error:
            raise ImageError(f"{file}: not a readable PNG file ({error})") from None
    else:
        plane = _tiff(file)
    if plane.ndim != 2:
        raise ImageError(f"{file}: a slice must be a 2-D grey or label image, got {plane.shape}")
    return plane


def _npy(path: Path, **_) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as error:
        raise ImageError(f"{path}: not a readable .npy file ({error})") from None


def _raw(path: Path, *, shape, dtype, byte_order, offset, **_) -> np.ndarray:
    if shape is None or dtype is None:
        raise ImageError(
            f"{path}: a raw file needs shape= and dtype= (e.g. (500, 500, 500), uint8)"
        )
    if not (isinstance(shape, tuple | list) and all(_is_count(n) for n in shape)):
        raise ImageError(f"{path}: shape must be a tuple of integers >= 1, got {shape!r}")
    try:
        kind = np.dtype(dtype)
    except TypeError:
        raise ImageError(f"{path}: dtype must name a NumPy dtype, got {dtype!r}") from None
    if byte_order not in BYTE_ORDERS:
        raise ImageError(f"{path}: byte_order must be 'little' or 'big', got {byte_order!r}")
    if not (_is_count(offset) or offset == 0):
        raise ImageError(f"{path}: offset must be an integer >= 0, got {offset!r}")
    kind = kind.newbyteorder(BYTE_ORDERS[byte_order])
    expected = int(offset) + math.prod(shape) * kind.itemsize
    size = path.stat().st_size
    if size != expected:
        raise ImageError(
            f"{path}: the file has {size} bytes, but shape={tuple(shape)}, dtype={kind.name} "
            f"and offset={offset} need {expected}"
        )
    return np.memmap(path, dtype=kind, mode="r", offset=int(offset), shape=tuple(shape))


def _zarr(path: Path, *, dataset, **_) -> np.ndarray:
    import zarr

    try:
        node = zarr.open(str(path), mode="r")
    except Exception as error:
        raise ImageError(f"{path}: not a readable Zarr store ({error})") from None
    if isinstance(node, zarr.Group):
        if dataset is None:
            names = sorted(name for name, _ in node.arrays())
            raise ImageError(f"{path}: a Zarr group needs dataset= (one of {names})")
        if dataset not in node:
            raise ImageError(f"{path}: no array {dataset!r} in the Zarr group")
        node = node[dataset]
    return np.asarray(node[...])


def _hdf5(path: Path, *, dataset, **_) -> np.ndarray:
    try:
        import h5py
    except ImportError:
        raise ImageError(
            f"{path}: reading HDF5 needs h5py: pip install 'sve-toolkit[hdf5]'"
        ) from None
    if dataset is None:
        raise ImageError(f"{path}: an HDF5 file needs dataset= (the array's path in the file)")
    try:
        with h5py.File(path, "r") as file:
            if dataset not in file or not isinstance(file[dataset], h5py.Dataset):
                raise ImageError(f"{path}: no dataset {dataset!r} in the HDF5 file")
            return file[dataset][...]
    except OSError as error:
        raise ImageError(f"{path}: not a readable HDF5 file ({error})") from None


_READERS = {
    "tiff": _tiff,
    "slices": _slices,
    "npy": _npy,
    "raw": _raw,
    "zarr": _zarr,
    "hdf5": _hdf5,
}


def _is_count(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1


def _label_dtype(highest: int) -> type:
    return np.int8 if highest <= np.iinfo(np.int8).max else np.int32


def _mapped(values: np.ndarray, mapping: Mapping, path: Path) -> tuple[np.ndarray, dict]:
    if not isinstance(mapping, Mapping) or not mapping:
        raise ImageError(f"{path}: mapping must be a non-empty mapping, got {mapping!r}")
    table = {}
    for key, label in mapping.items():
        try:
            stored = float(key)
        except (TypeError, ValueError):
            raise ImageError(f"{path}: mapping keys must be numbers, got {key!r}") from None
        if not (
            isinstance(label, numbers.Integral) and not isinstance(label, bool) and label >= 0
        ):
            raise ImageError(f"{path}: mapping values must be labels >= 0, got {label!r}")
        table[stored] = int(label)
    present = np.unique(values)
    unknown = [v for v in present.tolist() if float(v) not in table]
    if unknown:
        raise ImageError(
            f"{path}: the image holds values outside the mapping: {unknown[:10]}"
            f"{' ...' if len(unknown) > 10 else ''} (mapping keys: {sorted(table)})"
        )
    lookup = np.array([table[float(v)] for v in present.tolist()])
    labels = lookup[np.searchsorted(present, values)].astype(_label_dtype(int(lookup.max())))
    return labels, {_key(k): v for k, v in table.items()}


def _key(value: float) -> int | float:
    return int(value) if value.is_integer() else value


def _thresholded(values: np.ndarray, threshold, path: Path) -> tuple[np.ndarray, float]:
    values = np.asarray(values)
    if isinstance(threshold, str):
        if threshold != "otsu":
            raise ImageError(f"{path}: threshold must be a number or 'otsu', got {threshold!r}")
        from skimage.filters import threshold_otsu

        threshold = float(threshold_otsu(values))
    elif isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
        raise ImageError(f"{path}: threshold must be a number or 'otsu', got {threshold!r}")
    elif not math.isfinite(threshold):
        raise ImageError(f"{path}: threshold must be finite, got {threshold!r}")
    return (values > threshold).astype(np.int8), float(threshold)


def _as_labels(values: np.ndarray, path: Path) -> np.ndarray:
    values = np.asarray(values)
    if values.dtype == np.bool_:
        return values.astype(np.int8)
    if not np.issubdtype(values.dtype, np.integer):
        raise ImageError(
            f"{path}: a grey image of dtype {values.dtype} needs threshold= (a number or "
            "'otsu') or mapping= to become phase labels"
        )
    lowest, highest = int(values.min()), int(values.max())
    if lowest < 0:
        raise ImageError(f"{path}: phase labels must be >= 0, got {lowest} (give mapping=)")
    return values.astype(_label_dtype(highest))
