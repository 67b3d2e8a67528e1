"""Settings of Istio (importable without cdktf).

Checked against the Istio 1.29.0 charts ``base``, ``cni``, ``istiod`` and
``gateway`` (``values.yaml`` of each, istio/istio ``manifests/charts``).
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field, StringConstraints, model_validator

from kfstack.constructs.cluster_baseline.settings import KUBEFLOW_NAMESPACE
from kfstack.model import ComponentSettings, ComponentsView, DnsLabel, Installs, KeyPath, Settings, WiringProblem

GATEWAY_NAMESPACE = KUBEFLOW_NAMESPACE
GATEWAY_NAME = "kubeflow-gateway"
"""Kubeflow's Istio Gateway ``kubeflow/kubeflow-gateway``, which the Istio construct creates: every Kubeflow
VirtualService names it so (kubeflow/manifests 26.03), so neither part is a setting, and its namespace
must be a shared namespace of the cluster baseline."""


class GatewaySettings(Settings):
    """One Istio gateway Deployment + Service (chart ``gateway``)."""

    replicas: int = Field(1, ge=1, le=50, description="Gateway pods (chart key replicaCount). Default 1.")
    service_type: str = Field(
        "ClusterIP", pattern=r"^(ClusterIP|NodePort|LoadBalancer)$",
        description="Service type (chart key service.type). Default ClusterIP; on-prem sites "
        "with MetalLB or a hardware load balancer set LoadBalancer.",
    )


Hostname = Annotated[str, StringConstraints(
    pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$", max_length=253)]
"""A fully qualified DNS name in lower case, e.g. ``kubeflow.example.org`` (no wildcard, no scheme)."""

DnsSubdomain = Annotated[str, StringConstraints(
    pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", max_length=253)]
"""A Kubernetes object name (RFC 1123 subdomain), e.g. a ClusterIssuer's."""


class GatewayTlsSettings(Settings):
    """HTTPS at the Kubeflow gateway: a cert-manager Certificate for ``hostname``, port 443, and port 80
    redirecting to it.

    The certificate comes from, in this order: ``cluster_issuer`` (a ClusterIssuer the site owns:
    ACME, Vault, its CA), or ``ca_secret`` (the site's CA key pair in a Secret of cert-manager's
    namespace; kfstack makes a CA ClusterIssuer of it), or — when neither is set — the platform's
    self-signing ClusterIssuer, which is for tier development only (browsers warn; staging and
    production refuse it).

    Example::

        components:
          istio:
            tls: {hostname: kubeflow.example.org, cluster_issuer: corp-ca}

    Raises (as a config error): TLS on without ``hostname``; both ``cluster_issuer`` and ``ca_secret``.
    """

    enabled: bool = Field(True, description="Serve Kubeflow over HTTPS (port 443, HTTP redirected). Default true.")
    hostname: Hostname | None = Field(
        None, description="The platform's DNS name: the certificate's name and the only host the gateway "
        "serves. Required when TLS is enabled.")
    cluster_issuer: DnsSubdomain | None = Field(
        None, description="A ClusterIssuer the site owns that issues the certificate. Default none (see ca_secret).")
    ca_secret: DnsLabel | None = Field(
        None, description="A Secret (tls.crt, tls.key) in cert-manager's namespace holding the site's CA; kfstack "
        "creates the CA ClusterIssuer kfstack-site-ca from it. Default none: the self-signing issuer (development).")
    duration_h: int = Field(2160, ge=24, le=8760, description="Certificate lifetime, hours. Default 2160 (90 days).")
    renew_before_h: int = Field(360, ge=1, le=4380, description="Renew this many hours before expiry. Default 360.")

    @model_validator(mode="after")
    def _coherent(self) -> "GatewayTlsSettings":
        if self.enabled and self.hostname is None:
            raise ValueError("TLS needs hostname, the platform's DNS name (e.g. kubeflow.example.org); or set "
                             "enabled: false")
        if self.cluster_issuer and self.ca_secret:
            raise ValueError("set cluster_issuer or ca_secret, not both")
        if self.renew_before_h >= self.duration_h:
            raise ValueError(f"renew_before_h ({self.renew_before_h}) must be below duration_h ({self.duration_h})")
        return self

    @property
    def self_signed(self) -> bool:
        """True when the certificate would come from the platform's self-signing issuer."""
        return self.cluster_issuer is None and self.ca_secret is None


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

    INSTALLS: ClassVar[tuple[Installs, ...]] = (Installs("istio", charts=("base", "cni", "istiod", "gateway")),)

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
    tls: GatewayTlsSettings = Field(
        GatewayTlsSettings(enabled=False), description="HTTPS at the Kubeflow gateway: a tls block naming the "
        "hostname turns it on (every shipped environment has one; production requires it). Default off: "
        "plain HTTP on port 80 for any host.")

    def creates_namespaces(self) -> dict[KeyPath, str]:
        """The control plane's namespace."""
        return {("namespace",): self.namespace}

    def requirements(self, components: ComponentsView) -> list[WiringProblem]:
        """The gateway certificate (``tls``) is a cert-manager Certificate: it needs components.cert_manager;
        Kubeflow's Gateway (:data:`GATEWAY_NAME`) lives in the shared namespace :data:`GATEWAY_NAMESPACE`."""
        out: list[WiringProblem] = []
        if self.tls.enabled and not components.cert_manager.enabled:
            out.append((("istio", "tls", "enabled"),
                        "the gateway's certificate is a cert-manager Certificate, but components.cert_manager is "
                        "disabled; enable cert_manager or set tls.enabled: false"))
        if GATEWAY_NAMESPACE not in {ns.name for ns in components.cluster_baseline.shared_namespaces}:
            out.append((("cluster_baseline", "shared_namespaces"),
                        f"Istio creates Kubeflow's Gateway {GATEWAY_NAMESPACE}/{GATEWAY_NAME} (every Kubeflow "
                        f"VirtualService names it), but {GATEWAY_NAMESPACE!r} is not a shared namespace; add it"))
        return out
