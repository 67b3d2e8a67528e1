"""Issue 13 item 8: operational commands fail with one line (cause + what to do), never a traceback,
and ``kfstack plan`` never makes cdktf.out/manifest.json forget the other environments.

A missing engine: tests/unit/test_engine.py."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kfstack import plan as plan_mod
from kfstack.cli import app
from kfstack.plan import PlanError, init_cause, merge_manifest


def _one_line_error(result) -> str:
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    text = result.output.strip()
    assert "Traceback" not in text
    assert text.startswith("error:") and len(text.splitlines()) == 1, text
    return text


@pytest.fixture
def stack(tmp_path) -> Path:
    folder = tmp_path / "stacks" / "local"
    folder.mkdir(parents=True)
    (folder / "cdk.tf.json").write_text("{}")
    return folder


@pytest.mark.parametrize("command", ["drift", "recover"])
def test_missing_kubeconfig_is_one_line(monkeypatch, tmp_path, stack, command):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # local's kubeconfig is under ~/.cache
    result = CliRunner().invoke(app, [command, "local", "--stack-dir", str(stack)])
    assert result.exit_code == 2
    text = _one_line_error(result)
    assert "cannot reach the cluster of local" in text and "does not exist" in text
    assert "kfstack cluster up" in text


@pytest.mark.parametrize("content", ["not: [a kubeconfig", "apiVersion: v1\nkind: Config\nclusters: []\n"],
                         ids=["not-yaml", "no-context"])
def test_invalid_kubeconfig_is_one_line(monkeypatch, tmp_path, stack, content):
    home = tmp_path / "home"
    kubeconfig = home / ".cache" / "kfstack" / "cluster" / "local" / "kubeconfig"
    kubeconfig.parent.mkdir(parents=True)
    kubeconfig.write_text(content)
    monkeypatch.setenv("HOME", str(home))
    result = CliRunner().invoke(app, ["drift", "local", "--stack-dir", str(stack)])
    assert result.exit_code == 2
    assert "cannot be used" in _one_line_error(result)


def _exe(path: Path, body: str = "exit 0") -> Path:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


REGISTRY_FAILURE = """Initializing provider plugins...
- Finding hashicorp/kubernetes versions matching "2.38.0"...

Error: Failed to query available provider packages

Could not retrieve the list of available versions for provider hashicorp/kubernetes: could not connect to
registry.terraform.io: failed to request discovery document: Get "https://registry.terraform.io/.well-known/terraform.json":
dial tcp: lookup registry.terraform.io: no such host
"""


def test_init_registry_failure_becomes_one_line(monkeypatch):
    monkeypatch.delenv("TF_CLI_CONFIG_FILE", raising=False)
    cause = init_cause(REGISTRY_FAILURE)
    assert cause is not None and "\n" not in cause
    assert "Failed to query available provider packages" in cause and "TF_CLI_CONFIG_FILE is unset" in cause
    assert "scripts/toolchain.sh" in cause
    assert init_cause("Error: Unsupported block type") is None


def test_plan_with_an_engine_that_cannot_reach_the_registry(monkeypatch, tmp_path, real_envs):
    engine = _exe(tmp_path / "tofu", "cat <<'OUT'\n" + REGISTRY_FAILURE + "OUT\nexit 1")
    monkeypatch.setenv("KFSTACK_TF_BINARY", str(engine))
    monkeypatch.delenv("TF_CLI_CONFIG_FILE", raising=False)
    monkeypatch.setattr(plan_mod, "synth_stack", lambda env, lock, outdir, root=None: tmp_path)
    with pytest.raises(PlanError) as info:
        plan_mod.plan(real_envs["dev"], None, outdir=tmp_path / "out")
    assert str(info.value).startswith("init of dev failed: the kubernetes 2.38.0 and helm 3.1.1 providers")
    assert "\n" not in str(info.value)


def test_manifest_keeps_the_other_environments(tmp_path):
    manifest = tmp_path / "manifest.json"
    entry = lambda n: {"name": n, "synthesizedStackPath": f"stacks/{n}/cdk.tf.json"}  # noqa: E731
    manifest.write_text(json.dumps({"version": "0.21.0", "stacks": {n: entry(n) for n in ("dev", "prod", "staging")}}))
    merge_manifest(manifest, {"version": "0.21.0", "stacks": {"prod": {**entry("prod"), "new": True}}})
    data = json.loads(manifest.read_text())
    assert list(data["stacks"]) == ["dev", "prod", "staging"] and data["stacks"]["prod"]["new"] is True


def test_synth_of_one_environment_keeps_the_others_in_the_manifest(tmp_path, real_envs):
    from kfstack.sources.lock import load_lock
    from tests.conftest import ROOT

    outdir = tmp_path / "cdktf.out"
    (outdir / "stacks" / "dev" / ".terraform").mkdir(parents=True)
    (outdir / "manifest.json").write_text(json.dumps({"version": "0.21.0", "stacks": {
        n: {"name": n} for n in ("dev", "local", "prod", "staging")}}))
    folder = plan_mod.synth_stack(real_envs["dev"], load_lock(ROOT / "sources.lock"), outdir)
    assert folder == outdir / "stacks" / "dev" and (folder / "cdk.tf.json").is_file()
    assert (folder / ".terraform").is_dir()  # the initialized engine folder survives
    stacks = json.loads((outdir / "manifest.json").read_text())["stacks"]
    assert sorted(stacks) == ["dev", "local", "prod", "staging"]
    assert stacks["dev"]["synthesizedStackPath"] == "stacks/dev/cdk.tf.json"
    assert [p.name for p in outdir.iterdir() if p.name.startswith(".synth-")] == []


def test_validate_results_go_to_stdout_and_problems_to_stderr(monkeypatch, tmp_path):
    """Issue 13 item 10 (click >= 8.2 keeps the two streams apart in CliRunner)."""
    result = CliRunner().invoke(app, ["validate", "dev", "prod"])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].startswith("dev: ok (tier development")
    assert result.stdout.splitlines()[1].startswith("prod: ok (tier production")
    assert result.stderr == ""

    import kfstack.app as app_mod
    from tests.conftest import ROOT

    proj = tmp_path / "proj"
    (proj / "environments").mkdir(parents=True)
    for f in ("base.yaml", "dev.yaml"):
        (proj / "environments" / f).write_text((ROOT / "environments" / f).read_text())
    (proj / "environments" / "dev.yaml").write_text((ROOT / "environments" / "dev.yaml").read_text() + "replicsa: 3\n")
    (proj / "sources.lock").write_text((ROOT / "sources.lock").read_text())
    monkeypatch.setattr(app_mod, "PROJECT_ROOT", proj)
    monkeypatch.setattr(app_mod.load_all, "__defaults__", (proj, None))
    result = CliRunner().invoke(app, ["validate"])
    assert result.exit_code == 2 and result.stdout == ""
    assert "environments/dev.yaml:" in result.stderr and "replicsa: unknown key" in result.stderr
