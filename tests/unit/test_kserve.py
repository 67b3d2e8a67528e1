"""KServe (kserve-crd → kserve), Knative mode (operator + KnativeServing), typed wiring, config errors.

Stacks are minimal environments built in the test (tests/fixtures/envs.py); one test checks the shipped files."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfstack.config import ConfigError
from kfstack.constructs.kserve.settings import KServeSettings
from kfstack.sources.charts import ChartResolver
from kfstack.sources.lock import load_lock
from tests.conftest import ROOT, depends_on, release, release_address, release_values, resources
from tests.fixtures.envs import REGISTRY, enable, load_minimal, merged

KSERVE = merged(enable("kserve"), {"release": {"versions": {"kserve": "0.16.0"}}})
KNATIVE = merged(enable("kserve", kserve={"mode": "knative"}), {"release": {"versions": {"knative": "1.21.0"}}})
WITH_STORE = merged(KSERVE, enable("object_store", object_store={"backend": "seaweedfs"}))
"""KServe beside the object store (SeaweedFS): its S3 wiring."""


def _names(stack: dict) -> set[str]:
    return {r["name"] for r in resources(stack, "helm_release").values()}


def _s3_secret(stack: dict) -> tuple[str, dict]:
    (found,) = [(rid, s) for rid, s in resources(stack, "kubernetes_secret_v1").items()
                if s["metadata"]["name"] == "kserve-s3-credentials"]
    return found


# --- charts and modes ------------------------------------------------------------------------

def _upstream(name: str, app_version: str):
    """The upstream chart a pin resolves to (synth in upstream mode needs the kustomize vendor cache)."""
    return ChartResolver(load_lock(ROOT / "sources.lock"), mode="upstream").chart(name, app_version)


def test_upstream_charts_are_kserve_crd_then_kserve_from_ghcr(synth_minimal):
    for name in ("kserve-crd", "kserve"):
        ref = _upstream(name, "0.16.0")
        assert (ref.name, ref.repository, ref.version) == (name, "oci://ghcr.io/kserve/charts", "v0.16.0")
    stack = synth_minimal(KSERVE)
    for name in ("kserve-crd", "kserve"):
        rel = release(stack, name)
        assert (rel["chart"], rel["version"], rel["wait"]) == (name, "v0.16.0", True)
    assert release_address(stack, "kserve-crd") in depends_on(stack, "kserve")


@pytest.mark.parametrize("env", ["dev", "staging", "prod", "local"])
def test_every_environment_runs_standard_mode_without_knative(synth_env, env):
    """Checks the shipped environment files: on-prem, every one runs KServe in Standard (raw deployment) mode."""
    stack = synth_env(env)
    assert release_values(stack, "kserve")["kserve"]["controller"]["deploymentMode"] == "Standard"
    assert not {"knative-operator", "knative-serving"} & _names(stack)


def test_mirror_mode_reads_charts_from_the_mirror(synth_minimal):
    stack = synth_minimal(merged(KSERVE, {"sources": {"mode": "mirror", "mirror_url": "oci://registry.internal/charts"}}))
    for name in ("kserve-crd", "kserve"):
        rel = release(stack, name)
        assert (rel["repository"], rel["version"]) == ("oci://registry.internal/charts", "v0.16.0")


def test_kserve_installs_into_the_shared_kubeflow_namespace(synth_minimal):
    stack = synth_minimal(KSERVE)
    rel = release(stack, "kserve")
    assert rel["namespace"].startswith("${kubernetes_namespace_v1.ClusterBaseline_Namespace-kubeflow")
    assert not any("KServe_Namespace" in rid for rid in resources(stack, "kubernetes_namespace_v1"))


def test_knative_mode_installs_operator_then_knative_serving_then_kserve(synth_minimal):
    ref = _upstream("knative-operator", "1.21.0")
    assert (ref.repository, ref.version) == ("https://knative.github.io/operator", "v1.21.0")
    stack = synth_minimal(KNATIVE)
    op = release(stack, "knative-operator")
    assert (op["chart"], op["version"]) == ("knative-operator", "v1.21.0")
    assert release_address(stack, "knative-operator") in depends_on(stack, "knative-serving")
    assert release_address(stack, "knative-serving") in depends_on(stack, "kserve")
    assert any("CertManager_Issuer" in d for d in depends_on(stack, "knative-operator"))
    assert release_values(stack, "kserve")["kserve"]["controller"]["deploymentMode"] == "Knative"


def test_knative_serving_routes_local_traffic_to_the_cluster_local_gateway(synth_minimal):
    stack = synth_minimal(KNATIVE)
    (ks,) = release_values(stack, "knative-serving")["manifests"]
    assert (ks["apiVersion"], ks["kind"]) == ("operator.knative.dev/v1beta1", "KnativeServing")
    assert ks["metadata"]["namespace"] == "knative-serving"
    spec = ks["spec"]
    assert spec["version"] == "1.21.0"
    assert spec["ingress"]["istio"]["enabled"] is True
    assert spec["ingress"]["istio"]["knative-local-gateway"]["selector"] == {"istio": "cluster-local-gateway"}
    assert spec["services"] == [{"name": "knative-local-gateway", "selector": {"istio": "cluster-local-gateway"}}]
    assert spec["config"]["istio"] == {
        "gateway.kubeflow.kubeflow-gateway": "istio-ingressgateway.istio-system.svc.cluster.local"}
    assert spec["config"]["deployment"] == {"progress-deadline": "600s"}
    for gw in ("Istio_IngressGateway", "Istio_ClusterLocalGateway"):
        assert any(gw in d for d in depends_on(stack, "knative-serving"))
    ns = [n for n in resources(stack, "kubernetes_namespace_v1").values()
          if n["metadata"]["name"] == "knative-serving"]
    assert ns and ns[0]["metadata"]["labels"]["istio-injection"] == "enabled"


# --- typed wiring ----------------------------------------------------------------------------

def test_gateways_come_from_the_istio_construct(synth_minimal):
    gw = release_values(synth_minimal(enable("kserve", istio={"namespace": "mesh"},
                                             kserve={"ingress_domain": "example.com"})), "kserve")
    gateway = gw["kserve"]["controller"]["gateway"]
    assert gateway["ingressGateway"] == {"gateway": "kubeflow/kubeflow-gateway", "className": "istio"}
    assert gateway["localGateway"] == {"gateway": "knative-serving/knative-local-gateway",
                                       "gatewayService": "cluster-local-gateway.mesh.svc.cluster.local"}
    assert gateway["domain"] == "example.com"


def test_kserve_waits_for_cert_manager_istio_and_the_object_store(synth_minimal):
    deps = depends_on(synth_minimal(WITH_STORE), "kserve")
    for needle in ("KServe_Crds", "CertManager_Issuer", "Istio_IngressGateway", "Istio_ClusterLocalGateway",
                   "ObjectStore_Release", "KServe_S3Credentials"):
        assert any(needle in d for d in deps), needle


def test_s3_defaults_follow_the_object_store_endpoint(synth_minimal):
    s3 = release_values(synth_minimal(WITH_STORE), "kserve")["kserve"]["storage"]["s3"]
    assert s3 == {"endpoint": "seaweedfs-s3.object-store.svc.cluster.local:8333", "useHttps": "0",
                  "verifySSL": "0", "region": "us-east-1", "useVirtualBucket": "false"}
    minio = release_values(synth_minimal(merged(WITH_STORE, {"components": {"object_store": {"backend": "minio"}}})),
                           "kserve")
    assert minio["kserve"]["storage"]["s3"]["endpoint"] == "minio.object-store.svc.cluster.local:9000"


@pytest.mark.parametrize("overrides", [{}, REGISTRY], ids=["upstream-images", "registry-mirror"])
def test_s3_secret_copies_the_store_keys_by_reference(synth_minimal, overrides):
    stack = synth_minimal(merged(WITH_STORE, overrides))
    _, secret = _s3_secret(stack)
    data = secret["data"]
    assert set(data) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    assert data["AWS_ACCESS_KEY_ID"].startswith("${random_password.ObjectStore_Credentials_AccessKey")
    assert data["AWS_SECRET_ACCESS_KEY"].startswith("${random_password.ObjectStore_Credentials_SecretKey")
    ann = secret["metadata"]["annotations"]
    assert ann["serving.kserve.io/s3-endpoint"] == "seaweedfs-s3.object-store.svc.cluster.local:8333"
    assert ann["serving.kserve.io/s3-usehttps"] == "0"
    assert any("ObjectStore_Release" in d for d in secret["depends_on"])
    assert "AWS_" not in release(stack, "kserve")["values"][0].split("storage:")[0]  # no keys in values


def test_without_object_store_no_s3_wiring(synth_minimal):
    stack = synth_minimal(merged(WITH_STORE, {"components": {"object_store": {"enabled": False}}}))
    assert "storage" not in release_values(stack, "kserve")["kserve"]
    assert not [s for s in resources(stack, "kubernetes_secret_v1").values()
                if s["metadata"]["name"] == "kserve-s3-credentials"]


def test_registry_mirror_rewrites_every_image(synth_minimal):
    values = release_values(synth_minimal(merged(WITH_STORE, REGISTRY)), "kserve")["kserve"]
    images = [values["controller"]["image"], values["controller"]["rbacProxyImage"], values["agent"]["image"],
              values["router"]["image"], values["storage"]["image"],
              values["localmodel"]["controller"]["image"], values["localmodel"]["agent"]["image"],
              *(rt["image"] for rt in values["servingruntime"].values() if "image" in rt)]
    assert len(images) == 18
    assert all(i.startswith("registry.internal/") for i in images), images
    assert values["servingruntime"]["tritonserver"]["image"] == "registry.internal/nvidia/tritonserver"
    assert values["servingruntime"]["mlserver"]["image"] == "registry.internal/seldonio/mlserver"
    assert values["controller"]["rbacProxyImage"] == "registry.internal/brancz/kube-rbac-proxy:v0.18.0"
    assert values["controller"]["imagePullSecrets"] == [{"name": "registry-internal"}]
    assert values["servingruntime"]["huggingfaceserver_multinode"]["imagePullSecrets"] == [{"name": "registry-internal"}]
    assert values["router"]["imagePullSecrets"] == '["registry-internal"]'


def test_without_a_registry_mirror_upstream_images(synth_minimal):
    values = release_values(synth_minimal(WITH_STORE), "kserve")["kserve"]
    assert set(values["controller"]) == {"deploymentMode", "gateway"}


def test_knative_mirror_images(synth_minimal):
    stack = synth_minimal(merged(KNATIVE, REGISTRY))
    op = release_values(stack, "knative-operator")["knative_operator"]
    assert op["knative_operator"] == {"image": "registry.internal/knative-releases/knative.dev/operator/cmd/operator",
                                      "tag": "v1.21.0"}
    (ks,) = release_values(stack, "knative-serving")["manifests"]
    reg = ks["spec"]["registry"]
    assert reg["default"] == "registry.internal/knative-releases/knative.dev/serving/cmd/${NAME}:v1.21.0"
    assert reg["override"]["net-istio-controller/controller"].startswith("registry.internal/knative-releases/")
    assert reg["imagePullSecrets"] == [{"name": "registry-internal"}]


def test_disabled_kserve_installs_nothing(synth_minimal):
    stack = synth_minimal(merged(WITH_STORE, {"components": {"kserve": {"enabled": False}}}))
    assert not {"kserve", "kserve-crd"} & _names(stack)
    assert "seaweedfs" in _names(stack)


# --- config errors ---------------------------------------------------------------------------

def _load_error(tmp_path: Path, lock, components: dict) -> ConfigError:
    """Load a minimal environment whose base.yaml turns KServe on and whose broken.yaml sets ``components``."""
    with pytest.raises(ConfigError) as info:
        load_minimal(tmp_path, lock, enable("kserve"), {"components": components})
    return info.value


def test_knative_mode_without_istio_is_a_config_error(tmp_path, lock):
    err = _load_error(tmp_path, lock, {"istio": {"enabled": False}, "kserve": {"mode": "knative"}})
    (p,) = err.problems
    assert (p.file, p.path) == ("environments/base.yaml", ("components", "kserve", "enabled")) and p.line
    assert "Knative Serving's network layer is net-istio" in p.message and "components.istio.enabled: true" in p.message


def test_kserve_without_cert_manager_is_a_config_error(tmp_path, lock):
    err = _load_error(tmp_path, lock, {"cert_manager": {"enabled": False}})
    (p,) = [p for p in err.problems if p.path == ("components", "kserve", "enabled")]
    assert "kserve is enabled but cert_manager is not" in p.message


def test_knative_is_installed_only_in_knative_mode():
    assert [i.key for i in KServeSettings(enabled=True).installs()] == ["kserve"]
    knative = KServeSettings(enabled=True, mode="knative")
    assert [i.key for i in knative.installs()] == ["kserve", "knative"]
    assert knative.knative_serving is knative.knative and KServeSettings().knative_serving is None


def test_unknown_mode_names_the_key(tmp_path, lock):
    err = _load_error(tmp_path, lock, {"kserve": {"mode": "serverless"}})
    (p,) = err.problems
    assert p.path == ("components", "kserve", "mode") and p.file == "environments/broken.yaml"


def test_standard_mode_ignores_knative_settings(synth_minimal):
    stack = synth_minimal(enable("kserve", kserve={"mode": "standard", "knative": {"high_availability_replicas": 3}}))
    assert "knative-operator" not in _names(stack)
