"""Plan review on the local control plane (issue 7): `kfstack plan` → review → `kfstack apply --plan`.

Own state (``<workdir>/plan-review/state/local.tfstate``, via ``--outdir``), so it does not
depend on the other e2e files; it destroys what it deployed. The chart version change is made
in memory (cert-manager 1.19.4 → 1.19.5, tests/fixtures/plans/scenarios.py): the CLI runs
with ``load_all`` returning the changed environment and lock, and a stand-in cert-manager
v1.19.5 chart is pushed to the e2e OCI registry. No environment file is edited.
"""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from kfstack.app import load_all
from kfstack.cli import app
from kfstack.engine import run_engine, stack_dir
from kfstack.plan import EXIT_CHANGES, EXIT_OK, EXIT_STALE, apply, plan
from tests.fixtures.plans.scenarios import bumped, standin_extra
from tests.fixtures.standin_charts import build_repo

pytestmark = pytest.mark.e2e


def cert_manager_chart_version(k8s) -> str:
    """Chart version of the latest cert-manager Helm release, from Helm's storage Secrets."""
    import base64
    import gzip
    import json

    from kubernetes import client

    secrets = client.CoreV1Api(k8s).list_namespaced_secret("cert-manager", label_selector="owner=helm,name=cert-manager")
    releases = [json.loads(gzip.decompress(base64.b64decode(base64.b64decode(s.data["release"]))))
                for s in secrets.items]
    return max(releases, key=lambda r: r["version"])["chart"]["metadata"]["version"]


@pytest.fixture(scope="module")
def review(platform):
    """(outdir, local env, lock) with local deployed from a saved plan; destroyed afterwards."""
    outdir = platform.workdir / "plan-review" / "out"
    envs, lock = load_all(names=["local"])
    first = plan(envs["local"], lock, outdir=outdir)
    assert first.summary.has_changes and set(first.summary.counts) == {"add"}
    apply("local", first.plan_file, outdir=outdir)
    yield outdir, envs["local"], lock
    res = run_engine(["destroy", "-auto-approve", "-input=false", "-no-color"], stack_dir(outdir, "local"))
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]


def cli(monkeypatch, env, lock, *args: str):
    """Run `kfstack ARGS` in-process with `load_all` returning (changed) ``env`` and ``lock``."""
    monkeypatch.setattr("kfstack.app.load_all", lambda names=None, **_: ({env.name: env}, lock))
    res = CliRunner().invoke(app, list(args))
    return res.exit_code, re.sub(r"\s+", " ", res.output)


def test_plan_of_a_chart_version_change_names_only_that_component(review, platform, monkeypatch, k8s):
    outdir, local, lock = review
    repo = build_repo(platform.workdir / "charts", extra=standin_extra())
    platform.registry.push(sorted(repo.glob("cert-manager-*.tgz")))  # local reads charts from the OCI mirror
    env, new_lock = bumped(local, lock)
    out = outdir.parent / "bump"
    code, output = cli(monkeypatch, env, new_lock, "plan", "local", "--outdir", str(outdir), "--out", str(out))
    assert code == EXIT_CHANGES, output[-4000:]
    md = (out / "local.plan.md").read_text()
    assert re.findall(r"^### (\S+) \(", md, flags=re.M) == ["CertManager"], md
    assert "cert-manager `v1.19.4 → v1.19.5`" in md
    assert "**Plan:** 0 to add, 1 to change, 0 to replace, 0 to destroy." in md
    assert "CAUTION" not in md
    assert "v1.19.4 → v1.19.5" in output  # the same summary on the terminal

    # Apply exactly that plan: succeeds once.
    code, output = cli(monkeypatch, env, new_lock, "apply", "local", "--plan", str(out / "local.tfplan"),
                       "--outdir", str(outdir))
    assert code == EXIT_OK, output[-4000:]
    assert cert_manager_chart_version(k8s) == "v1.19.5"

    # The same plan again: the state changed since (by its own apply), refused as stale.
    code, output = cli(monkeypatch, env, new_lock, "apply", "local", "--plan", str(out / "local.tfplan"),
                       "--outdir", str(outdir))
    assert code == EXIT_STALE, output[-4000:]
    assert "stale" in output and "Re-run `kfstack plan local`" in output and "Nothing was applied" in output


def test_a_plan_made_before_another_apply_is_refused(review, monkeypatch, k8s):
    outdir, local, lock = review
    a, b = outdir.parent / "revert-a", outdir.parent / "revert-b"
    for out in (a, b):  # two reviewers plan the revert to 1.19.4 from the same state
        code, output = cli(monkeypatch, local, lock, "plan", "local", "--outdir", str(outdir), "--out", str(out))
        assert code == EXIT_CHANGES, output[-4000:]
        assert "cert-manager `v1.19.5 → v1.19.4`" in (out / "local.plan.md").read_text()
    code, output = cli(monkeypatch, local, lock, "apply", "local", "--plan", str(a / "local.tfplan"),
                       "--outdir", str(outdir))
    assert code == EXIT_OK, output[-4000:]
    code, output = cli(monkeypatch, local, lock, "apply", "local", "--plan", str(b / "local.tfplan"),
                       "--outdir", str(outdir))
    assert code == EXIT_STALE and "Re-run `kfstack plan local`" in output, output[-4000:]
    assert cert_manager_chart_version(k8s) == "v1.19.4"
    # Nothing left to do.
    code, output = cli(monkeypatch, local, lock, "plan", "local", "--outdir", str(outdir))
    assert code == EXIT_OK and "No changes." in output, output[-4000:]
