"""The CI contract: .ci/run runs the README's test command, and a tier whose tools are missing
fails under CI=true instead of skipping (tests/toolchain.py)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT
from tests.toolchain import unavailable, upstream_mirror


def _commands(text: str) -> list[str]:
    return [line.split("#", 1)[0].strip() for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_ci_run_calls_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    fence = re.search(r"```(?:bash|sh)?\n(.*?)```", readme, re.S)
    assert fence, "README.md has no set-up code block"
    setup = _commands(fence.group(1))
    assert len(setup) == 2, f"README.md keeps exactly two set-up commands, found {setup}"
    test_cmd = next(c for c in setup if "test" in c)
    ci = _commands((ROOT / ".ci" / "run").read_text())
    assert any(line.startswith(test_cmd) for line in ci), f".ci/run does not call {test_cmd!r}: {ci}"


@pytest.mark.parametrize("value", ["true", "1", "TRUE"])
def test_missing_tools_fail_in_ci(monkeypatch, value):
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="CI=true: a tier whose tools are missing fails"):
        unavailable("helm not on PATH")


def test_missing_tools_skip_on_a_developer_machine(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="helm not on PATH"):
        unavailable("helm not on PATH")


def test_upstream_mirror_defaults_beside_the_checkout(monkeypatch, tmp_path):
    monkeypatch.delenv("KFSTACK_UPSTREAM_MIRROR", raising=False)
    assert upstream_mirror() == ROOT.parent / "shared" / "upstream"
    monkeypatch.setenv("KFSTACK_UPSTREAM_MIRROR", str(tmp_path))
    assert upstream_mirror() == tmp_path
