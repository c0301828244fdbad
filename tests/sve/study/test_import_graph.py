"""The modules of sve.study import each other without a circle (read from the code, ast)."""

import ast
from pathlib import Path

import sve.study

PACKAGE = "sve.study"
ROOT = Path(sve.study.__file__).parent


def _module_name(path: Path) -> str:
    return PACKAGE if path.name == "__init__.py" else f"{PACKAGE}.{path.stem}"


def import_graph() -> dict[str, set[str]]:
    """Edges module -> the modules of the package it imports, at any depth of the code
    (an import inside a function counts: it is still a dependency)."""
    modules = {_module_name(path): path for path in ROOT.glob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                # "from sve.study import run" imports sve.study.run, and sve.study itself
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                raise AssertionError(f"{path}: relative import (the house style is absolute)")
            else:
                continue
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of the graph (its modules, the first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return path[path.index(target) :] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_cycle_finder_finds_a_circle_and_accepts_a_tree():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_study_package_has_no_import_circle():
    graph = import_graph()
    assert {"sve.study.schema", "sve.study.store", "sve.study.adaptive"} <= set(graph)
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_layers_of_the_study_package():
    """Seeding and the spec sit below the dataset schema; Zarr I/O above it; the adaptive
    policy reads the schema but never the store."""
    graph = import_graph()
    assert graph["sve.study.seeding"] == set()
    assert "sve.study.store" not in graph["sve.study.schema"] | graph["sve.study.adaptive"]
    assert "sve.study.sweep" not in graph["sve.study.schema"]
    assert "sve.study.store" not in graph["sve.study.sweep"]
