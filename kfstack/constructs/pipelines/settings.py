"""Settings of Kubeflow Pipelines (importable without cdktf).

Checked against kubeflow/manifests 26.03 ``applications/pipeline/overlays``
(Pipelines 2.16.0: ``upstream/env/cert-manager/platform-agnostic-multi-user``),
ConfigMap ``pipeline-install-config`` and Argo's ``workflow-controller-configmap``.
"""

from __future__ import annotations

from pydantic import Field

from kfstack.model import ComponentSettings, DnsLabel


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
