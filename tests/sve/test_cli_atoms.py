"""`sve cauchy-born`: the command prints what the Python API computes."""

import json

import pytest

from sve.atoms import chain_stability, triangular_elastic_constants
from sve.cli import main


def test_chain_json_matches_the_api(capsys):
    assert main(["cauchy-born", "--potential", "lj", "--neighbours", "2", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    limit = chain_stability("lj", n_neighbours=2)
    assert record["critical_stretch"] == limit.stretch
    assert record["soft_mode"] == "long-wave" and record["soft_wavenumber"] == 0.0
    assert record["spacing"] == limit.spacing


def test_nearest_neighbour_text_names_lambda_c(capsys):
    assert main(["cauchy-born", "--sigma", "2.0"]) == 0
    out = capsys.readouterr().out
    assert f"{(13 / 7) ** (1 / 6):.12g}" in out and "every mode at once" in out


def test_triangular_json(capsys):
    assert main(["cauchy-born", "--lattice", "triangular", "--potential", "morse", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["C12"] == pytest.approx(record["C66"], rel=1e-12)
    assert record["C11"] == triangular_elastic_constants("morse")["C11"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--potential", "foo"], "--potential"),
        (["--neighbours", "0"], "n_neighbours"),
        (["--sigma", "-1"], "sigma"),
        (["--potential", "harmonic", "--sigma", "2"], "--sigma"),
    ],
)
def test_bad_input_exits_2_naming_it(capsys, argv, message):
    assert main(["cauchy-born", *argv]) == 2
    assert message in capsys.readouterr().err
