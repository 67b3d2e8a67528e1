"""Cluster baseline: shared namespaces with PSA labels, priority classes, GPU pool conventions.

Component tests synthesize the minimal environment (tests/fixtures/envs.py); two tests check the
shipped files (the kubeflow namespace's Pod Security level, prod's GPU pool).
"""

import pytest
from pydantic import ValidationError

from kfstack.constructs.cluster_baseline.construct import gpu_pool_refs
from kfstack.constructs.cluster_baseline.settings import ClusterBaselineSettings, SharedNamespace
from tests.conftest import resources
from tests.fixtures.envs import minimal_env

UPSTREAM_LABELS = {"control-plane": "kubeflow", "istio-injection": "enabled"}
A100 = {"name": "gpu-a100", "kind": "gpu", "count": 4,
        "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}],
        "gpu": {"product": "NVIDIA-A100-SXM4-80GB", "per_node": 8, "sharing": "exclusive"}}
"""A tainted, exclusive 8-GPU pool (prod's)."""


def test_priority_classes_order_platform_serving_training(synth_minimal):
    pcs = {r["metadata"]["name"]: r for r in resources(synth_minimal(), "kubernetes_priority_class_v1").values()}
    assert set(pcs) == {"kfstack-platform", "kfstack-serving", "kfstack-training"}
    assert pcs["kfstack-platform"]["value"] > pcs["kfstack-serving"]["value"] > pcs["kfstack-training"]["value"]
    assert all(pc["global_default"] is False for pc in pcs.values())


@pytest.mark.parametrize(("env", "level"), [("dev", "baseline"), ("prod", "restricted")])
def test_shared_kubeflow_namespace_psa(synth_env, env, level):
    """Checks the shipped files: base.yaml runs kubeflow at baseline; prod at upstream's restricted (production
    guardrail)."""
    nss = {r["metadata"]["name"]: r for r in resources(synth_env(env), "kubernetes_namespace_v1").values()}
    labels = nss["kubeflow"]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == level
    assert labels["pod-security.kubernetes.io/audit"] == level
    assert labels["app.kubernetes.io/managed-by"] == "kfstack"


@pytest.mark.parametrize("level", [None, "restricted"], ids=["default", "restricted-with-upstream-labels"])
def test_shared_kubeflow_namespace_has_upstreams_labels(synth_minimal, level):
    """kubeflow/manifests 26.03 common/kubeflow-namespace: control-plane and istio-injection (sidecars), on the
    default shared namespace and on one listed like prod's (restricted)."""
    overrides = {} if level is None else {"components": {"cluster_baseline": {"shared_namespaces": [
        {"name": "kubeflow", "pod_security": level, "labels": UPSTREAM_LABELS}]}}}
    nss = {r["metadata"]["name"]: r for r in resources(synth_minimal(overrides), "kubernetes_namespace_v1").values()}
    labels = nss["kubeflow"]["metadata"]["labels"]
    assert labels["istio-injection"] == "enabled" and labels["control-plane"] == "kubeflow"
    assert labels["pod-security.kubernetes.io/enforce"] == (level or "baseline")  # PSA from pod_security


def test_shared_namespace_labels_default_and_custom(synth_minimal):
    assert ClusterBaselineSettings().shared_namespaces[0].labels == UPSTREAM_LABELS
    stack = synth_minimal({"components": {"cluster_baseline": {"shared_namespaces": [
        {"name": "kubeflow", "labels": {"istio-injection": "enabled"}}, {"name": "ml-shared"}]}}})
    nss = {r["metadata"]["name"]: r for r in resources(stack, "kubernetes_namespace_v1").values()}
    assert nss["kubeflow"]["metadata"]["labels"]["istio-injection"] == "enabled"
    assert "control-plane" not in nss["kubeflow"]["metadata"]["labels"]
    assert "istio-injection" not in nss["ml-shared"]["metadata"]["labels"]


@pytest.mark.parametrize("labels, match", [
    ({"pod-security.kubernetes.io/enforce": "restricted"}, "set by kfstack or Kubernetes"),
    ({"app.kubernetes.io/managed-by": "me"}, "set by kfstack or Kubernetes"),
    ({"istio-injection": "not ok!"}, "is not a valid Kubernetes label value"),
    ({"bad key/x/y": "v"}, "not a valid Kubernetes label key"),
])
def test_shared_namespace_labels_are_validated(labels, match):
    with pytest.raises(ValidationError, match=match):
        SharedNamespace(name="kubeflow", labels=labels)


def test_component_namespaces_wait_for_baseline(synth_minimal):
    nss = {r["metadata"]["name"]: r for r in resources(synth_minimal(), "kubernetes_namespace_v1").values()}
    deps = nss["cert-manager"]["depends_on"]
    assert any(d.startswith("kubernetes_priority_class_v1.") for d in deps)
    assert any(d.startswith("kubernetes_namespace_v1.ClusterBaseline") for d in deps)


def test_custom_shared_namespaces(synth_minimal):
    stack = synth_minimal({"components": {"cluster_baseline": {"shared_namespaces": [
        {"name": "kubeflow", "pod_security": "baseline"}, {"name": "ml-shared", "pod_security": "restricted"}]}}})
    nss = {r["metadata"]["name"]: r for r in resources(stack, "kubernetes_namespace_v1").values()}
    assert nss["ml-shared"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_gpu_pool_conventions_from_node_pools(lock):
    env = minimal_env(lock, {"node_pools": [{"name": "system", "count": 3}, A100]})
    (ref,) = gpu_pool_refs(env.node_pools)
    assert ref.pool is env.gpu_pools[0]  # the pool's settings, not a copy
    assert ref.gpu.product == "NVIDIA-A100-SXM4-80GB" and ref.gpus_per_node == 8
    assert (ref.gpu_resource, ref.allocatable) == ("nvidia.com/gpu", {"nvidia.com/gpu": 8})
    assert ref.priority_class_name == "kfstack-training"
    assert ref.node_selector["nvidia.com/gpu.product"] == "NVIDIA-A100-SXM4-80GB"
    assert ref.node_selector["kfstack.io/node-pool"] == "gpu-a100"
    assert ref.tolerations == ({"key": "nvidia.com/gpu", "operator": "Equal", "value": "present",
                                "effect": "NoSchedule"},)


def test_prod_gpu_pool_fits_the_seed_pytorchjob(real_envs):
    """Checks the shipped prod: the seed PyTorchJob (1 master + 3 workers x 4 GPUs = 16 GPUs) fits its GPU pool,
    each replica on one node."""
    pool = real_envs["prod"].gpu_pools[0]
    assert pool.gpu.per_node >= 4
    assert pool.count * pool.gpu.per_node >= 16
