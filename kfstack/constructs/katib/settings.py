"""Settings of Katib (importable without cdktf).

Checked against kubeflow/manifests 26.03
``applications/katib/upstream/installs/katib-with-kubeflow`` (Katib 0.19.0) and
``installs/katib-external-db`` (how upstream points the DB manager at another MySQL).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from kfstack.model import ComponentSettings, ComponentsView, DnsLabel, Installs, KeyPath, WiringProblem


class KatibSettings(ComponentSettings):
    """Katib hyperparameter tuning, its experiment database in the platform's MySQL.

    Installs the rendered upstream base (``sources.lock`` entry ``katib``: CRD chart,
    then the rest) into the shared namespace without upstream's bundled ``katib-mysql``;
    kfstack runs the DB manager (``katib-db-manager``, as upstream's
    ``katib-external-db`` configures it) against ``components.mysql`` as
    ``database_user``. Needs ``components.mysql``, ``components.cert_manager`` and
    ``components.istio``.

    Example::

        components:
          katib:
            enabled: true
            database_user: katib
            db_manager_replicas: 2
    """

    INSTALLS: ClassVar[tuple[Installs, ...]] = (Installs("katib", kustomize=("katib",)),)
    NEEDS: ClassVar[dict[str, str]] = {
        "mysql": "Katib keeps its experiments in MySQL",
        "cert_manager": "upstream's Katib manifests bring cert-manager Certificates",
        "istio": "upstream's Katib manifests bring Istio policies",
    }

    enabled: bool = Field(False, description="Install Katib. Default false (base.yaml turns it on).")
    namespace: DnsLabel = Field(
        "kubeflow", description="Namespace upstream's manifests install into; must be one of "
        "cluster_baseline.shared_namespaces. Default kubeflow.")
    database_user: DnsLabel = Field(
        "katib", description="User of components.mysql.users the DB manager connects as; Katib's database is "
        "that user's first database (KATIB_MYSQL_DB_DATABASE). Default katib.")
    db_manager_replicas: int = Field(
        1, ge=1, le=5, description="Replicas of katib-db-manager (stateless gRPC front of the database). Default 1.")

    def uses_shared_namespaces(self) -> dict[KeyPath, str]:
        """Upstream's manifests install into ``namespace``, which the cluster baseline creates."""
        return {("namespace",): self.namespace}

    def requirements(self, components: ComponentsView) -> list[WiringProblem]:
        """``database_user`` is a user of components.mysql."""
        if not components.mysql.enabled:
            return []  # NEEDS reports it
        unknown = components.mysql.unknown_user(self.database_user, "katib.database_user")
        return [(("katib", "database_user"), unknown)] if unknown else []
