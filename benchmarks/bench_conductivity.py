"""Speed of the conductivity solver, as ratios to FFTs timed in the same run.

Run as ``.venv/bin/python benchmarks/bench_conductivity.py`` (periodic
sweep below, then every boundary condition), or with ``--quick`` for the
periodic sweep up to 64^3 only (about a minute), ``--bcs`` for the
boundary-condition part only, ``--large`` to add 256^3 to its iteration
sweep, ``--anisotropic`` for the anisotropic polycrystal part only,
``--tensor-stop`` for the stopping-rule comparison only, ``--target-128`` for
the 128^3 case below only, ``--target-500`` for the 500^3 one,
``--fv-scaling 64,128,...`` for the iterations of that case against size.

Finite-volume multigrid against size (``--fv-scaling SIZES``): the medium of
the 500^3 case (``Gaussian(4)``, phi = 0.3, ``rng=42``) at each size, the
three mixed fv directions at ``tol=1e-6``; per direction the CG iterations
and the CPU seconds of its set-up and solve (``process_time``, which the
load of a shared machine changes little), and the diagonal of the tensor.

The 500^3 case (``--target-500``, issue 18's 60 s on 2 quiet cores): the three
mixed finite-volume directions (``bc="mixed"``, ``discretization="fv"``,
``tol=1e-6``) of ``level_cut(gaussian_field((500,) * 3, Gaussian(4), rng=42),
0.3)`` with conductivities 0 and 1, timed once, over one all-core ``scipy.fft``
pair of 500^3 (best of 3) timed in the same run.

The 128^3 case (``--target-128``, issue 18's target): the periodic 3 x 3
tensor of ``level_cut(gaussian_field((128,) * 3, Gaussian(8), rng=42), 0.5)``
with conductivities 1 and 100, ``tol=1e-6``, ``stop="residual"``,
``preconditioner="auto"``: its wall time (best of 2) and CPU time over one
all-core ``scipy.fft`` pair of 128^3 (``rfftn`` + ``irfftn``,
``workers=-1``, best of 5) timed in the same run; target at most 65 pairs.

Periodic sweep. For two-phase
media (level cut at the median of a smoothed periodic white noise, smoothing
length N / 32 voxels, so every size is the same medium family) and phase
contrasts 10 and 100, it prints the time per solve (d load cases), the
iterations per load case, and the time per conjugate-gradient iteration
divided by the time of one real FFT forward + inverse pair of the same
size (numpy.fft, the transform the preconditioner uses). It never asserts a
time.

Anisotropic polycrystal (``--anisotropic``). A 3-D Poisson-Voronoi
polycrystal (mean grain volume 8^3 voxels) with one uniaxial tensor
``diag(1, 1, a)`` rotated per grain, anisotropy ratio ``a`` = 1, 10, 100: per
boundary condition the iterations per load case at 32^3 and 64^3 (they
depend on ``a``, not on the size: the preconditioner is isotropic), the
time of the solve and the time of one application of the tensor operator
over the scalar one on the same grid.

Stopping rules (``--tensor-stop``). On the level cut below (periodic, 64^3
and 128^3, the FFT preconditioner: under multigrid, the default there, a
load case takes 5-10 iterations and the estimate's delay of at least 3
leaves no room), per requested accuracy ``tol``: the iterations and the largest
entry error (relative to ``||K||``, against a solve at relative residual
1e-11) of ``stop="tensor"``, of the residual rule at the same ``tol``, and
the iterations of the residual rule at the loosest residual tolerance (on a
grid of 4 per decade) whose tensor is within ``tol`` of the reference, and
within the error of ``stop="tensor"``.

Boundary conditions (``--bcs``). A 3-D level cut at phi = 0.5 of a Gaussian
field with a Gaussian covariance of correlation length 8 voxels, contrast
100: per boundary condition at 128^3 the time, the iterations per load
case, the time per iteration over one FFT pair, the peak of the memory
allocated through Python's allocators (tracemalloc) and the peak resident
set, then the full 3 x 3 apparent tensor of each; then, per size from 32^3
up (256^3 with ``--large``), the iterations per load case (under the residual
rule, and again with ``stop="tensor"`` at the same ``tol``), the peak
resident set and the time of the residual rule. Resident sets are measured in a fresh
interpreter per case (``--case``, run by the benchmark itself): the peak
(``VmHWM``, reset through ``/proc/self/clear_refs`` just before the solve)
counts what tracemalloc misses (scipy.fft work arrays, Numba), and the
interpreter, libraries and labels (about 300 MiB) with it; ``growth`` is the
peak minus the resident set just before the solve. The target is a peak of
at most 2 GiB at 256^3. Linux only (``/proc``).
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

import numpy as np
import scipy.ndimage

# Runs from a checkout without installing the package: the repository root goes first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _measure import best_time, fft_pair, status_bytes  # noqa: E402
from _record import Record, arguments  # noqa: E402

from generators import Gaussian, gaussian_field, level_cut, voronoi_polycrystal  # noqa: E402
from sve.solvers import CONDUCTIVITY_BCS, apparent_conductivity  # noqa: E402
from sve.solvers.conductivity.q1 import Q1Grid, TensorQ1Grid, element_modes  # noqa: E402
from sve.solvers.conductivity.q1_kernels import nodal_flux_2d, nodal_flux_3d  # noqa: E402

SHAPES = [(128, 128), (256, 256), (512, 512), (32, 32, 32), (64, 64, 64), (128, 128, 128)]
CONTRASTS = [10.0, 100.0]
TOL = 1e-6
# The stopping-rule comparison runs with the transforms (see the module docstring).
FFT = {"preconditioner": "fft"}


def two_phase_medium(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Labels 0/1 (int8), half each: level cut of a smoothed periodic noise."""
    noise = rng.standard_normal(shape)
    field = scipy.ndimage.gaussian_filter(noise, max(shape) / 32.0, mode="wrap")
    return (field > np.median(field)).astype(np.int8)


def fft_pair_time(shape: tuple[int, ...], repeats: int) -> float:
    """Time of one numpy rfftn + irfftn pair on a float64 array of `shape`."""
    axes = tuple(range(len(shape)))
    field = np.random.default_rng(0).standard_normal(shape)
    spectrum = np.fft.rfftn(field, axes=axes)
    back = np.empty(shape)

    def pair() -> None:
        np.fft.rfftn(field, axes=axes, out=spectrum)
        np.fft.irfftn(spectrum, s=shape, axes=axes, out=back)

    return best_time(pair, repeats)[0]


def operator_time(phases: np.ndarray, contrast: float, repeats: int) -> float:
    """Time of one matrix-free application of the Q1 operator."""
    ndim = phases.ndim
    kernel = nodal_flux_2d if ndim == 2 else nodal_flux_3d
    k = np.array([1.0, contrast])[phases]
    u = np.random.default_rng(0).standard_normal(phases.shape)
    out = np.empty(phases.shape)
    offset = np.zeros(2**ndim)
    modes = element_modes(ndim, 1.0)
    return best_time(partial(kernel, u, offset, k, modes, out), repeats)[0]


def main(shapes: list[tuple[int, ...]]) -> None:
    for ndim in (2, 3):  # compile (or load from the cache) before timing
        apparent_conductivity(np.indices((4,) * ndim).sum(axis=0) % 2, [1.0, 2.0])
    rng = np.random.default_rng(20240611)
    print(f"tol={TOL:g}; ratios are to one numpy real FFT forward+inverse pair of the same size")
    header = (
        f"{'shape':>15} {'contrast':>8} {'solve [s]':>10} {'iterations':>14} "
        f"{'FFT pair [ms]':>13} {'CG iter / FFT':>13} {'A u / FFT':>9}"
    )
    print(header)
    record = Record("conductivity")
    table = record.table(
        f"Periodic Q1 conductivity, two-phase media, tol {TOL:g}",
        [
            "shape",
            "contrast",
            "preconditioner",
            "solve [s]",
            "iterations",
            "FFT pair [ms]",
            "CG iteration / FFT pair",
            "A u / FFT pair",
        ],
        "Ratios are to one numpy real FFT forward + inverse pair of the same size, timed in "
        "the same run; the preconditioner is what preconditioner='auto' took.",
    )
    for shape in shapes:
        size = int(np.prod(shape))
        repeats = 5 if size <= 2**17 else (3 if size <= 2**19 else 1)
        fft = fft_pair_time(shape, max(repeats, 3))
        phases = two_phase_medium(shape, rng)
        for contrast in CONTRASTS:
            solve, result = best_time(
                partial(apparent_conductivity, phases, [1.0, contrast], tol=TOL), repeats
            )
            iterations = result.iterations
            per_iteration = solve / sum(iterations)
            apply = operator_time(phases, contrast, max(repeats, 3))
            print(
                f"{'x'.join(map(str, shape)):>15} {contrast:>8g} {solve:>10.3f} "
                f"{','.join(map(str, iterations)):>14} {1e3 * fft:>13.2f} "
                f"{per_iteration / fft:>13.2f} {apply / fft:>9.2f}"
            )
            if shape == (64, 64, 64) and contrast == 100.0:
                record.headline(
                    f"periodic conductivity of a 64³ two-phase image (contrast 100) in "
                    f"{solve:.2f} s, {max(iterations)} iterations per load case"
                )
            table.add(
                "x".join(map(str, shape)),
                contrast,
                result.preconditioner,
                solve,
                ",".join(map(str, iterations)),
                1e3 * fft,
                per_iteration / fft,
                apply / fft,
            )
    record.write()


def target_128() -> None:
    """The 128^3 periodic tensor of issue 18 in all-core FFT pairs (module docstring)."""
    phases = level_cut(gaussian_field((128,) * 3, Gaussian(8.0), rng=42), 0.5)
    options = {"tol": 1e-6, "stop": "residual", "preconditioner": "auto"}
    apparent_conductivity(phases[:16, :16, :16], [1.0, 100.0], **options)  # compile
    pair_time = best_time(fft_pair(phases.shape, workers=-1), 5)[0]
    cpu = time.process_time()
    solve, result = best_time(partial(apparent_conductivity, phases, [1.0, 100.0], **options), 2)
    cpu = (time.process_time() - cpu) / 2
    ratio = solve / pair_time
    load = os.getloadavg()[0]
    print(
        f"128^3 periodic Q1 tensor: {solve:.2f} s wall ({cpu:.2f} s CPU), iterations "
        f"{result.iterations} ({result.preconditioner}); all-core FFT pair "
        f"{1e3 * pair_time:.1f} ms; ratio {ratio:.1f} (target <= 65); load {load:.2f}"
    )
    record = Record("conductivity_128")
    table = record.table(
        "The 128³ periodic Q1 tensor of issue 18 against one all-core FFT pair",
        [
            "solve [s]",
            "CPU [s]",
            "iterations",
            "preconditioner",
            "FFT pair [ms]",
            "solve / FFT pair",
            "target",
        ],  # fmt: skip
        "level_cut(gaussian_field((128,)*3, Gaussian(8), rng=42), 0.5), conductivities 1 "
        "and 100, tol 1e-6, stop 'residual', preconditioner 'auto'; the pair: scipy.fft "
        "rfftn + irfftn of 128³, workers=-1, best of 5, timed in the same run; the solve "
        "best of 2",
    )
    table.add(solve, cpu, ",".join(map(str, result.iterations)), result.preconditioner,
              1e3 * pair_time, ratio, "<= 65")  # fmt: skip
    record.headline(
        f"a 128³ periodic conductivity tensor (contrast 100) in {ratio:.0f} all-core FFT "
        f"pairs of that size ({max(result.iterations)} iterations per load case)"
    )
    record.write()


def target_500() -> None:
    """The 500^3 finite-volume case of issue 18: three mixed directions (module docstring)."""
    edge = 500
    phases = level_cut(gaussian_field((edge,) * 3, Gaussian(4.0), rng=42), 0.3)
    options = {"bc": "mixed", "discretization": "fv", "tol": 1e-6}
    apparent_conductivity(phases[:16, :16, :16], [0.0, 1.0], **options)  # compile
    pair_time = best_time(fft_pair(phases.shape, workers=-1), 3)[0]  # its arrays freed after
    cpu = time.process_time()
    start = time.perf_counter()
    result = apparent_conductivity(phases, [0.0, 1.0], **options)
    solve = time.perf_counter() - start
    cpu = time.process_time() - cpu
    load = os.getloadavg()[0]
    ratio = solve / pair_time
    values = np.diag(result.tensor)
    print(
        f"500^3 mixed fv, three directions: {solve:.1f} s wall ({cpu:.1f} s CPU), "
        f"iterations {result.iterations} ({result.preconditioner}); all-core FFT pair "
        f"{pair_time:.2f} s; ratio {ratio:.0f}; values {values}; load {load:.2f}"
    )
    record = Record("conductivity_500")
    table = record.table(
        "Three mixed finite-volume directions of a 500³ level cut (issue 18's 60 s)",
        [
            "solve [s]",
            "CPU [s]",
            "iterations",
            "preconditioner",
            "FFT pair [s]",
            "solve / FFT pair",
            "K_xx",
            "K_yy",
            "K_zz",
            "target",
        ],  # fmt: skip
        "level_cut(gaussian_field((500,)*3, Gaussian(4), rng=42), 0.3), conductivities 0 "
        "and 1 (30 % conducting), bc 'mixed', discretization 'fv', tol 1e-6, one run; "
        "the pair: scipy.fft rfftn + irfftn of 500³, workers=-1, best of 3, same run",
    )
    table.add(solve, cpu, ",".join(map(str, result.iterations)), result.preconditioner,
              pair_time, ratio, *values, "<= 60 s on 2 quiet cores")  # fmt: skip
    record.headline(
        f"three mixed fv directions of a 500³ level cut in {solve:.0f} s "
        f"({ratio:.0f} all-core FFT pairs; load {load:.1f})"
    )
    record.write()


def fv_scaling(sizes: list[int]) -> None:
    """Iterations and CPU per direction of the 500^3 case's medium at `sizes`."""
    from sve.solvers.conductivity import cell_problem

    spent: list[float] = []
    original = cell_problem.load_case_solver

    def timed(*arguments, **options):  # the CPU of a direction: its set-up and its solve
        start = time.process_time()
        solver = original(*arguments, **options)
        solve = solver.solve

        def timed_solve(*a, **o):
            result = solve(*a, **o)
            spent.append(time.process_time() - start)
            return result

        solver.solve = timed_solve
        return solver

    cell_problem.load_case_solver = timed
    options = {"bc": "mixed", "discretization": "fv", "tol": 1e-6}
    apparent_conductivity(level_cut_500(16), [0.0, 1.0], **options)  # compile
    record = Record("conductivity-fv-scaling")
    table = record.table(
        "Mixed fv multigrid against size: iterations and CPU [s] per direction",
        ["size", "iterations", "CPU [s] per direction", "K_xx", "K_yy", "K_zz"],
        "level_cut(gaussian_field((N,)*3, Gaussian(4), rng=42), 0.3), conductivities 0 "
        "and 1, bc 'mixed', discretization 'fv', tol 1e-6; CPU: process_time of each "
        "direction's set-up and solve",
    )
    print("size  iterations  CPU per direction [s]  diagonal")
    for size in sizes:
        phases = level_cut_500(size)
        spent.clear()
        result = apparent_conductivity(phases, [0.0, 1.0], **options)
        values = np.diag(result.tensor)
        cpu = ",".join(f"{t:.1f}" for t in spent)
        iterations = ",".join(map(str, result.iterations))
        print(f"{size:>4} {iterations:>11} {cpu:>22}  {values}  load {os.getloadavg()[0]:.2f}")
        table.add(f"{size}^3", iterations, cpu, *(float(v) for v in values))
    cell_problem.load_case_solver = original
    record.write()


def level_cut_500(size: int) -> np.ndarray:
    """The medium of the 500^3 case at `size`^3: phi = 0.3, Gaussian covariance of length 4."""
    return level_cut(gaussian_field((size,) * 3, Gaussian(4.0), rng=42), 0.3)


def level_cut_medium(size: int, rng: np.random.Generator) -> np.ndarray:
    """Labels 0/1 (int8), phi = 0.5, Gaussian covariance of length 8 voxels."""
    return level_cut(gaussian_field((size,) * 3, Gaussian(8.0), rng=rng), 0.5)


def measure_case(path: str, bc: str, preconditioner: str = "auto") -> None:
    """Child process of `resident_case`: solve one case, print one JSON line.

    The labels are read from `path`; `preconditioner` is that of
    ``apparent_conductivity`` (``--case FILE BC [PRECONDITIONER]`` on the
    command line, for one measurement by hand); the solver is compiled (loaded from the
    cache) on a small image first. The peak resident set (``VmHWM``) is reset
    just before the solve (``/proc/self/clear_refs``), so ``peak`` is the
    largest resident set during the solve, whatever allocated it (numpy,
    scipy.fft work arrays, Numba), and ``growth`` is that peak minus the
    resident set just before the solve (labels, interpreter, libraries).
    """
    phases = np.load(path)
    small = np.indices((16, 16, 16)).sum(axis=0) % 2
    apparent_conductivity(small, [1.0, 2.0], bc=bc, preconditioner=preconditioner)
    before = status_bytes("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    start = time.perf_counter()
    result = apparent_conductivity(
        phases, [1.0, 100.0], bc=bc, tol=TOL, preconditioner=preconditioner
    )
    solve = time.perf_counter() - start
    peak = status_bytes("VmHWM")
    # The same case stopped on the accuracy of the tensor (after the peak is read).
    tensor_rule = apparent_conductivity(
        phases, [1.0, 100.0], bc=bc, tol=TOL, preconditioner=preconditioner, stop="tensor"
    )
    print(
        json.dumps(
            {
                "solve": solve,
                "iterations": list(result.iterations),
                "tensor_iterations": list(tensor_rule.iterations),
                "before": before,
                "peak": peak,
                "growth": peak - before,
            }
        )
    )


def resident_case(phases: np.ndarray, bc: str, directory: str) -> dict:
    """Solve `phases` under `bc` in a fresh interpreter; its figures (see `measure_case`)."""
    path = str(Path(directory) / "phases.npy")
    np.save(path, phases)
    output = subprocess.run(
        [sys.executable, __file__, "--case", path, bc],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def _tensor_lines(tensor: np.ndarray) -> list[str]:
    return ["[" + " ".join(f"{x:>9.4f}" for x in row) + "]" for row in np.asarray(tensor, float)]


def boundary_conditions(sizes: list[int]) -> None:
    """Every boundary condition on the 128^3 level cut, then iterations and memory against size."""
    values = [1.0, 100.0]
    phases = level_cut_medium(128, np.random.default_rng(7))
    fft = fft_pair_time(phases.shape, 3)
    gib = 2**30
    print(f"\nload average {' '.join(f'{x:.2f}' for x in os.getloadavg())} (2 cores)")
    print(f"128^3 level cut, phi=0.5, length 8, contrast 100 (phases 1, 100), tol={TOL:g}")
    print(f"FFT pair (numpy rfftn + irfftn, float64, 128^3): {1e3 * fft:.1f} ms")
    print(
        "peak RSS: resident set of a fresh interpreter during the solve (VmHWM, reset just "
        "before); growth: minus its resident set before the solve"
    )
    print(
        f"{'bc':>10} {'solve [s]':>10} {'iterations':>14} {'CG iter / FFT':>13} "
        f"{'tracemalloc [MiB]':>17} {'peak RSS [MiB]':>14} {'growth [MiB]':>12}"
    )
    tensors = {}
    record = Record("conductivity-bcs")
    table = record.table(
        f"Every boundary condition, 128^3 level cut, contrast 100, tol {TOL:g}",
        [
            "bc",
            "solve [s]",
            "iterations",
            "CG iteration / FFT pair",
            "tracemalloc [MiB]",
            "peak RSS [MiB]",
            "growth [MiB]",
        ],
        "Peak RSS: resident set of a fresh interpreter during the solve (VmHWM, reset just "
        "before), interpreter and libraries included; growth: minus the resident set before.",
    )
    with tempfile.TemporaryDirectory() as directory:
        for bc in CONDUCTIVITY_BCS:
            tracemalloc.start()
            start = time.perf_counter()
            result = apparent_conductivity(phases, values, bc=bc, tol=TOL)
            solve = time.perf_counter() - start
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            resident = resident_case(phases, bc, directory)
            tensors[bc] = result.tensor
            per_iteration = solve / max(sum(result.iterations), 1)
            print(
                f"{bc:>10} {solve:>10.2f} {','.join(map(str, result.iterations)):>14} "
                f"{per_iteration / fft:>13.2f} {peak / 2**20:>17.0f} "
                f"{resident['peak'] / 2**20:>14.0f} {resident['growth'] / 2**20:>12.0f}"
            )
            table.add(
                bc,
                solve,
                ",".join(map(str, result.iterations)),
                per_iteration / fft,
                peak / 2**20,
                resident["peak"] / 2**20,
                resident["growth"] / 2**20,
            )
        print("\napparent tensors of the 128^3 case (mixed: diagonal only, off-diagonal NaN)")
        for bc, tensor in tensors.items():
            lines = _tensor_lines(tensor)
            print(f"{bc:>10} {lines[0]}")
            for line in lines[1:]:
                print(f"{'':>10} {line}")
        print(
            "\niterations per load case against size (same medium family), each case in a "
            "fresh interpreter: iterations (residual rule | stop='tensor', same tol) / peak "
            "RSS [MiB] / solve [s] (residual rule); target: peak <= 2048 MiB at 256^3"
        )
        print(f"{'size':>6} " + " ".join(f"{bc:>36}" for bc in CONDUCTIVITY_BCS))
        sweep = record.table(
            "Iterations per load case against size (residual rule | stop='tensor')",
            ["size", *CONDUCTIVITY_BCS],
            "Each case in a fresh interpreter; one level cut per size (phi = 0.5, Gaussian "
            "covariance of length 8 voxels, contrast 100).",
        )
        memory = record.table(
            "Peak resident set [MiB] and solve time [s] against size (residual rule)",
            ["size", *CONDUCTIVITY_BCS],
        )
        for size in sizes:
            phases = level_cut_medium(size, np.random.default_rng(size))
            cells, counts, peaks = [], [], []
            for bc in CONDUCTIVITY_BCS:
                figures = resident_case(phases, bc, directory)
                counts.append(
                    f"{','.join(map(str, figures['iterations']))} | "
                    f"{','.join(map(str, figures['tensor_iterations']))}"
                )
                peaks.append(f"{figures['peak'] / 2**20:.0f} MiB, {figures['solve']:.2f} s")
                cells.append(
                    f"{','.join(map(str, figures['iterations']))} | "
                    f"{','.join(map(str, figures['tensor_iterations']))} / "
                    f"{figures['peak'] / 2**20:.0f} / {figures['solve']:.1f}"
                )
                if size >= 256:
                    verdict = "within" if figures["peak"] <= 2 * gib else "OVER"
                    print(
                        f"  {size}^3 {bc}: peak RSS {figures['peak'] / gib:.2f} GiB "
                        f"(growth {figures['growth'] / gib:.2f} GiB), {verdict} the 2 GiB target",
                        flush=True,
                    )
            print(f"{size:>6} " + " ".join(f"{c:>36}" for c in cells), flush=True)
            sweep.add(f"{size}^3", *counts)
            memory.add(f"{size}^3", *peaks)
    record.write()


def anisotropic(sizes: list[int], ratios: list[float]) -> None:
    """Iterations and time of a polycrystal of uniaxial grains against the anisotropy ratio."""
    print("\nVoronoi polycrystal, mean grain 8^3 voxels, grain tensors R diag(1, 1, a) R^T")
    print(
        f"{'size':>6} {'a':>6} {'bc':>10} {'solve [s]':>10} {'iterations':>14} "
        f"{'A_K u / A_k u':>13}"
    )
    record = Record("conductivity-anisotropic")
    table = record.table(
        f"Voronoi polycrystal of uniaxial grains R diag(1, 1, a) R^T, tol {TOL:g}",
        ["size", "a", "bc", "solve [s]", "iterations", "tensor A u / scalar A u"],
        "Mean grain volume 8^3 voxels; the last column is the time of one application of "
        "the tensor operator over the scalar one on the same grid.",
    )
    for size in sizes:
        shape = (size,) * 3
        crystal = voronoi_polycrystal(shape, 1.0 / 8**3, rng=size)
        phases = crystal.grain_ids
        apply_scalar = Q1Grid(np.ones(shape), ("periodic",) * 3, 1.0)
        u = np.random.default_rng(0).standard_normal(shape)
        out = np.empty(shape)
        gradient = np.zeros(3)
        scalar_time = best_time(partial(apply_scalar.flux, u, gradient, out), 3)[0]
        for ratio in ratios:
            tensors = np.einsum(
                "nia,ab,njb->nij", crystal.rotations, np.diag([1.0, 1.0, ratio]), crystal.rotations
            )
            grid = TensorQ1Grid(
                np.ones(shape), ("periodic",) * 3, 1.0, phases.astype(np.int32), tensors
            )
            ratio_time = best_time(partial(grid.flux, u, gradient, out), 3)[0] / scalar_time
            for bc in CONDUCTIVITY_BCS:
                start = time.perf_counter()
                result = apparent_conductivity(phases, tensors, bc=bc, tol=TOL)
                solve = time.perf_counter() - start
                print(
                    f"{size:>6} {ratio:>6g} {bc:>10} {solve:>10.2f} "
                    f"{','.join(map(str, result.iterations)):>14} {ratio_time:>13.2f}"
                )
                table.add(
                    f"{size}^3",
                    ratio,
                    bc,
                    solve,
                    ",".join(map(str, result.iterations)),
                    ratio_time,
                )
    record.write()


def _entry_error(tensor: np.ndarray, exact: np.ndarray) -> float:
    """Largest entry error of `tensor`, relative to ``||exact||`` (Frobenius)."""
    return float(np.abs(tensor - exact).max() / np.linalg.norm(exact))


def tensor_stopping(sizes: list[int], tols: list[float]) -> None:
    """Iterations and tensor errors of the two stopping rules on the periodic level cut."""
    values = [1.0, 100.0]
    grid = 10.0 ** -np.arange(1.0, 10.01, 0.25)  # residual tolerances scanned
    print("\nstopping rules, periodic level cut, phi=0.5, length 8, contrast 100")
    print(
        f"{'size':>6} {'tol':>7} {'tensor: its':>16} {'error':>8} {'residual@tol: its':>18} "
        f"{'error':>8} {'residual for <=tol':>22} {'residual for same':>22}"
    )
    record = Record("conductivity-tensor-stop")
    table = record.table(
        "Stopping rules on the periodic level cut (contrast 100, FFT preconditioner)",
        [
            "size",
            "tol",
            "tensor rule: iterations",
            "error / ||K||",
            "residual rule at tol: iterations",
            "error / ||K||",
            "residual rule reaching tol",
            "residual rule reaching the same error",
        ],
        "Errors: largest entry error relative to ||K||, against a solve at residual 1e-11; "
        "the last two columns scan residual tolerances (4 per decade), known only in hindsight.",
    )
    for size in sizes:
        phases = level_cut_medium(size, np.random.default_rng(size))
        exact = apparent_conductivity(phases, values, tol=1e-11, maxiter=5000, **FFT).tensor
        error = partial(_entry_error, exact=exact)
        scan = []  # (residual tol, iterations, error), loosest first
        for residual_tol in grid:
            result = apparent_conductivity(phases, values, tol=residual_tol, **FFT)
            scan.append((residual_tol, sum(result.iterations), error(result.tensor)))
        for tol in tols:
            tensor_rule = apparent_conductivity(phases, values, tol=tol, stop="tensor", **FFT)
            residual_rule = apparent_conductivity(phases, values, tol=tol, **FFT)
            reached = error(tensor_rule.tensor)
            cells = []
            for target in (tol, reached):
                first = next(((t, n) for t, n, e in scan if e <= target), None)
                cells.append(f"{first[1]} (tol {first[0]:.0e})" if first else "not reached")
            print(
                f"{size:>4}^3 {tol:>7.0e} {','.join(map(str, tensor_rule.iterations)):>16} "
                f"{reached:>8.1e} {','.join(map(str, residual_rule.iterations)):>18} "
                f"{error(residual_rule.tensor):>8.1e} {cells[0]:>22} {cells[1]:>22}",
                flush=True,
            )
            table.add(
                f"{size}^3",
                tol,
                ",".join(map(str, tensor_rule.iterations)),
                reached,
                ",".join(map(str, residual_rule.iterations)),
                error(residual_rule.tensor),
                cells[0],
                cells[1],
            )
    record.write()


def _edges(text: str) -> list[int]:
    """Comma-separated edges, e.g. ``64,128``."""
    return [int(n) for n in text.split(",")]


if __name__ == "__main__":
    parser = arguments(__doc__)
    parts = parser.add_mutually_exclusive_group()
    parts.add_argument("--quick", action="store_true", help="the periodic sweep up to 64^3")
    parts.add_argument("--bcs", action="store_true", help="the boundary conditions only")
    parts.add_argument("--anisotropic", action="store_true", help="the polycrystal only")
    parts.add_argument("--tensor-stop", action="store_true", help="the stopping rules only")
    parts.add_argument("--target-128", action="store_true", help="the 128^3 case only")
    parts.add_argument("--target-500", action="store_true", help="the 500^3 case only")
    parts.add_argument("--fv-scaling", type=_edges, metavar="N,N", help="fv iterations")
    parts.add_argument("--case", nargs="+", help=argparse.SUPPRESS)  # the child
    parser.add_argument("--large", action="store_true", help="add 256^3 to the bc sweep")
    options = parser.parse_args()
    if options.case:  # one solve in a fresh interpreter, for its resident set
        measure_case(*options.case[:3])
    elif options.anisotropic:
        anisotropic([32, 64], [1.0, 10.0, 100.0])
    elif options.target_128:
        target_128()
    elif options.target_500:
        target_500()
    elif options.fv_scaling:
        fv_scaling(options.fv_scaling)
    elif options.tensor_stop:
        tensor_stopping([64, 128], [1e-3, 1e-6])
    elif options.quick:  # 2-D and small 3-D images only, about a minute
        main([shape for shape in SHAPES if np.prod(shape) <= 64**3])
    else:
        if not options.bcs:
            main(SHAPES)
        boundary_conditions([32, 64, 128] + ([256] if options.large else []))
