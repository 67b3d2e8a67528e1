"""Small wiring helpers: shared-or-own namespaces, de-duplicated ``depends_on`` lists."""

from __future__ import annotations

from typing import Sequence

from kfstack.cdk import Construct, ITerraformDependable

from kfstack.constructs.core.namespace import Namespace
from kfstack.constructs.core.refs import ClusterHandle, NamespaceRef
from kfstack.model import PodSecurityLevel


def unique(items: Sequence[ITerraformDependable]) -> list[ITerraformDependable]:
    """``items`` without repeats (same object), in order: each dependency appears once in ``depends_on``."""
    seen: set[int] = set()
    out: list[ITerraformDependable] = []
    for item in items:
        if id(item) not in seen:
            seen.add(id(item))
            out.append(item)
    return out


def component_namespace(scope: Construct, cluster: ClusterHandle, name: str, level: PodSecurityLevel) -> NamespaceRef:
    """The baseline's shared namespace ``name`` when it is one (never created twice), else a new
    namespace at ``level`` (construct id ``Namespace`` under ``scope``)."""
    if name in cluster.shared_namespaces:
        return cluster.shared_namespaces[name]
    return Namespace.for_component(scope, cluster, name, level).ref
