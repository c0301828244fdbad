"""A windows study of a measured (here: written) two-phase image: time and peak memory.

Run the full case (issue #17: a 500^3 image, window edges 50 to 250, mixed
conditions, finite volumes, conductivity, 2 workers)::

    .venv/bin/python benchmarks/bench_image_study.py

and a reduced one with ``--edge 200 --sizes 25,50,75,100`` (what a loaded
machine can do; the record says which was run). Prints and records:

- the wall time of ``run_study`` (the windows and the whole-image task, which
  solves the whole image when its memory estimate fits a worker's budget);
- the peak resident memory (``VmHWM``) of the client process during the run
  (reset after the image is written) and of each worker process (reset after
  one small window has loaded its kernels), on Linux;
- the memory model's prediction for each worker: its resident memory before
  the run plus :func:`sve.solvers.memory_estimate` of the largest window (the
  whole image's if it was solved), against the measured peak;
- the 1000^3 case's predicted peaks: a worker holds one solve at a time, so its
  peak is its baseline plus the estimate of the largest window (500^3 for
  window edges up to half the image, as here) or of the whole 1000^3 image if
  a worker's budget admits it (it reports which); the client never reads the
  image (lazy, per-window reads by the workers), so its peak does not grow with it.

The image is a level cut of a Gaussian field (Gaussian covariance, correlation
length 4 voxels, fraction 0.4), written as ``.npy`` (memory-mapped reads).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from distributed import Client, LocalCluster

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import status_bytes  # noqa: E402
from _record import Record  # noqa: E402

import generators  # noqa: E402
from sve.solvers import memory_estimate  # noqa: E402
from sve.study import load_spec, run_study  # noqa: E402
from sve.study.whole import WHOLE_IMAGE_ATTR, whole_image_estimate  # noqa: E402

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


def write_image(path: Path, edge: int) -> float:
    """A level cut of edge^3 voxels as uint8 .npy, drawn slab-free (one field); its fraction."""
    model = generators.covariance_model("gaussian", correlation_length=4.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", generators.ClippedEmbeddingWarning)
        field = generators.gaussian_field((edge,) * 3, model, rng=np.random.default_rng(7))
    labels = np.asarray(generators.level_cut(field, 0.4, exact=False), dtype=np.uint8)
    del field
    np.save(path, labels)
    return float(labels.mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edge", type=int, default=500, help="image edge in voxels")
    parser.add_argument("--sizes", default="50,100,150,200,250", help="window edges")
    parser.add_argument("--realizations", type=int, default=8, help="windows per size (at most)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    record = Record("image_study" if args.edge == 500 else f"image_study_{args.edge}")
    with tempfile.TemporaryDirectory() as tmp:
        image = Path(tmp) / "scan.npy"
        t0 = time.perf_counter()
        fraction = write_image(image, args.edge)
        t_image = time.perf_counter() - t0
        data = {
            "name": "image-bench",
            "seed": 1,
            "medium": {"image": str(image), "unit": "um", "voxel_size": 1.0},
            "property": {"name": "conductivity", "phases": [1.0, 10.0]},
            "sampling": {"sizes": sizes, "realizations": args.realizations},
            "solver": {"bc": ["mixed"], "discretization": "fv", "tol": 1e-6},
        }
        spec = load_spec(data)
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
            t0 = time.perf_counter()
            ds = run_study(spec, client=client, store=Path(tmp) / "study.zarr")
            wall = time.perf_counter() - t0
            worker_peaks = client.run(_peak)
            workers = client.scheduler_info(n_workers=-1)["workers"]
            limits = {address: w.get("memory_limit") for address, w in workers.items()}
        client_peak = _peak()
    outcome = json.loads(ds.attrs[WHOLE_IMAGE_ATTR])
    ok = int((ds["status"] == 1).sum())

    def estimate(shape):
        return memory_estimate(shape, bc="mixed", discretization="fv", voids=False,
                               contrast=10.0).bytes  # fmt: skip

    largest = estimate((max(sizes),) * 3)
    solve_peak = whole_image_estimate(spec) if outcome["mode"] == "solved" else largest
    print(f"image {args.edge}^3 (phi = {fraction:.3f}) written in {t_image:.1f} s")
    print(f"study: {len(sizes)} sizes {sizes}, {ok} windows solved, whole image "
          f"{outcome['mode']}; wall time {wall:.1f} s on {args.workers} workers")  # fmt: skip
    mib = lambda b: None if b is None else b / MIB  # noqa: E731
    print(f"client peak RSS {mib(client_peak):.0f} MiB (before the run {mib(client_before):.0f})")
    table = record.table(
        f"Windows study of a {args.edge}^3 image (sizes {sizes[0]}-{sizes[-1]}, mixed, fv, "
        f"{args.workers} workers)",
        ["process", "baseline RSS [MiB]", "peak RSS [MiB]",
         "predicted, largest window [MiB]", "predicted, whole image [MiB]"],
    )  # fmt: skip
    table.add("client", mib(client_before), mib(client_peak), None, None)
    for k, (address, peak) in enumerate(sorted(worker_peaks.items())):
        base = baseline[address]
        window = None if base is None else (base + largest) / MIB
        whole = None if base is None else (base + solve_peak) / MIB
        print(
            f"worker {k}: baseline {mib(base):.0f} MiB, peak {mib(peak):.0f} MiB, "
            f"predicted {window:.0f} MiB (largest window), {whole:.0f} MiB (whole image)"
        )
        table.add(f"worker {k}", mib(base), mib(peak), window, whole)
    base = max(b for b in baseline.values() if b is not None)
    budget = min(v for v in limits.values() if v) if any(limits.values()) else None
    big_window, big_whole = estimate((500,) * 3), estimate((1000,) * 3)
    whole_fits = budget is not None and big_whole <= budget - base
    big_worker = base + (big_whole if whole_fits else big_window)
    table.note = (
        f"Wall time {wall:.1f} s ({ok} windows; whole image {outcome['mode']}); load average "
        f"during the run in the record. Predicted: the worker's RSS before the run plus "
        f"memory_estimate of the largest window, or of the whole image for the one worker "
        f"that solves it (when solved). 1000^3 (sizes to 500): the whole image needs "
        f"{big_whole / 2**30:.1f} GiB (a worker budget of "
        f"{'unknown' if budget is None else f'{budget / 2**30:.1f} GiB'} here: "
        f"{'solved' if whole_fits else 'extrapolated'}); a worker's predicted peak "
        f"{big_worker / 2**30:.1f} GiB, the client's unchanged ({mib(client_peak):.0f} MiB)."
    )
    print(table.note)
    full = args.edge == 500 and sizes == [50, 100, 150, 200, 250]
    record.headline(
        f"image windows study {args.edge}^3 (sizes {sizes[0]}-{sizes[-1]}, "
        f"{args.workers} workers{'' if full else '; reduced case, full: 500^3'}): "
        f"{wall:.0f} s, worker peak {max(mib(p) for p in worker_peaks.values()):.0f} MiB, "
        f"client peak {mib(client_peak):.0f} MiB"
    )
    record.write()


if __name__ == "__main__":
    main()
