"""The layering rules of ARCHITECTURE.md, checked on the source text.

Generators never import sve; only the study layer (and the report/CLI above
it) knows Dask; kernels never know xarray; no global seeding anywhere.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def sources(*parts: str) -> list[Path]:
    return sorted((ROOT.joinpath(*parts)).rglob("*.py"))


def test_sources_found():
    assert sources("generators") and sources("sve", "solvers") and sources("sve", "study")


@pytest.mark.parametrize("path", sources("generators"), ids=lambda p: p.name)
def test_generators_do_not_import_sve_or_dask(path):
    assert not imported_modules(path) & {"sve", "dask", "distributed", "xarray"}


@pytest.mark.parametrize("path", sources("sve", "solvers"), ids=lambda p: p.name)
def test_solvers_know_neither_dask_nor_xarray(path):
    assert not imported_modules(path) & {"dask", "distributed", "xarray", "generators"}


@pytest.mark.parametrize(
    "path",
    [p for p in sources("sve") if "study" not in p.parts and p.name != "cli.py"],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_only_the_study_layer_knows_dask(path):
    assert not imported_modules(path) & {"dask", "distributed"}


@pytest.mark.parametrize("path", sources("sve") + sources("generators"), ids=lambda p: p.name)
def test_no_global_seeding(path):
    text = path.read_text()
    assert "np.random.seed(" not in text and "RandomState(" not in text
