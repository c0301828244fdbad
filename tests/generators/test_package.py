from __future__ import annotations

import ast
import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import generators

MODULES = [
    importlib.import_module(f"generators.{info.name}")
    for info in pkgutil.iter_modules(generators.__path__)
]


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize(
    "path", sorted(Path(generators.__file__).parent.glob("*.py")), ids=lambda p: p.name
)
def test_generators_never_import_sve(path):
    # layer 1 of docs/architecture.rst
    assert "sve" not in imported_roots(path)


def test_public_names_are_exported():
    for name in generators.__all__:
        value = getattr(generators, name)
        if name.isupper():  # a constant: defined in one of the modules
            assert any(getattr(module, name, None) is value for module in MODULES)
        else:
            assert value.__module__.startswith("generators.")


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
