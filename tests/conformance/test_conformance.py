"""kfstack check on the real upstream charts and Kubeflow manifests: 0 problems in every environment."""

from __future__ import annotations

import re

import pytest

from tests.conformance.conftest import kfstack

ENVIRONMENTS = ("dev", "staging", "prod", "local")


def test_vendor_from_the_mirror_verifies_every_kustomize_digest(vendored):
    _, output = vendored
    kustomize = re.findall(r"^(\w+) kustomize (\S+)", output, flags=re.M)
    assert kustomize and all(status == "verified" for status, _ in kustomize), output
    assert re.search(r"^\d+ source\(s\), 0 error\(s\)", output, flags=re.M), output
    # The mirror holds mysql-operator 2.2.2, kfstack pins 2.2.6: checked against 2.2.2, said out loud.
    for chart in ("mysql-operator", "mysql-innodbcluster"):
        assert re.search(rf"substituted chart {chart} 2\.2\.6 .*substituted 2\.2\.2", output), output


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_check_finds_no_problem_on_the_real_charts(env, vendored, synthesized, check_cluster, helm):
    vendor, _ = vendored
    res = kfstack("check", env, "--no-synth", "--outdir", str(synthesized), "--vendor-dir", str(vendor),
                  "--kubeconfig", str(check_cluster.kubeconfig), "--scratch")
    print(res.stdout)
    assert res.returncode == 0, f"kfstack check {env} exited {res.returncode}:\n{res.stdout}\n{res.stderr[-3000:]}"
    summary = re.search(rf"{env}: 0 problem\(s\), (\d+) objects rendered, (\d+) validated", res.stdout)
    assert summary, res.stdout
    rendered, validated = map(int, summary.groups())
    # Every rendered object went through the API server's dry run (CRDs and custom resources included).
    assert rendered > 300 and validated == rendered, res.stdout
    # No release skipped: one line per helm_release of the stack, each from a real or the project's chart.
    assert "not found in" not in res.stdout
