"""Adaptive sampling: rounds of realizations per size until the relative CI half-width
of the mean reaches the target or the budget runs out, deterministically."""

import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from distributed import Client

from sve.cli import main
from sve.report import write_report
from sve.statistics import ensemble_statistics
from sve.study import load_spec, open_study, run_study
from sve.study.adaptive import adaptive_progress, adaptive_summary, next_round
from sve.study.run import round_batches
from sve.study.schema import STATUS, empty_dataset
from sve.study.store import open_group

SPEC = {
    "name": "adaptive-tiny",
    "seed": 7,
    "medium": {
        "generator": "gaussian_level_cut",
        "ndim": 2,
        "covariance": "exponential",
        "correlation_length": 2.0,
        "volume_fraction": 0.4,
    },
    "property": {"name": "conductivity", "phases": [1.0, 5.0]},
    # with this seed: size 8 and 16 exhaust the budget, size 32 reaches the target in
    # round 2 (checked below against the statistics, not assumed)
    "sampling": {
        "sizes": [8, 16, 32],
        "realizations": 4,
        "adaptive_target": 0.05,
        "max_realizations": 24,
    },
    "solver": {"bc": ["periodic", "kinematic"], "tol": 1e-8, "batch": 4},
}
MEASURED = ["wall_time"]  # a timing, not a result: excluded from identity checks


def results(ds: xr.Dataset) -> xr.Dataset:
    """The computed content: no timings, no run provenance."""
    out = ds.drop_vars(MEASURED)
    out.attrs = {k: v for k, v in ds.attrs.items() if k != "runs"}
    return out


def relative_half_width(ds: xr.Dataset, size: int, n: int) -> float:
    """Largest over bcs of (ci_high - ci_low) / 2 / |mean| of the first n realizations."""
    stats = ensemble_statistics(ds.sel(size=[size]).isel(realization=slice(0, n)))
    return float(((stats["ci_high"] - stats["ci_low"]) / 2 / abs(stats["mean"])).max())


def _in_process(workers: int) -> Client:
    # threads in this process: starts in a fraction of a second; worker processes are
    # covered by tests/sve/study/test_run.py, and the tasks are the same pure functions
    return Client(processes=False, n_workers=workers, threads_per_worker=1, dashboard_address=":0")


@pytest.fixture(scope="module")
def reference():
    with _in_process(1) as client:
        return run_study(SPEC, client=client)


# ---------------------------------------------------------------- the rule (pure)


def test_next_round_rule():
    spec = load_spec(SPEC)  # realizations 4, target 0.05, budget 24
    assert next_round(spec, 4, 0.1) == 16  # predicted 4 (0.1/0.05)^2 = 16 <= 4 n
    assert next_round(spec, 4, 1.0) == 16  # predicted 1600: at most 4 n
    assert next_round(spec, 4, 0.051) == 8  # predicted 5: at least n + realizations
    assert next_round(spec, 8, 0.08) == 21  # ceil(8 * 2.56) = ceil(20.48)
    assert next_round(spec, 16, 0.1) == 24  # predicted 64: the budget
    assert next_round(spec, 4, math.inf) == 16  # no interval yet: the largest step


def _synthetic(spec_dict: dict, values: np.ndarray) -> xr.Dataset:
    """A study dataset whose first len(values) realizations of size 0 are ok with the
    isotropic conductivity ``values`` (both bcs), the rest pending."""
    spec = load_spec(spec_dict)
    ds = empty_dataset(spec)
    n = len(values)
    ds["conductivity"].values[0, :n] = values[:, None, None, None] * np.eye(2)
    ds["status"].values[0, :n] = STATUS["ok"]
    return ds


def test_progress_replays_the_rule_on_the_dataset():
    spec = load_spec(SPEC)
    rng = np.random.default_rng(1)
    noisy = 1.0 + 0.2 * rng.standard_normal(24)
    # nothing done: the first round runs
    progress = adaptive_progress(empty_dataset(spec), spec, 0)
    assert (progress.realizations, progress.state, progress.rounds) == (4, "running", (4,))
    # constant values: zero width after the first round
    assert adaptive_progress(_synthetic(SPEC, np.full(4, 2.0)), spec, 0).state == "reached"
    # a partial second round: its end comes from the first round's width alone
    ds = _synthetic(SPEC, noisy[:6])
    first = relative_half_width(ds, 8, 4)
    progress = adaptive_progress(ds, spec, 0)
    assert progress.state == "running" and progress.relative_half_width == first
    assert progress.rounds == (4, next_round(spec, 4, first))
    # everything done and still too wide: the budget
    ds = _synthetic(SPEC, noisy)
    progress = adaptive_progress(ds, spec, 0)
    assert (progress.realizations, progress.state) == (24, "budget")
    assert progress.relative_half_width == pytest.approx(relative_half_width(ds, 8, 24))
    assert progress.relative_half_width > spec.adaptive_target


def test_round_batches():
    spec = load_spec(SPEC)  # batch 4
    assert round_batches(spec, 0, (4, 10, 24)) == [
        range(0, 4), range(4, 8), range(8, 10), range(10, 14),
        range(14, 18), range(18, 22), range(22, 24),
    ]  # fmt: skip


def test_fixed_spec_text_unchanged():
    """Without the adaptive fields the spec's JSON (the store's identity) is as before."""
    fixed = {**SPEC, "sampling": {"sizes": [8, 16], "realizations": 4}}
    keys = json.loads(load_spec(fixed).to_json())["sampling"]
    assert "adaptive_target" not in keys and "max_realizations" not in keys
    ds = empty_dataset(load_spec(fixed))
    assert ds.sizes["realization"] == 4 and "absent" not in ds["status"].attrs["flag_meanings"]
    assert "adaptive_target" not in ds.attrs


# ---------------------------------------------------------------- runs (Dask, in process)


@pytest.mark.slow
def test_target_or_budget_as_the_statistics_say(reference):
    ds, spec = reference, load_spec(SPEC)
    assert ds.sizes["realization"] == spec.max_realizations
    summary = adaptive_summary(ds)
    states = summary["adaptive_state"].values.tolist()
    assert "reached" in states and "budget" in states  # the spec exercises both endings
    for k, size in enumerate(spec.sizes):
        progress = adaptive_progress(ds, spec, k)
        n = progress.realizations
        status = ds["status"].sel(size=size).values
        assert (status[:n] == STATUS["ok"]).all()
        assert (status[n:] == STATUS["absent"]).all()
        assert np.isnan(ds["conductivity"].sel(size=size).values[n:]).all()
        # the statistics of the finished dataset (absent records are left out) ...
        stats = ensemble_statistics(ds.sel(size=[size]))
        assert (stats["n"] == n).all()
        final = float(((stats["ci_high"] - stats["ci_low"]) / 2 / abs(stats["mean"])).max())
        # ... say what the run decided (equal up to rounding: the same numbers, summed
        # over a longer, NaN-padded axis)
        assert final == pytest.approx(progress.relative_half_width, rel=1e-12)
        if progress.state == "reached":
            assert final <= spec.adaptive_target * (1 + 1e-12)
        else:
            assert progress.state == "budget" and n == spec.max_realizations
            assert final > spec.adaptive_target
        # every earlier round was too wide, and each round followed the rule
        for before, after in zip(progress.rounds, progress.rounds[1:], strict=False):
            width = relative_half_width(ds, size, before)
            assert width > spec.adaptive_target
            assert after == next_round(spec, before, width)
        assert int(summary["realizations_used"].sel(size=size)) == n


@pytest.mark.slow
def test_one_and_two_workers_identical(reference):
    with _in_process(2) as client:
        two = run_study(SPEC, client=client)
    xr.testing.assert_identical(results(two), results(reference))


@pytest.mark.slow
def test_two_worker_processes_identical(reference):
    """An embedded LocalCluster of 2 worker processes (results arrive in another order)."""
    ds = run_study(SPEC, workers=2)
    xr.testing.assert_identical(results(ds), results(reference))


@pytest.mark.slow
def test_first_realizations_equal_a_fixed_study(reference):
    fixed = {**SPEC, "sampling": {"sizes": [8, 16, 32], "realizations": 4}}
    with _in_process(1) as client:
        ds = run_study(fixed, client=client)
    for name in ("conductivity", "volume_fraction", "iterations", "residual", "status"):
        np.testing.assert_array_equal(
            reference[name].isel(realization=slice(0, 4)).values, ds[name].values
        )


@pytest.mark.slow
def test_resume_after_interruptions(tmp_path, reference, capsys):
    store = tmp_path / "adaptive.zarr"
    spec = load_spec(SPEC)
    with _in_process(2) as client:
        first = run_study(SPEC, client=client, store=store)
        xr.testing.assert_identical(results(first), results(reference))
        log = io.StringIO()
        run_study(SPEC, client=client, store=store, log=log)
        assert "0 tasks to run now" in log.getvalue()

        used = [adaptive_progress(first, spec, k).realizations for k in range(3)]
        group = open_group(store)
        # a kill in the first round of size 8: a batch back to pending, garbage values
        group["conductivity"][0, :4] = -1.0
        group["status"][0, :4] = STATUS["pending"]
        # a kill in the last round of size 16 (its 2 batches), before its tail was marked
        # absent
        assert adaptive_progress(first, spec, 1).rounds[-2:] == (16, 24)
        group["conductivity"][1, 18:] = -1.0
        group["status"][1, 18:] = STATUS["pending"]
        # a kill after size 32 finished but before its tail was written absent
        group["status"][2, used[2] :] = STATUS["pending"]
        assert main(["status", str(store)]) == 0
        out = capsys.readouterr().out
        assert "round running or interrupted" in out

        log = io.StringIO()
        resumed = run_study(SPEC, client=client, store=store, log=log)
    assert "3 tasks to run now" in log.getvalue()  # 1 batch at size 8, 2 at size 16
    xr.testing.assert_identical(results(resumed), results(reference))
    xr.testing.assert_identical(results(open_study(store).load()), results(reference))

    assert main(["status", str(store)]) == 0
    out = capsys.readouterr().out
    for size, n in zip(spec.sizes, used, strict=True):
        assert f"size {size:>5}: adaptive, {n} realizations" in out
    assert "target reached" in out and "budget used, target not reached" in out


@pytest.mark.slow
def test_failed_batch_halts_its_size_and_a_rerun_completes(monkeypatch, tmp_path, reference):
    """A batch of size 16's second round fails (twice: it is retried once): that size
    stops where it is for this run, the other sizes finish; a rerun retries the batch
    and carries on to the uninterrupted dataset."""
    from sve.study import run as run_module
    from sve.study.tasks import solve_batch

    broken = tmp_path / "broken"
    broken.touch()

    def flaky(spec, size, realizations):
        if size == 16 and realizations.start == 4 and broken.exists():
            raise MemoryError("simulated out-of-memory at size 16")
        return solve_batch(spec, size, realizations)

    monkeypatch.setattr(run_module, "solve_batch", flaky)
    store, spec = tmp_path / "s.zarr", load_spec(SPEC)
    with _in_process(1) as client:
        log = io.StringIO()
        ds = run_study(SPEC, client=client, store=store, log=log)
        assert "size 16: halted: a batch of its round failed" in log.getvalue()
        status = ds["status"].sel(size=16).values[:, 0]
        assert (status[4:8] == STATUS["failed"]).all()
        assert adaptive_summary(ds)["adaptive_state"].values.tolist()[1] == "running"
        for k in (0, 2):  # the other sizes finished as in the reference
            assert adaptive_progress(ds, spec, k) == adaptive_progress(reference, spec, k)

        broken.unlink()
        ds = run_study(SPEC, client=client, store=store)
    xr.testing.assert_identical(results(ds), results(reference))


@pytest.mark.slow
def test_report_says_realizations_and_verdict(tmp_path, reference):
    written = write_report(reference, tmp_path / "report")
    numbers = written.numbers
    summary = adaptive_summary(reference)
    np.testing.assert_array_equal(numbers["realizations_used"], summary["realizations_used"])
    assert numbers.attrs["adaptive_target"] == 0.05
    (line,) = [t for t in written.read_text().splitlines() if t.startswith("Adaptive sampling")]
    for size, n in zip(summary["size"].values, summary["realizations_used"].values, strict=True):
        assert f"L = {size}: {n} realizations" in line
    assert "target reached" in line and "budget used" in line


def test_example_study_loads():
    """studies/adaptive.toml (run in the docs, guide to studies) is a valid adaptive spec."""
    spec = load_spec(Path(__file__).parents[3] / "studies" / "adaptive.toml")
    assert spec.adaptive and spec.allocated_realizations == spec.max_realizations
    assert spec.realizations < spec.max_realizations
