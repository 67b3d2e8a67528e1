"""Istio construct: base → cni → istiod → ingress and cluster-local gateways → Kubeflow's Gateway.

Charts (Istio 1.29.0, ``manifests/charts`` in istio/istio): ``base``
(``defaultRevision``), ``cni`` (``global.hub``, ``global.imagePullSecrets``),
``istiod`` (``pilot.replicaCount``, ``pilot.autoscaleEnabled``,
``pilot.cni.enabled``, ``pilot.env``, ``meshConfig.accessLogFile``,
``meshConfig.extensionProviders``, ``global.hub``,
``global.priorityClassName``, ``global.imagePullSecrets``) and ``gateway``
(``labels``, ``replicaCount``, ``autoscaling.enabled``, ``service.type``,
``priorityClassName``, ``imagePullSecrets``). Order follows Istio's Helm
install guide: base, then cni, then istiod, then gateways.

Kubeflow's ``networking.istio.io`` Gateway ``kubeflow/kubeflow-gateway`` (kubeflow/manifests 26.03
``common/istio/kubeflow-istio-resources``, excluded there, see :data:`EXCLUDED`) is created here,
by the component whose ingress gateway it configures and whose :class:`GatewayRef` names it, in
the cluster baseline's shared ``kubeflow`` namespace. Every Kubeflow VirtualService (Dex,
Pipelines, Profiles, the dashboard, KServe's InferenceServices) binds to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from kfstack.cdk import Construct, ITerraformDependable

from kfstack.constructs.auth.settings import ExtAuthzProvider
from kfstack.constructs.core import ClusterHandle, HelmChart, IssuerRef, Namespace
from kfstack.constructs.core.namespace import MANAGED_BY
from kfstack.constructs.core.refs import GatewayRef
from kfstack.constructs.istio.settings import (
    GATEWAY_NAME, GATEWAY_NAMESPACE, GatewaySettings, GatewayTlsSettings, IstioSettings,
)
from kfstack.model import PodSecurityLevel
from kfstack.sources.charts import ChartSource

INGRESS_GATEWAY_SELECTOR = {"istio": "ingressgateway"}
"""Labels Kubeflow's ``kubeflow-gateway`` Gateway selects."""
CLUSTER_LOCAL_GATEWAY_SELECTOR = {"istio": "cluster-local-gateway"}
"""Labels of the cluster-local gateway (KServe/Knative local traffic)."""
KUBEFLOW_GATEWAY = f"{GATEWAY_NAMESPACE}/{GATEWAY_NAME}"
"""Kubeflow's Istio Gateway for external traffic (kubeflow/manifests 26.03
``common/istio/kubeflow-istio-resources``), created by this construct; it selects
:data:`INGRESS_GATEWAY_SELECTOR`. Every Kubeflow VirtualService names it as ``kubeflow/kubeflow-gateway``,
so its namespace is not a setting: it must be a shared namespace of the cluster baseline."""
EXCLUDED = {"kubeflow-istio-resources": (f"Gateway/{GATEWAY_NAMESPACE}/{GATEWAY_NAME}",)}
"""Upstream objects this construct replaces: the ``exclude`` list of that sources.lock entry."""
KNATIVE_LOCAL_GATEWAY = "knative-serving/knative-local-gateway"
"""The Istio Gateway for in-cluster traffic that Knative's net-istio creates; Kubeflow points it
at the cluster-local gateway pods (``common/knative/knative-serving/overlays/gateways``)."""


TLS_SECRET = "kubeflow-gateway-tls"
"""Secret (in the ingress gateway's namespace, where Istio reads ``credentialName``) holding the
gateway's certificate, written by cert-manager from Certificate :data:`TLS_CERTIFICATE`."""
TLS_CERTIFICATE = "kubeflow-gateway"
SITE_CA_ISSUER = "kfstack-site-ca"
"""CA ClusterIssuer kfstack creates from ``tls.ca_secret`` (cert-manager ``spec.ca.secretName``)."""


@dataclass(frozen=True)
class GatewayTls:
    """HTTPS at the Kubeflow gateway: the host it serves and the Secret Istio reads its certificate from.

    Attributes:
        hostname: the platform's DNS name.
        credential_name: Secret in the ingress gateway's namespace (Gateway ``tls.credentialName``).
        ready: the Certificate release.
        extra_hosts: more names the gateway serves, e.g. ``*.<kserve ingress_domain>`` for
            InferenceService URLs.
    """

    hostname: str
    credential_name: str
    ready: Sequence[ITerraformDependable]
    extra_hosts: tuple[str, ...] = ()

    @property
    def hosts(self) -> list[str]:
        """Gateway ``hosts`` and certificate ``dnsNames``: the hostname, then the extra hosts."""
        return [self.hostname, *self.extra_hosts]


def tls_manifests(tls: GatewayTlsSettings, namespace: str, self_signing: IssuerRef | None,
                  extra_hosts: Sequence[str] = ()) -> list[dict[str, Any]]:
    """cert-manager objects for the gateway certificate (cert-manager.io/v1, cert-manager 1.19):
    the CA ClusterIssuer when ``ca_secret`` is set, and the Certificate in ``namespace``.

    ``self_signing`` (cert-manager's self-signing issuer) is required when ``tls`` names no issuer
    of the site; validation refuses TLS without cert-manager (``IstioSettings.requirements``).
    """
    labels = dict(MANAGED_BY)
    out: list[dict[str, Any]] = []
    if tls.cluster_issuer:
        issuer = tls.cluster_issuer
    elif tls.ca_secret:
        issuer = SITE_CA_ISSUER
        out.append({"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer",
                    "metadata": {"name": SITE_CA_ISSUER, "labels": labels},
                    "spec": {"ca": {"secretName": tls.ca_secret}}})
    else:
        assert self_signing is not None, "TLS without cert-manager (IstioSettings.requirements)"
        issuer = self_signing.name
    out.append({
        "apiVersion": "cert-manager.io/v1", "kind": "Certificate",
        "metadata": {"name": TLS_CERTIFICATE, "namespace": namespace, "labels": labels},
        "spec": {"secretName": TLS_SECRET, "dnsNames": [tls.hostname, *extra_hosts], "commonName": tls.hostname,
                 "duration": f"{tls.duration_h}h", "renewBefore": f"{tls.renew_before_h}h",
                 "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                 "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": issuer}},
    })
    return out


def gateway_manifest(tls: GatewayTls | None = None) -> dict[str, Any]:
    """``kubeflow/kubeflow-gateway`` on the ingress gateway pods (:data:`INGRESS_GATEWAY_SELECTOR`).

    With ``tls``: HTTPS on port 443 for ``tls.hosts`` only (certificate from Secret
    ``tls.credential_name``, TLS 1.2+), and port 80 answering every request with a redirect to
    it (``httpsRedirect``, 301). Without: plain HTTP on port 80 for any host, as upstream
    (``common/istio/kubeflow-istio-resources/base/kf-istio-resources.yaml``) ships it.
    """
    if tls is None:
        servers: list[dict[str, Any]] = [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]
    else:
        servers = [
            {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": tls.hosts,
             "tls": {"httpsRedirect": True}},
            {"port": {"number": 443, "name": "https", "protocol": "HTTPS"}, "hosts": tls.hosts,
             "tls": {"mode": "SIMPLE", "credentialName": tls.credential_name, "minProtocolVersion": "TLSV1_2"}},
        ]
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": {"name": GATEWAY_NAME, "namespace": GATEWAY_NAMESPACE, "labels": dict(MANAGED_BY)},
        "spec": {"selector": dict(INGRESS_GATEWAY_SELECTOR), "servers": servers},
    }


def _global(settings: IstioSettings, cluster: ClusterHandle) -> dict[str, Any]:
    out: dict[str, Any] = {"priorityClassName": cluster.priority_classes["platform"]}
    if cluster.mirror is not None:
        out["hub"] = cluster.mirror.prefix("istio")
        out["imagePullSecrets"] = [s["name"] for s in cluster.mirror.pull_secrets]
    return out


def _istiod_values(settings: IstioSettings, cluster: ClusterHandle,
                   ext_authz: ExtAuthzProvider | None = None) -> dict[str, Any]:
    values: dict[str, Any] = {
        "pilot": {
            "replicaCount": settings.istiod_replicas,
            "autoscaleEnabled": False,
            "cni": {"enabled": settings.cni},
        },
        "meshConfig": {"accessLogFile": "/dev/stdout" if settings.access_log else ""},
        "global": _global(settings, cluster),
    }
    if ext_authz is not None:
        # kubeflow/manifests 26.03 common/oauth2-proxy/components/istio-external-auth-patches:
        # the mesh's ext_authz provider and a 1m JWKS refresh (Dex may start after istiod).
        values["meshConfig"]["extensionProviders"] = [ext_authz.mesh_config()]
        values["pilot"]["env"] = {"PILOT_JWT_PUB_KEY_REFRESH_INTERVAL": ext_authz.jwt_refresh_interval}
    return values


def _gateway_values(gw: GatewaySettings, app: str, selector: dict[str, str],
                    cluster: ClusterHandle) -> dict[str, Any]:
    values: dict[str, Any] = {
        "labels": {"app": app, **selector},
        "replicaCount": gw.replicas,
        "autoscaling": {"enabled": False},
        "service": {"type": gw.service_type},
        "priorityClassName": cluster.priority_classes["platform"],
    }
    if cluster.mirror is not None:
        values["imagePullSecrets"] = cluster.mirror.pull_secrets
    return values


class Istio(Construct):
    """Istio service mesh for Kubeflow.

    Example::

        istio = Istio(stack, "Istio", cluster=baseline.handle,
                      source=ChartSource(resolver, "1.29.0", IstioSettings.INSTALLS[0]),
                      settings=IstioSettings(istiod_replicas=2), depends_on=[cert_manager.issuer])

    Args:
        cluster: the baseline's handle; the Gateway goes into its shared namespace ``kubeflow``.
        ext_authz: an external authorizer to register in the mesh config: oauth2-proxy's, the pure
            value ``AuthSettings.authorizer`` (istiod is installed before auth, as upstream orders it,
            and only needs the provider's address; what must wait for the authorizer to serve takes
            ``Auth.authorizer`` and its ``ready``). Default none.
        issuer: cert-manager's self-signing ClusterIssuer, used for the gateway certificate when
            ``settings.tls`` names no issuer of the site (development). Default none.
        extra_hosts: more names the HTTPS gateway serves (and its certificate covers), e.g.
            ``*.models.example.internal`` for KServe's InferenceService URLs. Default none.

    Attributes:
        namespace: ``istio-system``.
        base, cni, istiod, ingress_gateway, cluster_local_gateway: the releases
            (``cni`` is None when disabled).
        ready: resources consumers depend on (both gateways' releases).
        tls: :class:`GatewayTls` when ``settings.tls.enabled`` (else None); certificate: its release.
        gateway: the raw-manifests release of ``kubeflow/kubeflow-gateway`` (:func:`gateway_manifest`).
        ingress: :class:`GatewayRef` of the ingress gateway and Gateway ``kubeflow/kubeflow-gateway``,
            ready once both the gateway pods and the Gateway object are applied.
        cluster_local: :class:`GatewayRef` of the cluster-local gateway (Gateway
            ``knative-serving/knative-local-gateway``, created by Knative's net-istio).

    Raises:
        ValueError: ``kubeflow`` is not a shared namespace of the cluster baseline (validation
            refuses that first).
        SourceError: a chart is not pinned or not vendored.
    """

    def __init__(self, scope: Construct, id_: str, *, cluster: ClusterHandle, source: ChartSource,
                 settings: IstioSettings, depends_on: tuple = (),
                 ext_authz: ExtAuthzProvider | None = None, issuer: IssuerRef | None = None,
                 extra_hosts: Sequence[str] = ()) -> None:
        super().__init__(scope, id_)
        gateway_ns = cluster.shared_namespaces.get(GATEWAY_NAMESPACE)
        if gateway_ns is None:
            raise ValueError(f"Kubeflow's Gateway {KUBEFLOW_GATEWAY} needs {GATEWAY_NAMESPACE!r} among "
                             "components.cluster_baseline.shared_namespaces")
        level = PodSecurityLevel.privileged if settings.cni else PodSecurityLevel.baseline
        self.namespace = Namespace.for_component(self, cluster, settings.namespace, level)
        ns = self.namespace.ref
        timeout = settings.install_timeout_s

        def release(id_: str, chart: str, name: str, values: dict[str, Any], after: list) -> HelmChart:
            return HelmChart(self, id_, cluster=cluster, chart=source.chart(chart), release_name=name,
                             namespace=ns, values=values, timeout_s=timeout, depends_on=after)

        self.base = release("Base", "base", "istio-base", {"defaultRevision": "default"}, list(depends_on))
        after = [self.base.resource]
        self.cni: HelmChart | None = None
        if settings.cni:
            self.cni = release("Cni", "cni", "istio-cni", {"global": _global(settings, cluster)}, after)
            after = [self.cni.resource]
        self.istiod = release("Istiod", "istiod", "istiod", _istiod_values(settings, cluster, ext_authz), after)
        self.ingress_gateway = release(
            "IngressGateway", "gateway", "istio-ingressgateway",
            _gateway_values(settings.ingress_gateway, "istio-ingressgateway", INGRESS_GATEWAY_SELECTOR, cluster),
            [self.istiod.resource])
        self.cluster_local_gateway = release(
            "ClusterLocalGateway", "gateway", "cluster-local-gateway",
            _gateway_values(settings.cluster_local_gateway, "cluster-local-gateway",
                            CLUSTER_LOCAL_GATEWAY_SELECTOR, cluster),
            [self.istiod.resource])
        self.ready = (self.ingress_gateway.resource, self.cluster_local_gateway.resource)
        # HTTPS: the gateway's certificate, from cert-manager (custom resources through raw-manifests,
        # never kubernetes_manifest), in the gateway's namespace where Istio reads credentialName.
        self.tls: GatewayTls | None = None
        self.certificate: HelmChart | None = None
        if settings.tls.enabled:
            assert settings.tls.hostname is not None
            self.certificate = HelmChart(
                self, "Certificate", cluster=cluster, chart=source.project_chart("raw-manifests"),
                release_name="kubeflow-gateway-tls", namespace=ns,
                values={"manifests": tls_manifests(settings.tls, settings.namespace, issuer, extra_hosts)},
                timeout_s=timeout, depends_on=[self.base.resource, *(issuer.ready if issuer else ())])
            self.tls = GatewayTls(hostname=settings.tls.hostname, credential_name=TLS_SECRET,
                                  ready=(self.certificate.resource,), extra_hosts=tuple(extra_hosts))
        # Kubeflow's Gateway on the ingress gateway pods, after its certificate (custom resource
        # through raw-manifests, in the shared namespace every Kubeflow VirtualService names).
        self.gateway = HelmChart(
            self, "Gateway", cluster=cluster, chart=source.project_chart("raw-manifests"), release_name=GATEWAY_NAME,
            namespace=gateway_ns, values={"manifests": [gateway_manifest(self.tls)]}, timeout_s=timeout,
            depends_on=[self.ingress_gateway.resource, *(self.tls.ready if self.tls else ())])
        # Typed outputs: gateway Services are named after their release (chart gateway 1.29.0).
        self.ingress = GatewayRef(
            gateway=KUBEFLOW_GATEWAY, service_host=f"istio-ingressgateway.{settings.namespace}.svc.cluster.local",
            selector=dict(INGRESS_GATEWAY_SELECTOR), ready=(self.ingress_gateway.resource, self.gateway.resource))
        self.cluster_local = GatewayRef(
            gateway=KNATIVE_LOCAL_GATEWAY, service_host=f"cluster-local-gateway.{settings.namespace}.svc.cluster.local",
            selector=dict(CLUSTER_LOCAL_GATEWAY_SELECTOR), ready=(self.cluster_local_gateway.resource,))
