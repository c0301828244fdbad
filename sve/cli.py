"""The ``sve`` command line: studies (run, report, status) and single images (generate, solve,
morphology, representativity).
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from pathlib import Path

import numpy as np

__all__ = ["main"]


def _default_report_dir(store: Path) -> Path:
    return store.with_name(store.name.removesuffix(".zarr") + "-report")


def _run(args: argparse.Namespace) -> int:
    from sve.report import write_report
    from sve.study import load_spec, run_study
    from sve.study.tasks import STATUS

    spec = load_spec(args.spec)  # validated before anything starts
    store = Path(args.store or spec.store or Path("results") / f"{spec.name}.zarr")
    ds = run_study(
        spec,
        client=args.scheduler,
        store=store,
        overwrite=args.overwrite,
        workers=args.workers,
        log=sys.stderr,
    )
    print(
        f"store: {store}"
        + (f" (one study store per value: {store}/sweep-K)" if spec.swept else "")
    )
    if not args.no_report:
        out = write_report(ds, args.report_dir or _default_report_dir(store))
        print(f"report: {out}")
    failed = int((ds["status"] == STATUS["failed"]).sum())
    if failed:
        print(f"sve run: {failed} solves failed (sve status {store}); rerun to retry them")
        return 1
    return 0


def _report(args: argparse.Namespace) -> int:
    from sve.report import write_report

    store = Path(args.store)
    out = write_report(store, args.out or _default_report_dir(store))
    print(f"report: {out}")
    return 0


def _status(args: argparse.Namespace) -> int:
    from sve.study import StudySpec, open_study
    from sve.study.sweep import is_sweep, split_sweep, sweep_store_paths

    ds = open_study(args.store)
    if not is_sweep(ds):
        _print_status(ds, args.store)
        return 0
    spec = StudySpec.from_json(ds.attrs["spec"])
    values = ", ".join(f"{v:g}" for v in spec.sweep_values)
    print(f"store: {args.store}  ({ds.attrs.get('title', '')}: {spec.sweep_field} = {values})")
    paths = sweep_store_paths(spec, args.store)
    for value, part, path in zip(spec.sweep_values, split_sweep(ds), paths, strict=True):
        print(f"{spec.sweep_field} = {value:g}:")
        _print_status(part, path, indent="  ")
    return 0


def _print_status(ds, store, indent: str = "") -> None:
    """What one study store holds (one value of a sweep: indented)."""
    from sve.study.adaptive import adaptive_summary
    from sve.study.tasks import STATUS

    def say(text: str) -> None:
        print(indent + text)

    status = ds["status"].values
    say(f"store: {store}  ({ds.attrs.get('title', '')})")
    for name, code in STATUS.items():
        say(f"  {name:>14}: {np.count_nonzero(status == code)}")
    for k, size in enumerate(ds["size"].values):
        done = np.count_nonzero(status[k] != STATUS["pending"])
        say(f"  size {size:>5}: {done}/{status[k].size} solves finished")
    adaptive = adaptive_summary(ds)
    for size in adaptive.get("size", []).values if adaptive else []:
        s = adaptive.sel(size=size)
        state = {
            "reached": "target reached",
            "budget": "budget used, target not reached",
            "running": "round running or interrupted",
        }[str(s["adaptive_state"].values)]
        say(
            f"  size {size:>5}: adaptive, {int(s['realizations_used'])} realizations, {state} "
            f"(relative CI half-width {float(s['relative_half_width']):.3g}, target "
            f"{adaptive.attrs['adaptive_target']:g})"
        )
    for error in sorted({str(e) for e in ds["error"].values.ravel() if e}):
        say(f"  error: {error}")
    for run in json.loads(ds.attrs.get("runs", "[]")):
        hosts = f" on {run['hosts']} host(s)" if "hosts" in run else ""
        workers = f" on {run['workers']} workers{hosts}" if "workers" in run else ""
        scheduler = f" ({run['scheduler']})" if "scheduler" in run else ""
        if run.get("interrupted"):
            say(
                f"  run {run['started']} -> interrupted: {run['tasks']} tasks{workers}{scheduler}"
                ", killed or stopped before it ended (its finished records were kept)"
            )
            continue
        say(
            f"  run {run['started']} -> {run['finished']}: {run['tasks']} tasks{workers}"
            f"{scheduler}, {run['failed_tasks']} failed"
        )
    if "active_run" in ds.attrs:
        active = json.loads(ds.attrs["active_run"])
        say(
            f"  run {active['started']} -> not finished: {active['tasks']} tasks, running now "
            "or interrupted (the same `sve run` resumes it)"
        )


def _value(text: str):
    """A TOML value (number, boolean, quoted string) or, failing that, a bare string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


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
    from sve.solvers import apparent_conductivity, apparent_stiffness

    if (args.conductivity is None) == (args.stiffness is None):
        raise ValueError(
            "give either --conductivity (one value per phase) or --stiffness "
            "(once per phase), not both or neither"
        )
    phases = _read_image(args, min_phases=1)  # a homogeneous image checks a solver
    if args.conductivity is not None:
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sve", description="Size-convergence studies of random microstructures."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a study spec (TOML) and write its store and report")
    run.add_argument("spec", help="study spec, e.g. studies/default.toml")
    run.add_argument("--store", help="Zarr store (default: results/NAME.zarr); resumed if present")
    run.add_argument("--report-dir", help="report folder (default: beside the store)")
    run.add_argument("--no-report", action="store_true", help="do not write the report")
    run.add_argument("--workers", type=int, help="local worker processes (default: all cores)")
    run.add_argument(
        "--scheduler", help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786"
    )
    run.add_argument(
        "--overwrite", action="store_true", help="discard a store that holds a different spec"
    )
    run.set_defaults(func=_run)

    rep = sub.add_parser(
        "report", help="write the report of a study store (HTML, Markdown, PNG and SVG figures)"
    )
    rep.add_argument("store", help="study store (.zarr)")
    rep.add_argument("--out", help="report folder (default: beside the store)")
    rep.set_defaults(func=_report)

    status = sub.add_parser("status", help="show how much of a study store is finished")
    status.add_argument("store", help="study store (.zarr)")
    status.set_defaults(func=_status)

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

    solve = sub.add_parser(
        "solve", help="apparent conductivity or stiffness of one image (.npy, .tif, ...)"
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
    solve.add_argument("--json", action="store_true", help="print the results as JSON")
    solve.set_defaults(func=_solve)

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
