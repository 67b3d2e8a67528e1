"""kfstack changed-envs: which environments a pull request's changed files touch."""

from __future__ import annotations

import subprocess

import pytest

from kfstack.changed_envs import changed_files, envs_for_paths

ENVS = ["dev", "local", "prod", "staging"]


@pytest.mark.parametrize("paths, expected", [
    (["environments/dev.yaml"], ["dev"]),
    (["environments/prod.yaml", "environments/staging.yaml", "README.md"], ["prod", "staging"]),
    (["./environments/staging.yaml"], ["staging"]),
    (["environments/base.yaml"], ENVS),
    (["sources.lock"], ENVS),
    (["kfstack/constructs/istio/construct.py"], ENVS),
    (["charts/raw-manifests/templates/manifests.yaml"], ENVS),
    (["main.py"], ENVS),
    (["README.md", "docs/environment.md", "tests/unit/test_istio.py", ".github/workflows/plan.yml"], []),
    (["environments/removed.yaml"], []),          # deleted environment: nothing to plan
    (["environments/sub/dev.yaml"], []),
    ([], []),
])
def test_rules(paths, expected):
    assert envs_for_paths(paths, ENVS) == expected


def test_changed_files_from_git(tmp_path):
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("config", "user.email", "t@example.invalid")
    git("config", "user.name", "t")
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "dev.yaml").write_text("tier: development\n")
    git("add", ".")
    git("commit", "-qm", "base")
    git("checkout", "-qb", "change")
    (tmp_path / "environments" / "dev.yaml").write_text("tier: staging\n")
    git("commit", "-qam", "change dev")
    (tmp_path / "notes.md").write_text("x\n")
    git("add", "notes.md")  # staged, not committed: still part of the change
    assert changed_files("main", tmp_path) == ["environments/dev.yaml", "notes.md"]
    assert envs_for_paths(changed_files("main", tmp_path), ENVS) == ["dev"]
    with pytest.raises(RuntimeError, match="git diff"):
        changed_files("no-such-ref", tmp_path)


def test_the_pull_request_workflow_only_calls_the_package():
    """.github/workflows/plan.yml: changed-envs → matrix of `kfstack plan <env>` → comment with the summary."""
    import re

    import yaml

    from kfstack.app import PROJECT_ROOT
    from kfstack.cli import app

    text = (PROJECT_ROOT / ".github" / "workflows" / "plan.yml").read_text()
    flow = yaml.safe_load(text)
    assert "pull_request" in flow[True]  # YAML 1.1 reads the `on:` key as True
    commands = set(re.findall(r"\.venv/bin/kfstack ([a-z-]+)", text))
    assert commands == {"changed-envs", "plan", "check"}
    registered = {c.name or c.callback.__name__ for c in app.registered_commands}
    assert commands <= registered
    steps = flow["jobs"]["plan"]["steps"]
    assert flow["jobs"]["plan"]["strategy"]["matrix"]["env"] == "${{ fromJSON(needs.envs.outputs.envs) }}"
    assert any("github-script" in s.get("uses", "") for s in steps)
