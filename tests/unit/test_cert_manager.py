"""cert-manager: chart, version, namespace, replicas per environment, ClusterIssuer via chart."""

import yaml

from tests.conftest import depends_on, release, release_address, release_values, resources


def test_chart_version_and_namespace_from_release_block(synth_env):
    rel = release(synth_env("dev"), "cert-manager")
    assert rel["chart"] == "cert-manager"
    assert rel["repository"] == "https://charts.dev.internal/kfstack"  # dev reads the mirror (pin: https://charts.jetstack.io)
    assert rel["version"] == "v1.19.4"
    assert rel["namespace"].startswith("${kubernetes_namespace_v1.CertManager_Namespace")
    assert rel["create_namespace"] is False and rel["wait"] is True


def test_crds_come_with_the_chart_and_are_kept(synth_env):
    values = release_values(synth_env("dev"), "cert-manager")
    assert values["crds"] == {"enabled": True, "keep": True}


def test_replicas_differ_per_environment(synth_env):
    dev = release_values(synth_env("dev"), "cert-manager")
    prod = release_values(synth_env("prod"), "cert-manager")
    assert (dev["replicaCount"], dev["webhook"]["replicaCount"], dev["cainjector"]["replicaCount"]) == (1, 1, 1)
    assert (prod["replicaCount"], prod["webhook"]["replicaCount"], prod["cainjector"]["replicaCount"]) == (3, 3, 3)
    assert dev["podDisruptionBudget"]["enabled"] is False
    assert prod["podDisruptionBudget"]["enabled"] is True


def test_mirror_rewrites_images_and_pull_secret(synth_env):
    prod = release_values(synth_env("prod"), "cert-manager")
    # chart v1.19.4's values.schema.json rejects a root imageRegistry: each image's repository moves
    assert "imageRegistry" not in prod
    assert prod["image"]["repository"] == "registry.internal/jetstack/cert-manager-controller"
    assert {prod[c]["image"]["repository"] for c in ("webhook", "cainjector", "acmesolver", "startupapicheck")} == {
        f"registry.internal/jetstack/cert-manager-{c}" for c in ("webhook", "cainjector", "acmesolver", "startupapicheck")}
    assert prod["global"]["imagePullSecrets"] == [{"name": "registry-internal"}]
    dev = release_values(synth_env("dev"), "cert-manager")
    assert "imageRegistry" not in dev and "image" not in dev


def test_cluster_issuer_is_a_chart_installed_after_cert_manager(synth_env):
    stack = synth_env("prod")
    assert "kubernetes_manifest" not in stack.get("resource", {})
    issuer = release(stack, "kubeflow-issuer")
    assert issuer["chart"].startswith("assets/")
    assert release_address(stack, "cert-manager") in issuer["depends_on"]
    (manifest,) = yaml.safe_load(issuer["values"][0])["manifests"]
    assert manifest["kind"] == "ClusterIssuer"
    assert manifest["metadata"]["name"] == "kubeflow-self-signing-issuer"
    assert manifest["spec"] == {"selfSigned": {}}


def test_namespace_is_psa_labelled(synth_env):
    namespaces = resources(synth_env("dev"), "kubernetes_namespace_v1")
    (ns,) = [n for n in namespaces.values() if n["metadata"]["name"] == "cert-manager"]
    labels = ns["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"


def test_disabled_cert_manager_installs_nothing(synth_config):
    # KServe, Pipelines, Katib and the gateway's TLS certificate need cert-manager (config
    # validation), so they go too.
    stack = synth_config({"components": {"cert_manager": {"enabled": False}, "kserve": {"enabled": False},
                                         "istio": {"tls": {"enabled": False}},
                                         "pipelines": {"enabled": False}, "katib": {"enabled": False}}})
    names = {r["name"] for r in resources(stack, "helm_release").values()}
    assert "cert-manager" not in names and "kubeflow-issuer" not in names
    assert not any("CertManager" in d for d in depends_on(stack, "istio-base"))
