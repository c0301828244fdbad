"""The command line and the report, end to end on a tiny study."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from sve import write_report
from sve.cli import main
from sve.statistics import ensemble_statistics, fit_variance_scaling
from sve.study import open_study


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, tiny_toml):
    folder = tmp_path_factory.mktemp("cli")
    spec = folder / "tiny.toml"
    spec.write_text(tiny_toml)
    store = folder / "tiny.zarr"
    code = main(["run", str(spec), "--store", str(store), "--workers", "2"])
    assert code == 0
    return folder, store


@pytest.mark.slow
def test_run_writes_store_and_report(tiny_run):
    folder, store = tiny_run
    ds = open_study(store)
    assert (ds["status"] == 1).all()
    text = (folder / "tiny-report" / "report.md").read_text()
    fit = fit_variance_scaling(ensemble_statistics(ds.load())).sel(bc="periodic")
    # the report shows the statistics layer's exponent, to the printed digits
    assert f"**{fit['exponent'].item():.3f}**" in text
    for figure in ("mean_vs_size.png", "variance_vs_size.png"):
        png = (folder / "tiny-report" / figure).read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 5000


@pytest.mark.slow
def test_report_and_status_commands(tiny_run, capsys):
    folder, store = tiny_run
    out = folder / "again"
    assert main(["report", str(store), "--out", str(out)]) == 0
    assert (out / "report.md").exists()
    assert main(["status", str(store)]) == 0
    printed = capsys.readouterr().out
    assert "ok: 32" in printed and "pending: 0" in printed


def test_partial_dataset_gets_a_banner(tmp_path, tiny_spec_data):
    from sve.study import load_spec
    from sve.study.schema import empty_dataset

    spec = load_spec(tiny_spec_data(sampling={"sizes": [6, 9, 12], "realizations": 4}))
    ds = empty_dataset(spec)
    rng = np.random.default_rng(0)
    ds["conductivity"][:, :2] = 3 + rng.random((3, 2, 1, 2, 2))
    ds["status"][:, :2] = 1
    ds["iterations"][:, :2] = 10
    ds["wall_time"][:, :2] = 0.1
    text = write_report(ds, tmp_path).read_text()
    assert "Partial study" in text and "6 of 12 solves finished" in text


def test_bad_spec_exits_2_naming_the_field(tmp_path, capsys, tiny_toml):
    spec = tmp_path / "bad.toml"
    spec.write_text(tiny_toml.replace("volume_fraction = 0.5", "volume_fraction = 1.3"))
    assert main(["run", str(spec), "--store", str(tmp_path / "s.zarr")]) == 2
    assert "medium.volume_fraction must be in (0, 1), got 1.3" in capsys.readouterr().err
    assert not (tmp_path / "s.zarr").exists()


def test_foreign_or_missing_store_is_a_clear_error(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing.zarr")]) == 2
    assert "does not exist" in capsys.readouterr().err
    foreign = tmp_path / "foreign.zarr"
    xr.Dataset({"x": ("a", [1.0])}).to_zarr(foreign, consolidated=False)
    assert main(["status", str(foreign)]) == 2
    assert "not an SVE study store" in capsys.readouterr().err


def test_console_script_installed():
    script = Path(sys.executable).parent / "sve"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=True)
    assert "run" in result.stdout and "report" in result.stdout


def test_import_and_help_load_no_heavy_library():
    """``import sve`` and ``sve --help`` import neither the solvers nor Dask, xarray,
    scipy or matplotlib (the public names are imported on first use); every public
    name still resolves, to the object of its home module.
    """
    code = (
        "import sys, sve, sve.cli; sve.cli._parser(); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'scipy', 'xarray', 'distributed', 'dask', 'matplotlib', 'numba'}), "
        "'sve.solvers' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["[]", "False"]
    import sve.solvers
    import sve.study

    assert sve.apparent_conductivity is sve.solvers.apparent_conductivity
    assert sve.run_study is sve.study.run_study
    assert set(sve.__all__) <= set(dir(sve))
    for name in sve.__all__:
        assert getattr(sve, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        sve.nonexistent  # noqa: B018


def test_subpackages_reach_from_the_package():
    """``import sve`` then ``sve.study``, ``sve.statistics``... as when the package
    imported them eagerly (a fresh interpreter: none is imported before).
    """
    code = (
        "import sve; print(sve.statistics.__name__, sve.morphology.__name__, "
        "sve.study.load_spec is sve.load_spec)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["sve.statistics", "sve.morphology", "True"]
