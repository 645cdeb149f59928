"""The library's modules import each other without cycles, at the top of each module.

A module's header is then its true list of dependencies, and the modules can be read (and
taught) in an order where each needs only those before it.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "alexnet_lib"

# Imports that may stay inside a function: optional extras, or costly imports used by one function.
OPTIONAL_INSIDE = {"google.colab", "IPython", "IPython.display", "myst_nb", "ipywidgets", "matplotlib",
                   "matplotlib.pyplot", "scipy", "scipy.stats", "sklearn.datasets", "skimage", "skimage.transform",
                   "threadpoolctl", "torchvision.models", "PIL"}


@functools.cache
def _modules() -> dict[str, ast.Module]:
    """Every module of the package by its dotted name below the package (``train``, ``bench.conv``),
    parsed once per test session (each test of this file reads them; none changes them)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1] or ["__init__"]
        found[".".join(parts)] = ast.parse(path.read_text())
    return found


def _package_of(name: str) -> list[str]:
    """The package a module is in, as a list of names (``bench.conv`` -> ``["bench"]``)."""
    is_package = (PACKAGE / name.replace(".", "/") / "__init__.py").exists()
    parts = [] if name == "__init__" else name.split(".")
    return parts if is_package else parts[:-1]


def _internal(name: str, node: ast.ImportFrom, modules: set[str]) -> list[str]:
    """The package's modules that a relative import in module ``name`` names."""
    if not node.level:
        return []
    base = _package_of(name)[: len(_package_of(name)) - (node.level - 1)]
    if node.module:
        target = ".".join([*base, node.module])
        candidates = [target]
    else:
        candidates = [".".join([*base, alias.name]) for alias in node.names]
        target = ".".join(base)
    out = [c for c in candidates if c in modules]
    if not out and target in modules:
        out = [target]
    return out or (["__init__"] if not base and not node.module else [])


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, tree in modules.items():
        graph[name] = {m for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                       for m in _internal(name, node, set(modules))}
        graph[name] -= {"__init__", name}
        # a package's __init__ gathers its modules; its modules never import it back
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of imports as a list of modules (first = last), or None."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if state.get(nxt) is None:
                found = visit(nxt)
                if found:
                    return found
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if state.get(node) is None:
            found = visit(node)
            if found:
                return found
    return None


def test_the_library_has_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("name", sorted(_modules()))
def test_imports_are_at_the_top(name):
    """No import of the package's own modules inside a function, and only optional extras there."""
    tree = _modules()[name]
    top = {id(node) for node in tree.body}
    for block in tree.body:  # `if TYPE_CHECKING:` and try/except blocks count as the top
        if isinstance(block, (ast.If, ast.Try)):
            top |= {id(node) for node in ast.walk(block)}
    inside = [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in top]
    wrong = []
    for node in inside:
        if isinstance(node, ast.ImportFrom) and node.level:
            wrong.append(f"line {node.lineno}: from {'.' * node.level}{node.module or ''} import ...")
            continue
        names = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
        wrong += [f"line {node.lineno}: {n}" for n in names if n not in OPTIONAL_INSIDE]
    assert not wrong, f"{name}.py imports inside functions: {wrong}"


def _map() -> list[list[str]]:
    """The package docstring's map: the modules of each layer, in order."""
    import re

    doc = ast.get_docstring(_modules()["__init__"]) or ""
    layers = []
    for block in re.split(r"^\*\*.+\*\*.*$", doc, flags=re.M)[1:]:
        layers.append(re.findall(r":mod:`~alexnet_lib\.([\w.]+)`", block))
    return layers


def test_the_package_docstring_maps_every_module_once():
    named = [m for layer in _map() for m in layer]
    modules = {name.split(".")[0] for name in _modules() if name != "__init__"}
    assert sorted(named) == sorted(set(named)), "a module named twice in the map"
    assert set(named) == modules, f"not in the map: {modules - set(named)}; not modules: {set(named) - modules}"


def test_a_module_uses_only_its_layer_and_the_layers_before_it():
    layer_of = {m: i for i, layer in enumerate(_map()) for m in layer}
    wrong = []
    for name, tree in _modules().items():
        top = name.split(".")[0]
        if top == "__init__":
            continue
        for node in ast.walk(tree):
            inside = len(_package_of(name))  # 1 in a subpackage (bench, widgets): `from .x` is a sibling there
            if isinstance(node, ast.ImportFrom) and node.level == inside + 1:
                base = (node.module or "").split(".")[0]
                used = [base] if base else [a.name for a in node.names]  # `from .x import` or `from . import x`
                for other in used:
                    if other in layer_of and other != top and layer_of[other] > layer_of[top]:
                        wrong.append(f"{name} (layer {layer_of[top]}) uses {other} (layer {layer_of[other]})")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("package", ["data", "datasets"])
def test_every_public_name_of_a_package_module_is_importable_from_the_package(package):
    """``alexnet_lib.data`` and ``alexnet_lib.datasets`` re-export their modules' ``__all__``; a
    module's ``__all__`` lists every public class, function and constant it defines."""
    import importlib
    import inspect

    pkg = importlib.import_module(f"alexnet_lib.{package}")
    for info in sorted((PACKAGE / package).glob("*.py")):
        if info.stem == "__init__":
            continue
        module = importlib.import_module(f"alexnet_lib.{package}.{info.stem}")
        constants = {target.id for node in _modules()[f"{package}.{info.stem}"].body if isinstance(node, ast.Assign)
                     for target in node.targets if isinstance(target, ast.Name) and target.id.isupper()}
        defined = {name for name, obj in vars(module).items() if not name.startswith("_")
                   and ((inspect.isclass(obj) or inspect.isfunction(obj)) and obj.__module__ == module.__name__
                        or name in constants)}
        assert defined <= set(module.__all__), f"{module.__name__} does not list {defined - set(module.__all__)}"
        missing = [name for name in module.__all__ if getattr(pkg, name, None) is not getattr(module, name)]
        assert not missing and set(module.__all__) <= set(pkg.__all__), f"alexnet_lib.{package} lacks {missing}"
