"""Speed and memory of the periodic elasticity solver, and a side-by-side run of muGrid.

Run as ``.venv/bin/python benchmarks/bench_elasticity.py`` (32^3 and 64^3,
about two minutes on a quiet 2-core machine), ``--large`` to add 128^3
(several more minutes), ``--no-mugrid`` to skip the muGrid comparison.

Problem. The full 6x6 apparent stiffness (Mandel notation) under periodic
conditions, ``sve.apparent_stiffness(phases, ..., bc="periodic",
tol=1e-6)``: 6 load cases, conjugate gradients stopped at a relative
residual of 1e-6 in the preconditioner norm. The medium is a level cut at
phi = 0.5 of a Gaussian random field with a Gaussian covariance of
correlation length N / 16 voxels (2, 4 and 8 voxels at 32^3, 64^3, 128^3:
every size is the same medium family, finer resolved), seed 2024 + N;
isotropic phases E = 1 and E = 100 (contrast 100), nu = 0.3 for both.

Printed, per size and preconditioner (``"fft"``, what ``"auto"`` takes, and
``"multigrid"``): the wall time of the call (one run: every load case,
setup and diagnostics included), its CPU time (the process's, all threads:
independent of the load as long as the threads do not wait for a core), the
iterations per load case, the time per
conjugate-gradient iteration divided by the time of one real FFT forward +
inverse pair of the displacement field (scipy.fft rfftn + irfftn of the
N^3 x 3 array on the threads the preconditioner uses, best of several,
timed in the same run), and the same
ratio for one operator application ``A u`` and one preconditioner
application (the transforms, or one multigrid cycle). Then the spread of
the iteration counts over the sizes (largest and smallest load case against
the mean). It never asserts a time.

Memory, per size: the solve is repeated in a fresh subprocess, which prints
the peak of the memory allocated through numpy (tracemalloc), the growth of
its peak resident set over its resident set just before the solve (imports,
Numba compilation and the image already loaded; Linux /proc, the peak reset
by /proc/self/clear_refs) and that peak: FFT work buffers and Numba
allocations escape tracemalloc, the resident set sees them.

muGrid. The benchmark creates a virtual environment in the system temp
directory (``sve-bench-mugrid-venv``; not a dependency of this project)
with ``python -m venv`` and ``pip install muGrid numpy`` (the first run
needs the package index), then solves the same problem on the same image
(passed as an .npy file) in it: ``muGrid.IsotropicStiffnessOperator3D``
(matrix-free Q1 trilinear elements, 2x2x2 Gauss points: the same
discretization as ours), its reference-stiffness FFT preconditioner
(Ladecky et al. 2023, analytic route) with the same reference Lame moduli,
and its conjugate gradients stopped by a callback on the same rule as ours
(relative residual 1e-6 in the preconditioner norm; muGrid's own rule is
the Euclidean norm of the true residual). The discretizations coincide, so
the tensors agree to the solver tolerance; a homogeneous medium and a
laminate (exact cases) are checked at 16^3 to round-off first. Printed: the
largest entry of the difference of the tensors over the largest entry of
ours, both iteration counts and times, and the time ratio muGrid / ours.
If muGrid cannot be installed or run, a line "muGrid comparison
unavailable: <reason>" is printed instead.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from functools import partial
from pathlib import Path

import numba
import numpy as np

# Runs from a checkout without installing the package: the repository root goes first.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from _measure import best_time, fft_pair, status_bytes  # noqa: E402
from _record import Record, arguments  # noqa: E402

from generators import Gaussian, gaussian_field, level_cut  # noqa: E402
from sve.solvers import apparent_stiffness  # noqa: E402
from sve.solvers._core.threads import case_threads  # noqa: E402
from sve.solvers._core.transforms import fft_workers  # noqa: E402
from sve.solvers.elasticity.apparent import _materials  # noqa: E402
from sve.solvers.elasticity.cell_problem import Problem, _to_full  # noqa: E402
from sve.solvers.elasticity.fft_preconditioner import periodic_preconditioner  # noqa: E402
from sve.solvers.elasticity.q1_multigrid import multigrid  # noqa: E402
from sve.solvers.moduli import isotropic  # noqa: E402

YOUNG = (1.0, 100.0)
POISSON = 0.3
MATERIALS = [{"E": e, "nu": POISSON} for e in YOUNG]
TOL = 1e-6
MAXITER = 1000
MUGRID_VENV = Path(tempfile.gettempdir()) / "sve-bench-mugrid-venv"

# Run inside the muGrid virtual environment: argv = image.npy, then a JSON
# {"young": [...], "nu": ..., "tol": ..., "maxiter": ...}; prints one JSON line.
MUGRID_SCRIPT = r"""
import json, sys, time
import numpy as np
import muGrid
from muGrid.Preconditioners import make_reference_stiffness_preconditioner
from muGrid.Solvers import conjugate_gradients

phases = np.load(sys.argv[1])
options = json.loads(sys.argv[2])
young, nu, tol = np.array(options["young"]), options["nu"], options["tol"]
start = time.perf_counter()
lam_of = young * nu / ((1 + nu) * (1 - 2 * nu))
mu_of = young / (2 * (1 + nu))
# The reference medium of sve: geometric means of the extreme bulk and shear moduli.
bulk = lam_of + 2 * mu_of / 3
k0, mu0 = np.sqrt(bulk.min() * bulk.max()), np.sqrt(mu_of.min() * mu_of.max())
lam0 = k0 - 2 * mu0 / 3
comm = muGrid.Communicator()
operator = muGrid.IsotropicStiffnessOperator3D([1.0, 1.0, 1.0])
engine = muGrid.FFTEngine(list(phases.shape), ghosts=operator)
u = engine.real_space_field("u", components=(3,))
b = engine.real_space_field("b", components=(3,))
lam = engine.real_space_field("lambda")
mu = engine.real_space_field("mu")
lam.p[...] = lam_of[phases]
mu.p[...] = mu_of[phases]
engine.communicate_ghosts(lam)
engine.communicate_ghosts(mu)
prec = make_reference_stiffness_preconditioner(
    engine, element=muGrid.FEMElement.q1, grid_spacing=[1.0, 1.0, 1.0],
    lambda_ref=float(lam0), mu_ref=float(mu0))


def hessp(x, out):
    engine.communicate_ghosts(x)
    operator.apply(x, lam, mu, out)


# Same round-off floor as sve: b . M^-1 b below (1e3 eps)^2 of the energy scale.
ones = np.r_[1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
mean_c = sum(
    np.mean(phases == p) * (l * np.outer(ones, ones) + 2 * m * np.eye(6))
    for p, (l, m) in enumerate(zip(lam_of, mu_of))
)
floor = (1e3 * np.finfo(float).eps) ** 2 * np.linalg.eigvalsh(mean_c).max() * phases.size


class Converged(Exception):
    pass


pairs = [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]
tensor = np.zeros((6, 6))
iterations = []
for k, (i, j) in enumerate(pairs):
    strain = np.zeros((3, 3))
    strain[i, j] = strain[j, i] = 1.0 if i == j else 1.0 / np.sqrt(2.0)
    operator.apply_macro_rhs(lam, mu, list(strain.ravel()), b)
    b.p[...] *= -1.0
    u.p[...] = 0.0
    state = {}

    def callback(iteration, values):
        # sve's stopping rule: sqrt(r . M^-1 r / b . M^-1 b) <= tol.
        state["iterations"] = iteration
        if iteration == 0:
            state["rz0"] = float(values["rz"])
            if state["rz0"] <= floor:
                raise Converged
        elif np.sqrt(max(float(values["rz"]), 0.0) / state["rz0"]) <= tol:
            raise Converged

    try:
        conjugate_gradients(comm, engine.real_space_collection, b, u, hessp, prec,
                            rtol=1e-300, maxiter=options["maxiter"], callback=callback)
    except Converged:
        pass
    iterations.append(state["iterations"])
    engine.communicate_ghosts(u)
    stress = np.array(operator.average_stress(u, lam, mu, list(strain.ravel())))
    stress = stress.reshape(3, 3) / phases.size
    tensor[:, k] = [stress[a, c] * (1.0 if a == c else np.sqrt(2.0)) for a, c in pairs]
print(json.dumps({"time": time.perf_counter() - start, "iterations": iterations,
                  "tensor": tensor.tolist(), "version": muGrid.version_string()}))
"""


def level_cut_medium(size: int) -> np.ndarray:
    """Labels 0/1 (int8), phi = 0.5, Gaussian covariance of length size / 16 voxels."""
    field = gaussian_field((size,) * 3, Gaussian(size / 16.0), rng=2024 + size)
    return level_cut(field, 0.5)


def fft_pair_time(size: int, repeats: int) -> float:
    """Time of one real FFT forward + inverse pair of a displacement field of size^3.

    ``scipy.fft.rfftn`` + ``irfftn`` over the 3 spatial axes of a (size, size,
    size, 3) float64 array, on the threads the periodic preconditioner uses
    (``sve.solvers._core.transforms.fft_workers``): the transforms of one
    preconditioner application.
    """
    pair = fft_pair((size,) * 3 + (3,), workers=fft_workers(), axes=(0, 1, 2))
    return best_time(pair, repeats)[0]


def parts_time(phases: np.ndarray, repeats: int) -> tuple[float, float, float]:
    """Time of one operator application and of one application of each preconditioner
    (transforms, multigrid cycle).
    """
    material, stack = _materials(phases, MATERIALS)
    problem = Problem(material, stack, 1.0, TOL, MAXITER, "periodic")
    c0 = _to_full(isotropic(3, lam=problem.lam0, mu=problem.mu0))
    inverse = periodic_preconditioner(phases.shape, 1.0, c0)
    cycle = multigrid(problem)
    u = np.random.default_rng(0).standard_normal(phases.shape + (3,))
    out = np.empty_like(u)
    apply = best_time(partial(problem._apply, u, out), repeats)[0]
    precondition = best_time(partial(inverse, u, out), repeats)[0]
    return apply, precondition, best_time(partial(cycle, u, out), repeats)[0]


def cpu_time(function) -> tuple[float, float, object]:
    """Wall and CPU time (s, this process, all threads) of one call, and its value."""
    wall, cpu = time.perf_counter(), time.process_time()
    value = function()
    return time.perf_counter() - wall, time.process_time() - cpu, value


def at_once(record: Record, size: int = 64, rounds: int = 2) -> None:
    """The six load cases one at a time (Numba on 1 thread: the solve of before) against
    ``case_threads(6)`` at once (the default), alternated, `rounds` each (fft) and one
    each (multigrid), in the same run: wall and CPU times and their ratios.
    """
    threads = numba.get_num_threads()
    together = case_threads(6)
    phases = level_cut_medium(size)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"\nload cases one at a time against {together} at once ({size}^3; wall and CPU "
        f"times, best of the rounds); load average {load:.2f}"
    )
    table = record.table(
        f"The 6 load cases of {size}³ one at a time and {together} at once (same run)",
        ["preconditioner", "one at a time [s]", "CPU [s]", f"{together} at once [s]",
         "CPU [s]", "wall ratio", "CPU ratio", "load average"],
        "One at a time: numba.set_num_threads(1), the solve of before (transforms on every "
        "core); at once: the default, each case's kernels and transforms serial "
        "(_core/threads.run_cases). Ratios: one at a time over at once. The wall ratio "
        "needs two idle cores; the CPU ratio does not.",
    )  # fmt: skip
    for name, count in (("fft", rounds), ("multigrid", 1)):
        best = {1: (np.inf, np.inf), together: (np.inf, np.inf)}
        for _ in range(count):
            for threads_now in (1, together):
                numba.set_num_threads(threads_now)
                try:
                    wall, cpu, _ = cpu_time(
                        partial(apparent_stiffness, phases, MATERIALS, bc="periodic",
                                tol=TOL, preconditioner=name)
                    )  # fmt: skip
                finally:
                    numba.set_num_threads(threads)
                best[threads_now] = min(best[threads_now], (wall, cpu))
        (w1, c1), (wk, ck) = best[1], best[together]
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(
            f"{name:>10}: one at a time {w1:.2f} s ({c1:.2f} s CPU), {together} at once "
            f"{wk:.2f} s ({ck:.2f} s CPU): wall ratio {w1 / wk:.2f}, CPU ratio "
            f"{c1 / ck:.2f}; load {load:.2f}"
        )
        table.add(name, w1, c1, wk, ck, w1 / wk, c1 / ck, load)
        if name == "fft":
            record.headline(
                f"the 64³ elastic tensor with {together} load cases at once: {w1 / wk:.2f}× "
                f"the speed of one at a time at load {load:.1f} (CPU ratio {c1 / ck:.2f})"
            )


def memory_child(path: str, preconditioner: str) -> None:
    """Solve the image at `path` and print one JSON line of memory figures (subprocess).

    The resident-set peak is the kernel's high-water mark of this process
    (``VmHWM``), reset to the current resident set just before the solve
    (``/proc/self/clear_refs``): ``getrusage``'s ``ru_maxrss`` would carry the
    parent's peak over ``fork`` + ``exec``.
    """
    apparent_stiffness(np.indices((4,) * 3).sum(axis=0) % 2, MATERIALS)  # compile/load
    phases = np.load(path)
    try:
        Path("/proc/self/clear_refs").write_text("5")
        reset = True
    except OSError:
        reset = False
    before = status_bytes("VmRSS")
    tracemalloc.start()
    apparent_stiffness(
        phases, MATERIALS, bc="periodic", tol=TOL, maxiter=MAXITER, preconditioner=preconditioner
    )
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    peak = status_bytes("VmHWM")
    growth = peak - before if reset and peak is not None and before is not None else None
    print(json.dumps({"traced": traced, "rss_before": before, "rss_peak": peak, "growth": growth}))


def memory(phases: np.ndarray, workdir: Path, preconditioner: str) -> dict:
    """Memory figures of one solve in a fresh subprocess."""
    path = workdir / f"phases-{phases.shape[0]}.npy"
    np.save(path, phases)
    done = subprocess.run(
        [sys.executable, __file__, "--memory-child", str(path), preconditioner],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def mugrid_python() -> Path:
    """Python of the muGrid virtual environment, created on first use."""
    python = MUGRID_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run(
            [sys.executable, "-m", "venv", str(MUGRID_VENV)],
            check=True,
            capture_output=True,
        )
    check = subprocess.run([str(python), "-c", "import muGrid"], capture_output=True)
    if check.returncode != 0:
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "muGrid", "numpy"],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError("pip install muGrid failed: " + done.stderr.strip()[-300:])
    return python


def mugrid_solve(python: Path, phases: np.ndarray, workdir: Path) -> dict:
    """Run MUGRID_SCRIPT on `phases` in the muGrid environment."""
    path = workdir / f"mugrid-phases-{phases.shape[0]}.npy"
    np.save(path, phases)
    script = workdir / "mugrid_solve.py"
    script.write_text(MUGRID_SCRIPT)
    options = {"young": list(YOUNG), "nu": POISSON, "tol": TOL, "maxiter": MAXITER}
    done = subprocess.run(
        [str(python), str(script), str(path), json.dumps(options)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip()[-300:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Largest entry of ``a - b`` over the largest entry of `b`."""
    return float(np.abs(a - b).max() / np.abs(b).max())


def compare_mugrid(
    results: dict[int, tuple[np.ndarray, object]], workdir: Path, record: Record
) -> None:
    """Exact cases at 16^3, then the level cuts already solved by sve."""
    print("\nmuGrid, same image, load cases, discretization (Q1, 2x2x2 Gauss), preconditioner")
    print("and stopping rule (tol=1e-6, preconditioner norm)")
    try:
        python = mugrid_python()
        exact = {
            "homogeneous": np.zeros((16, 16, 16), dtype=np.int8),
            "laminate": (np.arange(16)[:, None, None] >= 8).repeat(16, 1).repeat(16, 2),
        }
        for name, phases in exact.items():
            phases = phases.astype(np.int8)
            ours = apparent_stiffness(phases, MATERIALS, bc="periodic", tol=TOL)
            theirs = mugrid_solve(python, phases, workdir)
            print(
                f"{name:>11} 16^3: max |C_muGrid - C_sve| / max |C_sve| = "
                f"{relative_difference(np.array(theirs['tensor']), ours.tensor):.1e}"
            )
    except (RuntimeError, OSError, subprocess.CalledProcessError, ValueError) as error:
        print(f"muGrid comparison unavailable: {error}")
        return
    print(f"{theirs['version']}")
    table = record.table(
        f"Side by side with {theirs['version']} (same image, discretization, preconditioner "
        "and stopping rule)",
        ["size", "sve [s]", "muGrid [s]", "muGrid / sve", "max rel diff", "sve iterations",
         "muGrid iterations"],
    )  # fmt: skip
    print(
        f"{'size':>6} {'sve [s]':>9} {'muGrid [s]':>10} {'muGrid/sve':>10} "
        f"{'max rel diff':>12} {'sve iterations':>24} {'muGrid iterations':>24}"
    )
    for size, (tensor, result) in results.items():
        phases = level_cut_medium(size)
        try:
            theirs = mugrid_solve(python, phases, workdir)
        except RuntimeError as error:
            print(f"muGrid comparison unavailable at {size}^3: {error}")
            continue
        print(
            f"{size:>6} {result.wall_time:>9.2f} {theirs['time']:>10.2f} "
            f"{theirs['time'] / result.wall_time:>10.2f} "
            f"{relative_difference(np.array(theirs['tensor']), tensor):>12.1e} "
            f"{','.join(map(str, result.iterations)):>24} "
            f"{','.join(map(str, theirs['iterations'])):>24}"
        )
        print("muGrid tensor:\n" + np.array2string(np.array(theirs["tensor"]), precision=4))
        table.add(
            f"{size}^3",
            result.wall_time,
            theirs["time"],
            theirs["time"] / result.wall_time,
            relative_difference(np.array(theirs["tensor"]), tensor),
            ",".join(map(str, result.iterations)),
            ",".join(map(str, theirs["iterations"])),
        )


def main(large: bool, with_mugrid: bool) -> None:
    apparent_stiffness(np.indices((4,) * 3).sum(axis=0) % 2, MATERIALS)  # compile/load
    sizes = [32, 64] + ([128] if large else [])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"periodic 6x6 stiffness, level cut phi=0.5, Gaussian covariance length N/16, "
        f"E=(1, 100), nu=0.3, tol={TOL:g}; load average {load:.2f}"
    )
    print(
        f"ratios are to one scipy.fft rfftn+irfftn pair of the 3 displacement components "
        f"({fft_workers()} thread(s), as in the preconditioner)"
    )
    print(
        f"{'size':>6} {'preconditioner':>14} {'solve [s]':>10} {'CPU [s]':>8} "
        f"{'iterations':>24} {'FFT pair [ms]':>13} {'CG iter / FFT':>13} {'A u / FFT':>9} "
        f"{'M r / FFT':>9}"
    )
    results = {}
    record = Record("elasticity" + ("-large" if large else ""))
    table = record.table(
        f"Periodic 6x6 stiffness of a 3-D level cut, tol {TOL:g}",
        ["size", "preconditioner", "solve [s]", "CPU [s]", "iterations", "FFT pair [ms]",
         "CG iteration / FFT pair", "A u / FFT pair", "M r / FFT pair"],
        "Level cut at phi = 0.5 of a Gaussian field (covariance length N/16), E = 1 and 100, "
        "nu = 0.3; ratios are to one scipy.fft rfftn + irfftn pair of the 3 displacement "
        "components, timed in the same run; CPU time of the process, all threads.",
    )  # fmt: skip
    for size in sizes:
        phases = level_cut_medium(size)
        fft = fft_pair_time(size, 5 if size <= 64 else 3)
        apply, *preconditioners = parts_time(phases, 5 if size <= 64 else 3)
        for name, precondition in zip(("fft", "multigrid"), preconditioners, strict=True):
            solve, cpu, result = cpu_time(
                partial(
                    apparent_stiffness, phases, MATERIALS, bc="periodic", tol=TOL,
                    preconditioner=name,
                )
            )  # fmt: skip
            per_iteration = solve / sum(result.iterations)
            print(
                f"{size:>6} {name:>14} {solve:>10.2f} {cpu:>8.2f} "
                f"{','.join(map(str, result.iterations)):>24} "
                f"{1e3 * fft:>13.1f} {per_iteration / fft:>13.2f} {apply / fft:>9.2f} "
                f"{precondition / fft:>9.2f}"
            )
            if name == "fft":
                results[size] = (result.tensor.copy(), result)
            if size == 64 and name == "fft":
                load_now = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
                record.headline(
                    f"the 6×6 periodic stiffness of a 64³ level cut (contrast 100) in "
                    f"{solve:.1f} s ({cpu:.1f} s of CPU, {case_threads(6)} load case(s) at "
                    f"once, load average {load_now:.1f}: the wall time grows with the "
                    f"load), {max(result.iterations)} iterations per load case"
                )
            table.add(
                f"{size}^3",
                name,
                solve,
                cpu,
                ",".join(map(str, result.iterations)),
                1e3 * fft,
                per_iteration / fft,
                apply / fft,
                precondition / fft,
            )
    at_once(record)
    counts = np.array([np.mean(r.iterations) for _, r in results.values()])
    every = np.concatenate([r.iterations for _, r in results.values()])
    print(
        f"iterations per load case over the sizes: mean {every.mean():.1f}, "
        f"min {every.min()} ({every.min() / every.mean() - 1:+.0%}), "
        f"max {every.max()} ({every.max() / every.mean() - 1:+.0%}); "
        f"mean per size {', '.join(f'{c:.1f}' for c in counts)}"
    )
    print(f"64^3 tensor (Mandel):\n{np.array2string(results[64][0], precision=4)}")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        print("\nmemory of one solve (fresh subprocess)")
        print(
            f"{'size':>6} {'preconditioner':>14} {'numpy peak [MiB]':>16} "
            f"{'RSS growth [MiB]':>16} {'peak RSS [MiB]':>14}"
        )
        resident = record.table(
            "Memory of one elastic solve (fresh process)",
            ["size", "preconditioner", "NumPy peak [MiB]", "RSS growth [MiB]", "peak RSS [MiB]"],
        )
        for size in sizes[1:]:
            for name in ("fft", "multigrid"):
                figures = memory(level_cut_medium(size), workdir, name)
                growth = figures["growth"]
                peak = figures["rss_peak"]
                print(
                    f"{size:>6} {name:>14} {figures['traced'] / 2**20:>16.0f} "
                    f"{f'{growth / 2**20:.0f}' if growth is not None else 'n/a':>16} "
                    f"{f'{peak / 2**20:.0f}' if peak is not None else 'n/a':>14}"
                )
                resident.add(
                    f"{size}^3",
                    name,
                    figures["traced"] / 2**20,
                    growth / 2**20 if growth is not None else None,
                    peak / 2**20 if peak is not None else None,
                )
        if with_mugrid:
            compare_mugrid({s: results[s] for s in sizes[1:]}, workdir, record)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nload average at the end {load:.2f}")
    record.write()


if __name__ == "__main__":
    parser = arguments(__doc__)
    parser.add_argument("--large", action="store_true", help="add 128^3")
    parser.add_argument("--no-mugrid", action="store_true", help="skip the muGrid comparison")
    parser.add_argument("--memory-child", nargs=2, help=argparse.SUPPRESS)  # the child
    options = parser.parse_args()
    if options.memory_child:
        memory_child(*options.memory_child)
    else:
        main(options.large, not options.no_mugrid)
