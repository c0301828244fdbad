"""Sphinx directives of the sve-toolkit docs.

``.. public-api:: PACKAGE``
    One autodoc entry per name in ``PACKAGE.__all__``: functions, classes and
    data, in the order of ``__all__``. The reference follows the code's own
    public list, so a name added to (or dropped from) ``__all__`` appears in
    (or leaves) the docs without an edit here.

    With ``:no-index:`` the entries are not targets of cross-references (for
    the top-level ``sve`` page, whose names are documented again, and
    indexed, on their subpackages' pages).

``.. benchmark-tables:: NAME``
    The tables of ``benchmarks/records/NAME.json`` (written by
    ``benchmarks/bench_NAME.py``), with the date, commit and machine of the
    run. The docs never hold a measured number of their own.

``.. module-tree:: PATH``
    The modules under ``PATH`` (a folder of the repository), one line each
    with the summary of the module's docstring, read from the source
    (nothing is imported): the layout shown is the layout of the code.

``.. benchmark-summary::``
    One line per record: benchmark, its headlines, date, commit, machine.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.errors import PycodeError
from sphinx.pycode import ModuleAnalyzer
from sphinx.util.docutils import SphinxDirective

ROOT = Path(__file__).resolve().parents[2]
RECORDS = ROOT / "benchmarks" / "records"


def _kind(value: object) -> str:
    if inspect.isclass(value):
        if issubclass(value, BaseException):
            return "autoexception"
        return "autoclass"
    if callable(value):
        return "autofunction"
    return "autodata"


def _short_repr(value: object, width: int = 70) -> str:
    text = " ".join(repr(value).split())
    return text if len(text) <= width else text[: width - 4] + " ..."


def _data_doc(package, name: str) -> list[str]:
    """The ``#:`` comment above ``name = ...`` in the package or its modules ([] if none)."""
    root = Path(package.__file__).parent
    for path in [root / "__init__.py", *sorted(root.rglob("*.py"))]:
        parts = [p for p in path.relative_to(root).with_suffix("").parts if p != "__init__"]
        module_name = ".".join([package.__name__, *parts])
        try:
            analyzer = ModuleAnalyzer.for_module(module_name)
            docs = analyzer.find_attr_docs()
        except PycodeError:
            continue
        if ("", name) in docs:
            return list(docs[("", name)])
    return []


class PublicAPI(SphinxDirective):
    """Autodoc entries for every name of a package's ``__all__``."""

    required_arguments = 1
    has_content = False
    option_spec = {"no-index": directives.flag}

    def run(self) -> list[nodes.Node]:
        package = self.arguments[0]
        module = importlib.import_module(package)
        names = getattr(module, "__all__", None)
        if not names:
            raise self.error(f"{package} has no __all__")
        lines = []
        for name in names:
            value = getattr(module, name)
            kind = _kind(value)
            if kind == "autodata":  # documented by its #: comment where it is defined
                lines += [f".. py:data:: {package}.{name}", f"   :value: {_short_repr(value)}"]
                if "no-index" in self.options:
                    lines += ["   :no-index:"]
                lines += ["", *(f"   {line}" for line in _data_doc(module, name)), ""]
                continue
            lines += [f".. {kind}:: {package}.{name}"]
            if "no-index" in self.options:
                lines += ["   :no-index:"]
            lines += [""]
        self.env.note_dependency(inspect.getfile(module))
        container = nodes.section()
        container.document = self.state.document
        self.state.nested_parse(StringList(lines, source=f"<public-api {package}>"), 0, container)
        return container.children


def load_record(name: str) -> dict:
    """The benchmark record ``benchmarks/records/NAME.json``."""
    path = RECORDS / f"{name}.json"
    with path.open() as file:
        return json.load(file)


def _date(record: dict) -> str:
    """The record's date as ``YYYY-MM-DD HH:MM UTC``."""
    return record["date"][:16].replace("T", " ") + " UTC"


def _provenance(record: dict) -> str:
    machine = record["machine"]
    load = record.get("load_average")
    load_text = f", load average {load:.1f}" if isinstance(load, int | float) else ""
    return (
        f"Recorded {_date(record)} at commit ``{record['commit'][:10]}``"
        f"{' (uncommitted changes)' if record.get('dirty') else ''} on "
        f"{machine['cpu']} ({machine['cores']} cores{load_text}), Python "
        f"{machine['python']}; command ``{record['command']}``."
    )


def _table(table: dict) -> list[str]:
    """A ``list-table`` of one recorded table."""
    columns = table["columns"]
    lines = [f".. list-table:: {table['title']}", "   :header-rows: 1", ""]
    for row in [columns, *table["rows"]]:
        if len(row) != len(columns):
            raise ValueError(f"row {row!r} of {table['title']!r} does not match {columns!r}")
        lines.append("   * - " + _cell(row[0]))
        lines += [f"     - {_cell(cell)}" for cell in row[1:]]
    lines.append("")
    if table.get("note"):
        lines += [table["note"], ""]
    return lines


_SPECIAL = str.maketrans({c: "\\" + c for c in "\\|*`_<>[]"})


def _escape(text: str) -> str:
    """Text of a record, read literally (no reStructuredText markup)."""
    return text.translate(_SPECIAL)


def _escaped(table: dict) -> dict:
    """A recorded table with its text cells, columns, title and note escaped."""
    return {
        "title": _escape(table["title"]),
        "columns": [_escape(column) for column in table["columns"]],
        "rows": [[_escape(c) if isinstance(c, str) else c for c in row] for row in table["rows"]],
        "note": _escape(table.get("note", "")),
    }


def _cell(value: object) -> str:
    if value is None:
        return "--"
    if isinstance(value, float):
        return f"{value:.3g}"
    text = str(value)
    return text if text.strip() else "--"


class BenchmarkTables(SphinxDirective):
    """The tables of one benchmark record, with its provenance."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0]
        path = RECORDS / f"{name}.json"
        if not path.exists():
            raise self.error(f"no benchmark record {path}: run benchmarks/bench_{name}.py")
        self.env.note_dependency(str(path))
        record = load_record(name)
        lines = [_provenance(record), ""]
        for table in record["tables"]:
            lines += _table(_escaped(table))
        container = nodes.section()
        container.document = self.state.document
        self.state.nested_parse(StringList(lines, source=str(path)), 0, container)
        return container.children


class BenchmarkSummary(SphinxDirective):
    """One row per benchmark record: when, where and with which commit it ran."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        rows = []
        for path in sorted(RECORDS.glob("*.json")):
            self.env.note_dependency(str(path))
            record = load_record(path.stem)
            machine = record["machine"]
            rows.append(
                [
                    f"``{path.stem}``",
                    _escape("; ".join(record.get("headlines", []))),
                    _date(record),
                    f"``{record['commit'][:10]}``",
                    f"{machine['cpu']}, {machine['cores']} cores",
                ]
            )
        table = {
            "title": "Benchmark records",
            "columns": ["benchmark", "at a glance", "date", "commit", "machine"],
            "rows": rows,
        }
        container = nodes.section()
        container.document = self.state.document
        self.state.nested_parse(StringList(_table(table), source=str(RECORDS)), 0, container)
        return container.children


def _summary_line(path: Path) -> str:
    """The summary (first paragraph) of a module's docstring, without its final period."""
    docstring = ast.get_docstring(ast.parse(path.read_text()))
    if not docstring:
        return ""
    return " ".join(docstring.split("\n\n")[0].split()).rstrip(".")


def _tree(folder: Path, prefix: str = "") -> list[tuple[str, str]]:
    """(drawn name, summary) of every module and subpackage under `folder`."""
    entries = sorted(
        [p for p in folder.iterdir() if p.suffix == ".py" and p.name != "__init__.py"]
        + [p for p in folder.iterdir() if p.is_dir() and (p / "__init__.py").exists()],
        key=lambda p: (p.is_dir(), p.name),
    )
    rows = []
    for k, path in enumerate(entries):
        last = k == len(entries) - 1
        branch, indent = ("└── ", "    ") if last else ("├── ", "│   ")
        if path.is_dir():
            rows.append((f"{prefix}{branch}{path.name}/", _summary_line(path / "__init__.py")))
            rows += _tree(path, prefix + indent)
        else:
            rows.append((f"{prefix}{branch}{path.name}", _summary_line(path)))
    return rows


class ModuleTree(SphinxDirective):
    """The modules of a folder of the repository with the summaries of their docstrings."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        folder = ROOT / self.arguments[0]
        if not (folder / "__init__.py").exists():
            raise self.error(f"{self.arguments[0]} is not a package of the repository")
        rows = [(f"{self.arguments[0].rstrip('/')}/", _summary_line(folder / "__init__.py"))]
        rows += _tree(folder)
        for path in folder.rglob("*.py"):
            self.env.note_dependency(str(path))
        width = max(len(name) for name, _ in rows) + 2
        text = "\n".join(f"{name:<{width}}{summary}".rstrip() for name, summary in rows)
        block = nodes.literal_block(text, text)
        return [block]


def setup(app):
    app.add_directive("public-api", PublicAPI)
    app.add_directive("benchmark-tables", BenchmarkTables)
    app.add_directive("benchmark-summary", BenchmarkSummary)
    app.add_directive("module-tree", ModuleTree)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
