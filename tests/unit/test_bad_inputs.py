"""The bad-input corpus (tests/fixtures/bad_inputs): every file is refused with its key path and reason.

Each fixture is a whole environment file loaded next to the real base.yaml; its
header names the key path and a piece of the message (see the corpus README).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kfstack.config import ConfigError
from kfstack.config.errors import format_path
from kfstack.config.loader import load_environment
from tests.conftest import ROOT

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
    env_dir = tmp_path / "environments"
    env_dir.mkdir()
    shutil.copy(ROOT / "environments" / "base.yaml", env_dir / "base.yaml")
    shutil.copy(fixture, env_dir / f"{env}.yaml")
    return load_environment(env_dir, env, display_root=tmp_path)


def test_corpus_is_not_empty():
    assert len(FIXTURES) >= 4
    for fixture in FIXTURES:
        h = header(fixture)
        assert {"expect", "message", "schema"} <= set(h), f"{fixture.name}: header incomplete: {h}"
        assert h["schema"] in ("reject", "accept"), fixture.name


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
