"""Kubeflow Pipelines: parts from the mirror (dev/staging/prod), wiring to MySQL and the object store,
install order; vendored mode with a stand-in base (tests/fixtures/kustomize/pipelines-standin)."""

from __future__ import annotations

import re
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from tests.unit.test_kustomize import render_text  # generated templates as Helm renders them

from kfstack.config import ConfigError
from kfstack.constructs.pipelines.construct import REPLACED
from kfstack.sources.kustomization import tree_digest
from kfstack.sources.lock import SourcesLock, load_lock
from tests.conftest import ROOT, depends_on, release, release_address, resources

FIXTURES = ROOT / "tests" / "fixtures" / "kustomize"
MIRRORS = {"dev": "https://charts.dev.internal/kfstack", "staging": "oci://registry.internal/charts",
           "prod": "oci://registry.internal/charts"}
PASSWORD_REF = re.compile(r"^\$\{random_password\.([A-Za-z0-9_-]+)\.result\}$")
STANDIN_VERSION = "0.0.1-standin"


def by_name(stack: dict, rtype: str, name: str) -> tuple[str, dict]:
    """(logical id, resource) of the one resource of ``rtype`` whose metadata.name is ``name``."""
    found = [(rid, r) for rid, r in resources(stack, rtype).items() if r["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {rtype} named {name}, found {len(found)}"
    return found[0]


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_parts_from_the_mirror_crds_first(synth_env, env):
    stack = synth_env(env)
    lock = load_lock(ROOT / "sources.lock")
    parts = [c.name for c in lock.base("pipelines", "2.16.0").charts]
    assert parts[0] == "pipelines-crds" and "pipelines" in parts
    for name in parts:
        rel = release(stack, name)
        assert (rel["chart"], rel["repository"], rel["version"]) == (name, MIRRORS[env], "2.16.0")
        assert rel["namespace"] == "${kubernetes_namespace_v1.ClusterBaseline_Namespace-kubeflow_2C363C2A.metadata[0].name}"
    for earlier, later in zip(parts, parts[1:]):
        assert release_address(stack, earlier) in depends_on(stack, later)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_installed_after_istio_issuer_and_data_services(synth_env, env):
    stack = synth_env(env)
    deps = depends_on(stack, "pipelines-crds")
    for upstream in ("istio-ingressgateway", "kubeflow-issuer", "mysql-bootstrap"):
        assert release_address(stack, upstream) in deps, upstream
    store = "seaweedfs"
    assert release_address(stack, store) in deps
    wiring = {f"kubernetes_config_map_v1.{by_name(stack, 'kubernetes_config_map_v1', n)[0]}"
              for n in ("pipeline-install-config", "workflow-controller-configmap")}
    wiring |= {f"kubernetes_secret_v1.{by_name(stack, 'kubernetes_secret_v1', n)[0]}"
               for n in ("mysql-secret", "mlpipeline-minio-artifact")}
    wiring.add(f"kubernetes_service_v1.{by_name(stack, 'kubernetes_service_v1', 'seaweedfs')[0]}")
    assert wiring <= set(deps)


def test_install_config_points_at_the_platform_mysql_and_bucket(synth_env):
    stack = synth_env("prod")
    _, cm = by_name(stack, "kubernetes_config_map_v1", "pipeline-install-config")
    data = cm["data"]
    assert (data["dbHost"], data["dbPort"]) == ("mysql.mysql.svc.cluster.local", "3306")
    assert (data["mysqlHost"], data["mysqlPort"]) == ("mysql.mysql.svc.cluster.local", "3306")
    assert (data["pipelineDb"], data["cacheDb"], data["mlmdDb"]) == ("mlpipeline", "cachedb", "metadb")
    assert data["bucketName"] == "mlpipeline" and data["appVersion"] == "2.16.0" and data["dbType"] == "mysql"


def test_argo_artifact_repository_and_object_store_service(synth_env):
    stack = synth_env("dev")
    _, cm = by_name(stack, "kubernetes_config_map_v1", "workflow-controller-configmap")
    repo = yaml.safe_load(cm["data"]["artifactRepository"])["s3"]
    assert repo["endpoint"] == "seaweedfs-s3.object-store.svc.cluster.local:8333"
    assert repo["bucket"] == "mlpipeline" and repo["insecure"] is True
    assert repo["accessKeySecret"] == {"name": "mlpipeline-minio-artifact", "key": "accesskey"}
    assert "{{workflow.namespace}}" in repo["keyFormat"]
    assert yaml.safe_load(cm["data"]["executor"])["securityContext"]["runAsNonRoot"] is True
    _, svc = by_name(stack, "kubernetes_service_v1", "seaweedfs")
    assert svc["spec"] == {"type": "ExternalName", "external_name": "kubeflow-s3.object-store.svc.cluster.local"}


@pytest.mark.parametrize("overrides, base_env, namespace", [
    ({}, "dev", "object-store"),
    ({"components": {"object_store": {"backend": "minio"}}}, "dev", "object-store"),
    ({"components": {"object_store": {"backend": "ceph-rgw", "ceph_rgw": {"gateway_instances": 2}}}}, "prod",
     "rook-ceph"),
])
def test_seaweedfs_external_name_targets_the_compat_service(synth_config, overrides, base_env, namespace):
    """Kubeflow dials seaweedfs.kubeflow:9000/8333/8111; ExternalName cannot remap ports, so it points at the
    object store's kubeflow-s3 ClusterIP Service, which publishes those ports, and Pipelines waits for it."""
    stack = synth_config(overrides, base_env=base_env)
    _, svc = by_name(stack, "kubernetes_service_v1", "seaweedfs")
    assert svc["metadata"]["namespace"].startswith("${kubernetes_namespace_v1.ClusterBaseline_Namespace-kubeflow")
    assert svc["spec"] == {"type": "ExternalName", "external_name": f"kubeflow-s3.{namespace}.svc.cluster.local"}
    compat_id, compat = by_name(stack, "kubernetes_service_v1", "kubeflow-s3")
    assert compat["spec"]["type"] == "ClusterIP"
    assert {p["port"] for p in compat["spec"]["port"]} >= {9000, 8333}
    assert f"kubernetes_service_v1.{compat_id}" in depends_on(stack, "pipelines-crds")


def test_minio_backend_changes_the_wiring_only(synth_config):
    stack = synth_config({"components": {"object_store": {"backend": "minio"}}})
    _, svc = by_name(stack, "kubernetes_service_v1", "seaweedfs")
    assert svc["spec"]["external_name"] == "kubeflow-s3.object-store.svc.cluster.local"
    _, cm = by_name(stack, "kubernetes_config_map_v1", "workflow-controller-configmap")
    assert yaml.safe_load(cm["data"]["artifactRepository"])["s3"]["endpoint"] == "minio.object-store.svc.cluster.local:9000"


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_secrets_reference_random_passwords(synth_env, env):
    stack = synth_env(env)
    passwords = set(resources(stack, "random_password"))
    _, db = by_name(stack, "kubernetes_secret_v1", "mysql-secret")
    assert db["data"]["username"] == "kfp"
    m = PASSWORD_REF.match(db["data"]["password"])
    assert m and m.group(1) in passwords and m.group(1).startswith("MySql_User-kfp_Password")
    _, s3 = by_name(stack, "kubernetes_secret_v1", "mlpipeline-minio-artifact")
    assert set(s3["data"]) == {"accesskey", "secretkey"}
    for key, value in s3["data"].items():
        m = PASSWORD_REF.match(value)
        assert m and m.group(1) in passwords and m.group(1).startswith("ObjectStore_Credentials"), key


def test_lock_excludes_what_the_construct_replaces_and_the_bundled_data_services():
    exclude = set(load_lock(ROOT / "sources.lock").base("pipelines", "2.16.0").exclude)
    assert set(REPLACED) <= exclude
    assert {"Deployment/kubeflow/mysql", "Deployment/kubeflow/seaweedfs",
            "PersistentVolumeClaim/kubeflow/mysql-pv-claim", "PersistentVolumeClaim/kubeflow/seaweedfs-pvc"} <= exclude


def test_disabled_installs_nothing(synth_config):
    stack = synth_config({"components": {"pipelines": {"enabled": False}}})
    names = {r["name"] for r in resources(stack, "helm_release").values()}
    assert not {"pipelines", "pipelines-crds"} & names
    assert "mysql-secret" not in {s["metadata"]["name"] for s in resources(stack, "kubernetes_secret_v1").values()}


@pytest.mark.parametrize("off", ["mysql", "object_store", "cert_manager"])
def test_needs_its_data_services(synth_config, off):
    # The gateway's certificate needs cert-manager too: that is a second problem, at its own key.
    with pytest.raises(ConfigError, match=f"pipelines is enabled but {off} is not") as info:
        synth_config({"components": {off: {"enabled": False}, "katib": {"enabled": False},
                                     "kserve": {"enabled": False}}})
    assert ("components", "pipelines", "enabled") in [p.path for p in info.value.problems]


def test_unknown_database_user_is_a_config_error(synth_config):
    with pytest.raises(ConfigError, match="components.pipelines.database_user 'nobody'") as info:
        synth_config({"components": {"pipelines": {"database_user": "nobody"}}})
    assert [p.path for p in info.value.problems] == [("components", "pipelines", "database_user")]


# ---------------------------------------------------------------- vendored mode, stand-in base


@contextmanager
def standin_vendor(bases: dict[str, str]) -> Iterator[tuple[str, SourcesLock]]:
    """A vendor cache under build/ holding stand-in bases (name → fixture folder) at
    :data:`STANDIN_VERSION` plus stand-in chart archives; yields (vendor_dir, lock)."""
    lock = load_lock(ROOT / "sources.lock")
    rel = f"build/test-vendor-{uuid.uuid4().hex[:8]}"
    vendor = ROOT / rel
    try:
        (vendor / "charts").mkdir(parents=True)
        for pin in lock.charts:
            (vendor / "charts" / pin.archive_name).write_bytes(b"stand-in archive for a test, not a real chart")
        pins = []
        for pin in lock.kustomize:
            if pin.name in bases:
                base = vendor / "kustomize" / f"{pin.name}-{STANDIN_VERSION}"
                shutil.copytree(FIXTURES / bases[pin.name], base / "standin")
                pin = pin.model_copy(update={"app_version": STANDIN_VERSION, "path": "standin",
                                             "digest": tree_digest(base), "charts": ()})
            pins.append(pin)
        yield rel, lock.model_copy(update={"kustomize": tuple(pins)})
    finally:
        shutil.rmtree(vendor, ignore_errors=True)
        for name in bases:
            shutil.rmtree(ROOT / "build" / "kustomize" / f"{name}-{STANDIN_VERSION}", ignore_errors=True)


def vendored_overrides(vendor_dir: str, only: str, **versions: str) -> dict:
    """Vendored mode with only ``only`` of the kustomize apps on (the others need real vendored bases)."""
    off: dict = {name: {"enabled": False} for name in ("auth", "dashboard", "pipelines", "katib") if name != only}
    off["cluster_baseline"] = {"kubeflow_network_policies": False}   # upstream's base, not a stand-in
    return {"sources": {"mode": "vendored", "vendor_dir": vendor_dir},
            "release": {"versions": versions}, "components": off}


def template_kinds(chart_path: str) -> list[tuple[str, str]]:
    """(kind, name) of every object in a rendered local chart (Terraform asset path → build folder)."""
    out = []
    for f in sorted(Path(chart_path).glob("templates/*.yaml")):
        doc = yaml.safe_load(render_text(f.read_text()))
        out.append((doc["kind"], doc["metadata"]["name"]))
    return out


def test_vendored_standin_renders_without_excluded_objects(synth_config):
    with standin_vendor({"pipelines": "pipelines-standin"}) as (vendor_dir, lock):
        stack = synth_config(vendored_overrides(vendor_dir, "pipelines", pipelines=STANDIN_VERSION), lock=lock)
        crds, main = release(stack, "pipelines-crds"), release(stack, "pipelines")
        assert crds["chart"].startswith("assets/") and "repository" not in crds
        assert release_address(stack, "pipelines-crds") in main["depends_on"]
        build = ROOT / "build" / "kustomize" / f"pipelines-{STANDIN_VERSION}"
        assert template_kinds(build / "pipelines-crds") == [
            ("CustomResourceDefinition", "standinworkflows.fixture.kfstack.test")]
        assert template_kinds(build / "pipelines") == [("Deployment", "ml-pipeline")]  # everything else excluded
        # kfstack's replacements are still there, as Terraform resources
        by_name(stack, "kubernetes_config_map_v1", "pipeline-install-config")
        by_name(stack, "kubernetes_service_v1", "seaweedfs")
