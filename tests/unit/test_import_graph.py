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
