"""Iteration counts of the preconditioners on box voxels against cubic ones.

Run as ``.venv/bin/python benchmarks/bench_spacing.py`` (``--size N``: cubes
of N voxels per side, 64 by default; ``--stretch S``: voxels ``(1, 1, S)``,
3 by default; ``--elasticity``: ``apparent_stiffness`` instead, the
correlation length 3 voxels, Young's moduli 1 and 10). It never asserts a
time.

Medium: one 3-D level cut (phase 1 at phi = 0.5) of a Gaussian field with a
Gaussian covariance of correlation length 4 voxels, contrast 10 (phases 1
and 10), the same voxel image solved with the spacing ``(1, 1, 1)`` and
``(1, 1, S)``. Per boundary condition, discretization and preconditioner,
tol = 1e-6: the iterations of the three load cases at both spacings and
the ratio of their largest counts (the issue asks for at most 1.5).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Runs from a checkout without installing the package: the repository root goes first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _record import Record, arguments  # noqa: E402

from generators import Gaussian, gaussian_field, level_cut  # noqa: E402
from sve.solvers import apparent_conductivity, apparent_stiffness  # noqa: E402
from sve.solvers.moduli import isotropic  # noqa: E402

TOL = 1e-6
CASES = [
    (bc, discretization, preconditioner)
    for discretization in ("q1", "fv")
    for bc in ("kinematic", "periodic", "static", "mixed")
    for preconditioner in ("fft", "multigrid")
    if not (discretization == "fv" and bc == "static")
    and not (discretization == "fv" and bc == "periodic" and preconditioner == "multigrid")
]


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--stretch", type=float, default=3.0)
    parser.add_argument("--elasticity", action="store_true")
    args = parser.parse_args()
    shape = (args.size,) * 3
    if args.elasticity:
        elasticity(shape, args.stretch)
        return
    phases = level_cut(gaussian_field(shape, Gaussian(4.0), rng=0), 0.5)
    print(f"level cut {shape}, Gaussian covariance of length 4 voxels, contrast 10, tol {TOL:g}")
    print(f"{'bc':10s} {'disc':4s} {'precond':9s} {'cubic':>16s} {'(1,1,S)':>16s} ratio")
    record = Record("spacing")
    table = record.table(
        f"Conductivity on box voxels (1, 1, {args.stretch:g}) against cubic ones, {shape[0]}^3",
        ["bc", "discretization", "preconditioner", "cubic", "box", "ratio"],
        "Iterations of the three load cases, tol 1e-6; ratio: largest box count over largest "
        "cubic count. One level cut (phi = 0.5, Gaussian covariance of length 4 voxels, "
        "contrast 10).",
    )
    ratios = []
    for bc, discretization, preconditioner in CASES:
        counts = []
        for spacing in ((1.0, 1.0, 1.0), (1.0, 1.0, args.stretch)):
            result = apparent_conductivity(
                phases,
                [1.0, 10.0],
                bc=bc,
                spacing=spacing,
                tol=TOL,
                maxiter=5000,
                discretization=discretization,
                preconditioner=preconditioner,
            )
            counts.append(result.iterations)
        ratio = max(counts[1]) / max(counts[0])
        print(
            f"{bc:10s} {discretization:4s} {preconditioner:9s} {counts[0]!s:>16s} "
            f"{counts[1]!s:>16s} {ratio:.2f}",
            flush=True,
        )
        table.add(
            bc,
            discretization,
            preconditioner,
            ",".join(map(str, counts[0])),
            ",".join(map(str, counts[1])),
            ratio,
        )
        ratios.append(ratio)
    record.headline(
        f"box voxels (1, 1, {args.stretch:g}) at {shape[0]}³: {min(ratios):.2f} to "
        f"{max(ratios):.2f} times the iterations of cubic ones"
    )
    record.write()


def elasticity(shape: tuple[int, ...], stretch: float) -> None:
    """The counts of ``apparent_stiffness`` under the four conditions."""
    phases = level_cut(gaussian_field(shape, Gaussian(3.0), rng=0), 0.5)
    stack = [isotropic(3, E=1.0, nu=0.3), isotropic(3, E=10.0, nu=0.2)]
    print(f"level cut {shape}, Gaussian covariance of length 3 voxels, E 1 and 10, tol {TOL:g}")
    print(f"{'bc':10s} {'cubic':>24s} {'(1,1,S)':>24s} ratio")
    record = Record("spacing-elasticity")
    table = record.table(
        f"Elasticity on box voxels (1, 1, {stretch:g}) against cubic ones, {shape[0]}^3",
        ["bc", "cubic", "box", "ratio"],
        "Iterations of the load cases, tol 1e-6; one level cut (phi = 0.5, Gaussian "
        "covariance of length 3 voxels, E = 1 and 10).",
    )
    for bc in ("kinematic", "periodic", "static", "mixed"):
        counts = [
            apparent_stiffness(phases, stack, bc=bc, spacing=spacing, tol=TOL).iterations
            for spacing in ((1.0, 1.0, 1.0), (1.0, 1.0, stretch))
        ]
        ratio = max(counts[1]) / max(counts[0])
        print(f"{bc:10s} {counts[0]!s:>24s} {counts[1]!s:>24s} {ratio:.2f}", flush=True)
        table.add(bc, ",".join(map(str, counts[0])), ",".join(map(str, counts[1])), ratio)
    record.write()


if __name__ == "__main__":
    main()
