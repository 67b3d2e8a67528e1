"""Image references, the mirror rule and finding images in manifests (kfstack.images).

The manifests below are small hand-written objects in the shapes upstream uses (Katib's
``katib-config``, KServe's ``inferenceservice-config``, the GPU Operator's ClusterPolicy, Argo's
``--executor-image``); they are not copies of upstream files.
"""

from __future__ import annotations

import json

import pytest
import yaml

from kfstack.images import images_in_object, images_in_objects, looks_like_image, mirror_reference, parse_image


@pytest.mark.parametrize(("image", "registry", "path", "tag", "digest"), [
    ("ghcr.io/kubeflow/kfp-api-server:2.16.0", "ghcr.io", "kubeflow/kfp-api-server", "2.16.0", None),
    ("kserve/agent:v0.16.0", "docker.io", "kserve/agent", "v0.16.0", None),
    ("busybox", "docker.io", "busybox", None, None),
    ("docker.io/library/busybox:1.36", "docker.io", "library/busybox", "1.36", None),
    ("localhost:5000/a/b@sha256:" + "a" * 64, "localhost:5000", "a/b", None, "sha256:" + "a" * 64),
    ("registry.internal:5000/x/y:1.0@sha256:" + "b" * 64, "registry.internal:5000", "x/y", "1.0", "sha256:" + "b" * 64),
])
def test_parse_image(image, registry, path, tag, digest):
    ref = parse_image(image)
    assert (ref.registry, ref.path, ref.tag, ref.digest) == (registry, path, tag, digest)
    assert str(ref) == image


def test_parse_rejects_non_references():
    for bad in ("", "Has Space:1", "{{ .Values.image }}", "${NAME}:1", "UPPER/case"):
        with pytest.raises(ValueError, match="not an image reference"):
            parse_image(bad)
    assert not looks_like_image("true") and not looks_like_image("server")
    assert looks_like_image("busybox:1.36") and looks_like_image("kserve/agent")


def test_latest_detection():
    assert parse_image("busybox").is_latest
    assert parse_image("quay.io/x/y:latest").is_latest
    assert not parse_image("quay.io/x/y:v1").is_latest
    assert not parse_image("quay.io/x/y@sha256:" + "c" * 64).is_latest


def test_mirror_reference_keeps_path_tag_and_digest():
    host = "registry.internal"
    assert mirror_reference("quay.io/jetstack/cert-manager-controller:v1.19.4", host) == \
        "registry.internal/jetstack/cert-manager-controller:v1.19.4"
    assert mirror_reference("kserve/agent:v0.16.0", host) == "registry.internal/kserve/agent:v0.16.0"
    digest = "sha256:" + "d" * 64
    assert mirror_reference(f"gcr.io/a/b:1@{digest}", "reg:5000/mirror") == f"reg:5000/mirror/a/b:1@{digest}"
    assert mirror_reference("registry.internal/x/y:1", host) == "registry.internal/x/y:1"


def _deployment(**pod):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"template": {"spec": pod}}}


def test_pod_specs_of_every_workload_kind():
    objects = [
        _deployment(containers=[{"name": "a", "image": "ghcr.io/o/a:1"}],
                    initContainers=[{"name": "i", "image": "ghcr.io/o/init:1"}]),
        {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {
            "containers": [{"name": "c", "image": "quay.io/o/cron:2"}]}}}}}},
        {"kind": "Pod", "spec": {"containers": [{"name": "p", "image": "busybox:1.36"}],
                                 "ephemeralContainers": [{"name": "e", "image": "quay.io/o/debug:3"}]}},
        {"kind": "DaemonSet", "spec": {"template": {"spec": {"containers": [{"name": "d", "image": "nvcr.io/n/d:4"}]}}}},
        None,
    ]
    assert images_in_objects(objects) == {"ghcr.io/o/a:1", "ghcr.io/o/init:1", "quay.io/o/cron:2", "busybox:1.36",
                                          "quay.io/o/debug:3", "nvcr.io/n/d:4"}


def test_images_controllers_launch_later():
    workflow_controller = _deployment(containers=[{
        "name": "wc", "image": "quay.io/argoproj/workflow-controller:v3.7.3",
        "args": ["--configmap", "workflow-controller-configmap", "--executor-image", "quay.io/argoproj/argoexec:v3.7.3"]}])
    api_server = _deployment(containers=[{
        "name": "api", "image": "ghcr.io/kubeflow/kfp-api-server:2.16.0",
        "env": [{"name": "V2_LAUNCHER_IMAGE", "value": "ghcr.io/kubeflow/kfp-launcher:2.16.0"},
                {"name": "V2_DRIVER_IMAGE", "value": "ghcr.io/kubeflow/kfp-driver:2.16.0"},
                {"name": "LOG_LEVEL", "value": "info"}]}])
    katib_config = {"kind": "ConfigMap", "metadata": {"name": "katib-config"}, "data": {"katib-config.yaml": yaml.safe_dump({
        "runtime": {"metricsCollectors": [{"kind": "File", "image": "ghcr.io/kubeflow/katib/file-metrics-collector:v0.19.0"}],
                    "suggestions": [{"algorithmName": "random", "image": "ghcr.io/kubeflow/katib/suggestion-hyperopt:v0.19.0"}]}})}}
    trial_templates = {"kind": "ConfigMap", "data": {"t.yaml": yaml.safe_dump({
        "apiVersion": "batch/v1", "kind": "Job",
        "spec": {"template": {"spec": {"containers": [{"name": "t", "image": "ghcr.io/kubeflow/katib/pytorch-mnist-cpu:v0.19.0"}]}}}})}}
    isvc_config = {"kind": "ConfigMap", "data": {
        "storageInitializer": json.dumps({"image": "kserve/storage-initializer:v0.16.0", "memoryRequest": "100Mi"}),
        "plain": "not: [structured",
        "ingress": json.dumps({"ingressGateway": "kubeflow/kubeflow-gateway"})}}
    cluster_policy = {"kind": "ClusterPolicy", "spec": {
        "driver": {"repository": "nvcr.io/nvidia", "image": "driver", "version": "580.95.05"},
        "toolkit": {"repository": "nvcr.io/nvidia/k8s", "image": "container-toolkit", "version": "v1.18.0"}}}
    ceph = {"kind": "CephCluster", "spec": {"cephVersion": {"image": "quay.io/ceph/ceph:v20.2.4"}}}
    argo_template = {"kind": "ConfigMap", "data": {"wf": yaml.safe_dump({"image": "{{inputs.parameters.image}}"})}}
    assert images_in_objects([workflow_controller, api_server, katib_config, trial_templates, isvc_config,
                              cluster_policy, ceph, argo_template]) == {
        "quay.io/argoproj/workflow-controller:v3.7.3", "quay.io/argoproj/argoexec:v3.7.3",
        "ghcr.io/kubeflow/kfp-api-server:2.16.0", "ghcr.io/kubeflow/kfp-launcher:2.16.0",
        "ghcr.io/kubeflow/kfp-driver:2.16.0",
        "ghcr.io/kubeflow/katib/file-metrics-collector:v0.19.0", "ghcr.io/kubeflow/katib/suggestion-hyperopt:v0.19.0",
        "ghcr.io/kubeflow/katib/pytorch-mnist-cpu:v0.19.0", "kserve/storage-initializer:v0.16.0",
        "nvcr.io/nvidia/driver:580.95.05", "nvcr.io/nvidia/k8s/container-toolkit:v1.18.0",
        "quay.io/ceph/ceph:v20.2.4"}


def test_executor_image_with_equals_and_secrets_are_ignored():
    obj = _deployment(containers=[{"name": "c", "image": "a.io/b/c:1", "args": ["--executor-image=a.io/b/exec:1"]}])
    secret = {"kind": "Secret", "data": {"image": "YS5pby9iL2M6MQ=="}}
    assert images_in_object(obj) == {"a.io/b/c:1", "a.io/b/exec:1"}
    assert images_in_object(secret) == set()


def test_skopeo_documents_group_by_destination_namespace():
    from kfstack.images_inventory import Inventory, InventoryEntry, skopeo_stream

    entries = tuple(InventoryEntry(upstream=u, mirror=mirror_reference(u, "registry.internal"), releases=("r",))
                    for u in ("ghcr.io/kubeflow/kfp-api-server:2.16.0", "ghcr.io/kubeflow/katib/katib-ui:v0.19.0",
                              "quay.io/kubeflow/other:1", "kserve/agent:v0.16.0", "busybox:1.36"))
    inv = Inventory(env="x", registry="registry.internal", entries=entries)
    docs = dict(inv.skopeo_documents())
    assert sorted(docs) == ["registry.internal", "registry.internal/kserve", "registry.internal/kubeflow",
                            "registry.internal/kubeflow/katib"]
    assert docs["registry.internal/kubeflow"] == {"ghcr.io": {"images": {"kubeflow/kfp-api-server": ["2.16.0"]}},
                                                  "quay.io": {"images": {"kubeflow/other": ["1"]}}}
    assert docs["registry.internal"] == {"docker.io": {"images": {"busybox": ["1.36"]}}}
    assert skopeo_stream(inv) == skopeo_stream(inv)
    with pytest.raises(Exception, match="sets no registry"):
        Inventory(env="dev", registry=None, entries=()).skopeo_documents()


def test_forbidden_sources():
    from kfstack.images import is_forbidden_source

    assert "Bitnami" in is_forbidden_source("docker.io/bitnami/kubectl:1.30")
    assert "gcr.io" in is_forbidden_source("gcr.io/knative-releases/x:1")
    assert "latest" in is_forbidden_source("ghcr.io/containerd/busybox")
    assert is_forbidden_source("ghcr.io/containerd/busybox:1.36") is None


def test_cli_images_refuses_bad_requests_without_rendering():
    from typer.testing import CliRunner

    from kfstack.cli import app

    runner = CliRunner()
    bad_format = runner.invoke(app, ["images", "dev", "--format", "xml"])
    assert bad_format.exit_code == 2 and "use text, json or skopeo" in bad_format.output
    no_registry = runner.invoke(app, ["images", "dev", "--format", "skopeo"])
    assert no_registry.exit_code == 2 and "sets no registry.host" in no_registry.output
    assert "Traceback" not in bad_format.output + no_registry.output


def test_push_oci_needs_an_oci_url(tmp_path):
    from kfstack.sources.charts import SourceError
    from kfstack.sources.publish import push_oci

    with pytest.raises(SourceError, match="oci://host"):
        push_oci([], "https://charts.internal", helm=tmp_path / "helm")


def test_images_composed_by_controllers():
    """Istio's injector (hub + proxy image + tag), KServe explainers (image + defaultImageVersion), MySQL
    Operator clusters (spec.version, the operator's MYSQL_OPERATOR_DEFAULT_REPOSITORY), Rook's CSI image set."""
    injector = {"kind": "ConfigMap", "data": {"values": json.dumps(
        {"global": {"hub": "registry.internal/istio", "tag": "1.29.0", "proxy": {"image": "proxyv2"},
                    "proxy_init": {"image": "proxyv2"}}})}}
    explainers = {"kind": "ConfigMap", "data": {"explainers": json.dumps(
        {"art": {"image": "kserve/art-explainer", "defaultImageVersion": "v0.16.0"}}),
        "_example": json.dumps({"storageInitializer": {"image": "kserve/storage-initializer:latest"}})}}
    csi = {"kind": "ConfigMap", "data": {"plugin": "quay.io/cephcsi/cephcsi:v3.17.0", "note": "kubeflow/gateway"}}
    gateway = _deployment(containers=[{"name": "istio-proxy", "image": "auto"}])
    assert images_in_objects([injector, explainers, csi, gateway]) == {
        "registry.internal/istio/proxyv2:1.29.0", "kserve/art-explainer:v0.16.0", "quay.io/cephcsi/cephcsi:v3.17.0"}
    cluster = {"kind": "InnoDBCluster", "spec": {"version": "9.5.0", "instances": 3}}
    operator = _deployment(containers=[{"name": "op", "image": "r.internal/mysql/community-operator:9.5.0-2.2.6",
                                        "env": [{"name": "MYSQL_OPERATOR_DEFAULT_REPOSITORY",
                                                 "value": "r.internal/mysql"}]}])
    assert images_in_objects([cluster]) == {"container-registry.oracle.com/mysql/community-server:9.5.0",
                                            "container-registry.oracle.com/mysql/community-router:9.5.0"}
    assert images_in_objects([cluster, operator]) == {"r.internal/mysql/community-operator:9.5.0-2.2.6",
                                                      "r.internal/mysql/community-server:9.5.0",
                                                      "r.internal/mysql/community-router:9.5.0"}


def test_jupyter_spawner_images():
    config = {"kind": "ConfigMap", "data": {"spawner_ui_config.yaml": yaml.safe_dump({"spawnerFormDefaults": {
        "image": {"value": "ghcr.io/kubeflow/kubeflow/notebook-servers/jupyter-scipy:v1.10.0",
                  "options": ["ghcr.io/kubeflow/kubeflow/notebook-servers/jupyter-scipy:v1.10.0",
                              "ghcr.io/kubeflow/kubeflow/notebook-servers/jupyter-pytorch-full:v1.10.0"]},
        "imageGroupOne": {"value": "ghcr.io/kubeflow/kubeflow/notebook-servers/codeserver-python:v1.10.0",
                          "options": ["ghcr.io/kubeflow/kubeflow/notebook-servers/codeserver-python:v1.10.0"]},
        "allowCustomImage": True, "cpu": {"value": "0.5"}}})}}
    assert images_in_object(config) == {
        "ghcr.io/kubeflow/kubeflow/notebook-servers/jupyter-scipy:v1.10.0",
        "ghcr.io/kubeflow/kubeflow/notebook-servers/jupyter-pytorch-full:v1.10.0",
        "ghcr.io/kubeflow/kubeflow/notebook-servers/codeserver-python:v1.10.0"}
