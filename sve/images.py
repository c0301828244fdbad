"""Measured images in: TIFF stacks, slice folders, NumPy, raw binary, Zarr and HDF5.

`read_image` reads a segmented or grey voxel image (micro-CT, FIB-SEM, serial
sections) and returns a `~sve.Microstructure`: phase labels with the voxel
size per axis, its unit and where the image came from. Stored values become
phase labels through a mapping (``{0: 0, 255: 1}``) or a threshold (a number,
or ``"otsu"``); an integer image with neither is taken as labels already.
Every problem with the file or the arguments raises `ImageError` (a
``ValueError``) naming the file and the argument, before any work starts.

`open_image` opens the same files lazily, as an `ImageSource` that reads any
region without reading the rest: a memory map for ``.npy``, raw files and
uncompressed TIFF, chunk reads of a Zarr array or an HDF5 dataset, and page
by page (only the pages a region spans) for other TIFF stacks and folders of
slices. The studies of windows of an image read through it, one window at a
time; `segment` and `otsu_threshold` turn stored values into labels there too.

Axis order: as stored, C order. A multi-page TIFF and a folder of slices stack
their pages (slices) along axis 0, so a ``(z, y, x)`` stack gives labels of
shape ``(Nz, Ny, Nx)``, and ``spacing`` is given in that order.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from sve._validation import is_integer
from sve.microstructure import Microstructure

__all__ = [
    "FORMATS",
    "ImageError",
    "ImageSource",
    "distinct_values",
    "open_image",
    "otsu_threshold",
    "read_image",
    "segment",
]

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
#: Bytes per slab when a whole image is streamed (`ImageSource.slabs`).
SLAB_BYTES = 1 << 26


class ImageError(ValueError):
    """An image that cannot be read or segmented as asked, named with its file."""


class ImageSource:
    """A stored image opened for reading parts of it: ``shape``, ``dtype``, ``read``.

    ``read(region)`` (a tuple of slices, one per axis) returns the stored
    values of that region as a NumPy array, reading no more than the format
    needs (module docstring).
    """

    def __init__(
        self,
        shape,
        dtype,
        reader: Callable,
        closer: Callable | None = None,
        releaser: Callable | None = None,
    ):
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)
        self._reader = reader
        self._closer = closer
        self._releaser = releaser

    @property
    def ndim(self) -> int:
        """Number of axes."""
        return len(self.shape)

    def read(self, region: tuple[slice, ...] | None = None) -> np.ndarray:
        """The stored values of `region` (one slice per axis; the whole image if None)."""
        if region is None:
            region = (slice(None),) * self.ndim
        return np.asarray(self._reader(region))

    def slabs(self):
        """Consecutive regions along axis 0 of about :data:`SLAB_BYTES` each."""
        plane = math.prod(self.shape[1:]) * self.dtype.itemsize
        step = max(1, SLAB_BYTES // max(plane, 1))
        for start in range(0, self.shape[0], step):
            yield (slice(start, min(start + step, self.shape[0])),) + (slice(None),) * (
                self.ndim - 1
            )

    def release(self) -> None:
        """Unmap the pages of a memory-mapped image this process has touched; else nothing.

        The pages a read of a memory map touches stay mapped, and count in the
        process's resident memory (RSS), until the map is closed: reading windows
        scattered over a large image would make a long-lived reader hold all of it.
        After `release` they are read again from the page cache (or the file) when
        next needed; arrays already returned by `read` stay valid (they read
        through the map again).
        """
        if self._releaser is not None:
            self._releaser()

    def close(self) -> None:
        """Close the file a reader keeps open (HDF5, paged TIFF); unmap a memory map's pages."""
        self.release()
        if self._closer is not None:
            self._closer()


def open_image(
    path: str | Path,
    *,
    format: str | None = None,
    dataset: str | None = None,
    shape: tuple[int, ...] | None = None,
    dtype: str | np.dtype | None = None,
    byte_order: str = "little",
    offset: int = 0,
) -> ImageSource:
    """Open a stored image lazily: nothing but its header is read until `ImageSource.read`.

    Parameters
    ----------
    path, format, dataset, shape, dtype, byte_order, offset
        As in `read_image`.

    Returns
    -------
    ImageSource
        ``shape``, ``dtype``, ``read(region)``, ``slabs()``, ``close()``.

    Raises
    ------
    ImageError
        A missing or unreadable file, an unknown format, a missing or
        inconsistent argument.
    """
    path = Path(path)
    if not path.exists():
        raise ImageError(f"path: no such file or folder: {path}")
    format = _format(path, format)
    if format == "npy":
        return _array_source(_npy(path))
    if format == "raw":
        return _array_source(
            _raw(path, shape=shape, dtype=dtype, byte_order=byte_order, offset=offset)
        )
    if format == "tiff":
        return _tiff_source(path)
    if format == "slices":
        return _slices_source(path)
    if format == "zarr":
        return _zarr_source(path, dataset)
    return _hdf5_source(path, dataset)


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
    if mapping is not None and threshold is not None:
        raise ImageError(f"{path}: give mapping or threshold, not both")
    source = open_image(path, format=format, dataset=dataset, shape=shape, dtype=dtype,
                        byte_order=byte_order, offset=offset)  # fmt: skip
    try:
        if source.ndim not in (2, 3):
            raise ImageError(
                f"{path}: the image must be 2-D or 3-D, got {source.ndim}-D with shape "
                f"{source.shape}"
            )
        provenance = {"source": str(path), "format": _format(path, format)}
        if dataset is not None:
            provenance["dataset"] = dataset
        if threshold == "otsu":
            threshold = otsu_threshold(source)
        values = source.read()
    finally:
        source.close()
    if mapping is not None:
        provenance["mapping"] = {_key(k): v for k, v in _mapping_table(mapping, path).items()}
    elif threshold is not None:
        provenance["threshold"] = _check_threshold(threshold, path)
    labels = segment(values, mapping=mapping, threshold=threshold, where=path)
    present = distinct_values(labels)
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


def _natural_key(path: Path) -> list:
    return [
        int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)
    ]


def _slice(file: Path) -> np.ndarray:
    if file.suffix.lower() == ".png":
        import imageio.v3 as iio

        try:
            plane = iio.imread(file)
        except Exception as error:
            raise ImageError(f"{file}: not a readable PNG file ({error})") from None
    else:
        source = _tiff_source(file)
        try:
            plane = source.read()
        finally:
            source.close()
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


def _array_source(array) -> ImageSource:
    return ImageSource(
        array.shape, array.dtype, lambda region: array[region], releaser=_releaser(array)
    )


def _releaser(array) -> Callable | None:
    """A function that unmaps the touched pages of a read-only memory map (Linux, macOS);
    None for other arrays.

    ``madvise(MADV_DONTNEED)`` on a shared read-only file mapping drops this
    process's page-table entries only: the pages stay in the page cache and are
    faulted in again, unchanged, on the next access.
    """
    import mmap

    handle = getattr(array, "_mmap", None) if isinstance(array, np.memmap) else None
    advice = getattr(mmap, "MADV_DONTNEED", None)
    if handle is None or advice is None or array.mode != "r" or not hasattr(handle, "madvise"):
        return None

    def release() -> None:
        try:
            handle.madvise(advice)
        except (OSError, ValueError):  # closed, or refused by the system: nothing to drop
            pass

    return release


def _paged_source(count: int, read_plane: Callable[[int], np.ndarray], closer=None):
    """A stack of 2-D planes read one by one: a region reads only the planes it spans."""
    first = read_plane(0)
    shape = (count, *first.shape)

    def read(region):
        return np.stack([read_plane(k)[region[1:]] for k in range(*region[0].indices(count))])

    return ImageSource(shape, first.dtype, read, closer)


def _tiff_source(path: Path) -> ImageSource:
    import tifffile

    try:
        tiff = tifffile.TiffFile(path)
    except Exception as error:
        raise ImageError(f"{path}: not a readable TIFF file ({error})") from None
    series = tiff.series
    if len(series) == 1:
        try:
            mapped = tifffile.memmap(path, mode="r")
            tiff.close()
            return _array_source(mapped)
        except Exception:  # compressed or not contiguous: read page by page
            pass
    if len(series) > 1 and all(s.shape == series[0].shape for s in series):
        if len(series[0].shape) != 2:
            tiff.close()
            raise ImageError(f"{path}: series of shape {series[0].shape}; expected 2-D pages")
        return _paged_source(len(series), lambda k: series[k].asarray(), tiff.close)
    shape = series[0].shape
    if len(shape) == 3 and len(tiff.pages) == shape[0]:
        return _paged_source(shape[0], lambda k: tiff.pages[k].asarray(), tiff.close)
    values = tiff.asarray()  # one page, or a layout read whole
    tiff.close()
    return _array_source(values)


def _slices_source(path: Path) -> ImageSource:
    files = sorted(
        (p for p in path.iterdir() if p.suffix.lower() in SLICE_SUFFIXES), key=_natural_key
    )
    if not files:
        raise ImageError(f"{path}: the folder holds no slices ({', '.join(SLICE_SUFFIXES)})")
    first = _slice(files[0])

    def plane(k: int) -> np.ndarray:
        values = first if k == 0 else _slice(files[k])
        if values.shape != first.shape or values.dtype != first.dtype:
            raise ImageError(
                f"{files[k]}: slice of shape {values.shape} and dtype {values.dtype}, unlike "
                f"{files[0].name} ({first.shape}, {first.dtype})"
            )
        return values

    return _paged_source(len(files), plane)


def _zarr_source(path: Path, dataset) -> ImageSource:
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
    return _array_source(node)


def _hdf5_source(path: Path, dataset) -> ImageSource:
    try:
        import h5py
    except ImportError:
        raise ImageError(
            f"{path}: reading HDF5 needs h5py: pip install 'sve-toolkit[hdf5]'"
        ) from None
    if dataset is None:
        raise ImageError(f"{path}: an HDF5 file needs dataset= (the array's path in the file)")
    try:
        file = h5py.File(path, "r")
    except OSError as error:
        raise ImageError(f"{path}: not a readable HDF5 file ({error})") from None
    if dataset not in file or not isinstance(file[dataset], h5py.Dataset):
        file.close()
        raise ImageError(f"{path}: no dataset {dataset!r} in the HDF5 file")
    node = file[dataset]
    return ImageSource(node.shape, node.dtype, lambda region: node[region], file.close)


def _is_count(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1


def _label_dtype(highest: int) -> type:
    return np.int8 if highest <= np.iinfo(np.int8).max else np.int32


def _small_integers(values: np.ndarray) -> bool:
    """Integers of at most 16 bits: counted and mapped through tables, not sorted."""
    return np.issubdtype(values.dtype, np.integer) and values.dtype.itemsize <= 2


def distinct_values(values: np.ndarray) -> np.ndarray:
    """The distinct values of `values`, sorted (a bincount for integers of <= 16 bits)."""
    if _small_integers(values) and values.size:
        low = int(values.min())
        return np.flatnonzero(np.bincount((values.reshape(-1) - low).astype(np.intp))) + low
    return np.unique(values)


def _key(value: float) -> int | float:
    return int(value) if value.is_integer() else value


def _mapping_table(mapping: object, where) -> dict[float, int]:
    """The mapping's stored values (as floats; string keys as TOML writes them) -> labels."""
    if not isinstance(mapping, Mapping) or not mapping:
        raise ImageError(f"{where}: mapping must be a non-empty mapping, got {mapping!r}")
    table = {}
    for key, label in mapping.items():
        try:
            stored = float(key)
        except (TypeError, ValueError):
            raise ImageError(f"{where}: mapping keys must be numbers, got {key!r}") from None
        if not (is_integer(label) and label >= 0):
            raise ImageError(f"{where}: mapping values must be labels >= 0, got {label!r}")
        table[stored] = int(label)
    return table


def _check_threshold(threshold: object, where) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
        raise ImageError(f"{where}: threshold must be a number or 'otsu', got {threshold!r}")
    if not math.isfinite(threshold):
        raise ImageError(f"{where}: threshold must be finite, got {threshold!r}")
    return float(threshold)


def segment(
    values: np.ndarray,
    *,
    mapping: Mapping | None = None,
    threshold: float | None = None,
    where: object = "image",
) -> np.ndarray:
    """Phase labels of stored `values`: through `mapping`, above `threshold`, or as they are.

    Parameters
    ----------
    values : ndarray
        Stored values (any shape).
    mapping : mapping, optional
        Stored value -> label >= 0; every value present must be a key.
    threshold : float, optional
        Voxels above it are 1, the others 0 (``"otsu"``: see `otsu_threshold`).
    where : object, default "image"
        Names the file in error messages.

    Returns
    -------
    ndarray of the shape of `values`
        int8 labels (int32 when a label exceeds 127).
    """
    if mapping is not None and threshold is not None:
        raise ImageError(f"{where}: give mapping or threshold, not both")
    if mapping is not None:
        table = _mapping_table(mapping, where)
        dtype = _label_dtype(max(table.values()))
        if _small_integers(values):
            info = np.iinfo(values.dtype)
            lookup = np.full(int(info.max) - int(info.min) + 1, -1, np.int32)
            for key, label in table.items():
                if key.is_integer() and info.min <= key <= info.max:
                    lookup[int(key) - int(info.min)] = label
            labels = lookup[values.astype(np.intp) - int(info.min)]
        else:
            present = np.unique(values)
            lookup = np.array([table.get(float(v), -1) for v in present.tolist()], np.int32)
            labels = lookup[np.searchsorted(present, values)]
        if (labels < 0).any():
            unknown = [v for v in distinct_values(values).tolist() if float(v) not in table]
            raise ImageError(
                f"{where}: the image holds values outside the mapping: {unknown[:10]}"
                f"{' ...' if len(unknown) > 10 else ''} (mapping keys: {sorted(table)})"
            )
        return labels.astype(dtype)
    if threshold is not None:
        return (values > _check_threshold(threshold, where)).astype(np.int8)
    if values.dtype == np.bool_:
        return values.astype(np.int8)
    if not np.issubdtype(values.dtype, np.integer):
        raise ImageError(
            f"{where}: a grey image of dtype {values.dtype} needs threshold= (a number or "
            "'otsu') or mapping= to become phase labels"
        )
    lowest, highest = int(values.min()), int(values.max())
    if lowest < 0:
        raise ImageError(f"{where}: phase labels must be >= 0, got {lowest} (give mapping=)")
    return values.astype(_label_dtype(highest))


def otsu_threshold(source: ImageSource) -> float:
    """Otsu's threshold of the whole image's histogram, accumulated slab by slab.

    Integers of at most 16 bits are counted value by value; other values in
    256 bins between their extremes (two streamed passes). Otsu's method
    (scikit-image ``threshold_otsu`` on the histogram) maximizes the
    between-class variance; N. Otsu, IEEE Trans. Syst. Man Cybern. 9, 62-66,
    1979.
    """
    from skimage.filters import threshold_otsu

    if np.issubdtype(source.dtype, np.integer) and source.dtype.itemsize <= 2:
        low = int(np.iinfo(source.dtype).min)
        counts = np.zeros(2 ** (8 * source.dtype.itemsize), np.int64)
        for region in source.slabs():
            values = source.read(region).astype(np.int64).ravel() - low
            counts[: values.max() + 1] += np.bincount(values)
        centers = np.arange(counts.size) + low
        keep = np.flatnonzero(counts)
        counts, centers = counts[keep[0] : keep[-1] + 1], centers[keep[0] : keep[-1] + 1]
    else:
        low, high = math.inf, -math.inf
        for region in source.slabs():
            values = source.read(region)
            low, high = min(low, float(values.min())), max(high, float(values.max()))
        edges = np.linspace(low, high, 257)
        counts = np.zeros(256, np.int64)
        for region in source.slabs():
            counts += np.histogram(source.read(region), bins=edges)[0]
        centers = (edges[:-1] + edges[1:]) / 2
    if counts.size < 2:
        return float(centers[0])
    return float(threshold_otsu(hist=(counts, centers)))
