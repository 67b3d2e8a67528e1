"""Pure parts of kfstack drift / recover: Helm record codec, state parsing, name resolution, lock hint."""

from __future__ import annotations

import base64
import gzip
import json

from kfstack.drift import render, state_releases, DriftReport, ReleaseDrift, ResourceDrift, StateRelease
from kfstack.helmstore import StoredRelease, decode, encode
from kfstack.recover import _resolve, lock_hint


def test_helm_record_round_trips_and_decodes_helms_own_encoding():
    record = {"name": "cert-manager", "version": 1, "info": {"status": "deployed"},
              "manifest": "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: cm\n---\n# empty\n"}
    helm_written = base64.b64encode(base64.b64encode(gzip.compress(json.dumps(record).encode()))).decode()
    assert decode(helm_written) == record
    assert decode(encode(record)) == record
    rel = StoredRelease("sh.helm.release.v1.cert-manager.v1", "cert-manager", record)
    assert [o["kind"] for o in rel.objects()] == ["Deployment"] and rel.status == "deployed"


def test_state_releases_and_report():
    state = {"resources": [{"mode": "managed", "type": "helm_release", "name": "CertManager_Release_F3F7519D",
                            "instances": [{"attributes": {"name": "cert-manager", "namespace": "cert-manager",
                                                          "status": "deployed"}}]},
                           {"mode": "managed", "type": "kubernetes_config_map_v1", "name": "X", "instances": []}]}
    [rel] = state_releases(state)
    assert rel == StateRelease("helm_release.CertManager_Release_F3F7519D", "cert-manager", "cert-manager", "deployed")
    text = "\n".join(render(DriftReport([ResourceDrift("kubernetes_config_map_v1.X", ("update",))],
                                        [ReleaseDrift(rel, "deployed", ["Deployment/cert-manager/cert-manager"])]),
                            "local", "cdktf.out/stacks/local", "tofu"))
    assert "drift: kubernetes_config_map_v1.X changed outside Terraform (update)" in text
    assert "missing Deployment/cert-manager/cert-manager" in text
    assert "kfstack drift local --repair" in text and "cdktf deploy local" in text and "-replace=helm_release.CertManager_Release_F3F7519D" in text
    assert render(DriftReport([], []), "local", "x", "tofu") == ["local: no drift"]


def test_namespace_references_resolve_through_the_configuration():
    config = {"resource": {"kubernetes_namespace_v1": {"Ns": {"metadata": {"name": "kubeflow"}}}}}
    assert _resolve("${kubernetes_namespace_v1.Ns.metadata[0].name}", config) == "kubeflow"
    config["resource"]["kubernetes_namespace_v1"]["Namespace-kubeflow_2C"] = {"metadata": {"name": "kf"}}
    assert _resolve("${kubernetes_namespace_v1.Namespace-kubeflow_2C.metadata[0].name}", config) == "kf"
    assert _resolve("plain", config) == "plain"
    assert _resolve("${random_id.x.hex}", config) is None


def test_lock_hint_names_the_force_unlock_command():
    out = """Error: Error acquiring the state lock

Error message: resource temporarily unavailable
Lock Info:
  ID:        0e2d1c4f-8d3e-3bb2-7f0e-0c3a1c6c2a11
  Path:      ../../state/local.tfstate
  Operation: OperationTypeApply
"""
    hint = lock_hint(out, "cdktf.out/stacks/local", "tofu")
    assert "tofu -chdir=cdktf.out/stacks/local force-unlock -force 0e2d1c4f-8d3e-3bb2-7f0e-0c3a1c6c2a11" in hint
    assert "terraform -chdir=s force-unlock -force 0e2d1c4f" in lock_hint(out, "s", "terraform")
    assert lock_hint("Plan: 1 to add", ".", "tofu") is None


def test_recover_knows_every_kubernetes_resource_type_the_stacks_create(synth_env):
    """An interrupted apply can leave any of them behind untracked: recover must be able to import each."""
    from kfstack.recover import KINDS

    adopting = {"kubernetes_default_service_account_v1"}  # adopts the namespace's own ServiceAccount
    for env in ("dev", "staging", "prod", "local"):
        types = {t for t in synth_env(env)["resource"] if t.startswith("kubernetes_")}
        assert types - adopting <= set(KINDS), (env, sorted(types - adopting - set(KINDS)))
