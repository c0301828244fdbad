"""The layering rules of the architecture notes (docs/architecture), checked on the code's
own imports (ast), so that the picture in the docs and the code tell one story.

* Layers, lowest first: ``generators`` < the argument checks and warnings
  (``sve._validation``, ``sve._warnings``) < ``sve.microstructure`` < ``sve.images``,
  ``sve.solvers`` and ``sve.morphology`` < ``sve.statistics`` < ``sve.study``,
  ``sve.atoms`` and ``sve.fluctuations`` < ``sve.multiscale`` < ``sve.report``
  < ``sve.cli`` < ``sve`` itself. A module imports only from its
  own package or from a lower layer.
* ``sve.solvers`` is split by physics over a shared core: ``sve.solvers._core``
  imports no other part of ``sve.solvers``; the physics packages
  (``conductivity``, ``elasticity``, ``permeability``) never import each other; ``result``,
  ``bounds`` and ``moduli`` import neither physics package.
* No import circle anywhere in ``sve`` or ``generators``.
* Generators never import sve; only the study layer and above (study, multiscale, cli)
  know Dask; kernels never know xarray; no global seeding anywhere.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PACKAGES = ("sve", "generators")

#: Layer of each top-level part, lowest first; a module's layer is that of the longest
#: prefix of its name listed here.
LAYERS = {
    "generators": 0,
    "sve._validation": 1,
    "sve._warnings": 1,
    "sve.microstructure": 2,
    "sve.images": 3,
    "sve.solvers": 3,
    "sve.morphology": 3,
    "sve.statistics": 4,
    "sve.study": 5,
    "sve.atoms": 5,
    "sve.fluctuations": 5,
    "sve.multiscale": 6,
    "sve.report": 7,
    "sve.cli": 8,
    "sve": 9,
}
PHYSICS = ("sve.solvers.conductivity", "sve.solvers.elasticity", "sve.solvers.permeability")
SHARED = ("sve.solvers.result", "sve.solvers.bounds", "sve.solvers.moduli")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Every module of ours that `path` imports (at module level or inside a function),
    relative imports resolved; ``from package import name`` counts as the submodule
    ``package.name`` when that module exists."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            submodules = [f"{module}.{alias.name}" for alias in node.names]
            targets = [s for s in submodules if s in MODULES]
            if len(targets) < len(submodules):  # a name defined in `module` itself
                targets.append(module)
        else:
            continue
        for target in targets:
            if target.split(".")[0] in PACKAGES and target in MODULES:
                found.add(target)
    found.discard(name)
    return found


def sources(*parts: str) -> list[Path]:
    return sorted(ROOT.joinpath(*parts).rglob("*.py"))


MODULES = {module_name(p): p for package in PACKAGES for p in sources(package)}
GRAPH = {name: imports(path) for name, path in MODULES.items()}


def part(name: str, table) -> str:
    """The longest entry of `table` that is `name` or a package above it."""
    matches = [key for key in table if name == key or name.startswith(key + ".")]
    return max(matches, key=len)


def third_party(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_the_graph_is_the_code():
    """The scan finds the packages and real edges (a broken scan would pass every rule)."""
    assert {"sve.solvers._core.pcg", "sve.solvers.conductivity.apparent"} <= MODULES.keys()
    assert "sve.solvers._core.pcg" in GRAPH["sve.solvers.conductivity.cell_problem"]
    assert "sve.solvers.result" in GRAPH["sve.solvers.elasticity.apparent"]
    assert "sve.solvers.conductivity.apparent" in GRAPH["sve.solvers.conductivity"]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_layers_import_only_downward(name):
    own = part(name, LAYERS)
    upward = [
        target
        for target in GRAPH[name]
        if part(target, LAYERS) != own and LAYERS[part(target, LAYERS)] >= LAYERS[own]
    ]
    assert not upward, f"{name} (layer {LAYERS[own]}) imports {upward}"


def test_solvers_split_by_physics():
    subpackages = {p.name for p in ROOT.joinpath("sve", "solvers").iterdir() if p.is_dir()}
    assert {"_core", "conductivity", "elasticity"} <= subpackages
    assert not [
        p
        for p in sources("sve", "solvers")
        if p.parent.name == "solvers" and p.stem not in {"__init__", "result", "bounds", "moduli"}
    ]


@pytest.mark.parametrize("name", [m for m in sorted(MODULES) if m.startswith("sve.solvers.")])
def test_the_solver_core_imports_no_physics(name):
    targets = {t for t in GRAPH[name] if t.startswith("sve.solvers")}
    if name.startswith("sve.solvers._core"):
        assert all(t.startswith("sve.solvers._core") for t in targets), (name, targets)
    elif name.startswith(SHARED):
        assert not [t for t in targets if t.startswith(PHYSICS)], (name, targets)
    else:
        physics = part(name, {p: 0 for p in PHYSICS})
        others = [t for t in targets if t.startswith(PHYSICS) and not t.startswith(physics)]
        assert not others, f"{name} imports another physics: {others}"


def test_no_import_circle():
    """Tarjan's strongly connected components of the module graph are all single."""
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert not circles


def test_the_circle_check_can_fail(monkeypatch):
    """A planted circle is found (the check above is not vacuous)."""
    planted = {k: set(v) for k, v in GRAPH.items()}
    planted["sve.solvers._core.pcg"].add("sve.solvers.conductivity.cell_problem")
    monkeypatch.setitem(globals(), "GRAPH", planted)
    with pytest.raises(AssertionError):
        test_no_import_circle()


@pytest.mark.parametrize("path", sources("generators"), ids=lambda p: p.name)
def test_generators_do_not_import_sve_or_dask(path):
    assert not third_party(path) & {"sve", "dask", "distributed", "xarray"}


@pytest.mark.parametrize("path", sources("sve", "solvers"), ids=lambda p: p.name)
def test_solvers_know_neither_dask_nor_xarray(path):
    assert not third_party(path) & {"dask", "distributed", "xarray", "generators"}


@pytest.mark.parametrize(
    "path",
    [p for p in sources("sve") if not {"study", "multiscale", "cli"} & set(p.parts)],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_only_the_study_layer_and_above_know_dask(path):
    assert not third_party(path) & {"dask", "distributed"}


@pytest.mark.parametrize("path", sources("sve") + sources("generators"), ids=lambda p: p.name)
def test_no_global_seeding(path):
    text = path.read_text()
    assert "np.random.seed(" not in text and "RandomState(" not in text
