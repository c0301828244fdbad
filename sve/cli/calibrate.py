"""``sve calibrate``: fit the generators to a measured image and write a study's medium."""

from __future__ import annotations

import argparse
from pathlib import Path

from sve.cli._common import _image_options, _json_option, _print_json, _read_image


def _calibrate(args: argparse.Namespace) -> int:
    from sve.statistics.calibration import DEFAULT_MODELS, calibrate

    image = _read_image(args)
    models = (
        DEFAULT_MODELS if args.models is None else tuple(m.strip() for m in args.models.split(","))
    )
    result = calibrate(
        image,
        phase=args.phase,
        models=models,
        max_lag=args.max_lag,
        isotropic={"auto": None, "yes": True, "no": False}[args.isotropic],
        periodic=args.periodic,
        n_bootstrap=args.bootstrap,
        seed=args.seed,
        confidence=args.confidence,
    )
    written = None
    if args.out is not None:
        text = result.to_medium_toml()  # an anisotropic fit says why it has no medium here
        Path(args.out).write_text(text)
        written = str(args.out)
    if args.json:
        return _print_json({"image": str(args.image), **result.to_dict(), "out": written})
    print(
        f"{args.image}: {image.shape} voxels of {image.spacing} {image.unit}, phase {args.phase}"
    )
    print(result.summary())
    if written:
        print(f"[medium] section written to {written}")
    return 0


def register(sub) -> None:
    """Add ``sve calibrate`` to the ``sve`` subparsers `sub`."""
    parser = sub.add_parser(
        "calibrate",
        help="fit level cuts and Boolean spheres to an image; write the [medium] of a study",
    )
    _image_options(parser)
    parser.add_argument("--out", metavar="MEDIUM.toml", help="write the [medium] section here")
    parser.add_argument("--phase", type=int, default=1, help="phase label fitted (default 1)")
    parser.add_argument(
        "--models",
        help="comma-separated: gaussian, exponential, matern, power_law, boolean (default: "
        "these), boolean_lognormal (on request: log-normal radii)",
    )
    parser.add_argument(
        "--bootstrap", type=int, default=20, help="bootstrap images, >= 20 (default 20)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default 0)")
    parser.add_argument(
        "--max-lag", type=float, help="longest lag of the fit, in the image's unit (default auto)"
    )
    parser.add_argument(
        "--isotropic",
        choices=("auto", "yes", "no"),
        default="auto",
        help="one correlation length (yes), one per axis (no), or decided by the fit (auto)",
    )
    parser.add_argument(
        "--periodic", action="store_true", help="the image is one period (a generated medium)"
    )
    parser.add_argument("--confidence", type=float, default=0.95, help="default 0.95")
    _json_option(parser, "result")
    parser.set_defaults(func=_calibrate)
