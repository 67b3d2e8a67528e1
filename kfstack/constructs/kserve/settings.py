"""Settings of KServe (importable without cdktf).

Checked against KServe v0.16.0's charts ``kserve-crd`` and ``kserve``
(oci://ghcr.io/kserve/charts; ``charts/kserve-crd`` and
``charts/kserve-resources`` in kserve/kserve tag v0.16.0).
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, ClassVar

from pydantic import Field, StringConstraints

from kfstack.constructs.knative.settings import KnativeSettings
from kfstack.model import ComponentSettings, DnsLabel, Installs

DnsName = Annotated[str, StringConstraints(
    pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$", max_length=253)]
"""A DNS name such as ``models.example.internal``."""


class KServeMode(str, Enum):
    """How InferenceServices are deployed (chart key ``kserve.controller.deploymentMode``).

    standard: plain Deployments, Services and an Ingress/VirtualService (KServe's
    "Standard", formerly RawDeployment): no Knative, no scale-to-zero.
    knative: Knative Services (scale to zero, revisions); installs Knative Serving.
    """

    standard = "standard"
    knative = "knative"

    @property
    def chart_value(self) -> str:
        """The value KServe 0.16 expects: ``Standard`` or ``Knative``."""
        return {"standard": "Standard", "knative": "Knative"}[self.value]


class KServeSettings(ComponentSettings):
    """KServe controller, its CRDs and the default ClusterServingRuntimes.

    Model storage: when the object store is enabled, KServe's storage
    initializer defaults to its S3 endpoint (``kserve.storage.s3.*``), and the
    store's credentials are copied into ``namespace`` as the Secret
    ``s3_secret`` in KServe's S3 Secret format.

    Example::

        components:
          kserve:
            enabled: true
            mode: knative            # default standard
            ingress_domain: models.example.internal
    """

    INSTALLS: ClassVar[tuple[Installs, ...]] = (
        Installs("kserve", charts=("kserve-crd", "kserve")),
        *KnativeSettings.INSTALLS,
    )
    NEEDS: ClassVar[dict[str, str]] = {
        "cert_manager": "KServe's webhook certificate comes from cert-manager",
        "istio": "InferenceServices are routed through Istio's gateways (and Knative Serving's network "
                 "layer is net-istio)",
    }

    enabled: bool = Field(False, description="Install KServe. Default false (base.yaml turns it on).")
    namespace: DnsLabel = Field(
        "kubeflow",
        description="Namespace of the controller (Kubeflow 26.03 installs KServe in kubeflow); when it is one of "
        "the baseline's shared namespaces it is used, not created. Default kubeflow.",
    )
    mode: KServeMode = Field(
        KServeMode.standard,
        description="standard (plain Deployments, the on-prem default) or knative (Knative Serving; needs Istio). "
        "Default standard.",
    )
    ingress_domain: DnsName = Field(
        "example.com",
        description="Domain of InferenceService URLs <name>-<namespace>.<domain> (kserve.controller.gateway.domain). "
        "Default example.com, as Kubeflow.",
    )
    s3_secret: DnsLabel = Field(
        "kserve-s3-credentials",
        description="Secret in namespace holding a copy of the object store's S3 keys with KServe's "
        "serving.kserve.io/s3-* annotations. Default kserve-s3-credentials.",
    )
    knative: KnativeSettings = Field(KnativeSettings(), description="Knative Serving; used only with mode knative.")

    def installs(self) -> tuple[Installs, ...]:
        """KServe's charts, and Knative's in mode knative."""
        return self.INSTALLS if self.mode is KServeMode.knative else self.INSTALLS[:1]

    @property
    def knative_serving(self) -> KnativeSettings | None:
        """The Knative Serving this KServe runs on: :attr:`knative` in mode knative, else None."""
        return self.knative if self.mode is KServeMode.knative else None

    @property
    def gateway_hosts(self) -> tuple[str, ...]:
        """Hosts the platform's HTTPS gateway serves for KServe: InferenceService URLs
        ``<name>-<namespace>.<ingress_domain>``."""
        return (f"*.{self.ingress_domain}",)
