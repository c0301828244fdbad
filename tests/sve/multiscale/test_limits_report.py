"""``sve limits`` and the limits report: files, numbers equal to the API's, bad options.

The CLI runs on a tiny case (eps = 1/2, 1/4, four voxels per cell: 16^2 voxels at
most); its numbers must equal those of `periodic_limits` with the same arguments
bit for bit (the JSON keeps every digit of a float). The report's sentences are
computed from the numbers; each is checked on data where it must say the
opposite.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math

import numpy as np
import pytest

from sve.cli import main
from sve.cli.limits import _eps
from sve.multiscale.limits import (
    elastic_limits,
    hole_concentration,
    periodic_limits,
    random_limits,
)
from sve.multiscale.limits_report import (
    LIMITS_FIGURES,
    boundary_layer_width,
    limits_numbers,
    write_limits_report,
)

PNG = b"\x89PNG\r\n\x1a\n"
TINY = ["--eps", "2", "1/4", "--cell-voxels", "4"]


@pytest.fixture(scope="module")
def tiny():
    return periodic_limits((1 / 2, 1 / 4), cell_voxels=4)


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """``sve limits --json`` on the tiny case: (exit status, printed record, folder)."""
    out = tmp_path_factory.mktemp("limits") / "report"
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        status = main(["limits", *TINY, "--out", str(out), "--json"])
    return status, json.loads(buffer.getvalue()), out


def _same(recorded, value):
    """`recorded` (from JSON) equals `value` exactly, NaN written as None."""
    expected = np.asarray(value, dtype=np.float64)
    got = np.array(recorded, dtype=object)
    got = np.where(got == None, np.nan, got).astype(np.float64)  # noqa: E711
    np.testing.assert_array_equal(got, expected)


def test_cli_writes_the_report_files(cli_run):
    status, record, out = cli_run
    assert status == 0
    for name in ("report.md", "numbers.json", "errors.png", "fields.png", "profile.png"):
        assert (out / name).is_file(), name
    for name in ("errors", "fields", "profile"):
        data = (out / f"{name}.png").read_bytes()
        assert data.startswith(PNG) and len(data) > 5000, name  # a drawn figure, not a stub
    assert not (out / "random.png").exists() and not (out / "hole.png").exists()
    assert json.loads((out / "numbers.json").read_text()) == {
        k: v for k, v in record.items() if k != "files"
    }
    assert record["files"]["report"] == str(out / "report.md")


def test_cli_numbers_equal_the_api(cli_run, tiny):
    _, record, _ = cli_run
    section = record["periodic"]
    for name in (
        "eps", "voxels", "l2_error", "h1_error_homogenized", "h1_error", "h1_error_interior",
        "h1_error_margin", "h1_error_margin_rms", "h1_error_layer", "energy_error", "profile",
        "effective_tensor",
    ):  # fmt: skip
        _same(section[name], getattr(tiny, name))
    assert section["slopes"]["l2_error"] == tiny.l2_slope
    assert section["slopes"]["h1_error"] == tiny.h1_slope
    assert section["slopes"]["h1_error_interior"] == tiny.h1_interior_slope
    assert section["rates"] == {"l2_error": 1.0, "h1_error": 0.5, "h1_error_interior": 1.0}
    assert section["iterations"] == list(tiny.iterations)
    assert section["physics"] == "conductivity"
    # the margin (4 eps) is empty on the unit square at these eps: NaN in the API, null here
    assert all(math.isnan(v) for v in tiny.h1_error_margin)
    assert section["h1_error_margin"] == [None, None]


def test_report_markdown_holds_table_rates_and_answer(cli_run, tiny):
    _, record, out = cli_run
    text = (out / "report.md").read_text()
    assert record["answer"] in text
    for eps, l2 in zip(("1/2", "1/4"), tiny.l2_error, strict=True):
        assert f"| {eps} | " in text and f"{l2:.4g}" in text
    assert f"| L2 error of u0 | {tiny.l2_slope:.4g} | 1 |" in text
    assert f"| H1 error of u1, interior | {tiny.h1_interior_slope:.4g} | 1 |" in text
    for name in ("errors", "fields", "profile"):
        assert f"![{name}]({name}.png)" in text


def test_text_output_names_the_report(tmp_path, capsys):
    """The text output (random media, the cheapest report: one figure)."""
    out = tmp_path / "r"
    arguments = ["--kind", "random", "--eps", "8", "16", "--cell-voxels", "2",
                 "--realizations", "2", "--out", str(out)]  # fmt: skip
    assert main(["limits", *arguments]) == 0
    printed = capsys.readouterr().out
    assert "means over realizations" in printed and str(out / "report.md") in printed
    assert json.loads((out / "numbers.json").read_text())["answer"] in printed
    assert sorted(p.name for p in out.iterdir()) == ["numbers.json", "random.png", "report.md"]


@pytest.mark.parametrize(
    ("arguments", "option"),
    [
        (["--kind", "laminate"], "--kind"),
        (["--eps", "0"], "--eps"),
        (["--eps", "abc"], "--eps"),
        (["--eps", "2.0"], "--eps"),  # a decimal above 1 (the integer 2 means 1/2)
        (["--eps", "0.3"], "--eps"),
        (["--eps", "4", "0.25"], "--eps"),
        (["--cell-voxels", "5"], "--cell-voxels"),
        (["--cell-voxels", "x"], "--cell-voxels"),
        (["--kind", "random", "--realizations", "1"], "--realizations"),
        (["--kind", "random", "--seed", "-1"], "--seed"),
        (["--kind", "random", "--eps", "0.3", "--cell-voxels", "2"], "--cell-voxels"),
        (["--realizations", "3"], "--realizations"),
        (["--kind", "elastic", "--hole"], "--hole"),
        (["--ndim", "4"], "--ndim"),
        (["--kind", "random", "--ndim", "3"], "--ndim"),
        ([*TINY, "--hole", "--ndim", "3"], "--ndim"),
        (["--volume-fraction", "1.2"], "--volume-fraction"),
        (["--volume-fraction", "x"], "--volume-fraction"),
        (["--contrast", "0"], "--contrast"),
        (["--contrast", "nan"], "--contrast"),
        ([*TINY, "--volume-fraction", "0.9"], "volume_fraction"),  # disks cannot hold it
    ],
)
def test_bad_options_exit_2_naming_the_option(arguments, option, tmp_path, capsys):
    try:
        status = main(["limits", *arguments, "--out", str(tmp_path / "r")])
    except SystemExit as stop:  # argparse's own errors
        status = stop.code
    assert status == 2
    err = capsys.readouterr().err
    assert option in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()  # nothing was computed or written


def test_out_that_is_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("")
    assert main(["limits", *TINY, "--out", str(target)]) == 2
    assert "--out" in capsys.readouterr().err


def test_eps_forms_are_the_same():
    """``--eps 4``, ``1/4`` and ``0.25`` are the same ratio."""
    assert _eps("4") == _eps("1/4") == _eps("0.25") == 0.25
    assert _eps("1") == 1.0 and _eps("3/8") == 0.375


def test_boundary_layer_width():
    assert boundary_layer_width([0.39, 0.12, 0.10, 0.09, 0.085, 0.084]) == 1
    assert boundary_layer_width([0.9, 0.5, 0.1, 0.1, 0.1]) == 2
    assert boundary_layer_width([0.59, 0.36]) == 0  # no strip twice the median
    assert boundary_layer_width([0.59, 0.36], factor=1.1) == 1
    with pytest.raises(ValueError, match="factor"):
        boundary_layer_width([1.0, 0.5], factor=0.5)
    with pytest.raises(ValueError, match="profile"):
        boundary_layer_width([])


def test_answer_follows_the_numbers(tiny):
    """Each sentence says what the numbers say, and the opposite on opposite numbers."""
    answer = limits_numbers(tiny)["answer"]
    assert f"rate {tiny.l2_slope:.2f}, which agrees with the theory's 1" in answer
    assert "no boundary layer is resolved" in answer  # profile [0.59, 0.36]
    off = dataclasses.replace(tiny, l2_slope=0.5, profile=np.array([0.4, 0.1, 0.09, 0.1]))
    answer = limits_numbers(off)["answer"]
    assert "rate 0.50, which differs from the theory's 1" in answer
    assert "The boundary layer is 1 cell wide (0.25 of the part's edge)" in answer
    assert "trusted farther than 0.25 from the boundary" in answer
    numbers = limits_numbers(off)["periodic"]
    assert numbers["boundary_layer_cells"] == 1 and numbers["boundary_layer_width"] == 0.25
    # L2 relative to ||u0|| = 1/2 (sin(pi x) sin(pi y) on the unit square), up to the Q1
    # interpolation of u0 on 17^2 nodes (O(h^2) = 0.4 %)
    assert numbers["l2_relative_error_finest"] == pytest.approx(tiny.l2_error[-1] / 0.5, rel=0.01)


def test_report_without_fields_or_periodic_part(tiny, tmp_path):
    bare = dataclasses.replace(tiny, fields={})
    report = write_limits_report(tmp_path, bare)
    assert set(report.figures) == {"errors", "profile"} <= set(LIMITS_FIGURES)
    # no u0 to measure the relative error by: the absolute one, never "nan %"
    assert f"the L2 error of u0 against the DNS is {tiny.l2_error[-1]:.3g}" in report.answer
    assert "nan" not in report.answer


def test_one_eps_gives_no_rate():
    record = limits_numbers(periodic_limits((1 / 4,), cell_voxels=4))
    assert record["answer"].count("no rate (fewer than two eps)") == 3
    assert "nan" not in record["answer"]
    assert record["periodic"]["slopes"]["l2_error"] is None  # NaN in the API, null in JSON


@pytest.mark.slow
@pytest.mark.parametrize(
    ("arguments", "api", "figures"),
    [
        (
            ["--kind", "elastic", *TINY],
            lambda: {"periodic": elastic_limits((1 / 2, 1 / 4), cell_voxels=4)},
            {"errors", "fields", "profile"},
        ),
        (
            ["--kind", "random", "--eps", "8", "16", "--cell-voxels", "2",
             "--realizations", "2", "--seed", "3"],
            lambda: {"random": random_limits((1 / 8, 1 / 16), voxels_per_length=2,
                                             realizations=2, seed=3)},
            {"random"},
        ),
        (
            [*TINY, "--hole"],
            lambda: {"periodic": periodic_limits((1 / 2, 1 / 4), cell_voxels=4),
                     "hole": hole_concentration((1 / 2, 1 / 4), cell_voxels=4)},
            {"errors", "fields", "profile", "hole"},
        ),
        (
            [*TINY, "--ndim", "3", "--volume-fraction", "0.2", "--contrast", "100"],
            lambda: {"periodic": periodic_limits((1 / 2, 1 / 4), cell_voxels=4, ndim=3,
                                                 volume_fraction=0.2, conductivity=(1, 100))},
            {"errors", "fields", "profile"},
        ),
        (
            ["--kind", "elastic", *TINY, "--contrast", "5", "--volume-fraction", "0.4"],
            lambda: {"periodic": elastic_limits(
                (1 / 2, 1 / 4), cell_voxels=4, volume_fraction=0.4,
                moduli=({"E": 1.0, "nu": 0.3}, {"E": 5.0, "nu": 0.3}))},
            {"errors", "fields", "profile"},
        ),
    ],
    ids=["elastic", "random", "hole", "3d-material", "elastic-material"],
)  # fmt: skip
def test_every_kind_through_the_cli(arguments, api, figures, tmp_path):
    """Elastic, random and hole studies: the JSON equals the API's numbers."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["limits", *arguments, "--out", str(tmp_path), "--json"]) == 0
    record = json.loads(buffer.getvalue())
    expected = api()
    assert set(record) - {"files", "answer"} == set(expected)
    compared = 0
    for section, result in expected.items():
        for name, value in record[section].items():
            if hasattr(result, name) and not isinstance(value, str | dict):
                _same(value, getattr(result, name))
                compared += 1
    assert compared >= 7  # every array of the result, not an empty loop
    assert limits_numbers(**{"periodic": None, **expected})["answer"] == record["answer"]
    drawn = {name for name in LIMITS_FIGURES if (tmp_path / f"{name}.png").exists()}
    assert drawn == figures
    for name in figures:
        assert (tmp_path / f"{name}.png").read_bytes().startswith(PNG)
    if "periodic" in expected:  # a 3-D conductivity tensor is 3 x 3 too: the kind decides
        physics = "elasticity" if "elastic" in arguments else "conductivity"
        assert record["periodic"]["physics"] == physics


@pytest.mark.slow
def test_the_guide_quotes_the_default_answer():
    """docs/guide/multiscale.rst quotes the answer of ``sve limits``: it must be today's."""
    from pathlib import Path

    page = (Path(__file__).parents[3] / "docs" / "guide" / "multiscale.rst").read_text()
    quoted = page.split("With the defaults:\n\n", 1)[1].split("\n\n", 1)[0]
    answer = limits_numbers(periodic_limits((1 / 4, 1 / 8, 1 / 16), cell_voxels=8))["answer"]
    assert " ".join(quoted.split()) == answer
