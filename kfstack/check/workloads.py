"""Pod templates inside rendered objects, for every workload kind.

Kubernetes workload kinds and where their pod spec sits (the field paths of
the core API: ``Pod.spec``, ``Deployment.spec.template.spec``,
``CronJob.spec.jobTemplate.spec.template.spec``, ...).
"""

from __future__ import annotations

from typing import Any

_POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
WORKLOAD_KINDS = frozenset(_POD_SPEC_PATHS)
"""Kinds whose objects carry a pod template (the API server's PodSecurity admission evaluates them)."""


def pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The pod spec of a workload object, or None for other kinds."""
    path = _POD_SPEC_PATHS.get(str(obj.get("kind", "")))
    if path is None:
        return None
    node: Any = obj
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def object_id(obj: dict[str, Any], default_namespace: str = "") -> str:
    """``Kind/namespace/name`` (``Kind/name`` when cluster-scoped and no namespace is known)."""
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace") or default_namespace
    return "/".join(p for p in (str(obj.get("kind", "")), ns, str(meta.get("name", ""))) if p)
