"""Issue 12: the registry's pull secret exists in every namespace kfstack creates, before any release
there, from a sensitive variable the site sets at plan/apply time (never a value in the JSON)."""

from __future__ import annotations

import json

from tests.conftest import resources


def _pull_secrets(stack):
    return {v["metadata"]["namespace"]: v for v in resources(stack, "kubernetes_secret_v1").values()
            if v.get("type") == "kubernetes.io/dockerconfigjson"}


def test_every_created_namespace_gets_the_pull_secret(synth_env):
    prod = synth_env("prod")
    namespaces = resources(prod, "kubernetes_namespace_v1")
    secrets = _pull_secrets(prod)
    assert set(secrets) == {f"${{kubernetes_namespace_v1.{nid}.metadata[0].name}}" for nid in namespaces}
    for secret in secrets.values():
        assert secret["metadata"]["name"] == "registry-internal"
        assert secret["data"] == {".dockerconfigjson": "${var.registry_dockerconfigjson}"}
    variable = prod["variable"]["registry_dockerconfigjson"]
    assert variable["sensitive"] is True and variable["type"] == "string" and "default" not in variable


def test_releases_wait_for_their_namespace_pull_secret(synth_env):
    prod = synth_env("prod")
    secret_ids = {v["metadata"]["namespace"]: f"kubernetes_secret_v1.{k}"
                  for k, v in resources(prod, "kubernetes_secret_v1").items()
                  if v.get("type") == "kubernetes.io/dockerconfigjson"}
    checked = 0
    for release in resources(prod, "helm_release").values():
        needed = secret_ids.get(release["namespace"])
        if needed:
            assert needed in release["depends_on"], release["name"]
            checked += 1
    assert checked >= 10


def test_no_pull_secret_without_registry_and_no_credential_in_json(synth_env):
    assert _pull_secrets(synth_env("dev")) == {}
    assert "variable" not in synth_env("dev")
    text = json.dumps(synth_env("prod"))
    assert "\"auths\"" not in text and "${var.registry_dockerconfigjson}" in text  # no dockerconfigjson content


def test_default_service_accounts_pull_with_it(synth_env):
    prod = synth_env("prod")
    accounts = resources(prod, "kubernetes_default_service_account_v1")
    assert len(accounts) == len(resources(prod, "kubernetes_namespace_v1"))
    for account in accounts.values():
        assert account["image_pull_secret"] == [{"name": "registry-internal"}]
    kustomize_values = [r for r in resources(prod, "helm_release").values() if r["name"] == "katib"][0]["values"][0]
    assert "imagePullSecrets:\n  - name: registry-internal\n  registry: registry.internal" in kustomize_values
    assert resources(synth_env("dev"), "kubernetes_default_service_account_v1") == {}
