"""``sve calibrate``: a TIFF in, the fit and the [medium] section out, bad input exits 2."""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pytest
import tifffile

import generators
from sve import calibrate, read_image
from sve.cli import main


@pytest.fixture
def scan(tmp_path):
    """A 128^2 exponential level cut (length 4 voxels of 0.5 um) stored as 0/255 in a TIFF."""
    field = generators.gaussian_field((128, 128), generators.Exponential(4.0), rng=3)
    labels = generators.level_cut(field, 0.35, exact=False)
    path = tmp_path / "scan.tif"
    tifffile.imwrite(path, labels.astype(np.uint8) * np.uint8(255))
    return path


def test_calibrate_writes_the_medium_of_the_python_api(scan, tmp_path, capsys):
    out = tmp_path / "medium.toml"
    argv = ["calibrate", str(scan), "--mapping", "0=0,255=1", "--spacing", "0.5", "--unit"]
    argv += ["um", "--models", "exponential,gaussian", "--seed", "4", "--out", str(out), "--json"]
    assert main(argv) == 0
    record = json.loads(capsys.readouterr().out)
    image = read_image(scan, mapping={"0": 0, "255": 1}, spacing=0.5, unit="um")
    expected = calibrate(image, models=("exponential", "gaussian"), seed=4)
    assert record["model"] == expected.model == "exponential"
    assert record["parameters"] == expected.to_dict()["parameters"]
    assert record["unit"] == "um" and record["out"] == str(out)
    medium = tomllib.loads(out.read_text())["medium"]
    assert medium == expected.medium()
    # lengths in um: the voxel-unit length (about 4) times 0.5
    assert (
        abs(medium["correlation_length"] - 2.0)
        < 3 * record["standard_errors"]["correlation_length"]
    )


def test_calibrate_prints_a_summary(scan, capsys):
    argv = ["calibrate", str(scan), "--mapping", "0=0,255=1", "--models", "exponential"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "model: exponential" in text and "specific_surface" in text and "consistent" in text


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--models", "spline"], "models must be among"),
        (["--bootstrap", "3"], "n_bootstrap must be >= 20"),
        (["--max-lag", "1000"], "max_lag must be at most a quarter"),
    ],
)
def test_bad_input_exits_2_naming_it(scan, capsys, extra, message):
    assert main(["calibrate", str(scan), "--mapping", "0=0,255=1", *extra]) == 2
    assert message in capsys.readouterr().err
