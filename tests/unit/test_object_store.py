"""Object store: SeaweedFS (default), MinIO and Ceph RGW backends, per environment; guardrails."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from kfstack.config import ConfigError
from kfstack.config.loader import load_environment
from kfstack.constructs.object_store.settings import ObjectStoreSettings, SeaweedFsSettings
from tests.conftest import ROOT, depends_on, env_dict, release, release_address, release_values, resources

RGW = {"components": {"object_store": {"backend": "ceph-rgw", "ceph_rgw": {"gateway_instances": 2}}}}
MINIO_HA = {"components": {"object_store": {"backend": "minio", "minio": {"mode": "distributed", "replicas": 4}}}}


def _build(overrides: dict, base_env: str = "dev"):
    """Build (not only synthesize) a stack, to read its typed outputs."""
    from kfstack.cdk import Testing

    from kfstack.config.environment import EnvironmentConfig
    from kfstack.sources.lock import load_lock
    from kfstack.stacks import PlatformStack, ProjectPaths

    data = env_dict(overrides, base_env)
    data["name"] = "test"
    return PlatformStack(Testing.app(), EnvironmentConfig.model_validate(data), lock=load_lock(ROOT / "sources.lock"),
                         paths=ProjectPaths(ROOT))


def _credentials(stack: dict) -> dict:
    (secret,) = [s for s in resources(stack, "kubernetes_secret_v1").values()
                 if s["metadata"]["name"] == "object-store-credentials"]
    return secret


# --- SeaweedFS -------------------------------------------------------------------------------

def test_seaweedfs_is_the_default_with_pinned_chart(synth_env):
    rel = release(synth_env("dev"), "seaweedfs")
    assert (rel["chart"], rel["repository"], rel["version"]) == (
        "seaweedfs", "https://charts.dev.internal/kfstack", "4.44.0")  # dev reads the mirror
    assert rel["namespace"].startswith("${kubernetes_namespace_v1.ObjectStore_Namespace")
    assert rel["wait"] is True


def test_dev_seaweedfs_is_single_on_the_clusters_storage_class(synth_env):
    v = release_values(synth_env("dev"), "seaweedfs")
    assert (v["master"]["replicas"], v["volume"]["replicas"], v["filer"]["replicas"], v["s3"]["replicas"]) == (1, 1, 1, 1)
    pvc = {"type": "persistentVolumeClaim", "storageClass": "local-path"}
    assert pvc.items() <= v["master"]["data"].items()
    assert pvc.items() <= v["filer"]["data"].items()
    (data_dir,) = v["volume"]["dataDirs"]
    assert pvc.items() <= data_dir.items() and data_dir["size"] == "100Gi"
    assert v["global"]["seaweedfs"] == {"enableReplication": False, "replicationPlacement": "000"}
    assert "imageRegistry" not in v["global"]


@pytest.mark.parametrize("name", ["staging", "prod"])
def test_prod_and_staging_seaweedfs_are_redundant_on_ceph_block(synth_env, name):
    v = release_values(synth_env(name), "seaweedfs")
    assert v["master"]["replicas"] == 3
    assert v["volume"]["replicas"] >= 3
    assert v["filer"]["replicas"] >= 2 and v["s3"]["replicas"] >= 2
    assert v["global"]["seaweedfs"] == {"enableReplication": True, "replicationPlacement": "001"}
    assert v["master"]["defaultReplication"] == "001" and v["filer"]["defaultReplicaPlacement"] == "001"
    for data in (v["master"]["data"], v["filer"]["data"], v["volume"]["dataDirs"][0]):
        assert data["type"] == "persistentVolumeClaim" and data["storageClass"] == "ceph-block"


def test_seaweedfs_never_uses_host_paths_or_log_volumes(synth_env):
    for name in ("dev", "staging", "prod"):
        text = release(synth_env(name), "seaweedfs")["values"][0]
        assert "hostPath" not in text and "emptyDir" not in text
        v = yaml.safe_load(text)
        # Every component whose chart default is a hostPath log volume (master, filer, s3) turns it off.
        assert v["master"]["logs"] == v["filer"]["logs"] == v["s3"]["logs"] == {"type": ""}


def test_seaweedfs_s3_auth_reads_the_generated_secret_and_creates_the_bucket(synth_env):
    v = release_values(synth_env("dev"), "seaweedfs")
    s3 = v["s3"]
    assert s3["enabled"] is True and s3["enableAuth"] is True and s3["port"] == 8333
    assert s3["createBuckets"] == [{"name": "mlpipeline"}]
    assert s3["credentials"]["admin"] == {"existingSecret": "object-store-credentials",
                                          "accessKeyKey": "accesskey", "secretKeyKey": "secretkey"}
    assert s3["credentials"]["read"]["existingSecret"] == "object-store-credentials"
    data = _credentials(synth_env("dev"))["data"]
    assert set(data) == {"accesskey", "secretkey", "read_accesskey", "read_secretkey"}


def test_seaweedfs_images_come_from_the_mirror_in_prod(synth_env):
    v = release_values(synth_env("prod"), "seaweedfs")
    assert v["global"]["imageRegistry"] == "registry.internal"
    assert v["global"]["imagePullSecrets"] == [{"name": "registry-internal"}]
    assert v["volume"]["resizeHook"]["image"] == "registry.internal/alpine/k8s:1.28.4"


def test_object_store_waits_for_its_secret_and_the_storage(synth_env):
    prod = synth_env("prod")
    deps = depends_on(prod, "seaweedfs")
    assert any(d.startswith("kubernetes_secret_v1.ObjectStore_Credentials") for d in deps)
    assert release_address(prod, "rook-ceph-cluster") in deps


def test_ephemeral_storage_switch_uses_empty_dir(synth_config):
    v = release_values(synth_config({"components": {"object_store": {"persistent": False}}}), "seaweedfs")
    assert v["master"]["data"] == {"type": "emptyDir"} and v["filer"]["data"] == {"type": "emptyDir"}
    assert v["volume"]["dataDirs"][0]["type"] == "emptyDir"


def test_endpoint_is_a_typed_output():
    stack = _build({})
    ep = stack.object_store.endpoint
    assert (ep.host, ep.port, ep.bucket) == ("seaweedfs-s3.object-store.svc.cluster.local", 8333, "mlpipeline")
    assert (ep.secret_name, ep.secret_namespace) == ("object-store-credentials", "object-store")
    assert (ep.access_key_key, ep.secret_key_key) == ("accesskey", "secretkey")
    assert ep.url == "http://seaweedfs-s3.object-store.svc.cluster.local:8333"
    assert ep.ready == (stack.object_store.resource,)


# --- MinIO -----------------------------------------------------------------------------------

def test_minio_standalone_in_dev(synth_config):
    stack = synth_config({"components": {"object_store": {"backend": "minio"}}})
    rel = release(stack, "minio")
    assert (rel["chart"], rel["repository"], rel["version"]) == ("minio", "https://charts.dev.internal/kfstack", "5.4.0")
    v = release_values(stack, "minio")
    assert (v["mode"], v["replicas"]) == ("standalone", 1)
    assert v["existingSecret"] == "object-store-credentials"
    assert v["persistence"] == {"enabled": True, "storageClass": "local-path", "size": "100Gi"}
    assert v["image"]["repository"] == "quay.io/minio/minio" and v["mcImage"]["repository"] == "quay.io/minio/mc"
    assert v["buckets"] == [{"name": "mlpipeline", "policy": "none", "purge": False}]
    assert set(_credentials(stack)["data"]) == {"accesskey", "secretkey", "rootUser", "rootPassword"}
    assert "seaweedfs" not in {r["name"] for r in resources(stack, "helm_release").values()}


def test_minio_distributed_from_the_mirror_in_prod(synth_config):
    stack = synth_config(MINIO_HA, base_env="prod")
    v = release_values(stack, "minio")
    assert (v["mode"], v["replicas"]) == ("distributed", 4)
    assert v["persistence"]["storageClass"] == "ceph-block"
    assert v["image"]["repository"] == "registry.internal/minio/minio"
    assert v["mcImage"]["repository"] == "registry.internal/minio/mc"
    assert v["imagePullSecrets"] == [{"name": "registry-internal"}]
    assert v["podDisruptionBudget"] == {"enabled": True}


def test_minio_never_uses_bitnami_images(synth_config):
    for overrides, env in ((MINIO_HA, "prod"), ({"components": {"object_store": {"backend": "minio"}}}, "dev")):
        assert "bitnami" not in json.dumps(synth_config(overrides, base_env=env)).lower()


def test_minio_endpoint():
    ep = _build({"components": {"object_store": {"backend": "minio"}}}).object_store.endpoint
    assert (ep.host, ep.port) == ("minio.object-store.svc.cluster.local", 9000)


# --- Ceph RGW --------------------------------------------------------------------------------

def test_ceph_rgw_objects_come_through_a_chart_after_the_ceph_cluster(synth_config):
    stack = synth_config(RGW, base_env="prod")
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
    ep = _build(RGW, base_env="prod").object_store.endpoint
    assert (ep.host, ep.port, ep.secret_namespace) == ("rook-ceph-rgw-kubeflow.rook-ceph.svc.cluster.local", 80, "rook-ceph")


def test_ceph_rgw_without_ceph_is_a_wiring_error(synth_config):
    with pytest.raises(ConfigError, match="backend ceph-rgw is a Ceph object gateway of the Rook cluster") as info:
        synth_config({"components": {"object_store": {"backend": "ceph-rgw"}}})
    assert [p.path for p in info.value.problems] == [("components", "object_store", "backend")]


@pytest.mark.parametrize(("backend", "key"), [("seaweedfs", "seaweedfs"), ("minio", "minio"), ("ceph-rgw", "rook")])
def test_installs_the_backends_declaration_only(backend, key):
    (installs,) = ObjectStoreSettings(backend=backend).installs()
    assert installs.key == key


def test_disabled_object_store_installs_nothing(synth_config):
    stack = synth_config({"components": {"object_store": {"enabled": False},
                                         "pipelines": {"enabled": False}}})  # Pipelines needs the store
    assert "seaweedfs" not in {r["name"] for r in resources(stack, "helm_release").values()}
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


def test_seaweedfs_compat_service_selects_the_s3_gateway_pods(synth_env):
    svc = _compat(synth_env("dev"))
    assert svc["metadata"]["namespace"].startswith("${kubernetes_namespace_v1.ObjectStore_Namespace")
    assert svc["spec"]["type"] == "ClusterIP"
    # chart seaweedfs 4.44.0 templates/s3/s3-deployment.yaml pod labels (release "seaweedfs")
    assert svc["spec"]["selector"] == {"app.kubernetes.io/name": "seaweedfs", "app.kubernetes.io/instance": "seaweedfs",
                                       "app.kubernetes.io/component": "s3"}
    # weed s3 serves the IAM API on its S3 port
    assert _ports(svc) == {9000: ("http-s3-compat", "8333"), 8333: ("http-s3", "8333"), 8111: ("http-iam", "8333")}
    assert all(p["protocol"] == "TCP" for p in svc["spec"]["port"])


def test_seaweedfs_iam_api_is_writable_for_the_profile_controller(synth_env):
    assert release_values(synth_env("dev"), "seaweedfs")["s3"]["extraArgs"] == ["-iam.readOnly=false"]


def test_minio_compat_service_has_no_iam_port(synth_config):
    svc = _compat(synth_config({"components": {"object_store": {"backend": "minio"}}}))
    # chart minio 5.4.0 pod labels (release "minio"), API port 9000
    assert svc["spec"]["selector"] == {"app": "minio", "release": "minio"}
    assert _ports(svc) == {9000: ("http-s3-compat", "9000"), 8333: ("http-s3", "9000")}


def test_ceph_rgw_compat_service_selects_rooks_rgw_pods(synth_config):
    svc = _compat(synth_config(RGW, base_env="prod"))
    assert svc["metadata"]["namespace"] == "rook-ceph"
    # Rook v1.20.6 getLabels(store, namespace, false): the selector of Rook's own rgw Service
    assert svc["spec"]["selector"] == {"app": "rook-ceph-rgw", "rook_cluster": "rook-ceph", "rook_object_store": "kubeflow",
                                       "ceph_daemon_id": "kubeflow", "rgw": "kubeflow"}
    # beast listens on 8080 inside the pod (gateway.port 80 is the Service port)
    assert _ports(svc) == {9000: ("http-s3-compat", "8080"), 8333: ("http-s3", "8080")}


@pytest.mark.parametrize("overrides, base_env, host, targets", [
    ({}, "dev", "kubeflow-s3.object-store.svc.cluster.local", {9000: 8333, 8333: 8333, 8111: 8333}),
    ({"components": {"object_store": {"backend": "minio"}}}, "dev", "kubeflow-s3.object-store.svc.cluster.local",
     {9000: 9000, 8333: 9000}),
    (RGW, "prod", "kubeflow-s3.rook-ceph.svc.cluster.local", {9000: 8080, 8333: 8080}),
])
def test_endpoint_carries_the_compat_service(overrides, base_env, host, targets):
    store = _build(overrides, base_env=base_env).object_store
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

def _prod_error(tmp_path: Path, components: dict) -> ConfigError:
    env_dir = tmp_path / "environments"
    env_dir.mkdir()
    shutil.copy(ROOT / "environments" / "base.yaml", env_dir / "base.yaml")
    data = yaml.safe_load((ROOT / "environments" / "prod.yaml").read_text())
    data["components"]["object_store"] = components
    (env_dir / "broken.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ConfigError) as info:
        load_environment(env_dir, "broken", display_root=tmp_path)
    return info.value


def _messages(err: ConfigError) -> dict[str, str]:
    from kfstack.config.errors import format_path
    assert all(p.file == "environments/broken.yaml" for p in err.problems), err
    return {format_path(p.path): p.message for p in err.problems}


def test_prod_rejects_single_seaweedfs(tmp_path):
    err = _prod_error(tmp_path, {"backend": "seaweedfs"})
    msgs = _messages(err)
    for key in ("master_replicas", "volume_replicas", "filer_replicas", "s3_replicas", "replication"):
        assert f"components.object_store.seaweedfs.{key}" in msgs
    assert "redundant object store" in msgs["components.object_store.seaweedfs.master_replicas"]
    assert "environments/broken.yaml" in str(err) and "components.object_store.seaweedfs.replication" in str(err)


def test_prod_rejects_empty_dir_storage(tmp_path):
    seaweed = yaml.safe_load((ROOT / "environments" / "prod.yaml").read_text())["components"]["object_store"]
    err = _prod_error(tmp_path, {**seaweed, "persistent": False})
    msgs = _messages(err)
    assert list(msgs) == ["components.object_store.persistent"]
    assert "never emptyDir" in msgs["components.object_store.persistent"]


def test_prod_rejects_standalone_minio(tmp_path):
    msgs = _messages(_prod_error(tmp_path, {"backend": "minio"}))
    assert "components.object_store.minio.mode" in msgs and "components.object_store.minio.replicas" in msgs


def test_prod_rejects_single_rgw_gateway(tmp_path):
    msgs = _messages(_prod_error(tmp_path, {"backend": "ceph-rgw"}))
    assert list(msgs) == ["components.object_store.ceph_rgw.gateway_instances"]


def test_prod_accepts_redundant_minio_and_rgw(tmp_path):
    for i, comp in enumerate((MINIO_HA["components"]["object_store"], RGW["components"]["object_store"])):
        env_dir = tmp_path / f"e{i}" / "environments"
        env_dir.mkdir(parents=True)
        shutil.copy(ROOT / "environments" / "base.yaml", env_dir / "base.yaml")
        data = yaml.safe_load((ROOT / "environments" / "prod.yaml").read_text())
        data["components"]["object_store"] = comp
        (env_dir / "ok.yaml").write_text(yaml.safe_dump(data))
        assert load_environment(env_dir, "ok").components.object_store.redundant
