"""Object store: SeaweedFS (default), MinIO and Ceph RGW backends, single and redundant; guardrails.

Every stack is a minimal environment built in the test (tests/fixtures/envs.py), not a shipped file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from kfstack.config import ConfigError
from kfstack.constructs.object_store.settings import ObjectStoreSettings, SeaweedFsSettings
from tests.conftest import ROOT, depends_on, release, release_address, release_values, resources
from tests.fixtures.envs import CEPH, PRODUCTION, REGISTRY, enable, load_minimal, merged, minimal_env

STORE = enable("object_store")
SEAWEEDFS = merged(STORE, {"components": {"object_store": {"backend": "seaweedfs"}}})
MINIO = merged(STORE, {"components": {"object_store": {"backend": "minio"}}})
RGW = merged(STORE, CEPH, {"components": {"object_store": {"backend": "ceph-rgw", "ceph_rgw": {"gateway_instances": 2}}}})
MINIO_HA = merged(STORE, CEPH, REGISTRY, {"components": {"object_store": {
    "backend": "minio", "minio": {"mode": "distributed", "replicas": 4}}}})
SEAWEEDFS_HA = {"backend": "seaweedfs", "seaweedfs": {"master_replicas": 3, "volume_replicas": 3, "filer_replicas": 2,
                                                      "s3_replicas": 2, "replication": "001"}}
"""A redundant SeaweedFS (what production asks): Raft quorum of masters, 2 copies of every object."""


def _build(overrides: dict):
    """Build (not only synthesize) a stack of the minimal environment with ``overrides``, to read its typed outputs."""
    from kfstack.cdk import Testing

    from kfstack.sources.lock import load_lock
    from kfstack.stacks import PlatformStack, ProjectPaths

    lock = load_lock(ROOT / "sources.lock")
    return PlatformStack(Testing.app(), minimal_env(lock, overrides), lock=lock, paths=ProjectPaths(ROOT))


def _credentials(stack: dict) -> dict:
    (secret,) = [s for s in resources(stack, "kubernetes_secret_v1").values()
                 if s["metadata"]["name"] == "object-store-credentials"]
    return secret


# --- SeaweedFS -------------------------------------------------------------------------------

def test_seaweedfs_is_the_default_with_pinned_chart(synth_minimal):
    # no backend set; app version 4.44 pins chart 4.44.0 (sources.lock)
    rel = release(synth_minimal(merged(STORE, {"release": {"versions": {"seaweedfs": "4.44"}}})), "seaweedfs")
    assert (rel["chart"], rel["repository"], rel["version"]) == (
        "seaweedfs", "https://charts.fixture.internal/kfstack", "4.44.0")  # the minimal environment's mirror
    assert rel["namespace"].startswith("${kubernetes_namespace_v1.ObjectStore_Namespace")
    assert rel["wait"] is True


def test_single_seaweedfs_on_the_clusters_storage_class(synth_minimal):
    v = release_values(synth_minimal(merged(SEAWEEDFS, {"storage": {"default_class": "local-path"}})), "seaweedfs")
    assert (v["master"]["replicas"], v["volume"]["replicas"], v["filer"]["replicas"], v["s3"]["replicas"]) == (1, 1, 1, 1)
    pvc = {"type": "persistentVolumeClaim", "storageClass": "local-path"}
    assert pvc.items() <= v["master"]["data"].items()
    assert pvc.items() <= v["filer"]["data"].items()
    (data_dir,) = v["volume"]["dataDirs"]
    assert pvc.items() <= data_dir.items() and data_dir["size"] == "100Gi"
    assert v["global"]["seaweedfs"] == {"enableReplication": False, "replicationPlacement": "000"}
    assert "imageRegistry" not in v["global"]


@pytest.mark.parametrize("volumes", [3, 4])
def test_redundant_seaweedfs_on_ceph_block(synth_minimal, volumes):
    seaweedfs = merged(SEAWEEDFS_HA, {"seaweedfs": {"volume_replicas": volumes}})
    v = release_values(synth_minimal(merged(STORE, CEPH, {"components": {"object_store": seaweedfs}})), "seaweedfs")
    assert v["master"]["replicas"] == 3
    assert v["volume"]["replicas"] == volumes
    assert v["filer"]["replicas"] == 2 and v["s3"]["replicas"] == 2
    assert v["global"]["seaweedfs"] == {"enableReplication": True, "replicationPlacement": "001"}
    assert v["master"]["defaultReplication"] == "001" and v["filer"]["defaultReplicaPlacement"] == "001"
    for data in (v["master"]["data"], v["filer"]["data"], v["volume"]["dataDirs"][0]):
        assert data["type"] == "persistentVolumeClaim" and data["storageClass"] == "ceph-block"


def test_seaweedfs_never_uses_host_paths_or_log_volumes(synth_minimal):
    for overrides in (SEAWEEDFS, merged(STORE, CEPH, REGISTRY, {"components": {"object_store": SEAWEEDFS_HA}})):
        text = release(synth_minimal(overrides), "seaweedfs")["values"][0]
        assert "hostPath" not in text and "emptyDir" not in text
        v = yaml.safe_load(text)
        # Every component whose chart default is a hostPath log volume (master, filer, s3) turns it off.
        assert v["master"]["logs"] == v["filer"]["logs"] == v["s3"]["logs"] == {"type": ""}


def test_seaweedfs_s3_auth_reads_the_generated_secret_and_creates_the_bucket(synth_minimal):
    stack = synth_minimal(merged(SEAWEEDFS, {"components": {"object_store": {"buckets": ["mlpipeline"]}}}))
    v = release_values(stack, "seaweedfs")
    s3 = v["s3"]
    assert s3["enabled"] is True and s3["enableAuth"] is True and s3["port"] == 8333
    assert s3["createBuckets"] == [{"name": "mlpipeline"}]
    assert s3["credentials"]["admin"] == {"existingSecret": "object-store-credentials",
                                          "accessKeyKey": "accesskey", "secretKeyKey": "secretkey"}
    assert s3["credentials"]["read"]["existingSecret"] == "object-store-credentials"
    data = _credentials(stack)["data"]
    assert set(data) == {"accesskey", "secretkey", "read_accesskey", "read_secretkey"}


def test_seaweedfs_images_come_from_the_registry_mirror(synth_minimal):
    v = release_values(synth_minimal(merged(SEAWEEDFS, REGISTRY)), "seaweedfs")
    assert v["global"]["imageRegistry"] == "registry.internal"
    assert v["global"]["imagePullSecrets"] == [{"name": "registry-internal"}]
    assert v["volume"]["resizeHook"]["image"] == "registry.internal/alpine/k8s:1.28.4"


def test_object_store_waits_for_its_secret_and_the_storage(synth_minimal):
    prod = synth_minimal(merged(SEAWEEDFS, CEPH))
    deps = depends_on(prod, "seaweedfs")
    assert any(d.startswith("kubernetes_secret_v1.ObjectStore_Credentials") for d in deps)
    assert release_address(prod, "rook-ceph-cluster") in deps


def test_ephemeral_storage_switch_uses_empty_dir(synth_minimal):
    v = release_values(synth_minimal(enable("object_store", object_store={"persistent": False})), "seaweedfs")
    assert v["master"]["data"] == {"type": "emptyDir"} and v["filer"]["data"] == {"type": "emptyDir"}
    assert v["volume"]["dataDirs"][0]["type"] == "emptyDir"


def test_endpoint_is_a_typed_output():
    stack = _build(merged(SEAWEEDFS, {"components": {"object_store": {"buckets": ["mlpipeline"]}}}))
    ep = stack.object_store.endpoint
    assert (ep.host, ep.port, ep.bucket) == ("seaweedfs-s3.object-store.svc.cluster.local", 8333, "mlpipeline")
    assert (ep.secret_name, ep.secret_namespace) == ("object-store-credentials", "object-store")
    assert (ep.access_key_key, ep.secret_key_key) == ("accesskey", "secretkey")
    assert ep.url == "http://seaweedfs-s3.object-store.svc.cluster.local:8333"
    assert ep.ready == (stack.object_store.resource,)


# --- MinIO -----------------------------------------------------------------------------------

def test_minio_standalone(synth_minimal):
    stack = synth_minimal(merged(MINIO, {"storage": {"default_class": "local-path"},
                                         "release": {"versions": {"minio": "5.4.0"}},
                                         "components": {"object_store": {"buckets": ["mlpipeline"]}}}))
    rel = release(stack, "minio")
    assert (rel["chart"], rel["repository"], rel["version"]) == ("minio", "https://charts.fixture.internal/kfstack",
                                                                 "5.4.0")
    v = release_values(stack, "minio")
    assert (v["mode"], v["replicas"]) == ("standalone", 1)
    assert v["existingSecret"] == "object-store-credentials"
    assert v["persistence"] == {"enabled": True, "storageClass": "local-path", "size": "100Gi"}
    assert v["image"]["repository"] == "quay.io/minio/minio" and v["mcImage"]["repository"] == "quay.io/minio/mc"
    assert v["buckets"] == [{"name": "mlpipeline", "policy": "none", "purge": False}]
    assert set(_credentials(stack)["data"]) == {"accesskey", "secretkey", "rootUser", "rootPassword"}
    assert "seaweedfs" not in {r["name"] for r in resources(stack, "helm_release").values()}


def test_minio_distributed_on_ceph_from_the_registry_mirror(synth_minimal):
    stack = synth_minimal(MINIO_HA)
    v = release_values(stack, "minio")
    assert (v["mode"], v["replicas"]) == ("distributed", 4)
    assert v["persistence"]["storageClass"] == "ceph-block"
    assert v["image"]["repository"] == "registry.internal/minio/minio"
    assert v["mcImage"]["repository"] == "registry.internal/minio/mc"
    assert v["imagePullSecrets"] == [{"name": "registry-internal"}]
    assert v["podDisruptionBudget"] == {"enabled": True}


def test_minio_never_uses_bitnami_images(synth_minimal):
    for overrides in (MINIO_HA, MINIO):
        assert "bitnami" not in json.dumps(synth_minimal(overrides)).lower()


def test_minio_endpoint():
    ep = _build(MINIO).object_store.endpoint
    assert (ep.host, ep.port) == ("minio.object-store.svc.cluster.local", 9000)


# --- Ceph RGW --------------------------------------------------------------------------------

def test_ceph_rgw_objects_come_through_a_chart_after_the_ceph_cluster(synth_minimal):
    stack = synth_minimal(merged(RGW, {"components": {"object_store": {"buckets": ["mlpipeline"]}}}))
    assert "kubernetes_manifest" not in stack["resource"]
    rel = release(stack, "kubeflow-object-store")
    assert rel["chart"].startswith("assets/") and rel["namespace"] == "rook-ceph"
    assert release_address(stack, "rook-ceph-cluster") in rel["depends_on"]
    kinds = {m["kind"]: m for m in yaml.safe_load(rel["values"][0])["manifests"]}
    assert set(kinds) == {"CephObjectStore", "CephObjectStoreUser", "StorageClass", "ObjectBucketClaim"}
    store = kinds["CephObjectStore"]["spec"]
    assert store["gateway"]["instances"] == 2
    assert store["dataPool"] == store["metadataPool"] == {"failureDomain": "host", "replicated": {"size": 3}}
    keys = kinds["CephObjectStoreUser"]["spec"]["keys"]
    assert keys == [{"accessKeyRef": {"name": "object-store-credentials", "key": "accesskey"},
                     "secretKeyRef": {"name": "object-store-credentials", "key": "secretkey"}}]
    assert kinds["StorageClass"]["provisioner"] == "rook-ceph.ceph.rook.io/bucket"
    obc = kinds["ObjectBucketClaim"]["spec"]
    assert obc["bucketName"] == "mlpipeline"
    assert obc["additionalConfig"]["bucketOwner"] == kinds["CephObjectStoreUser"]["metadata"]["name"]
    secret = _credentials(stack)
    assert secret["metadata"]["namespace"] == "rook-ceph"


def test_ceph_rgw_endpoint():
    ep = _build(RGW).object_store.endpoint
    assert (ep.host, ep.port, ep.secret_namespace) == ("rook-ceph-rgw-kubeflow.rook-ceph.svc.cluster.local", 80, "rook-ceph")


def test_ceph_rgw_without_ceph_is_a_wiring_error(synth_minimal):
    with pytest.raises(ConfigError, match="backend ceph-rgw is a Ceph object gateway of the Rook cluster") as info:
        synth_minimal(enable("object_store", object_store={"backend": "ceph-rgw"}))
    assert [p.path for p in info.value.problems] == [("components", "object_store", "backend")]


@pytest.mark.parametrize(("backend", "key"), [("seaweedfs", "seaweedfs"), ("minio", "minio"), ("ceph-rgw", "rook")])
def test_installs_the_backends_declaration_only(backend, key):
    (installs,) = ObjectStoreSettings(backend=backend).installs()
    assert installs.key == key


def test_disabled_object_store_installs_nothing(synth_minimal):
    # KServe would use the store; MySQL stands beside it (Pipelines needs the store: off)
    stack = synth_minimal(enable("kserve", "mysql", object_store={"enabled": False, "backend": "seaweedfs"}))
    names = {r["name"] for r in resources(stack, "helm_release").values()}
    assert "seaweedfs" not in names and {"kserve", "mysql"} <= names
    assert not [s for s in resources(stack, "kubernetes_secret_v1").values()
                if s["metadata"]["name"] == "object-store-credentials"]


# --- Kubeflow compatibility Service ----------------------------------------------------------
# Kubeflow Pipelines 26.03 dials seaweedfs.kubeflow on 9000 (API server, per-namespace Argo
# artifact repositories), 8333 (profile controller S3) and 8111 (profile controller IAM).

def _compat(stack: dict) -> dict:
    (svc,) = [s for s in resources(stack, "kubernetes_service_v1").values() if s["metadata"]["name"] == "kubeflow-s3"]
    return svc


def _ports(svc: dict) -> dict[int, tuple[str, str]]:
    return {p["port"]: (p["name"], p["target_port"]) for p in svc["spec"]["port"]}


def test_seaweedfs_compat_service_selects_the_s3_gateway_pods(synth_minimal):
    svc = _compat(synth_minimal(SEAWEEDFS))
    assert svc["metadata"]["namespace"].startswith("${kubernetes_namespace_v1.ObjectStore_Namespace")
    assert svc["spec"]["type"] == "ClusterIP"
    # chart seaweedfs 4.44.0 templates/s3/s3-deployment.yaml pod labels (release "seaweedfs")
    assert svc["spec"]["selector"] == {"app.kubernetes.io/name": "seaweedfs", "app.kubernetes.io/instance": "seaweedfs",
                                       "app.kubernetes.io/component": "s3"}
    # weed s3 serves the IAM API on its S3 port
    assert _ports(svc) == {9000: ("http-s3-compat", "8333"), 8333: ("http-s3", "8333"), 8111: ("http-iam", "8333")}
    assert all(p["protocol"] == "TCP" for p in svc["spec"]["port"])


def test_seaweedfs_iam_api_is_writable_for_the_profile_controller(synth_minimal):
    assert release_values(synth_minimal(SEAWEEDFS), "seaweedfs")["s3"]["extraArgs"] == ["-iam.readOnly=false"]


def test_minio_compat_service_has_no_iam_port(synth_minimal):
    svc = _compat(synth_minimal(MINIO))
    # chart minio 5.4.0 pod labels (release "minio"), API port 9000
    assert svc["spec"]["selector"] == {"app": "minio", "release": "minio"}
    assert _ports(svc) == {9000: ("http-s3-compat", "9000"), 8333: ("http-s3", "9000")}


def test_ceph_rgw_compat_service_selects_rooks_rgw_pods(synth_minimal):
    svc = _compat(synth_minimal(RGW))
    assert svc["metadata"]["namespace"] == "rook-ceph"
    # Rook v1.20.6 getLabels(store, namespace, false): the selector of Rook's own rgw Service
    assert svc["spec"]["selector"] == {"app": "rook-ceph-rgw", "rook_cluster": "rook-ceph", "rook_object_store": "kubeflow",
                                       "ceph_daemon_id": "kubeflow", "rgw": "kubeflow"}
    # beast listens on 8080 inside the pod (gateway.port 80 is the Service port)
    assert _ports(svc) == {9000: ("http-s3-compat", "8080"), 8333: ("http-s3", "8080")}


@pytest.mark.parametrize("overrides, host, targets", [
    (SEAWEEDFS, "kubeflow-s3.object-store.svc.cluster.local", {9000: 8333, 8333: 8333, 8111: 8333}),
    (MINIO, "kubeflow-s3.object-store.svc.cluster.local", {9000: 9000, 8333: 9000}),
    (RGW, "kubeflow-s3.rook-ceph.svc.cluster.local", {9000: 8080, 8333: 8080}),
], ids=["seaweedfs", "minio", "ceph-rgw"])
def test_endpoint_carries_the_compat_service(overrides, host, targets):
    store = _build(overrides).object_store
    compat = store.endpoint.kubeflow_compat
    assert compat is not None and compat.host == host
    assert {p.port: p.target_port for p in compat.ports} == targets
    assert compat.target_port(8111) == targets.get(8111)
    assert compat.ready == (store.kubeflow_service,)


# --- settings validation ---------------------------------------------------------------------

def test_even_master_count_is_rejected():
    with pytest.raises(ValidationError, match="master_replicas must be odd"):
        SeaweedFsSettings(master_replicas=2)


def test_replication_needs_enough_volume_servers():
    with pytest.raises(ValidationError, match="replication 001 keeps 2 copies"):
        SeaweedFsSettings(replication="001")


def test_minio_modes_are_consistent():
    with pytest.raises(ValidationError, match="mode standalone runs one server"):
        ObjectStoreSettings.model_validate({"backend": "minio", "minio": {"replicas": 4}})
    with pytest.raises(ValidationError, match="needs >= 4 drives"):
        ObjectStoreSettings.model_validate({"backend": "minio", "minio": {"mode": "distributed", "replicas": 2}})


# --- production guardrails (config errors naming file and key path) --------------------------

def _production(tmp_path: Path, lock, components: dict):
    """Load a minimal production environment on Ceph (base.yaml: the store on) whose broken.yaml sets
    ``components.object_store`` to ``components``."""
    return load_minimal(tmp_path, lock, merged(PRODUCTION, CEPH, STORE), {"components": {"object_store": components}})


def _prod_error(tmp_path: Path, lock, components: dict) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        _production(tmp_path, lock, components)
    return info.value


def _messages(err: ConfigError) -> dict[str, str]:
    from kfstack.config.errors import format_path
    assert all(p.file == "environments/broken.yaml" for p in err.problems), err
    return {format_path(p.path): p.message for p in err.problems}


def test_prod_rejects_single_seaweedfs(tmp_path, lock):
    err = _prod_error(tmp_path, lock, {"backend": "seaweedfs"})
    msgs = _messages(err)
    for key in ("master_replicas", "volume_replicas", "filer_replicas", "s3_replicas", "replication"):
        assert f"components.object_store.seaweedfs.{key}" in msgs
    assert "redundant object store" in msgs["components.object_store.seaweedfs.master_replicas"]
    assert "environments/broken.yaml" in str(err) and "components.object_store.seaweedfs.replication" in str(err)


def test_prod_rejects_empty_dir_storage(tmp_path, lock):
    err = _prod_error(tmp_path, lock, {**SEAWEEDFS_HA, "persistent": False})
    msgs = _messages(err)
    assert list(msgs) == ["components.object_store.persistent"]
    assert "never emptyDir" in msgs["components.object_store.persistent"]


def test_prod_rejects_standalone_minio(tmp_path, lock):
    msgs = _messages(_prod_error(tmp_path, lock, {"backend": "minio"}))
    assert "components.object_store.minio.mode" in msgs and "components.object_store.minio.replicas" in msgs


def test_prod_rejects_single_rgw_gateway(tmp_path, lock):
    msgs = _messages(_prod_error(tmp_path, lock, {"backend": "ceph-rgw"}))
    assert list(msgs) == ["components.object_store.ceph_rgw.gateway_instances"]


def test_prod_accepts_redundant_seaweedfs_minio_and_rgw(tmp_path, lock):
    for i, comp in enumerate((SEAWEEDFS_HA, MINIO_HA["components"]["object_store"], RGW["components"]["object_store"])):
        assert _production(tmp_path / f"e{i}", lock, comp).components.object_store.redundant
