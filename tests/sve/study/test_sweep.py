"""Parameter sweeps: one sub-study per swept value, one dataset with a ``sweep`` dimension."""

import io
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from distributed import Client

from sve.cli import main
from sve.report import key_numbers, sweep_numbers, write_report
from sve.report._sweep import SUMMARY_VARIABLES
from sve.study import SpecError, StudySpec, load_spec, open_study, run_study
from sve.study.schema import empty_dataset
from sve.study.spec import _substitute
from sve.study.store import open_group
from sve.study.sweep import combine_sweep, is_sweep, split_sweep, sweep_store_paths
from sve.study.tasks import STATUS, solve_batch

BASE = {
    "name": "sweep-tiny",
    "seed": 7,
    "medium": {
        "generator": "gaussian_level_cut",
        "ndim": 2,
        "covariance": "exponential",
        "correlation_length": 2.0,
        "volume_fraction": 0.5,
    },
    "property": {"name": "conductivity", "phases": [1.0, 10.0]},
    "sampling": {"sizes": [8, 12, 16], "realizations": 6},
    "solver": {"bc": ["periodic", "kinematic"], "tol": 1e-8, "batch": 4},
}
CONTRASTS = [2.0, 10.0, 100.0]
SPEC = {**BASE, "sweep": {"property.phases[1]": CONTRASTS}}
MEASURED = ["wall_time"]  # a timing, not a result: excluded from identity checks
ROOT = Path(__file__).parents[3]


def results(ds: xr.Dataset) -> xr.Dataset:
    """The computed content of one study: no timings, no run provenance."""
    out = ds.drop_vars(MEASURED)
    out.attrs = {k: v for k, v in ds.attrs.items() if k not in ("runs", "active_run")}
    return out


def in_process_dataset(spec: StudySpec) -> xr.Dataset:
    """A study's dataset filled by calling its pure task function here (no Dask)."""
    ds = empty_dataset(spec)
    for s, size in enumerate(spec.sizes):
        out = solve_batch(spec, size, range(spec.realizations))
        for name, values in out.items():
            ds[name].values[s] = values
    return ds


def in_process(workers: int = 2) -> Client:
    # threads in this process: starts in a fraction of a second; worker processes are
    # covered by tests/sve/study/test_run.py, and the tasks are the same pure functions
    return Client(processes=False, n_workers=workers, threads_per_worker=1, dashboard_address=":0")


@pytest.fixture(scope="module")
def parts():
    """The sub-studies of SPEC, each computed in-process from the task function."""
    return [in_process_dataset(sub) for sub in load_spec(SPEC).sweep_specs()]


# ---------------------------------------------------------------- the spec


def with_sweep(table, **changes):
    data = json.loads(json.dumps(BASE))
    for dotted, value in changes.items():
        section, key = dotted.split("__")
        data[section][key] = value
    data["sweep"] = table
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (with_sweep({}), "sweep must be a table with exactly one field"),
        (
            with_sweep({"medium.volume_fraction": [0.3, 0.5], "property.phases[1]": [2.0, 5.0]}),
            "exactly one field",
        ),
        (with_sweep({"solver.tol": [1e-6, 1e-8]}), "sweep: unknown field 'solver.tol'"),
        (with_sweep({"medium.generator": [1.0, 2.0]}), "unknown field 'medium.generator'"),
        (with_sweep({"medium.radius": [1.0, 2.0]}), "unknown field 'medium.radius'"),
        (with_sweep({"property.phases[2]": [1.0, 2.0]}), r"unknown field 'property.phases\[2\]'"),
        (with_sweep({"property.phases[1].E": [1.0, 2.0]}), "unknown field"),
        (with_sweep({"property.phases[1]": 10.0}), r"must be a list of 2 to 64 numbers"),
        (with_sweep({"property.phases[1]": [10.0]}), r"must be a list of 2 to 64 numbers"),
        (
            with_sweep({"property.phases[1]": [2.0, "x"]}),
            r'sweep\."property\.phases\[1\]"\[1\] must be a finite number, got \'x\'',
        ),
        (
            with_sweep({"property.phases[1]": [2.0, 2.0]}),
            r'sweep\."property\.phases\[1\]" must hold distinct values',
        ),
        (
            with_sweep({"medium.volume_fraction": [0.3, 0.5, 1.3]}),
            r'^sweep\."medium\.volume_fraction"\[2\]: medium\.volume_fraction must be in '
            r"\(0, 1\), got 1\.3$",
        ),
        (
            with_sweep({"property.phases[1]": [-1.0, 2.0]}),
            r'^sweep\."property\.phases\[1\]"\[0\]: property\.phases\[1\] must be a finite '
            r"number >= 0 \(0: a void\), got -1\.0$",
        ),
        (
            with_sweep({"medium.correlation_length": [2.0, 0.0]}),
            r'^sweep\."medium\.correlation_length"\[1\]: medium\.correlation_length',
        ),
        # an error elsewhere in the spec is the spec's, not the sweep value's
        (
            with_sweep({"property.phases[1]": [2.0, 5.0]}, solver__tol=2.0),
            r"^solver\.tol must be in \(0, 1\), got 2\.0$",
        ),
    ],
)
def test_bad_sweeps_name_the_field(data, message):
    with pytest.raises(SpecError, match=message):
        load_spec(data)


def test_elasticity_sweeps_one_modulus():
    data = {
        **BASE,
        "property": {
            "name": "elasticity",
            "phases": [{"E": 1.0, "nu": 0.3}, {"E": 10.0, "nu": 0.2}],
        },
        "solver": {"bc": ["periodic"]},
    }
    with pytest.raises(SpecError, match=r"property\.phases\[i\]\.E"):
        load_spec({**data, "sweep": {"property.phases[1]": [5.0, 50.0]}})
    with pytest.raises(SpecError, match=r'sweep\."property\.phases\[1\]\.nu"\[1\]: property'):
        load_spec({**data, "sweep": {"property.phases[1].nu": [0.2, 0.6]}})
    spec = load_spec({**data, "sweep": {"property.phases[1].E": [5.0, 50.0]}})
    assert [sub.phases[1] for sub in spec.sweep_specs()] == [
        {"E": 5.0, "nu": 0.2},
        {"E": 50.0, "nu": 0.2},
    ]


def test_sub_studies_are_the_validated_specs_with_each_value():
    spec = load_spec(SPEC)
    assert spec.swept and spec.sweep_field == "property.phases[1]"
    assert spec.sweep_values == tuple(CONTRASTS)
    subs = spec.sweep_specs()
    for value, sub in zip(CONTRASTS, subs, strict=True):
        alone = load_spec(_substitute(SPEC, spec.sweep_field, value))
        assert sub == replace(alone, name=sub.name)
        assert sub.name == f"sweep-tiny [property.phases[1] = {value:g}]"
        assert not sub.swept and sub.seed == spec.seed  # common random numbers
        assert "sweep" not in json.loads(sub.to_json())
    # the swept field may be left out of its table (a value given there is replaced)
    data = with_sweep({"medium.volume_fraction": [0.3, 0.6]})
    del data["medium"]["volume_fraction"]
    assert [s.volume_fraction for s in load_spec(data).sweep_specs()] == [0.3, 0.6]


def test_spec_text_round_trip_and_plain_specs_unchanged():
    spec = load_spec(SPEC)
    assert StudySpec.from_json(spec.to_json()) == spec
    assert json.loads(spec.to_json())["sweep"] == {"property.phases[1]": CONTRASTS}
    plain = load_spec(BASE).to_json()
    assert "sweep" not in json.loads(plain)
    assert load_spec(BASE).sweep_specs() == ()


# ---------------------------------------------------------------- the dataset (no Dask)


def test_combined_dataset_has_the_sweep_dimension(parts):
    spec = load_spec(SPEC)
    ds = combine_sweep(spec, parts)
    assert is_sweep(ds)
    assert ds["conductivity"].dims == ("sweep", "size", "realization", "bc", "i", "j")
    assert ds["conductivity"].shape == (3, 3, 6, 2, 2, 2)
    assert ds["sweep"].values.tolist() == CONTRASTS
    assert ds["sweep"].attrs["sweep_field"] == "property.phases[1]"
    assert ds.attrs["sweep_field"] == "property.phases[1]"
    assert StudySpec.from_json(ds.attrs["spec"]) == spec
    assert "common random numbers" in ds.attrs["sweep_seeding"]
    for part, back in zip(parts, split_sweep(ds), strict=True):
        xr.testing.assert_identical(back, part)
    # common random numbers: the same microstructures at every contrast
    fractions = ds["volume_fraction"].values
    np.testing.assert_array_equal(fractions[0], fractions[1])
    np.testing.assert_array_equal(fractions[0], fractions[2])
    # the apparent conductivity grows with the contrast, realization by realization
    k = ds["conductivity"].isel(i=0, j=0).values
    assert (np.diff(k, axis=0) > 0).all()


@pytest.mark.slow  # writes whole reports: over 3 s
def test_summary_numbers_are_each_values_key_numbers(parts, tmp_path):
    spec = load_spec(SPEC)
    ds = combine_sweep(spec, parts)
    summary = sweep_numbers(ds)
    with pytest.raises(ValueError, match="per value"):
        key_numbers(ds)
    assert summary["sweep"].values.tolist() == CONTRASTS
    for value, part in zip(CONTRASTS, parts, strict=True):
        own = key_numbers(part)
        for name in SUMMARY_VARIABLES:
            xr.testing.assert_equal(summary[name].sel(sweep=value, drop=True), own[name])
        np.testing.assert_allclose(
            summary["rve_length_high"].sel(sweep=value).values,
            own["rve_volume_high"].values ** (1 / spec.ndim),
            rtol=1e-15,  # the same power of the same numbers
        )

    out = write_report(ds, tmp_path / "rep")
    assert out.html.name == "sweep.html" and len(out.reports) == 3
    text = out.read_text()
    for k, value in enumerate(CONTRASTS):
        assert (tmp_path / "rep" / f"sweep-{k}" / "report.html").is_file()
        assert f"[report](sweep-{k}/report.html)" in text
        # each value's row prints the exponent its own report prints
        exponent = float(key_numbers(parts[k])["exponent"].sel(bc="periodic"))
        assert f"| periodic | {value:g} | {exponent:.3f} [" in text
    assert (tmp_path / "rep" / "sweep.png").read_bytes().startswith(b"\x89PNG")
    assert '<a href="sweep-0/report.html">report</a>' in out.html.read_text()


@pytest.mark.slow  # writes whole reports: over 3 s
def test_partial_sweep_report_leaves_out_unsolved_values(parts, tmp_path):
    spec = load_spec(SPEC)
    pending = parts[2].copy(deep=True)
    pending["status"][:] = STATUS["pending"]
    out = write_report(combine_sweep(spec, [*parts[:2], pending]), tmp_path / "rep")
    assert out.numbers["sweep"].values.tolist() == CONTRASTS[:2]
    assert "no successful solve yet at property.phases[1] = 100" in out.read_text()


# ---------------------------------------------------------------- runs on Dask (in-process)


@pytest.fixture(scope="module")
def stored(tmp_path_factory, parts):
    """SPEC run into a store on an in-process cluster."""
    store = tmp_path_factory.mktemp("sweep") / "sweep.zarr"
    with in_process(2) as client:
        ds = run_study(SPEC, client=client, store=store)
    return store, ds


@pytest.mark.slow
def test_run_equals_independent_studies(stored, parts):
    """Each value's data is bit-identical to its spec run alone, and to the task function."""
    store, ds = stored
    assert ds["sweep"].values.tolist() == CONTRASTS
    with in_process(1) as client:
        for sub, part, own in zip(load_spec(SPEC).sweep_specs(), split_sweep(ds), parts,
                                  strict=True):  # fmt: skip
            alone = run_study(sub, client=client)
            xr.testing.assert_identical(results(part), results(alone))
            xr.testing.assert_identical(results(part), results(own))
    # the store opens as the same dataset, and each value's store is a study store
    xr.testing.assert_identical(open_study(store).load(), ds)
    for sub, path in zip(load_spec(SPEC).sweep_specs(), sweep_store_paths(load_spec(SPEC), store),
                         strict=True):  # fmt: skip
        assert open_study(path).attrs["spec"] == sub.to_json()


@pytest.mark.slow
def test_resume_after_an_interruption(stored, tmp_path, capsys):
    store, reference = stored
    paths = sweep_store_paths(load_spec(SPEC), store)
    # a kill: one batch of value 0 back to pending (garbage values), value 2 untouched
    group = open_group(paths[0])
    group["conductivity"][1, :4] = -1.0
    group["status"][1, :4] = STATUS["pending"]
    group = open_group(paths[2])
    group["conductivity"][:] = np.nan
    group["status"][:] = STATUS["pending"]
    group.attrs["active_run"] = json.dumps({"started": "2026-01-01T00:00:00+00:00", "tasks": 6})
    assert main(["status", str(store)]) == 0
    out = capsys.readouterr().out
    assert "property.phases[1] = 100:" in out and "running now or interrupted" in out
    log = io.StringIO()
    with in_process(2) as client:
        resumed = run_study(SPEC, client=client, store=store, log=log)
    text = log.getvalue()
    assert "[property.phases[1] = 2]: 1 of 6 tasks to run" in text
    assert "[property.phases[1] = 10]: 0 of 6 tasks to run" in text
    assert "[property.phases[1] = 100]: 6 of 6 tasks to run" in text
    for part, ref in zip(split_sweep(resumed), split_sweep(reference), strict=True):
        xr.testing.assert_identical(results(part), results(ref))
    assert "active_run" not in open_study(paths[2]).attrs


@pytest.mark.slow
def test_store_with_other_spec_is_refused(stored):
    store, _ = stored
    with pytest.raises(ValueError, match="different study spec"):
        run_study({**SPEC, "sweep": {"property.phases[1]": [2.0, 10.0]}}, store=store)
    with pytest.raises(ValueError, match="different study spec"):
        run_study(BASE, store=store)  # a plain study at a sweep's store


@pytest.mark.slow
def test_cli_run_report_status(tmp_path, capsys):
    spec = tmp_path / "sweep.toml"
    spec.write_text(
        """
name = "cli-sweep"
seed = 3
[medium]
generator = "gaussian_level_cut"
ndim = 2
covariance = "gaussian"
correlation_length = 1.5
volume_fraction = 0.5
[property]
name = "conductivity"
phases = [1.0, 10.0]
[sampling]
sizes = [6, 9, 12]
realizations = 4
[solver]
bc = ["periodic"]
batch = 4
[sweep]
"medium.volume_fraction" = [0.3, 0.6]
"""
    )
    store = tmp_path / "cli-sweep.zarr"
    assert main(["run", str(spec), "--store", str(store), "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "one study store per value" in out and "sweep.html" in out
    report_dir = tmp_path / "cli-sweep-report"
    assert (report_dir / "sweep.md").is_file() and (report_dir / "sweep-1" / "report.md").is_file()
    assert main(["status", str(store)]) == 0
    out = capsys.readouterr().out
    assert "medium.volume_fraction = 0.3:" in out and "medium.volume_fraction = 0.6:" in out
    assert out.count("ok: 12") == 2
    assert main(["status", str(store / "sweep-1")]) == 0  # a value's store on its own
    assert "ok: 12" in capsys.readouterr().out
    assert main(["report", str(store), "--out", str(tmp_path / "again")]) == 0
    assert (tmp_path / "again" / "sweep.html").is_file()
    ds = open_study(store)
    assert ds["sweep"].values.tolist() == [0.3, 0.6]
    assert (
        ds["volume_fraction"].sel(sweep=0.3).mean() < ds["volume_fraction"].sel(sweep=0.6).mean()
    )


def test_contrast_sweep_study_loads():
    spec = load_spec(ROOT / "studies" / "contrast_sweep.toml")
    assert spec.sweep_field == "property.phases[1]" and spec.phases[0] == 1.0
    assert spec.sweep_values == (2.0, 10.0, 100.0)
