"""Settings of Kubeflow Pipelines (importable without cdktf).

Checked against kubeflow/manifests 26.03 ``applications/pipeline/overlays``
(Pipelines 2.16.0: ``upstream/env/cert-manager/platform-agnostic-multi-user``),
ConfigMap ``pipeline-install-config`` and Argo's ``workflow-controller-configmap``.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from kfstack.model import ComponentSettings, ComponentsView, DnsLabel, Installs, KeyPath, WiringProblem


class PipelinesSettings(ComponentSettings):
    """Kubeflow Pipelines (multi-user), its metadata in MySQL and its artifacts in the object store.

    Installs the rendered upstream base (``sources.lock`` entry ``pipelines``: CRD chart,
    then the rest) into the shared namespace, without upstream's bundled MySQL and
    SeaweedFS; kfstack writes the objects that carry the database and object-store
    settings (``pipeline-install-config``, ``mysql-secret``, ``mlpipeline-minio-artifact``,
    ``workflow-controller-configmap``). Needs ``components.mysql``,
    ``components.object_store``, ``components.cert_manager`` and ``components.istio``.

    Example::

        components:
          pipelines:
            enabled: true
            database_user: kfp
            artifact_retention_days: 30
    """

    INSTALLS: ClassVar[tuple[Installs, ...]] = (Installs("pipelines", kustomize=("pipelines",)),)
    NEEDS: ClassVar[dict[str, str]] = {
        "mysql": "Pipelines keeps its metadata in MySQL",
        "object_store": "Pipelines keeps its artifacts in the object store",
        "cert_manager": "upstream's Pipelines manifests bring cert-manager Certificates",
        "istio": "upstream's Pipelines manifests bring Istio policies",
    }

    enabled: bool = Field(False, description="Install Kubeflow Pipelines. Default false (base.yaml turns it on).")
    namespace: DnsLabel = Field(
        "kubeflow", description="Namespace upstream's manifests install into; must be one of "
        "cluster_baseline.shared_namespaces. Default kubeflow.")
    database_user: DnsLabel = Field(
        "kfp", description="User of components.mysql.users Pipelines connects as; it must own the databases "
        "pipeline_db, cache_db and mlmd_db. Default kfp.")
    pipeline_db: DnsLabel = Field("mlpipeline", description="Pipelines' database (pipelineDb). Default mlpipeline.")
    cache_db: DnsLabel = Field("cachedb", description="Cache server's database (cacheDb). Default cachedb.")
    mlmd_db: DnsLabel = Field("metadb", description="ML Metadata's database (mlmdDb). Default metadb.")
    artifact_retention_days: int = Field(
        -1, ge=-1, le=3650,
        description="Days the profile controller keeps artifacts before a bucket lifecycle rule deletes them "
        "(ARTIFACT_RETENTION_DAYS); -1 keeps them forever. Default -1.")
    log_level: str = Field("info", pattern=r"^(debug|info|warn|error)$",
                           description="API server log level (LOG_LEVEL): debug, info, warn or error. Default info.")

    def uses_shared_namespaces(self) -> dict[KeyPath, str]:
        """Upstream's manifests install into ``namespace``, which the cluster baseline creates."""
        return {("namespace",): self.namespace}

    def requirements(self, components: ComponentsView) -> list[WiringProblem]:
        """``database_user`` is a user of components.mysql that owns Pipelines' three databases
        (pipeline_db, cache_db, mlmd_db)."""
        mysql = components.mysql
        if not mysql.enabled:
            return []  # NEEDS reports it
        unknown = mysql.unknown_user(self.database_user, "pipelines.database_user")
        if unknown:
            return [(("pipelines", "database_user"), unknown)]
        user = mysql.user(self.database_user)
        missing = [db for db in (self.pipeline_db, self.cache_db, self.mlmd_db) if db not in user.databases]
        if missing:
            return [(("mysql", "users"), f"MySQL user {user.name!r} (components.pipelines.database_user) does not "
                                         f"own Pipelines' databases {missing}; add them to its databases")]
        return []
