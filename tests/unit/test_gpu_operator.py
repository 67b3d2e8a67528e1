"""GPU Operator: chart, drivers per environment, tolerations from taints, mirror images, GPU sharing modes.

Tests synthesize the minimal environment (tests/fixtures/envs.py) with the GPU Operator on and the GPU
pools each test names (the shapes of dev's, staging's and prod's pools).
"""

from __future__ import annotations

import pytest
import yaml

from kfstack.config.loader import deep_merge
from kfstack.constructs.gpu_operator.construct import (
    DEVICE_PLUGIN_CONFIG_MAP, IMAGE_REPOSITORIES, MIG_CONFIG_MAP, NO_SHARING_CONFIG, PULL_SECRET_KEYS,
)
from tests.conftest import config_error, release, release_values, resources
from tests.fixtures.envs import PRODUCTION, enable, minimal_env

GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
PRESENT = {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}
SHARED = {"key": "nvidia.com/gpu", "operator": "Equal", "value": "shared", "effect": "NoSchedule"}
PRESENT_TAINT = [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]

SYSTEM = {"name": "system", "count": 3}
STORAGE = {"name": "storage", "count": 3, "labels": {"node-role.kubernetes.io/storage": ""}}
T4 = {"name": "gpu-t4", "kind": "gpu", "count": 1, "taints": PRESENT_TAINT,
      "gpu": {"product": "Tesla-T4", "per_node": 1}}
"""A tainted single-T4 pool, exclusive by default (dev's)."""
A100 = {"name": "gpu-a100", "kind": "gpu", "count": 4, "taints": PRESENT_TAINT,
        "gpu": {"product": "NVIDIA-A100-SXM4-80GB", "per_node": 8, "sharing": "exclusive"}}
"""A tainted, exclusive 8-GPU pool (prod's)."""
T4_SHARED = {"name": "gpu-t4-shared", "kind": "gpu", "count": 2,
             "taints": [{"key": "nvidia.com/gpu", "value": "shared", "effect": "NoSchedule"}],
             "gpu": {"product": "Tesla-T4", "per_node": 1, "sharing": "time-slicing", "time_slicing_replicas": 4}}
"""T4s shared by time-slicing, 4 pods per GPU, tainted ``shared`` (staging's)."""
MIRROR = "https://charts.mirror.internal/kfstack"
SITE = {"registry": {"host": "registry.internal", "pull_secret": "registry-internal"},
        "sources": {"mirror_url": "oci://registry.internal/charts"}}
"""A site's own image registry and OCI chart mirror (prod's)."""
GPU_OPERATOR = enable("gpu_operator")


def gpu(*pools: dict, **settings) -> dict:
    """Overrides of the minimal environment: its system pool plus ``pools``, the GPU Operator on with ``settings``."""
    return {"node_pools": [SYSTEM, *pools], **enable("gpu_operator", gpu_operator=settings)}


def _get(values: dict, path: tuple[str, ...]) -> dict:
    for key in path:
        values = values[key]
    return values


def test_chart_version_repository_and_privileged_namespace(synth_minimal):
    stack = synth_minimal({**gpu(T4), "sources": {"mirror_url": MIRROR},
                           "release": {"versions": {"gpu_operator": "25.10.1"}}})
    rel = release(stack, "gpu-operator")
    assert (rel["chart"], rel["repository"], rel["version"]) == ("gpu-operator", MIRROR, "v25.10.1")
    assert rel["namespace"].startswith("${kubernetes_namespace_v1.GpuOperator_Namespace")
    (ns,) = [n for n in resources(stack, "kubernetes_namespace_v1").values()
             if n["metadata"]["name"] == "gpu-operator"]
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"


def test_prod_uses_the_mirror_chart_repository(synth_minimal):
    rel = release(synth_minimal({**gpu(A100), **SITE, "release": {"versions": {"gpu_operator": "25.10.1"}}}),
                  "gpu-operator")
    assert (rel["repository"], rel["version"]) == ("oci://registry.internal/charts", "v25.10.1")


def test_drivers_preinstalled_in_dev_operator_managed_in_prod(synth_minimal):
    dev = release_values(synth_minimal(gpu(T4, driver_enabled=False)), "gpu-operator")
    prod = release_values(synth_minimal(gpu(A100, driver_enabled=True)), "gpu-operator")
    assert dev["driver"]["enabled"] is False and dev["toolkit"]["enabled"] is True
    assert prod["driver"]["enabled"] is True and prod["toolkit"]["enabled"] is True
    for values in (dev, prod):
        assert values["dcgmExporter"]["enabled"] is True
        assert values["nfd"] == {"enabled": True}


def test_toolkit_can_be_preinstalled_too(synth_minimal):
    values = release_values(synth_minimal(gpu(T4, driver_enabled=False, toolkit_enabled=False)), "gpu-operator")
    assert values["toolkit"]["enabled"] is False and values["driver"]["enabled"] is False


def test_operands_tolerate_every_gpu_pool_taint(synth_minimal):
    dev = release_values(synth_minimal(gpu(T4)), "gpu-operator")
    assert dev["daemonsets"]["tolerations"] == [GPU_TOLERATION, PRESENT]
    staging = release_values(synth_minimal(gpu(A100, STORAGE, T4_SHARED)), "gpu-operator")
    assert staging["daemonsets"]["tolerations"] == [GPU_TOLERATION, PRESENT, SHARED]
    worker = staging["node-feature-discovery"]["worker"]["tolerations"]
    assert worker[-3:] == [GPU_TOLERATION, PRESENT, SHARED]
    assert {"key": "node-role.kubernetes.io/control-plane", "operator": "Equal", "value": "",
            "effect": "NoSchedule"} in worker


def test_mirror_rewrites_every_operand_image_with_pull_secrets(synth_minimal):
    prod = release_values(synth_minimal({**gpu(A100), **SITE}), "gpu-operator")
    for path, upstream in IMAGE_REPOSITORIES.items():
        assert _get(prod, path)["repository"] == "registry.internal/" + upstream.split("/", 1)[1], path
    for path in PULL_SECRET_KEYS:
        assert _get(prod, path)["imagePullSecrets"] == ["registry-internal"], path
    assert prod["operator"]["repository"] == "registry.internal/nvidia"
    assert prod["driver"]["manager"]["repository"] == "registry.internal/nvidia/cloud-native"
    assert prod["dcgmExporter"]["repository"] == "registry.internal/nvidia/k8s"
    nfd = prod["node-feature-discovery"]
    assert nfd["image"] == {"repository": "registry.internal/nfd/node-feature-discovery"}
    assert nfd["imagePullSecrets"] == [{"name": "registry-internal"}]
    # The operand list covers what the issue names.
    names = {p[0] for p in IMAGE_REPOSITORIES}
    assert {"driver", "toolkit", "devicePlugin", "dcgmExporter", "gfd", "migManager", "nodeStatusExporter",
            "validator", "operator"} <= names


def test_no_mirror_keeps_upstream_images(synth_minimal):
    dev = release_values(synth_minimal(gpu(T4)), "gpu-operator")
    assert "repository" not in dev["driver"] and "repository" not in dev["dcgmExporter"]
    assert "imagePullSecrets" not in dev.get("operator", {})
    assert "image" not in dev["node-feature-discovery"]


def test_exclusive_pools_need_no_sharing_config(synth_minimal, lock):
    overrides = {**gpu(A100), **SITE}
    prod = release_values(synth_minimal(overrides), "gpu-operator")
    assert "config" not in prod["devicePlugin"] and "config" not in prod["migManager"]  # only mirror keys
    assert prod["mig"] == {"strategy": "single"}
    (a100,) = minimal_env(lock, overrides).gpu_pools
    assert a100.node_labels == {"kfstack.io/node-pool": "gpu-a100"}
    assert a100.node_selector == {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB", "kfstack.io/node-pool": "gpu-a100"}
    assert a100.gpu.allocatable == {"nvidia.com/gpu": 8}
    assert a100.gpu.discovered_labels == {"nvidia.com/gpu.present": "true", "nvidia.com/gpu.count": "8",
                                          "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"}


def test_time_slicing_config_per_pool_selected_by_node_label(synth_minimal, lock):
    overrides = {**gpu(A100, STORAGE, T4_SHARED), **SITE}  # staging's pools and mirrors
    staging = release_values(synth_minimal(overrides), "gpu-operator")
    config = staging["devicePlugin"]["config"]
    assert (config["create"], config["name"], config["default"]) == (True, DEVICE_PLUGIN_CONFIG_MAP, NO_SHARING_CONFIG)
    assert set(config["data"]) == {NO_SHARING_CONFIG, "gpu-t4-shared"}
    shared = yaml.safe_load(config["data"]["gpu-t4-shared"])
    assert shared == {"version": "v1", "flags": {"migStrategy": "single"},
                      "sharing": {"timeSlicing": {"resources": [{"name": "nvidia.com/gpu", "replicas": 4}]}}}
    assert yaml.safe_load(config["data"][NO_SHARING_CONFIG]) == {"version": "v1", "flags": {"migStrategy": "single"}}
    assert "config" not in staging["migManager"]

    pool = next(p for p in minimal_env(lock, overrides).gpu_pools if p.name == "gpu-t4-shared")
    assert pool.node_labels == {"kfstack.io/node-pool": "gpu-t4-shared",
                                "nvidia.com/device-plugin.config": "gpu-t4-shared"}
    assert pool.node_selector == {"nvidia.com/gpu.product": "Tesla-T4-SHARED", "kfstack.io/node-pool": "gpu-t4-shared"}
    assert pool.gpu.allocatable == {"nvidia.com/gpu": 4}
    assert pool.gpu.discovered_labels["nvidia.com/gpu.replicas"] == "4"
    assert pool.gpu.discovered_labels["nvidia.com/gpu.sharing-strategy"] == "time-slicing"


MIG_SINGLE_POOL = {
    "name": "gpu-mig", "kind": "gpu", "count": 2,
    "taints": [{"key": "nvidia.com/gpu", "value": "mig", "effect": "NoSchedule"}],
    "gpu": {"product": "NVIDIA-A100-SXM4-80GB", "per_node": 8, "sharing": "mig",
            "mig_strategy": "single", "mig_devices": {"1g.10gb": 7}},
}


def test_mig_single_config_strategy_and_labels(synth_minimal):
    stack = synth_minimal(gpu(T4, MIG_SINGLE_POOL))
    values = release_values(stack, "gpu-operator")
    assert values["mig"] == {"strategy": "single"}
    config = values["migManager"]["config"]
    assert (config["create"], config["name"], config["default"]) == (True, MIG_CONFIG_MAP, "all-disabled")
    parted = yaml.safe_load(config["data"]["config.yaml"])
    assert parted == {"version": "v1", "mig-configs": {
        "all-disabled": [{"devices": "all", "mig-enabled": False}],
        "gpu-mig": [{"devices": "all", "mig-enabled": True, "mig-devices": {"1g.10gb": 7}}],
    }}
    assert "devicePlugin" not in values
    assert {"key": "nvidia.com/gpu", "operator": "Equal", "value": "mig", "effect": "NoSchedule"} \
        in values["daemonsets"]["tolerations"]


def test_mig_pool_labels_product_and_allocatable():
    from kfstack.constructs.cluster_baseline.node_pools import NodePool

    single = NodePool.model_validate(MIG_SINGLE_POOL)
    assert single.node_labels == {"kfstack.io/node-pool": "gpu-mig", "nvidia.com/mig.config": "gpu-mig"}
    assert single.node_selector["nvidia.com/gpu.product"] == "NVIDIA-A100-SXM4-80GB-MIG-1g.10gb"
    assert single.gpu.allocatable == {"nvidia.com/gpu": 56}
    mixed = NodePool.model_validate({**MIG_SINGLE_POOL, "gpu": {
        **MIG_SINGLE_POOL["gpu"], "mig_strategy": "mixed", "mig_devices": {"3g.40gb": 1, "1g.10gb": 4}}})
    assert mixed.node_selector["nvidia.com/gpu.product"] == "NVIDIA-A100-SXM4-80GB"
    assert mixed.gpu.allocatable == {"nvidia.com/mig-1g.10gb": 32, "nvidia.com/mig-3g.40gb": 8}


def test_mig_mixed_sets_the_cluster_strategy(synth_minimal):
    pool = {**MIG_SINGLE_POOL, "gpu": {**MIG_SINGLE_POOL["gpu"], "mig_strategy": "mixed",
                                       "mig_devices": {"3g.40gb": 1, "1g.10gb": 4}}}
    values = release_values(synth_minimal(gpu(T4, pool)), "gpu-operator")
    assert values["mig"] == {"strategy": "mixed"}
    parted = yaml.safe_load(values["migManager"]["config"]["data"]["config.yaml"])
    assert parted["mig-configs"]["gpu-mig"][0]["mig-devices"] == {"1g.10gb": 4, "3g.40gb": 1}


def test_disabled_gpu_operator_installs_nothing(synth_minimal):
    stack = synth_minimal({"node_pools": [SYSTEM, T4], "components": {"gpu_operator": {"enabled": False}}})
    assert "gpu-operator" not in {r["name"] for r in resources(stack, "helm_release").values()}
    assert "gpu-operator" not in {n["metadata"]["name"] for n in resources(stack, "kubernetes_namespace_v1").values()}


# --- configuration errors name the file and the key path -------------------------------------------
# The minimal environment as files: base.yaml (GPU Operator on) and test.yaml with the node pools.

def _dev_with_gpu(gpu: dict) -> dict:
    """test.yaml: the system pool and a T4 pool (node_pools[1]) with ``gpu`` settings."""
    return {"node_pools": [dict(SYSTEM), {**T4, "gpu": {"product": "Tesla-T4", "per_node": 1, **gpu}}]}


def _error_text(tmp_path, lock, data: dict, name: str = "test") -> str:
    return str(config_error(tmp_path, lock, data, base=GPU_OPERATOR, name=name))


@pytest.mark.parametrize(("gpu", "message"), [
    ({"time_slicing_replicas": 4}, "time_slicing_replicas applies only to sharing time-slicing"),
    ({"sharing": "time-slicing"}, "sharing time-slicing needs time_slicing_replicas"),
    ({"sharing": "mig", "mig_devices": {"1g.10gb": 7}}, "sharing mig needs mig_strategy"),
    ({"sharing": "mig", "mig_strategy": "single"}, "sharing mig needs mig_devices"),
    ({"sharing": "mig", "mig_strategy": "single", "mig_devices": {"1g.10gb": 4, "2g.20gb": 1}},
     "mig_strategy single allows one profile per GPU"),
    ({"sharing": "time-slicing", "time_slicing_replicas": 4, "mig_strategy": "single"},
     "mig_strategy applies only to sharing mig"),
])
def test_sharing_fields_must_match_the_mode(tmp_path, lock, gpu, message):
    text = _error_text(tmp_path, lock, _dev_with_gpu(gpu))
    assert "environments/test.yaml" in text and "node_pools[1].gpu" in text and message in text


def test_time_slicing_needs_two_replicas(tmp_path, lock):
    text = _error_text(tmp_path, lock, _dev_with_gpu({"sharing": "time-slicing", "time_slicing_replicas": 1}))
    assert "environments/test.yaml" in text
    assert "node_pools[1].gpu.time_slicing_replicas" in text


def test_mig_pools_must_agree_on_the_strategy(tmp_path, lock):
    data = _dev_with_gpu({})
    for name, strategy in (("mig-a", "single"), ("mig-b", "mixed")):
        data["node_pools"].append({**MIG_SINGLE_POOL, "name": name,
                                   "gpu": {**MIG_SINGLE_POOL["gpu"], "mig_strategy": strategy}})
    text = _error_text(tmp_path, lock, data)
    assert "environments/test.yaml" in text and "node_pools" in text
    assert "node_pools[2].gpu.mig_strategy is single" in text and "node_pools[3].gpu.mig_strategy is mixed" in text


def test_pool_labels_cannot_override_the_operator_selectors(tmp_path, lock):
    data = _dev_with_gpu({})
    data["node_pools"][1]["labels"] = {"nvidia.com/device-plugin.config": "x"}
    text = _error_text(tmp_path, lock, data)
    assert "environments/test.yaml" in text and "node_pools[1]" in text
    assert "set by kfstack" in text


def test_prod_rejects_an_exclusive_gpu_pool_without_taint(tmp_path, lock):
    # PRODUCTION: a tier production environment that passes every other guardrail
    data = deep_merge(PRODUCTION, {"node_pools": [dict(SYSTEM), dict(STORAGE), dict(A100)]})
    gpu_index = next(i for i, p in enumerate(data["node_pools"]) if p.get("kind") == "gpu")
    data["node_pools"][gpu_index].pop("taints")
    text = _error_text(tmp_path, lock, data, name="prod")
    assert "environments/prod.yaml" in text
    assert f"node_pools[{gpu_index}].taints: guardrail" in text
