"""Speed, iteration counts and memory of the permeability solver, against SuperLU.

Run as ``.venv/bin/python benchmarks/bench_permeability.py`` (32^3, 48^3 and 64^3,
the direct comparison at 32^3 and 48^3), ``--sizes 32,64,128`` for other sizes,
``--direct 32,48,64`` for other direct comparisons, ``--no-mixed`` to skip the
mixed conditions. ``--cycles 32,64,128`` only prints the convergence factors of the
preconditioner's multigrid cycles at those sizes (no record; see `cycles`);
``--memory 128`` only the memory of the periodic solve (no record; 128^3 takes
minutes). ``--scaling 32,64,128,256`` solves every size and both conditions, each in
a fresh subprocess, two at a time (largest first), and writes the record
``permeability-scaling``: iterations per load case, wall and CPU time and the peak
resident growth of each solve (256^3 takes about 20 CPU minutes per condition and
under 2 GB).

Problem. The pore space is phase 1 of a level cut at pore fraction 0.35 of a
Gaussian random field with a Gaussian covariance of length 8 voxels
(``generators.Gaussian(8.0)``, the same length at every size: larger boxes of the
same medium), seed 2024 + N. ``sve.apparent_permeability(pores, bc=...)`` at
``tol=1e-8`` (MINRES, relative residual in the preconditioner norm): periodic
conditions (3 body-force load cases, the full tensor) and mixed conditions (a
pressure drop per axis, no-slip walls).

Printed, per size: wall time of the call, iterations per load case, the time per
iteration, the porosity and the tensor's diagonal. Then the spread of the periodic
iteration counts over the sizes (largest and smallest mean against their mean).

Memory, per size: the periodic solve repeated in a fresh subprocess, which prints
the growth of its peak resident set (VmHWM, reset by /proc/self/clear_refs) over
its resident set just before the solve, in bytes per voxel, beside the estimate
(`permeability_memory_estimate` at the medium's porosity).

Direct solve. At the ``--direct`` sizes the same discrete problem (the operator
after the non-percolating clusters are removed) is assembled with scipy.sparse
(``sve.solvers.permeability.sparse``) and solved by SuperLU
(``scipy.sparse.linalg.splu``, one factorization, three solves). Its tensor and the
iterative tensor at ``tol=1e-8`` are compared with the iterative tensor at
``tol=1e-10`` (largest entry of the difference over the largest entry), and the
time ratio direct / iterative (both including their setup) is printed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _measure import status_bytes  # noqa: E402
from _record import Record, arguments  # noqa: E402

import generators  # noqa: E402
from sve.solvers import (  # noqa: E402
    UnresolvedThroatWarning,
    apparent_permeability,
    permeability_memory_estimate,
)
from sve.solvers._core.clusters import find_clusters  # noqa: E402
from sve.solvers.permeability import sparse  # noqa: E402
from sve.solvers.permeability.cell_problem import (  # noqa: E402
    PRESSURE_DEGREE,
    PRESSURE_GAMMA,
    body_force,
    face_conductance,
    pressure_stencil,
)
from sve.solvers.permeability.mac import StokesOperator  # noqa: E402
from sve.solvers.permeability.multigrid import AggregationMultigrid  # noqa: E402

TOL = 1e-8
FRACTION = 0.35
LENGTH = 8.0


def medium(n: int) -> np.ndarray:
    """Pore mask of the level cut at size n**3."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", generators.ClippedEmbeddingWarning)
        field = generators.gaussian_field((n,) * 3, generators.Gaussian(LENGTH), rng=2024 + n)
    return generators.level_cut(field, FRACTION) == 1


def solve(pores: np.ndarray, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnresolvedThroatWarning)
        return apparent_permeability(pores, **kwargs)


def memory_child(path: str, bc: str = "periodic") -> None:
    """Solve the pores at `path` under `bc` and print one JSON line of memory figures,
    iterations, wall and CPU time and the tensor's diagonal.
    """
    solve(np.indices((6,) * 3).sum(axis=0) % 3 == 0)  # compile / load the kernels
    pores = np.load(path)
    try:
        Path("/proc/self/clear_refs").write_text("5")
        reset = True
    except OSError:
        reset = False
    before = status_bytes("VmRSS")
    cpu = time.process_time()
    result = solve(pores, bc=bc, tol=TOL)
    cpu = time.process_time() - cpu
    peak = status_bytes("VmHWM")
    growth = peak - before if reset and peak is not None and before is not None else None
    figures = {
        "rss_before": before,
        "rss_peak": peak,
        "growth": growth,
        "iterations": [int(i) for i in result.iterations],
        "wall": result.wall_time,
        "cpu": cpu,
        "porosity": result.porosity,
        "diagonal": [float(v) for v in np.diag(result.tensor)],
    }
    print(json.dumps(figures))


def _child(pores: np.ndarray, workdir: Path, bc: str = "periodic") -> subprocess.Popen:
    path = workdir / f"pores-{pores.shape[0]}.npy"
    if not path.exists():
        np.save(path, pores)
    return subprocess.Popen(
        [sys.executable, __file__, "--memory-child", str(path), bc],
        stdout=subprocess.PIPE,
        text=True,
    )


def _figures(child: subprocess.Popen) -> dict:
    out, _ = child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"memory child failed with exit status {child.returncode}")
    return json.loads(out.strip().splitlines()[-1])


def memory(pores: np.ndarray, workdir: Path) -> dict:
    return _figures(_child(pores, workdir))


def scaling(sizes: list[int], jobs: int = 2) -> None:
    """Iterations, time and memory of both conditions at `sizes`, each solve in a fresh
    subprocess, `jobs` at a time, largest first; writes the record
    ``permeability-scaling``.
    """
    record = Record("permeability-scaling")
    table = record.table(
        "Level cut, pore fraction 0.35, correlation length 8 voxels: MINRES iterations "
        "per load case (tol 1e-8), each solve alone in a fresh process",
        [
            "size",
            "bc",
            "porosity",
            "iterations",
            "wall [s]",
            "CPU [s]",
            "peak growth [bytes per voxel]",
            "k_00",
        ],
        note="bc mixed: one pressure drop per axis, no-slip walls; two solves ran at once "
        "on the machine's cores (the solver is serial); k in voxels squared",
    )
    cases = [(n, bc) for n in sorted(sizes, reverse=True) for bc in ("periodic", "mixed")]
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        running: list[tuple[tuple[int, str], subprocess.Popen]] = []
        for case in cases + [None] * jobs:
            if case is not None:
                running.append((case, _child(medium(case[0]), Path(folder), case[1])))
            if len(running) >= jobs or (case is None and running):
                done, child = running.pop(0)
                results[done] = _figures(child)
                f = results[done]
                print(
                    f"{done[0]:>5} {done[1]:>8} iterations {f['iterations']} wall "
                    f"{f['wall']:8.1f} s CPU {f['cpu']:8.1f} s peak growth "
                    f"{f['growth'] / done[0] ** 3:6.1f} bytes/voxel",
                    flush=True,
                )
    for n, bc in sorted(results, key=lambda c: (c[0], c[1] != "periodic")):
        f = results[n, bc]
        table.add(
            f"{n}^3",
            bc,
            f["porosity"],
            " ".join(map(str, f["iterations"])),
            f["wall"],
            f["cpu"],
            f["growth"] / n**3,
            f["diagonal"][0],
        )
    spreads = []
    for bc in ("periodic", "mixed"):
        counts = {n: results[n, bc]["iterations"] for n in sizes}
        smallest = np.mean(counts[min(sizes)])
        spread = max(abs(c / smallest - 1) for v in counts.values() for c in v)
        print(f"{bc}: largest deviation of a load case from the {min(sizes)}^3 mean {spread:.0%}")
        spreads.append(f"{spread:.0%} {bc}")
    record.headline(
        f"permeability: iterations per load case {min(sizes)}^3 to {max(sizes)}^3 within "
        f"{', '.join(spreads)} of the {min(sizes)}^3 mean"
    )
    record.write()


def memory_only(sizes: list[int]) -> None:
    """Print the peak resident growth of the periodic solve at `sizes` (`memory`) beside
    the estimate; no record.
    """
    with tempfile.TemporaryDirectory() as folder:
        for n in sizes:
            pores = medium(n)
            growth = memory(pores, Path(folder))["growth"]
            estimate = permeability_memory_estimate(pores.shape, porosity=float(pores.mean()))
            print(
                f"{n:>5} RSS growth {growth / 2**20:8.1f} MiB, {growth / n**3:6.1f} bytes/voxel "
                f"(estimate {estimate.bytes_per_voxel:6.1f})",
                flush=True,
            )


def direct(pores: np.ndarray) -> tuple[np.ndarray, float]:
    """Tensor of the same discrete periodic problem by SuperLU, and its time."""
    start = time.perf_counter()
    operator = kept_operator(pores)
    loads = [body_force(operator, a) for a in range(3)]
    solutions = sparse.direct_solve(operator, loads, periodic=True)
    tensor = np.column_stack([operator.mean_velocity(x) for x in solutions])
    return tensor, time.perf_counter() - start


def kept_operator(pores: np.ndarray) -> StokesOperator:
    """The periodic operator on the clusters that wrap around (as the solver builds it)."""
    clusters = find_clusters(pores.astype(float), periodic=True, discretization="fv")
    keep = clusters.wraps.any(axis=1)
    kept = (clusters.labels >= 0) & keep[np.maximum(clusters.labels, 0)]
    return StokesOperator(kept, np.ones(3), 3)


def factors(stencil, multigrid, mask: np.ndarray, *, singular: bool) -> tuple[float, int]:
    """The convergence factor of the stationary iteration ``x += B (b - A x)`` from zero
    (the residual reduction of its 12th step, or of its last one before the residual
    falls under 1e-10 of the start) and the iterations of CG preconditioned
    by ``B`` to a relative residual of 1e-8, ``b`` standard normal (seed 0) on `mask`;
    a `singular` operator (the pressure: constants per cluster, one cluster here) gets
    the mean removed from ``b`` and from every ``B r``.
    """

    def precondition(r, z):
        multigrid.apply(r, z)
        if singular:
            z[mask] -= z[mask].mean()

    b = np.random.default_rng(0).standard_normal(mask.shape) * mask
    if singular:
        b[mask] -= b[mask].mean()
    x = np.zeros_like(b)
    z = np.empty_like(b)
    ax = np.empty_like(b)
    r = b.copy()
    norms = [float(np.linalg.norm(r))]
    for _ in range(12):
        precondition(r, z)
        x += z
        stencil.apply(x, ax)
        r = b - ax
        norms.append(float(np.linalg.norm(r)))
    x[...] = 0.0
    r = b.copy()
    precondition(r, z)
    p = z.copy()
    rz = float(np.vdot(r, z))
    count = 0
    while count < 500:
        count += 1
        stencil.apply(p, ax)
        alpha = rz / float(np.vdot(p, ax))
        x += alpha * p
        r -= alpha * ax
        if np.linalg.norm(r) <= 1e-8 * norms[0]:
            break
        precondition(r, z)
        new = float(np.vdot(r, z))
        p = z + (new / rz) * p
        rz = new
    # the last reduction before the residual reaches round-off (1e-10 of the start)
    last = max(i for i in range(1, len(norms)) if i == 1 or norms[i - 1] > 1e-10 * norms[0])
    return norms[last] / norms[last - 1], count


def cycles(sizes: list[int]) -> None:
    """Print, per size, the convergence factor and the CG iterations (`factors`) of the
    velocity cycle (component 0) and of the pressure multigrid of ``B K B^T``: 2 and
    `PRESSURE_GAMMA` stationary coarse visits, `PRESSURE_GAMMA` Chebyshev coarse steps
    (one cycle on the finest level), and the solver's (Chebyshev coarse steps and a
    polynomial of degree `PRESSURE_DEGREE` in the finest cycle).
    """
    print(
        f"factor (CG iterations); pressure: gamma 2 and {PRESSURE_GAMMA} stationary, "
        f"{PRESSURE_GAMMA} Chebyshev, Chebyshev and degree {PRESSURE_DEGREE} (solver)"
    )
    print(
        f"{'size':>5} {'velocity':>12} {'pressure W':>12} {'4 visits':>12} "
        f"{'Chebyshev':>12} {'solver':>12}"
    )
    for n in sizes:
        operator = kept_operator(medium(n))
        multigrids = [AggregationMultigrid(c.stencil) for c in operator.components]
        comp = operator.components[0]
        figures = [factors(comp.stencil, multigrids[0], comp.active, singular=False)]
        conductances = [
            face_conductance(c.stencil, c.active, mg)
            for c, mg in zip(operator.components, multigrids, strict=True)
        ]
        stencil = pressure_stencil(operator, conductances)
        variants = [
            {"gamma": 2},
            {"gamma": PRESSURE_GAMMA},
            {"gamma": PRESSURE_GAMMA, "chebyshev": True},
            {"gamma": PRESSURE_GAMMA, "chebyshev": True, "degree": PRESSURE_DEGREE},
        ]
        for options in variants:
            mg = AggregationMultigrid(stencil, **options)
            figures.append(factors(stencil, mg, operator.fluid, singular=True))
        print(f"{n:>5} " + " ".join(f"{f:6.3f} ({c:>3})" for f, c in figures), flush=True)


def _numbers(text: str) -> list[int]:
    """Comma-separated edges, e.g. ``32,64``."""
    return [int(v) for v in text.split(",")]


def main(sizes: list[int], direct_sizes: list[int], with_mixed: bool) -> None:
    record = Record("permeability")
    solve(np.indices((6,) * 3).sum(axis=0) % 3 == 0)  # compile / load the kernels
    table = record.table(
        "Level cut, pore fraction 0.35, correlation length 8 voxels: MINRES iterations "
        "per load case (tol 1e-8)",
        ["size", "bc", "porosity", "iterations", "time [s]", "s / iteration", "k_00", "k_11"],
        note="bc mixed: one pressure drop per axis, no-slip walls; k in voxels squared",
    )
    means = []
    print(f"{'size':>5} {'bc':>8} {'phi':>6} {'iterations':>18} {'time':>8} {'s/it':>8} k_diag")
    for n in sizes:
        pores = medium(n)
        for bc in ("periodic", "mixed") if with_mixed else ("periodic",):
            result = solve(pores, bc=bc, tol=TOL)
            per = result.wall_time / max(sum(result.iterations), 1)
            diagonal = np.diag(result.tensor)
            print(
                f"{n:>5} {bc:>8} {result.porosity:6.3f} {str(result.iterations):>18} "
                f"{result.wall_time:8.2f} {per:8.4f} {np.round(diagonal, 4)}",
                flush=True,
            )
            table.add(
                f"{n}^3",
                bc,
                result.porosity,
                " ".join(map(str, result.iterations)),
                result.wall_time,
                per,
                diagonal[0],
                diagonal[1],
            )
            if bc == "periodic":
                means.append(np.mean([i for i in result.iterations if i > 0]))
    spread = (max(means) - min(means)) / np.mean(means)
    print(f"periodic iterations: mean per size {np.round(means, 1)}, spread {spread:.0%}")
    record.headline(
        f"permeability (MINRES + multigrid), level cut 0.35: {means[0]:.0f} to {means[-1]:.0f} "
        f"iterations per load case from {sizes[0]}^3 to {sizes[-1]}^3"
    )

    memory_table = record.table(
        "Peak resident growth of the periodic solve (fresh process)",
        ["size", "RSS growth [MiB]", "bytes per voxel", "estimate [bytes per voxel]"],
        note="estimate: permeability_memory_estimate(shape, porosity=...), the figure "
        "memory_limit is checked against",
    )
    with tempfile.TemporaryDirectory() as folder:
        for n in sizes:
            pores = medium(n)
            figures = memory(pores, Path(folder))
            growth = figures["growth"]
            per_voxel = growth / n**3 if growth is not None else None
            estimate = permeability_memory_estimate(pores.shape, porosity=float(pores.mean()))
            print(
                f"{n:>5} RSS growth {growth / 2**20:8.1f} MiB, {per_voxel:6.0f} bytes/voxel "
                f"(estimate {estimate.bytes_per_voxel:6.0f})"
            )
            memory_table.add(f"{n}^3", growth / 2**20, per_voxel, estimate.bytes_per_voxel)
    record.headline(f"permeability peak memory: {per_voxel:.0f} bytes per voxel at {n}^3")

    direct_table = record.table(
        "Against SuperLU on the same discrete problem (periodic, 3 load cases)",
        [
            "size",
            "unknowns",
            "MINRES tol 1e-8 [s]",
            "SuperLU [s]",
            "ratio",
            "MINRES error",
            "SuperLU error",
        ],
        note="errors: largest entry of the difference to the MINRES tol 1e-10 tensor over "
        "its largest entry",
    )
    for n in direct_sizes:
        pores = medium(n)
        reference = solve(pores, tol=1e-10).tensor
        iterative = solve(pores, tol=TOL)
        tensor, seconds = direct(pores)
        scale = np.abs(reference).max()
        e_iterative = np.abs(iterative.tensor - reference).max() / scale
        e_direct = np.abs(tensor - reference).max() / scale
        unknowns = int(pores.sum() * 4)
        ratio = seconds / iterative.wall_time
        print(
            f"{n:>5} direct {seconds:8.2f} s, MINRES {iterative.wall_time:8.2f} s "
            f"(ratio {ratio:.1f}), errors {e_iterative:.1e} (MINRES), {e_direct:.1e} (SuperLU)",
            flush=True,
        )
        direct_table.add(
            f"{n}^3", unknowns, iterative.wall_time, seconds, ratio, e_iterative, e_direct
        )
    record.headline(f"permeability vs SuperLU at {n}^3: {ratio:.1f}x faster, same tensor")
    record.write()


if __name__ == "__main__":
    parser = arguments(__doc__)
    parser.add_argument("--sizes", type=_numbers, default=[32, 48, 64], metavar="N,N")
    parser.add_argument("--direct", type=_numbers, default=[32, 48], metavar="N,N")
    parser.add_argument("--no-mixed", action="store_true", help="skip the mixed conditions")
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument("--scaling", type=_numbers, nargs="?", const=[32, 64, 128, 256])
    modes.add_argument("--cycles", type=_numbers, nargs="?", const=[32, 64])
    modes.add_argument("--memory", type=_numbers, nargs="?", const=[128])
    modes.add_argument("--memory-child", nargs="+", help=argparse.SUPPRESS)  # PATH [BC]
    options = parser.parse_args()
    if options.memory_child:
        memory_child(*options.memory_child[:2])
    elif options.scaling:
        scaling(options.scaling)
    elif options.cycles:
        cycles(options.cycles)
    elif options.memory:
        memory_only(options.memory)
    else:
        main(options.sizes, options.direct, not options.no_mixed)
