"""Knative Serving through the Knative Operator: the operator chart, then one KnativeServing resource.

Upstream publishes no Helm chart for Knative Serving, only the operator's:
``knative-operator`` v1.21.0 (https://knative.github.io/operator; values
keys used: ``knative_operator.knative_operator.image`` / ``.tag`` and
``knative_operator.operator_webhook.image`` / ``.tag``, for a registry mirror).
The operator's chart brings the ``KnativeServing`` CRD; the resource itself
goes through this project's ``raw-manifests`` chart after the operator release
(never a ``kubernetes_manifest``: the CRD does not exist at plan time).

``KnativeServing`` (``operator.knative.dev/v1beta1``, knative/operator
knative-v1.21.0 ``pkg/apis/operator``) fields used, mirroring what
kubeflow/manifests 26.03 ``common/knative/knative-serving`` patches into
upstream's YAML:

- ``spec.version``: the Knative Serving version (release.versions.knative).
- ``spec.ingress.istio.enabled``: net-istio is the network layer.
- ``spec.ingress.istio.knative-local-gateway.selector`` and ``spec.services``
  (``knative-local-gateway`` Service selector): in-cluster traffic goes to
  Istio's cluster-local gateway pods (Kubeflow's ``overlays/gateways``).
- ``spec.config.istio``: ``gateway.kubeflow.kubeflow-gateway`` → the ingress
  gateway Service (Kubeflow's ``config-istio`` patch; Kubeflow's gateway
  replaces ``knative-ingress-gateway``).
- ``spec.config.deployment.progress-deadline`` and ``spec.config.domain``.
- ``spec.high-availability.replicas``; with a mirror ``spec.registry.default``,
  ``spec.registry.override`` (net-istio's two images) and ``spec.registry.imagePullSecrets``.

Helm does not wait for a custom resource to become ready: the release is done
when the operator accepted the KnativeServing; Knative Serving then rolls out
in the background (KServe's install does not need it, InferenceServices do).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

from kfstack.cdk import Construct, ITerraformDependable

from kfstack.constructs.core import ClusterHandle, HelmChart, Namespace
from kfstack.constructs.core.namespace import MANAGED_BY
from kfstack.constructs.core.refs import GatewayRef
from kfstack.constructs.knative.settings import KnativeSettings
from kfstack.model import PodSecurityLevel
from kfstack.sources.charts import ChartSource
from kfstack.versions import bare

OPERATOR_IMAGE = "gcr.io/knative-releases/knative.dev/operator/cmd/operator"
"""Chart value knative_operator.knative_operator.image (chart v1.21.0)."""
WEBHOOK_IMAGE = "gcr.io/knative-releases/knative.dev/operator/cmd/webhook"
"""Chart value knative_operator.operator_webhook.image (chart v1.21.0)."""
SERVING_IMAGES = "gcr.io/knative-releases/knative.dev/serving/cmd"
"""Where Knative Serving's images live upstream (``<path>/<name>@sha256:...``)."""
NET_ISTIO_IMAGES = "gcr.io/knative-releases/knative.dev/net-istio/cmd"
"""Where net-istio's images live upstream."""


def _operator_values(cluster: ClusterHandle, version: str) -> dict[str, Any]:
    """Chart values for knative-operator v1.21.0: only image locations change (for a mirror)."""
    if cluster.mirror is None:
        return {}
    tag = f"v{version.lstrip('v')}"
    return {"knative_operator": {
        "knative_operator": {"image": cluster.mirror.rehost(OPERATOR_IMAGE), "tag": tag},
        "operator_webhook": {"image": cluster.mirror.rehost(WEBHOOK_IMAGE), "tag": tag},
    }}


def knative_serving(settings: KnativeSettings, cluster: ClusterHandle, version: str, *,
                    ingress: GatewayRef, local: GatewayRef, domain: str) -> dict[str, Any]:
    """The KnativeServing resource (operator.knative.dev/v1beta1).

    Args:
        version: Knative Serving version, e.g. ``1.21.0``.
        ingress: Istio's ingress gateway (Kubeflow's ``kubeflow-gateway``).
        local: Istio's cluster-local gateway (its pods' selector).
        domain: the domain of Knative routes (KServe's ingress domain).
    """
    ingress_key = f"gateway.{ingress.namespace}.{ingress.name}"
    spec: dict[str, Any] = {
        "version": bare(version),
        "high-availability": {"replicas": settings.high_availability_replicas},
        "ingress": {"istio": {"enabled": True, "knative-local-gateway": {"selector": dict(local.selector)}}},
        "services": [{"name": "knative-local-gateway", "selector": dict(local.selector)}],
        "config": {
            "istio": {ingress_key: ingress.service_host},
            "deployment": {"progress-deadline": f"{settings.progress_deadline_s}s"},
            "domain": {domain: ""},
        },
    }
    if cluster.mirror is not None:
        tag = f"v{version.lstrip('v')}"
        net_istio = cluster.mirror.rehost(NET_ISTIO_IMAGES)
        spec["registry"] = {
            "default": f"{cluster.mirror.rehost(SERVING_IMAGES)}/${{NAME}}:{tag}",
            "override": {
                "net-istio-controller/controller": f"{net_istio}/controller:{tag}",
                "net-istio-webhook/webhook": f"{net_istio}/webhook:{tag}",
            },
        }
        if cluster.mirror.pull_secrets:
            spec["registry"]["imagePullSecrets"] = cluster.mirror.pull_secrets
    return {
        "apiVersion": "operator.knative.dev/v1beta1",
        "kind": "KnativeServing",
        "metadata": {"name": "knative-serving", "namespace": settings.namespace,
                     "labels": dict(MANAGED_BY)},
        "spec": spec,
    }


class Knative(Construct):
    """Knative Serving for KServe's Knative mode, networked through Istio.

    Example::

        knative = Knative(stack, "Knative", cluster=baseline.handle,
                          source=ChartSource(resolver, "1.21.0", KnativeSettings.INSTALLS[0]),
                          settings=env.components.kserve.knative, ingress=istio.ingress,
                          local=istio.cluster_local, domain="example.com")
        knative.local_gateway   # GatewayRef knative-serving/knative-local-gateway, ready after KnativeServing

    Args:
        source: charts at the Knative version (``knative-operator`` pin; raw-manifests).
        ingress, local: Istio's gateways (typed outputs of the Istio construct).
        domain: domain of Knative routes.
        timeout_s: seconds Helm waits per release (KServe's install_timeout_s). Default 600.
        depends_on: what must exist first (e.g. cert-manager's issuer).

    Attributes:
        operator: the knative-operator release; serving: the KnativeServing release.
        local_gateway: ``local`` as routed by Knative (ready after the KnativeServing).
        ready: resources consumers depend on.

    Raises:
        SourceError: the chart is not pinned or not vendored.
    """

    def __init__(self, scope: Construct, id_: str, *, cluster: ClusterHandle, source: ChartSource,
                 settings: KnativeSettings, ingress: GatewayRef, local: GatewayRef, domain: str,
                 timeout_s: int = 600, depends_on: Sequence[ITerraformDependable] = ()) -> None:
        super().__init__(scope, id_)
        self.operator_namespace = Namespace(
            self, "OperatorNamespace", cluster_provider=cluster.kubernetes, name=settings.operator_namespace,
            pod_security=PodSecurityLevel.restricted, depends_on=cluster.ready)
        # Kubeflow: knative-serving is PSA restricted with Istio sidecars (needs istio-cni).
        self.serving_namespace = Namespace(
            self, "ServingNamespace", cluster_provider=cluster.kubernetes, name=settings.namespace,
            pod_security=PodSecurityLevel.restricted, labels={"istio-injection": "enabled"},
            depends_on=cluster.ready)
        timeout = timeout_s
        self.operator = HelmChart(
            self, "Operator", cluster=cluster, chart=source.chart("knative-operator"), release_name="knative-operator",
            namespace=self.operator_namespace.ref, values=_operator_values(cluster, source.app_version),
            timeout_s=timeout, depends_on=list(depends_on))
        self.serving = HelmChart(
            self, "Serving", cluster=cluster, chart=source.project_chart("raw-manifests"),
            release_name="knative-serving", namespace=self.serving_namespace.ref,
            values={"manifests": [knative_serving(settings, cluster, source.app_version, ingress=ingress,
                                                  local=local, domain=domain)]},
            timeout_s=timeout, depends_on=[self.operator.resource, *ingress.ready, *local.ready])
        self.local_gateway = replace(local, ready=(self.serving.resource,))
        self.ready = (self.serving.resource,)
