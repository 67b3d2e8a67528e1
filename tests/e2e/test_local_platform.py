"""End to end on the local control plane with real tofu and providers (issues 5 and 6).

Order matters and is the file order: plan of an empty cluster (cdktf diff),
first deploy (cdktf deploy), empty second plan, drift repair, destroy. Wall
times print to the log; bench/local_deploy_bench.py reports them as numbers.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import time

import pytest
from kubernetes import client

pytestmark = pytest.mark.e2e


def _releases(k8s) -> dict[str, dict]:
    """Latest Helm release record per release name, decoded from Helm's storage Secrets."""
    v1 = client.CoreV1Api(k8s)
    out: dict[str, dict] = {}
    for s in v1.list_secret_for_all_namespaces(label_selector="owner=helm").items:
        rel = json.loads(gzip.decompress(base64.b64decode(base64.b64decode(s.data["release"]))))
        name = rel["name"]
        if name not in out or rel["version"] > out[name]["version"]:
            out[name] = rel
    return out


def test_cdktf_diff_local_prints_a_plan_of_an_empty_cluster(platform):
    res = platform.cdktf("diff", "local")
    assert res.result.returncode == 0, res.output[-6000:]
    match = re.search(r"Plan: (\d+) to add, 0 to change, 0 to destroy", res.output)
    assert match, res.output[-6000:]
    assert int(match.group(1)) > 50
    print(f"cdktf diff local: {res.seconds:.1f} s")


def test_first_deploy_succeeds_at_first_attempt(platform, k8s):
    res = platform.cdktf("deploy", "local", "--auto-approve")
    assert res.result.returncode == 0, res.output[-8000:]
    print(f"cold deploy (cdktf deploy local): {res.seconds:.1f} s")
    state = json.loads((platform.workdir / "state" / "local.tfstate").read_text())
    addresses = {f"{r['type']}.{r['name']}" for r in state["resources"]}
    assert len(addresses) > 50
    synthesized = json.loads((platform.stack_dir / "cdk.tf.json").read_text())
    expected = {r["name"] for r in synthesized["resource"]["helm_release"].values()}
    releases = _releases(k8s)
    assert expected <= set(releases), expected - set(releases)
    assert {n: r["info"]["status"] for n, r in releases.items() if n in expected} == {n: "deployed" for n in expected}


def test_remote_charts_came_from_the_oci_mirror(platform):
    """Issue 12: `local` installs every remote chart from the OCI registry the harness published to."""
    import ssl
    import urllib.request

    state = json.loads((platform.workdir / "state" / "local.tfstate").read_text())
    releases = [i["attributes"] for r in state["resources"] if r["type"] == "helm_release" for i in r["instances"]]
    remote = [a for a in releases if a.get("repository")]
    assert len(remote) > 20
    assert {a["repository"] for a in remote} == {platform.registry.url}
    context = ssl.create_default_context(cafile=str(platform.registry.ca_file))
    with urllib.request.urlopen(f"https://127.0.0.1:{platform.registry.port}/v2/_catalog?n=1000",
                                context=context, timeout=10) as resp:
        catalog = set(json.load(resp)["repositories"])
    assert {f"charts/{a['chart']}" for a in remote} <= catalog


def test_namespaces_crds_secrets_services_and_deployments(platform, k8s):
    v1, apps = client.CoreV1Api(k8s), client.AppsV1Api(k8s)
    ext = client.ApiextensionsV1Api(k8s)
    namespaces = {n.metadata.name: n for n in v1.list_namespace().items}
    for ns in ("cert-manager", "istio-system", "kubeflow", "gpu-operator", "rook-ceph", "mysql", "object-store"):
        assert ns in namespaces, sorted(namespaces)
    assert namespaces["cert-manager"].metadata.labels["pod-security.kubernetes.io/enforce"] == "restricted"
    crds = {c.metadata.name for c in ext.list_custom_resource_definition().items}
    assert {"clusterissuers.cert-manager.io", "cephclusters.ceph.rook.io", "innodbclusters.mysql.oracle.com",
            "gateways.networking.istio.io"} <= crds
    issuers = client.CustomObjectsApi(k8s).list_cluster_custom_object("cert-manager.io", "v1", "clusterissuers")
    assert [i["metadata"]["name"] for i in issuers["items"]] == ["kubeflow-self-signing-issuer"]
    secrets = {(s.metadata.namespace, s.metadata.name) for s in v1.list_secret_for_all_namespaces().items}
    assert any(ns == "object-store" for ns, _ in secrets)
    assert any(ns == "mysql" and name.startswith("mysql-user-") for ns, name in secrets)
    services = {(s.metadata.namespace, s.metadata.name) for s in v1.list_service_for_all_namespaces().items}
    assert ("istio-system", "istio-ingressgateway") in services
    deployments = apps.list_deployment_for_all_namespaces().items
    assert deployments
    not_ready = [f"{d.metadata.namespace}/{d.metadata.name}" for d in deployments
                 if (d.status.available_replicas or 0) < (d.spec.replicas or 0)]
    assert not not_ready, not_ready


def test_second_plan_reports_no_changes(platform):
    res = platform.plan()
    assert res.result.returncode == 0, res.output[-6000:]
    assert "No changes." in res.output
    print(f"no-op plan: {res.seconds:.1f} s")


def test_drift_of_a_managed_configmap_is_planned_and_repaired(platform, k8s):
    state = json.loads((platform.workdir / "state" / "local.tfstate").read_text())
    cms = [r for r in state["resources"] if r["type"] == "kubernetes_config_map_v1"]
    assert cms, "the local stack is expected to manage at least one ConfigMap"
    target = cms[0]["instances"][0]["attributes"]["metadata"][0]
    v1 = client.CoreV1Api(k8s)
    live = v1.read_namespaced_config_map(target["name"], target["namespace"])
    key = sorted(live.data)[0]
    v1.patch_namespaced_config_map(target["name"], target["namespace"], {"data": {key: "edited out of band"}})
    plan = platform.plan()
    assert plan.result.returncode == 2, plan.output[-4000:]
    assert f"kubernetes_config_map_v1.{cms[0]['name']}" in plan.output
    assert platform.apply().result.returncode == 0
    assert v1.read_namespaced_config_map(target["name"], target["namespace"]).data[key] == live.data[key]
    assert platform.plan().result.returncode == 0


def test_drift_of_a_helm_deployment_and_a_configmap_is_reported_and_repaired(platform, k8s):
    """kubectl delete of a Helm-managed Deployment is invisible to a plain plan (the helm provider reads
    only Helm's release record); `kfstack drift` reports it with the ConfigMap edit, `--repair` re-creates
    the Deployment from the release manifest and apply repairs the ConfigMap (kfstack/drift.py)."""
    apps, v1 = client.AppsV1Api(k8s), client.CoreV1Api(k8s)
    state = json.loads((platform.workdir / "state" / "local.tfstate").read_text())
    release = next(r for r in state["resources"] if r["type"] == "helm_release"
                   and r["instances"][0]["attributes"]["name"] == "cert-manager")
    release_addr = f"helm_release.{release['name']}"
    apps.read_namespaced_deployment("cert-manager", "cert-manager")  # the stand-in chart's Deployment
    apps.delete_namespaced_deployment("cert-manager", "cert-manager")
    cm = next(r for r in state["resources"] if r["type"] == "kubernetes_config_map_v1")
    meta = cm["instances"][0]["attributes"]["metadata"][0]
    cm_addr = f"kubernetes_config_map_v1.{cm['name']}"
    original = v1.read_namespaced_config_map(meta["name"], meta["namespace"]).data
    key = sorted(original)[0]
    v1.patch_namespaced_config_map(meta["name"], meta["namespace"], {"data": {key: "edited out of band"}})

    plain = platform.plan()
    assert plain.result.returncode == 2 and cm_addr in plain.output, plain.output[-4000:]
    assert f"# {release_addr} " not in plain.output  # no planned change: the blind spot kfstack drift covers

    stack = ["--stack-dir", str(platform.stack_dir)]
    report = platform.kfstack("drift", "local", *stack)
    assert report.result.returncode == 2, report.output[-4000:]
    assert f"drift: {cm_addr} changed outside Terraform" in report.output, report.output
    assert f"drift: {release_addr} (Helm release cert-manager/cert-manager, status deployed): missing " \
           "Deployment/cert-manager/cert-manager" in report.output, report.output
    assert "kfstack drift local --repair" in report.output
    print(f"kfstack drift local: {report.seconds:.1f} s")

    fixed = platform.kfstack("drift", "local", *stack, "--repair")
    assert "re-created Deployment/cert-manager/cert-manager" in fixed.output, fixed.output
    plan = platform.plan()
    assert plan.result.returncode == 2 and cm_addr in plan.output and f"# {release_addr} " not in plan.output
    res = platform.apply()
    assert res.result.returncode == 0, res.output[-6000:]
    dep = apps.read_namespaced_deployment("cert-manager", "cert-manager")
    assert (dep.metadata.annotations or {}).get("meta.helm.sh/release-name") == "cert-manager"
    deadline = time.monotonic() + 30
    while (apps.read_namespaced_deployment("cert-manager", "cert-manager").status.available_replicas or 0) < 1:
        assert time.monotonic() < deadline, "re-created Deployment never became available"
        time.sleep(0.5)
    assert v1.read_namespaced_config_map(meta["name"], meta["namespace"]).data == original
    assert _releases(k8s)["cert-manager"]["info"]["status"] == "deployed"
    assert platform.plan().result.returncode == 0
    clean = platform.kfstack("drift", "local", *stack)
    assert clean.result.returncode == 0 and "local: no drift" in clean.output, clean.output[-3000:]


def test_destroy_removes_everything(platform, k8s):
    res = platform.tofu("destroy", "-auto-approve", "-input=false", "-no-color")
    assert res.result.returncode == 0, res.output[-6000:]
    print(f"destroy: {res.seconds:.1f} s")
    v1 = client.CoreV1Api(k8s)
    left = {n.metadata.name: n.status.phase for n in v1.list_namespace().items}
    assert set(left) == {"default", "kube-node-lease", "kube-public", "kube-system"}, left
    assert not _releases(k8s)
    state = json.loads((platform.workdir / "state" / "local.tfstate").read_text())
    assert state["resources"] == []
