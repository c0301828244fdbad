"""Studies of windows of a measured image: spec, reading, windows, void phases, runs.

The repository ships no measured data: every image here is made by the
generators (or by hand, for exact answers) and written by the test in the
format under test.
"""

import copy
import json
import warnings

import numpy as np
import pytest
import xarray as xr

import generators
import sve.images
from sve.solvers import apparent_conductivity
from sve.study import SpecError, load_spec, open_study, run_study
from sve.study import image as image_module
from sve.study.percolation import percolation_summary
from sve.study.schema import STATUS, empty_dataset
from sve.study.store import create_store
from sve.study.tasks import solve_batch, sve_microstructure
from sve.study.windows import generate_parent, window_count, window_origin

tifffile = pytest.importorskip("tifffile")


def level_cut(shape, seed=1, length=2.0):
    """Phase labels (int8) of a level cut at fraction 1/2."""
    model = generators.covariance_model("gaussian", correlation_length=length)
    with warnings.catch_warnings():  # small test images: a clipped embedding is harmless
        warnings.simplefilter("ignore", generators.ClippedEmbeddingWarning)
        field = generators.gaussian_field(shape, model, rng=np.random.default_rng(seed))
    return np.asarray(generators.level_cut(field, 0.5), dtype=np.int8)


def write(labels, folder, fmt):
    """Write labels as grey 0/255 in ``fmt``; returns the medium table's format fields."""
    grey = labels.astype(np.uint8) * 255
    if fmt == "npy":
        np.save(folder / "scan.npy", grey)
        return {"image": str(folder / "scan.npy")}
    if fmt == "tiff":
        tifffile.imwrite(folder / "scan.tif", grey)
        return {"image": str(folder / "scan.tif")}
    if fmt == "tiff_compressed":  # not memory-mappable: read page by page
        tifffile.imwrite(folder / "scan.tif", grey, compression="zlib")
        return {"image": str(folder / "scan.tif")}
    if fmt == "slices":
        (folder / "slices").mkdir()
        for k, plane in enumerate(grey):
            tifffile.imwrite(folder / "slices" / f"s{k}.tif", plane)
        return {"image": str(folder / "slices")}
    if fmt == "raw":
        grey.astype(">u2").tofile(folder / "scan.raw")
        return {"image": str(folder / "scan.raw"), "shape": list(grey.shape),
                "dtype": "uint16", "byte_order": "big"}  # fmt: skip
    if fmt == "zarr":
        zarr = pytest.importorskip("zarr")
        group = zarr.open_group(str(folder / "scan.zarr"), mode="w")
        group.create_array("seg", data=grey, chunks=(4,) * grey.ndim)
        return {"image": str(folder / "scan.zarr"), "dataset": "seg"}
    if fmt == "hdf5":
        h5py = pytest.importorskip("h5py")
        with h5py.File(folder / "scan.h5", "w") as file:
            file["a/seg"] = grey
        return {"image": str(folder / "scan.h5"), "dataset": "a/seg"}
    raise ValueError(fmt)


def spec_data(medium, **sampling):
    sizes = {} if "lengths" in sampling else {"sizes": [4, 8]}
    return {
        "name": "image",
        "seed": 5,
        "medium": {"mapping": {"0": 0, "255": 1}, "unit": "um", **medium},
        "property": {"name": "conductivity", "phases": [1.0, 10.0]},
        "sampling": {**sizes, "realizations": 6, **sampling},
        "solver": {"bc": ["mixed"], "tol": 1e-8, "batch": 3},
    }


def solved(spec):
    """The study solved in this process (no Dask): what run_study must reproduce."""
    ds = empty_dataset(spec)
    for k, size in enumerate(spec.sizes):
        for name, values in solve_batch(spec, size, range(spec.realizations)).items():
            ds[name].values[k] = values
    return ds


@pytest.fixture(autouse=True)
def _fresh_cache():
    image_module._cached_source.cache_clear()
    image_module._scan_cached.cache_clear()
    yield
    image_module._cached_source.cache_clear()


# ----------------------------------------------------------------- spec and formats


@pytest.mark.parametrize(
    "fmt", ["npy", "tiff", "tiff_compressed", "slices", "raw", "zarr", "hdf5"]
)
def test_every_format_gives_the_windows_of_the_image(tmp_path, fmt):
    labels = level_cut((6, 12, 16))
    spec = load_spec(spec_data(write(labels, tmp_path, fmt), sizes=[3, 6]))
    assert spec.ndim == 3 and spec.medium["image_shape"] == (6, 12, 16)
    assert spec.medium["volume_fraction"] == pytest.approx(labels.mean(), abs=0)
    assert len(spec.medium["sha256"]) == 64
    for size in spec.sizes:
        for w in range(window_count(spec, size)):
            sve = sve_microstructure(spec, size, w)
            corner = window_origin(spec, size, w)
            region = tuple(slice(c, c + size) for c in corner)
            np.testing.assert_array_equal(sve.labels, labels[region])
            assert sve.origin == corner and sve.unit == "um"
            assert sve.provenance["sha256"] == spec.medium["sha256"]
    # tiles per axis: 6 // 3 * 12 // 3 * 16 // 3 = 40 windows, 6 used, spread over them
    assert window_count(spec, 3) == 6 and window_count(spec, 6) == 1 * 2 * 2


def test_relative_image_path_is_read_from_the_spec_files_folder(tmp_path, monkeypatch):
    (tmp_path / "study").mkdir()
    np.save(tmp_path / "study" / "scan.npy", level_cut((16, 16)).astype(np.uint8) * 255)
    (tmp_path / "study" / "spec.toml").write_text(
        'name = "x"\nseed = 1\n[medium]\nimage = "scan.npy"\nmapping = {0 = 0, 255 = 1}\n'
        '[property]\nname = "conductivity"\nphases = [1.0, 2.0]\n'
        "[sampling]\nsizes = [4, 8]\nrealizations = 4\n"
    )
    monkeypatch.chdir(tmp_path)  # not the spec's folder
    spec = load_spec(tmp_path / "study" / "spec.toml")
    assert spec.medium["image"] == str(tmp_path / "study" / "scan.npy")
    assert spec.sampling_mode == "windows" and spec.window_placement == "tiles"
    # a dict is relative to the working directory
    data = spec_data({"image": "study/scan.npy"})
    assert load_spec(data).medium["image"] == str(tmp_path / "study" / "scan.npy")
    # the spec's JSON text (a store's) reads back to the same spec without the file
    text = spec.to_json()
    (tmp_path / "study" / "scan.npy").unlink()
    assert type(spec).from_json(text) == spec


def test_grey_image_with_a_threshold_and_otsu(tmp_path):
    rng = np.random.default_rng(0)
    labels = level_cut((32, 32))
    grey = np.where(labels == 1, 180.0, 40.0) + rng.normal(0, 5, labels.shape)
    np.save(tmp_path / "grey.npy", grey.astype(np.float32))
    data = spec_data({"image": str(tmp_path / "grey.npy"), "threshold": 110.0})
    del data["medium"]["mapping"]
    spec = load_spec(data)
    assert spec.medium["volume_fraction"] == labels.mean()
    corner = window_origin(spec, 8, 1)
    expected = labels[corner[0] : corner[0] + 8, corner[1] : corner[1] + 8]
    np.testing.assert_array_equal(sve_microstructure(spec, 8, 1).labels, expected)
    # Otsu's threshold lies between the two modes (the histogram has 256 bins: it may
    # sit at the edge of the lower mode, within a bin of its largest value)
    data["medium"]["threshold"] = "otsu"
    spec = load_spec(data)
    assert 50 < spec.medium["otsu_threshold"] < 160
    assert abs(spec.medium["volume_fraction"] - labels.mean()) <= 2 / labels.size


@pytest.fixture
def npy_image(tmp_path):
    grey = level_cut((16, 16)).astype(np.uint8) * 255
    np.save(tmp_path / "scan.npy", grey)
    return tmp_path / "scan.npy"


def _spec_error(data, *parts):
    with pytest.raises(SpecError) as info:
        load_spec(data)
    for part in parts:
        assert part in str(info.value), str(info.value)
    return str(info.value)


def test_bad_images_and_fields_are_refused_by_name(tmp_path, npy_image):
    path = str(npy_image)
    _spec_error(spec_data({"image": str(tmp_path / "nope.tif")}), "medium.image", "nope.tif")
    _spec_error(spec_data({"image": path, "mapping": {"0": 0}}), "medium.mapping", path, "255")
    _spec_error(spec_data({"image": path, "mapping": {"0": 1, "255": 1}}),
                "medium.image", path, "one phase")  # fmt: skip
    _spec_error(spec_data({"image": path, "mapping": {"0": 0, "255": 2}}),
                "medium.mapping['255']", "0 or 1")  # fmt: skip
    np.save(tmp_path / "line.npy", np.arange(8, dtype=np.uint8))
    _spec_error(spec_data({"image": str(tmp_path / "line.npy")}), "medium.image", "2-D or 3-D")
    np.save(tmp_path / "float.npy", np.ones((8, 8)))
    data = spec_data({"image": str(tmp_path / "float.npy")})
    del data["medium"]["mapping"]
    _spec_error(data, "medium.mapping", "float.npy", "grey")
    _spec_error(spec_data({"image": path, "voxel_size": [1.0, 2.0, 3.0]}), "medium.voxel_size")
    _spec_error(spec_data({"image": path, "colour": 1}), "medium.colour")
    _spec_error(spec_data({"image": path}, sizes=[4, 32]), "sampling.sizes[1]", path, "16 x 16")
    _spec_error(spec_data({"image": path, "voxel_size": [1.0, 3.0]}, sizes=[2, 4]),
                "sampling.sizes[0]", "2 voxels per axis")  # fmt: skip
    _spec_error(spec_data({"image": path}, mode="independent"), "sampling.mode")
    _spec_error(spec_data({"image": path}, spacing=0.5), "sampling.spacing")
    _spec_error(spec_data({"image": path}, parent_size=16), "sampling.parent_size")
    _spec_error(spec_data({"image": path}, windows="grid"), "sampling.windows")
    _spec_error(spec_data({"image": path}, target_precision=5), "sampling.target_precision")
    _spec_error(spec_data({"image": path, "shape": [4, 4]}), "medium.shape", "raw")
    (tmp_path / "scan.raw").write_bytes(bytes(10))
    _spec_error(spec_data({"image": str(tmp_path / "scan.raw"), "shape": [4, 4],
                           "dtype": "uint8"}), "medium.image", "scan.raw", "16")  # fmt: skip
    generated = {"generator": "gaussian_level_cut", "ndim": 2, "covariance": "gaussian",
                 "correlation_length": 2.0, "volume_fraction": 0.5}  # fmt: skip
    data = spec_data({})
    data["medium"] = generated
    data["sampling"]["windows"] = "random"
    _spec_error(data, "sampling.windows", "medium.image")


def test_a_changed_image_is_refused_on_resume(tmp_path, npy_image):
    spec = load_spec(spec_data({"image": str(npy_image)}))
    create_store(spec, tmp_path / "s.zarr")
    grey = np.load(npy_image)
    grey[0, 0] = 255 - grey[0, 0]
    np.save(npy_image, grey)
    changed = load_spec(spec_data({"image": str(npy_image)}))
    assert changed.medium["sha256"] != spec.medium["sha256"]
    with pytest.raises(ValueError, match="another version of the image"):
        create_store(changed, tmp_path / "s.zarr")
    # the store's own spec text names the old hash: validating it against the file fails
    data = json.loads(spec.to_json())
    _spec_error(data, "medium.sha256", "changed")


# ----------------------------------------------------------------- windows


def test_box_voxels_give_windows_that_are_cubes_in_physical_length(tmp_path):
    labels = level_cut((24, 24, 8))
    medium = {**write(labels, tmp_path, "npy"), "voxel_size": [0.5, 0.5, 1.5]}
    spec = load_spec(spec_data(medium, lengths=[3.0, 6.0]))
    assert spec.sizes == (6, 12) and spec.spacing == 0.5 and spec.length_unit == "um"
    ds = empty_dataset(spec)
    np.testing.assert_array_equal(ds["window_shape"].values, [[6, 6, 2], [12, 12, 4]])
    np.testing.assert_allclose(ds["length"].values, [3.0, 6.0])
    # tiles per axis: 4 * 4 * 4 = 64 at size 6 (6 used), 2 * 2 * 2 = 8 at size 12 (6 used)
    np.testing.assert_array_equal(ds["window_count"].values, [6, 6])
    for k, size in enumerate(spec.sizes):
        corners = ds["window_origin"].values[k, : ds["window_count"].values[k]]
        shape = ds["window_shape"].values[k]
        assert len({tuple(c) for c in corners}) == len(corners)
        assert ((corners % shape) == 0).all() and (corners + shape <= (24, 24, 8)).all()
        sve = sve_microstructure(spec, size, 0)
        assert sve.spacing == (0.5, 0.5, 1.5)
        np.testing.assert_allclose(sve.lengths, (size * 0.5,) * 3)
    # 2-D, (1, 3): a size of 6 finest voxels is 6 x 2
    (tmp_path / "flat").mkdir()
    medium = {**write(level_cut((24, 24))[:, :12], tmp_path / "flat", "npy"),
              "voxel_size": [1.0, 3.0]}  # fmt: skip
    spec = load_spec(spec_data(medium, sizes=[6, 12]))
    assert spec.window_shape(6) == (6, 2) and spec.window_shape(12) == (12, 4)
    assert window_count(spec, 12) == 2 * 3


def test_laminate_image_windows_are_exact_with_box_voxels(tmp_path):
    """Layers normal to axis 0: periodic windows give the arithmetic mean along the
    layers and the harmonic mean across them, whatever the voxel's aspect ratio.
    """
    rng = np.random.default_rng(4)
    layers = (rng.random(24) < 0.5).astype(np.int8)
    labels = np.broadcast_to(layers[:, None, None], (24, 24, 12)).copy()
    medium = {**write(labels, tmp_path, "npy"), "voxel_size": [1.0, 1.0, 3.0]}
    data = spec_data(medium, sizes=[6, 12], realizations=4)
    data["solver"] = {"bc": ["periodic"], "tol": 1e-10}
    spec = load_spec(data)
    ds = solved(spec)
    k0, k1 = spec.phases
    for s, size in enumerate(spec.sizes):
        for w in range(window_count(spec, size)):
            corner = window_origin(spec, size, w)
            f = layers[corner[0] : corner[0] + size].mean()
            assert ds["volume_fraction"].values[s, w] == f
            tensor = ds["conductivity"].values[s, w, 0]
            along, across = (1 - f) * k0 + f * k1, 1 / ((1 - f) / k0 + f / k1)
            np.testing.assert_allclose(np.diag(tensor), [across, along, along], rtol=1e-8)


def test_random_windows_are_seeded_and_flagged(tmp_path, npy_image):
    spec = load_spec(spec_data({"image": str(npy_image)}, windows="random", realizations=20))
    ds = empty_dataset(spec)
    corners = ds["window_origin"].values
    assert (ds["window_count"].values == 20).all() and (corners >= 0).all()
    assert (corners[0] + 4 <= 16).all() and (corners[1] + 8 <= 16).all()
    assert len({tuple(c) for c in corners[0]}) > 10  # positions vary
    assert ds.attrs["windows_overlap"].startswith("yes") and "window_seeding_scheme" in ds.attrs
    again = empty_dataset(load_spec(spec.to_dict()))
    np.testing.assert_array_equal(again["window_origin"].values, corners)
    other = load_spec({**spec.to_dict(), "seed": 6})
    assert not np.array_equal(empty_dataset(other)["window_origin"].values, corners)
    assert json.loads(ds.attrs["image"])["sha256"] == spec.medium["sha256"]


def test_windows_are_read_lazily(tmp_path, monkeypatch):
    """A folder of slices: a study reads only the slices its windows span (each task
    once per window), plus the first slice when it opens the folder.
    """
    labels = level_cut((16, 8, 8))
    spec = load_spec(spec_data(write(labels, tmp_path, "slices"), sizes=[4], realizations=3))
    read = []
    original = sve.images._slice
    monkeypatch.setattr(sve.images, "_slice", lambda file: read.append(file.name)
                        or original(file))  # fmt: skip
    image_module._cached_source.cache_clear()
    solve_batch(spec, 4, range(3))
    spanned = []
    for w in range(3):
        z = window_origin(spec, 4, w)[0]
        spanned += [f"s{k}.tif" for k in range(z, z + 4)]
    # the opened folder keeps its first slice: a window that starts there reads it no more
    assert read == ["s0.tif", *(name for name in spanned if name != "s0.tif")]
    assert len(set(read)) < 16  # the image has 16 slices; the study read 9 of them


def test_zarr_windows_read_only_their_chunks(tmp_path, monkeypatch):
    """A Zarr image: the solves of a study fetch only the chunks their windows span."""
    zarr = pytest.importorskip("zarr")
    labels = level_cut((16, 8, 8))
    spec = load_spec(spec_data(write(labels, tmp_path, "zarr"), sizes=[4], realizations=3))
    fetched = []

    class CountingStore(zarr.storage.LocalStore):
        async def get(self, key, prototype, byte_range=None):
            if "/c/" in key:  # a chunk, not metadata
                fetched.append(key)
            return await super().get(key, prototype, byte_range)

    original = zarr.open
    monkeypatch.setattr(zarr, "open", lambda path, mode: original(
        store=CountingStore(path, read_only=True), mode=mode))  # fmt: skip
    image_module._cached_source.cache_clear()
    solve_batch(spec, 4, range(3))
    spanned = set()
    for w in range(3):
        origin = window_origin(spec, 4, w)
        assert all(o % 4 == 0 for o in origin)  # tiles: each one chunk of edge 4
        spanned.add("seg/c/" + "/".join(str(o // 4) for o in origin))
    assert set(fetched) == spanned and len(fetched) == 3  # 3 of the 16 chunks, once each


# ----------------------------------------------------------------- void phases


def channels(shape, period=3):
    """Straight channels of phase 1 along axis 1 (rows i % period == 0), phase 0 elsewhere."""
    labels = np.zeros(shape, np.int8)
    labels[::period] = 1
    return labels


@pytest.mark.parametrize("discretization", ["q1", "fv"])
def test_straight_channels_tortuosity_one_along_zero_across(tmp_path, discretization):
    labels = channels((24, 24))
    labels[:, 2] = 1  # one column in the left tiles: they percolate across as well
    data = spec_data(write(labels, tmp_path, "npy"), sizes=[12], realizations=4)
    data["property"]["phases"] = [0.0, 2.0]
    data["solver"] = {"bc": ["periodic", "mixed"], "tol": 1e-10,
                      "discretization": discretization}  # fmt: skip
    spec = load_spec(data)
    assert spec.conducting_phase == 1
    ds = solved(spec)
    assert (ds["status"] == STATUS["ok"]).all()
    left = [w for w in range(4) if window_origin(spec, 12, w)[1] == 0]
    right = [w for w in range(4) if w not in left]
    # along the channels (axis 1), right tiles: straight channels only, tau = 1 exactly
    np.testing.assert_allclose(ds["tortuosity"].values[0, right, :, 1], 1.0, rtol=1e-8)
    assert (ds["percolating"].values[0, :, :, 1] == 1).all()
    # across (axis 0): right tiles do not percolate, conductivity exactly 0, tau NaN
    assert (ds["percolating"].values[0, right, :, 0] == 0).all()
    assert (ds["conductivity"].values[0, right, :, 0, 0] == 0).all()
    assert np.isnan(ds["tortuosity"].values[0, right, :, 0]).all()
    assert (ds["percolating"].values[0, left, :, 0] == 1).all()
    summary = percolation_summary(ds)
    np.testing.assert_array_equal(summary["percolating_fraction"].values[0, :, 0], 0.5)
    np.testing.assert_array_equal(summary["percolating_fraction"].values[0, :, 1], 1.0)
    # per size: mean phi D0 over the mean conductivity, non-percolating windows as 0
    phi = ds["volume_fraction"].values[0].mean()
    for b in range(2):
        across = ds["conductivity"].values[0, left, b, 0, 0].sum() / 4
        assert summary["tortuosity"].values[0, b, 0] == pytest.approx(phi * 2.0 / across)
    assert np.isfinite(summary["tortuosity"].values).all()


def test_a_void_phase_in_a_generated_study(tiny_spec_data):
    data = tiny_spec_data(property={"phases": [0.0, 1.0]}, sampling={"sizes": [6, 9]})
    spec = load_spec(data)
    out = solve_batch(spec, 9, range(3))
    assert out["percolating"].shape == (3, 1, 2) and set(out["percolating"].ravel()) <= {0, 1}
    flags = out["percolating"].astype(bool)
    assert np.isnan(out["tortuosity"][~flags]).all() and (out["tortuosity"][flags] >= 1).all()
    with pytest.raises(SpecError, match="one conducting phase"):
        load_spec(tiny_spec_data(property={"phases": [0.0, 0.0]}))
    swept = tiny_spec_data(sweep={"property.phases[0]": [0.0, 0.5]})
    with pytest.raises(SpecError, match=r'sweep\."property\.phases\[0\]" must not make'):
        load_spec(swept)
    swept["sweep"] = {"property.phases[0]": [0.0, 0.0]}
    with pytest.raises(SpecError, match="distinct"):
        load_spec(swept)


# ----------------------------------------------------------------- generated SVEs


def test_generated_windows_are_microstructures_and_results_unchanged(tiny_spec_data):
    data = tiny_spec_data(sampling={"sizes": [6, 9], "realizations": 4, "mode": "windows",
                                    "parent_size": 18})  # fmt: skip
    data["solver"]["bc"] = ["kinematic"]
    spec = load_spec(data)
    out = solve_batch(spec, 6, range(4))
    parent = generate_parent(spec)
    for w in range(4):
        sve = sve_microstructure(spec, 6, w)
        corner = window_origin(spec, 6, w)
        assert sve.origin == corner
        assert sve.provenance["generator"] == "gaussian_level_cut"
        assert (sve.provenance["seed"], sve.provenance["realization"]) == (spec.seed, w)
        # what the study solved before SVEs were microstructures: the plain window array
        window = np.array(parent[tuple(slice(c, c + 6) for c in corner)])
        before = apparent_conductivity(window, list(spec.phases), bc="kinematic",
                                       spacing=spec.spacing, tol=spec.tol)  # fmt: skip
        np.testing.assert_array_equal(out["conductivity"][w, 0], before.tensor)


def test_fixture_store_records_are_recomputed():
    """The committed store of before issue 16: independent SVEs, now microstructures.

    The same media, volume fractions and iteration counts, bit for bit; the tensors and
    residuals to rounding only: issue 18 sums the conjugate gradient's dot products of
    small fields in eight lanes (``pcg_kernels.lane_dot``), which moved the tensors by at
    most 1.4e-13 relative to their largest entry and the final residuals (about 1e-8) by
    at most 4e-7 of themselves. Resuming such a store mixes records of both codes.
    """
    from pathlib import Path

    fixtures = Path(__file__).parents[2] / "fixtures"
    ds = open_study(fixtures / "store_v0.zarr").load()
    spec = load_spec(fixtures / "store_v0.toml")
    for k, size in enumerate(spec.sizes):
        out = solve_batch(spec, size, range(spec.realizations))
        for name in ("volume_fraction", "iterations"):
            np.testing.assert_array_equal(out[name], ds[name].values[k])
        stored = ds["conductivity"].values[k]
        scale = np.abs(stored).max(axis=(-2, -1), keepdims=True)
        assert np.all(np.abs(out["conductivity"] - stored) <= 1e-12 * scale)
        np.testing.assert_allclose(out["residual"], ds["residual"].values[k], rtol=1e-5)


# ----------------------------------------------------------------- runs


def results(ds: xr.Dataset) -> xr.Dataset:
    out = ds.drop_vars("wall_time")
    out.attrs = {k: v for k, v in ds.attrs.items()
                 if k not in ("runs", "versions", "whole_image_budget")}  # fmt: skip
    return out


@pytest.mark.slow
def test_image_study_runs_resumes_and_matches_in_process(tmp_path):
    labels = level_cut((32, 32, 8))
    data = spec_data({**write(labels, tmp_path, "tiff"), "voxel_size": [1.0, 1.0, 2.0]},
                     sizes=[4, 8], realizations=6)  # fmt: skip
    data["property"]["phases"] = [0.0, 1.0]
    data["solver"]["discretization"] = "fv"
    (tmp_path / "spec.toml").write_text(_toml(data))
    store = tmp_path / "study.zarr"
    ds = run_study(tmp_path / "spec.toml", store=store, workers=1)
    reference = solved(load_spec(tmp_path / "spec.toml"))
    for name in ("conductivity", "volume_fraction", "percolating", "tortuosity", "status"):
        np.testing.assert_array_equal(ds[name].values, reference[name].values)
    assert (ds["status"].values == STATUS["ok"]).all()
    before = open_study(store).load()
    again = run_study(tmp_path / "spec.toml", store=store, workers=2)  # nothing to do
    after = open_study(store).load()
    xr.testing.assert_identical(after.drop_attrs(), before.drop_attrs())
    xr.testing.assert_identical(results(again), results(ds))


def _toml(data) -> str:
    lines = [f'name = "{data["name"]}"', f"seed = {data['seed']}"]
    for table in ("medium", "property", "sampling", "solver"):
        lines.append(f"[{table}]")
        for key, value in data[table].items():
            lines.append(f"{key} = {_value(value)}")
    return "\n".join(lines) + "\n"


def _value(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


@pytest.mark.slow
def test_image_study_is_the_same_on_one_and_two_workers(tmp_path):
    labels = level_cut((48, 48))
    data = spec_data(write(labels, tmp_path, "npy"), sizes=[6, 12, 24], realizations=8)
    data["solver"]["batch"] = 2
    one = run_study(copy.deepcopy(data), workers=1)
    two = run_study(copy.deepcopy(data), workers=2)
    xr.testing.assert_identical(results(one), results(two))


# ----------------------------------------------------------------- report


def exact_law_dataset(tmp_path):
    """Windows whose isotropic value is 3 ± 2/L (alternating): the variance law is
    exactly D² = 4/L² · n/(n − 1), so the answers at the image's size are known.
    """
    labels = np.zeros((200, 200), np.int8)
    labels[:, ::2] = 1
    data = spec_data(write(labels, tmp_path, "npy"), sizes=[5, 10, 20, 40], realizations=24,
                     target_precision=0.005)  # fmt: skip
    data["property"]["phases"] = [0.0, 1.0]
    spec = load_spec(data)
    ds = empty_dataset(spec)
    n = spec.realizations
    for k, size in enumerate(spec.sizes):
        value = 3 + 2 / size * np.where(np.arange(n) % 2, 1.0, -1.0)
        ds["conductivity"].values[k, :, 0] = value[:, None, None] * np.eye(2)
    ds["volume_fraction"].values[:] = 0.5
    ds["status"].values[:] = STATUS["ok"]
    ds["percolating"].values[:] = 1
    return ds


Z = 1.959963984540054  # the normal quantile of the report's 95 %


def test_image_answers_from_an_exact_variance_law(tmp_path):
    from sve.report import key_numbers

    ds = exact_law_dataset(tmp_path)
    n, z = ds.sizes["realization"], Z
    numbers = key_numbers(ds).sel(bc="mixed")
    spread = z * 2 / 200 * np.sqrt(n / (n - 1))  # z D at L_image = 200 voxels of 1 um
    assert float(numbers["image_value"]) == pytest.approx(3.0, rel=1e-12)
    assert float(numbers["image_value_high"]) == pytest.approx(3 + spread, rel=1e-9)
    assert float(numbers["image_relative_error"]) == pytest.approx(spread / 3, rel=1e-9)
    assert not bool(numbers["image_representative"])  # 0.66 % > 0.5 %
    edge = z * 2 * np.sqrt(n / (n - 1)) / (3 * 0.005)
    assert float(numbers["image_rve_length"]) == pytest.approx(edge, rel=1e-9)


@pytest.mark.slow
def test_report_of_an_image_study_answers_at_the_top(tmp_path):
    from sve.report import write_report

    ds = exact_law_dataset(tmp_path)
    n = ds.sizes["realization"]
    edge = Z * 2 * np.sqrt(n / (n - 1)) / (3 * 0.005)
    write_report(ds, tmp_path / "report")
    text = (tmp_path / "report" / "report.md").read_text()
    top = text.split("## ")[0]
    assert "is not representative at the target precision 0.5 %" in top
    assert f"the edge that would be is {edge:.3g} um" in top
    assert "## Percolation and tortuosity" in text
