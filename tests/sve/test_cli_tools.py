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
        (["solve", "missing.npy", "--conductivity", "1,2"], "does not exist"),
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
