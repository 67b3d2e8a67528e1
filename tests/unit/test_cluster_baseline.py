"""Cluster baseline: shared namespaces with PSA labels, priority classes, GPU pool conventions."""

from kfstack.constructs.cluster_baseline.construct import gpu_pool_ref
from tests.conftest import resources


def test_priority_classes_order_platform_serving_training(synth_env):
    pcs = {r["metadata"]["name"]: r for r in resources(synth_env("dev"), "kubernetes_priority_class_v1").values()}
    assert set(pcs) == {"kfstack-platform", "kfstack-serving", "kfstack-training"}
    assert pcs["kfstack-platform"]["value"] > pcs["kfstack-serving"]["value"] > pcs["kfstack-training"]["value"]
    assert all(pc["global_default"] is False for pc in pcs.values())


def test_shared_kubeflow_namespace_psa_baseline(synth_env):
    nss = {r["metadata"]["name"]: r for r in resources(synth_env("prod"), "kubernetes_namespace_v1").values()}
    labels = nss["kubeflow"]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert labels["pod-security.kubernetes.io/audit"] == "baseline"
    assert labels["app.kubernetes.io/managed-by"] == "kfstack"


def test_component_namespaces_wait_for_baseline(synth_env):
    nss = {r["metadata"]["name"]: r for r in resources(synth_env("dev"), "kubernetes_namespace_v1").values()}
    deps = nss["cert-manager"]["depends_on"]
    assert any(d.startswith("kubernetes_priority_class_v1.") for d in deps)
    assert any(d.startswith("kubernetes_namespace_v1.ClusterBaseline") for d in deps)


def test_custom_shared_namespaces(synth_config):
    stack = synth_config({"components": {"cluster_baseline": {"shared_namespaces": [
        {"name": "kubeflow", "pod_security": "baseline"}, {"name": "ml-shared", "pod_security": "restricted"}]}}})
    nss = {r["metadata"]["name"]: r for r in resources(stack, "kubernetes_namespace_v1").values()}
    assert nss["ml-shared"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_gpu_pool_conventions_from_node_pools(real_envs):
    (pool,) = real_envs["prod"].gpu_pools
    ref = gpu_pool_ref(pool)
    assert ref.product == "NVIDIA-A100-SXM4-80GB" and ref.gpus_per_node == 8
    assert ref.node_selector["nvidia.com/gpu.product"] == "NVIDIA-A100-SXM4-80GB"
    assert ref.node_selector["kfstack.io/node-pool"] == "gpu-a100"
    assert ref.tolerations == ({"key": "nvidia.com/gpu", "operator": "Equal", "value": "present",
                                "effect": "NoSchedule"},)


def test_prod_gpu_pool_fits_the_seed_pytorchjob(real_envs):
    """Seed PyTorchJob: 1 master + 3 workers x 4 GPUs = 16 GPUs; each replica fits on one node."""
    pool = real_envs["prod"].gpu_pools[0]
    assert pool.gpu.per_node >= 4
    assert pool.count * pool.gpu.per_node >= 16
