"""``sve cauchy-born``: Cauchy–Born moduli and the phonon stability limit of a lattice."""

from __future__ import annotations

import argparse
import math

from sve.cli._common import _json_option, _print_json

#: Command-line options that set a potential parameter, by potential.
_PARAMETERS = {
    "lj": ("epsilon", "sigma", "cutoff"),
    "lennard-jones": ("epsilon", "sigma", "cutoff"),
    "morse": ("depth", "alpha", "r0", "cutoff"),
    "harmonic": ("stiffness", "r0", "cutoff"),
}


def _potential(args: argparse.Namespace):
    from sve.atoms import get_potential

    name = args.potential.lower()
    if name not in _PARAMETERS:
        raise ValueError(
            f"--potential must be one of {tuple(_PARAMETERS)}, got {args.potential!r}"
        )
    given = {
        key: getattr(args, key) for key in _PARAMETERS[name] if getattr(args, key) is not None
    }
    foreign = [
        f"--{key}"
        for key in ("epsilon", "sigma", "depth", "alpha", "r0", "stiffness", "cutoff")
        if getattr(args, key) is not None and key not in _PARAMETERS[name]
    ]
    if foreign:
        raise ValueError(f"{', '.join(foreign)} does not apply to --potential {name}")
    return get_potential(name, **given)


def _number(value: float):
    return value if math.isfinite(value) else str(value)


def _cauchy_born(args: argparse.Namespace) -> int:
    from sve.atoms import (
        chain_modulus,
        chain_spacing,
        chain_stability,
        triangular_elastic_constants,
        triangular_stability,
    )

    potential = _potential(args)
    if args.lattice == "chain":
        limit = chain_stability(potential, n_neighbours=args.neighbours)
        record = {
            "lattice": "chain",
            "potential": repr(potential),
            "n_neighbours": args.neighbours,
            "spacing": chain_spacing(potential, n_neighbours=args.neighbours),
            "modulus": float(chain_modulus(potential, 1.0, n_neighbours=args.neighbours)),
            "critical_stretch": _number(limit.stretch),
            "soft_wavenumber": None if math.isnan(limit.wavenumber) else limit.wavenumber,
            "soft_mode": limit.mode,
            "acoustic_stretch": _number(limit.acoustic_stretch),
        }
    else:
        constants = triangular_elastic_constants(potential, shells=args.neighbours)
        limit = triangular_stability(potential, shells=args.neighbours, loading=args.loading)
        record = {
            "lattice": "triangular",
            "potential": repr(potential),
            "shells": args.neighbours,
            "spacing": constants["spacing"],
            "C11": constants["C11"],
            "C12": constants["C12"],
            "C66": constants["C66"],
            "loading": args.loading,
            "critical_stretch": _number(limit.stretch),
            "soft_wavevector": list(limit.wavevector),
            "acoustic_stretch": _number(limit.acoustic_stretch),
        }
    if args.json:
        return _print_json(record)
    if args.lattice == "chain":
        where = {"all": "every mode at once", "none": "no mode below stretch 2"}.get(
            limit.mode, f"{limit.mode}, q = {record['soft_wavenumber']}"
        )
        print(f"{record['potential']}, chain, {args.neighbours} neighbour(s)")
        print(f"  stress-free spacing a0   {record['spacing']:.10g} [length]")
        print(f"  modulus W''(1)           {record['modulus']:.10g} [energy/length]")
        print(f"  critical stretch         {limit.stretch:.12g} (first soft phonon: {where})")
        print(f"  long-wave (acoustic)     {limit.acoustic_stretch:.12g}")
    else:
        print(f"{record['potential']}, triangular lattice, {args.neighbours} shell(s)")
        print(f"  stress-free spacing a0   {record['spacing']:.10g} [length]")
        print(f"  C11, C12, C66            {record['C11']:.8g}, {record['C12']:.8g}, "
              f"{record['C66']:.8g} [energy/length^2]")  # fmt: skip
        print(f"  critical stretch         {limit.stretch:.8g} ({args.loading}), "
              f"soft wavevector {record['soft_wavevector']}")  # fmt: skip
        print(f"  long-wave (acoustic)     {limit.acoustic_stretch:.8g}")
    return 0


def register(sub) -> None:
    """Add this module's commands to the ``sve`` subparsers `sub`."""
    cb = sub.add_parser(
        "cauchy-born",
        help="Cauchy–Born spacing, moduli and phonon stability limit of a chain or lattice",
    )
    cb.add_argument("--potential", default="lj", help="lj (default), morse or harmonic")
    cb.add_argument(
        "--lattice", choices=("chain", "triangular"), default="chain", help="default chain"
    )
    cb.add_argument(
        "--neighbours", type=int, default=1,
        help="neighbours on each side (chain) or neighbour shells (triangular); default 1",
    )  # fmt: skip
    cb.add_argument(
        "--loading", choices=("equibiaxial", "uniaxial"), default="equibiaxial",
        help="stretch of the triangular lattice (default equibiaxial)",
    )  # fmt: skip
    for name, text in (
        ("epsilon", "LJ well depth (default 1)"),
        ("sigma", "LJ length (default 1)"),
        ("depth", "Morse well depth (default 1)"),
        ("alpha", "Morse inverse width (default 6)"),
        ("r0", "Morse or harmonic rest length (default 1)"),
        ("stiffness", "harmonic spring constant (default 1)"),
        ("cutoff", "distance beyond which the potential is zero (default none)"),
    ):
        cb.add_argument(f"--{name}", type=float, default=None, help=text)
    _json_option(cb)
    cb.set_defaults(func=_cauchy_born)
