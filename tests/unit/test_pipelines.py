"""Kubeflow Pipelines: parts from the mirror (an https repository, an OCI registry), wiring to MySQL and the
object store, install order; vendored mode with a stand-in base (tests/fixtures/kustomize/pipelines-standin).

Every stack is a minimal environment built in the test (tests/fixtures/envs.py), not a shipped file."""

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
from tests.conftest import ROOT, _synth_stack, depends_on, release, release_address, resources
from tests.fixtures.envs import CEPH, enable, merged, minimal_env

FIXTURES = ROOT / "tests" / "fixtures" / "kustomize"
MIRRORS = ("https://charts.fixture.internal/kfstack", "oci://registry.fixture.internal/charts")
"""Chart mirrors of both kinds: an https chart repository and an OCI registry."""
PIPELINES = enable("pipelines")
PASSWORD_REF = re.compile(r"^\$\{random_password\.([A-Za-z0-9_-]+)\.result\}$")
STANDIN_VERSION = "0.0.1-standin"


def mirror(url: str) -> dict:
    """Overrides: charts (and rendered kustomize parts) from the mirror at ``url``."""
    return {"sources": {"mode": "mirror", "mirror_url": url}}


def by_name(stack: dict, rtype: str, name: str) -> tuple[str, dict]:
    """(logical id, resource) of the one resource of ``rtype`` whose metadata.name is ``name``."""
    found = [(rid, r) for rid, r in resources(stack, rtype).items() if r["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {rtype} named {name}, found {len(found)}"
    return found[0]


@pytest.mark.parametrize("url", MIRRORS)
def test_parts_from_the_mirror_crds_first(synth_minimal, url):
    stack = synth_minimal(merged(PIPELINES, mirror(url), {"release": {"versions": {"pipelines": "2.16.0"}}}))
    lock = load_lock(ROOT / "sources.lock")
    parts = [c.name for c in lock.base("pipelines", "2.16.0").charts]
    assert parts[0] == "pipelines-crds" and "pipelines" in parts
    for name in parts:
        rel = release(stack, name)
        assert (rel["chart"], rel["repository"], rel["version"]) == (name, url, "2.16.0")
        assert rel["namespace"] == "${kubernetes_namespace_v1.ClusterBaseline_Namespace-kubeflow_2C363C2A.metadata[0].name}"
    for earlier, later in zip(parts, parts[1:]):
        assert release_address(stack, earlier) in depends_on(stack, later)


@pytest.mark.parametrize("overrides", [{}, CEPH], ids=["cluster-storage", "ceph"])
def test_installed_after_istio_issuer_and_data_services(synth_minimal, overrides):
    stack = synth_minimal(merged(PIPELINES, overrides))
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


def test_install_config_points_at_the_platform_mysql_and_bucket(synth_minimal):
    stack = synth_minimal(merged(PIPELINES, {"release": {"versions": {"pipelines": "2.16.0"}},
                                             "components": {"object_store": {"buckets": ["mlpipeline"]}}}))
    _, cm = by_name(stack, "kubernetes_config_map_v1", "pipeline-install-config")
    data = cm["data"]
    assert (data["dbHost"], data["dbPort"]) == ("mysql.mysql.svc.cluster.local", "3306")
    assert (data["mysqlHost"], data["mysqlPort"]) == ("mysql.mysql.svc.cluster.local", "3306")
    assert (data["pipelineDb"], data["cacheDb"], data["mlmdDb"]) == ("mlpipeline", "cachedb", "metadb")
    assert data["bucketName"] == "mlpipeline" and data["appVersion"] == "2.16.0" and data["dbType"] == "mysql"


def test_argo_artifact_repository_and_object_store_service(synth_minimal):
    stack = synth_minimal(merged(PIPELINES, {"components": {"object_store": {"backend": "seaweedfs",
                                                                             "buckets": ["mlpipeline"]}}}))
    _, cm = by_name(stack, "kubernetes_config_map_v1", "workflow-controller-configmap")
    repo = yaml.safe_load(cm["data"]["artifactRepository"])["s3"]
    assert repo["endpoint"] == "seaweedfs-s3.object-store.svc.cluster.local:8333"
    assert repo["bucket"] == "mlpipeline" and repo["insecure"] is True
    assert repo["accessKeySecret"] == {"name": "mlpipeline-minio-artifact", "key": "accesskey"}
    assert "{{workflow.namespace}}" in repo["keyFormat"]
    assert yaml.safe_load(cm["data"]["executor"])["securityContext"]["runAsNonRoot"] is True
    _, svc = by_name(stack, "kubernetes_service_v1", "seaweedfs")
    assert svc["spec"] == {"type": "ExternalName", "external_name": "kubeflow-s3.object-store.svc.cluster.local"}


@pytest.mark.parametrize("overrides, namespace", [
    ({"components": {"object_store": {"backend": "seaweedfs"}}}, "object-store"),
    ({"components": {"object_store": {"backend": "minio"}}}, "object-store"),
    (merged(CEPH, {"components": {"object_store": {"backend": "ceph-rgw", "ceph_rgw": {"gateway_instances": 2}}}}),
     "rook-ceph"),
], ids=["seaweedfs", "minio", "ceph-rgw"])
def test_seaweedfs_external_name_targets_the_compat_service(synth_minimal, overrides, namespace):
    """Kubeflow dials seaweedfs.kubeflow:9000/8333/8111; ExternalName cannot remap ports, so it points at the
    object store's kubeflow-s3 ClusterIP Service, which publishes those ports, and Pipelines waits for it."""
    stack = synth_minimal(merged(PIPELINES, overrides))
    _, svc = by_name(stack, "kubernetes_service_v1", "seaweedfs")
    assert svc["metadata"]["namespace"].startswith("${kubernetes_namespace_v1.ClusterBaseline_Namespace-kubeflow")
    assert svc["spec"] == {"type": "ExternalName", "external_name": f"kubeflow-s3.{namespace}.svc.cluster.local"}
    compat_id, compat = by_name(stack, "kubernetes_service_v1", "kubeflow-s3")
    assert compat["spec"]["type"] == "ClusterIP"
    assert {p["port"] for p in compat["spec"]["port"]} >= {9000, 8333}
    assert f"kubernetes_service_v1.{compat_id}" in depends_on(stack, "pipelines-crds")


def test_minio_backend_changes_the_wiring_only(synth_minimal):
    stack = synth_minimal(merged(PIPELINES, {"components": {"object_store": {"backend": "minio"}}}))
    _, svc = by_name(stack, "kubernetes_service_v1", "seaweedfs")
    assert svc["spec"]["external_name"] == "kubeflow-s3.object-store.svc.cluster.local"
    _, cm = by_name(stack, "kubernetes_config_map_v1", "workflow-controller-configmap")
    assert yaml.safe_load(cm["data"]["artifactRepository"])["s3"]["endpoint"] == "minio.object-store.svc.cluster.local:9000"


@pytest.mark.parametrize("overrides", [{}, CEPH], ids=["cluster-storage", "ceph"])
def test_secrets_reference_random_passwords(synth_minimal, overrides):
    stack = synth_minimal(merged(PIPELINES, overrides))
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


def test_disabled_installs_nothing(synth_minimal):
    # Everything Pipelines needs is on (MySQL, the object store), Pipelines itself off.
    stack = synth_minimal(enable("pipelines", pipelines={"enabled": False}))
    assert {"mysql", "seaweedfs"} <= {r["name"] for r in resources(stack, "helm_release").values()}
    names = {r["name"] for r in resources(stack, "helm_release").values()}
    assert not {"pipelines", "pipelines-crds"} & names
    assert "mysql-secret" not in {s["metadata"]["name"] for s in resources(stack, "kubernetes_secret_v1").values()}


@pytest.mark.parametrize("off", ["mysql", "object_store", "cert_manager"])
def test_needs_its_data_services(synth_minimal, off):
    # No TLS at the minimal environment's gateway (whose certificate would need cert-manager too): one problem.
    with pytest.raises(ConfigError, match=f"pipelines is enabled but {off} is not") as info:
        synth_minimal(enable("pipelines", **{off: {"enabled": False}}))
    assert [p.path for p in info.value.problems] == [("components", "pipelines", "enabled")]


def test_unknown_database_user_is_a_config_error(synth_minimal):
    with pytest.raises(ConfigError, match="components.pipelines.database_user 'nobody'") as info:
        synth_minimal(enable("pipelines", pipelines={"database_user": "nobody"}))
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
    """Vendored mode with ``only`` on and no other kustomize app (the others need real vendored bases)."""
    off: dict = {name: {"enabled": False} for name in ("auth", "dashboard", "pipelines", "katib") if name != only}
    off["cluster_baseline"] = {"kubeflow_network_policies": False}   # upstream's base, not a stand-in
    return merged(enable(only), {"sources": {"mode": "vendored", "vendor_dir": vendor_dir},
                                 "release": {"versions": versions}, "components": off})


def synth_vendored(lock: SourcesLock, overrides: dict) -> dict:
    """Synthesize the minimal environment with ``overrides`` against ``lock`` (a stand-in vendor cache's)."""
    return _synth_stack(minimal_env(lock, overrides), lock=lock)


def template_kinds(chart_path: str) -> list[tuple[str, str]]:
    """(kind, name) of every object in a rendered local chart (Terraform asset path → build folder)."""
    out = []
    for f in sorted(Path(chart_path).glob("templates/*.yaml")):
        doc = yaml.safe_load(render_text(f.read_text()))
        out.append((doc["kind"], doc["metadata"]["name"]))
    return out


def test_vendored_standin_renders_without_excluded_objects():
    with standin_vendor({"pipelines": "pipelines-standin"}) as (vendor_dir, lock):
        stack = synth_vendored(lock, vendored_overrides(vendor_dir, "pipelines", pipelines=STANDIN_VERSION))
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
