"""Typed outputs passed between components (pass objects, not names).

Each ref carries ``ready``: the Terraform resources a consumer must put in
``depends_on`` before using it. That makes the install order explicit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from cdktf import ITerraformDependable, TerraformProvider


@dataclass(frozen=True)
class NamespaceRef:
    """A namespace that exists once ``ready`` is applied. ``name`` may be a token."""

    name: str
    ready: Sequence[ITerraformDependable]


@dataclass(frozen=True)
class IssuerRef:
    """A cert-manager issuer (``kind`` Issuer or ClusterIssuer) usable once ``ready`` is applied."""

    kind: str
    name: str
    ready: Sequence[ITerraformDependable]


@dataclass(frozen=True)
class GpuPoolRef:
    """How workloads target one GPU node pool.

    ``node_selector`` uses the GPU Operator's ``nvidia.com/gpu.product`` label
    plus ``kfstack.io/node-pool``; ``tolerations`` match the pool's taints
    (Kubernetes JSON shape: key, operator, value, effect).
    """

    name: str
    product: str
    gpus_per_node: int
    sharing: str
    node_selector: dict[str, str]
    tolerations: tuple[dict[str, str], ...]


@dataclass(frozen=True)
class ImageMirror:
    """An internal registry that mirrors upstream images path for path.

    Convention: ``quay.io/jetstack/cert-manager-controller`` is mirrored as
    ``<host>/jetstack/cert-manager-controller`` (upstream host dropped, path kept).
    """

    host: str
    pull_secret: str | None = None

    def prefix(self, upstream_path: str) -> str:
        """Mirror location of an upstream repository path, e.g. ``istio`` → ``registry.internal/istio``."""
        return f"{self.host}/{upstream_path.strip('/')}"

    @property
    def pull_secrets(self) -> list[dict[str, str]]:
        """``imagePullSecrets`` list in Kubernetes shape (empty when no secret)."""
        return [{"name": self.pull_secret}] if self.pull_secret else []


@dataclass(frozen=True)
class ClusterHandle:
    """Everything a component needs to install into the cluster.

    Attributes:
        kubernetes: the kubernetes provider of this stack.
        helm: the helm provider of this stack.
        ready: baseline resources every component depends on.
        priority_classes: PriorityClass name per role (platform, serving, training).
        gpu_pools: GPU node pools, in environment order.
        storage_class: StorageClass for data services' PVCs.
        mirror: internal image registry, or None for upstream registries.
        shared_namespaces: namespaces created by the baseline, by name.
    """

    kubernetes: TerraformProvider
    helm: TerraformProvider
    ready: Sequence[ITerraformDependable]
    priority_classes: dict[str, str]
    gpu_pools: tuple[GpuPoolRef, ...]
    storage_class: str
    mirror: ImageMirror | None = None
    shared_namespaces: dict[str, NamespaceRef] = field(default_factory=dict)
