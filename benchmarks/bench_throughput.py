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
the code the environment installs, e.g. main's). ``--profile --batch`` profiles the study
task ``solve_batch`` on every case instead (the batched path that ``measure`` times).

``--candidates`` instead measures the ways to fewer iterations that issue 18 names, one
image at a time on the first SVEs of each case, and writes the record
``throughput_candidates``: per tensor the CPU time, the FFT pairs, the iterations per
load case and the largest error of an entry relative to the tensor's norm against a
solve at ``tol=1e-10``, for the transforms and the multigrid preconditioners under both
stopping rules (``stop="tensor"`` is solved one image at a time: the batched path
supports the residual rule only), a sparse LU factorization at 64^2 (``splu`` of the
Q1 matrix with one node fixed, factor and the two solves; the matrix assembled by
probing the operator, not timed), and two numpy prototypes whose iteration counts only
are comparable: block conjugate gradients over the load cases of an image, and the
transforms preconditioner scaled by the nodal conductivity, ``D^-1/2 L^-1 D^-1/2``.

Each version is also measured with ``stop="tensor"`` (a second table, apart from the
targets, which are for the residual rule): batched since ``a2a089b``, one image at a
time before.

The versions alternate ``--rounds`` times (default 2) and each keeps the figures of its
round of least CPU time per tensor (the FFT pair of the same run), so that a drift of the
load of a shared machine does not fall on one version only.

``--study`` instead times ``run_study`` itself (an embedded cluster of 2 workers, 256
SVEs of 32^3 and 1024 of 64^2 after a warm-up study; no record): the targets' "inside a
study", with Dask's scheduling, the workers' other threads and the client's writes.

``--case SIZE^NDIM`` (``32^3`` or ``64^2``) measures that case only, for the tables or
``--profile --batch``; it writes no record (the record ``throughput`` holds every case).

``--before REV`` (default ``f282f65``, main before the sixth round of the throughput
work, the float32 level 0 of the small cycles with the plane-wise operator;
``69cfc0a`` before the fifth, the vectorized dot products; ``4aa8e08`` before the
fourth, the cheaper cycle of small images; ``02ad759`` before the third, ``c08a13e``
before the second, ``e85dba7`` before the first) measures the
same with that revision's ``sve`` and ``generators`` (``git archive`` into a temporary
folder, run in a subprocess), so the before and after figures come from one run.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import functools
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


@functools.cache
def options() -> argparse.Namespace:
    """The command line (see the module docstring)."""
    from _record import arguments

    parser = arguments(__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--candidates", action="store_true", help="the ways to fewer iterations")
    mode.add_argument("--profile", action="store_true", help="cProfile of 20 32^3 tensors")
    mode.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)  # the child
    mode.add_argument("--study", action="store_true", help="tensors/s inside run_study")
    parser.add_argument("--batch", action="store_true", help="--profile: the study task")
    parser.add_argument("--before", metavar="REV", help="the version beside (f282f65)")
    parser.add_argument("--rounds", type=int, default=2, help="alternations (default 2)")
    parser.add_argument("--case", choices=[f"{size}^{ndim}" for ndim, size, _ in CASES])
    chosen = parser.parse_args()
    if chosen.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {chosen.rounds}")
    return chosen


def selected_cases() -> list[tuple[int, int, int]]:
    """`CASES`, or the one that ``--case SIZE^NDIM`` (e.g. ``64^2``) names."""
    if options().case is None:
        return CASES
    return [case for case in CASES if f"{case[1]}^{case[0]}" == options().case]


def spec_for(ndim: int, size: int, realizations: int, stop: str = "residual"):
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
            "solver": {"bc": ["periodic"], "tol": 1e-6, "stop": stop},
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
    for ndim, size, realizations in selected_cases():
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
        tensor_spec = spec_for(ndim, size, realizations, "tensor")  # reported apart
        solve_batch(tensor_spec, size, range(0, 2))
        tensor_cpu = []
        for _ in range(REPEATS):
            start = time.process_time()
            tensor_records = solve_batch(tensor_spec, size, range(realizations))
            tensor_cpu.append((time.process_time() - start) / realizations)
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
            "tensor_cpu_per_tensor": min(tensor_cpu),
            "tensor_pairs": min(tensor_cpu) / min(pair),
            "tensor_iterations": float(tensor_records["iterations"].mean()),
            "tensor_converged": float((tensor_records["status"] == STATUS["ok"]).mean()),
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
        chosen = ["--case", options().case] if options().case else []
        done = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--measure", *chosen],
            cwd=folder, env=environment, check=True, capture_output=True, text=True,
        )  # fmt: skip
        return json.loads(done.stdout.strip().splitlines()[-1])


def _best(kept: dict, new: dict) -> dict:
    """Per case, the figures of the run of least CPU time per tensor (``kept`` or ``new``),
    its tensor-rule figures from the run of least CPU time under that rule.
    """
    best = {}
    for case, figures in new.items():
        old = kept.get(case, figures)
        pick = dict(figures if figures["cpu_per_tensor"] <= old["cpu_per_tensor"] else old)
        key = "tensor_cpu_per_tensor"
        source = figures if figures[key] <= old[key] else old
        pick.update({key: value for key, value in source.items() if key.startswith("tensor_")})
        best[case] = pick
    return best


def main() -> None:
    sys.path.insert(0, str(ROOT))  # this checkout's code, whatever the environment installs
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _record import Record

    revision = options().before or "f282f65"
    load = os.getloadavg()[0]
    before, after = {}, {}
    for _ in range(options().rounds):  # alternate the versions: the load drifts
        before = _best(before, measure_revision(revision))
        after = _best(after, measure())
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
    tensor_table = record.table(
        'The same with stop="tensor" (each load case stops on the estimated error of its '
        "energy; the energy-form tensor): not the target's rule, reported apart",
        ["SVE", "code", "CPU ms/tensor", "FFT pairs", "iterations/case", "converged",
         "predicted quiet 2 cores"],
    )  # fmt: skip
    for case in after:
        for label, figures in ((f"before ({revision})", before[case]), ("after", after[case])):
            tensor_table.add(
                case, label, 1e3 * figures["tensor_cpu_per_tensor"], figures["tensor_pairs"],
                figures["tensor_iterations"], figures["tensor_converged"],
                2.0 / figures["tensor_cpu_per_tensor"],
            )  # fmt: skip
    table.note = (
        f"Load average {load:.1f} at the start on this 2-core machine: the wall-clock "
        "throughputs are those of a loaded machine; the CPU times and FFT-pair ratios are "
        "the comparable figures. 'predicted quiet' is 2 / (CPU s per tensor)."
    )
    if options().case:  # the record holds every case: one case alone writes none
        print("--case: no record written")
    else:
        record.write()


def profile(count: int = 20) -> None:
    """Print the cProfile (CPU time) of `count` periodic 32^3 tensors, one at a time."""
    import cProfile
    import pstats

    if options().before is None:  # this checkout's code; else the environment's
        sys.path.insert(0, str(ROOT))
    from sve.solvers import apparent_conductivity
    from sve.study.tasks import generate_sve, solve_batch

    if options().batch:  # the study task on every case, as `measure` times it
        for ndim, size, realizations in selected_cases():
            spec = spec_for(ndim, size, realizations)
            solve_batch(spec, size, range(0, 2))  # compile and load the kernels first
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
            solve_batch(spec, size, range(realizations))
            profiler.disable()
            print(f"{size}^{ndim}, {realizations} SVEs:")
            pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
        return
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


def _prototype_counts(image, tol: float) -> tuple[float, float]:
    """Iterations per load case of two numpy prototypes: block CG (all load cases in one
    block, stopped when every column meets the residual rule) and CG with the transforms
    preconditioner scaled by the nodal mean conductivity (``D^-1/2 L^-1 D^-1/2``).
    """
    import numpy as np
    import scipy.fft

    from sve.solvers._core.transforms import _pseudo_inverse, symbol
    from sve.solvers.conductivity.q1 import Q1Grid

    k = np.where(image == 1, 100.0, 1.0)
    shape, ndim = k.shape, k.ndim
    grid = Q1Grid(k, ("periodic",) * ndim, 1.0)
    zero, origin = np.zeros(shape), np.zeros(ndim)

    def operator(u):
        out = np.empty(shape)
        grid.flux(u.reshape(shape), origin, out)
        return out.reshape(-1)

    inverse = _pseudo_inverse(k.mean() * symbol("q1", ("periodic",) * ndim, shape, 1.0))

    def transforms(r):
        return np.real(scipy.fft.ifftn(inverse * scipy.fft.fftn(r.reshape(shape)))).reshape(-1)

    nodal = k
    for axis in range(ndim):  # the mean of the 2^d elements around each node
        nodal = 0.5 * (nodal + np.roll(nodal, 1, axis=axis))
    root = np.sqrt(nodal.reshape(-1) / k.mean())
    loads = []
    for j in range(ndim):
        b = np.empty(shape)
        grid.flux(zero, np.eye(ndim)[j], b)
        loads.append(-b.reshape(-1))

    def cg(b, precondition):
        x, r = np.zeros_like(b), b.copy()
        z = precondition(r)
        p, rz = z.copy(), r @ z
        initial = rz
        for iteration in range(1, 2000):
            q = operator(p)
            alpha = rz / (p @ q)
            x += alpha * p
            r -= alpha * q
            z = precondition(r)
            rz_next = r @ z
            if np.sqrt(rz_next / initial) <= tol:
                return iteration
            p, rz = z + (rz_next / rz) * p, rz_next
        return 2000

    def block(b):
        apply = lambda v: np.stack([operator(c) for c in v.T], 1)  # noqa: E731
        precondition = lambda v: np.stack([transforms(c) for c in v.T], 1)  # noqa: E731
        r = b.copy()
        z = precondition(r)
        p, rz = z.copy(), r.T @ z
        initial = np.diag(rz).copy()
        for iteration in range(1, 2000):
            q = apply(p)
            alpha = np.linalg.solve(p.T @ q, rz)
            r -= q @ alpha
            z = precondition(r)
            rz_next = r.T @ z
            if np.all(np.sqrt(np.diag(rz_next) / initial) <= tol):
                return iteration
            p, rz = z + p @ np.linalg.solve(rz, rz_next), rz_next
        return 2000

    scaled = [cg(b, lambda r: transforms(r / root) / root) for b in loads]
    return float(block(np.stack(loads, 1))), float(np.mean(scaled))


def _splu_tensor(image) -> tuple:
    """The periodic tensor of a 2-D image by a sparse LU of the Q1 matrix (node 0 fixed),
    and the CPU time of the factorization and the two solves.
    """
    import numpy as np
    import scipy.sparse
    import scipy.sparse.linalg

    from sve.solvers.conductivity.q1 import Q1Grid

    k = np.where(image == 1, 100.0, 1.0)
    shape = k.shape
    grid = Q1Grid(k, ("periodic", "periodic"), 1.0)
    nodes = np.arange(k.size).reshape(shape)
    rows, cols, values = [], [], []
    out = np.empty(shape)
    for a in range(4):  # probe the 9-point operator with 16 colours of nodes 4 apart
        for c in range(4):
            probe = np.zeros(shape)
            probe[a::4, c::4] = 1.0
            grid.flux(probe, np.zeros(2), out)
            for di in (-1, 0, 1):
                for dj in (-1, 0, 1):
                    source = nodes[a::4, c::4]
                    target = np.roll(np.roll(nodes, -di, 0), -dj, 1)[a::4, c::4]
                    rows.append(target.reshape(-1))
                    cols.append(source.reshape(-1))
                    values.append(out.reshape(-1)[target.reshape(-1)])
    matrix = scipy.sparse.csc_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
        shape=(k.size, k.size),
    )[1:, 1:].tocsc()
    loads = np.empty((k.size, 2))
    for j in range(2):
        grid.flux(np.zeros(shape), np.eye(2)[j], out)
        loads[:, j] = -out.reshape(-1)
    start = time.process_time()
    factor = scipy.sparse.linalg.splu(matrix, permc_spec="MMD_AT_PLUS_A")
    solved = factor.solve(loads[1:])
    cpu = time.process_time() - start
    tensor = np.zeros((2, 2))
    for j in range(2):
        u = np.concatenate([[0.0], solved[:, j]]).reshape(shape)
        tensor[:, j] = grid.mean_flux(u, np.eye(2)[j])
    return tensor, cpu


def candidates(counts=(4, 8)) -> None:
    """Measure the candidates of ``--candidates`` (see the module notes); record them."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import numpy as np
    import scipy.fft
    from _record import Record

    from sve.solvers import apparent_conductivity
    from sve.study.tasks import generate_sve

    load = os.getloadavg()[0]
    record = Record("throughput_candidates")
    table = record.table(
        "Ways to fewer iterations on small SVEs, one image at a time (tol 1e-6)",
        ["SVE", "method", "CPU ms/tensor", "FFT pairs", "iterations/case",
         "max error / |K|"],
    )  # fmt: skip
    for (ndim, size, _), count in zip(CASES, counts, strict=True):
        spec = spec_for(ndim, size, count)
        images = [generate_sve(spec, size, r) for r in range(count)]
        exact = [
            apparent_conductivity(i, [1.0, 100.0], tol=1e-10, preconditioner="fft").tensor
            for i in images
        ]
        array = np.random.default_rng(0).random((size,) * ndim)
        start = time.process_time()
        for _ in range(50):
            scipy.fft.irfftn(scipy.fft.rfftn(array, workers=1), s=array.shape, workers=1)
        pair = (time.process_time() - start) / 50
        case = f"{size}^{ndim}"

        def error(tensors, exact=exact):
            pairs = zip(tensors, exact, strict=True)
            return max(np.abs(t - e).max() / np.linalg.norm(e) for t, e in pairs)

        for preconditioner in ("fft", "multigrid"):
            for stop in ("residual", "tensor"):
                options = dict(tol=1e-6, preconditioner=preconditioner, stop=stop)
                apparent_conductivity(images[0], [1.0, 100.0], **options)  # compile first
                start = time.process_time()
                results = [apparent_conductivity(i, [1.0, 100.0], **options) for i in images]
                cpu = (time.process_time() - start) / count
                name = {"fft": "transforms", "multigrid": "multigrid"}[preconditioner]
                table.add(
                    case, f"{name}, stop={stop}", 1e3 * cpu, cpu / pair,
                    float(np.mean([r.iterations for r in results])),
                    error([r.tensor for r in results]),
                )  # fmt: skip
        if ndim == 2:
            solved = [_splu_tensor(i) for i in images]
            cpu = float(np.mean([c for _, c in solved]))
            table.add(case, "sparse LU (splu, MMD_AT_PLUS_A)", 1e3 * cpu, cpu / pair, 0.0,
                      error([t for t, _ in solved]))  # fmt: skip
        prototypes = np.array([_prototype_counts(i, 1e-6) for i in images])
        table.add(case, "block CG over the load cases (prototype)", None, None,
                  float(prototypes[:, 0].mean()), None)  # fmt: skip
        table.add(case, "transforms scaled by nodal k (prototype)", None, None,
                  float(prototypes[:, 1].mean()), None)  # fmt: skip
        print(json.dumps(table.as_dict()["rows"][-8:]))
    table.note = (
        f"Load average {load:.1f} at the start on this 2-core machine; CPU times of "
        "apparent_conductivity one image at a time (set-up included), errors against "
        "tol=1e-10 solves. The prototypes are numpy loops: their iteration counts, not "
        "their times, compare."
    )
    record.write()


def study(counts: dict[str, int] | None = None) -> None:
    """Print the tensors per second of `run_study` itself on every case (or ``--case``):
    an embedded cluster of 2 single-threaded workers (the study layer's client, its
    allocator plugin included), a warm-up study, then a study of ``counts[case]`` SVEs
    (the spec's default batch, "auto": 8 SVEs a task at 32^3, 64 at 64^2), timed from
    submission to the returned dataset.
    """
    import io
    from contextlib import ExitStack

    sys.path.insert(0, str(ROOT))
    from sve.study import run_study
    from sve.study.run import _client

    counts = counts or {"32^3": 256, "64^2": 1024}
    with ExitStack() as stack:
        client = _client(stack, None, 2)
        for ndim, size, _ in selected_cases():
            case = f"{size}^{ndim}"
            run_study(spec_for(ndim, size, 8), client=client, log=io.StringIO())
            start = time.perf_counter()
            run_study(spec_for(ndim, size, counts[case]), client=client, log=io.StringIO())
            wall = time.perf_counter() - start
            print(
                f"{case}: {counts[case]} tensors in {wall:.2f} s inside a study on 2 workers: "
                f"{counts[case] / wall:.1f}/s (load {os.getloadavg()[0]:.1f})"
            )


if __name__ == "__main__":
    if options().measure:
        measure()
    elif options().study:
        study()
    elif options().candidates:
        candidates()
    elif options().profile:
        profile()
    else:
        main()
