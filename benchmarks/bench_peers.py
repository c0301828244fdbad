"""Side by side with TauFactor and PoreSpy on the same image, same problem.

Run as ``.venv/bin/python benchmarks/bench_peers.py --sizes 128,256`` (N^3
images, one table each, in one run and one record; default 128; PoreSpy only up to
``--porespy-max``, default 128, its network and matrix set-up at 256^3 being the
slow part; ``--axis A``, default 0; ``--tight`` to add a run of
each peer at a ten times tighter stopping rule). It never asserts a time.

Setup. The peers are not dependencies: the first run creates a virtualenv
``benchmarks/.peers-venv`` (git-ignored, reused afterwards) and installs
there, in this order, ``torch==2.13.0`` (pinned first, so that TauFactor
does not pull a CUDA build) and then ``taufactor``, ``porespy``,
``openpnm`` and ``pyamg`` (PoreSpy imports the last two lazily). Each
peer runs in that virtualenv through ``benchmarks/_peer_solve.py`` on the
same ``.npy`` image; a peer that cannot be installed or run prints
``<peer> comparison unavailable: <reason>`` and the others go on.

Problem. A 3-D level cut at phi = 0.5 of a Gaussian field with a Gaussian
covariance of correlation length 8 voxels; phase 1 conducts
(conductivity 1), phase 0 is an insulating void. Along one axis: Dirichlet
on the two faces normal to it, no flux through the others, voxels joined
through faces only: ``sve.apparent_conductivity(..., bc="mixed",
discretization="fv")``, entry ``[axis, axis]``. Every value is the
effective conductivity relative to the conducting phase over the whole
cross-section (``D_eff / D_0``; tortuosity ``tau = porosity / value``):

* TauFactor ``Solver``: ``D_eff`` (with ``D_0 = 1``), its own tau being
  ``VF / D_eff``. Same discrete problem as ours (Dirichlet on the faces,
  half a voxel from the first cell centres).
* PoreSpy ``tortuosity_fd``: ``1 / formation_factor``. Its Dirichlet
  conditions sit on the centres of the first and last layers (length
  L - 1), so its discrete problem differs from ours by boundary layers of
  one voxel: a difference of order 1/L remains, not a solver error.

Times. ``ours (1 direction)`` is the solve of the one load case through the
solver's internals (the public function solves the three directions; its
time is printed too, and its ``[axis, axis]`` entry is checked to be the
same number). ``ours mg`` is the same load case with
``preconditioner="multigrid"`` (same image, same ``tol``). The peers'
``call`` is the wall time of their public call, setup included
(TauFactor: tensors, neighbour counts; PoreSpy: trimming, network,
matrix, multigrid hierarchy), not the interpreter start or imports;
``solve`` is the part they report as solving. Ratios are peer time over
ours, measured in the same run; the load average is printed because the
machine is shared.

Stopping rules (they cannot be made identical): ours, the relative residual
``tol=1e-6`` (Notes of ``apparent_conductivity``), the reference of every
``vs ours`` column, and again at 1e-4 and 1e-3; TauFactor, the spread of
the flux between layers below ``conv_crit`` (default 1e-2) and tau steady
to 2e-3 over 100 sweeps; PoreSpy, the inlet/outlet flux mismatch below
``ftol`` (default 1e-3) by tightening the PyAMG residual tolerance.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# Runs from a checkout without installing the package: the repository root goes first.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from _record import Record, arguments  # noqa: E402

from generators import Gaussian, gaussian_field, level_cut  # noqa: E402
from sve.solvers import apparent_conductivity  # noqa: E402
from sve.solvers._core.clusters import find_clusters  # noqa: E402
from sve.solvers.conductivity.cell_problem import (  # noqa: E402
    _ROUND_OFF_ENERGY,
    load_case_solver,
)

VENV = Path(__file__).resolve().parent / ".peers-venv"
HELPER = Path(__file__).resolve().parent / "_peer_solve.py"
PEERS = ("taufactor", "porespy")
TOL = 1e-6
LOOSE = (1e-4, 1e-3)  # ours again at looser tolerances, for the accuracy the peers stop at
# torch first and pinned: taufactor's dependency would otherwise pull a CUDA build.
INSTALL_STEPS = (("torch==2.13.0",), ("taufactor", "porespy", "openpnm", "pyamg"))
TIGHT = {"taufactor": 1e-3, "porespy": 1e-4}  # ten times PoreSpy's and TauFactor's defaults


def peer_python() -> Path:
    """The peers' interpreter, creating and filling their virtualenv on first use."""
    python = VENV / "bin" / "python"
    marker = VENV / ".installed"
    if marker.exists():
        return python
    if not python.exists():
        print(f"creating {VENV}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    for packages in INSTALL_STEPS:
        print(f"installing {' '.join(packages)} into {VENV.name}", flush=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *packages],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    marker.write_text("\n".join(" ".join(p) for p in INSTALL_STEPS) + "\n")
    return python


def _mixed_fv_solver(k: np.ndarray, clusters, axis: int, tol: float, multigrid: bool = False):
    """The solver of load case `axis` of the mixed finite-volume problem, as
    ``apparent_conductivity`` builds it (with ``preconditioner="multigrid"`` if `multigrid`)."""
    return load_case_solver(
        k,
        clusters,
        bc="mixed",
        axis=axis,
        discretization="fv",
        spacing=1.0,
        tol=tol,
        maxiter=1000,
        tensors=None,
        use_multigrid=multigrid,
    )


def one_direction(
    phases: np.ndarray, axis: int, tol: float, multigrid: bool = False
) -> tuple[float, int]:
    """Entry [axis, axis] of the mixed finite-volume problem, one load case only.

    The path of ``apparent_conductivity(phases, [0, 1], bc="mixed",
    discretization="fv")`` for that load case (``_affine`` in
    ``sve/solvers/conductivity/cell_problem.py``) without the other two; it must give the
    same number.
    """
    k = np.array([0.0, 1.0])[phases]
    ndim = k.ndim
    clusters = find_clusters(k, periodic=False, discretization="fv")
    if not clusters.percolating(False)[axis]:
        return 0.0, 0
    solver = _mixed_fv_solver(k, clusters, axis, tol, multigrid)
    grid = solver.grid
    gradient = np.eye(ndim)[axis]
    load = np.empty(grid.shape)
    grid.flux(np.zeros(grid.shape), gradient, load)
    np.negative(load, out=load)
    solver.constrain(load)
    u = np.empty(grid.shape)
    floor = _ROUND_OFF_ENERGY * float(k.mean()) * k.size
    iterations, _ = solver.solve(load, u, floor)
    return float(grid.mean_flux(u, gradient)[axis]), iterations


def breakdown(phases: np.ndarray, axis: int) -> str:
    """Where one direction's time goes: cluster labelling once, then per iteration one
    operator application and one preconditioner application (best of 3, ms)."""
    k = np.array([0.0, 1.0])[phases]
    start = time.perf_counter()
    clusters = find_clusters(k, periodic=False, discretization="fv")
    labelling = time.perf_counter() - start
    solver = _mixed_fv_solver(k, clusters, axis, TOL)
    grid = solver.grid
    u = np.random.default_rng(0).standard_normal(grid.shape)
    out = np.empty(grid.shape)
    zero = np.zeros(k.ndim)

    def best(function) -> float:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
        return 1e3 * min(times)

    apply = best(lambda: grid.flux(u, zero, out))
    precondition = best(lambda: solver.precondition(u, out))
    return (
        f"ours per direction: cluster labelling {1e3 * labelling:.0f} ms once; per iteration "
        f"operator {apply:.1f} ms, preconditioner {precondition:.1f} ms"
    )


def run_peer(python: Path, peer: str, path: str, axis: int, option: float | None) -> dict:
    """Run one peer in its virtualenv; its JSON figures plus the process wall time."""
    command = [str(python), str(HELPER), peer, path, str(axis)]
    if option is not None:
        command.append(repr(option))
    start = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    elapsed = time.perf_counter() - start
    if completed.returncode != 0:
        tail = (completed.stderr or completed.stdout).strip().splitlines()
        raise RuntimeError(tail[-1] if tail else f"exit status {completed.returncode}")
    figures = json.loads(completed.stdout.strip().splitlines()[-1])
    figures["process"] = elapsed
    return figures


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--sizes", default="128", help="image edges, comma-separated")
    parser.add_argument("--axis", type=int, default=0, choices=(0, 1, 2))
    parser.add_argument("--tight", action="store_true")
    parser.add_argument(
        "--porespy-max", type=int, default=128, help="largest edge PoreSpy runs at"
    )
    args = parser.parse_args()
    try:
        sizes = [int(v) for v in args.sizes.split(",")]
    except ValueError:
        parser.error(f"--sizes must be comma-separated integers, got {args.sizes!r}")
    if any(n < 16 for n in sizes):
        parser.error(f"--sizes must be at least 16 each, got {args.sizes!r}")
    try:
        python = peer_python()
        setup_error = None
    except (OSError, subprocess.CalledProcessError) as error:
        python, setup_error = None, f"virtualenv setup failed ({error})"
    record = Record("peers")
    for size in sizes:
        peers = tuple(p for p in PEERS if p != "porespy" or size <= args.porespy_max)
        compare(size, args.axis, args.tight, python, setup_error, record, peers)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    record.write()


def compare(size, axis, tight, python, setup_error, record: Record, peers) -> None:
    """One image edge: ours, ours fft at looser rules, and each of ``peers``; a table."""
    phases = level_cut(gaussian_field((size,) * 3, Gaussian(8.0), rng=2024), 0.5)
    phases = phases.astype(np.int8)
    # compile (or load from the cache) before timing
    apparent_conductivity(phases[:8, :8, :8], [0.0, 1.0], bc="mixed", discretization="fv")
    one_direction(phases[:8, :8, :8], axis, TOL)
    one_direction(phases[:8, :8, :8], axis, TOL, multigrid=True)

    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} (2 cores)")
    print(
        f"{size}^3 level cut, phi=0.5, length 8; phase 1 conducts (1), phase 0 void; "
        f"mixed BC along axis {axis}, face-connected finite volumes"
    )

    def best_of_two(tol: float, multigrid: bool) -> tuple[float, int, float]:
        times = []
        for _ in range(2):
            begin = time.perf_counter()
            value, count = one_direction(phases, axis, tol, multigrid=multigrid)
            times.append(time.perf_counter() - begin)
        return value, count, min(times)

    # ours: the default path of this case (preconditioner="auto" takes multigrid for mixed
    # finite volumes); ours fft: the transform preconditioner, for comparison
    ours, iterations, ours_time = best_of_two(TOL, multigrid=True)
    start = time.perf_counter()
    full = apparent_conductivity(phases, [0.0, 1.0], bc="mixed", discretization="fv", tol=TOL)
    full_time = time.perf_counter() - start
    same = abs(full.tensor[axis, axis] - ours) <= 1e-12 * abs(ours)
    print(
        f"ours ({full.preconditioner}, the default here): {ours:.6f} (tau "
        f"{phases.mean() / ours:.4f}), tol={TOL:g}, {iterations} iterations "
        f"({1e3 * ours_time / max(iterations, 1):.1f} ms each, setup included), 1 direction "
        f"{ours_time:.2f} s (best of 2); public call, 3 directions {full_time:.2f} s, "
        f"iterations {full.iterations}, entry [{axis},{axis}] "
        f"{'identical' if same else 'DIFFERENT: ' + repr(full.tensor[axis, axis])}"
    )
    print("ours fft " + breakdown(phases, axis).removeprefix("ours "))
    table = record.table(
        f"Side by side with TauFactor and PoreSpy: {size}^3 level cut with voids, mixed "
        f"conditions along axis {axis}, finite volumes",
        ["solver", "rule", "value", "vs ours [%]", "iterations", "call [s]", "call / ours"],
        "call: the public call, its setup included, imports excluded; ours: the default "
        "path (preconditioner='auto'), one direction, best of 2. Targets: values within "
        "0.5 %, ours at least 3 times faster.",
    )
    table.add("ours", f"tol={TOL:g}", ours, 0.0, iterations, ours_time, 1.0)
    record.headline(
        f"one direction of a {size}³ finite-volume tortuosity case in {ours_time:.2f} s "
        f"({iterations} iterations)"
    )
    print(
        f"\n{'peer':>10} {'rule':>14} {'value':>9} {'vs ours':>9} {'iters':>6} "
        f"{'ms/iter':>7} {'call [s]':>9} {'solve [s]':>9} {'call/ours':>9} {'call/3 dirs':>11}"
    )
    for loose in (TOL, *LOOSE):  # the transforms, also stopped earlier
        value, count, elapsed = best_of_two(loose, multigrid=False)
        print(
            f"{'ours fft':>10} {f'tol={loose:g}':>14} {value:>9.6f} "
            f"{100 * (value / ours - 1.0):>+8.3f}% {count:>6} "
            f"{1e3 * elapsed / max(count, 1):>7.1f} {elapsed:>9.2f} {'':>9} "
            f"{elapsed / ours_time:>9.2f}",
            flush=True,
        )
        table.add(
            "ours fft",
            f"tol={loose:g}",
            value,
            100 * (value / ours - 1.0),
            count,
            elapsed,
            elapsed / ours_time,
        )
    rows = [(peer, None) for peer in peers]
    if tight:
        rows += [(peer, TIGHT[peer]) for peer in peers]
    unavailable = {}
    with tempfile.TemporaryDirectory() as directory:
        path = str(Path(directory) / "phases.npy")
        np.save(path, phases)
        for peer, option in rows:
            if peer in unavailable:
                continue
            if setup_error is not None:
                unavailable[peer] = setup_error
            else:
                try:
                    figures = run_peer(python, peer, path, axis, option)
                except (RuntimeError, subprocess.TimeoutExpired, ValueError) as error:
                    unavailable[peer] = str(error)
            if peer in unavailable:
                print(f"{peer} comparison unavailable: {unavailable[peer]}", flush=True)
                continue
            difference = figures["value"] / ours - 1.0
            count = figures["iterations"]
            each = "-" if not count else f"{1e3 * figures['solve'] / count:.1f}"
            print(
                f"{peer:>10} {figures['option']:>14} {figures['value']:>9.6f} "
                f"{100 * difference:>+8.3f}% {count or '-':>6} {each:>7} {figures['call']:>9.2f} "
                f"{figures['solve']:>9.2f} {figures['call'] / ours_time:>9.1f} "
                f"{figures['call'] / full_time:>11.2f}",
                flush=True,
            )
            table.add(
                peer,
                figures["option"],
                figures["value"],
                100 * difference,
                count,
                figures["call"],
                figures["call"] / ours_time,
            )
            if option is None:
                record.headline(
                    f"{peer} at {size}³: {figures['call'] / ours_time:.1f}× the time of ours "
                    f"on one direction, value {100 * difference:+.2f} % from ours"
                )
    print(
        "\ntargets: |vs ours| < 0.5 %, call/ours >= 3. call: the peer's public call, its "
        "setup included, imports excluded; solve: what the peer reports as solving; "
        "ms/iter: solve / iterations (TauFactor: one red-black over-relaxation sweep); "
        "ours fft: ours with preconditioner='fft' (best of 2; its last column is its time "
        "over ours)"
    )


if __name__ == "__main__":
    main()
