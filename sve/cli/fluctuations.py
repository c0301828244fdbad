"""``sve green-kubo`` and ``sve memory-kernel``: transport from equilibrium fluctuations."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from sve.cli._common import _json_option, _print_json


def _read_series(path: str) -> np.ndarray:
    """A .npy array, or a text table (.txt, .dat, .csv: whitespace or commas; # comments)."""
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"no such file: {path}")
    if file.suffix == ".npy":
        return np.load(file, allow_pickle=False)
    delimiter = "," if file.suffix == ".csv" else None
    try:
        return np.loadtxt(file, delimiter=delimiter, ndmin=1)
    except ValueError as err:
        raise ValueError(f"{path} is not a table of numbers: {err}") from None


def _green_kubo(args: argparse.Namespace) -> int:
    from sve.fluctuations import green_kubo, plot_green_kubo

    flux = _read_series(args.flux)
    result = green_kubo(
        flux,
        args.dt,
        kind=args.kind,
        volume=args.volume,
        temperature=args.temperature,
        boltzmann=args.boltzmann,
        method=args.method,
        c=args.c,
        cutoff=args.cutoff,
        confidence=args.confidence,
        axis=args.axis,
    )
    record = {"flux": str(args.flux), "dt": args.dt} | result.to_dict()
    if args.plot:
        fig = plot_green_kubo(result)
        fig.savefig(args.plot, dpi=110)
        record["plot"] = str(args.plot)
    if args.json:
        return _print_json(record)
    low, high = result.interval
    print(f"{args.flux}: {result.n_series} series of {result.n_steps} steps, dt = {args.dt:g}")
    print(f"  {result.kind} ({result.method})  {result.value:.6g}  "
          f"{result.confidence:.0%} interval [{low:.6g}, {high:.6g}], "
          f"standard error {result.standard_error:.3g}")  # fmt: skip
    print(f"  cutoff {result.cutoff:.6g}, tau_int {result.tau_int:.6g} (time units of dt)")
    if result.method == "direct":
        print(f"  error from {result.n_blocks} blocks (bootstrap, windows re-chosen)")
    else:
        print(f"  {result.n_coefficients} cepstral coefficients (AIC), "
              f"coarse-grained by {result.coarse_graining} steps")  # fmt: skip
    if args.plot:
        print(f"  figure written to {args.plot}")
    return 0


def _memory_kernel(args: argparse.Namespace) -> int:
    from sve.fluctuations import autocorrelation, memory_kernel, plot_memory_kernel

    data = _read_series(args.series)
    if args.input == "velocity":
        acf = autocorrelation(data, axis=args.axis)
    else:
        acf = np.asarray(data, dtype=float)
        if acf.ndim != 1:
            raise ValueError(f"--input acf takes a 1-D autocorrelation, got shape {acf.shape}")
    if args.max_time is not None:
        if not args.max_time > 0:
            raise ValueError(f"--max-time must be > 0, got {args.max_time!r}")
        acf = acf[: int(round(args.max_time / args.dt)) + 2]
    result = memory_kernel(acf, args.dt, mass=args.mass, kT=args.kT)
    record = {
        "series": str(args.series),
        "input": args.input,
        "dt": args.dt,
        "friction": result.friction,
        "kernel_at_zero": float(result.kernel[0]),
        "max_time": float(result.times[-1]),
        "mass": result.mass,
        "kT": result.kT,
    }
    if args.out:
        table = np.column_stack([result.times, result.kernel, result.noise_autocorrelation])
        np.savetxt(args.out, table, delimiter=",", header="t,K,noise_autocorrelation",
                   comments="")  # fmt: skip
        record["out"] = str(args.out)
    if args.plot:
        plot_memory_kernel(result).savefig(args.plot, dpi=110)
        record["plot"] = str(args.plot)
    if args.json:
        return _print_json(record)
    print(f"{args.series}: memory kernel to t = {record['max_time']:.6g}, dt = {args.dt:g}")
    print(f"  K(0) {record['kernel_at_zero']:.6g} [1/time^2], friction int K = "
          f"{result.friction:.6g} [1/time], kT {result.kT:.6g}, mass {result.mass:g}")  # fmt: skip
    for name in ("out", "plot"):
        if name in record:
            print(f"  {name} written to {record[name]}")
    return 0


def register(sub) -> None:
    """Add this module's commands to the ``sve`` subparsers `sub`."""
    gk = sub.add_parser(
        "green-kubo",
        help="transport coefficient with its interval from a flux time series (Green-Kubo)",
    )
    gk.add_argument("flux", help=".npy array or text table (.txt, .dat, .csv) of the flux")
    gk.add_argument("--dt", type=float, required=True, help="sampling step (time units)")
    gk.add_argument(
        "--kind",
        default="raw",
        choices=("raw", "shear_viscosity", "thermal_conductivity", "self_diffusion"),
        help="coefficient, sets the prefactor (default raw: the integral itself)",
    )
    gk.add_argument("--method", default="direct", choices=("direct", "cepstral"))
    gk.add_argument("--volume", type=float, help="volume V (viscosity, conductivity)")
    gk.add_argument("--temperature", type=float, help="temperature T (viscosity, conductivity)")
    gk.add_argument(
        "--boltzmann", type=float, default=1.380649e-23,
        help="kB in your units (default 1.380649e-23 J/K; 1 for reduced units)",
    )  # fmt: skip
    gk.add_argument("--c", type=float, default=5.0, help="Sokal window factor (default 5)")
    gk.add_argument("--cutoff", type=float, help="cutoff time instead of Sokal's window")
    gk.add_argument("--confidence", type=float, default=0.95)
    gk.add_argument(
        "--axis", type=int, default=0,
        help="time axis of the array (default 0: one row per time step, one column per "
        "series or component)",
    )  # fmt: skip
    gk.add_argument("--plot", metavar="FILE.png", help="write the running-integral figure")
    _json_option(gk)
    gk.set_defaults(func=_green_kubo)

    mk = sub.add_parser(
        "memory-kernel",
        help="memory kernel, friction and noise of the generalized Langevin equation",
    )
    mk.add_argument("series", help=".npy array or text table: velocities or an autocorrelation")
    mk.add_argument("--dt", type=float, required=True, help="sampling step (time units)")
    mk.add_argument(
        "--input", default="velocity", choices=("velocity", "acf"),
        help="velocity series (default; columns pooled) or a 1-D autocorrelation",
    )  # fmt: skip
    mk.add_argument("--axis", type=int, default=0, help="time axis of velocities (default 0)")
    mk.add_argument("--max-time", type=float, help="longest lag of the kernel (time units)")
    mk.add_argument("--mass", type=float, default=1.0, help="mass, for the noise (default 1)")
    mk.add_argument("--kT", type=float, help="kB T, for the noise (default mass * C(0))")
    mk.add_argument("--out", metavar="FILE.csv", help="write t, K, noise autocorrelation")
    mk.add_argument("--plot", metavar="FILE.png", help="write the kernel figure")
    _json_option(mk)
    mk.set_defaults(func=_memory_kernel)
