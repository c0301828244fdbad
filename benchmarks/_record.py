"""Benchmark records: the figures of a run as JSON, with date, commit and machine.

Every benchmark script prints its figures and also writes them to
``benchmarks/records/NAME.json`` (NAME: the script's name without ``bench_``, plus
the variant for options that change what is measured). The docs render
their tables from these files (``docs/_ext/sve_docs.py``), so a number shown
in the docs is the one a benchmark wrote, with the run it came from.

A record::

    {"benchmark": "generators", "date": "2026-12-06T04:58:00+00:00",
     "commit": "<40 hex>", "dirty": false,
     "machine": {"cpu": "...", "cores": 2, "platform": "...", "python": "3.11.2"},
     "load_average": 1.3, "command": "python benchmarks/bench_generators.py",
     "headlines": ["gaussian_field 256^3: 0.85 s, 1.2x one FFT pair", ...],
     "tables": [{"title": "...", "columns": [...], "rows": [[...], ...], "note": "..."}]}

Headlines are one-line summaries computed from the figures of the run; the
README's "Performance at a glance" is made of them (``benchmarks/summary.py``).

Cells are numbers or short strings; times are in seconds unless a column says
otherwise. ``--no-record`` on any benchmark's command line skips the file.

Every benchmark reads its command line with `arguments` (argparse): ``--help`` prints
its docstring and options, and an unknown option is an error, not a full run.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECORDS = ROOT / "benchmarks" / "records"


def arguments(doc: str) -> argparse.ArgumentParser:
    """Command-line parser of a benchmark: its docstring as help, ``--no-record`` declared."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--no-record", action="store_true", help="print the figures, write no record"
    )
    return parser


def cpu_model() -> str:
    """The processor's model name (Linux: /proc/cpuinfo), else what ``platform`` says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine() -> dict:
    """CPU model, logical cores, operating system and Python of this machine."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def _git(*arguments: str) -> str:
    try:
        done = subprocess.run(
            ["git", *arguments], cwd=ROOT, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return ""
    return done.stdout.strip()


def commit() -> tuple[str, bool]:
    """The checked-out commit, and whether the measured code (the packages, pyproject.toml
    and the running benchmark script) differs from it."""
    head = _git("rev-parse", "HEAD") or "unknown"
    measured = ["sve", "generators", "pyproject.toml", f"benchmarks/{Path(sys.argv[0]).name}"]
    changes = _git("status", "--porcelain", "--untracked-files=no", "--", *measured)
    return head, bool(changes)


class Table:
    """One table of a record: a title, column names and rows of cells."""

    def __init__(self, title: str, columns: list[str], note: str = "") -> None:
        self.title, self.columns, self.note = title, list(columns), note
        self.rows: list[list] = []

    def add(self, *cells) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{self.title!r}: {len(cells)} cells for {len(self.columns)} columns")
        self.rows.append([_plain(cell) for cell in cells])

    def as_dict(self) -> dict:
        table = {"title": self.title, "columns": self.columns, "rows": self.rows}
        if self.note:
            table["note"] = self.note
        return table


def _plain(cell):
    """A JSON cell: Python numbers rounded to 4 significant digits, text as is."""
    if hasattr(cell, "item"):  # numpy scalar
        cell = cell.item()
    if isinstance(cell, bool) or cell is None or isinstance(cell, int | str):
        return cell
    if isinstance(cell, float):
        return float(f"{cell:.4g}")
    return str(cell)


class Record:
    """The tables of one benchmark run; ``write()`` saves them as JSON."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.tables: list[Table] = []
        self.headlines: list[str] = []

    def headline(self, text: str) -> None:
        """A one-line summary of the run, for the README and the docs."""
        self.headlines.append(text)

    def table(self, title: str, columns: list[str], note: str = "") -> Table:
        table = Table(title, columns, note)
        self.tables.append(table)
        return table

    def write(self) -> Path | None:
        """Write ``benchmarks/records/NAME.json`` (not with ``--no-record``)."""
        if "--no-record" in sys.argv:
            return None
        head, dirty = commit()
        record = {
            "benchmark": self.name,
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "commit": head,
            "dirty": dirty,
            "machine": machine(),
            "load_average": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
            "command": shlex.join(
                ["python", f"benchmarks/{Path(sys.argv[0]).name}", *sys.argv[1:]]
            ).replace(" --no-record", ""),
            "headlines": self.headlines,
            "tables": [table.as_dict() for table in self.tables],
        }
        RECORDS.mkdir(parents=True, exist_ok=True)
        path = RECORDS / f"{self.name}.json"
        path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
        print(f"record written: {path.relative_to(ROOT)}")
        return path
