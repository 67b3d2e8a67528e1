"""Node pools → kwok Node objects and kind configs (no cluster needed)."""

import pytest
import yaml

from kfstack.cluster import kind
from kfstack.cluster.nodes import node_manifests
from kfstack.cluster.pki import Pki


def test_one_node_per_pool_node_with_gpu_labels_capacity_and_taints(real_envs):
    nodes = node_manifests(real_envs["prod"].node_pools)
    assert len(nodes) == 3 + 3 + 4
    gpu = [n for n in nodes if n["metadata"]["labels"]["kfstack.io/node-pool"] == "gpu-a100"]
    assert [n["metadata"]["name"] for n in gpu] == ["gpu-a100-0", "gpu-a100-1", "gpu-a100-2", "gpu-a100-3"]
    labels = gpu[0]["metadata"]["labels"]
    assert labels["nvidia.com/gpu.product"] == "NVIDIA-A100-SXM4-80GB"
    assert labels["nvidia.com/gpu.count"] == "8"
    assert gpu[0]["status"]["capacity"]["nvidia.com/gpu"] == "8"
    assert gpu[0]["spec"]["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
    assert gpu[0]["metadata"]["annotations"] == {"kwok.x-k8s.io/node": "fake"}
    cpu = next(n for n in nodes if n["metadata"]["labels"]["kfstack.io/node-pool"] == "system")
    assert "nvidia.com/gpu" not in cpu["status"]["capacity"] and cpu["spec"]["taints"] == []
    assert "nvidia.com/gpu.product" not in cpu["metadata"]["labels"]


def test_kind_config_workers_labels_and_taint_patches(real_envs):
    cfg = kind.kind_config(real_envs["prod"].node_pools)
    assert cfg["apiVersion"] == "kind.x-k8s.io/v1alpha4" and cfg["kind"] == "Cluster"
    roles = [n["role"] for n in cfg["nodes"]]
    assert roles.count("control-plane") == 1 and roles.count("worker") == 10
    gpu = [n for n in cfg["nodes"] if n.get("labels", {}).get("kfstack.io/node-pool") == "gpu-a100"]
    assert len(gpu) == 4
    assert gpu[0]["labels"]["nvidia.com/gpu.product"] == "NVIDIA-A100-SXM4-80GB"
    (patch,) = gpu[0]["kubeadmConfigPatches"]
    join = yaml.safe_load(patch)
    assert join["kind"] == "JoinConfiguration"
    assert join["nodeRegistration"]["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
    assert all(not k.startswith("kubernetes.io/") for n in cfg["nodes"] for k in n.get("labels", {}))


def test_kind_create_needs_docker_engine(tmp_path, monkeypatch):
    from kfstack.cluster.local import ClusterError

    monkeypatch.setattr(kind.shutil, "which", lambda cmd: None)
    ok, reason = kind.docker_available()
    assert not ok and reason == "the docker command is not installed"
    with pytest.raises(ClusterError, match="needs a Docker engine: the docker command is not installed"):
        kind.create(str(tmp_path / "kind.yaml"))


def test_pki_writes_private_keys_0600(tmp_path):
    pki = Pki(tmp_path / "pki")
    pki.create(days=1)
    assert pki.exists()
    assert (pki.path("ca.key").stat().st_mode & 0o777) == 0o600
    assert (pki.path("sa.key").stat().st_mode & 0o777) == 0o600
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(pki.path("admin.crt").read_bytes())
    assert "O=system:masters" in cert.subject.rfc4514_string()


def test_time_sliced_pool_nodes_advertise_replicas_and_shared_product(real_envs):
    pools = [p for p in real_envs["staging"].node_pools if p.gpu and p.gpu.sharing.value == "time-slicing"]
    assert pools, "staging is expected to demo a time-sliced pool"
    pool = pools[0]
    node = next(n for n in node_manifests([pool]))
    labels = node["metadata"]["labels"]
    assert labels["nvidia.com/gpu.product"].endswith("-SHARED")
    assert labels["nvidia.com/device-plugin.config"] == pool.name
    assert node["status"]["capacity"]["nvidia.com/gpu"] == str(pool.gpu.per_node * pool.gpu.time_slicing_replicas)
    assert labels["nvidia.com/gpu.product"] == pool.node_selector["nvidia.com/gpu.product"]
