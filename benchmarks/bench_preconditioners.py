"""FFT reference-medium preconditioner against geometric multigrid, Q1 conductivity.

Run as ``.venv/bin/python benchmarks/bench_preconditioners.py`` (``--quick``:
sizes 32^3 and 64^3 only; ``--large`` adds the standard medium at 256^3,
about 4 more minutes; ``--bc NAME``: that boundary condition instead of
``periodic``; ``--2d``: square images of 128^2 to 1024^2 instead of cubes;
``--size N``: that edge only). It never asserts a time.

Media: 3-D level cuts of a Gaussian field with a Gaussian covariance of
correlation length 8 voxels (one field per size, so every case of a size
shares the geometry), at 32^3, 64^3 and 128^3: the standard medium (phase
1 at phi = 0.5, contrast 100, phases 1 and 100) and the hard cases,
contrast 1e4 and 1e6 (a near-superconducting phase 1 at phi = 0.5) and
voids (conductivity 0 in phase 1, phi = 0.3 and 0.5 of voids).

Both run through ``apparent_conductivity(..., bc=BC,
preconditioner=...)`` (the same conjugate gradients, loads and void
projection), tol = 1e-6, three load cases. Per case and preconditioner: the
iterations per load case, the setup (multigrid hierarchy; the FFT symbol is
negligible) and total solve times (best of 3 alternating runs, 2 at 128^3,
1 at 256^3), the time per iteration over one numpy real FFT forward +
inverse pair of float64 of the same size (timed in the same run, the
unit), the ratio of the total time to the FFT-preconditioned one, and K_00
with the relative difference between the two (both solve to tol, so it
must be below tol).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

# Runs from a checkout without installing the package: the repository root goes first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _measure import best_time  # noqa: E402
from _record import Record, arguments  # noqa: E402
from bench_conductivity import fft_pair_time  # noqa: E402

from generators import Gaussian, gaussian_field, level_cut  # noqa: E402
from sve.solvers import CONDUCTIVITY_BCS, apparent_conductivity  # noqa: E402
from sve.solvers.conductivity.cell_problem import _kinds  # noqa: E402
from sve.solvers.conductivity.q1_multigrid import multigrid  # noqa: E402

TOL = 1e-6
MAXITER = 5000
# (name, phi of phase 1, conductivities of phases 0 and 1)
STANDARD = ("contrast 100", 0.5, (1.0, 100.0))
HARD = [
    ("contrast 1e4", 0.5, (1.0, 1e4)),
    ("contrast 1e6", 0.5, (1.0, 1e6)),
    ("voids 0.3", 0.3, (1.0, 0.0)),
    ("voids 0.5", 0.5, (1.0, 0.0)),
]


def run_case(
    name: str,
    phases: np.ndarray,
    conductivities: tuple,
    fft: float,
    repeats: int,
    bc: str,
    table,
    record,
) -> None:
    """Solve `phases` with both preconditioners and print two rows.

    The two alternate `repeats` times and each keeps its best time, so that a
    burst of load from other processes does not decide the ratio.
    """
    size = "x".join(map(str, phases.shape))
    k = np.array(conductivities)[phases]
    voids = not bool(np.all(k > 0.0))
    names = ("fft", "multigrid")
    totals = dict.fromkeys(names, np.inf)
    results = {}
    for _ in range(repeats):
        for preconditioner in names:
            start = time.perf_counter()
            result = apparent_conductivity(
                phases,
                list(conductivities),
                bc=bc,
                tol=TOL,
                maxiter=MAXITER,
                preconditioner=preconditioner,
            )
            results[preconditioner] = result.tensor, result.iterations
            totals[preconditioner] = min(totals[preconditioner], time.perf_counter() - start)
    # One hierarchy per solve, but one per load case under mixed conditions.
    hierarchies = phases.ndim if bc == "mixed" else 1
    kinds = _kinds(bc, phases.ndim, 0)
    setup = best_time(lambda: multigrid(k, 1.0, kinds, voids=voids), repeats)[0]
    setups = {"fft": 0.0, "multigrid": hierarchies * setup}
    reference = results["fft"][0][0, 0]
    for preconditioner in names:
        tensor, iterations = results[preconditioner]
        total, setup = totals[preconditioner], setups[preconditioner]
        per_iteration = max(total - setup, 0.0) / max(sum(iterations), 1)
        agreement = ""
        if preconditioner == "multigrid" and reference == 0.0:  # no flux (static, voids)
            agreement = "both 0" if tensor[0, 0] == 0.0 else f"{tensor[0, 0]:.1e} vs 0"
        elif preconditioner == "multigrid":
            difference = abs(tensor[0, 0] - reference) / abs(reference)
            agreement = f"{difference:.1e} {'<=' if difference <= TOL else '>'} tol"
        print(
            f"{name:>13} {size:>11} {preconditioner:>9} {','.join(map(str, iterations)):>10} "
            f"{setup:>9.2f} {total:>9.2f} {per_iteration / fft:>13.1f} "
            f"{total / totals['fft']:>8.2f} {tensor[0, 0]:>12.6g} {agreement:>16}",
            flush=True,
        )
        if preconditioner == "multigrid" and name == STANDARD[0]:
            record.headline(
                f"{bc} Q1 conductivity at {size} (contrast 100): multigrid "
                f"{max(iterations)} iterations per load case against "
                f"{max(results['fft'][1])} for the FFT preconditioner, "
                f"{total / totals['fft']:.2f}× its time"
            )
        table.add(
            name,
            size,
            preconditioner,
            ",".join(map(str, iterations)),
            setup,
            total,
            per_iteration / fft,
            total / totals["fft"],
            float(tensor[0, 0]),
            agreement,
        )


def main(sizes: list[int], bc: str, ndim: int) -> None:
    """Every case of the module docstring at `sizes` (edges of `ndim`-D images) under `bc`."""
    for shape in ((8, 8, 8), (16, 16)):
        small = np.indices(shape).sum(axis=0) % 2
        small[(0,) * len(shape)] = 2  # one void voxel
        for preconditioner in ("fft", "multigrid"):  # compile (or load from the cache) first
            apparent_conductivity(
                small, [1.0, 2.0, 0.0], bc=bc, tol=TOL, preconditioner=preconditioner
            )
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} (2 cores)")
    print(
        f"{bc} Q1, tol={TOL:g}, {ndim} load cases; 'iter/FFT': solve time per CG iteration "
        "(setup excluded) over one numpy rfftn+irfftn pair (float64, same size); "
        "'/ fft': total time over the FFT-preconditioned total"
    )
    print(
        f"{'case':>13} {'size':>11} {'precond':>9} {'iterations':>10} {'setup [s]':>9} "
        f"{'total [s]':>9} {'iter/FFT':>13} {'/ fft':>8} {'K_00':>12} {'|dK_00|/K_00':>16}"
    )
    variant = "" if (bc, ndim) == ("periodic", 3) else f"-{bc}" + ("-2d" if ndim == 2 else "")
    record = Record(f"preconditioners{variant}")
    table = record.table(
        f"FFT reference medium against multigrid, {bc} Q1 conductivity, {ndim}-D, tol {TOL:g}",
        [
            "case",
            "size",
            "preconditioner",
            "iterations",
            "setup [s]",
            "total [s]",
            "iteration / FFT pair",
            "time / FFT time",
            "K_00",
            "|dK_00| / K_00",
        ],
        "iteration / FFT pair: solve time per CG iteration (setup excluded) over one numpy "
        "rfftn + irfftn pair of float64 of the same size, timed in the same run; "
        "time / FFT time: total time over the FFT-preconditioned total.",
    )
    for size in sizes:
        shape = (size,) * ndim
        fft = fft_pair_time(shape, 3)
        print(f"--- {size}^{ndim}: FFT pair {1e3 * fft:.2f} ms")
        field = gaussian_field(shape, Gaussian(8.0), rng=size)
        voxels = size**ndim
        for name, phi, conductivities in [STANDARD] + (HARD if voxels <= 128**3 else []):
            phases = level_cut(field, phi)
            repeats = 3 if voxels < 128**3 else (2 if voxels == 128**3 else 1)
            run_case(name, phases, conductivities, fft, repeats, bc, table, record)
    record.write()


if __name__ == "__main__":
    parser = arguments(__doc__)
    parser.add_argument("--bc", choices=CONDUCTIVITY_BCS, default="periodic")
    parser.add_argument("--2d", dest="two_d", action="store_true", help="square images")
    parser.add_argument("--size", type=int, help="this edge only")
    parser.add_argument("--quick", action="store_true", help="the two smallest sizes")
    parser.add_argument("--large", action="store_true", help="add 256^3 (3-D)")
    options = parser.parse_args()
    ndim = 2 if options.two_d else 3
    if options.size is not None:
        sizes = [options.size]
    elif ndim == 2:
        sizes = [128, 256] if options.quick else [128, 256, 512, 1024]
    else:
        sizes = [32, 64] if options.quick else [32, 64, 128]
        sizes += [256] if options.large else []
    main(sizes, options.bc, ndim)
