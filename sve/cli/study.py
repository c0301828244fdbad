"""``sve run``, ``sve report`` and ``sve status``: studies and their stores."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def _default_report_dir(store: Path) -> Path:
    return store.with_name(store.name.removesuffix(".zarr") + "-report")


#: Options of ``sve run`` that only one kind of spec takes (`sve.study.spec.spec_kind`).
_STUDY_OPTIONS = {"store": "--store", "report_dir": "--report-dir", "no_report": "--no-report"}
_STUDY_OPTIONS["overwrite"] = "--overwrite"
_MACRO_OPTIONS = {"serial": "--serial", "cache": "--cache", "json": "--json"}


def _run(args: argparse.Namespace) -> int:
    from sve.report import write_report
    from sve.study import load_spec, run_study
    from sve.study.spec import read_spec_tables, spec_kind
    from sve.study.tasks import STATUS

    kind = spec_kind(read_spec_tables(args.spec))
    wrong = _STUDY_OPTIONS if kind == "macro" else _MACRO_OPTIONS
    given = [flag for name, flag in wrong.items() if getattr(args, name)]
    if given:
        other = "study" if kind == "macro" else "macro"
        raise ValueError(
            f"option(s) {', '.join(given)} are for {other} specs; {args.spec} is a {kind} spec"
        )
    if kind == "macro":  # the code of ``sve macro``
        from sve.cli.macro import _macro

        return _macro(args)
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
    out = write_report(
        store, args.out or _default_report_dir(store), compare_with=args.compare_with
    )
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


def register(sub) -> None:
    """Add this module's commands to the ``sve`` subparsers `sub`."""
    run = sub.add_parser(
        "run",
        help="run a study spec (TOML) and write its store and report, or a macro spec "
        "(a [macro] table: as sve macro)",
    )
    run.add_argument("spec", help="study or macro spec, e.g. studies/default.toml")
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
    run.add_argument(
        "--serial", action="store_true", help="macro spec: solve the cells in this process"
    )
    run.add_argument("--cache", help="macro spec: folder that keeps the cell results")
    run.add_argument("--json", action="store_true", help="macro spec: print the results as JSON")
    run.set_defaults(func=_run)

    rep = sub.add_parser(
        "report", help="write the report of a study store (HTML, Markdown, PNG and SVG figures)"
    )
    rep.add_argument("store", help="study store (.zarr)")
    rep.add_argument("--out", help="report folder (default: beside the store)")
    rep.add_argument(
        "--compare-with",
        metavar="WINDOWS_STORE",
        help="a calibrated study: the windows study of its image, set beside it",
    )
    rep.set_defaults(func=_report)

    status = sub.add_parser("status", help="show how much of a study store is finished")
    status.add_argument("store", help="study store (.zarr)")
    status.set_defaults(func=_status)
