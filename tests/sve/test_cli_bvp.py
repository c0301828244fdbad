"""`sve bvp`: the boundary-value solver from the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sve.cli import main


def test_bvp_laminate_flux_and_fields(tmp_path, capsys):
    """Layers across x, u = 0 / 1 on xmin / xmax: the flux through xmax is the harmonic
    mean times the width over the length (exact, 1e-9), and the fields file holds them."""
    phases = np.zeros((8, 4), dtype=np.int8)
    phases[4:] = 1
    image = tmp_path / "layers.npy"
    np.save(image, phases)
    out = tmp_path / "fields.npz"
    argv = ["bvp", str(image), "--conductivity", "1,3", "--dirichlet", "xmin=0"]
    argv += ["--dirichlet", "xmax=1", "--tol", "1e-12", "--fields", str(out), "--json"]
    assert main(argv) == 0
    record = json.loads(capsys.readouterr().out)
    harmonic = 2 / (1 / 1 + 1 / 3)
    assert record["face_flux"]["xmax"] == pytest.approx(harmonic * 4 / 8, rel=1e-9)
    assert record["converged"]
    saved = np.load(out)
    assert saved["potential"].shape == (9, 5)
    assert saved["flux"].shape == (8, 4, 2)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--dirichlet", "west=0"], "face must be one of"),
        (["--dirichlet", "xmin"], "FACE=NUMBER"),
        (["--flux", "xmax=1"], "net load"),
    ],
)
def test_bvp_bad_input_exits_2(tmp_path, capsys, extra, message):
    image = tmp_path / "zeros.npy"
    np.save(image, np.zeros((4, 4), dtype=np.int8))
    assert main(["bvp", str(image), "--conductivity", "1", *extra]) == 2
    assert message in capsys.readouterr().err
