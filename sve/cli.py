"""The ``sve`` command line: run a study, report on a store, show a store's status."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

__all__ = ["main"]


def _default_report_dir(store: Path) -> Path:
    return store.with_name(store.name.removesuffix(".zarr") + "-report")


def _run(args: argparse.Namespace) -> int:
    from sve.report import report
    from sve.study import load_spec, run_study
    from sve.study.tasks import STATUS

    spec = load_spec(args.spec)  # validated before anything starts
    store = Path(args.store) if args.store else Path("results") / f"{spec.name}.zarr"
    ds = run_study(
        spec,
        client=args.scheduler,
        store=store,
        overwrite=args.overwrite,
        workers=args.workers,
        log=sys.stderr,
    )
    print(f"store: {store}")
    if not args.no_report:
        out = report(ds, args.report_dir or _default_report_dir(store))
        print(f"report: {out}")
    failed = int((ds["status"] == STATUS["failed"]).sum())
    if failed:
        print(f"sve run: {failed} solves failed (sve status {store}); rerun to retry them")
        return 1
    return 0


def _report(args: argparse.Namespace) -> int:
    from sve.report import report

    store = Path(args.store)
    out = report(store, args.out or _default_report_dir(store))
    print(f"report: {out}")
    return 0


def _status(args: argparse.Namespace) -> int:
    from sve.study import open_study
    from sve.study.tasks import STATUS

    ds = open_study(args.store)
    status = ds["status"].values
    print(f"store: {args.store}  ({ds.attrs.get('title', '')})")
    for name, code in STATUS.items():
        print(f"  {name:>14}: {np.count_nonzero(status == code)}")
    for k, size in enumerate(ds["size"].values):
        done = np.count_nonzero(status[k] != STATUS["pending"])
        print(f"  size {size:>5}: {done}/{status[k].size} solves finished")
    for error in sorted({str(e) for e in ds["error"].values.ravel() if e}):
        print(f"  error: {error}")
    for run in json.loads(ds.attrs.get("runs", "[]")):
        print(
            f"  run {run['started']} -> {run['finished']}: {run['tasks']} tasks on "
            f"{run['workers']} workers ({run['scheduler']}), {run['failed_tasks']} failed"
        )
    return 0


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

    rep = sub.add_parser("report", help="write the Markdown/PNG report of a study store")
    rep.add_argument("store", help="study store (.zarr)")
    rep.add_argument("--out", help="report folder (default: beside the store)")
    rep.set_defaults(func=_report)

    status = sub.add_parser("status", help="show how much of a study store is finished")
    status.add_argument("store", help="study store (.zarr)")
    status.set_defaults(func=_status)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sve`` console script; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as err:
        print(f"sve {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
