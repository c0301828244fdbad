"""The Examples sections of every module of ``sve`` and ``generators`` run as doctests.

``testpaths`` is ``tests/``, so ``pytest --doctest-modules`` alone would never
reach the packages: this module finds every module by walking the packages
(new ones join by themselves) and runs its docstring examples, one test per
module, in the fast loop.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import generators
import sve

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _modules(package) -> list[str]:
    names = [package.__name__]
    names += [
        info.name for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
    ]
    return sorted(names)


MODULES = _modules(sve) + _modules(generators)


def _examples(name: str) -> list[doctest.DocTest]:
    module = importlib.import_module(name)
    tests = doctest.DocTestFinder(exclude_empty=True).find(module, name)
    # only the docstrings defined in this module (re-exports are tested where they live)
    return [t for t in tests if t.examples and t.filename == module.__file__]


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in _examples(name):
        runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, f"{results.failed} of {results.attempted} examples failed"


@pytest.mark.parametrize("package", ["sve.morphology", "sve.statistics", "generators"])
def test_the_documented_packages_have_examples(package):
    """The walk finds examples where the docs promise them (a finder that found nothing
    would pass every test above)."""
    names = [name for name in MODULES if name == package or name.startswith(package + ".")]
    assert sum(len(t.examples) for name in names for t in _examples(name)) >= 5
