"""kfstack plan/apply plumbing with a stand-in engine (KFSTACK_TF_BINARY): stale plans, exit codes.

Which engine runs: tests/unit/test_engine.py. The real engine runs in tests/e2e/test_plan_review.py.
"""

from __future__ import annotations

import stat

import pytest
from typer.testing import CliRunner

from kfstack.cli import app
from kfstack.plan import EXIT_ENGINE, EXIT_STALE


def fake_engine(tmp_path, stdout: str, code: int):
    path = tmp_path / "fake-tofu"
    path.write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path}/args\ncat <<'OUT'\n{stdout}\nOUT\nexit {code}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


@pytest.fixture
def initialized(tmp_path):
    (tmp_path / "out" / "stacks" / "dev" / ".terraform").mkdir(parents=True)
    plan = tmp_path / "dev.tfplan"
    plan.write_bytes(b"PK")
    return tmp_path / "out", plan


def test_apply_runs_exactly_the_saved_plan(monkeypatch, tmp_path, initialized):
    outdir, plan = initialized
    monkeypatch.setenv("KFSTACK_TF_BINARY", str(fake_engine(tmp_path, "Apply complete!", 0)))
    res = CliRunner().invoke(app, ["apply", "dev", "--plan", str(plan), "--outdir", str(outdir)])
    assert res.exit_code == 0, res.output
    args = (tmp_path / "args").read_text().split()
    assert args[0] == "apply" and args[-1] == str(plan) and "-auto-approve" not in args


def test_a_stale_plan_is_refused_with_a_clear_message(monkeypatch, tmp_path, initialized):
    outdir, plan = initialized
    stale = ("Error: Saved plan is stale\n\nThe given plan file can no longer be applied because the state was "
             "changed by another operation after the plan was created.")
    monkeypatch.setenv("KFSTACK_TF_BINARY", str(fake_engine(tmp_path, stale, 1)))
    res = CliRunner().invoke(app, ["apply", "dev", "--plan", str(plan), "--outdir", str(outdir)])
    assert res.exit_code == EXIT_STALE
    text = " ".join(res.output.split())
    assert "stale" in text and "re-run `kfstack plan dev`" in text.lower() and "Nothing was applied" in text


def test_apply_failure_and_missing_inputs(monkeypatch, tmp_path, initialized):
    outdir, plan = initialized
    monkeypatch.setenv("KFSTACK_TF_BINARY", str(fake_engine(tmp_path, "Error: connection refused at metadata[0] [bold]", 1)))
    res = CliRunner().invoke(app, ["apply", "dev", "--plan", str(plan), "--outdir", str(outdir)])
    assert res.exit_code == EXIT_ENGINE and "connection refused at metadata[0] [bold]" in res.output
    res = CliRunner().invoke(app, ["apply", "dev", "--plan", str(tmp_path / "nope.tfplan"), "--outdir", str(outdir)])
    assert res.exit_code == EXIT_ENGINE and "kfstack plan dev" in res.output
    res = CliRunner().invoke(app, ["apply", "prod", "--plan", str(plan), "--outdir", str(outdir)])
    assert res.exit_code == EXIT_ENGINE and "not initialized" in res.output


@pytest.mark.parametrize("path", ["prod.tfplan", "cdktf.out/plans/prod.tfplan", "sub/dev.tfplan", "plans/dev.plan.md",
                                  "dev.tfplan.json"])
def test_plan_files_are_ignored_by_git(path):
    """Issue 13 item 4: saved plans hold sensitive values; git must never pick them up."""
    import subprocess

    from tests.conftest import ROOT

    res = subprocess.run(["git", "check-ignore", "-q", "--no-index", path], cwd=ROOT)
    assert res.returncode == 0, f"{path} is not ignored"


def test_readme_says_where_plans_are_written():
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    assert "cdktf.out/plans/" in readme
    assert "--plan cdktf.out/plans/prod.tfplan" in readme and "--plan prod.tfplan" not in readme
