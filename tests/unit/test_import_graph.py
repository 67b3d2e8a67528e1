"""The shape of kfstack's imports, read from the source with ``ast`` (nothing is imported)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "kfstack"
ENGINE_MODULES = ("cdktf", "constructs", "cdktf_cdktf_provider_")
"""Top-level modules of the CDK engine: only ``kfstack/cdk.py`` imports them."""


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import statement in ``path``, at any depth (function-level too)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
    return out


def is_engine(module: str) -> bool:
    top = module.split(".")[0]
    return top in ("cdktf", "constructs") or top.startswith("cdktf_cdktf_provider_")


@pytest.mark.parametrize("root", ["kfstack", "tests", "bench"])
def test_engine_imported_only_through_kfstack_cdk(root: str) -> None:
    base = PACKAGE.parent / root
    offenders = [f"{path.relative_to(PACKAGE.parent)}:{line}: {module}"
                 for path in sorted(base.rglob("*.py")) if path != PACKAGE / "cdk.py"
                 for line, module in imported_modules(path) if is_engine(module)]
    assert not offenders, "import these names from kfstack.cdk instead:\n" + "\n".join(offenders)


def test_the_engine_check_sees_an_engine_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from cdktf_cdktf_provider_helm.release import Release\nimport constructs\n")
    assert sorted(m for _, m in imported_modules(sample) if is_engine(m)) == [
        "cdktf_cdktf_provider_helm.release", "constructs"]


CONFIG_PACKAGE = "kfstack.config"
"""The environment package: it assembles the components' settings, so no construct may import it back."""


def config_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of ``kfstack.config`` or a submodule in ``path``, at any depth,
    including ``from kfstack import config``."""
    out = [(line, m) for line, m in imported_modules(path) if m == CONFIG_PACKAGE or m.startswith(CONFIG_PACKAGE + ".")]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module == "kfstack" and node.level == 0:
            out += [(node.lineno, f"kfstack.{a.name}") for a in node.names if a.name == "config"]
    return sorted(out)


def test_no_construct_imports_the_config_package() -> None:
    """Constructs take their settings types from their own packages (node pools and the registry mirror
    are the cluster baseline's); only the config package looks the other way."""
    offenders = [f"{path.relative_to(PACKAGE.parent)}:{line}: {module}"
                 for path in sorted((PACKAGE / "constructs").rglob("*.py"))
                 for line, module in config_imports(path)]
    assert not offenders, "constructs must not import kfstack.config:\n" + "\n".join(offenders)


def test_the_config_check_sees_every_form_of_config_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import kfstack.configuration\nfrom kfstack import model\n"
                      "def f():\n    from kfstack.config.environment import NodePool\n"
                      "import kfstack.config\nfrom kfstack import config, model\n")
    assert config_imports(sample) == [(4, "kfstack.config.environment"), (5, "kfstack.config"), (6, "kfstack.config")]


# --- import cycles ------------------------------------------------------------------------------

ALLOWED_CYCLES: dict[frozenset[str], str] = {}
"""Known cycles being removed elsewhere, each with the reason (strongly connected set -> why).

Empty: kfstack has no import cycle. An entry is a temporary debt, never a design; name the change
that removes it."""


def module_files(package: Path) -> dict[str, Path]:
    """Dotted module name -> file of every module of ``package`` (a package is its ``__init__.py``)."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports, read with ``ast`` (nothing is imported).

    Every import statement counts, at any depth: module level, inside functions and under
    ``if TYPE_CHECKING:`` (a type-only import in both directions is still a tangle).
    ``from pkg import name`` is ``pkg.name`` when that is a module, else ``pkg``; relative imports
    are resolved against the importing module. Importing ``a.b.c`` runs ``a/__init__`` and
    ``a/b/__init__`` first, so it is an import of those packages too, unless the importer is
    inside them (then they are already being imported).
    """
    files = module_files(package)
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        targets: set[str] = set()

        def add(module: str) -> None:
            while module and module not in files:  # a name inside a module: the module
                module = module.rpartition(".")[0]
            if not module:
                return  # not a module of the package
            parts = module.split(".")
            for i in range(1, len(parts) + 1):
                ancestor = ".".join(parts[:i])
                if i == len(parts) or not (name == ancestor or name.startswith(ancestor + ".")):
                    targets.add(ancestor)

        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    add(alias.name)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name if is_package else name.rpartition(".")[0]
                    for _ in range(node.level - 1):
                        base = base.rpartition(".")[0]
                    module = f"{base}.{node.module}" if node.module else base
                else:
                    module = node.module or ""
                for alias in node.names:
                    add(f"{module}.{alias.name}" if f"{module}.{alias.name}" in files else module)
        targets.discard(name)
        graph[name] = targets
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[tuple[frozenset[str], list[str]]]:
    """Every strongly connected set of two or more modules, with one cycle through it
    (``[a, b, a]``: a imports b imports a). Tarjan's algorithm, iterative."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                members = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.add(member)
                    if member == node:
                        break
                if len(members) > 1:
                    found.append(frozenset(members))
    return [(members, _cycle_through(graph, members)) for members in found]


def _cycle_through(graph: dict[str, set[str]], members: frozenset[str]) -> list[str]:
    """The shortest import path from the first member (by name) back to itself, inside ``members``."""
    start = min(members)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for child in sorted(graph[node] & members):
            if child == start:
                return paths[node] + [start]
            if child not in paths:
                paths[child] = paths[node] + [child]
                queue.append(child)
    raise AssertionError(f"{sorted(members)} is not strongly connected")


def test_kfstack_has_no_import_cycle() -> None:
    cycles = [(members, path) for members, path in import_cycles(import_graph(PACKAGE))
              if members not in ALLOWED_CYCLES]
    assert not cycles, "import cycles (module-level and function-level imports both count):\n" + "\n".join(
        " -> ".join(path) for _, path in cycles)
    stale = [sorted(m) for m in ALLOWED_CYCLES if m not in {c for c, _ in import_cycles(import_graph(PACKAGE))}]
    assert not stale, f"allowed cycles that no longer exist (remove them from ALLOWED_CYCLES): {stale}"


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for rel, text in {"__init__.py": "", **files}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_the_cycle_check_finds_a_cycle_through_a_function_level_relative_import(tmp_path: Path) -> None:
    package = _package(tmp_path, {
        "a.py": "from pkg.sub import b\n",
        "sub/__init__.py": "",
        "sub/b.py": "from pkg.sub.c import VALUE\n",
        "sub/c.py": "VALUE = 1\n\ndef later():\n    from .. import a\n    return a\n",
        "d.py": "import pkg.a\n",
    })
    graph = import_graph(package)
    assert graph["pkg.a"] == {"pkg.sub", "pkg.sub.b"}  # `from pkg.sub import b`: the module b, via its package
    assert graph["pkg.sub.b"] == {"pkg.sub.c"}         # `from pkg.sub.c import VALUE`: a name, so the module
    assert graph["pkg.sub.c"] == {"pkg.a"}             # relative `from .. import a`, inside a function
    assert [(sorted(m), path) for m, path in import_cycles(graph)] == [
        (["pkg.a", "pkg.sub.b", "pkg.sub.c"], ["pkg.a", "pkg.sub.b", "pkg.sub.c", "pkg.a"])]


def test_the_cycle_check_sees_a_package_init_import(tmp_path: Path) -> None:
    # `x` imports `pkg.sub.leaf`, which runs pkg/sub/__init__.py, which imports `x`.
    package = _package(tmp_path, {
        "x.py": "from pkg.sub.leaf import f\n",
        "sub/__init__.py": "from pkg.x import *\n",
        "sub/leaf.py": "def f():\n    return 1\n",
    })
    assert [path for _, path in import_cycles(import_graph(package))] == [["pkg.sub", "pkg.x", "pkg.sub"]]


LEAVES = ("kfstack.errors", "kfstack.versions", "kfstack.yamledit", "kfstack.engine", "kfstack.sources.chartref")
"""Modules every layer may import: they import nothing from kfstack but each other."""


def test_leaves_import_only_leaves_and_sources_never_config() -> None:
    """Errors, versions, YAML edits, the engine and ChartRef are leaves; the sources layer raises
    ConfigError from kfstack.errors and never loads kfstack.config."""
    graph = import_graph(PACKAGE)
    not_leaves = sorted(f"{m} -> {t}" for m in LEAVES for t in graph[m] if t not in LEAVES and t != "kfstack")
    assert not not_leaves, not_leaves
    offenders = sorted(f"{m} -> {t}" for m, targets in graph.items() if m.startswith("kfstack.sources")
                       for t in targets if t == "kfstack.config" or t.startswith("kfstack.config."))
    assert not offenders, offenders
