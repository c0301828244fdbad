"""Throughput of small SVEs: full periodic conductivity tensors per second in a study.

Run: ``.venv/bin/python benchmarks/bench_throughput.py [--before REV] [--no-record]``.

The issue's cases: periodic level cuts of a Gaussian field (correlation length 4,
volume fraction 1/2), conductivities 1 and 100, ``tol=1e-6``, preconditioner
``"auto"``, solved by the study task ``sve.study.tasks.solve_batch`` on 32^3 SVEs
(targets: >= 50 full 3 x 3 tensors per second on 2 cores) and 64^2 SVEs (>= 500 2 x 2
tensors per second). For each size and each code version:

* ``CPU ms/tensor``: process CPU time of one ``solve_batch`` over the realizations,
  divided by their number (minimum of the repeats); the transforms and kernels run on
  one thread at these sizes, so this is the work of a tensor on one core, what a quiet
  core would take;
* ``FFT pairs``: that time over the CPU time of one ``scipy.fft.rfftn`` + ``irfftn`` pair
  of a float64 array of the SVE's shape on one thread (``workers=1``), measured in the
  same process: the reference that travels between machines and loads;
* ``2 cores: tensors/s``: wall-clock throughput of two worker processes, each running
  ``solve_batch`` on half of the realizations (what a study on 2 workers does, without
  the scheduler), on the machine as loaded at the time (the record has its load average);
* ``predicted quiet``: ``2 / (CPU s/tensor)``, the 2-core throughput if each worker had
  its core.

``--profile`` instead profiles (cProfile, CPU-time clock) the periodic tensors of 20
32^3 SVEs of the first case through ``apparent_conductivity`` and prints the 15 functions
of largest own time: the profile the solver notes quote (``--profile --before``: with
the code the environment installs, e.g. main's).

``--before REV`` (default ``e85dba7``, main before the throughput work) measures the
same with that revision's ``sve`` and ``generators`` (``git archive`` into a temporary
folder, run in a subprocess), so the before and after figures come from one run.
"""

from __future__ import annotations

import concurrent.futures
import json
import multiprocessing
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = [(3, 32, 16), (2, 64, 64)]  # (ndim, size, realizations)
REPEATS = 2


def spec_for(ndim: int, size: int, realizations: int):
    """The study spec of one case (imported inside: the code version comes from sys.path)."""
    from sve.study import load_spec

    return load_spec(
        {
            "name": f"throughput-{ndim}d",
            "seed": 11,
            "medium": {"generator": "gaussian_level_cut", "ndim": ndim,
                       "covariance": "gaussian", "correlation_length": 4.0,
                       "volume_fraction": 0.5, "fraction": "exact"},
            "property": {"name": "conductivity", "phases": [1.0, 100.0]},
            "sampling": {"sizes": [size], "realizations": realizations},
            "solver": {"bc": ["periodic"], "tol": 1e-6},
        }
    )  # fmt: skip


def _half(args) -> None:
    """Worker process: solve the realizations `part` (a start and stop)."""
    ndim, size, realizations, part = args
    from sve.study.tasks import solve_batch

    spec = spec_for(ndim, size, realizations)
    solve_batch(spec, size, range(*part))


def measure() -> dict:
    """Measure every case with the code on sys.path; print and return JSON."""
    import numpy as np
    import scipy.fft

    from sve.study.tasks import STATUS, solve_batch

    out = {}
    for ndim, size, realizations in CASES:
        spec = spec_for(ndim, size, realizations)
        solve_batch(spec, size, range(0, 2))  # compile and load the kernels first
        array = np.random.default_rng(0).random((size,) * ndim)
        pair, cpu = [], []
        for _ in range(REPEATS):
            start = time.process_time()
            for _ in range(50):
                scipy.fft.irfftn(scipy.fft.rfftn(array, workers=1), s=array.shape, workers=1)
            pair.append((time.process_time() - start) / 50)
            start = time.process_time()
            records = solve_batch(spec, size, range(realizations))
            cpu.append((time.process_time() - start) / realizations)
        half = realizations // 2
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as pool:
            list(pool.map(_warm, [(ndim, size, realizations)] * 2))
            start = time.perf_counter()
            list(pool.map(_half, [(ndim, size, realizations, (0, half)),
                                  (ndim, size, realizations, (half, realizations))]))  # fmt: skip
            wall = time.perf_counter() - start
        out[f"{size}^{ndim}"] = {
            "cpu_per_tensor": min(cpu),
            "fft_pair": min(pair),
            "pairs": min(cpu) / min(pair),
            "iterations": float(records["iterations"].mean()),
            "converged": float((records["status"] == STATUS["ok"]).mean()),
            "wall_tensors_per_s": realizations / wall,
            "predicted_quiet": 2.0 / min(cpu),
        }
    print(json.dumps(out))
    return out


def _warm(args) -> None:
    ndim, size, realizations = args
    from sve.study.tasks import solve_batch

    solve_batch(spec_for(ndim, size, realizations), size, range(0, 1))


def measure_revision(revision: str) -> dict:
    """`measure` with `revision`'s sve and generators, in a subprocess."""
    with tempfile.TemporaryDirectory() as folder:
        archive = Path(folder) / "code.tar"
        subprocess.run(
            ["git", "archive", "-o", str(archive), revision, "sve", "generators"],
            cwd=ROOT, check=True,
        )  # fmt: skip
        with tarfile.open(archive) as tar:
            tar.extractall(folder, filter="data")
        environment = {**os.environ, "PYTHONPATH": folder}
        done = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--measure"],
            cwd=folder, env=environment, check=True, capture_output=True, text=True,
        )  # fmt: skip
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    sys.path.insert(0, str(ROOT))  # this checkout's code, whatever the environment installs
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _record import Record

    revision = "e85dba7"
    if "--before" in sys.argv:
        revision = sys.argv[sys.argv.index("--before") + 1]
    load = os.getloadavg()[0]
    before = measure_revision(revision)
    after = measure()
    record = Record("throughput")
    table = record.table(
        "Periodic conductivity tensors of small SVEs (level cuts, contrast 100, tol 1e-6)",
        ["SVE", "code", "CPU ms/tensor", "FFT pairs", "iterations/case", "converged",
         "2 cores: tensors/s (loaded)", "predicted quiet 2 cores", "target"],
    )  # fmt: skip
    targets = {"32^3": 50, "64^2": 500}
    for case in after:
        for label, figures in ((f"before ({revision})", before[case]), ("after", after[case])):
            table.add(
                case, label, 1e3 * figures["cpu_per_tensor"], figures["pairs"],
                figures["iterations"], figures["converged"], figures["wall_tensors_per_s"],
                figures["predicted_quiet"], f">= {targets[case]}/s",
            )  # fmt: skip
        gain = before[case]["pairs"] / after[case]["pairs"]
        print(
            f"{case}: {before[case]['pairs']:.0f} -> {after[case]['pairs']:.0f} FFT pairs per "
            f"tensor ({gain:.2f}x); predicted quiet 2-core throughput "
            f"{after[case]['predicted_quiet']:.0f}/s (target {targets[case]}); measured "
            f"{after[case]['wall_tensors_per_s']:.1f}/s at load {load:.1f}"
        )
        record.headline(
            f"{case} periodic tensors: {after[case]['pairs']:.0f} FFT pairs each "
            f"({gain:.1f}x fewer than before), about {after[case]['predicted_quiet']:.0f}/s "
            "predicted on 2 quiet cores"
        )
    table.note = (
        f"Load average {load:.1f} at the start on this 2-core machine: the wall-clock "
        "throughputs are those of a loaded machine; the CPU times and FFT-pair ratios are "
        "the comparable figures. 'predicted quiet' is 2 / (CPU s per tensor)."
    )
    record.write()


def profile(count: int = 20) -> None:
    """Print the cProfile (CPU time) of `count` periodic 32^3 tensors, one at a time."""
    import cProfile
    import pstats

    if "--before" not in sys.argv:  # this checkout's code; else the environment's
        sys.path.insert(0, str(ROOT))
    from sve.solvers import apparent_conductivity
    from sve.study.tasks import generate_sve

    ndim, size, _ = CASES[0]
    spec = spec_for(ndim, size, count)
    images = [generate_sve(spec, size, r) for r in range(count)]
    apparent_conductivity(images[0], [1.0, 100.0])  # compile and load the kernels first
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for image in images:
        apparent_conductivity(image, [1.0, 100.0], tol=1e-6)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    if "--measure" in sys.argv:
        measure()
    elif "--profile" in sys.argv:
        profile()
    else:
        main()
