"""`sve green-kubo` and `sve memory-kernel`: the Python results from the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sve.cli import main
from sve.fluctuations import (
    autocorrelation,
    gle_velocities,
    green_kubo,
    memory_kernel,
    ornstein_uhlenbeck,
)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """Three OU components, one row per time step (as MD writes them)."""
    flux = ornstein_uhlenbeck(8192, 0.01, tau=0.1, n_series=3, rng=8)
    path = tmp_path_factory.mktemp("flux") / "flux.npy"
    np.save(path, flux.T)
    return path, flux


@pytest.mark.parametrize("method", ["direct", "cepstral"])
def test_green_kubo_matches_the_python_api(table, capsys, method):
    path, flux = table
    argv = ["green-kubo", str(path), "--dt", "0.01", "--json", "--method", method,
            "--kind", "shear_viscosity", "--volume", "2", "--temperature", "4",
            "--boltzmann", "1"]  # fmt: skip
    assert main(argv) == 0
    record = json.loads(capsys.readouterr().out)
    expected = green_kubo(flux, 0.01, method=method, kind="shear_viscosity", volume=2.0,
                          temperature=4.0, boltzmann=1.0)  # fmt: skip
    assert record["value"] == expected.value
    assert record["interval"] == list(expected.interval)
    assert record["kind"] == "shear_viscosity" and record["method"] == method


def test_green_kubo_text_table_and_figure(tmp_path, table, capsys):
    path, flux = table
    text = tmp_path / "flux.txt"
    np.savetxt(text, flux.T)
    figure = tmp_path / "gk.png"
    assert main(["green-kubo", str(text), "--dt", "0.01", "--plot", str(figure)]) == 0
    out = capsys.readouterr().out
    assert "raw (direct)" in out and "95% interval" in out
    assert figure.stat().st_size > 1000


def test_memory_kernel_from_velocities(tmp_path, capsys):
    v = gle_velocities(4096, 0.05, strength=1.0, tau=1.0, n_series=4, rng=1)
    path, out = tmp_path / "v.npy", tmp_path / "k.csv"
    np.save(path, v.T)
    argv = ["memory-kernel", str(path), "--dt", "0.05", "--max-time", "2", "--out", str(out),
            "--json"]  # fmt: skip
    assert main(argv) == 0
    record = json.loads(capsys.readouterr().out)
    expected = memory_kernel(autocorrelation(v)[:42], 0.05)
    assert record["friction"] == pytest.approx(expected.friction, rel=1e-12)
    table = np.loadtxt(out, delimiter=",", skiprows=1)
    np.testing.assert_allclose(table[:, 1], expected.kernel, rtol=1e-12)
    assert table[-1, 0] == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["green-kubo", "missing.npy", "--dt", "1"], "no such file"),
        (["green-kubo", "{flux}", "--dt", "0.01", "--kind", "shear_viscosity"], "needs volume"),
        (["green-kubo", "{flux}", "--dt", "0.01", "--cutoff", "1e6"], "past the series"),
        (["memory-kernel", "{flux}", "--dt", "0.01", "--input", "acf"], "1-D autocorrelation"),
    ],
)
def test_bad_input_exits_2_naming_it(table, capsys, argv, message):
    path, _ = table
    assert main([a.format(flux=path) for a in argv]) == 2
    assert message in capsys.readouterr().err
