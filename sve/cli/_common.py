"""Argument parsing shared by the commands: TOML values, number lists, phase mappings,
the options that read an image, and the ``--json`` output.
"""

from __future__ import annotations

import argparse
import json
import tomllib
from pathlib import Path


def _value(text: str):
    """A TOML value (number, boolean, quoted string) or, failing that, a bare string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _numbers(text: str, option: str, kind=float) -> tuple:
    """``"1,1,3"`` -> ``(1.0, 1.0, 3.0)``; a clear error naming `option` otherwise."""
    try:
        return tuple(kind(item) for item in text.split(","))
    except ValueError:
        raise ValueError(
            f"--{option} takes comma-separated {kind.__name__}s, got {text!r}"
        ) from None


def _mapping(text: str) -> dict[str, int]:
    """``"0=0,255=1"`` -> ``{"0": 0, "255": 1}`` (stored value -> phase label)."""
    mapping = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip().isdigit():
            raise ValueError(f"--mapping takes STORED=LABEL pairs, e.g. 0=0,255=1, got {text!r}")
        mapping[key.strip()] = int(value)
    return mapping


def _read_image(args: argparse.Namespace, min_phases: int = 2):
    """The image of a command's IMAGE argument and reading options, as a Microstructure."""
    from sve.images import read_image

    spacing = _numbers(args.spacing, "spacing")
    threshold = args.threshold
    if threshold is not None and threshold != "otsu":
        threshold = _numbers(threshold, "threshold")[0]
    return read_image(
        Path(args.image),
        format=args.format,
        dataset=args.dataset,
        shape=None if args.shape is None else _numbers(args.shape, "shape", int),
        dtype=args.dtype,
        byte_order=args.byte_order,
        offset=args.offset,
        mapping=None if args.mapping is None else _mapping(args.mapping),
        threshold=threshold,
        spacing=spacing[0] if len(spacing) == 1 else spacing,
        unit=args.unit,
        min_phases=min_phases,
    )


def _image_options(parser: argparse.ArgumentParser) -> None:
    """The arguments that read a measured image (sve.images.read_image)."""
    parser.add_argument(
        "image",
        help="TIFF (stack), folder of TIFF/PNG slices, .npy, raw binary, Zarr or HDF5 file",
    )
    parser.add_argument(
        "--spacing", default="1", help="voxel edge, one number or one per axis: 1 or 1,1,3"
    )
    parser.add_argument("--unit", default="voxel", help="unit of --spacing: nm, um, mm, ...")
    parser.add_argument("--mapping", help="stored value -> phase label, e.g. 0=0,255=1")
    parser.add_argument("--threshold", help="grey image: a number, or otsu (above: phase 1)")
    parser.add_argument("--format", help="tiff, slices, npy, raw, zarr or hdf5 (default: suffix)")
    parser.add_argument("--dataset", help="array inside a Zarr group or an HDF5 file")
    parser.add_argument("--shape", help="raw files: voxels per axis, e.g. 500,500,500")
    parser.add_argument("--dtype", help="raw files: uint8, uint16, float32, ...")
    parser.add_argument("--byte-order", default="little", help="raw files: little or big")
    parser.add_argument("--offset", type=int, default=0, help="raw files: header bytes")


def _json_option(parser: argparse.ArgumentParser, what: str = "results") -> None:
    """The ``--json`` flag: print the `what` as JSON instead of the text report."""
    parser.add_argument("--json", action="store_true", help=f"print the {what} as JSON")


def _print_json(record) -> int:
    """Print `record` as indented JSON; the command's exit status (0)."""
    print(json.dumps(record, indent=2))
    return 0
