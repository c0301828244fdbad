"""FE² on Dask against the same cell problems solved in a plain loop.

Run: ``.venv/bin/python benchmarks/bench_fe2.py`` (``--shape 32 --sve 64 --workers 2``
by default: a 2-D macro mesh of 32 x 32 Q1 elements with four Gauss points each, one
64² SVE of a graded medium per point, 4096 cell solves). Prints, never asserts:

1. the plain loop: every Gauss point's cell problem drawn and solved in this process;
2. FE² through :func:`sve.multiscale.solve_macro` on a local cluster of ``--workers``
   processes (started and warmed before the clock; its start-up time is listed apart):
   wall time, cell solves per second, and the ratio to the loop;
3. the macro re-solve with the same :class:`~sve.multiscale.CellCache` (other boundary
   data): no cell solved again;
4. the fully resolved problem (DNS) of the same part on a ``--dns``² voxel grid (1024²
   by default): one graded level cut of the whole unit square, with the SVEs' correlation
   length in voxels (``sve / 16``) and the local volume fraction ``0.2 + 0.6 x0`` as a
   fixed threshold per column (the standard normal quantile of ``1 - phi(x0)``, the
   field having unit variance), the same Dirichlet data, solved by
   :func:`sve.solvers.solve_conductivity_bvp` (tol 1e-6): its wall time and its energy
   against the FE² energy (the separation of scales FE² assumes is ``sve / dns`` here).

The tangents of FE² and of the loop are compared bit for bit.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

import numpy as np
from distributed import Client, LocalCluster

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _record import Record, arguments  # noqa: E402

import generators  # noqa: E402
from sve.multiscale import CellCache, GaussPoint, SVECell, box_mesh, solve_macro  # noqa: E402


class Graded:
    """The SVE at x: a Gaussian level cut, volume fraction 0.2 at x0 = 0 to 0.8 at x0 = 1."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        field = generators.gaussian_field(
            (self.size, self.size), generators.Exponential(self.size / 16), rng=rng
        )
        return generators.level_cut(field, 0.2 + 0.6 * float(x[0]))


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--shape", type=int, default=32, help="macro elements per axis")
    parser.add_argument("--sve", type=int, default=64, help="SVE edge in voxels")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dns", type=int, default=1024, help="DNS edge in voxels (0: none)")
    args = parser.parse_args()

    mesh = box_mesh((args.shape, args.shape))
    cell = SVECell(Graded(args.sve), [1.0, 10.0], bc="periodic", seed=2026, tol=1e-6)
    data = {"xmin": 0.0, "xmax": 1.0}
    cell.tangent(cell.cell(GaussPoint(0, 0, np.zeros(2))), None)  # compile / load kernels

    # 1. The plain loop over the Gauss points of the same mesh.
    from skfem import Basis, ElementQuad1

    x = np.asarray(Basis(mesh, ElementQuad1(), intorder=3).global_coordinates())
    n_el, n_pts = x.shape[1], x.shape[2]
    t0 = time.perf_counter()
    loop = np.empty((n_el, n_pts, 2, 2))
    for e in range(n_el):
        for q in range(n_pts):
            problem = cell.cell(GaussPoint(e, q, x[:, e, q].copy()))
            tensor = problem.solve()
            loop[e, q] = 0.5 * (tensor + tensor.T)
    loop_time = time.perf_counter() - t0
    n_cells = n_el * n_pts

    # 2. FE2 on a local cluster (started and warmed first).
    t0 = time.perf_counter()
    with (
        LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        client.run(cell.tangent, cell.cell(GaussPoint(0, 0, np.zeros(2))), None)
        startup = time.perf_counter() - t0
        cache = CellCache()
        t0 = time.perf_counter()
        result = solve_macro(mesh, cell, dirichlet=data, client=client, cache=cache)
        fe2_time = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = solve_macro(mesh, cell, dirichlet={"ymin": 0.0, "ymax": 1.0}, client=client,
                            cache=cache)  # fmt: skip
        resolve_time = time.perf_counter() - t0
    identical = bool(np.array_equal(result.tangent, loop))

    # 4. The DNS of the same part: one graded level cut of the unit square.
    dns = None
    if args.dns:
        from scipy.special import ndtri

        from sve.solvers import solve_conductivity_bvp

        field = generators.gaussian_field(
            (args.dns, args.dns), generators.Exponential(args.sve / 16), rng=2026
        )
        x0 = (np.arange(args.dns) + 0.5) / args.dns
        phases = (field > ndtri(1.0 - (0.2 + 0.6 * x0))[:, None]).astype(np.int8)
        del field
        t0 = time.perf_counter()
        dns = solve_conductivity_bvp(
            phases, [1.0, 10.0], dirichlet=data, spacing=1.0 / args.dns, tol=1e-6
        )
        dns_time = time.perf_counter() - t0

    load = os.getloadavg()[0]
    record = Record("fe2")
    table = record.table(
        f"FE² of a {args.shape}x{args.shape} Q1 mesh, 4 Gauss points each, "
        f"{args.sve}² SVEs (graded Gaussian level cut, contrast 10, periodic cells)",
        ["run", "cell solves", "wall time [s]", "cell solves / s", "vs loop"],
        note=(
            f"{args.workers} worker processes, one thread each; cluster start-up and kernel "
            f"loading ({startup:.1f} s) not counted. Tangents of FE² and loop bit-identical: "
            f"{identical}. Load average at the end of the run: {load:.1f} (2-core machine "
            "shared with other jobs)."
        ),
    )
    table.add("plain loop, this process", n_cells, loop_time, n_cells / loop_time, 1.0)
    table.add(
        f"FE² on {args.workers} workers",
        result.cell_solves,
        fe2_time,
        result.cell_solves / fe2_time,
        loop_time / fe2_time,
    )
    table.add("macro re-solve, same cache", again.cell_solves, resolve_time, 0.0,
              loop_time / resolve_time)  # fmt: skip
    if dns is not None:
        gap = result.energy / dns.energy - 1.0
        dns_table = record.table(
            f"DNS of the same part on a {args.dns}² voxel grid against FE²",
            ["run", "voxels", "wall time [s]", "iterations", "energy", "FE² energy / DNS - 1"],
            note=(
                "One graded Gaussian level cut of the unit square (correlation length "
                f"{args.sve / 16:g} voxels, volume fraction 0.2 + 0.6 x0, seed 2026), the "
                "same Dirichlet data (u = 0 at x0 = 0, 1 at x0 = 1), tol 1e-6, in this "
                f"process. Load average {load:.1f}."
            ),
        )
        dns_table.add("DNS", args.dns**2, dns_time, dns.iterations, dns.energy, gap)
        dns_table.add("FE²", result.cell_solves, fe2_time, "", result.energy, 0.0)
        for row in dns_table.rows:
            print(" | ".join(str(c) for c in row))
    for row in table.rows:
        print(" | ".join(str(c) for c in row))
    print(f"bit-identical tangents: {identical}; start-up {startup:.1f} s; load {load:.1f}")
    record.headline(
        f"FE² {args.shape}² Q1 mesh x 4 points of {args.sve}² SVEs on {args.workers} workers: "
        f"{result.cell_solves / fe2_time:.0f} cell solves/s, "
        f"{loop_time / fe2_time:.2f}x a plain loop (load average {load:.1f})"
    )
    if dns is not None:
        record.headline(
            f"the {args.dns}² DNS of the same part in {dns_time:.1f} s "
            f"(FE² took {fe2_time / dns_time:.1f}x as long), energy within "
            f"{100 * abs(gap):.1f} % of FE²'s"
        )
    if not args.no_record:
        record.write()


if __name__ == "__main__":
    main()
