"""Node pools → kwok-managed Node objects (what a real cluster's nodes would look like).

Each node carries ``NodePool.node_labels`` (``kfstack.io/node-pool``, the
pool's labels, the GPU Operator config selectors) and the pool's taints; GPU
nodes also carry what GPU Feature Discovery and the device plugin would write
on a real node: ``GpuSpec.discovered_labels`` (``nvidia.com/gpu.product``,
``nvidia.com/gpu.count``, ...) and ``GpuSpec.allocatable`` as capacity
(``nvidia.com/gpu``, or ``nvidia.com/mig-<profile>``).
"""

from __future__ import annotations

from typing import Any, Iterable

from kfstack.constructs.cluster_baseline.node_pools import NodePool

KWOK_ANNOTATION = {"kwok.x-k8s.io/node": "fake"}
"""Annotation kwok selects (``--manage-nodes-with-annotation-selector``)."""

DEFAULT_CAPACITY = {"cpu": "32", "memory": "256Gi", "pods": "110", "ephemeral-storage": "500Gi"}
"""Capacity of a simulated node (cores, bytes in Kubernetes quantity notation, pod slots)."""


def node_name(pool: NodePool, index: int) -> str:
    """``<pool>-<index>``, e.g. ``gpu-a100-0``."""
    return f"{pool.name}-{index}"


def node_labels(pool: NodePool, name: str) -> dict[str, str]:
    """Labels of one node of ``pool`` (pool labels, pool name, hostname, GPU labels)."""
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "type": "kwok",
        **pool.node_labels,
    }
    if pool.gpu is not None:
        labels.update(pool.gpu.discovered_labels)
    return dict(sorted(labels.items()))


def node_manifests(pools: Iterable[NodePool]) -> list[dict[str, Any]]:
    """One Node object per node of every pool, in pool order (Kubernetes JSON shape)."""
    out: list[dict[str, Any]] = []
    for pool in pools:
        capacity = dict(DEFAULT_CAPACITY)
        if pool.gpu is not None:
            capacity.update({k: str(v) for k, v in pool.gpu.allocatable.items()})
        for i in range(pool.count):
            name = node_name(pool, i)
            out.append({
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": name, "annotations": dict(KWOK_ANNOTATION), "labels": node_labels(pool, name)},
                "spec": {"taints": [{"key": t.key, "value": t.value, "effect": t.effect.value} for t in pool.taints]},
                "status": {"capacity": capacity, "allocatable": capacity,
                           "nodeInfo": {"kubeletVersion": "fake", "architecture": "amd64", "operatingSystem": "linux"}},
            })
    return out
