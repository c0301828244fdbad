"""The ``sve`` command line, one module per group of commands: studies (run, report,
status), generate, solve, bvp, measures of one image, calibrate, macro, limits (of
homogenization), lattices (cauchy-born) and time series (green-kubo, memory-kernel). A
new command is a module with a ``register(sub)`` function, listed in ``COMMANDS``;
``sve --help`` lists them all.
"""

from __future__ import annotations

import argparse
import sys

from sve.cli import (
    atoms,
    bvp,
    calibrate,
    fluctuations,
    generate,
    image,
    limits,
    macro,
    solve,
    study,
)

__all__ = ["main"]

#: The modules whose ``register`` adds commands, in the order ``sve --help`` lists them.
COMMANDS = (study, generate, solve, bvp, image, calibrate, macro, limits, atoms, fluctuations)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sve", description="Size-convergence studies of random microstructures."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sve`` console script; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, NotImplementedError, MemoryError) as err:  # named
        print(f"sve {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
