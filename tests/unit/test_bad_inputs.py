"""The bad-input corpus (tests/fixtures/bad_inputs): every file is refused with its key path and reason.

Each fixture is a whole environment file loaded next to the real base.yaml; its
header names the key path and a piece of the message (see the corpus README).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kfstack.config import ConfigError
from kfstack.config.errors import format_path
from kfstack.config.loader import load_environment
from tests.conftest import ROOT, copy_project, environments_with_base

CORPUS = ROOT / "tests" / "fixtures" / "bad_inputs"
FIXTURES = sorted(CORPUS.glob("*.error.*.yaml"))


def header(path: Path) -> dict[str, str]:
    """The ``# key: value`` lines at the top of a corpus file."""
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.startswith("# ") or ":" not in line:
            break
        key, _, value = line[2:].partition(":")
        out[key.strip()] = value.strip()
    return out


def load_fixture(tmp_path: Path, fixture: Path):
    """Load ``fixture`` as environments/<env>.yaml beside the real base.yaml."""
    env = fixture.name.split(".error.")[0]
    env_dir = environments_with_base(tmp_path)
    shutil.copy(fixture, env_dir / f"{env}.yaml")
    return load_environment(env_dir, env, display_root=tmp_path)


def test_corpus_is_not_empty():
    assert len(FIXTURES) >= 4
    for fixture in FIXTURES:
        h = header(fixture)
        assert {"expect", "message", "schema"} <= set(h), f"{fixture.name}: header incomplete: {h}"
        assert h["schema"] in ("reject", "accept", "n/a"), fixture.name


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.name)
def test_refused_with_key_path_and_reason(tmp_path, fixture):
    h = header(fixture)
    env = fixture.name.split(".error.")[0]
    with pytest.raises(ConfigError) as info:
        load_fixture(tmp_path, fixture)
    problems = info.value.problems
    matching = [p for p in problems if format_path(p.path) == h["expect"] and h["message"] in p.message]
    assert matching, f"expected {h['expect']}: …{h['message']}…, got:\n{info.value}"
    assert all(p.file in (f"environments/{env}.yaml", "environments/base.yaml") for p in problems)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the project's sources and environments (no .venv, no output, no tests)."""
    return copy_project(tmp_path_factory.mktemp("corpus") / "proj")


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.name)
def test_cli_synth_exits_2_with_one_clear_line(project, fixture):
    """Through the real entry point (python main.py = cdktf's app): exit 2, no traceback, nothing written."""
    env = fixture.name.split(".error.")[0]
    target = project / "environments" / f"{env}.yaml"
    original = target.read_bytes()
    shutil.copy(fixture, target)
    try:
        result = subprocess.run([sys.executable, "main.py", env], cwd=project, capture_output=True, text=True,
                                timeout=300, env={**os.environ, "PYTHONPATH": str(project)})
    finally:
        target.write_bytes(original)
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert f"environments/{env}.yaml" in result.stderr and header(fixture)["expect"] in result.stderr
    assert not (project / "cdktf.out").exists()


def test_a_construct_refusing_its_wiring_is_one_line_naming_the_environment(monkeypatch, real_envs):
    """The safety net behind validation: a construct's ValueError never reaches the user as a traceback."""
    from kfstack import app as app_mod
    from kfstack.sources.charts import SourceError
    from kfstack.sources.lock import load_lock
    from kfstack.stacks import platform

    def refuse(*args, **kwargs):
        raise ValueError("the object store cannot be wired")

    monkeypatch.setattr(platform, "ObjectStore", refuse)
    with pytest.raises(SourceError) as info:
        app_mod.build_app({"dev": real_envs["dev"]}, load_lock(ROOT / "sources.lock"), outdir=None)
    assert str(info.value) == "environments/dev.yaml (environment 'dev'): the object store cannot be wired"
