"""The README's "Performance at a glance", made from the benchmark records.

Run as ``.venv/bin/python benchmarks/summary.py`` to print the block, or with
``--write-readme`` to replace it in ``README.md`` (between the
``performance:begin`` and ``performance:end`` comment lines). The block is
the headlines of every record in ``benchmarks/records/`` (see ``_record.py``),
each with the date and machine of its run; ``tests/test_docs.py`` checks that
the README holds exactly this block, so the README cannot drift from the
records.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECORDS = ROOT / "benchmarks" / "records"
README = ROOT / "README.md"
BEGIN = "<!-- performance:begin (made by benchmarks/summary.py from benchmarks/records) -->"
END = "<!-- performance:end -->"
#: The order of the records in the block; records not named here follow, sorted.
ORDER = (
    "generators",
    "conductivity",
    "preconditioners",
    "spacing",
    "elasticity",
    "statistics",
    "study",
)


def records() -> list[dict]:
    """Every record, in the order of ``ORDER``."""
    found = {path.stem: json.loads(path.read_text()) for path in RECORDS.glob("*.json")}
    names = [name for name in ORDER if name in found]
    names += sorted(name for name in found if name not in ORDER)
    return [found[name] for name in names]


def block() -> str:
    """The Markdown block, markers included."""
    lines = [BEGIN]
    machines, loads = set(), []
    for record in records():
        machine = record["machine"]
        machines.add(f"{machine['cpu']}, {machine['cores']} cores")
        if isinstance(record.get("load_average"), int | float):
            loads.append(record["load_average"])
        for headline in record.get("headlines", []):
            lines.append(f"- {headline} (`{record['benchmark']}`, {record['date'][:10]})")
    lines.append("")
    load = f" (load average {min(loads):.1f} to {max(loads):.1f})" if loads else ""
    lines.append(f"Measured on {'; '.join(sorted(machines))}{load}; every figure with its")
    lines.append("commit and machine, and the full tables, on the performance page of the docs.")
    lines.append(END)
    return "\n".join(lines)


def readme_block(text: str) -> str:
    """The block as it stands in the README text (markers included)."""
    start, stop = text.index(BEGIN), text.index(END) + len(END)
    return text[start:stop]


def write_readme() -> None:
    text = README.read_text()
    README.write_text(text.replace(readme_block(text), block()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--write-readme", action="store_true", help="replace the README's block with it"
    )
    if parser.parse_args().write_readme:
        write_readme()
    else:
        print(block())
