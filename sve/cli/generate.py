"""``sve generate``: one periodic SVE drawn by a generator, written as .npy."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from sve.cli._common import _value


def _generate(args: argparse.Namespace) -> int:
    from sve.study.media import ALTERNATIVES, POLYCRYSTAL, draw_medium, validate_medium
    from sve.study.spec import SpecError, _positive

    table = {"generator": args.generator, "ndim": args.ndim}
    if args.volume_fraction is not None:
        table["volume_fraction"] = args.volume_fraction
    if args.intensity is not None:
        table["intensity"] = args.intensity
    for item in args.set or []:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set takes KEY=VALUE, got {item!r}")
        table[key.strip()] = _value(text.strip())
    pair = ALTERNATIVES.get(args.generator, ("volume_fraction", None))
    if (
        args.generator != POLYCRYSTAL  # grains of one crystal: no phases
        and "volume_fraction" not in table
        and not (pair[0] == "volume_fraction" and pair[1] in table)
    ):
        table["volume_fraction"] = 0.5

    def fail(message: str):
        raise SpecError(message.replace("medium.", "")) from None

    medium = validate_medium(table, _positive, fail)
    if args.size < 2:
        raise ValueError(f"--size must be >= 2 voxels, got {args.size}")
    phases = draw_medium(medium, args.size, args.spacing, np.random.default_rng(args.seed))
    out = Path(args.out)
    if out.suffix != ".npy":
        raise ValueError(f"--out must end in .npy, got {str(out)!r}")
    np.save(out, phases)
    if args.generator == POLYCRYSTAL:
        grains = np.count_nonzero(np.bincount(phases.ravel()))
        print(f"{out}: {phases.shape} int32 grain ids, {grains} grains")
    else:
        print(f"{out}: {phases.shape} int8, phase-1 fraction {phases.mean():.4f}")
    return 0


def register(sub) -> None:
    """Add this module's commands to the ``sve`` subparsers `sub`."""
    gen = sub.add_parser(
        "generate", help="draw one periodic SVE (phases, or grain ids of a polycrystal) as .npy"
    )
    gen.add_argument("generator", help="gaussian_level_cut, boolean_spheres, rsa_spheres, ...")
    gen.add_argument("--ndim", type=int, default=2, help="2 or 3 (default 2)")
    gen.add_argument("--size", type=int, required=True, help="edge length in voxels")
    gen.add_argument(
        "--volume-fraction",
        type=float,
        help="of phase 1 (default 0.5; boolean_spheres: or give --intensity)",
    )
    gen.add_argument(
        "--intensity",
        type=float,
        help="germs per unit volume (physical units): instead of cell_size for "
        "voronoi_mosaic and voronoi_polycrystal, of --volume-fraction for boolean_spheres",
    )
    gen.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="generator parameter, e.g. correlation_length=4 covariance=gaussian radius=3",
    )
    gen.add_argument("--spacing", type=float, default=1.0, help="voxel edge (physical units)")
    gen.add_argument("--seed", type=int, default=None, help="seed (default: fresh entropy)")
    gen.add_argument("--out", required=True, help="output file (.npy, int8 labels)")
    gen.set_defaults(func=_generate)
