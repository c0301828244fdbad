"""Reading measured images: every format round-trips, every bad input names its file."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

import generators
from sve.images import ImageError, read_image

SPACING = (3.0, 1.0, 1.0)  # FIB-SEM-like: slices thicker than the pixels


@pytest.fixture(scope="module")
def labels() -> np.ndarray:
    """A seeded 3-D two-phase image, non-cubic so that an axis mix-up shows."""
    field = generators.gaussian_field((6, 10, 14), generators.Gaussian(length=1.0), rng=7)
    return generators.level_cut(field, 0.4)


def _write(fmt: str, folder, grey: np.ndarray):
    """Write `grey` in format `fmt`; return the path and the reading options."""
    if fmt == "tiff":
        path = folder / "scan.tif"
        tifffile.imwrite(path, grey)
        return path, {}
    if fmt == "tiff-pages":  # one page per call, appended: a multi-page stack
        path = folder / "stack.tiff"
        for plane in grey:
            tifffile.imwrite(path, plane, append=True)
        return path, {}
    if fmt == "tiff-slices":
        path = folder / "slices"
        path.mkdir()
        for index, plane in enumerate(grey):  # natural order: s2 before s10
            tifffile.imwrite(path / f"s{index}.tif", plane)
        return path, {}
    if fmt == "png-slices":
        import imageio.v3 as iio

        path = folder / "png"
        path.mkdir()
        for index, plane in enumerate(grey):
            iio.imwrite(path / f"slice_{index}.png", plane)
        return path, {}
    if fmt == "npy":
        path = folder / "scan.npy"
        np.save(path, grey)
        return path, {}
    if fmt == "raw-big":
        path = folder / "scan.raw"
        grey.astype(">u2").tofile(path)
        return path, {"shape": grey.shape, "dtype": "uint16", "byte_order": "big"}
    if fmt == "zarr":
        import zarr

        path = folder / "scan.zarr"
        group = zarr.open_group(str(path), mode="w")
        group.create_array("volume/labels", data=grey)
        return path, {"dataset": "volume/labels"}
    if fmt == "hdf5":
        h5py = pytest.importorskip("h5py")
        path = folder / "scan.h5"
        with h5py.File(path, "w") as file:
            file.create_dataset("/exp/segmented", data=grey)
        return path, {"dataset": "/exp/segmented"}
    raise AssertionError(fmt)


FORMATS = ["tiff", "tiff-pages", "tiff-slices", "png-slices", "npy", "raw-big", "zarr", "hdf5"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_round_trips(fmt, tmp_path, labels):
    grey = np.where(labels == 1, 255, 0).astype(np.uint8)
    if fmt == "raw-big":
        grey = np.where(labels == 1, 40000, 0).astype(np.uint16)
    path, options = _write(fmt, tmp_path, grey)
    stored = int(grey.max())
    image = read_image(
        path, mapping={"0": 0, str(stored): 1}, spacing=SPACING, unit="um", **options
    )
    np.testing.assert_array_equal(image.labels, labels)  # values, shape and axis order
    assert image.labels.dtype == np.int8
    assert image.spacing == SPACING and image.unit == "um"
    assert image.lengths == (18.0, 10.0, 14.0)
    assert image.provenance["source"] == str(path)
    assert image.provenance["mapping"] == {0: 0, stored: 1}


def test_labels_without_mapping_and_2d_images(tmp_path, labels):
    path = tmp_path / "plane.tif"
    tifffile.imwrite(path, labels[0].astype(np.uint8) * 3)  # labels 0 and 3 kept as they are
    image = read_image(path)
    np.testing.assert_array_equal(image.labels, labels[0] * 3)
    assert image.spacing == (1.0, 1.0) and image.unit == "voxel"


def test_thresholds_fixed_and_otsu(tmp_path):
    rng = np.random.default_rng(11)
    truth = np.zeros((32, 32), np.int8)
    truth[:, 12:] = 1
    grey = np.where(truth == 1, 180.0, 60.0) + rng.normal(0.0, 10.0, truth.shape)
    np.save(tmp_path / "grey.npy", grey.astype(np.float32))
    fixed = read_image(tmp_path / "grey.npy", threshold=120.0)
    otsu = read_image(tmp_path / "grey.npy", threshold="otsu")
    np.testing.assert_array_equal(fixed.labels, truth)  # 6 sigma from each mode
    np.testing.assert_array_equal(otsu.labels, truth)
    assert 60.0 < otsu.provenance["threshold"] < 180.0  # between the two class means


def test_a_raw_file_with_a_header(tmp_path, labels):
    path = tmp_path / "scan.vol"
    path.write_bytes(b"H" * 16 + labels.astype("<i2").tobytes())
    image = read_image(path, shape=labels.shape, dtype="int16", offset=16)
    np.testing.assert_array_equal(image.labels, labels)


@pytest.mark.parametrize(
    ("name", "options", "text"),
    [
        ("missing.tif", {}, "no such file or folder"),
        ("scan.xyz", {}, "unknown image format '.xyz'"),
        ("scan.npy", {"format": "jpeg"}, "format must be one of"),
        ("scan.npy", {"mapping": {0: 0}}, r"values outside the mapping: \[1\]"),
        ("scan.npy", {"mapping": {0: 0, 1: -1}}, "mapping values must be labels >= 0"),
        ("scan.npy", {"mapping": {"a": 0}}, "mapping keys must be numbers"),
        ("scan.npy", {"mapping": {0: 0, 1: 1}, "threshold": 0.5}, "not both"),
        ("scan.npy", {"threshold": "median"}, "threshold must be a number or 'otsu'"),
        ("scan.npy", {"threshold": 5.0}, r"holds 1 phase\(s\)"),
        ("scan.npy", {"spacing": (1.0, 2.0, 3.0)}, "spacing must have one entry per axis"),
        ("grey.npy", {}, "needs threshold="),
        ("line.npy", {}, "must be 2-D or 3-D"),
        ("scan.raw", {}, "needs shape= and dtype="),
        ("scan.raw", {"shape": (4, 4), "dtype": "uint8"}, "has 64 bytes, but shape=.4, 4."),
        ("scan.raw", {"shape": (4, 16), "dtype": "uint8", "byte_order": "middle"}, "byte_order"),
        ("group.zarr", {}, "a Zarr group needs dataset="),
        ("group.zarr", {"dataset": "nope"}, "no array 'nope'"),
        ("bad.tif", {}, "not a readable TIFF file"),
        ("empty", {}, "holds no slices"),
        ("mixed", {}, "unlike"),
    ],
)
def test_bad_input_names_the_file_and_the_argument(name, options, text, tmp_path):
    import zarr

    image = np.zeros((4, 16), np.uint8)
    image[:, 8:] = 1
    np.save(tmp_path / "scan.npy", image)
    np.save(tmp_path / "grey.npy", image.astype(float))
    np.save(tmp_path / "line.npy", image[0])
    image.tofile(tmp_path / "scan.raw")
    (tmp_path / "scan.xyz").write_bytes(b"")
    (tmp_path / "bad.tif").write_bytes(b"not a tiff")
    zarr.open_group(str(tmp_path / "group.zarr"), mode="w").create_array("a", data=image)
    (tmp_path / "empty").mkdir()
    (tmp_path / "mixed").mkdir()
    tifffile.imwrite(tmp_path / "mixed" / "a1.tif", image)
    tifffile.imwrite(tmp_path / "mixed" / "a2.tif", image[:, :8])
    with pytest.raises(ImageError, match=text) as caught:
        read_image(tmp_path / name, **options)
    assert str(tmp_path / name) in str(caught.value) or name in {"mixed"}
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("fmt", ["tiff", "tiff-pages", "tiff-slices", "npy", "zarr", "hdf5"])
def test_open_image_reads_regions_and_slabs(fmt, tmp_path, labels):
    from sve.images import open_image

    path, options = _write(fmt, tmp_path, labels.astype(np.uint8))
    source = open_image(path, **options)
    try:
        assert source.shape == labels.shape and source.ndim == 3
        region = (slice(1, 4), slice(2, 9), slice(0, 5))
        np.testing.assert_array_equal(source.read(region), labels[region])
        np.testing.assert_array_equal(
            np.concatenate([source.read(r) for r in source.slabs()]), labels
        )
    finally:
        source.close()


def test_segment_by_table_and_by_search_agree():
    from sve.images import segment

    small = np.array([[0, 255], [128, 0]], np.uint8)
    wide = small.astype(np.float64)
    mapping = {"0": 0, "128": 2, "255": 1}
    np.testing.assert_array_equal(segment(small, mapping=mapping), [[0, 1], [2, 0]])
    np.testing.assert_array_equal(segment(wide, mapping=mapping), [[0, 1], [2, 0]])
    with pytest.raises(ImageError, match=r"outside the mapping: \[128\]"):
        segment(small, mapping={0: 0, 255: 1}, where="scan.tif")
