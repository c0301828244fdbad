"""`sve generate` and `sve solve`: one SVE from the command line."""

import json

import numpy as np
import pytest

from generators import laminate
from sve import apparent_conductivity
from sve.cli import main


def test_generate_then_solve(tmp_path, capsys):
    image = tmp_path / "medium.npy"
    args = [
        "generate",
        "gaussian_level_cut",
        "--size",
        "32",
        "--volume-fraction",
        "0.4",
        "--set",
        "covariance=exponential",
        "--set",
        "correlation_length=3",
        "--seed",
        "5",
        "--out",
        str(image),
    ]
    assert main(args) == 0
    phases = np.load(image)
    assert phases.shape == (32, 32) and phases.dtype == np.int8
    assert main(args) == 0  # the same seed gives the same medium
    np.testing.assert_array_equal(np.load(image), phases)
    capsys.readouterr()

    assert main(["solve", str(image), "--conductivity", "1,10", "--bc", "PBC", "--json"]) == 0
    (record,) = json.loads(capsys.readouterr().out)
    expected = apparent_conductivity(phases, [1.0, 10.0], bc="periodic")
    np.testing.assert_array_equal(record["tensor"], expected.tensor)
    assert record["converged"] and record["bc"] == "periodic"


def test_solve_laminate_every_bc(tmp_path, capsys):
    """Layers normal to axis 0: along them every BC gives the arithmetic mean (1e-8)."""
    image = tmp_path / "laminate.npy"
    np.save(image, laminate((16, 16), 0.5, axis=0))
    bcs = ["kinematic", "periodic", "mixed"]
    argv = ["solve", str(image), "--conductivity", "1,3", "--tol", "1e-12", "--json"]
    assert main(argv + [x for bc in bcs for x in ("--bc", bc)]) == 0
    records = json.loads(capsys.readouterr().out)
    for record in records:
        assert record["tensor"][1][1] == pytest.approx(2.0, rel=1e-8)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["generate", "boolean_spheres", "--size", "16", "--out", "x.npy"],
            "missing field 'radius'",
        ),
        (
            ["generate", "boolean_spheres", "--size", "16", "--set", "radius", "--out", "x.npy"],
            "--set takes KEY=VALUE",
        ),
        (
            [
                "generate",
                "voronoi_mosaic",
                "--size",
                "16",
                "--set",
                "cell_size=4",
                "--out",
                "x.png",
            ],
            "--out must end in .npy",
        ),
        (["generate", "nope", "--size", "16", "--out", "x.npy"], "generator must be one of"),
        (["solve", "missing.npy", "--conductivity", "1,2"], "no such file or folder"),
    ],
)
def test_bad_input_exits_2_naming_it(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_solve_rejects_bad_values(tmp_path, capsys):
    image = tmp_path / "m.npy"
    np.save(image, laminate((8, 8), 0.5))
    assert main(["solve", str(image), "--conductivity", "1,-2"]) == 2
    assert "conductivity" in capsys.readouterr().err
    assert main(["solve", str(image), "--conductivity", "1,2", "--bc", "sideways"]) == 2
    assert "bc must be one of" in capsys.readouterr().err


def test_solve_stiffness_matches_the_python_api(tmp_path, capsys):
    """`--stiffness` once per phase gives the tensor of `apparent_stiffness`, bit for bit."""
    from sve.solvers import apparent_stiffness

    image = tmp_path / "laminate.npy"
    phases = laminate((8, 8), 0.5, axis=0)
    np.save(image, phases)
    argv = ["solve", str(image), "--stiffness", "E=1,nu=0.3", "--stiffness", "K=5,G=2"]
    assert main(argv + ["--bc", "KUBC", "--bc", "mixed", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    materials = [{"E": 1.0, "nu": 0.3}, {"K": 5.0, "G": 2.0}]
    for record in records:
        expected = apparent_stiffness(phases, materials, bc=record["bc"])
        tensor = np.array(record["tensor"], dtype=float)  # null (JSON) -> NaN
        np.testing.assert_array_equal(tensor, expected.tensor)
        assert record["property"].startswith("stiffness") and record["converged"]
    assert [r["bc"] for r in records] == ["kinematic", "mixed"]


def test_solve_stiffness_homogeneous_is_exact(tmp_path, capsys):
    """One isotropic phase: the Mandel tensor [[l+2m, l, 0], [l, l+2m, 0], [0, 0, 2m]]."""
    image = tmp_path / "one.npy"
    np.save(image, np.zeros((6, 6), dtype=np.int8))
    assert main(["solve", str(image), "--stiffness", "lam=1,mu=0.5", "--json"]) == 0
    (record,) = json.loads(capsys.readouterr().out)
    np.testing.assert_allclose(record["tensor"], [[2, 1, 0], [1, 2, 0], [0, 0, 1]], atol=1e-12)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--stiffness", "E=1,nu"], "--stiffness takes moduli as KEY=NUMBER"),
        (["--stiffness", "E=1,nu=0.6", "--stiffness", "E=2,nu=0.2"], "nu must be in"),
        (["--stiffness", "E=1,nu=0.2"], "one material per phase label"),
        (["--stiffness", "E=1,nu=0.2", "--conductivity", "1,2"], "not both or neither"),
        ([], "not both or neither"),
        (["--stiffness", "E=1,nu=0.2", "--stiffness", "E=2,nu=0.2", "--discretization", "fv"],
         "--discretization for --stiffness must be q1"),
    ],
)  # fmt: skip
def test_solve_stiffness_bad_input_exits_2(tmp_path, capsys, extra, message):
    image = tmp_path / "m.npy"
    np.save(image, laminate((8, 8), 0.5))
    assert main(["solve", str(image), *extra]) == 2
    assert message in capsys.readouterr().err


def test_morphology_matches_the_python_api(tmp_path, capsys):
    from generators import boolean_spheres
    from sve.morphology import integral_range, percolates, specific_surface

    image, table = tmp_path / "disks.npy", tmp_path / "s2.csv"
    phases = boolean_spheres((96, 96), 3.0, volume_fraction=0.3, rng=4).labels
    np.save(image, phases)
    assert main(["morphology", str(image), "--json", "--s2", str(table)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["volume_fraction"] == np.count_nonzero(phases == 1) / phases.size
    assert record["specific_surface"] == specific_surface(phases)
    assert record["percolates"] == percolates(phases).tolist()
    estimate = integral_range(phases)
    assert record["integral_range"] == estimate.value
    assert record["integral_range_interval"] == [estimate.low, estimate.high]
    profile = np.loadtxt(table, delimiter=",", skiprows=1)
    assert profile[0, 0] == 0.0 and profile[0, 1] == pytest.approx(record["volume_fraction"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--phase", "7"], "--phase 7 must be present"),
        (["--spacing", "-1"], "spacing"),
    ],
)
def test_morphology_bad_input_exits_2(tmp_path, capsys, argv, message):
    image = tmp_path / "m.npy"
    np.save(image, laminate((8, 8), 0.5))
    assert main(["morphology", str(image), *argv]) == 2
    assert message in capsys.readouterr().err


def test_generate_polycrystal_saves_grain_ids(tmp_path, capsys):
    image = tmp_path / "grains.npy"
    args = ["generate", "voronoi_polycrystal", "--ndim", "3", "--size", "12",
            "--set", "cell_size=4", "--seed", "2", "--out", str(image)]  # fmt: skip
    assert main(args) == 0
    grains = np.load(image)
    assert grains.shape == (12, 12, 12) and grains.dtype == np.int32
    assert f"{np.count_nonzero(np.bincount(grains.ravel()))} grains" in capsys.readouterr().out


def test_solve_with_multigrid_and_the_tensor_stopping_rule(tmp_path, capsys):
    rng = np.random.default_rng(4)
    phases = (rng.random((16, 16)) < 0.5).astype(np.int8)
    image = tmp_path / "p.npy"
    np.save(image, phases)
    args = ["solve", str(image), "--conductivity", "1,100", "--preconditioner", "multigrid",
            "--stop", "tensor", "--tol", "1e-6", "--json"]  # fmt: skip
    assert main(args) == 0
    (record,) = json.loads(capsys.readouterr().out)
    expected = apparent_conductivity(
        phases, [1.0, 100.0], preconditioner="multigrid", stop="tensor", tol=1e-6
    )
    np.testing.assert_array_equal(record["tensor"], expected.tensor)
    assert record["preconditioner"] == "multigrid" and record["stop"] == "tensor"
    assert 0 < record["tensor_accuracy"] <= 1e-6
    # The human summary names the preconditioner, here what "auto" takes for a small static
    # 3-D image (the transforms below 16^3 voxels: AUTO_TRANSFORMS_LARGEST_BOUNDED).
    cube = tmp_path / "c.npy"
    np.save(cube, (rng.random((8, 8, 8)) < 0.5).astype(np.int8))
    assert main(["solve", str(cube), "--conductivity", "1,100", "--bc", "static"]) == 0
    assert "static (q1, fft preconditioner)" in capsys.readouterr().out
    assert main(["solve", str(image), "--conductivity", "1,2", "--stop", "sideways"]) == 2
    assert "stop must be one of" in capsys.readouterr().err
    stiffness = ["--stiffness", "E=1,nu=0.3", "--stiffness", "E=2,nu=0.3"]
    assert main(["solve", str(image), *stiffness, "--stop", "tensor"]) == 2
    assert "--stop for --stiffness must be residual" in capsys.readouterr().err


def test_solve_reads_a_tiff_with_a_mapping_and_box_voxels(tmp_path, capsys):
    """Layers along axis 1 of a 255/0 TIFF: across them the arithmetic mean, along them the
    harmonic one (exact for every voxel shape)."""
    import tifffile

    grey = np.zeros((8, 8), np.uint8)
    grey[:, 4:] = 255
    tifffile.imwrite(tmp_path / "scan.tif", grey)
    argv = ["solve", str(tmp_path / "scan.tif"), "--mapping", "0=0,255=1", "--spacing", "1,3",
            "--unit", "um", "--conductivity", "1,3", "--json"]  # fmt: skip
    assert main(argv) == 0
    tensor = np.array(json.loads(capsys.readouterr().out)[0]["tensor"])
    np.testing.assert_allclose(np.diag(tensor), [2.0, 1.5], rtol=1e-6)


def test_representativity_of_a_thresholded_image(tmp_path, capsys):
    rng = np.random.default_rng(3)
    grey = np.where(rng.random((64, 64)) < 0.4, 200.0, 50.0) + rng.normal(0, 5, (64, 64))
    np.save(tmp_path / "grey.npy", grey)
    argv = ["representativity", str(tmp_path / "grey.npy"), "--threshold", "otsu",
            "--spacing", "0.5", "--unit", "mm", "--json"]  # fmt: skip
    assert main(argv) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["unit"] == "mm" and [p["phase"] for p in record["phases"]] == [0, 1]
    one = record["phases"][1]
    assert abs(one["volume_fraction"] - 0.4) < 0.05  # 4 binomial sigmas of 4096 voxels
    assert one["rve_edge_low"] <= one["rve_edge"] <= one["rve_edge_high"]
    assert main(argv[:-1]) == 0  # the table form
    assert "phase 1: volume fraction" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--mapping", "0:0"], "--mapping takes STORED=LABEL pairs"),
        (["--spacing", "1,x"], "--spacing takes comma-separated floats"),
        (["--threshold", "high"], "--threshold takes comma-separated floats"),
        (["--mapping", "0=0"], "values outside the mapping"),
    ],
)
def test_image_options_errors_name_the_option(tmp_path, capsys, argv, message):
    image = np.zeros((8, 8), np.uint8)
    image[:, 4:] = 1
    np.save(tmp_path / "labels.npy", image)
    assert main(["representativity", str(tmp_path / "labels.npy"), *argv]) == 2
    assert message in capsys.readouterr().err


def test_solve_refuses_what_does_not_fit_the_memory_limit(tmp_path, capsys):
    image = np.zeros((64, 64, 64), np.int8)
    image[:, :, 32:] = 1
    np.save(tmp_path / "big.npy", image)
    argv = ["solve", str(tmp_path / "big.npy"), "--conductivity", "1,2", "--memory-limit", "1MB"]
    assert main(argv) == 2
    assert "memory" in capsys.readouterr().err.lower()
