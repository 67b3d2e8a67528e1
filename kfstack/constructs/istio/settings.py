"""Settings of Istio (importable without cdktf).

Checked against the Istio 1.29.0 charts ``base``, ``cni``, ``istiod`` and
``gateway`` (``values.yaml`` of each, istio/istio ``manifests/charts``).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from kfstack.model import ComponentSettings, DnsLabel, Settings


class GatewaySettings(Settings):
    """One Istio gateway Deployment + Service (chart ``gateway``)."""

    replicas: int = Field(1, ge=1, le=50, description="Gateway pods (chart key replicaCount). Default 1.")
    service_type: str = Field(
        "ClusterIP", pattern=r"^(ClusterIP|NodePort|LoadBalancer)$",
        description="Service type (chart key service.type). Default ClusterIP; on-prem sites "
        "with MetalLB or a hardware load balancer set LoadBalancer.",
    )


class IstioSettings(ComponentSettings):
    """Istio control plane and the two gateways Kubeflow selects.

    The ingress gateway carries the label ``istio: ingressgateway`` that
    Kubeflow's ``kubeflow-gateway`` selects; the cluster-local gateway carries
    ``istio: cluster-local-gateway`` (used by KServe/Knative).

    Example::

        components:
          istio:
            istiod_replicas: 2
            ingress_gateway: {replicas: 2, service_type: LoadBalancer}
    """

    CHARTS: ClassVar[tuple[str, ...]] = ("base", "cni", "istiod", "gateway")

    namespace: DnsLabel = Field("istio-system", description="Control-plane namespace. Default istio-system.")
    cni: bool = Field(
        True,
        description="Install istio-cni (chart cni) so workloads need no NET_ADMIN init container; "
        "Kubeflow 26.03 installs with CNI. Makes the namespace PSA-privileged. Default true.",
    )
    istiod_replicas: int = Field(1, ge=1, le=10, description="istiod pods (chart key pilot.replicaCount). Default 1.")
    ingress_gateway: GatewaySettings = Field(GatewaySettings(), description="istio-ingressgateway.")
    cluster_local_gateway: GatewaySettings = Field(GatewaySettings(), description="cluster-local-gateway.")
    access_log: bool = Field(False, description="Envoy access logs to stdout (meshConfig.accessLogFile). Default false.")
