"""``sve bvp``: a steady conductivity boundary-value problem on the voxels of one image."""

from __future__ import annotations

import argparse
import json

import numpy as np

from sve.cli._common import _image_options, _read_image, _value


def _faces(items: list[str] | None, option: str) -> dict[str, float]:
    """``["xmin=0", "xmax=1"]`` -> ``{"xmin": 0.0, "xmax": 1.0}`` (constant data per face)."""
    faces = {}
    for item in items or []:
        face, sep, value = item.partition("=")
        number = _value(value.strip()) if sep else None
        if not face.strip() or not isinstance(number, int | float) or isinstance(number, bool):
            raise ValueError(
                f"--{option} takes FACE=NUMBER, e.g. xmin=0 (faces xmin, xmax, ymin, ymax, "
                f"zmin, zmax, or boundary), got {item!r}"
            )
        faces[face.strip()] = float(number)
    return faces


def _bvp(args: argparse.Namespace) -> int:
    from sve.solvers import solve_conductivity_bvp

    phases = _read_image(args, min_phases=1)
    values = [_value(v) for v in args.conductivity.split(",")]
    result = solve_conductivity_bvp(
        phases,
        values,
        dirichlet=_faces(args.dirichlet, "dirichlet") or None,
        flux=_faces(args.flux, "flux") or None,
        source=args.source,
        tol=args.tol,
        maxiter=args.maxiter,
        preconditioner=args.preconditioner,
        on_failure="flag",
        memory_limit=args.memory_limit,
    )
    record = {
        "energy": result.energy,
        "face_flux": result.face_flux,
        "source_total": result.source_total,
        "boundary_work": result.boundary_work,
        "source_work": result.source_work,
        "iterations": result.iterations,
        "residual": result.residual,
        "converged": result.converged,
        "preconditioner": result.preconditioner,
        "wall_time_s": result.wall_time,
        "notes": list(result.notes),
    }
    if args.fields:
        np.savez_compressed(
            args.fields,
            potential=result.potential,
            gradient=result.gradient,
            flux=result.flux,
            spacing=np.array(result.spacing),
        )
        record["fields"] = str(args.fields)
    if args.json:
        print(json.dumps(record, indent=2))
    else:
        print(
            f"energy {result.energy:.6g}; {result.iterations} iterations ({result.preconditioner}"
            f" preconditioner), residual {result.residual:.2e}, converged {result.converged}"
        )
        for face, value in result.face_flux.items():
            print(f"  flux through {face}: {value:.6g}")
        if args.fields:
            print(f"potential, gradient and flux written to {args.fields}")
    return 0 if result.converged else 1


def register(sub) -> None:
    """Add this module's commands to the ``sve`` subparsers `sub`."""
    bvp = sub.add_parser(
        "bvp",
        help="steady conduction through the voxels of one image: potential on some faces, "
        "fluxes on others, a source",
    )
    _image_options(bvp)
    bvp.add_argument(
        "--conductivity", required=True, help="comma-separated value per phase label, 0 a hole"
    )
    bvp.add_argument(
        "--dirichlet",
        action="append",
        metavar="FACE=VALUE",
        help="prescribed potential on a face (xmin, xmax, ymin, ymax, zmin, zmax, boundary); "
        "repeat for several",
    )
    bvp.add_argument(
        "--flux",
        action="append",
        metavar="FACE=VALUE",
        help="prescribed normal flux n . K grad u on a face (outward n); other faces are "
        "insulated",
    )
    bvp.add_argument("--source", type=float, help="uniform volumetric source")
    bvp.add_argument("--tol", type=float, default=1e-8, help="CG relative residual")
    bvp.add_argument("--maxiter", type=int, default=2000, help="largest number of iterations")
    bvp.add_argument("--preconditioner", default="auto", help="auto, multigrid or fft")
    bvp.add_argument("--memory-limit", help="refuse a solve whose estimated peak exceeds this")
    bvp.add_argument(
        "--fields", metavar="OUT.npz", help="write potential, gradient and flux to this file"
    )
    bvp.add_argument("--json", action="store_true", help="print the results as JSON")
    bvp.set_defaults(func=_bvp)
