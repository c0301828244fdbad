"""``sve solve``: apparent conductivity, stiffness or permeability of one image."""

from __future__ import annotations

import argparse
import json

import numpy as np

from sve.cli._common import _image_options, _read_image, _value


def _moduli(text: str) -> dict[str, float]:
    """``"E=10,nu=0.3"`` -> ``{"E": 10.0, "nu": 0.3}`` (the keys apparent_stiffness takes)."""
    moduli = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        number = _value(value.strip()) if sep else None
        if not key.strip() or not isinstance(number, int | float) or isinstance(number, bool):
            raise ValueError(
                f"--stiffness takes moduli as KEY=NUMBER pairs, e.g. E=10,nu=0.3 or K=5,G=2, "
                f"got {text!r}"
            )
        moduli[key.strip()] = float(number)
    return moduli


def _solve(args: argparse.Namespace) -> int:
    from sve.solvers import apparent_conductivity, apparent_permeability, apparent_stiffness

    given = [args.conductivity is not None, args.stiffness is not None, args.permeability]
    if sum(given) != 1:
        raise ValueError(
            "give one of --conductivity (one value per phase), --stiffness (once per "
            "phase) or --permeability (with --pore-label), not both or neither"
        )
    phases = _read_image(args, min_phases=1)  # a homogeneous image checks a solver
    if args.permeability:
        name = "permeability (length^2, superficial velocity)"

        def solve(bc):
            return apparent_permeability(
                phases, pore_label=args.pore_label, bc=bc, tol=args.tol,
                viscosity=args.viscosity, walls=args.walls, on_failure="flag",
                memory_limit=args.memory_limit,
            )  # fmt: skip
    elif args.conductivity is not None:
        values = [_value(v) for v in args.conductivity.split(",")]
        name = "conductivity"

        def solve(bc):
            return apparent_conductivity(
                phases, values, bc=bc, tol=args.tol, memory_limit=args.memory_limit,
                discretization=args.discretization, on_failure="flag",
                preconditioner=args.preconditioner, stop=args.stop,
            )  # fmt: skip
    else:
        for option, value, default in (
            ("discretization", args.discretization, "q1"),
            ("preconditioner", args.preconditioner, "auto"),
            ("stop", args.stop, "residual"),
        ):
            if value != default:
                raise ValueError(f"--{option} for --stiffness must be {default}, got {value!r}")
        materials = [_moduli(text) for text in args.stiffness]
        name = "stiffness (Mandel notation)"

        def solve(bc):
            return apparent_stiffness(
                phases,
                materials,
                bc=bc,
                tol=args.tol,
                on_failure="flag",
                memory_limit=args.memory_limit,
            )

    records = []
    for bc in args.bc or ["periodic"]:
        result = solve(bc)
        records.append(
            {
                "bc": result.bc,
                "property": name,
                "discretization": result.discretization,
                "tensor": [[None if np.isnan(v) else v for v in row] for row in result.tensor],
                "iterations": list(result.iterations),
                "residual": result.residual,
                "converged": result.converged,
                "hill_mandel_defect": result.hill_mandel_defect,
                "wall_time_s": result.wall_time,
                "notes": list(getattr(result, "notes", ())),
            }
        )
        if args.conductivity is not None:
            accuracy = result.tensor_accuracy
            records[-1].update(
                preconditioner=result.preconditioner,
                stop=result.stop,
                tensor_accuracy=None if np.isnan(accuracy) else accuracy,
            )
        if not args.json:
            how = result.discretization
            if args.conductivity is not None:  # which preconditioner "auto" took
                how += f", {result.preconditioner} preconditioner"
            print(f"{result.bc} ({how}): apparent {name}")
            print(np.array2string(result.tensor, precision=6, suppress_small=True))
            print(
                f"  iterations {list(result.iterations)}, residual {result.residual:.2e}, "
                f"converged {result.converged}, Hill-Mandel defect "
                f"{result.hill_mandel_defect:.1e}, {result.wall_time:.2f} s"
            )
            if records[-1].get("stop") == "tensor":
                print(f"  estimated tensor accuracy {result.tensor_accuracy:.1e} (relative)")
    if args.json:
        print(json.dumps(records, indent=2))
    return 0 if all(r["converged"] for r in records) else 1


def register(sub) -> None:
    """Add this module's commands to the ``sve`` subparsers `sub`."""
    solve = sub.add_parser(
        "solve",
        help="apparent conductivity, stiffness or permeability of one image (.npy, .tif, ...)",
    )
    _image_options(solve)
    solve.add_argument("--conductivity", help="comma-separated value per phase label, e.g. 1,10")
    solve.add_argument(
        "--stiffness",
        action="append",
        metavar="MODULI",
        help="isotropic moduli of one phase label, repeated in label order: E=1,nu=0.3 or "
        "K=..,G=.. or lam=..,mu=.. (2-D images: plane strain)",
    )
    solve.add_argument(
        "--bc",
        action="append",
        help="kinematic, periodic, static or mixed (repeat for several; default periodic)",
    )
    solve.add_argument("--discretization", default="q1", help="q1 (default) or fv")
    solve.add_argument(
        "--tol",
        type=float,
        default=1e-6,
        help="CG relative residual, or with --stop tensor the relative accuracy of the tensor",
    )
    solve.add_argument(
        "--preconditioner",
        default="auto",
        help="auto (default: the faster per case), fft, or multigrid (q1 with scalar "
        "conductivities; kinematic and mixed fv)",
    )
    solve.add_argument(
        "--stop",
        default="residual",
        help="residual (default) or tensor: stop on the estimated accuracy of the tensor",
    )
    solve.add_argument(
        "--memory-limit",
        help="refuse a solve whose estimated peak exceeds this, e.g. 8GB (default: the "
        "machine's available memory)",
    )
    solve.add_argument(
        "--permeability",
        action="store_true",
        help="apparent permeability (Stokes flow) of the pore phase named by --pore-label",
    )
    solve.add_argument("--pore-label", type=int, help="label of the pore phase (--permeability)")
    solve.add_argument(
        "--viscosity", type=float, default=1.0, help="fluid viscosity (--permeability)"
    )
    solve.add_argument(
        "--walls",
        default="no-slip",
        help="side walls under --bc mixed with --permeability: no-slip (default) or free-slip",
    )
    solve.add_argument("--json", action="store_true", help="print the results as JSON")
    solve.set_defaults(func=_solve)
