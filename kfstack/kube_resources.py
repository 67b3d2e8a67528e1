"""The kubernetes provider resource types kfstack synthesizes, and the objects they manage.

One table for every module that maps Terraform resources to Kubernetes
objects (``kfstack recover`` imports them, ``kfstack check`` creates them on a
scratch cluster before the releases that depend on them).
"""

from __future__ import annotations

RESOURCE_KINDS: dict[str, tuple[str, str]] = {
    "kubernetes_namespace_v1": ("v1", "Namespace"),
    "kubernetes_priority_class_v1": ("scheduling.k8s.io/v1", "PriorityClass"),
    "kubernetes_config_map_v1": ("v1", "ConfigMap"),
    "kubernetes_secret_v1": ("v1", "Secret"),
    "kubernetes_service_v1": ("v1", "Service"),
    "kubernetes_service_account_v1": ("v1", "ServiceAccount"),
    "kubernetes_persistent_volume_claim_v1": ("v1", "PersistentVolumeClaim"),
    "kubernetes_deployment_v1": ("apps/v1", "Deployment"),
    "kubernetes_storage_class_v1": ("storage.k8s.io/v1", "StorageClass"),
    "kubernetes_network_policy_v1": ("networking.k8s.io/v1", "NetworkPolicy"),
}
"""kubernetes provider 2.38.0 resource type → (apiVersion, kind) of the object it creates.

``kubernetes_default_service_account_v1`` is absent on purpose: it adopts the
ServiceAccount Kubernetes creates in every namespace, it never creates one.
Import ids are ``namespace/name`` (namespaced kinds) or ``name``.
"""

CLUSTER_SCOPED = frozenset({"Namespace", "PriorityClass", "StorageClass"})
"""Kinds among :data:`RESOURCE_KINDS` that have no namespace."""
