"""Katib construct: DB Secret → ``katib-crds`` → ``katib`` → ``katib-db-manager`` (Katib 0.19.0).

Source: kustomize-only upstream; kubeflow/manifests 26.03
``applications/katib/upstream/installs/katib-with-kubeflow``, pinned in sources.lock as
``katib``. The lock's ``exclude`` list removes the bundled ``katib-mysql`` (Deployment,
Service, PVC) and the two objects this construct replaces (:data:`REPLACED`):

- Secret ``katib-mysql-secrets``: upstream holds ``MYSQL_ROOT_PASSWORD`` for the bundled
  MySQL; here it holds ``DB_PASSWORD`` of the platform MySQL user (key name as in
  upstream's ``installs/katib-external-db/secrets.env``), a reference to its
  ``random_password`` result.
- Deployment ``katib-db-manager``: upstream's (image, port 6789 ``api``, gRPC liveness
  probe, restricted security context, labels, no Istio sidecar), with the environment of
  upstream's ``installs/katib-external-db/patches/db-manager.yaml``: ``DB_NAME=mysql``,
  ``DB_USER``, ``DB_PASSWORD``, ``KATIB_MYSQL_DB_DATABASE``, ``KATIB_MYSQL_DB_HOST``,
  ``KATIB_MYSQL_DB_PORT``. Identifiers are plain values; only the password comes from the
  Secret. The upstream Service ``katib-db-manager`` (selector
  ``katib.kubeflow.org/component: db-manager``) stays and selects these pods.

Example::

    katib = Katib(stack, "Katib", cluster=baseline.handle,
                  source=ChartSource(resolver, "0.19.0", KatibSettings.INSTALLS[0]),
                  settings=KatibSettings(enabled=True), namespace=baseline.handle.shared_namespaces["kubeflow"],
                  database=mysql.endpoint, user=mysql.endpoint.users["katib"],
                  depends_on=[*istio.ready, *cert_manager.issuer.ready])
"""

from __future__ import annotations

from typing import Sequence

from kfstack.cdk import (
    Construct, DeploymentV1, DeploymentV1Metadata, DeploymentV1Spec, DeploymentV1SpecSelector,
    DeploymentV1SpecTemplate, DeploymentV1SpecTemplateMetadata, DeploymentV1SpecTemplateSpec,
    DeploymentV1SpecTemplateSpecContainer, DeploymentV1SpecTemplateSpecContainerEnv,
    DeploymentV1SpecTemplateSpecContainerEnvValueFrom,
    DeploymentV1SpecTemplateSpecContainerEnvValueFromSecretKeyRef,
    DeploymentV1SpecTemplateSpecContainerLivenessProbe,
    DeploymentV1SpecTemplateSpecContainerLivenessProbeGrpc, DeploymentV1SpecTemplateSpecContainerPort,
    DeploymentV1SpecTemplateSpecContainerSecurityContext,
    DeploymentV1SpecTemplateSpecContainerSecurityContextCapabilities,
    DeploymentV1SpecTemplateSpecContainerSecurityContextSeccompProfile,
    DeploymentV1SpecTemplateSpecImagePullSecrets, ITerraformDependable, SecretV1, SecretV1Metadata,
)

from kfstack.constructs.core import ClusterHandle
from kfstack.constructs.core.kustomize import KustomizeReleases
from kfstack.constructs.core.namespace import MANAGED_BY
from kfstack.constructs.core.refs import MySqlEndpoint, MySqlUserRef, NamespaceRef
from kfstack.constructs.core.wiring import unique
from kfstack.constructs.katib.settings import KatibSettings
from kfstack.sources.charts import ChartSource

BASE = "katib"
"""sources.lock kustomize entry."""
DB_SECRET = "katib-mysql-secrets"
DB_MANAGER = "katib-db-manager"
DB_MANAGER_PORT = 6789
"""gRPC port of the DB manager (upstream container port ``api``)."""
DB_MANAGER_IMAGE = "ghcr.io/kubeflow/katib/katib-db-manager"
COMPONENT_LABEL = {"katib.kubeflow.org/component": "db-manager"}
"""Selector of upstream's Service ``katib-db-manager``."""

REPLACED = (f"Secret/kubeflow/{DB_SECRET}", f"Deployment/kubeflow/{DB_MANAGER}")
"""Upstream objects this construct creates itself (part of the lock's ``exclude`` for ``katib``)."""


def db_manager_env(user: MySqlUserRef, database: MySqlEndpoint) -> list[tuple[str, str | None]]:
    """(name, plain value) of the DB manager's environment; ``None`` marks ``DB_PASSWORD`` (from the Secret).

    Names from upstream 26.03 ``installs/katib-external-db/patches/db-manager.yaml``.
    """
    return [
        ("DB_NAME", "mysql"),
        ("DB_USER", user.username),
        ("DB_PASSWORD", None),
        ("KATIB_MYSQL_DB_DATABASE", user.databases[0]),
        ("KATIB_MYSQL_DB_HOST", database.host),
        ("KATIB_MYSQL_DB_PORT", str(database.port)),
    ]


class Katib(Construct):
    """Katib in the shared namespace, its DB manager on the platform's MySQL.

    What validation guarantees (``KatibSettings.requirements``, ``uses_shared_namespaces``) comes
    in as refs: the shared namespace and the MySQL user.

    Args:
        source: chart source at ``release.versions.katib`` (kustomize base ``katib``).
        namespace: the cluster baseline's shared namespace ``settings.namespace``.
        database: MySQL endpoint (host, port, ready).
        user: the MySQL user ``settings.database_user``; its first database is Katib's.
        depends_on: what must exist first (Istio's gateways, cert-manager's issuer).

    Attributes:
        db_secret: Secret ``katib-mysql-secrets`` (``DB_PASSWORD``, a random_password reference).
        releases: :class:`KustomizeReleases` (``katib-crds`` → ``katib``).
        db_manager: the ``katib-db-manager`` Deployment (construct id ``DbManager``).
        ready: the DB manager (installed last).

    Raises:
        SourceError: the base is not pinned / not vendored / without parts in mode mirror.
    """

    def __init__(self, scope: Construct, id_: str, *, cluster: ClusterHandle, source: ChartSource,
                 settings: KatibSettings, namespace: NamespaceRef, database: MySqlEndpoint, user: MySqlUserRef,
                 depends_on: Sequence[ITerraformDependable] = ()) -> None:
        super().__init__(scope, id_)
        ns = namespace
        self.db_secret = SecretV1(
            self, "DbSecret", provider=cluster.kubernetes,
            metadata=SecretV1Metadata(name=DB_SECRET, namespace=ns.name, labels=dict(MANAGED_BY)),
            type="Opaque", data={"DB_PASSWORD": user.password}, depends_on=list(ns.ready))
        self.releases = KustomizeReleases(
            self, "Releases", cluster=cluster, base=BASE, charts=source.kustomize(BASE), namespace=ns,
            timeout_s=settings.install_timeout_s,
            depends_on=unique([*depends_on, *database.ready, self.db_secret]))

        image = f"{DB_MANAGER_IMAGE}:v{source.app_version}"
        if cluster.mirror is not None:
            image = cluster.mirror.rehost_image(image)
        env = [
            DeploymentV1SpecTemplateSpecContainerEnv(name=name, value=value) if value is not None else
            DeploymentV1SpecTemplateSpecContainerEnv(
                name=name, value_from=DeploymentV1SpecTemplateSpecContainerEnvValueFrom(
                    secret_key_ref=DeploymentV1SpecTemplateSpecContainerEnvValueFromSecretKeyRef(
                        name=DB_SECRET, key="DB_PASSWORD")))
            for name, value in db_manager_env(user, database)
        ]
        pull_secrets = [DeploymentV1SpecTemplateSpecImagePullSecrets(name=s["name"])
                        for s in (cluster.mirror.pull_secrets if cluster.mirror else [])]
        self.db_manager = DeploymentV1(
            self, "DbManager", provider=cluster.kubernetes,
            metadata=DeploymentV1Metadata(name=DB_MANAGER, namespace=ns.name,
                                          labels=dict(sorted({**MANAGED_BY, **COMPONENT_LABEL}.items()))),
            spec=DeploymentV1Spec(
                replicas=str(settings.db_manager_replicas),
                selector=DeploymentV1SpecSelector(match_labels=dict(COMPONENT_LABEL)),
                template=DeploymentV1SpecTemplate(
                    metadata=DeploymentV1SpecTemplateMetadata(
                        labels={**COMPONENT_LABEL, "sidecar.istio.io/inject": "false"}),
                    spec=DeploymentV1SpecTemplateSpec(
                        priority_class_name=cluster.priority_classes.get("platform"),
                        image_pull_secrets=pull_secrets or None,
                        container=[DeploymentV1SpecTemplateSpecContainer(
                            name=DB_MANAGER, image=image, command=["./katib-db-manager"], env=env,
                            port=[DeploymentV1SpecTemplateSpecContainerPort(container_port=DB_MANAGER_PORT,
                                                                            name="api")],
                            liveness_probe=DeploymentV1SpecTemplateSpecContainerLivenessProbe(
                                grpc=[DeploymentV1SpecTemplateSpecContainerLivenessProbeGrpc(port=DB_MANAGER_PORT)],
                                initial_delay_seconds=10, period_seconds=60, failure_threshold=5),
                            security_context=DeploymentV1SpecTemplateSpecContainerSecurityContext(
                                allow_privilege_escalation=False, run_as_non_root=True, run_as_user="1000",
                                capabilities=DeploymentV1SpecTemplateSpecContainerSecurityContextCapabilities(
                                    drop=["ALL"]),
                                seccomp_profile=DeploymentV1SpecTemplateSpecContainerSecurityContextSeccompProfile(
                                    type="RuntimeDefault")),
                        )],
                    ),
                ),
            ),
            wait_for_rollout=True,
            depends_on=unique([self.releases.last, self.db_secret, *database.ready]),
        )
        self.ready: tuple[ITerraformDependable, ...] = (self.db_manager,)
