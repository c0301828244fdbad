"""Study orchestration: worker scaling, scheduler and storage overhead, large stores.

Run: ``.venv/bin/python benchmarks/bench_study.py``. Prints ratios measured in
this run (never asserts a time):

1. the default 2-D study with 1 and with 2 local workers: throughput scaling
   (target >= 1.7 on 2 cores) and the scheduler + storage overhead, i.e. the
   share of worker time not spent inside tasks (target <= 5 %);
2. a 10^4-task study's store: creation, writing every batch through the
   client's path (touched chunks rewritten at each flush; here 500 tasks per
   flush, as when tasks finish at 500/s with the 1-s flush interval) and the
   final assembly (``open_study(...).load()``) — target: seconds.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from distributed import Client, LocalCluster, get_task_stream

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _record import Record, arguments  # noqa: E402

from sve.study import load_spec, open_study, run_study  # noqa: E402
from sve.study.run import _fill, batches  # noqa: E402
from sve.study.store import create_store, open_group, write_records  # noqa: E402
from sve.study.tasks import STATUS, solve_batch  # noqa: E402

ROOT = Path(__file__).parents[1]


def scaling(folder: Path, record: Record) -> None:
    spec = load_spec(ROOT / "studies" / "default.toml")
    loop = {}
    table = record.table(
        "Default study on a local cluster: time and scheduler + storage overhead",
        ["workers", "time [s]", "overhead [% of worker time]", "target"],
    )
    for workers in (1, 2):
        with (
            LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=":0") as c,
            Client(c) as client,
        ):
            client.run(solve_batch, spec, 16, range(1))  # compile / load the kernels first
            # the task stream records only while this context is open (it registers the
            # scheduler plugin); outside it get_task_stream returns nothing
            with get_task_stream(client) as stream:
                t0 = time.time()
                run_study(spec, client=client, store=folder / f"default-{workers}.zarr")
                loop[workers] = time.time() - t0
        busy = sum(
            s["stop"] - s["start"]
            for task in stream.data
            for s in task["startstops"]
            if s["action"] == "compute"
        )
        if not busy:
            raise RuntimeError("the task stream recorded no task: overhead not measurable")
        overhead = 1 - busy / (workers * loop[workers])
        print(
            f"default study, {workers} worker(s): {loop[workers]:6.2f} s; "
            f"scheduler + storage overhead {100 * overhead:4.1f} % of worker time"
        )
        table.add(workers, loop[workers], 100 * overhead, "<= 5 %")
    print(f"throughput scaling 1 -> 2 workers: {loop[1] / loop[2]:.2f}x (target >= 1.7)")
    record.headline(
        f"the default study in {loop[1]:.0f} s on 1 worker and {loop[2]:.0f} s on 2 "
        f"({loop[1] / loop[2]:.1f}× throughput)"
    )
    table.note = (
        f"Throughput scaling from 1 to 2 workers: {loop[1] / loop[2]:.2f}x (target >= 1.7)."
    )


def large_store(folder: Path, record: Record) -> None:
    sizes = [8 * k for k in range(1, 11)]
    spec = load_spec(
        {
            **load_spec_dict(),
            "sampling": {"sizes": sizes, "realizations": 8000},
            "solver": {"batch": 8},
        }
    )
    tasks = batches(spec)
    store = folder / "large.zarr"
    t0 = time.perf_counter()
    ds = create_store(spec, store).load()
    t_create = time.perf_counter() - t0
    group = open_group(store)
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    per_flush = 500  # tasks finishing at ~500/s, flushed every FLUSH_INTERVAL = 1 s
    for start in range(0, len(tasks), per_flush):
        group_tasks = tasks[start : start + per_flush]
        for s, r in group_tasks:
            n = len(r)
            _fill(
                ds,
                s,
                r,
                {
                    "conductivity": rng.random((n, 1, 2, 2)),
                    "status": np.full((n, 1), STATUS["ok"], np.int8),
                },
            )
        write_records(group, ds, {(s, i) for s, r in group_tasks for i in (r.start, r.stop - 1)})
    t_write = time.perf_counter() - t0
    t0 = time.perf_counter()
    loaded = open_study(store).load()
    t_load = time.perf_counter() - t0
    assert int((loaded["status"] == STATUS["ok"]).sum()) == 80_000
    print(
        f"{len(tasks)}-task store: create {t_create:.2f} s, write all batches {t_write:.2f} s "
        f"({1e3 * t_write / len(tasks):.2f} ms per task), assemble {t_load:.2f} s"
    )
    table = record.table(f"A {len(tasks)}-task study store", ["step", "time [s]", "per task [ms]"])
    table.add("create", t_create, None)
    table.add("write every batch (500 tasks per flush)", t_write, 1e3 * t_write / len(tasks))
    table.add("assemble (open_study(...).load())", t_load, None)


def load_spec_dict() -> dict:
    import tomllib

    return tomllib.loads((ROOT / "studies" / "default.toml").read_text())


if __name__ == "__main__":
    arguments(__doc__).parse_args()
    record = Record("study")
    with tempfile.TemporaryDirectory() as tmp:
        large_store(Path(tmp), record)
        scaling(Path(tmp), record)
    record.write()
