"""Which way imports may go: read from every module's source (``ast``), nothing is imported.

The layers, bottom up::

    pixelfox_protocol   the contract; imports nothing of the project
    pixelfox_common     helpers both services share; no service, no CLI, no lab
    pixelfox_storage    the node; never the control app
    pixelfox_app        the control app
    pixelfox_cli, pixelfox_lab

No package imports ``tests`` or ``bench``, and ``bench`` does not import the
test harness ``tests.support`` (it has its own, ``bench/harness.py``).

No two modules, and no two folders of one package (``pixelfox_app/upload/``
and ``pixelfox_app/internal/``), depend on each other in a circle.

The layer rules count every import: at module level, under ``TYPE_CHECKING``
and inside a function alike, because a deferred import of a higher layer is
still a dependency on it (the node could not run without the app installed).
The circle rules count the imports at module level and those under
``TYPE_CHECKING``: both say what a module is built on, and a circle that only
``TYPE_CHECKING`` keeps from failing at import time is still two modules that
cannot be understood apart. They leave out imports inside functions: those are
the app factories' blueprints and the CLI's commands loaded when they run (to
start quickly), and they cannot leave a module half initialised.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "pixelfox_protocol",
    "pixelfox_common",
    "pixelfox_storage",
    "pixelfox_app",
    "pixelfox_cli",
    "pixelfox_lab",
)
SERVICES = ("pixelfox_app", "pixelfox_storage")
TOOLS = ("pixelfox_cli", "pixelfox_lab")
NOT_SHIPPED = ("tests", "bench")
# package → the modules (and everything below them) it must never import
FORBIDDEN: dict[str, frozenset[str]] = {
    "pixelfox_protocol": frozenset({*PACKAGES, *NOT_SHIPPED} - {"pixelfox_protocol"}),
    "pixelfox_common": frozenset({*SERVICES, *TOOLS, *NOT_SHIPPED}),
    "pixelfox_storage": frozenset({"pixelfox_app", *TOOLS, *NOT_SHIPPED}),
    "pixelfox_app": frozenset({*TOOLS, *NOT_SHIPPED}),
    "pixelfox_cli": frozenset(NOT_SHIPPED),
    "pixelfox_lab": frozenset(NOT_SHIPPED),
    "bench": frozenset({"tests.support"}),
}
# Circles that exist on this branch and are being removed by the layout work
# (issue 11); each entry is one circle as the test reports it, sorted. Empty it
# as they go: an entry that no longer matches a circle fails the test too.


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the project module it names (the most specific one that exists)
    line: int
    kind: str  # "module" (runs on load), "type_checking" or "function"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    modules = {}
    for top in (*PACKAGES, "bench"):
        for path in sorted((ROOT / top).rglob("*.py")):
            modules[_module_name(path)] = path
    return modules


MODULES = _sources()


def _is_package(module: str) -> bool:
    return MODULES.get(module, Path()).name == "__init__.py"


def _absolute(module: str, level: int, name: str | None) -> str:
    """The absolute name of ``from <level dots><name> import …`` written in ``module``."""
    if level == 0:
        return name or ""
    base = module.split(".")
    if not _is_package(module):
        base.pop()
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


def _resolve(name: str) -> str:
    """The most specific project module that ``name`` reaches (``a.b.func`` → ``a.b``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, kind: str) -> Iterator[tuple[ast.Import | ast.ImportFrom, str]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, kind
        elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from _walk(child, "function")
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            inner = "function" if kind == "function" else "type_checking"
            for statement in child.body:
                yield from _walk(ast.Module(body=[statement], type_ignores=[]), inner)
            for statement in child.orelse:
                yield from _walk(ast.Module(body=[statement], type_ignores=[]), kind)
        else:
            yield from _walk(child, kind)


def imports_of(module: str) -> list[Import]:
    tree = ast.parse(MODULES[module].read_text(), str(MODULES[module]))
    found: list[Import] = []
    for statement, kind in _walk(tree, "module"):
        if isinstance(statement, ast.Import):
            names = [alias.name for alias in statement.names]
        else:
            source = _absolute(module, statement.level, statement.module)
            # ``from pkg import sub`` imports the submodule when there is one.
            names = [f"{source}.{alias.name}" for alias in statement.names]
            names = [n if _resolve(n) == n else source for n in names]
        for name in dict.fromkeys(names):
            top = name.split(".")[0]
            # tests/ is not read: its modules count by name.
            target = name if top == "tests" else _resolve(name)
            if target and target != module:
                found.append(Import(module, target, statement.lineno, kind))
    return found


ALL_IMPORTS = [i for module in MODULES for i in imports_of(module)]


def _circles(edges: dict[str, set[str]]) -> list[tuple[str, ...]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[tuple[str, ...]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(tuple(sorted(component)))
    return sorted(found)


def folder(module: str) -> str:
    """The first folder below the package (``pixelfox_app.upload.proxy`` → ``pixelfox_app.upload``).

    A module directly in the package stands for itself.
    """
    parts = module.split(".")
    if len(parts) > 2 or (len(parts) == 2 and _is_package(module)):
        return ".".join(parts[:2])
    return module


def static_circles(group: Callable[[str], str] = lambda module: module) -> list[tuple[str, ...]]:
    """Circles among modules (or the groups ``group`` puts them in), function imports left out."""
    edges: dict[str, set[str]] = {}
    for imp in ALL_IMPORTS:
        if imp.kind != "function" and imp.target in MODULES:
            source, target = group(imp.module), group(imp.target)
            edges.setdefault(source, set())
            edges.setdefault(target, set())
            if source != target:
                edges[source].add(target)
    return _circles(edges)


def test_every_project_package_is_read():
    for top in (*PACKAGES, "bench"):
        assert any(m == top or m.startswith(f"{top}.") for m in MODULES), top
    assert len(ALL_IMPORTS) > 100


def _forbidden(imp: Import) -> bool:
    banned = FORBIDDEN.get(imp.module.split(".")[0], frozenset())
    return any(imp.target == b or imp.target.startswith(f"{b}.") for b in banned)


def test_no_package_imports_a_layer_above_it():
    wrong = [
        f"{MODULES[i.module].relative_to(ROOT)}:{i.line}: {i.module} imports {i.target}"
        for i in ALL_IMPORTS
        if _forbidden(i)
    ]
    assert wrong == [], "\n".join(wrong)


def _where(circle: tuple[str, ...], group: Callable[[str], str]) -> list[str]:
    """The imports that close ``circle``: file:line, importer, imported."""
    members = set(circle)
    return [
        f"{MODULES[i.module].relative_to(ROOT)}:{i.line}: {i.module} -> {i.target} ({i.kind})"
        for i in ALL_IMPORTS
        if i.kind != "function"
        and i.target in MODULES
        and group(i.module) in members
        and group(i.target) in members
        and group(i.module) != group(i.target)
    ]


@pytest.mark.parametrize(
    "group", [pytest.param(lambda m: m, id="modules"), pytest.param(folder, id="folders")]
)
def test_no_modules_or_folders_import_each_other_in_a_circle(group: Callable[[str], str]):
    circles = set(static_circles(group))
    new = sorted(circles)
    assert new == [], "\n\n".join("\n".join(_where(c, group)) for c in new)


def test_the_reader_sees_relative_imports_deferred_ones_and_circles():
    # The reader itself, on modules that stay put: a relative import resolves to
    # the submodule it names, and a made-up circle is found.
    resolved = {i.target for i in imports_of("pixelfox_app.placement.choose")}
    assert {"pixelfox_app.placement.eligibility", "pixelfox_app.knobs"} <= resolved
    assert _absolute("pixelfox_app.placement", 1, "choose") == "pixelfox_app.placement.choose"
    assert _absolute("pixelfox_app.placement.choose", 2, None) == "pixelfox_app"
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _circles(edges) == [("a", "b", "c")]
    assert folder("pixelfox_app.web.admin.moves") == "pixelfox_app.web"
    assert folder("pixelfox_app.config") == "pixelfox_app.config"
    assert folder("pixelfox_app.upload") == "pixelfox_app.upload"
