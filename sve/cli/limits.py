"""``sve limits``: the limits-of-homogenization study and its report.

Runs `periodic_limits` (``--kind periodic``, the default), `elastic_limits`
(``elastic``) or `random_limits` (``random``) over the scale ratios of
``--eps``, optionally `hole_concentration` (``--hole``), and writes the report
of `sve.multiscale.limits_report.write_limits_report` to ``--out``.

``--eps`` takes scale ratios as integers ``n`` (meaning ``1/n``), fractions
``1/n`` or decimals: ``--eps 4 8 16`` and ``--eps 1/4 0.125 1/16`` are the same.
"""

from __future__ import annotations

import argparse
import math
from fractions import Fraction
from pathlib import Path

from sve._validation import check_integer, check_positive, check_real
from sve.cli._common import _json_option, _print_json

#: The scale ratios of each kind when ``--eps`` is not given.
DEFAULT_EPS = {"periodic": (4, 8, 16), "elastic": (4, 8, 16), "random": (8, 16, 32)}
#: Voxels per cell (periodic, elastic) or per correlation length (random) by default.
DEFAULT_CELL_VOXELS = {"periodic": 8, "elastic": 8, "random": 8}


def _eps(text: str) -> float:
    """``"8"`` -> 1/8, ``"1/8"`` -> 1/8, ``"0.125"`` -> 0.125; an error naming --eps."""
    try:
        if "/" in text:
            value = Fraction(text)
        elif text.strip().lstrip("+").isdigit():
            value = Fraction(1, int(text))
        else:
            value = Fraction(float(text))
    except (ValueError, ZeroDivisionError, OverflowError):
        raise argparse.ArgumentTypeError(
            f"takes integers n (for 1/n), fractions 1/n or decimals in (0, 1], got {text!r}"
        ) from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"takes values in (0, 1] (n >= 1), got {text!r}")
    return float(value)


def _argument(convert, check, *limits):
    """An argparse type: `convert` the text, then check it with the project's `check`.

    `check` is one of `sve._validation`'s; argparse names the option in the error.
    """

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            kind = "an integer" if convert is int else "a number"
            raise argparse.ArgumentTypeError(f"takes {kind}, got {text!r}") from None
        try:
            return check(value, "the value", *limits)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    return parse


def _checked_eps(eps: list[float], kind: str, cell_voxels: int) -> tuple[float, ...]:
    """The cross-option checks: 1/eps integers (periodic), cell_voxels / eps (random)."""
    for value in eps:
        count = 1.0 / value
        if kind == "random":
            sizes = cell_voxels * count
            if abs(sizes - round(sizes)) > 1e-9:
                raise ValueError(
                    f"--cell-voxels / --eps must be an integer (voxels of the part), got "
                    f"{cell_voxels} / {value:g}"
                )
        elif abs(count - round(count)) > 1e-9:
            raise ValueError(f"--eps takes values 1/n with n a positive integer, got {value:g}")
    if len(set(eps)) != len(eps):
        raise ValueError(f"--eps takes distinct values, got {[f'{v:g}' for v in eps]}")
    return tuple(sorted(eps, reverse=True))


def _limits(args: argparse.Namespace) -> int:
    from sve.multiscale.limits import (
        elastic_limits,
        hole_concentration,
        periodic_limits,
        random_limits,
    )
    from sve.multiscale.limits_report import write_limits_report

    kind = args.kind
    cell_voxels = DEFAULT_CELL_VOXELS[kind] if args.cell_voxels is None else args.cell_voxels
    if kind != "random" and cell_voxels % 2:
        raise ValueError(f"--cell-voxels must be even for --kind {kind}, got {cell_voxels}")
    if kind != "random" and cell_voxels < 4:
        raise ValueError(f"--cell-voxels must be >= 4 for --kind {kind}, got {cell_voxels}")
    if kind == "random" and cell_voxels < 2:
        raise ValueError(f"--cell-voxels must be >= 2 for --kind random, got {cell_voxels}")
    if kind != "random" and (args.realizations is not None or args.seed is not None):
        raise ValueError(f"--realizations and --seed apply to --kind random, not {kind}")
    if args.hole and kind != "periodic":
        raise ValueError(f"--hole applies to --kind periodic, not {kind}")
    if args.ndim == 3 and (kind != "periodic" or args.hole):
        raise ValueError("--ndim 3 applies to --kind periodic without --hole")
    material = {}
    if args.volume_fraction is not None:
        material["volume_fraction"] = args.volume_fraction
    if args.contrast is not None and kind == "elastic":
        material["moduli"] = ({"E": 1.0, "nu": 0.3}, {"E": args.contrast, "nu": 0.3})
    elif args.contrast is not None:
        material["conductivity"] = (1.0, args.contrast)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out must be a folder, {str(out)!r} is a file")
    eps = args.eps if args.eps is not None else [1.0 / n for n in DEFAULT_EPS[kind]]
    eps = _checked_eps(eps, kind, cell_voxels)
    periodic = random = hole = None
    if kind == "periodic":
        periodic = periodic_limits(eps, cell_voxels=cell_voxels, ndim=args.ndim, **material)
    elif kind == "elastic":
        periodic = elastic_limits(eps, cell_voxels=cell_voxels, **material)
    else:
        realizations = 4 if args.realizations is None else args.realizations
        random = random_limits(
            eps,
            voxels_per_length=cell_voxels,
            realizations=realizations,
            seed=0 if args.seed is None else args.seed,
            **material,
        )
    if args.hole:
        hole = hole_concentration(eps, cell_voxels=cell_voxels, **material)
    try:
        report = write_limits_report(out, periodic, random=random, hole=hole)
    except OSError as err:
        raise ValueError(f"--out {str(out)!r} cannot be written: {err}") from None
    if args.json:
        import json

        record = json.loads(report.numbers.read_text())
        record["files"] = {
            "report": str(report.markdown),
            "numbers": str(report.numbers),
            **{name: str(path) for name, path in report.figures.items()},
        }
        return _print_json(record)
    print(_summary(periodic, random, hole))
    print(report.answer)
    print(f"report written to {report.markdown} (figures and numbers.json beside it)")
    return 0


def _summary(periodic, random, hole) -> str:
    def fraction(value: float) -> str:
        count = 1.0 / value
        return f"1/{round(count)}" if math.isclose(count, round(count)) else f"{value:g}"

    lines = []
    if periodic is not None:
        lines.append("eps      L2(u0)     H1(u1)     H1(u1) interior")
        for j, value in enumerate(periodic.eps):
            lines.append(
                f"{fraction(value):<8} {periodic.l2_error[j]:<10.4g} "
                f"{periodic.h1_error[j]:<10.4g} {periodic.h1_error_interior[j]:.4g}"
            )
        lines.append(
            f"rates    {periodic.l2_slope:<10.2f} {periodic.h1_slope:<10.2f} "
            f"{periodic.h1_interior_slope:.2f}   (theory 1, 1/2, 1)"
        )
    if random is not None:
        lines.append("eps      L2(u0)     H1(u1)     H1(u1) interior   (means over realizations)")
        for j, value in enumerate(random.eps):
            lines.append(
                f"{fraction(value):<8} {random.l2_error[:, j].mean():<10.4g} "
                f"{random.h1_error[:, j].mean():<10.4g} "
                f"{random.h1_error_interior[:, j].mean():.4g}"
            )
        lines.append(
            f"rates    {random.l2_slope:<10.2f} {random.h1_slope:<10.2f} "
            f"{random.h1_interior_slope:.2f}   (theory, interior: {random.literature_slope:.2f})"
        )
    if hole is not None:
        lines.append("eps      total flux  homogenized  peak |q|  homogenized peak")
        for j, value in enumerate(hole.eps):
            lines.append(
                f"{fraction(value):<8} {hole.total_flux[j]:<11.4g} "
                f"{hole.total_flux_homogenized[j]:<12.4g} {hole.peak_flux[j]:<9.4g} "
                f"{hole.peak_flux_homogenized[j]:.4g}"
            )
    return "\n".join(lines)


def register(sub) -> None:
    """Add this module's commands to the ``sve`` subparsers `sub`."""
    limits = sub.add_parser(
        "limits",
        help="limits of homogenization: errors of the homogenized and corrector-rebuilt "
        "fields against the DNS over scale ratios, with a report",
    )
    limits.add_argument(
        "--kind",
        choices=("periodic", "elastic", "random"),
        default="periodic",
        help="periodic disks (conductivity), periodic disks (plane-strain elasticity) or a "
        "random level cut (default periodic)",
    )
    limits.add_argument(
        "--eps",
        nargs="+",
        type=_eps,
        metavar="EPS",
        help="scale ratios: n for 1/n, a fraction 1/n or a decimal (default 4 8 16; random "
        "8 16 32)",
    )
    limits.add_argument(
        "--cell-voxels",
        type=_argument(int, check_integer, 1),
        help="voxels per cell, even and >= 4 (periodic, elastic), or per correlation length, "
        ">= 2 (random); default 8",
    )
    limits.add_argument(
        "--ndim",
        type=int,
        choices=(2, 3),
        default=2,
        help="periodic: 2 (disks) or 3 (spheres in cubes) dimensions (default 2)",
    )
    limits.add_argument(
        "--volume-fraction",
        type=_argument(float, check_real, 0.0, 1.0),
        help="fraction of the inclusions (periodic, elastic; default 0.3) or of the phase 1 "
        "of the level cut (random; default 0.3)",
    )
    limits.add_argument(
        "--contrast",
        type=_argument(float, check_positive),
        help="conductivity (periodic, random) or Young's modulus (elastic, Poisson's ratio "
        "0.3 in both phases) of the inclusions over the matrix's (default 10)",
    )
    limits.add_argument(
        "--realizations",
        type=_argument(int, check_integer, 2),
        help="random: realizations per eps (default 4)",
    )
    limits.add_argument(
        "--seed", type=_argument(int, check_integer, 0), help="random: seed (default 0)"
    )
    limits.add_argument(
        "--hole",
        action="store_true",
        help="periodic: also the flux concentration at a hole of radius 0.2",
    )
    limits.add_argument(
        "--out", default="results/limits-report", help="report folder (default %(default)s)"
    )
    _json_option(limits, "numbers of the report")
    limits.set_defaults(func=_limits)
