"""Settings of cert-manager (importable without cdktf).

Checked against the jetstack ``cert-manager`` chart v1.19.4 ``values.yaml``.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from kfstack.model import ComponentSettings, DnsLabel, Installs, KeyPath


class CertManagerSettings(ComponentSettings):
    """cert-manager controller, webhook and cainjector.

    Example::

        components:
          cert_manager: {replicas: 3}
    """

    INSTALLS: ClassVar[tuple[Installs, ...]] = (Installs("cert_manager", charts=("cert-manager",)),)

    namespace: DnsLabel = Field("cert-manager", description="Namespace of the release. Default cert-manager.")
    replicas: int = Field(
        1, ge=1, le=10,
        description="Replicas of the controller, webhook and cainjector "
        "(chart keys replicaCount, webhook.replicaCount, cainjector.replicaCount). Default 1 (no HA).",
    )
    issuer_name: DnsLabel = Field(
        "kubeflow-self-signing-issuer",
        description="Name of the self-signing ClusterIssuer; Kubeflow's manifests reference "
        "kubeflow-self-signing-issuer. Default kubeflow-self-signing-issuer.",
    )

    def creates_namespaces(self) -> dict[KeyPath, str]:
        """The release's namespace."""
        return {("namespace",): self.namespace}
