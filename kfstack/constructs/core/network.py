"""Ingress NetworkPolicies (``networking.k8s.io/v1``, built in: provider resources, not custom resources).

A data service isolates its namespace with :class:`IngressPolicies`: one policy denying all
ingress to the selected pods, then one policy per :class:`Allow` rule (who, on which pod
ports). Policies only add: a pod selected by any policy accepts exactly the union of their
rules. Peers are namespaces by name (the ``kubernetes.io/metadata.name`` label Kubernetes
sets on every namespace), namespaces by label (Kubeflow's profile namespaces), or the
protected namespace's own pods. Ports are the pods' ports (after a Service's translation).

Example::

    IngressPolicies(self, "NetworkPolicies", cluster=cluster, namespace=ns, allow=(
        Allow("same-namespace", same_namespace=True),
        Allow("clients", namespaces=("kubeflow",), ports=(3306, (6446, 6450))),
    ))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence, Union

from kfstack.cdk import (
    Construct, NetworkPolicyV1, NetworkPolicyV1Metadata, NetworkPolicyV1Spec, NetworkPolicyV1SpecIngress,
    NetworkPolicyV1SpecIngressFrom, NetworkPolicyV1SpecIngressFromNamespaceSelector,
    NetworkPolicyV1SpecIngressFromNamespaceSelectorMatchExpressions,
    NetworkPolicyV1SpecIngressFromPodSelector, NetworkPolicyV1SpecIngressPorts,
    NetworkPolicyV1SpecPodSelector,
)

from kfstack.constructs.core.namespace import MANAGED_BY
from kfstack.constructs.core.refs import ClusterHandle, NamespaceRef

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
"""Label the API server sets on every namespace to its name (Kubernetes >= 1.22)."""
PROFILE_NAMESPACE_LABELS = {"app.kubernetes.io/part-of": "kubeflow-profile"}
"""Labels the Kubeflow profile controller (1.10) puts on every user (profile) namespace."""
DENY_POLICY = "kfstack-default-deny-ingress"

Port = Union[int, tuple[int, int]]
"""A pod port, or an inclusive range (port, end_port)."""


@dataclass(frozen=True)
class Allow:
    """One ingress rule.

    Attributes:
        name: policy name suffix (``kfstack-allow-<name>``).
        namespaces: namespaces (by name) whose pods may connect.
        namespace_labels: namespaces carrying all these labels may connect (e.g. profiles).
        same_namespace: the protected namespace's own pods may connect.
        ports: pod ports (or ranges) allowed; empty = every port.
        pods: which pods of the namespace the rule protects (labels); None = the whole selection.
    """

    name: str
    namespaces: tuple[str, ...] = ()
    namespace_labels: dict[str, str] = field(default_factory=dict)
    same_namespace: bool = False
    ports: tuple[Port, ...] = ()
    pods: dict[str, str] | None = None

    @property
    def policy_name(self) -> str:
        return f"kfstack-allow-{self.name}"


def _selector(labels: dict[str, str] | None) -> NetworkPolicyV1SpecPodSelector:
    return NetworkPolicyV1SpecPodSelector(match_labels=dict(sorted(labels.items()))) if labels \
        else NetworkPolicyV1SpecPodSelector()


class IngressPolicies(Construct):
    """Default-deny ingress for ``pods`` (all pods of ``namespace`` when None) plus the ``allow`` rules.

    Attributes:
        deny: the deny-all policy; allowed: the rule policies by :attr:`Allow.name`.
    """

    def __init__(self, scope: Construct, id_: str, *, cluster: ClusterHandle, namespace: NamespaceRef,
                 allow: Sequence[Allow], pods: dict[str, str] | None = None) -> None:
        super().__init__(scope, id_)

        def policy(id_: str, name: str, selector: dict[str, str] | None,
                   ingress: list[NetworkPolicyV1SpecIngress] | None) -> NetworkPolicyV1:
            return NetworkPolicyV1(
                self, id_, provider=cluster.kubernetes,
                metadata=NetworkPolicyV1Metadata(name=name, namespace=namespace.name, labels=dict(MANAGED_BY)),
                spec=NetworkPolicyV1Spec(pod_selector=_selector(selector), policy_types=["Ingress"],
                                         ingress=ingress),
                depends_on=list(namespace.ready))

        self.deny = policy("DenyIngress", DENY_POLICY, pods, None)
        self.allowed: dict[str, NetworkPolicyV1] = {}
        for rule in allow:
            peers: list[NetworkPolicyV1SpecIngressFrom] = []
            if rule.same_namespace:
                peers.append(NetworkPolicyV1SpecIngressFrom(pod_selector=NetworkPolicyV1SpecIngressFromPodSelector()))
            if rule.namespaces:
                peers.append(NetworkPolicyV1SpecIngressFrom(
                    namespace_selector=NetworkPolicyV1SpecIngressFromNamespaceSelector(match_expressions=[
                        NetworkPolicyV1SpecIngressFromNamespaceSelectorMatchExpressions(
                            key=NAMESPACE_NAME_LABEL, operator="In", values=sorted(set(rule.namespaces)))])))
            if rule.namespace_labels:
                peers.append(NetworkPolicyV1SpecIngressFrom(
                    namespace_selector=NetworkPolicyV1SpecIngressFromNamespaceSelector(
                        match_labels=dict(sorted(rule.namespace_labels.items())))))
            if not peers:
                continue  # nobody to allow: the deny policy stands
            ports = [NetworkPolicyV1SpecIngressPorts(port=str(p[0]), end_port=p[1], protocol="TCP")
                     if isinstance(p, tuple) else NetworkPolicyV1SpecIngressPorts(port=str(p), protocol="TCP")
                     for p in rule.ports] or None
            # Construct id from the rule's name (stable words chosen by the component, not user data).
            self.allowed[rule.name] = policy(
                "Allow" + "".join(w.capitalize() for w in rule.name.split("-")), rule.policy_name,
                rule.pods if rule.pods is not None else pods,
                [NetworkPolicyV1SpecIngress(from_=peers, ports=ports)])
