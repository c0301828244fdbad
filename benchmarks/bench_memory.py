"""Memory budget of the solvers: the estimate against the measured peak.

For every (property, boundary condition, discretization, preconditioner), with
scalar or tensor conductivities and with or without voids, at a few sizes, each
solve runs in a fresh interpreter: the same case is solved once on a 16**3
image first, and on a 64**3 one before 3-D images of more than 64**3 voxels,
whose Q1 multigrid runs other kernels (Numba compiles or loads its kernels,
whose memory is not the solve's; a 64**3 image's growth includes them, 7-10 MB
for Q1 multigrid, since a warm-up of its own size would leave it the memory it
freed), the
resident high-water mark is reset (``/proc/self/clear_refs``), and the growth is
``VmHWM`` after the solve minus ``VmRSS`` before it (the labels, the interpreter
and the libraries are the input). tracemalloc would miss Numba's and
scipy.fft's buffers. ``maxiter`` is 3 (``on_failure="flag"``): every array of
the solve is allocated by the first iteration, so the peak is that of a full
solve at a fraction of its time.

Usage::

    python benchmarks/bench_memory.py                # 64**3, 128**3 and 2048**2
    python benchmarks/bench_memory.py --sizes 96 160 --sizes-2d --only conductivity
    python benchmarks/bench_memory.py --no-record
    python benchmarks/bench_memory.py --sizes 160 --sizes-2d --precision double single \
        --exact "conductivity periodic q1 fft" --record-name memory_precision

``--precision single`` measures ``precision="single"`` (conductivity cases only).
``--converge`` solves to convergence (``tol=1e-6``) instead of 3 iterations and
records the iterations and times too; the 800^3 case of issue 18 (an image of
2^3 copies of a periodic 400^3 level cut, see ``medium``)::

    python benchmarks/bench_memory.py --sizes 800 --sizes-2d --precision single \
        --exact "conductivity mixed fv multigrid" --converge --record-name memory_800

Writes ``benchmarks/records/memory.json`` (date, commit, machine; see the other
benchmarks' records) unless ``--no-record``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's sve
from _measure import status_bytes  # noqa: E402
from _record import Record, arguments  # noqa: E402

#: (property, bc, discretization, preconditioner, tensors, voids)
CASES = [
    *[
        ("conductivity", bc, "q1", pre, False, False)
        for bc in ("periodic", "kinematic", "static", "mixed")
        for pre in ("fft", "multigrid")
    ],
    ("conductivity", "periodic", "fv", "fft", False, False),
    ("conductivity", "kinematic", "fv", "fft", False, False),
    ("conductivity", "kinematic", "fv", "multigrid", False, False),
    ("conductivity", "mixed", "fv", "fft", False, False),
    ("conductivity", "mixed", "fv", "multigrid", False, False),
    *[
        ("conductivity", bc, "q1", "fft", True, False)
        for bc in ("periodic", "kinematic", "static", "mixed")
    ],
    ("conductivity", "periodic", "fv", "fft", True, False),
    ("conductivity", "mixed", "fv", "multigrid", True, False),
    ("conductivity", "periodic", "q1", "fft", False, True),
    ("conductivity", "kinematic", "q1", "fft", False, True),
    ("conductivity", "static", "q1", "fft", False, True),
    ("conductivity", "mixed", "q1", "fft", False, True),
    ("conductivity", "periodic", "q1", "multigrid", False, True),
    ("conductivity", "mixed", "q1", "multigrid", False, True),
    ("conductivity", "periodic", "fv", "fft", False, True),
    ("conductivity", "kinematic", "fv", "multigrid", False, True),
    ("conductivity", "mixed", "fv", "multigrid", False, True),
    *[
        ("elasticity", bc, "q1", "fft", False, False)
        for bc in ("periodic", "kinematic", "static", "mixed")
    ],
    ("elasticity", "periodic", "q1", "fft", False, True),
    ("elasticity", "kinematic", "q1", "fft", False, True),
]


#: Largest edge generated in one piece by `medium` (a Gaussian field of 500^3 and its
#: transforms take about 10 GB; beyond, the image is tiled).
LARGEST_PIECE = 512


def medium(shape: tuple[int, ...], seed: int = 7, fraction: float = 0.5) -> np.ndarray:
    """A two-phase level cut (correlation length 4 voxels, `fraction` of phase 1), int8.

    Edges over `LARGEST_PIECE`: copies of a periodic level cut of edge at most
    `LARGEST_PIECE` per axis (2^3 copies of 400^3 for 800^3; the field is periodic, so the
    copies join without seams). The statistics repeat with that period; the memory and
    the work of a solve do not depend on it.
    """
    from generators import Gaussian, gaussian_field, level_cut

    if max(shape) > LARGEST_PIECE:
        copies = tuple(-(-n // LARGEST_PIECE) for n in shape)
        piece = [-(-n // c) for n, c in zip(shape, copies, strict=True)]
        piece = medium(tuple(piece), seed, fraction)
        return np.ascontiguousarray(np.tile(piece, copies)[tuple(slice(n) for n in shape)])
    field = gaussian_field(shape, Gaussian(length=4.0), rng=seed)
    return level_cut(field, fraction).astype(np.int8)


def case_medium(shape: tuple[int, ...], case: tuple) -> np.ndarray:
    """The image of `case`: with voids, 70 % of phase 1 (the solid percolates in 2-D too)."""
    return medium(shape, fraction=0.7 if case[5] else 0.5)


def materials(prop: str, ndim: int, tensors: bool, voids: bool):
    """The phase values of a case: contrast 10, a void phase 0 with `voids`."""
    if prop == "elasticity":
        from sve.solvers import isotropic

        hard = isotropic(ndim, lam=10.0, mu=5.0)
        return np.stack([0.0 * hard if voids else 0.1 * hard, hard])
    if tensors:
        low = np.zeros((ndim, ndim)) if voids else np.diag(np.arange(1.0, ndim + 1.0))
        return np.stack([low, np.diag(np.arange(ndim, 0.0, -1.0)) * 10.0])
    return [0.0 if voids else 1.0, 10.0]


def solve(phases, case, maxiter: int | None = 3):
    """One solve of `case`; ``maxiter=None``: to convergence at ``tol=1e-6``."""
    import sve

    if maxiter is None:
        maxiter, tol, on_failure = 10_000, 1e-6, "raise"
    else:
        tol, on_failure = 1e-6, "flag"

    prop, bc, discretization, preconditioner, tensors, voids = case[:6]
    precision = case[6] if len(case) > 6 else "double"
    values = materials(prop, phases.ndim, tensors, voids)
    if prop == "elasticity":
        return sve.apparent_stiffness(
            phases, values, bc=bc, maxiter=maxiter, tol=tol, on_failure=on_failure
        )
    return sve.apparent_conductivity(
        phases,
        values,
        bc=bc,
        discretization=discretization,
        preconditioner=preconditioner,
        maxiter=maxiter,
        tol=tol,
        on_failure=on_failure,
        precision=precision,
    )


def child(path: str, case: list, converge: bool = False) -> None:
    """Measure one solve of the image at `path` (see the module docstring); print JSON.
    `converge`: solve to convergence (``tol=1e-6``) instead of 3 iterations.
    """
    from sve.solvers.conductivity.q1_multigrid import SLABS_FROM

    case = tuple(case)
    phases = np.load(path)
    solve(case_medium((16,) * phases.ndim, case), case)  # compile the kernels
    # and those of large images (the Q1 multigrid's level 0 a slab at a time) on a 64**3
    # image, before larger ones only: the allocator would give a 64**3 solve the memory
    # that a warm-up of its own size freed (growth 0.0-3 MB measured, against 8-20)
    if phases.ndim == 3 and phases.size >= SLABS_FROM and phases.size > 64**3:
        solve(case_medium((64,) * 3, case), case)
    before = status_bytes("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    start, cpu = time.perf_counter(), time.process_time()
    result = solve(phases, case, maxiter=None if converge else 3)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = status_bytes("VmHWM")
    figures = {"before": before, "peak": peak, "growth": peak - before, "time": elapsed}
    if converge:
        figures.update(cpu=cpu, iterations=list(map(int, result.iterations)),
                       converged=bool(result.converged))  # fmt: skip
    print(json.dumps(figures))


def measure(phases: np.ndarray, case: tuple, directory: str, converge: bool = False) -> dict:
    """Run `child` on `phases` in a fresh interpreter; its figures."""
    path = str(Path(directory) / "phases.npy")
    np.save(path, phases)
    done = subprocess.run(
        [sys.executable, __file__, "--child", path, json.dumps(list(case))]
        + (["--converge"] if converge else []),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{label(case)}: the measuring interpreter failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def estimate(shape, case) -> dict | None:
    try:
        from sve.solvers import memory_estimate
    except ImportError:
        return None
    prop, bc, discretization, preconditioner, tensors, voids = case[:6]
    extra = {"precision": case[6]} if len(case) > 6 else {}
    return memory_estimate(
        shape,
        property=prop,
        bc=bc,
        discretization=discretization,
        preconditioner=preconditioner,
        tensors=tensors,
        voids=voids,
        **extra,
    )


def label(case) -> str:
    prop, bc, discretization, preconditioner, tensors, voids = case[:6]
    parts = [prop, bc, discretization, preconditioner]
    if tensors:
        parts.append("tensors")
    if voids:
        parts.append("voids")
    if len(case) > 6 and case[6] != "double":
        parts.append(case[6])
    return " ".join(parts)


def write_record(rows: list, headlines: list[str], name: str, converge: bool) -> None:
    """`rows` as ``benchmarks/records/NAME.json`` (``_record.Record``)."""
    record = Record(name)
    for line in headlines:
        record.headline(line)
    columns = [
        "case",
        "shape",
        "estimate [MB]",
        "measured [MB]",
        "estimate / measured",
        "estimate [B/voxel]",
        "measured [B/voxel]",
        *(["iterations", "converged", "wall [s]", "CPU [s]"] if converge else []),
    ]
    note = (
        "growth: VmHWM after the solve minus VmRSS before it, in a fresh interpreter after "
        "a 16**3 warm-up solve of the same case; "
        + ("solved to tol 1e-6" if converge else "maxiter=3")
    )
    table = record.table(
        "Memory estimate against the measured peak growth of the solve", columns, note
    )
    for row in rows:
        table.add(*row)
    record.write()


def precision_pairs(rows: list) -> str:
    """Headline of a run with both precisions: measured bytes per voxel, double -> single."""
    measured = {(row[0], row[1]): row[6] for row in rows}
    parts = []
    for (name, shape), value in measured.items():
        single = measured.get((name + " single", shape))
        if single is not None:
            case = name.removeprefix("conductivity ")
            parts.append(f"{case} {value:.0f} -> {single:.0f}")
    if not parts:
        return ""
    shape = rows[0][1].replace("x", "×")
    return f"bytes per voxel at {shape}, double -> single precision: " + ", ".join(parts)


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--sizes", type=int, nargs="*", default=[64, 128], help="3-D edges")
    parser.add_argument("--sizes-2d", type=int, nargs="*", default=[2048], help="2-D edges")
    parser.add_argument(
        "--only", nargs="*", default=[], help="run the cases whose label contains all these"
    )
    parser.add_argument(
        "--exact",
        nargs="*",
        default=[],
        help="run only these case labels, e.g. 'conductivity mixed fv multigrid' (the "
        "precision is added by --precision)",
    )
    parser.add_argument(
        "--precision",
        nargs="*",
        default=["double"],
        help="double and/or single (single: conductivity cases only)",
    )
    parser.add_argument("--record-name", default="memory", help="benchmarks/records/NAME.json")
    parser.add_argument(
        "--converge",
        action="store_true",
        help="solve to convergence (tol 1e-6) instead of 3 iterations; adds the iterations, "
        "wall and CPU times to the record",
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        child(options.child[0], json.loads(options.child[1]), options.converge)
        return
    rows, ratios = [], []
    mb = 1e6
    with tempfile.TemporaryDirectory() as directory:
        shapes = [(n,) * 3 for n in options.sizes] + [(n,) * 2 for n in options.sizes_2d]
        for shape in shapes:
            images: dict[bool, np.ndarray] = {}  # made when a case needs them (large shapes)
            cases = [
                case if precision == "double" else (*case, precision)
                for precision in options.precision
                for case in CASES
                if precision == "double" or case[0] == "conductivity"
            ]
            for case in cases:
                if not all(word in label(case) for word in options.only):
                    continue
                if options.exact and label(case[:6]) not in options.exact:
                    continue
                if case[5] not in images:
                    images[case[5]] = case_medium(shape, case)
                figures = measure(images[case[5]], case, directory, options.converge)
                voxels = float(np.prod(shape))
                est = estimate(shape, case)
                total = est.bytes if est else float("nan")
                ratio = total / figures["growth"]
                if est:
                    ratios.append(ratio)
                row = [
                    label(case),
                    "x".join(map(str, shape)),
                    round(total / mb, 1),
                    round(figures["growth"] / mb, 1),
                    round(ratio, 3),
                    round(total / voxels, 1),
                    round(figures["growth"] / voxels, 1),
                ]
                if options.converge:
                    row += [
                        ",".join(map(str, figures["iterations"])),
                        figures["converged"],
                        round(figures["time"], 1),
                        round(figures["cpu"], 1),
                    ]
                rows.append(row)
                print(
                    f"{row[0]:<48} {row[1]:>12} est {row[2]:>9.1f} MB  meas {row[3]:>9.1f} MB  "
                    f"ratio {row[4]:.3f}  {row[6]:>6.1f} B/voxel  ({figures['time']:.1f} s)",
                    flush=True,
                )
    headlines = []
    if ratios:
        headlines.append(
            f"memory estimate / measured peak growth: {min(ratios):.2f} to {max(ratios):.2f} "
            f"over {len(ratios)} solves"
        )
        print(headlines[0])
    pairs = precision_pairs(rows)
    if pairs:
        headlines.append(pairs)
        print(pairs)
    if not options.no_record:
        write_record(rows, headlines, options.record_name, options.converge)


if __name__ == "__main__":
    main()
