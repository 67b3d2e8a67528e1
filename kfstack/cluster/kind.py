"""kind (Kubernetes in Docker) cluster config from node pools, for users with a Docker engine.

One control-plane node plus one worker per pool node. Pool labels go to the
node's ``labels``; taints go through a kubeadm ``JoinConfiguration`` patch
(kind's documented way; ``nodeRegistration.taints``). GPU pools get the GPU
Operator's product/count labels so scheduling tests behave as on real nodes
(the containers have no GPUs: ``nvidia.com/gpu`` capacity needs the operator).
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any, Iterable

import yaml

from kfstack.cluster.local import ClusterError
from kfstack.cluster.nodes import node_labels, node_name
from kfstack.constructs.cluster_baseline.node_pools import NodePool

KIND_API = "kind.x-k8s.io/v1alpha4"


def _taint_patch(pool: NodePool) -> str:
    join = {"kind": "JoinConfiguration", "nodeRegistration": {"taints": [
        {"key": t.key, "value": t.value, "effect": t.effect.value} for t in pool.taints]}}
    return yaml.safe_dump(join, sort_keys=False)


def kind_config(pools: Iterable[NodePool], *, name: str = "kfstack", node_image: str | None = None) -> dict[str, Any]:
    """The kind Cluster config (``kind create cluster --config``) as a dict."""
    nodes: list[dict[str, Any]] = [{"role": "control-plane"}]
    for pool in pools:
        for i in range(pool.count):
            labels = {k: v for k, v in node_labels(pool, node_name(pool, i)).items()
                      if not k.startswith("kubernetes.io/") and k != "type"}
            node: dict[str, Any] = {"role": "worker", "labels": labels}
            if pool.taints:
                node["kubeadmConfigPatches"] = [_taint_patch(pool)]
            nodes.append(node)
    if node_image:
        for node in nodes:
            node["image"] = node_image
    return {"kind": "Cluster", "apiVersion": KIND_API, "name": name, "nodes": nodes}


def docker_available() -> tuple[bool, str]:
    """(True, "") when a Docker engine answers; otherwise (False, reason)."""
    if not shutil.which("docker"):
        return False, "the docker command is not installed"
    res = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True)
    if res.returncode != 0:
        return False, "no Docker engine is running (`docker info` failed: " + (res.stderr.strip().splitlines() or ["?"])[-1] + ")"
    return True, ""


def create(config_path: str, name: str = "kfstack") -> None:
    """``kind create cluster`` with the written config. Raises ClusterError without Docker or kind."""
    ok, reason = docker_available()
    if not ok:
        raise ClusterError(f"--provider kind needs a Docker engine: {reason}. The config is at {config_path}; "
                           "use the default provider (local control plane with kwok nodes) here.")
    if not shutil.which("kind"):
        raise ClusterError("the kind command is not on PATH (go install sigs.k8s.io/kind@latest)")
    subprocess.run(["kind", "create", "cluster", "--name", name, "--config", config_path], check=True)
