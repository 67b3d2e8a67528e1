"""A namespace with Pod Security Admission labels (and the registry's pull secret, when one is set)."""

from __future__ import annotations

from typing import Mapping, Sequence

from kfstack.cdk import (
    Construct, DefaultServiceAccountV1, DefaultServiceAccountV1ImagePullSecret,
    DefaultServiceAccountV1Metadata, ITerraformDependable, NamespaceV1, NamespaceV1Metadata, SecretV1,
    SecretV1Metadata,
)

from kfstack.constructs.core.refs import ClusterHandle, ImageMirror, NamespaceRef
from kfstack.model import PodSecurityLevel

PSA_PREFIX = "pod-security.kubernetes.io"
MANAGED_BY = {"app.kubernetes.io/managed-by": "kfstack"}
"""The label on every object kfstack creates itself (not on what charts create); the one definition."""


def psa_labels(level: PodSecurityLevel) -> dict[str, str]:
    """Pod Security Admission labels that enforce, audit and warn at ``level`` (latest policy version)."""
    return {f"{PSA_PREFIX}/{mode}": level.value for mode in ("enforce", "audit", "warn")}


class Namespace(Construct):
    """``kubernetes_namespace_v1`` labelled for Pod Security Admission and kfstack.

    With a registry ``mirror`` that names a pull secret, the namespace also gets that Secret
    (``kubernetes.io/dockerconfigjson``, construct id ``PullSecret``) from the site's
    dockerconfigjson (:attr:`ImageMirror.dockerconfigjson`, a sensitive Terraform variable read
    at plan/apply time, never a value in the JSON). ``ref.ready`` includes it, so every release
    installed into the namespace starts after the Secret exists, and charts that ``lookup`` it
    at install time (mysql-innodbcluster) find it. The namespace's ``default`` ServiceAccount
    names it (construct id ``DefaultServiceAccount``), so pods without a ServiceAccount of their
    own (Pipelines' metadata-envoy and profile controller, oauth2-proxy) pull with it too; the
    generated kustomize charts add it to their own ServiceAccounts (``kfstack.imagePullSecrets``).

    Attributes:
        resource: the namespace resource (construct id ``Resource``).
        pull_secret: the pull Secret, or None.
        default_service_account: the adopted ``default`` ServiceAccount naming it, or None.
        ref: a :class:`NamespaceRef` for consumers.
    """

    def __init__(self, scope: Construct, id_: str, *, cluster_provider, name: str,
                 pod_security: PodSecurityLevel, labels: Mapping[str, str] | None = None,
                 depends_on: Sequence[ITerraformDependable] = (), mirror: ImageMirror | None = None) -> None:
        super().__init__(scope, id_)
        all_labels = {**MANAGED_BY, **psa_labels(pod_security), **dict(labels or {})}
        self.resource = NamespaceV1(
            self, "Resource",
            provider=cluster_provider,
            metadata=NamespaceV1Metadata(name=name, labels=dict(sorted(all_labels.items()))),
            depends_on=list(depends_on) or None,
        )
        self.pull_secret: SecretV1 | None = None
        if mirror is not None and mirror.pull_secret and mirror.dockerconfigjson:
            self.pull_secret = SecretV1(
                self, "PullSecret",
                provider=cluster_provider,
                metadata=SecretV1Metadata(name=mirror.pull_secret, namespace=self.resource.metadata.name,
                                          labels=dict(MANAGED_BY)),
                type="kubernetes.io/dockerconfigjson",
                data={".dockerconfigjson": mirror.dockerconfigjson},
            )
        self.default_service_account: DefaultServiceAccountV1 | None = None
        ready: tuple[ITerraformDependable, ...] = (self.resource,)
        if self.pull_secret is not None:
            self.default_service_account = DefaultServiceAccountV1(
                self, "DefaultServiceAccount",
                provider=cluster_provider,
                metadata=DefaultServiceAccountV1Metadata(namespace=self.resource.metadata.name),
                image_pull_secret=[DefaultServiceAccountV1ImagePullSecret(name=mirror.pull_secret)],
                depends_on=[self.pull_secret],
            )
            ready = (self.resource, self.pull_secret, self.default_service_account)
        self.ref = NamespaceRef(name=self.resource.metadata.name, ready=ready)

    @classmethod
    def for_component(cls, scope: Construct, cluster: ClusterHandle, name: str,
                      pod_security: PodSecurityLevel, labels: Mapping[str, str] | None = None) -> "Namespace":
        """The namespace of one component, created after the cluster baseline (id ``Namespace``)."""
        return cls(scope, "Namespace", cluster_provider=cluster.kubernetes, name=name,
                   pod_security=pod_security, labels=labels, depends_on=cluster.ready, mirror=cluster.mirror)
