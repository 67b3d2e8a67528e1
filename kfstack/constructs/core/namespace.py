"""A namespace with Pod Security Admission labels."""

from __future__ import annotations

from typing import Mapping, Sequence

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_kubernetes.namespace_v1 import NamespaceV1, NamespaceV1Metadata
from constructs import Construct

from kfstack.constructs.core.refs import ClusterHandle, NamespaceRef
from kfstack.model import PodSecurityLevel

PSA_PREFIX = "pod-security.kubernetes.io"
MANAGED_BY = {"app.kubernetes.io/managed-by": "kfstack"}


def psa_labels(level: PodSecurityLevel) -> dict[str, str]:
    """Pod Security Admission labels that enforce, audit and warn at ``level`` (latest policy version)."""
    return {f"{PSA_PREFIX}/{mode}": level.value for mode in ("enforce", "audit", "warn")}


class Namespace(Construct):
    """``kubernetes_namespace_v1`` labelled for Pod Security Admission and kfstack.

    Attributes:
        resource: the namespace resource (construct id ``Resource``).
        ref: a :class:`NamespaceRef` for consumers.
    """

    def __init__(self, scope: Construct, id_: str, *, cluster_provider, name: str,
                 pod_security: PodSecurityLevel, labels: Mapping[str, str] | None = None,
                 depends_on: Sequence[ITerraformDependable] = ()) -> None:
        super().__init__(scope, id_)
        all_labels = {**MANAGED_BY, **psa_labels(pod_security), **dict(labels or {})}
        self.resource = NamespaceV1(
            self, "Resource",
            provider=cluster_provider,
            metadata=NamespaceV1Metadata(name=name, labels=dict(sorted(all_labels.items()))),
            depends_on=list(depends_on) or None,
        )
        self.ref = NamespaceRef(name=self.resource.metadata.name, ready=(self.resource,))

    @classmethod
    def for_component(cls, scope: Construct, cluster: ClusterHandle, name: str,
                      pod_security: PodSecurityLevel, labels: Mapping[str, str] | None = None) -> "Namespace":
        """The namespace of one component, created after the cluster baseline (id ``Namespace``)."""
        return cls(scope, "Namespace", cluster_provider=cluster.kubernetes, name=name,
                   pod_security=pod_security, labels=labels, depends_on=cluster.ready)
