"""The README and the docs tell what the code and the benchmark records say.

The README's performance block is made from the benchmark records
(``benchmarks/summary.py``): it must be exactly what the records give, so no
number in it is typed by hand. Every record carries its provenance (date,
commit, machine) and well-formed tables, which the docs render. The README
keeps the two commands CI and new users run, and stays a front door.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RECORDS = sorted((ROOT / "benchmarks" / "records").glob("*.json"))
README = (ROOT / "README.md").read_text()


def _summary():
    spec = importlib.util.spec_from_file_location("summary", ROOT / "benchmarks" / "summary.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_performance_block_is_made_from_the_records():
    summary = _summary()
    assert summary.readme_block(README) == summary.block(), (
        "README.md's performance block differs from the benchmark records: run "
        "`.venv/bin/python benchmarks/summary.py --write-readme`"
    )


def test_there_are_records_with_headlines():
    assert RECORDS, "no benchmark record in benchmarks/records"
    assert any(json.loads(path.read_text())["headlines"] for path in RECORDS)


@pytest.mark.parametrize("path", RECORDS, ids=lambda path: path.stem)
def test_every_record_names_date_commit_and_machine(path):
    record = json.loads(path.read_text())
    assert record["benchmark"] == path.stem
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", record["date"])
    assert re.fullmatch(r"[0-9a-f]{40}", record["commit"])
    assert isinstance(record["dirty"], bool)
    assert record["machine"]["cpu"] and record["machine"]["cores"] >= 1
    assert record["command"].startswith("python benchmarks/bench_")
    assert record["tables"]
    for table in record["tables"]:
        assert table["title"] and table["rows"], table["title"]
        for row in table["rows"]:
            assert len(row) == len(table["columns"]), (table["title"], row)


TEST_COMMAND = ".venv/bin/python -m pytest -n auto --dist loadfile"


def test_readme_keeps_the_two_commands():
    for command in (
        "python3 -m venv .venv && .venv/bin/pip install -q -e . && "
        ".venv/bin/sve run studies/default.toml",
        f'python3 -m venv .venv && .venv/bin/pip install -q -e ".[test]" && {TEST_COMMAND}\n',
    ):
        assert command in README


def test_ci_runs_the_readme_test_command():
    assert TEST_COMMAND + " " in (ROOT / ".ci" / "run").read_text()


def test_readme_is_a_front_door():
    # ~150 lines (issue 16): a pitch, two commands, the pipeline, the CLI, capabilities,
    # limitations, performance at a glance and links; 200 leaves room for the generated block.
    assert len(README.splitlines()) <= 200


@pytest.mark.parametrize(
    "package",
    ["sve", "generators", "sve.microstructure", "sve.images", "sve.solvers", "sve.morphology",
     "sve.statistics", "sve.study", "sve.atoms", "sve.fluctuations", "sve.multiscale",
     "sve.report"],
)  # fmt: skip
def test_every_public_package_has_an_api_page(package):
    pages = {
        path.read_text().split(".. public-api:: ", 1)[1].split()[0]
        for path in (ROOT / "docs" / "api").glob("*.rst")
        if ".. public-api:: " in path.read_text()
    }
    assert package in pages
    module = importlib.import_module(package)
    assert getattr(module, "__all__", None), f"{package} has no __all__ to document"


def _study_module(attribute: str):
    """The study module that defines `attribute` (the schema moves between modules)."""
    for name in ("sve.study.schema", "sve.study.store", "sve.study.tasks"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, attribute):
            return getattr(module, attribute)
    raise AssertionError(f"no study module defines {attribute}")


SCHEMA_PAGE = (ROOT / "docs" / "schema.rst").read_text()


def test_schema_page_lists_every_status_code():
    for name, code in _study_module("STATUS").items():
        assert re.search(rf"\* - {code}\n\s+- ``{name}``", SCHEMA_PAGE), (name, code)


@pytest.mark.parametrize(
    "spec",
    [
        "studies/default.toml",  # the plain layout
        "studies/ergodicity.toml",  # windows of a parent: mode "both"
        "studies/adaptive.toml",  # adaptive sampling
        "studies/elasticity.toml",  # stiffness
    ],
)
def test_schema_page_names_every_variable_coordinate_and_attribute(spec):
    from sve.study import load_spec

    ds = _study_module("empty_dataset")(load_spec(ROOT / spec))
    names = {*ds.data_vars, *ds.coords, *ds.dims, *ds.attrs}
    missing = sorted(name for name in names if f"``{name}``" not in SCHEMA_PAGE)
    assert not missing, f"docs/schema.rst does not document {missing}"


def _literals(table: dict, top: bool = True) -> set[str]:
    """How the spec page must write each field of a spec: ``[table]`` or ``field``."""
    literals = set()
    for key, value in table.items():
        if top and isinstance(value, dict):  # a TOML table, and its fields
            literals.add(f"``[{key}]``")
            if key != "sweep":  # the sweep's keys are the swept fields' names
                literals |= _literals(value, top=False)
        else:
            literals.add(f"``{key}``")
    return literals


@pytest.mark.parametrize("path", sorted((ROOT / "studies").glob("*.toml")), ids=lambda p: p.stem)
def test_spec_page_documents_every_field_the_studies_use(path):
    import tomllib

    page = (ROOT / "docs" / "spec.rst").read_text()
    spec = tomllib.loads(path.read_text())
    missing = sorted(literal for literal in _literals(spec) if literal not in page)
    assert not missing, f"docs/spec.rst does not mention {missing} (used by {path.name})"
