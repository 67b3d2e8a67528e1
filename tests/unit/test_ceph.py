"""Rook-Ceph: install order, cluster shape, explicit devices, default StorageClass, mirror, guardrails.

Component tests synthesize the minimal environment (tests/fixtures/envs.py) with Ceph on; two tests
check the shipped dev and prod files.
"""

from __future__ import annotations

import pytest

from kfstack.config import load_environment
from kfstack.config.loader import deep_merge
from kfstack.constructs.ceph.construct import IMAGE_SET_CONFIG_MAP, OPERATOR_IMAGES
from tests.conftest import ROOT, config_error, env_dict, release, release_address, release_values, resources
from tests.fixtures.envs import PRODUCTION, enable, minimal_env, write_minimal_env

CEPH_RELEASES = ("rook-ceph", "ceph-csi-drivers", "rook-ceph-cluster")
NODES = [{"name": f"storage-{i}", "devices": ["sdb"]} for i in (1, 2, 3)]
DISKS = ["sdb", "sdc", "sdd"]
PROD_CEPH = {"enabled": True, "mon_count": 3, "mgr_count": 2, "use_all_devices": False,
             "nodes": [{"name": f"prod-storage-{i}", "devices": DISKS} for i in (1, 2, 3)],
             "block_pool": {"replicas": 3, "failure_domain": "host"}}
"""A production Ceph: three storage nodes with their disks listed, three mons, pools replicated 3 times."""
SITE = {"registry": {"host": "registry.internal", "pull_secret": "registry-internal"},
        "sources": {"mirror_url": "oci://registry.internal/charts"}}
"""A site's own image registry and OCI chart mirror."""


def ceph(settings: dict | None = None, **overrides: dict) -> dict:
    """Overrides of the minimal environment: Ceph on (three storage nodes unless ``settings`` lists others) as
    the default StorageClass ``ceph-block``, plus ``overrides`` (top-level keys)."""
    return deep_merge({"storage": {"default_class": "ceph-block"}, **enable("ceph", ceph={"nodes": NODES}),
                       **overrides}, {"components": {"ceph": settings or {}}})


def _get(values: dict, path: tuple[str, ...]) -> dict:
    for key in path:
        values = values[key]
    return values


def test_dev_has_no_ceph(synth_env, real_envs):
    """The shipped dev: no Ceph, the cluster's own StorageClass (dev.yaml's promise)."""
    stack = synth_env("dev")
    names = {r["name"] for r in resources(stack, "helm_release").values()}
    assert not names & set(CEPH_RELEASES)
    assert "rook-ceph" not in {n["metadata"]["name"] for n in resources(stack, "kubernetes_namespace_v1").values()}
    assert real_envs["dev"].storage.default_class == "local-path"


def test_dev_storage_class_ref_is_the_clusters_own(synth_minimal, lock):
    from kfstack.cdk import Testing

    from kfstack.stacks import PlatformStack, ProjectPaths

    own = {"storage": {"default_class": "local-path"}}
    dev = PlatformStack(Testing.app(), minimal_env(lock, own), lock=lock, paths=ProjectPaths(ROOT))
    assert dev.storage_class.name == "local-path"
    stack = synth_minimal(own)  # without Ceph nothing of it is installed
    assert not {r["name"] for r in resources(stack, "helm_release").values()} & set(CEPH_RELEASES)
    assert "rook-ceph" not in {n["metadata"]["name"] for n in resources(stack, "kubernetes_namespace_v1").values()}
    prod = PlatformStack(Testing.app(), minimal_env(lock, ceph(PROD_CEPH)), lock=lock, paths=ProjectPaths(ROOT))
    assert prod.storage_class.name == "ceph-block"
    assert prod.storage_class.ready == (prod.ceph.cluster.resource,)
    assert prod.ceph.cluster_ref.namespace == "rook-ceph" and prod.ceph.cluster_ref.operator_namespace == "rook-ceph"


@pytest.mark.parametrize("settings", [None, PROD_CEPH], ids=["three-nodes", "production-shape"])
def test_charts_and_install_order(synth_minimal, settings):
    stack = synth_minimal(ceph(settings, **SITE, release={"versions": {"rook": "1.20.6"}}))
    operator, csi, cluster = (release(stack, n) for n in CEPH_RELEASES)
    assert (operator["chart"], operator["version"]) == ("rook-ceph", "v1.20.6")
    assert (csi["chart"], csi["version"]) == ("ceph-csi-drivers", "1.0.4")
    assert (cluster["chart"], cluster["version"]) == ("rook-ceph-cluster", "v1.20.6")
    assert {r["repository"] for r in (operator, csi, cluster)} == {"oci://registry.internal/charts"}
    assert release_address(stack, "rook-ceph") in csi["depends_on"]
    assert release_address(stack, "ceph-csi-drivers") in cluster["depends_on"]
    for rel in (operator, csi, cluster):
        assert rel["namespace"].startswith("${kubernetes_namespace_v1.Ceph_Namespace")
    assert "kubernetes_manifest" not in stack.get("resource", {})


def test_upstream_repositories_without_a_chart_mirror(synth_minimal):
    mirror = "https://charts.mirror.internal/kfstack"
    stack = synth_minimal(ceph(sources={"mirror_url": mirror}))  # a chart mirror, no image registry
    for name in ("rook-ceph", "rook-ceph-cluster", "ceph-csi-drivers"):
        assert release(stack, name)["repository"] == mirror
    values = release_values(stack, "rook-ceph")
    assert "image" not in values and "imagePullSecrets" not in values
    assert "cephImage" not in release_values(stack, "rook-ceph-cluster")


def test_namespace_is_privileged(synth_minimal):
    (ns,) = [n for n in resources(synth_minimal(ceph()), "kubernetes_namespace_v1").values()
             if n["metadata"]["name"] == "rook-ceph"]
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"


def test_operator_values(synth_minimal):
    values = release_values(synth_minimal(ceph()), "rook-ceph")
    assert values["crds"] == {"enabled": True}
    assert values["csi"]["installCsiOperator"] is True
    assert values["priorityClassName"] == "kfstack-platform"


def test_prod_cluster_mons_mgrs_and_explicit_devices(synth_minimal):
    spec = release_values(synth_minimal(ceph(PROD_CEPH)), "rook-ceph-cluster")["cephClusterSpec"]
    assert spec["mon"] == {"count": 3, "allowMultiplePerNode": False}
    assert spec["mgr"] == {"count": 2, "allowMultiplePerNode": False}
    assert spec["dataDirHostPath"] == "/var/lib/rook"
    disks = [{"name": "sdb"}, {"name": "sdc"}, {"name": "sdd"}]
    assert spec["storage"] == {"useAllNodes": False, "useAllDevices": False, "nodes": [
        {"name": "prod-storage-1", "devices": disks},
        {"name": "prod-storage-2", "devices": disks},
        {"name": "prod-storage-3", "devices": disks},
    ]}


def test_block_pool_is_the_default_storage_class(synth_minimal):
    values = release_values(synth_minimal(ceph(PROD_CEPH)), "rook-ceph-cluster")
    (pool,) = values["cephBlockPools"]
    assert pool["name"] == "ceph-blockpool"
    assert pool["spec"] == {"failureDomain": "host", "replicated": {"size": 3}}
    sc = pool["storageClass"]
    assert (sc["enabled"], sc["name"], sc["isDefault"], sc["reclaimPolicy"]) == (True, "ceph-block", True, "Delete")
    assert sc["parameters"]["csi.storage.k8s.io/provisioner-secret-name"] == "rook-csi-rbd-provisioner"
    assert sc["parameters"]["csi.storage.k8s.io/node-stage-secret-namespace"] == "rook-ceph"
    assert values["operatorNamespace"] == "rook-ceph"
    # CephFS and RGW are off by default: empty lists replace the chart's examples.
    assert values["cephFileSystems"] == [] and values["cephObjectStores"] == []
    assert values["toolbox"] == {"enabled": False}


GPU_POOLS = {"node_pools": [
    {"name": "system", "count": 3},
    {"name": "gpu-a100", "kind": "gpu", "count": 1,
     "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}],
     "gpu": {"product": "NVIDIA-A100-SXM4-80GB", "per_node": 8, "sharing": "exclusive"}},
    {"name": "storage", "count": 3, "labels": {"node-role.kubernetes.io/storage": ""}},
    {"name": "gpu-t4-shared", "kind": "gpu", "count": 2,
     "taints": [{"key": "nvidia.com/gpu", "value": "shared", "effect": "NoSchedule"}],
     "gpu": {"product": "Tesla-T4", "per_node": 1, "sharing": "time-slicing", "time_slicing_replicas": 4}},
]}
"""Two tainted GPU pools (taint values present and shared) and an untainted storage pool (staging's shape)."""


def test_csi_drivers_follow_rooks_compatible_values(synth_minimal):
    values = release_values(synth_minimal(ceph(**GPU_POOLS)), "ceph-csi-drivers")
    assert values["operatorConfig"]["namespace"] == "rook-ceph"
    defaults = values["operatorConfig"]["driverSpecDefaults"]
    assert defaults["imageSet"] == {"name": IMAGE_SET_CONFIG_MAP}
    assert defaults["nodePlugin"]["priorityClassName"] == "system-node-critical"
    assert defaults["controllerPlugin"]["priorityClassName"] == "system-cluster-critical"
    # Node plugins must reach tainted GPU nodes, or PVCs never mount there.
    assert defaults["nodePlugin"]["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"},
        {"key": "nvidia.com/gpu", "operator": "Equal", "value": "shared", "effect": "NoSchedule"},
    ]
    # Each enabled Driver carries the same list itself: the chart always writes the Driver's
    # spec.nodePlugin.tolerations (default []), which wins over the OperatorConfig defaults.
    assert values["drivers"] == {
        "rbd": {"enabled": True, "name": "rook-ceph.rbd.csi.ceph.com",
                "nodePlugin": {"tolerations": defaults["nodePlugin"]["tolerations"]}},
        "cephfs": {"enabled": False, "name": "rook-ceph.cephfs.csi.ceph.com"},
        "nfs": {"enabled": False, "name": "rook-ceph.nfs.csi.ceph.com"},
        "nvmeof": {"enabled": False, "name": "rook-ceph.nvmeof.csi.ceph.com"},
    }


def test_mirror_rewrites_ceph_rook_and_csi_images(synth_minimal):
    stack = synth_minimal(ceph(**SITE))
    operator = release_values(stack, "rook-ceph")
    for path, upstream in OPERATOR_IMAGES.items():
        assert _get(operator, path)["repository"] == "registry.internal/" + upstream.split("/", 1)[1], path
    assert operator["image"]["repository"] == "registry.internal/rook/ceph"
    assert operator["csi"]["cephcsi"]["repository"] == "registry.internal/cephcsi/cephcsi"
    assert operator["imagePullSecrets"] == [{"name": "registry-internal"}]
    assert operator["ceph-csi-operator"]["imagePullSecrets"] == [{"name": "registry-internal"}]
    cluster = release_values(stack, "rook-ceph-cluster")
    assert cluster["cephImage"] == {"repository": "registry.internal/ceph/ceph"}
    # rook-ceph-cluster has no imagePullSecrets value (Ceph daemons use the operator chart's accounts).
    assert "imagePullSecrets" not in cluster
    assert release_values(stack, "ceph-csi-drivers")["imagePullSecrets"] == [{"name": "registry-internal"}]


def test_cephfs_and_object_store_when_enabled(synth_minimal):
    stack = synth_minimal(ceph({"filesystem": {"enabled": True},
                                "object_store": {"enabled": True, "gateway_instances": 2}}))
    values = release_values(stack, "rook-ceph-cluster")
    (fs,) = values["cephFileSystems"]
    assert fs["name"] == "ceph-filesystem"
    assert fs["spec"]["dataPools"] == [{"name": "data0", "failureDomain": "host", "replicated": {"size": 3}}]
    assert fs["spec"]["metadataServer"]["activeCount"] == 1
    assert (fs["storageClass"]["name"], fs["storageClass"]["isDefault"]) == ("ceph-filesystem", False)
    (rgw,) = values["cephObjectStores"]
    assert rgw["spec"]["gateway"]["instances"] == 2 and rgw["spec"]["gateway"]["port"] == 80
    assert rgw["spec"]["dataPool"] == {"failureDomain": "host", "replicated": {"size": 3}}
    assert rgw["storageClass"]["name"] == "ceph-bucket"
    assert release_values(stack, "ceph-csi-drivers")["drivers"]["cephfs"]["enabled"] is True


# --- configuration errors and production guardrails name the file and key path --------------------
# The minimal environment as files: base.yaml, and <name>.yaml with the tier and the Ceph settings.

TIERS = {"staging": ({"tier": "staging"}, {"enabled": True, "nodes": NODES}),
         "prod": (PRODUCTION, PROD_CEPH)}
"""Per file name: its overrides (a staging tier; a production one that passes every other guardrail) and Ceph."""


def _env(name: str, ceph: dict) -> dict:
    tier, settings = TIERS[name]
    return deep_merge(tier, {"components": {"ceph": {**settings, **ceph}}})


def _errors(tmp_path, lock, name: str, ceph: dict) -> str:
    return str(config_error(tmp_path, lock, _env(name, ceph), name=name))


@pytest.mark.parametrize(("ceph", "where", "message"), [
    ({"mon_count": 2}, "components.ceph.mon_count", "mon_count must be odd"),
    ({"nodes": []}, "components.ceph", "no storage nodes"),
    ({"nodes": [{"name": "a", "devices": ["sdb"]}, {"name": "b"}, {"name": "c", "devices": ["sdb"]}]},
     "components.ceph", "nodes[1] (b) lists no devices"),
    ({"use_all_nodes": True}, "components.ceph", "use_all_nodes is true but nodes are listed"),
    ({"nodes": [{"name": "a", "devices": ["sdb", "sdb"]}]}, "components.ceph.nodes[0].devices", "listed twice"),
    ({"block_pool": {"replicas": 4}}, "components.ceph", "block_pool.replicas is 4"),
    ({"block_pool": {"replicas": 3, "failure_domain": "datacenter"}},
     "components.ceph.block_pool.failure_domain", ""),
])
def test_invalid_ceph_settings_in_any_tier(tmp_path, lock, ceph, where, message):
    text = _errors(tmp_path, lock, "staging", ceph)
    assert "environments/staging.yaml" in text and where in text and message in text


def test_prod_rejects_use_all_devices(tmp_path, lock):
    text = _errors(tmp_path, lock, "prod", {"use_all_devices": True})
    assert "environments/prod.yaml" in text
    assert "components.ceph.use_all_devices: guardrail: production must not hand Ceph every empty disk" in text


def test_prod_rejects_nodes_without_devices(tmp_path, lock):
    text = _errors(tmp_path, lock, "prod", {"use_all_devices": True, "nodes": [
        {"name": "a"}, {"name": "b", "devices": ["sdb"]}, {"name": "c", "devices": ["sdb"]}]})
    assert "environments/prod.yaml" in text
    assert "components.ceph.nodes[0].devices: guardrail: storage node 'a' lists no devices" in text


def test_prod_rejects_fewer_than_three_storage_nodes(tmp_path, lock):
    text = _errors(tmp_path, lock, "prod", {"nodes": [{"name": "a", "devices": ["sdb"]},
                                                      {"name": "b", "devices": ["sdb"]}],
                                            "block_pool": {"replicas": 2}})
    assert "environments/prod.yaml" in text
    assert "components.ceph.nodes: guardrail: production needs >= 3 storage nodes" in text
    assert "components.ceph.block_pool.replicas: guardrail: production needs pool replication >= 3, got 2" in text


def test_prod_rejects_low_replication_of_optional_pools_and_single_mon(tmp_path, lock):
    text = _errors(tmp_path, lock, "prod", {"mon_count": 1, "filesystem": {"enabled": True, "replicas": 2},
                                            "object_store": {"enabled": True, "replicas": 1}})
    assert "components.ceph.mon_count: guardrail: production needs >= 3 Ceph monitors" in text
    assert "components.ceph.filesystem.replicas: guardrail" in text
    assert "components.ceph.object_store.replicas: guardrail" in text


def test_staging_is_not_held_to_production_guardrails(tmp_path, lock):
    env_dir = write_minimal_env(tmp_path / "environments", lock, "staging", _env("staging", {"use_all_devices": True}))
    env = load_environment(env_dir, "staging")
    assert env.components.ceph.use_all_devices is True


def test_real_prod_passes_the_guardrails(real_envs):
    """The shipped prod: Ceph on explicit disks of three nodes, the default StorageClass."""
    ceph = real_envs["prod"].components.ceph
    assert ceph.enabled and not ceph.use_all_devices and len(ceph.nodes) == 3
    assert env_dict(base_env="prod")["storage"]["default_class"] == "ceph-block"
