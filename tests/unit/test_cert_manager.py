"""cert-manager: chart, version, namespace, replicas, ClusterIssuer via chart (on the minimal environment)."""

import yaml

from tests.conftest import depends_on, release, release_address, release_values, resources

MIRROR = "https://charts.mirror.internal/kfstack"
REGISTRY = {"registry": {"host": "registry.internal", "pull_secret": "registry-internal"}}
"""An image registry mirror (prod's)."""


def test_chart_version_and_namespace_from_release_block(synth_minimal):
    stack = synth_minimal({"sources": {"mirror_url": MIRROR}, "release": {"versions": {"cert_manager": "1.19.4"}}})
    rel = release(stack, "cert-manager")
    assert rel["chart"] == "cert-manager"
    assert rel["repository"] == MIRROR  # read from the chart mirror (pin: https://charts.jetstack.io)
    assert rel["version"] == "v1.19.4"
    assert rel["namespace"].startswith("${kubernetes_namespace_v1.CertManager_Namespace")
    assert rel["create_namespace"] is False and rel["wait"] is True


def test_crds_come_with_the_chart_and_are_kept(synth_minimal):
    values = release_values(synth_minimal(), "cert-manager")
    assert values["crds"] == {"enabled": True, "keep": True}


def test_replicas_differ_per_environment(synth_minimal):
    one = release_values(synth_minimal({"components": {"cert_manager": {"replicas": 1}}}), "cert-manager")
    three = release_values(synth_minimal({"components": {"cert_manager": {"replicas": 3}}}), "cert-manager")
    assert (one["replicaCount"], one["webhook"]["replicaCount"], one["cainjector"]["replicaCount"]) == (1, 1, 1)
    assert (three["replicaCount"], three["webhook"]["replicaCount"], three["cainjector"]["replicaCount"]) == (3, 3, 3)
    assert one["podDisruptionBudget"]["enabled"] is False
    assert three["podDisruptionBudget"]["enabled"] is True


def test_mirror_rewrites_images_and_pull_secret(synth_minimal):
    mirrored = release_values(synth_minimal(REGISTRY), "cert-manager")
    # chart v1.19.4's values.schema.json rejects a root imageRegistry: each image's repository moves
    assert "imageRegistry" not in mirrored
    assert mirrored["image"]["repository"] == "registry.internal/jetstack/cert-manager-controller"
    parts = ("webhook", "cainjector", "acmesolver", "startupapicheck")
    assert {mirrored[c]["image"]["repository"] for c in parts} == {
        f"registry.internal/jetstack/cert-manager-{c}" for c in parts}
    assert mirrored["global"]["imagePullSecrets"] == [{"name": "registry-internal"}]
    upstream = release_values(synth_minimal(), "cert-manager")  # no registry mirror
    assert "imageRegistry" not in upstream and "image" not in upstream


def test_cluster_issuer_is_a_chart_installed_after_cert_manager(synth_minimal):
    stack = synth_minimal()
    assert "kubernetes_manifest" not in stack.get("resource", {})
    issuer = release(stack, "kubeflow-issuer")
    assert issuer["chart"].startswith("assets/")
    assert release_address(stack, "cert-manager") in issuer["depends_on"]
    (manifest,) = yaml.safe_load(issuer["values"][0])["manifests"]
    assert manifest["kind"] == "ClusterIssuer"
    assert manifest["metadata"]["name"] == "kubeflow-self-signing-issuer"
    assert manifest["spec"] == {"selfSigned": {}}


def test_namespace_is_psa_labelled(synth_minimal):
    namespaces = resources(synth_minimal(), "kubernetes_namespace_v1")
    (ns,) = [n for n in namespaces.values() if n["metadata"]["name"] == "cert-manager"]
    labels = ns["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"


def test_disabled_cert_manager_installs_nothing(synth_minimal):
    # KServe, Pipelines, Katib and the gateway's TLS certificate need cert-manager (config
    # validation): the minimal environment has them off.
    stack = synth_minimal({"components": {"cert_manager": {"enabled": False}, "istio": {"tls": {"enabled": False}}}})
    names = {r["name"] for r in resources(stack, "helm_release").values()}
    assert "istio-base" in names
    assert "cert-manager" not in names and "kubeflow-issuer" not in names
    assert not any("CertManager" in d for d in depends_on(stack, "istio-base"))
