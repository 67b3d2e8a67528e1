"""Istio: base → cni → istiod → gateways → kubeflow-gateway, labels Kubeflow selects, per-environment sizing.

Tests synthesize the minimal environment (tests/fixtures/envs.py), where Istio and cert-manager are on.
"""

import pytest

from kfstack.constructs.istio.construct import INGRESS_GATEWAY_SELECTOR
from tests.conftest import depends_on, release, release_address, release_values, resources
from tests.fixtures.envs import enable

MIRROR = "https://charts.mirror.internal/kfstack"
SITE = {"registry": {"host": "registry.internal", "pull_secret": "registry-internal"},
        "sources": {"mirror_url": "oci://registry.internal/charts"}}
"""A site's own image registry and OCI chart mirror (prod's)."""


def test_charts_and_version(synth_minimal):
    stack = synth_minimal({"sources": {"mirror_url": MIRROR}, "release": {"versions": {"istio": "1.29.0"}}})
    for name, chart in [("istio-base", "base"), ("istio-cni", "cni"), ("istiod", "istiod"),
                        ("istio-ingressgateway", "gateway"), ("cluster-local-gateway", "gateway")]:
        rel = release(stack, name)
        assert rel["chart"] == chart and rel["version"] == "1.29.0"
        assert rel["repository"] == MIRROR  # read from the chart mirror


def test_install_order_is_explicit(synth_minimal):
    stack = synth_minimal()
    assert release_address(stack, "kubeflow-issuer") in depends_on(stack, "istio-base")
    assert release_address(stack, "istio-base") in depends_on(stack, "istio-cni")
    assert release_address(stack, "istio-cni") in depends_on(stack, "istiod")
    assert release_address(stack, "istiod") in depends_on(stack, "istio-ingressgateway")
    assert release_address(stack, "istiod") in depends_on(stack, "cluster-local-gateway")


def test_gateway_labels_match_kubeflow_selector(synth_minimal):
    stack = synth_minimal()
    ingress = release_values(stack, "istio-ingressgateway")
    local = release_values(stack, "cluster-local-gateway")
    assert ingress["labels"]["istio"] == "ingressgateway"
    assert local["labels"]["istio"] == "cluster-local-gateway"
    assert ingress["autoscaling"]["enabled"] is False


def test_prod_is_ha_and_load_balanced(synth_minimal):
    prod = synth_minimal({"components": {"istio": {
        "istiod_replicas": 3, "ingress_gateway": {"replicas": 3, "service_type": "LoadBalancer"}}}})
    dev = synth_minimal({"components": {"istio": {"istiod_replicas": 1}}})  # gateway service type by default
    assert release_values(prod, "istiod")["pilot"]["replicaCount"] == 3
    assert release_values(dev, "istiod")["pilot"]["replicaCount"] == 1
    gw = release_values(prod, "istio-ingressgateway")
    assert gw["replicaCount"] == 3 and gw["service"]["type"] == "LoadBalancer"
    assert release_values(dev, "istio-ingressgateway")["service"]["type"] == "ClusterIP"


def test_mirror_sets_hub_and_pull_secrets(synth_minimal):
    values = release_values(synth_minimal(SITE), "istiod")
    assert values["global"]["hub"] == "registry.internal/istio"
    assert values["global"]["imagePullSecrets"] == ["registry-internal"]
    assert "hub" not in release_values(synth_minimal(), "istiod")["global"]  # no registry mirror


def test_mirror_mode_reads_charts_from_internal_oci_registry(synth_minimal):
    assert release(synth_minimal(SITE), "istiod")["repository"] == "oci://registry.internal/charts"


def test_cni_off_drops_release_and_relaxes_namespace(synth_minimal):
    stack = synth_minimal({"components": {"istio": {"cni": False}}})
    names = {r["name"] for r in resources(stack, "helm_release").values()}
    assert "istio-cni" not in names
    assert release_values(stack, "istiod")["pilot"]["cni"]["enabled"] is False
    assert release_address(stack, "istio-base") in depends_on(stack, "istiod")
    nss = {r["metadata"]["name"]: r for r in resources(stack, "kubernetes_namespace_v1").values()}
    assert nss["istio-system"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"


def test_cni_on_makes_namespace_privileged(synth_minimal):
    stack = synth_minimal({"components": {"istio": {"cni": True}}})
    nss = {r["metadata"]["name"]: r for r in resources(stack, "kubernetes_namespace_v1").values()}
    assert nss["istio-system"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"


@pytest.mark.parametrize("tls", [{"hostname": "kubeflow.dev.internal"},  # self-signed (development)
                                 {"hostname": "kubeflow.prod.internal", "cluster_issuer": "internal-ca"}],
                         ids=["self-signed", "site-issuer"])
def test_kubeflow_gateway_selects_the_ingress_gateway(synth_minimal, tls):
    stack = synth_minimal({"components": {"istio": {"tls": tls}}})
    (gateway,) = release_values(stack, "kubeflow-gateway")["manifests"]
    assert gateway["kind"] == "Gateway" and gateway["metadata"] == {
        "name": "kubeflow-gateway", "namespace": "kubeflow", "labels": {"app.kubernetes.io/managed-by": "kfstack"}}
    assert gateway["spec"]["selector"] == INGRESS_GATEWAY_SELECTOR
    assert INGRESS_GATEWAY_SELECTOR.items() <= release_values(stack, "istio-ingressgateway")["labels"].items()
    http, https = gateway["spec"]["servers"]  # with TLS: port 80 redirects, HTTPS on 443 (tests/unit/test_tls.py)
    assert http["port"]["number"] == 80 and http["tls"] == {"httpsRedirect": True}
    assert https["port"] == {"number": 443, "name": "https", "protocol": "HTTPS"}
    rel = release(stack, "kubeflow-gateway")
    assert rel["namespace"].startswith("${kubernetes_namespace_v1.ClusterBaseline_Namespace-kubeflow")
    assert release_address(stack, "istio-ingressgateway") in rel["depends_on"]


def test_istio_creates_the_gateway_kserve_names_without_the_dashboard(synth_minimal):
    """KServe names kubeflow/kubeflow-gateway; with the dashboard (and auth) off it still exists and KServe
    waits for it (issue 14: the Dashboard used to create it)."""
    stack = synth_minimal(enable("kserve", dashboard={"enabled": False}, auth={"enabled": False}))
    gw = release_values(stack, "kserve")["kserve"]["controller"]["gateway"]["ingressGateway"]["gateway"]
    (gateway,) = release_values(stack, "kubeflow-gateway")["manifests"]
    assert gw == f"{gateway['metadata']['namespace']}/{gateway['metadata']['name']}"
    assert release_address(stack, "kubeflow-gateway") in depends_on(stack, "kserve")
    assert not any(rid.startswith("Dashboard_") for rid in resources(stack, "helm_release"))


def test_an_existing_gateway_moves_with_its_state(synth_minimal):
    """The Dashboard construct's release is moved, not destroyed and recreated (a cdktf moved block)."""
    stack = synth_minimal(enable("dashboard"))
    assert stack["moved"] == [{"from": "helm_release.Dashboard_Gateway_9B355024",
                               "to": release_address(stack, "kubeflow-gateway")}]
    assert not [rid for rid in resources(stack, "helm_release") if rid.startswith("Dashboard_Gateway")]


def test_profiles_wait_for_the_gateway_of_the_ingress_ref(synth_minimal):
    stack = synth_minimal(enable("dashboard"))
    assert release_address(stack, "kubeflow-gateway") in depends_on(stack, "profiles-crds")
