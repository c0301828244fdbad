"""A windows study of a measured (here: written) two-phase image: time and peak memory.

Run the full case (issue #17: a 500^3 image, window edges 50 to 250, mixed
conditions, finite volumes, conductivity, 2 workers)::

    .venv/bin/python benchmarks/bench_image_study.py

a reduced one with ``--edge 300 --sizes 75,150 --realizations 4`` (what a
loaded machine can do; the record says which was run), and the 1000^3 case
with a tiled image and a few random windows per size::

    .venv/bin/python benchmarks/bench_image_study.py --edge 1000 --tile 2 \
        --sizes 125,250,500 --realizations 2 --windows random --batch 1

Prints and records:

- the wall time of ``run_study`` (the windows and the whole-image task, which
  solves the whole image when its memory estimate fits a worker's budget);
- per task (a worker plugin): the worker's resident memory when the task
  starts and its peak (``VmHWM``, reset then) growth during the task, against
  the memory model's estimate of the task
  (:func:`sve.study.whole.window_task_estimate` of its window size, or
  :func:`sve.study.whole.whole_image_estimate`);
- the peak resident memory of the client process during the run (reset
  after the image is written and validated) and of each worker process,
  against its prediction: its resident memory before the run (after one small
  window has loaded its kernels) plus the largest estimate of the tasks it ran;
- for an image of edge ``E``, the ``2E`` case's predicted peaks: a worker
  holds one solve at a time, so its peak is its baseline plus the estimate of
  the largest window (edge ``E`` for window edges up to half the image) or of
  the whole ``(2E)^3`` image if a worker's budget admits it (it reports
  which); the client never reads the image (lazy, per-window reads by the
  workers), so its peak does not grow with it.

The image is a level cut of a Gaussian field (Gaussian covariance, correlation
length 4 voxels, fraction 0.4), written as ``.npy`` (memory-mapped reads).
``--tile k`` draws the level cut at ``edge / k`` and writes it ``k`` times
along every axis (slab by slab): the field is periodic, so the tiled image is
continuous across the copies, but it repeats with period ``edge / k``. That
changes the windows' statistics (a window of edge ``edge / k`` sees the whole
period, windows are not independent across copies), not the memory or time of
a window's solve, which depend on its voxel count and phase contrast; it makes
the 1000^3 image (1 GB) without the 1000^3 field (8 GB, and its transforms).
``--tmp`` names the folder for the image (default: the system's temporary
folder); it is deleted afterwards.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from distributed import Client, LocalCluster, WorkerPlugin

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import status_bytes  # noqa: E402
from _record import Record, arguments  # noqa: E402

import generators  # noqa: E402
from sve.solvers import memory_estimate  # noqa: E402
from sve.study import load_spec, run_study  # noqa: E402
from sve.study.whole import (  # noqa: E402
    WHOLE_IMAGE_ATTR,
    whole_image_estimate,
    window_task_estimate,
)

MIB = 2**20


def _reset_peak() -> int | None:
    """Reset this process's VmHWM to its current RSS (Linux); the RSS in bytes."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return None
    return status_bytes("VmRSS")


def _peak() -> int | None:
    return status_bytes("VmHWM")


def _level_cut(edge: int) -> np.ndarray:
    """A periodic level cut of edge^3 voxels (uint8), from one Gaussian field."""
    model = generators.covariance_model("gaussian", correlation_length=4.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", generators.ClippedEmbeddingWarning)
        field = generators.gaussian_field((edge,) * 3, model, rng=np.random.default_rng(7))
    labels = np.asarray(generators.level_cut(field, 0.4, exact=False), dtype=np.uint8)
    del field
    return labels


def write_image(path: Path, edge: int, tile: int = 1) -> float:
    """Write an edge^3 uint8 ``.npy`` level cut (``tile`` copies of an ``edge / tile``
    one along every axis, slab by slab); its phase-1 fraction.
    """
    if edge % tile:
        raise ValueError(f"--edge must be a multiple of --tile, got {edge} and {tile}")
    cell = _level_cut(edge // tile)
    if tile == 1:
        np.save(path, cell)
        return float(cell.mean())
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(edge,) * 3)
    n = edge // tile
    for k in range(tile):
        for z in range(0, n, 50):  # slabs of 50 planes: 50 MB at edge 1000
            out[k * n + z : k * n + min(z + 50, n)] = np.tile(cell[z : z + 50], (1, tile, tile))
    out.flush()
    del out
    return float(cell.mean())


class TaskMemory(WorkerPlugin):
    """Per task on a worker: its RSS at the start and its peak (VmHWM reset at the start)."""

    name = "task-memory"

    def setup(self, worker):
        self.worker = worker
        self.log: list[dict] = []
        self._start: dict = {}

    def transition(self, key, start, finish, **kwargs):
        if finish == "executing":
            self._start[key] = _reset_peak()
        elif start == "executing" and key in self._start:
            task = self.worker.state.tasks.get(key)
            args = getattr(getattr(task, "run_spec", None), "args", ())
            name = str(key[0] if isinstance(key, tuple) else key).split("-")[0]
            size = args[1] if name == "solve_batch" and len(args) > 1 else None
            self.log.append(
                {"task": name, "size": size, "before": self._start.pop(key), "peak": _peak()}
            )


def _task_log(dask_worker) -> list[dict]:
    return dask_worker.plugins[TaskMemory.name].log


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--edge", type=int, default=500, help="image edge in voxels")
    parser.add_argument("--sizes", default="50,100,150,200,250", help="window edges")
    parser.add_argument("--realizations", type=int, default=8, help="windows per size (at most)")
    parser.add_argument("--windows", choices=("tiles", "random"), default="tiles")
    parser.add_argument("--batch", type=int, default=8, help="windows per task (solver.batch)")
    parser.add_argument("--tile", type=int, default=1, help="copies of the level cut per axis")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tmp", default=None, help="folder for the image (default: system's)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    record = Record("image_study" if args.edge == 500 else f"image_study_{args.edge}")
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        image = Path(tmp) / "scan.npy"
        t0 = time.perf_counter()
        fraction = write_image(image, args.edge, args.tile)
        t_image = time.perf_counter() - t0
        data = {
            "name": "image-bench",
            "seed": 1,
            "medium": {"image": str(image), "unit": "um", "voxel_size": 1.0},
            "property": {"name": "conductivity", "phases": [1.0, 10.0]},
            "sampling": {
                "sizes": sizes,
                "realizations": args.realizations,
                "windows": args.windows,
            },
            "solver": {"bc": ["mixed"], "discretization": "fv", "tol": 1e-6, "batch": args.batch},
        }
        t0 = time.perf_counter()
        spec = load_spec(data)
        t_validate = time.perf_counter() - t0
        client_before = _reset_peak()
        with (
            LocalCluster(
                n_workers=args.workers, threads_per_worker=1, dashboard_address=":0"
            ) as cluster,
            Client(cluster) as client,
        ):
            from sve.study.tasks import solve_batch

            client.run(solve_batch, spec, sizes[0], range(1))  # compile / load the kernels
            baseline = client.run(_reset_peak)
            client.register_plugin(TaskMemory(), name=TaskMemory.name)
            t0 = time.perf_counter()
            ds = run_study(spec, client=client, store=Path(tmp) / "study.zarr")
            wall = time.perf_counter() - t0
            worker_peaks = client.run(_peak)
            tasks = client.run(_task_log)
            workers = client.scheduler_info(n_workers=-1)["workers"]
            limits = {address: w.get("memory_limit") for address, w in workers.items()}
        client_peak = _peak()
    outcome = json.loads(ds.attrs[WHOLE_IMAGE_ATTR])
    ok = int((ds["status"] == 1).sum())

    def estimate(shape):  # the solve alone, for the 2E case's windows and whole image
        return memory_estimate(shape, bc="mixed", discretization="fv", voids=False,
                               contrast=10.0).bytes + int(np.prod(shape))  # fmt: skip

    def task_estimate(entry):
        if entry["task"] == "solve_whole_image":
            return whole_image_estimate(spec) if outcome["mode"] == "solved" else 0
        return window_task_estimate(spec, entry["size"])

    mib = lambda b: None if b is None else b / MIB  # noqa: E731
    tiles = f", {args.tile}^3 tiles" if args.tile > 1 else ""
    print(f"image {args.edge}^3 (phi = {fraction:.3f}{tiles}) written in {t_image:.1f} s, "
          f"validated in {t_validate:.1f} s")  # fmt: skip
    print(f"study: {len(sizes)} sizes {sizes}, {ok} windows solved, whole image "
          f"{outcome['mode']}; wall time {wall:.1f} s on {args.workers} workers "
          f"(load average {os.getloadavg()[0]:.1f})")  # fmt: skip
    print(f"client peak RSS {mib(client_peak):.0f} MiB (before the run {mib(client_before):.0f})")
    names = {address: f"worker {k}" for k, address in enumerate(sorted(worker_peaks))}
    per_task = record.table(
        f"Tasks of the windows study of a {args.edge}^3 image: peak growth against the "
        "memory model",
        ["task", "worker", "RSS at start [MiB]", "peak growth [MiB]", "estimate [MiB]",
         "measured / estimate"],
    )  # fmt: skip
    ratios = []
    for address in sorted(tasks):
        for entry in tasks[address]:
            if entry["before"] is None or entry["peak"] is None:
                continue
            growth, predicted = entry["peak"] - entry["before"], task_estimate(entry)
            label = (f"window {entry['size']}^3" if entry["task"] == "solve_batch"
                     else f"whole image ({outcome['mode']})")  # fmt: skip
            ratio = growth / predicted if predicted > 16 * MIB else None  # not a solve
            if ratio is not None:
                ratios.append((label, ratio))
            print(f"  {label} on {names[address]}: RSS {mib(entry['before']):.0f} MiB, grew "
                  f"{mib(growth):.0f} MiB, estimate {mib(predicted):.0f} MiB"
                  + (f" ({ratio:.2f})" if ratio is not None else ""))  # fmt: skip
            per_task.add(label, names[address], mib(entry["before"]), mib(growth),
                         mib(predicted), ratio)  # fmt: skip
    per_task.note = (
        "Peak growth: the worker's VmHWM (reset when the task starts) minus its VmRSS then. "
        "Estimate: window_task_estimate (the solve of one window plus the labels the task "
        "holds) or whole_image_estimate; ratios only for tasks whose estimate is over 16 MiB."
    )
    table = record.table(
        f"Windows study of a {args.edge}^3 image (sizes {sizes[0]}-{sizes[-1]}, mixed, fv, "
        f"{args.workers} workers)",
        ["process", "baseline RSS [MiB]", "peak RSS [MiB]", "predicted peak [MiB]",
         "measured / predicted"],
    )  # fmt: skip
    table.add("client", mib(client_before), mib(client_peak), None, None)
    peaks = {}
    for address in sorted(worker_peaks):
        base = baseline[address]
        logged = [e for e in tasks.get(address, []) if e["peak"] is not None]
        peak = peaks[address] = max([worker_peaks[address] or 0] + [e["peak"] for e in logged])
        largest = max([task_estimate(e) for e in logged], default=0)
        predicted = None if base is None else base + largest
        print(f"{names[address]}: baseline {mib(base):.0f} MiB, peak {mib(peak):.0f} MiB, "
              f"predicted {mib(predicted):.0f} MiB ({len(logged)} tasks)")  # fmt: skip
        table.add(names[address], mib(base), mib(peak), mib(predicted),
                  None if predicted is None else peak / predicted)  # fmt: skip
    base = max(b for b in baseline.values() if b is not None)
    budget = min(v for v in limits.values() if v) if any(limits.values()) else None
    big = 2 * args.edge
    big_window, big_whole = estimate((args.edge,) * 3), estimate((big,) * 3)
    whole_fits = budget is not None and big_whole <= budget - base
    big_worker = base + (big_whole if whole_fits else big_window)
    table.note = (
        f"Wall time {wall:.1f} s ({ok} windows; whole image {outcome['mode']}); load average "
        f"during the run in the record. Image written in {t_image:.0f} s"
        f"{f' ({args.tile}^3 periodic copies of a {args.edge // args.tile}^3 level cut)' if args.tile > 1 else ''}, "  # noqa: E501
        f"validated (read, hashed) in {t_validate:.0f} s. Predicted: the worker's RSS before "
        f"the run plus the largest estimate of the tasks it ran (the table above). {big}^3 "
        f"(sizes to {args.edge}): the whole image needs {big_whole / 2**30:.1f} GiB (a worker "
        f"budget of {'unknown' if budget is None else f'{budget / 2**30:.1f} GiB'} here: "
        f"{'solved' if whole_fits else 'extrapolated'}); a worker's predicted peak "
        f"{big_worker / 2**30:.1f} GiB, the client's unchanged ({mib(client_peak):.0f} MiB)."
    )
    print(table.note)
    full = args.edge == 500 and sizes == [50, 100, 150, 200, 250]
    worst = max(ratios, key=lambda r: abs(r[1] - 1), default=None)
    record.headline(
        f"image windows study {args.edge}^3 (sizes {sizes[0]}-{sizes[-1]}, "
        f"{args.workers} workers{'' if full or args.edge > 500 else '; reduced case, full: 500^3'}"
        f"{f'; {args.tile}^3 tiles, {args.realizations} {args.windows} windows per size' if args.edge > 500 else ''}): "  # noqa: E501
        f"{wall:.0f} s, worker peak {max(mib(p) for p in peaks.values()):.0f} MiB, "
        f"client peak {mib(client_peak):.0f} MiB"
        + (f"; task peak / estimate within {abs(worst[1] - 1):.0%}" if worst else "")
    )
    record.write()


if __name__ == "__main__":
    main()
