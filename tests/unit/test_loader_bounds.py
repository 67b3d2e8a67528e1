"""Item 5 of issue 13: the loader refuses oversized, deeply nested and alias-bomb input.

Each case is refused with the file, the key path and the reason, before the work it
would cost; the CLI cases run under a 500 MiB address-space limit, so a loader that
expanded the input would fail them with a MemoryError instead of exit 2. No timing
assertions here: bench/loader_bench.py prints how long each refusal takes.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from kfstack.config import ConfigError
from kfstack.config.loader import MAX_ALIASES, MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES, load_environment
from tests.conftest import ROOT, copy_project, environments_with_base

DEV = (ROOT / "environments" / "dev.yaml").read_text()
MEMORY_LIMIT = 500 << 20


def alias_bomb(levels: int, width: int = 10, key: str = "bomb") -> str:
    """``levels`` nested lists of ``width`` aliases each: width**levels values once expanded."""
    out = [f"{key}:", f"  l0: &l0 [{', '.join(['lol'] * width)}]"]
    out += [f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(out) + "\n"


def _load(tmp_path: Path, text: str | bytes, name: str = "dev"):
    env_dir = environments_with_base(tmp_path)
    target = env_dir / f"{name}.yaml"
    target.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ConfigError) as info:
        load_environment(env_dir, name, display_root=tmp_path)
    (problem,) = info.value.problems
    assert problem.file == f"environments/{name}.yaml"
    return problem


def test_alias_bomb_is_refused_naming_its_key(tmp_path):
    p = _load(tmp_path, DEV + alias_bomb(levels=9))  # 10**9 values expanded, 80 aliases
    assert p.path == ("bomb", "l4") and "through its YAML aliases" in p.message
    assert p.line == DEV.count("\n") + 6


def test_too_many_aliases(tmp_path):
    refs = ", ".join(["*a"] * (MAX_ALIASES + 1))
    p = _load(tmp_path, DEV + f"x: &a [1]\ny: [{refs}]\n")
    assert p.path[0] == "y" and f"more than {MAX_ALIASES} YAML aliases" in p.message


def test_recursive_alias(tmp_path):
    p = _load(tmp_path, DEV + "x: &a [1, *a]\n")
    assert p.path == ("x", 1) and "contains itself" in p.message


def test_50_mb_file_is_refused_before_parsing(tmp_path):
    filler = ("# " + "x" * 78 + "\n") * ((50 << 20) // 81)
    p = _load(tmp_path, DEV + filler)
    assert p.path == () and p.message.startswith("refused: file is 50.0 MiB")
    assert f"at most {MAX_FILE_BYTES >> 10} KiB" in p.message


def test_deep_nesting_is_refused_not_a_recursion_error(tmp_path):
    p = _load(tmp_path, DEV + "x: " + "[" * 5000 + "]" * 5000 + "\n")
    assert p.path == ("x",) + (0,) * MAX_DEPTH and f"nested more than {MAX_DEPTH} levels" in p.message


def test_many_values_are_refused(tmp_path):
    p = _load(tmp_path, DEV + "x: [" + ",".join(["1"] * (MAX_NODES + 10)) + "]\n")
    assert p.path[0] == "x" and f"more than {MAX_NODES:,} values" in p.message


def test_control_character_names_line(tmp_path):
    p = _load(tmp_path, DEV + "x: \x00\n")
    assert p.line == DEV.count("\n") + 1 and "U+0000" in p.message


def test_shipped_files_are_far_below_the_bounds():
    for path in (ROOT / "environments").glob("*.yaml"):
        assert path.stat().st_size * 16 < MAX_FILE_BYTES, path


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the project's sources and environments (no .venv, no output)."""
    return copy_project(tmp_path_factory.mktemp("bounds") / "proj")


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@pytest.mark.parametrize("command", [["main.py"], ["-m", "kfstack.cli", "validate"]], ids=["synth", "validate"])
@pytest.mark.parametrize("kind", ["alias-bomb", "50MB"])
def test_cli_refuses_within_500_mib_exit_2_nothing_written(project, command, kind):
    staging = project / "environments" / "staging.yaml"
    original = staging.read_text()
    extra = alias_bomb(levels=40) if kind == "alias-bomb" else ("#" * 99 + "\n") * ((50 << 20) // 100)
    staging.write_text(original + extra)
    try:
        result = subprocess.run([sys.executable, *command], cwd=project, capture_output=True, text=True,
                                timeout=300, preexec_fn=_limited, env={**os.environ, "PYTHONPATH": str(project)})
    finally:
        staging.write_text(original)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr
    assert "environments/staging.yaml" in result.stderr and "refused:" in result.stderr
    if kind == "alias-bomb":  # 10**40 values: refused by the alias count before any expansion
        assert "bomb.l11[0]: refused: more than 100 YAML aliases" in result.stderr
    assert not (project / "cdktf.out").exists()


def test_aliases_cannot_nest_deeper_than_the_bound(tmp_path):
    """Each alias re-uses a 30-deep value: few nodes and aliases, but 3000 levels once expanded."""
    lines = ["chain:", "  l0: &l0 x"]
    for i in range(1, 100):
        lines.append(f"  l{i}: &l{i} " + "[" * 30 + f"*l{i - 1}" + "]" * 30)
    p = _load(tmp_path, DEV + "\n".join(lines) + "\n")
    assert p.path[:1] == ("chain",) and "once its YAML aliases are expanded" in p.message


def test_mutated_environment_files_never_escape_as_tracebacks(tmp_path):
    """Deterministic fuzz: 600 random edits of the shipped files load or fail with a ConfigError, nothing else."""
    import random

    env_dir = environments_with_base(tmp_path)
    sources = [(ROOT / "environments" / f"{n}.yaml").read_text() for n in ("dev", "prod", "staging", "local")]
    pieces = list(":-[]{}&*!|>'\"#,? \n\t%@`0123456789az.") + [
        "\n  ", ": ", "- ", "!!int ", "!!binary ", "!!float ", "!!timestamp ", "!!set ", "<<: ", "~", ".inf",
        "1e9999", "2024-01-01", "&a ", "*a ", "? "]
    rng = random.Random(13)
    for _ in range(600):
        text = list(rng.choice(sources))
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(text))
            op = rng.random()
            if op < 0.4:
                text.insert(i, rng.choice(pieces))
            elif op < 0.7:
                del text[i]
            else:
                text[i] = rng.choice(pieces)
        (env_dir / "fuzz.yaml").write_text("".join(text))
        try:
            load_environment(env_dir, "fuzz")
        except ConfigError:
            pass
