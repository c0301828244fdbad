"""``sve morphology`` and ``sve representativity``: measures of one image."""

from __future__ import annotations

import argparse
import json

import numpy as np

from sve.cli._common import _image_options, _read_image


def _morphology(args: argparse.Namespace) -> int:
    from sve.morphology import (
        chord_lengths,
        integral_range,
        percolates,
        radial_average,
        specific_surface,
        two_point_probability,
    )

    image = _read_image(args)
    phases = image.labels
    periodic = not args.window
    options = {"spacing": image.spacing, "periodic": periodic}
    inside = phases == args.phase
    if not inside.any() or inside.all():
        raise ValueError(f"--phase {args.phase} must be present and not fill the image")
    estimate = integral_range(phases, args.phase, **options)
    chords = [chord_lengths(phases, args.phase, axis=a, **options) for a in range(phases.ndim)]
    record = {
        "image": str(args.image),
        "shape": list(phases.shape),
        "phase": args.phase,
        "periodic": periodic,
        "volume_fraction": float(inside.mean()),
        "specific_surface_faces": specific_surface(phases, args.phase, method="faces", **options),
        "specific_surface": specific_surface(phases, args.phase, **options),
        "percolates": [bool(v) for v in percolates(phases, args.phase, periodic=periodic)],
        "mean_chord_length": [float(c.mean()) if c.size else None for c in chords],
        "integral_range": estimate.value,
        "integral_range_interval": [estimate.low, estimate.high],
        "integral_range_radius": estimate.radius,
    }
    if args.s2:
        radii, profile = radial_average(
            two_point_probability(phases, args.phase, periodic=periodic), spacing=image.spacing
        )
        np.savetxt(args.s2, np.column_stack([radii, profile]), delimiter=",",
                   header="r,S2", comments="")  # fmt: skip
        record["s2_file"] = str(args.s2)
    if args.json:
        print(json.dumps(record, indent=2))
        return 0
    d = phases.ndim
    print(f"{args.image}: {phases.shape}, phase {args.phase}, "
          f"{'periodic' if periodic else 'window (not periodic)'}")  # fmt: skip
    print(f"  volume fraction        {record['volume_fraction']:.6g}")
    print(f"  specific surface       {record['specific_surface']:.6g} (marching), "
          f"{record['specific_surface_faces']:.6g} (voxel faces) [1/length]")  # fmt: skip
    print(f"  percolates along axes  {record['percolates']}")
    print(f"  mean chord length      {record['mean_chord_length']} [length]")
    print(f"  integral range         {estimate.value:.6g} [length^{d}], 95 % interval "
          f"[{estimate.low:.6g}, {estimate.high:.6g}], radius {estimate.radius:g}")  # fmt: skip
    if args.s2:
        print(f"  radial S2 written to   {args.s2}")
    return 0


def _representativity(args: argparse.Namespace) -> int:
    from sve.statistics import image_representativity

    image = _read_image(args)
    result = image_representativity(
        image, target=args.target, confidence=args.confidence, periodic=args.periodic
    )
    rows = [
        {name: result[name].sel(phase=phase).item() for name in result.data_vars}
        | {"phase": int(phase)}
        for phase in result.phase.values
    ]
    if args.json:
        print(json.dumps({"image": str(args.image), "unit": image.unit, "phases": rows}, indent=2))
        return 0
    unit, d = image.unit, image.ndim
    print(f"{args.image}: {image.shape} voxels of {image.spacing} {unit}, "
          f"target {args.target:.1%} at {args.confidence:.0%} confidence")  # fmt: skip
    for row in rows:
        verdict = "representative" if row["representative"] else "not representative"
        print(
            f"  phase {row['phase']}: volume fraction {row['volume_fraction']:.4f} "
            f"+- {row['relative_error']:.1%} (relative), {verdict}; integral range "
            f"{row['integral_range']:.4g} {unit}^{d}; edge for the target "
            f"{row['rve_edge']:.4g} {unit} [{row['rve_edge_low']:.4g}, "
            f"{row['rve_edge_high']:.4g}]"
        )
    return 0


def register(sub) -> None:
    """Add this module's commands to the ``sve`` subparsers `sub`."""
    morph = sub.add_parser(
        "morphology", help="volume fraction, surface, percolation, chords, integral range, S2"
    )
    _image_options(morph)
    morph.add_argument("--phase", type=int, default=1, help="phase label measured (default 1)")
    morph.add_argument(
        "--window", action="store_true", help="the image is a window, not one period"
    )
    morph.add_argument("--s2", metavar="FILE.csv", help="write the radial S2(r) profile")
    morph.add_argument("--json", action="store_true", help="print the results as JSON")
    morph.set_defaults(func=_morphology)

    rep_image = sub.add_parser(
        "representativity",
        help="precision of each volume fraction at the image's size, and the edge for a target",
    )
    _image_options(rep_image)
    rep_image.add_argument(
        "--target", type=float, default=0.05, help="relative precision (default 0.05)"
    )
    rep_image.add_argument("--confidence", type=float, default=0.95, help="default 0.95")
    rep_image.add_argument(
        "--periodic", action="store_true", help="the image is one period (a generated medium)"
    )
    rep_image.add_argument("--json", action="store_true", help="print the results as JSON")
    rep_image.set_defaults(func=_representativity)
