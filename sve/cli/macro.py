"""``sve macro``: a macro problem (homogenized, mesoscale random field or FE²) from a spec.

``sve run`` runs the same code (`_macro`) on a spec with a ``[macro]`` table
(or the flat layout): a study spec describes sizes x realizations of cell
problems written to a Zarr store of one schema, while a macro spec describes
one boundary-value problem whose results (energy, boundary fluxes, their
statistics over realizations) are a few numbers; the two share the
``[medium]`` table and the Dask options, and a spec that mixes them is refused.
"""

from __future__ import annotations

import argparse

import numpy as np

from sve.cli._common import _json_option, _print_json


def _macro(args: argparse.Namespace) -> int:
    from sve.multiscale import CellCache, run_macro

    client = "serial" if args.serial else args.scheduler
    cache = CellCache(args.cache) if args.cache else None
    out = run_macro(args.spec, client=client, workers=args.workers, cache=cache)
    if args.json:
        return _print_json(out)
    print(
        f"{out['physics']}, {out['model']}: {out['elements']} elements, "
        f"{out['gauss_points']} Gauss points"
    )
    for r, record in enumerate(out["realizations"]):
        fluxes = ", ".join(
            f"{name} {np.array2string(np.asarray(value), precision=6)}"
            for name, value in record["boundary_flux"].items()
        )
        print(
            f"  realization {r}: energy {record['energy']:.6g}; flux {fluxes}; "
            f"{record['cell_solves']} cell solves, {record['cache_hits']} cached; "
            f"{record['wall_time']:.2f} s"
        )
    for name, s in out.get("statistics", {}).items():
        print(
            f"  {name}: mean {s['mean']:.6g}, variance {s['variance']:.3g}, "
            f"{s['confidence']:.0%} interval [{s['low']:.6g}, {s['high']:.6g}] (n = {s['n']})"
        )
    return 0


def register(sub) -> None:
    """Add this module's commands to the ``sve`` subparsers `sub`."""
    macro = sub.add_parser(
        "macro",
        help="solve a macro problem (homogenized, mesoscale field or FE2) from a TOML spec",
    )
    macro.add_argument("spec", help="macro spec (TOML), see docs/guide/multiscale")
    macro.add_argument("--workers", type=int, help="local worker processes (default: all cores)")
    macro.add_argument(
        "--scheduler", help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786"
    )
    macro.add_argument(
        "--serial", action="store_true", help="solve the cell problems in this process, no Dask"
    )
    macro.add_argument("--cache", help="folder that keeps the cell results between runs")
    _json_option(macro)
    macro.set_defaults(func=_macro)
