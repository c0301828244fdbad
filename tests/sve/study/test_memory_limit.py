"""``solver.memory_limit``: parsed, checked against the largest size at validation time,
and passed to the solvers by the tasks."""

import dataclasses
import tomllib
from pathlib import Path

import numpy as np
import pytest

from sve.solvers import memory_estimate
from sve.study import SpecError, StudySpec, load_spec
from sve.study.tasks import _memory_limit, solve_batch

LEVEL_CUT_3D = Path(__file__).parents[3] / "studies" / "level_cut_3d.toml"


def base() -> dict:
    return tomllib.loads(LEVEL_CUT_3D.read_text())


def test_unset_by_default():
    assert load_spec(base()).solver.memory_limit == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [("8 GB", 8 * 10**9), ("2GiB", 2 * 2**30), (5_000_000_000, 5_000_000_000)],
)
def test_read_in_bytes_and_kept_through_json(value, expected):
    data = base()
    data["solver"]["memory_limit"] = value
    spec = load_spec(data)
    assert spec.solver.memory_limit == expected
    assert StudySpec.from_json(spec.to_json()) == spec
    assert load_spec(spec.to_dict()) == spec


def test_the_largest_size_must_fit():
    data = base()  # sizes up to 64**3 under kinematic, periodic and static conditions
    needed = max(
        memory_estimate((64,) * 3, bc=bc, contrast=10.0).bytes
        for bc in ("kinematic", "periodic", "static")
    )
    data["solver"]["memory_limit"] = needed
    assert load_spec(data).solver.memory_limit == needed
    data["solver"]["memory_limit"] = needed - 1
    with pytest.raises(
        SpecError, match=r"solver\.memory_limit: .*needs about .*window of at most"
    ):
        load_spec(data)


@pytest.mark.parametrize("bad", ["plenty", "-3 GB", [8], True])
def test_bad_values_name_the_field(bad):
    data = base()
    data["solver"]["memory_limit"] = bad
    with pytest.raises(SpecError, match=r"solver\.memory_limit"):
        load_spec(data)


def test_tasks_pass_the_limit_to_the_solvers():
    data = base()
    assert _memory_limit(load_spec(data)) is None  # not on a Dask worker: the machine's
    data["solver"]["memory_limit"] = "4 GB"
    spec = load_spec(data)
    assert _memory_limit(spec) == 4 * 10**9
    # A limit the solve cannot meet (set after validation) reaches the solver: the task
    # fails with the budget error instead of running out of memory.
    tight = spec.replace(solver=dataclasses.replace(spec.solver, memory_limit=1000))
    with pytest.raises(MemoryError, match="memory_limit"):
        solve_batch(tight, 64, range(1))
    batch = solve_batch(spec, 8, range(1))
    assert np.all(np.isfinite(batch[spec.variable]))


def test_on_a_dask_worker_its_memory_limit_less_what_it_holds(monkeypatch):
    import types

    import distributed

    from sve.solvers._core.memory import resident_bytes

    worker = types.SimpleNamespace(memory_manager=types.SimpleNamespace(memory_limit=2**40))
    monkeypatch.setattr(distributed, "get_worker", lambda: worker)
    spec = load_spec(base())
    limit = _memory_limit(spec)
    assert 2**40 - resident_bytes() - 2**28 <= limit <= 2**40 - resident_bytes() + 2**28
    worker.memory_manager.memory_limit = None  # a worker without a limit: the machine's
    assert _memory_limit(spec) is None
    data = base()
    data["solver"]["memory_limit"] = "4 GB"  # the spec's limit wins
    assert _memory_limit(load_spec(data)) == 4 * 10**9
