"""KServe construct: the ``kserve-crd`` chart, then ``kserve``, wired to Istio, Knative and the object store.

Charts: KServe v0.16.0 ``kserve-crd`` and ``kserve`` (oci://ghcr.io/kserve/charts,
chart version v0.16.0; ``charts/kserve-crd`` and ``charts/kserve-resources`` in
kserve/kserve tag v0.16.0). Value keys used (``kserve-resources/values.yaml``):

- ``kserve.controller.deploymentMode``: ``Standard`` or ``Knative`` (0.16 names;
  ``RawDeployment``/``Serverless`` are the deprecated spellings).
- ``kserve.controller.gateway.domain``, ``.ingressGateway.gateway``
  (``<namespace>/<name>``, Kubeflow's ``kubeflow/kubeflow-gateway``),
  ``.ingressGateway.className`` (``istio``), ``.localGateway.gateway`` and
  ``.localGateway.gatewayService`` (Knative mode's in-cluster route), all
  rendered into the ``inferenceservice-config`` ConfigMap's ``ingress`` entry.
- ``kserve.storage.s3.endpoint`` / ``useHttps`` / ``region`` / ``verifySSL`` /
  ``useVirtualBucket``: the storage initializer's S3 defaults (ConfigMap entry
  ``credentials``).
- Registry mirror: ``kserve.controller.image``, ``kserve.controller.rbacProxyImage``
  (full reference), ``kserve.agent.image``, ``kserve.router.image``,
  ``kserve.storage.image``, ``kserve.servingruntime.<runtime>.image``,
  ``kserve.servingruntime.art.image``, ``kserve.localmodel.controller.image``,
  ``kserve.localmodel.agent.image``; pull secrets through
  ``kserve.controller.imagePullSecrets`` (on the controller's ServiceAccount),
  ``kserve.servingruntime.<runtime>.imagePullSecrets`` and
  ``kserve.router.imagePullSecrets``. Tags stay the chart's.

The chart's webhook certificate comes from its own cert-manager ``Issuer``
(``certificate.yaml``), so KServe installs after cert-manager is ready.
The object store's keys are copied into KServe's namespace as a Secret in
KServe's S3 format (``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` plus
``serving.kserve.io/s3-*`` annotations, ``pkg/credentials/s3`` at v0.16.0);
its data are Terraform references to the store's generated keys, never literals.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Sequence

from kfstack.cdk import Construct, ITerraformDependable, SecretV1, SecretV1Metadata

from kfstack.constructs.core import ClusterHandle, HelmChart, IssuerRef, values_at
from kfstack.constructs.core.namespace import MANAGED_BY
from kfstack.constructs.core.refs import GatewayRef, S3Endpoint
from kfstack.constructs.core.wiring import component_namespace, unique
from kfstack.constructs.kserve.settings import KServeSettings
from kfstack.model import PodSecurityLevel
from kfstack.sources.charts import ChartSource

# Chart key path -> upstream image repository (chart v0.16.0 defaults; Docker Hub short names
# included). With a mirror each becomes ImageMirror.rehost_image(...) of it, e.g. kserve/agent ->
# registry.internal/kserve/agent and nvcr.io/nvidia/tritonserver -> registry.internal/nvidia/tritonserver.
IMAGES: dict[tuple[str, ...], str] = {
    ("kserve", "controller", "image"): "kserve/kserve-controller",
    ("kserve", "agent", "image"): "kserve/agent",
    ("kserve", "router", "image"): "kserve/router",
    ("kserve", "storage", "image"): "kserve/storage-initializer",
    ("kserve", "servingruntime", "tensorflow", "image"): "tensorflow/serving",
    ("kserve", "servingruntime", "mlserver", "image"): "docker.io/seldonio/mlserver",
    ("kserve", "servingruntime", "sklearnserver", "image"): "kserve/sklearnserver",
    ("kserve", "servingruntime", "xgbserver", "image"): "kserve/xgbserver",
    ("kserve", "servingruntime", "huggingfaceserver", "image"): "kserve/huggingfaceserver",
    ("kserve", "servingruntime", "tritonserver", "image"): "nvcr.io/nvidia/tritonserver",
    ("kserve", "servingruntime", "pmmlserver", "image"): "kserve/pmmlserver",
    ("kserve", "servingruntime", "paddleserver", "image"): "kserve/paddleserver",
    ("kserve", "servingruntime", "lgbserver", "image"): "kserve/lgbserver",
    ("kserve", "servingruntime", "torchserve", "image"): "pytorch/torchserve-kfs",
    ("kserve", "servingruntime", "art", "image"): "kserve/art-explainer",
    ("kserve", "localmodel", "controller", "image"): "kserve/kserve-localmodel-controller",
    ("kserve", "localmodel", "agent", "image"): "kserve/kserve-localmodelnode-agent",
}
RBAC_PROXY_IMAGE = "quay.io/brancz/kube-rbac-proxy:v0.18.0"
"""Chart value kserve.controller.rbacProxyImage (a full reference with tag, chart v0.16.0)."""
RUNTIME_PULL_SECRET_KEYS = ("tensorflow", "mlserver", "sklearnserver", "xgbserver", "huggingfaceserver",
                            "huggingfaceserver_multinode", "tritonserver", "pmmlserver", "paddleserver",
                            "lgbserver", "torchserve", "art")
"""``kserve.servingruntime.<runtime>.imagePullSecrets`` keys (lists of ``{name: ...}``)."""

ACCESS_KEY_ID = "AWS_ACCESS_KEY_ID"
SECRET_ACCESS_KEY = "AWS_SECRET_ACCESS_KEY"
"""Data keys of KServe's S3 Secret (chart keys kserve.storage.s3.accessKeyIdName / secretAccessKeyName defaults)."""
S3_ANNOTATION = "serving.kserve.io/s3-"
"""Prefix of the S3 annotations KServe's storage initializer reads from a credentials Secret."""


@dataclass(frozen=True)
class ModelStorageRef:
    """Where InferenceServices read models from: the platform S3 store and a credentials Secret.

    Attach ``secret_name`` to an InferenceService's ServiceAccount (``secrets:``) in
    ``secret_namespace``; other namespaces (user profiles) need a copy with the same data
    keys and annotations (:meth:`secret_annotations`).

    Attributes:
        endpoint: the object store's S3 endpoint (bucket, keys as Terraform references).
        secret_name, secret_namespace: KServe-format copy of the credentials.
        ready: the Secret exists once these are applied.
    """

    endpoint: S3Endpoint
    secret_name: str
    secret_namespace: str
    ready: Sequence[ITerraformDependable]

    def secret_annotations(self) -> dict[str, str]:
        """KServe's ``serving.kserve.io/s3-*`` annotations for this endpoint."""
        return _s3_annotations(self.endpoint)


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _s3_annotations(endpoint: S3Endpoint) -> dict[str, str]:
    return {
        f"{S3_ANNOTATION}endpoint": f"{endpoint.host}:{endpoint.port}",
        f"{S3_ANNOTATION}usehttps": _flag(endpoint.secure),
        f"{S3_ANNOTATION}verifyssl": _flag(endpoint.secure),
        f"{S3_ANNOTATION}region": endpoint.region,
    }


def _values(settings: KServeSettings, cluster: ClusterHandle, *, ingress: GatewayRef, local: GatewayRef,
            storage: S3Endpoint | None) -> dict[str, Any]:
    """Chart values for kserve (keys from chart v0.16.0 ``kserve-resources/values.yaml``)."""
    values: dict[str, Any] = {"kserve": {"controller": {
        "deploymentMode": settings.mode.chart_value,
        "gateway": {
            "domain": settings.ingress_domain,
            "ingressGateway": {"gateway": ingress.gateway, "className": "istio"},
            "localGateway": {"gateway": local.gateway, "gatewayService": local.service_host},
        },
    }}}
    if storage is not None:
        values["kserve"]["storage"] = {"s3": {
            "endpoint": f"{storage.host}:{storage.port}",  # host:port, no scheme (KServe's s3Endpoint)
            "useHttps": _flag(storage.secure),
            "verifySSL": _flag(storage.secure),
            "region": storage.region,
            "useVirtualBucket": "false",  # path-style: SeaweedFS, MinIO and RGW inside the cluster
        }}
    mirror = cluster.mirror
    if mirror is not None:
        for path, upstream in IMAGES.items():
            values_at(values, path[:-1])[path[-1]] = mirror.rehost_image(upstream)
        values["kserve"]["controller"]["rbacProxyImage"] = mirror.rehost_image(RBAC_PROXY_IMAGE)
        if mirror.pull_secrets:
            values["kserve"]["controller"]["imagePullSecrets"] = mirror.pull_secrets
            for runtime in RUNTIME_PULL_SECRET_KEYS:
                values_at(values, ("kserve", "servingruntime", runtime))["imagePullSecrets"] = mirror.pull_secrets
            # configmap.yaml prints this value verbatim into JSON: pass the JSON list as a string.
            values["kserve"]["router"]["imagePullSecrets"] = json.dumps([mirror.pull_secret])
    return values


class KServe(Construct):
    """KServe for model serving, Standard (raw deployment) or Knative mode.

    Example::

        kserve = KServe(stack, "KServe", cluster=baseline.handle,
                        source=ChartSource(resolver, "0.16.0", KServeSettings.INSTALLS[0]),
                        settings=env.components.kserve, issuer=cert_manager.issuer,
                        ingress=istio.ingress, local_gateway=istio.cluster_local, storage=store.endpoint)
        kserve.model_storage   # ModelStorageRef (S3 endpoint + KServe-format Secret)

    Args:
        issuer: cert-manager's issuer; KServe installs once it is ready (its chart issues its
            webhook certificate through cert-manager).
        ingress: Istio's ingress gateway (``kubeflow/kubeflow-gateway``).
        local_gateway: the in-cluster gateway; in Knative mode pass ``Knative.local_gateway``
            (ready after Knative Serving), else Istio's ``cluster_local``.
        storage: the object store's S3 endpoint, or None (no model storage defaults).
        depends_on: further resources to install after (e.g. the data services).

    Attributes:
        namespace: where the controller runs.
        crds, release: the kserve-crd and kserve releases (``release.resource`` is the main one).
        s3_credentials: the KServe-format S3 Secret (None without ``storage``).
        model_storage: :class:`ModelStorageRef` (None without ``storage``).
        ready: InferenceServices can be created once these are applied.

    Raises:
        SourceError: a chart is not pinned or not vendored.
    """

    def __init__(self, scope: Construct, id_: str, *, cluster: ClusterHandle, source: ChartSource,
                 settings: KServeSettings, issuer: IssuerRef, ingress: GatewayRef, local_gateway: GatewayRef,
                 storage: S3Endpoint | None = None, depends_on: Sequence[ITerraformDependable] = ()) -> None:
        super().__init__(scope, id_)
        self.namespace = component_namespace(self, cluster, settings.namespace, PodSecurityLevel.baseline)
        timeout = settings.install_timeout_s
        after = [*issuer.ready, *ingress.ready, *local_gateway.ready, *depends_on]
        self.s3_credentials: SecretV1 | None = None
        self.model_storage: ModelStorageRef | None = None
        if storage is not None:
            self.s3_credentials = SecretV1(
                self, "S3Credentials",
                provider=cluster.kubernetes,
                metadata=SecretV1Metadata(name=settings.s3_secret, namespace=self.namespace.name,
                                          labels=dict(MANAGED_BY), annotations=_s3_annotations(storage)),
                type="Opaque",
                # Terraform references to the store's random_password results: never literals.
                data={ACCESS_KEY_ID: storage.access_key, SECRET_ACCESS_KEY: storage.secret_key},
                depends_on=[*self.namespace.ready, *storage.ready],
            )
            self.model_storage = ModelStorageRef(endpoint=storage, secret_name=settings.s3_secret,
                                                 secret_namespace=settings.namespace, ready=(self.s3_credentials,))
            after = [*after, *storage.ready, self.s3_credentials]
        self.crds = HelmChart(self, "Crds", cluster=cluster, chart=source.chart("kserve-crd"), release_name="kserve-crd",
                              namespace=self.namespace, values={}, timeout_s=timeout,
                              depends_on=unique([*issuer.ready, *depends_on]))
        self.release = HelmChart(
            self, "Release", cluster=cluster, chart=source.chart("kserve"), release_name="kserve",
            namespace=self.namespace,
            values=_values(settings, cluster, ingress=ingress, local=local_gateway, storage=storage),
            timeout_s=timeout, depends_on=unique([self.crds.resource, *after]))
        self.resource = self.release.resource
        self.ready = (self.release.resource,)
