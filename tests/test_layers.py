"""Imports run one way, and no module of a package imports itself back through another.

Read from the source with ``ast``: every ``import`` counts, at module level, inside functions and under
``TYPE_CHECKING`` alike, since each is a dependency a reader must follow.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Our packages: name -> (package folder, extra script files that belong to it).
PACKAGES: Dict[str, Tuple[Path, Tuple[Path, ...]]] = {
    "ftpvm_wire": (ROOT / "wire" / "ftpvm_wire", ()),
    "ftpvm_core": (ROOT / "ftpvm_core", ()),
    "ftpvm_server": (ROOT / "server" / "ftpvm_server", ()),
    "ftpvm_client": (ROOT / "plugins" / "ftpvm_client", ()),
    "ftpvm_nuke": (ROOT / "plugins" / "nuke" / "ftpvm_nuke",
                   (ROOT / "plugins" / "nuke" / "init.py", ROOT / "plugins" / "nuke" / "menu.py")),
    "ftpvm_blender": (ROOT / "plugins" / "blender" / "ftpvm_blender",
                      (ROOT / "plugins" / "blender" / "build_extension.py",)),
    "ftpvm_resolve": (ROOT / "plugins" / "resolve" / "ftpvm_resolve",
                      (ROOT / "plugins" / "resolve" / "FTPVM Matte.py",)),
    "ftpvm_cli": (ROOT / "apps" / "ftpvm_cli", ()),
}
PLUGIN_MAY_IMPORT = {"ftpvm_client", "ftpvm_wire"}
#: What each package may import of ours (besides itself); the command line may import everything.
ALLOWED: Dict[str, Set[str]] = {
    "ftpvm_wire": set(),
    "ftpvm_core": {"ftpvm_wire"},
    "ftpvm_server": {"ftpvm_core", "ftpvm_wire"},
    "ftpvm_client": {"ftpvm_wire"},
    "ftpvm_nuke": PLUGIN_MAY_IMPORT,
    "ftpvm_blender": PLUGIN_MAY_IMPORT,
    "ftpvm_resolve": PLUGIN_MAY_IMPORT,
    "ftpvm_cli": set(PACKAGES),
}


def modules(package: str) -> Iterator[Tuple[str, Path, bool]]:
    """(dotted module name, file, is a package __init__) of every module of ``package``."""
    folder, scripts = PACKAGES[package]
    for path in sorted(folder.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = list(path.relative_to(folder).with_suffix("").parts)
        is_init = parts[-1] == "__init__"
        if is_init:
            parts.pop()
        yield ".".join([package, *parts]), path, is_init
    for script in scripts:
        yield f"{package}.<{script.name}>", script, False


def imported_names(module: str, path: Path, is_init: bool) -> Iterator[Tuple[str, int]]:
    """(absolute dotted name, line) of everything ``path`` imports; ``from X import y`` gives ``X.y``."""
    here = module.split(".") if is_init else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here[:len(here) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                yield (f"{base}.{alias.name}" if alias.name != "*" else base), node.lineno


def test_every_package_is_found():
    for package, (folder, scripts) in PACKAGES.items():
        assert (folder / "__init__.py").is_file(), package
        assert all(s.is_file() for s in scripts), scripts


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_imports_point_down(package):
    allowed = ALLOWED[package] | {package}
    wrong: List[str] = []
    for module, path, is_init in modules(package):
        for name, line in imported_names(module, path, is_init):
            top = name.split(".")[0]
            if top in PACKAGES and top not in allowed:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert not wrong, f"{package} may import only {sorted(allowed)}:\n" + "\n".join(wrong)


def _graph(package: str) -> Dict[str, Set[str]]:
    """Module -> the modules of the same package it imports (``from pkg import name`` points at ``pkg.name``
    when that is a module, else at ``pkg``)."""
    found = list(modules(package))
    names = {m for m, _, _ in found}
    graph: Dict[str, Set[str]] = {m: set() for m in names}
    for module, path, is_init in found:
        for name, _ in imported_names(module, path, is_init):
            target = name
            while target and target not in names:
                target = target.rpartition(".")[0]
            if target and target != module:
                graph[module].add(target)
    return graph


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    out: List[List[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_cycle_finder_sees_a_cycle_through_a_function_level_import(tmp_path):
    graph = {"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}, "p.d": {"p.a"}}
    assert cycles(graph) == [["p.a", "p.b", "p.c"]]
    assert cycles({"p.a": {"p.b"}, "p.b": set()}) == []
    source = tmp_path / "m.py"
    source.write_text("def f():\n    from .shot import Shot\n")
    assert ("p.engine.shot.Shot", 2) in list(imported_names("p.engine.engine", source, False))


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_no_import_cycles_inside_a_package(package):
    found = cycles(_graph(package))
    assert not found, f"{package} has import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)
