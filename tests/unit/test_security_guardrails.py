"""Issue 13 item 3: production refuses an open platform (the refusals are in the bad-input corpus:
tests/fixtures/bad_inputs/prod.error.*); these are the ways out each guardrail names."""

from __future__ import annotations

import shutil

import yaml

from kfstack.config.loader import load_environment
from tests.conftest import ROOT

PROD = yaml.safe_load((ROOT / "environments" / "prod.yaml").read_text())


def _load(tmp_path, data):
    env_dir = tmp_path / "environments"
    env_dir.mkdir()
    shutil.copy(ROOT / "environments" / "base.yaml", env_dir / "base.yaml")
    (env_dir / "prod.yaml").write_text(yaml.safe_dump(data))
    return load_environment(env_dir, "prod")


def test_a_reason_lets_production_run_kubeflow_below_restricted(tmp_path):
    data = yaml.safe_load(yaml.safe_dump(PROD))
    data["components"]["cluster_baseline"]["shared_namespaces"] = [{
        "name": "kubeflow", "pod_security": "baseline",
        "pod_security_reason": "site's legacy notebook images run as root (ticket SEC-42)"}]
    env = _load(tmp_path, data)
    assert env.components.cluster_baseline.shared_namespaces[0].pod_security.value == "baseline"


def test_an_internal_gateway_may_run_without_auth(tmp_path):
    data = yaml.safe_load(yaml.safe_dump(PROD))
    data["components"]["istio"]["ingress_gateway"]["service_type"] = "ClusterIP"
    data["components"]["auth"] = {"enabled": False}
    data["components"]["dashboard"] = {"enabled": False}
    assert not _load(tmp_path, data).components.auth.enabled


def test_shipped_prod_names_its_user_and_runs_kubeflow_restricted(real_envs):
    prod = real_envs["prod"]
    assert prod.components.auth.user_email != "user@example.com"
    (kubeflow,) = prod.components.cluster_baseline.shared_namespaces
    assert kubeflow.name == "kubeflow" and kubeflow.pod_security.value == "restricted"
