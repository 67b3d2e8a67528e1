"""Pipelines construct: wiring objects → ``pipelines-crds`` → ``pipelines`` (Kubeflow Pipelines 2.16.0).

Source: kustomize-only upstream; kubeflow/manifests 26.03 ``applications/pipeline/overlays``
(multi-user, cert-manager), pinned in sources.lock as ``pipelines`` with Argo Workflows
v3.7.3 vendored. The lock's ``exclude`` list removes the objects this construct replaces
(:data:`REPLACED`) and upstream's bundled MySQL and SeaweedFS (the platform's data
services replace them). Facts below are from the rendered 26.03 base:

- ConfigMap ``pipeline-install-config``: ``dbHost``/``dbPort`` (API server, cache server),
  ``mysqlHost``/``mysqlPort`` (metadata-grpc, API server's MLMD client), ``pipelineDb``,
  ``cacheDb``, ``mlmdDb``, ``bucketName``; the other keys keep upstream's values.
- Secret ``mysql-secret``: ``username``, ``password`` (every Deployment's DB login).
- Secret ``mlpipeline-minio-artifact``: ``accesskey``, ``secretkey`` (API server, UI,
  profile controller, Argo's artifact repository).
- ConfigMap ``workflow-controller-configmap``: Argo's ``artifactRepository.s3``
  (``endpoint`` host:port, ``bucket``, ``insecure``, credentials from the Secret above) and
  ``executor``.
- Service ``seaweedfs``: the API server (``OBJECTSTORECONFIG_HOST: seaweedfs.kubeflow``,
  ``OBJECTSTORECONFIG_PORT: 9000``), the profile controller (``S3_ENDPOINT_URL:
  http://seaweedfs.kubeflow:8333``, ``AWS_ENDPOINT_URL: http://seaweedfs.kubeflow:8111`` for
  IAM) and the per-namespace Argo ``artifact-repositories`` it writes (``seaweedfs.kubeflow:9000``)
  hard-code this name and these ports. ExternalName cannot remap ports, so kfstack points an
  ExternalName ``seaweedfs`` at the object store's Kubeflow compatibility Service
  (:attr:`S3Endpoint.kubeflow_compat`, a ClusterIP Service publishing 9000/8333 → the S3 port
  and 8111 → the IAM port where the backend has one); the Deployments stay upstream's.

Example::

    settings = PipelinesSettings(enabled=True)
    pipelines = Pipelines(stack, "Pipelines", cluster=baseline.handle,
                          source=ChartSource(resolver, "2.16.0", PipelinesSettings.INSTALLS[0]), settings=settings,
                          namespace=baseline.handle.shared_namespaces["kubeflow"], database=mysql.endpoint,
                          user=mysql.endpoint.users[settings.database_user], artifacts=store.endpoint,
                          depends_on=[*istio.ready, *cert_manager.issuer.ready])
"""

from __future__ import annotations

from typing import Any, Sequence

from kfstack.cdk import (
    ConfigMapV1, ConfigMapV1Metadata, Construct, ITerraformDependable, SecretV1, SecretV1Metadata, ServiceV1,
    ServiceV1Metadata, ServiceV1Spec,
)

from kfstack.constructs.core import ClusterHandle, render_values
from kfstack.constructs.core.kustomize import KustomizeReleases
from kfstack.constructs.core.namespace import MANAGED_BY
from kfstack.constructs.core.refs import ImageMirror, MySqlEndpoint, MySqlUserRef, NamespaceRef, S3Endpoint
from kfstack.constructs.core.wiring import unique
from kfstack.constructs.pipelines.settings import PipelinesSettings
from kfstack.sources.charts import ChartSource

BASE = "pipelines"
"""sources.lock kustomize entry."""
INSTALL_CONFIG = "pipeline-install-config"
DB_SECRET = "mysql-secret"
ARTIFACT_SECRET = "mlpipeline-minio-artifact"
WORKFLOW_CONFIG = "workflow-controller-configmap"
OBJECT_STORE_SERVICE = "seaweedfs"

REPLACED = (
    f"ConfigMap/kubeflow/{INSTALL_CONFIG}",
    f"ConfigMap/kubeflow/{WORKFLOW_CONFIG}",
    f"Secret/kubeflow/{DB_SECRET}",
    f"Secret/kubeflow/{ARTIFACT_SECRET}",
    f"Service/kubeflow/{OBJECT_STORE_SERVICE}",
)
"""Upstream objects this construct creates itself (part of the lock's ``exclude`` for ``pipelines``)."""

APP_LABELS = {"app.kubernetes.io/component": "ml-pipeline", "app.kubernetes.io/name": "kubeflow-pipelines",
              "application-crd-id": "kubeflow-pipelines"}
"""Labels upstream gives ``pipeline-install-config`` and the Secrets."""

KEY_FORMAT = ("private-artifacts/{{workflow.namespace}}/{{workflow.name}}/{{workflow.creationTimestamp.Y}}/"
              "{{workflow.creationTimestamp.m}}/{{workflow.creationTimestamp.d}}/{{pod.name}}")
"""Argo artifact key layout of 26.03's ``workflow-controller-configmap`` (per-namespace prefixes
the profile controller grants access to)."""

EXECUTOR = {
    "imagePullPolicy": "IfNotPresent",
    "securityContext": {"runAsNonRoot": True, "runAsUser": 65532, "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}},
}
"""Argo executor settings of 26.03's ``workflow-controller-configmap`` (restricted Pod Security)."""


CACHE_IMAGE = "ghcr.io/containerd/busybox:1.36"
"""Image of the pods the cache server launches for cached steps (``cacheImage``). Upstream 26.03
writes ``ghcr.io/containerd/busybox`` without a tag (= ``latest``); kfstack pins the tag containerd's
own integration tests use (containerd ``integration/images`` image list: ``busybox:1.36``)."""


def install_config(settings: PipelinesSettings, database: MySqlEndpoint, artifacts: S3Endpoint,
                   app_version: str, mirror: ImageMirror | None = None) -> dict[str, str]:
    """Data of ``pipeline-install-config``: upstream 26.03's keys, database and bucket from the refs.

    Keys and defaults from the rendered 26.03 ConfigMap; ports are strings (ConfigMap data).
    ``cacheImage`` is :data:`CACHE_IMAGE`, rehosted when the environment has a registry ``mirror``.
    """
    return {
        "appName": "pipeline",
        "appVersion": app_version,
        "dbHost": database.host,
        "dbPort": str(database.port),
        "dbType": "mysql",
        "mysqlHost": database.host,
        "mysqlPort": str(database.port),
        "mlmdDb": settings.mlmd_db,
        "cacheDb": settings.cache_db,
        "pipelineDb": settings.pipeline_db,
        "bucketName": artifacts.bucket,
        "defaultPipelineRoot": "",
        "autoUpdatePipelineDefaultVersion": "true",
        "cronScheduleTimezone": "UTC",
        "cacheImage": mirror.reference(CACHE_IMAGE) if mirror else CACHE_IMAGE,
        "cacheNodeRestrictions": "false",
        "ConMaxLifeTime": "120s",
        "LOG_LEVEL": settings.log_level,
        "DEFAULT_CACHE_STALENESS": "",
        "MAXIMUM_CACHE_STALENESS": "",
        "ARTIFACT_RETENTION_DAYS": str(settings.artifact_retention_days),
        "ARTIFACTS_PROXY_ENABLED": "false",
        "defaultSecurityContextRunAsUser": "",
        "defaultSecurityContextRunAsGroup": "",
        "defaultSecurityContextRunAsNonRoot": "",
    }


def artifact_repository(artifacts: S3Endpoint) -> dict[str, Any]:
    """Argo's default artifact repository (``workflow-controller-configmap`` key ``artifactRepository``)."""
    return {
        "archiveLogs": True,
        "s3": {
            "endpoint": f"{artifacts.host}:{artifacts.port}",
            "bucket": artifacts.bucket,
            "region": artifacts.region,
            "insecure": not artifacts.secure,
            "keyFormat": KEY_FORMAT,
            "accessKeySecret": {"name": ARTIFACT_SECRET, "key": "accesskey"},
            "secretKeySecret": {"name": ARTIFACT_SECRET, "key": "secretkey"},
        },
    }


class Pipelines(Construct):
    """Kubeflow Pipelines in the shared namespace, on the platform's MySQL and object store.

    What validation guarantees (``PipelinesSettings.requirements``, ``uses_shared_namespaces``)
    comes in as refs: the shared namespace and the MySQL user.

    Args:
        source: chart source at ``release.versions.pipelines`` (kustomize base ``pipelines``).
        namespace: the cluster baseline's shared namespace ``settings.namespace``.
        database: MySQL endpoint (host, port, ready).
        user: the MySQL user ``settings.database_user``, owner of Pipelines' databases; its password is copied.
        artifacts: S3 endpoint, bucket and credentials for artifacts, with its Kubeflow compatibility Service.
        depends_on: what must exist first (Istio's gateways, cert-manager's issuer).

    Attributes:
        install_config, workflow_config: the kfstack-owned ConfigMaps.
        database_secret, artifact_secret: the kfstack-owned Secrets (values are references to
            the ``random_password`` results the refs carry, never literals).
        object_store_service: ExternalName Service ``seaweedfs`` → ``artifacts.kubeflow_compat.host``.
        releases: :class:`KustomizeReleases` (``pipelines-crds`` → ``pipelines``).
        ready: the last release.

    Raises:
        SourceError: the base is not pinned / not vendored / without parts in mode mirror.
    """

    def __init__(self, scope: Construct, id_: str, *, cluster: ClusterHandle, source: ChartSource,
                 settings: PipelinesSettings, namespace: NamespaceRef, database: MySqlEndpoint,
                 user: MySqlUserRef, artifacts: S3Endpoint, depends_on: Sequence[ITerraformDependable] = ()) -> None:
        super().__init__(scope, id_)
        ns = namespace
        compat = artifacts.kubeflow_compat
        labels = {**MANAGED_BY, **APP_LABELS}

        def meta(cls, name: str):
            return cls(name=name, namespace=ns.name, labels=dict(sorted(labels.items())))

        self.install_config = ConfigMapV1(
            self, "InstallConfig", provider=cluster.kubernetes, metadata=meta(ConfigMapV1Metadata, INSTALL_CONFIG),
            data=dict(sorted(install_config(settings, database, artifacts, source.app_version,
                                          cluster.mirror).items())),
            depends_on=list(ns.ready))
        self.workflow_config = ConfigMapV1(
            self, "WorkflowControllerConfig", provider=cluster.kubernetes,
            metadata=meta(ConfigMapV1Metadata, WORKFLOW_CONFIG),
            data={"artifactRepository": render_values(artifact_repository(artifacts)),
                  "executor": render_values(EXECUTOR)},
            depends_on=list(ns.ready))
        self.database_secret = SecretV1(
            self, "DatabaseSecret", provider=cluster.kubernetes, metadata=meta(SecretV1Metadata, DB_SECRET),
            type="Opaque", data={"password": user.password, "username": user.username},
            depends_on=list(ns.ready))
        self.artifact_secret = SecretV1(
            self, "ArtifactSecret", provider=cluster.kubernetes, metadata=meta(SecretV1Metadata, ARTIFACT_SECRET),
            type="Opaque", data={"accesskey": artifacts.access_key, "secretkey": artifacts.secret_key},
            depends_on=list(ns.ready))
        self.object_store_service = ServiceV1(
            self, "ObjectStoreService", provider=cluster.kubernetes,
            metadata=meta(ServiceV1Metadata, OBJECT_STORE_SERVICE),
            spec=ServiceV1Spec(type="ExternalName", external_name=compat.host),
            wait_for_load_balancer=False, depends_on=list(ns.ready))
        wiring = [self.install_config, self.workflow_config, self.database_secret, self.artifact_secret,
                  self.object_store_service]
        self.releases = KustomizeReleases(
            self, "Releases", cluster=cluster, base=BASE, charts=source.kustomize(BASE), namespace=ns,
            timeout_s=settings.install_timeout_s,
            depends_on=unique([*depends_on, *database.ready, *artifacts.ready, *compat.ready, *wiring]))
        self.ready: tuple[ITerraformDependable, ...] = (self.releases.last,)
