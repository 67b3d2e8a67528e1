"""Stacks: one per environment, providers and backend from the environment, no machine paths."""

import json
import re
from pathlib import Path

import pytest

from kfstack.sources.charts import SourceError
from tests.conftest import ROOT, resources


@pytest.mark.parametrize("name", ["dev", "staging", "prod"])
def test_providers_from_cluster_connection(synth_env, name):
    stack = synth_env(name)
    (k8s,) = stack["provider"]["kubernetes"]
    (helm,) = stack["provider"]["helm"]
    assert k8s == {"config_path": "~/.kube/config", "config_context": name}
    assert helm["kubernetes"] == {"config_path": "~/.kube/config", "config_context": name}


@pytest.mark.parametrize("name", ["dev", "staging", "prod"])
def test_backend_is_explicit_and_relative(synth_env, name):
    backend = synth_env(name)["terraform"]["backend"]
    expected = {"pg": {"schema_name": "kfstack_prod"}} if name == "prod" else {"local": {"path": f"../../../state/{name}.tfstate"}}
    assert backend == expected


def test_no_absolute_machine_paths(synth_env):
    for name in ("dev", "staging", "prod"):
        text = json.dumps(synth_env(name))
        assert str(ROOT) not in text
        assert str(Path.home()) not in text
        assert not re.search(r"/(root|home)/", text)


def test_environments_differ_only_where_configured(synth_env):
    dev = {r["name"] for r in resources(synth_env("dev"), "helm_release").values()}
    prod = {r["name"] for r in resources(synth_env("prod"), "helm_release").values()}
    assert {"cert-manager", "kubeflow-issuer", "istio-base", "istiod", "istio-ingressgateway"} <= dev & prod


def test_unpinned_version_is_a_source_error(synth_config):
    with pytest.raises(SourceError, match=r"sources.lock pins no chart 'cert-manager' for app version 1.19.9"):
        synth_config({"release": {"versions": {"cert_manager": "1.19.9"}}})


def test_vendored_mode_without_cache_names_missing_chart_and_command(synth_config):
    with pytest.raises(SourceError, match=r"cert-manager-v1.19.4.tgz missing.*kfstack vendor"):
        synth_config({"sources": {"mode": "vendored", "vendor_dir": "no-such-vendor-dir"},
                      "components": {"cluster_baseline": {"kubeflow_network_policies": False}}})


def test_vendored_mode_without_kustomize_cache_names_the_base_and_command(synth_config):
    with pytest.raises(SourceError, match=r"kustomize base kubeflow-namespace 26.03 is not in the vendor cache.*"
                                          r"kfstack vendor"):
        synth_config({"sources": {"mode": "vendored", "vendor_dir": "no-such-vendor-dir"}})


def test_vendored_mode_uses_local_archive_as_asset(synth_config, tmp_path, monkeypatch):
    import shutil

    from kfstack.sources.lock import load_lock
    lock = load_lock(ROOT / "sources.lock")
    vendor = ROOT / "build" / "test-vendor"
    (vendor / "charts").mkdir(parents=True, exist_ok=True)
    try:
        for pin in lock.charts:
            (vendor / "charts" / pin.archive_name).write_bytes(b"stand-in archive for a test, not a real chart")
        # Kustomize-based components need a vendored kustomize cache (tests/unit/test_auth.py covers them).
        stack = synth_config({"sources": {"mode": "vendored", "vendor_dir": "build/test-vendor"},
                              "components": {"cluster_baseline": {"kubeflow_network_policies": False},
                                             "auth": {"enabled": False}, "dashboard": {"enabled": False},
                                             "pipelines": {"enabled": False}, "katib": {"enabled": False}}})
        rel = next(r for r in resources(stack, "helm_release").values() if r["name"] == "cert-manager")
        assert rel["chart"].startswith("assets/") and rel["chart"].endswith(".tgz")
        assert "repository" not in rel and "version" not in rel
    finally:
        shutil.rmtree(vendor)
