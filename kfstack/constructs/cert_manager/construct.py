"""cert-manager construct: the jetstack chart plus Kubeflow's self-signing ClusterIssuer.

Chart: jetstack ``cert-manager`` v1.19.4 (values.yaml keys used:
``crds.enabled``, ``crds.keep``, ``replicaCount``, ``webhook.replicaCount``,
``cainjector.replicaCount``, ``podDisruptionBudget.enabled``,
``global.priorityClassName``, ``global.imagePullSecrets``, and for a registry mirror
``image.repository``, ``webhook.image.repository``, ``cainjector.image.repository``,
``acmesolver.image.repository``, ``startupapicheck.image.repository``; the chart's
``values.schema.json`` has no root ``imageRegistry``, so the mirror goes into each repository).
The ClusterIssuer is delivered through this project's ``raw-manifests`` chart
after the cert-manager release is ready (its startupapicheck Job waits for the
webhook), never as a ``kubernetes_manifest``: the CRD does not exist at plan
time on an empty cluster.
"""

from __future__ import annotations

from typing import Any

from kfstack.cdk import Construct

from kfstack.constructs.cert_manager.settings import CertManagerSettings
from kfstack.constructs.core import ClusterHandle, HelmChart, IssuerRef, Namespace, values_at
from kfstack.constructs.core.namespace import MANAGED_BY
from kfstack.model import PodSecurityLevel
from kfstack.sources.charts import ChartSource


IMAGE_REPOSITORIES: dict[tuple[str, ...], str] = {
    ("image",): "quay.io/jetstack/cert-manager-controller",
    ("webhook", "image"): "quay.io/jetstack/cert-manager-webhook",
    ("cainjector", "image"): "quay.io/jetstack/cert-manager-cainjector",
    ("acmesolver", "image"): "quay.io/jetstack/cert-manager-acmesolver",
    ("startupapicheck", "image"): "quay.io/jetstack/cert-manager-startupapicheck",
}
"""Chart key path of each ``image`` block → its ``repository`` default (chart v1.19.4 values.yaml).
Tags stay the chart's (its appVersion)."""


def _values(settings: CertManagerSettings, cluster: ClusterHandle) -> dict[str, Any]:
    """Chart values for cert-manager (keys from chart v1.19.4 values.yaml)."""
    values: dict[str, Any] = {
        "crds": {"enabled": True, "keep": True},
        "replicaCount": settings.replicas,
        "webhook": {"replicaCount": settings.replicas},
        "cainjector": {"replicaCount": settings.replicas},
        "podDisruptionBudget": {"enabled": settings.replicas > 1},
        "global": {"priorityClassName": cluster.priority_classes["platform"]},
    }
    if cluster.mirror is not None:
        for path, upstream in IMAGE_REPOSITORIES.items():
            values_at(values, path)["repository"] = cluster.mirror.rehost(upstream)
        values["global"]["imagePullSecrets"] = cluster.mirror.pull_secrets
    return values


def _issuer(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "ClusterIssuer",
        "metadata": {"name": name, "labels": dict(MANAGED_BY)},
        "spec": {"selfSigned": {}},
    }


class CertManager(Construct):
    """cert-manager and the self-signing ClusterIssuer Kubeflow's webhooks use.

    Example::

        cm = CertManager(stack, "CertManager", cluster=baseline.handle,
                         source=ChartSource(resolver, "1.19.4", CertManagerSettings.INSTALLS[0]),
                         settings=CertManagerSettings(replicas=3))
        cm.issuer   # IssuerRef(kind="ClusterIssuer", name="kubeflow-self-signing-issuer", ready=...)

    Attributes:
        namespace: the ``cert-manager`` namespace.
        resource: the cert-manager ``helm_release``.
        issuer: the ClusterIssuer, ready after its release.

    Raises:
        SourceError: a chart is not pinned or not vendored.
    """

    def __init__(self, scope: Construct, id_: str, *, cluster: ClusterHandle, source: ChartSource,
                 settings: CertManagerSettings) -> None:
        super().__init__(scope, id_)
        self.namespace = Namespace.for_component(self, cluster, settings.namespace, PodSecurityLevel.restricted)
        chart = HelmChart(
            self, "Release", cluster=cluster, chart=source.chart("cert-manager"), release_name="cert-manager",
            namespace=self.namespace.ref, values=_values(settings, cluster), timeout_s=settings.install_timeout_s,
        )
        self.resource = chart.resource
        issuer = HelmChart(
            self, "Issuer", cluster=cluster, chart=source.project_chart("raw-manifests"),
            release_name="kubeflow-issuer", namespace=self.namespace.ref,
            values={"manifests": [_issuer(settings.issuer_name)]},
            timeout_s=settings.install_timeout_s, depends_on=[self.resource],
        )
        self.issuer = IssuerRef(kind="ClusterIssuer", name=settings.issuer_name, ready=(issuer.resource,))
