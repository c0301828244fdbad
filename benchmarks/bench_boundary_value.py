"""Iteration counts of the boundary-value solver (`solve_conductivity_bvp`).

Run as ``.venv/bin/python benchmarks/bench_boundary_value.py`` (``--quick``: the
2-D grids and 32**3 only). It never asserts a time.

Medium: a level cut at the median (phi = 0.5) of white noise smoothed by a
Gaussian filter of width 2 voxels (periodic), on the unit square or cube, phases
of conductivity 1 and 10, or 1 and 1000. Three problems: u = 0 on xmin and 1 on
xmax (insulated sides); u = 0 on xmin and a unit source (one Dirichlet face: the
constants are no longer a null space of the operator); affine data u = x - y / 2
on the whole boundary. tol = 1e-8; per preconditioner the iterations and the
wall time of the whole call (assembly and fields included).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import scipy.ndimage

# Runs from a checkout without installing the package: the repository root goes first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _record import Record, arguments  # noqa: E402

from sve.solvers import solve_conductivity_bvp  # noqa: E402

TOL = 1e-8
PROBLEMS = {
    "two faces": dict(dirichlet={"xmin": 0.0, "xmax": 1.0}),
    "one face + source": dict(dirichlet={"xmin": 0.0}, source=1.0),
    "affine boundary": dict(dirichlet={"boundary": lambda *x: x[0] - 0.5 * x[1]}),
}


def medium(shape: tuple[int, ...], seed: int = 1) -> np.ndarray:
    """Two phases, 50 % each: the median cut of smoothed white noise."""
    rng = np.random.default_rng(seed)
    field = scipy.ndimage.gaussian_filter(rng.standard_normal(shape), 2.0, mode="wrap")
    return (field > np.median(field)).astype(np.int8)


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    shapes = [(64, 64), (128, 128), (256, 256), (512, 512), (32,) * 3]
    if not args.quick:
        shapes += [(64,) * 3, (128,) * 3]
    record = Record("boundary_value" + ("-quick" if args.quick else ""))
    table = record.table(
        "Boundary-value solver: iterations to tol 1e-8",
        ["grid", "problem", "contrast", "preconditioner", "iterations", "time (s)"],
        "Median cut of smoothed white noise (filter width 2 voxels), unit square or cube; "
        "'one face + source': u = 0 on xmin, unit source, the rest insulated. The "
        "transforms are left out at 128^3.",
    )
    for shape in shapes:
        phases = medium(shape)
        grid = "x".join(map(str, shape))
        for name, problem in PROBLEMS.items():
            for contrast in (10.0, 1000.0):
                for preconditioner in ("multigrid", "fft"):
                    if preconditioner == "fft" and shape == (128,) * 3:
                        continue
                    start = time.perf_counter()
                    result = solve_conductivity_bvp(
                        phases,
                        [1.0, contrast],
                        spacing=1.0 / shape[0],
                        tol=TOL,
                        maxiter=5000,
                        preconditioner=preconditioner,
                        on_failure="flag",
                        **problem,
                    )
                    elapsed = time.perf_counter() - start
                    print(
                        f"{grid:12s} {name:18s} {contrast:6g} {preconditioner:9s} "
                        f"{result.iterations:5d} {elapsed:7.2f}",
                        flush=True,
                    )
                    table.add(grid, name, contrast, preconditioner, result.iterations, elapsed)
    if not args.no_record:
        record.write()


if __name__ == "__main__":
    main()
