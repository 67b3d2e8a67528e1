"""GPU scheduling on the local control plane (issue 6, scenario 6): the real kube-scheduler places pods on
kwok nodes built from environments/local.yaml (2 × gpu-a100 with 8 nvidia.com/gpu each, tainted
nvidia.com/gpu=present:NoSchedule; system and storage pools without GPUs).

The 4-GPU pod and the PyTorchJob are exactly the files a platform team applies, examples/gpu/local/
(rendered by `kfstack example gpu local`; a unit test keeps them current), checked here against the `local`
stack's Training construct (GpuPoolRef of the gpu-a100 pool); the negative cases use that construct's
builders. Needs only the control plane (no deploy); the PriorityClass and the profile namespace the files
name are created here when the platform has not created them, and removed afterwards.
"""

from __future__ import annotations

import time
from collections import defaultdict

import pytest
import yaml
from kubernetes import client

from kfstack.app import PROJECT_ROOT

pytestmark = pytest.mark.e2e

EXAMPLES = PROJECT_ROOT / "examples" / "gpu" / "local"
NAMESPACE = yaml.safe_load((EXAMPLES / "gpu-pod.yaml").read_text())["metadata"]["namespace"]
LABEL = "kfstack.io/e2e"
IMAGE = "pytorch/pytorch:2.7.1-cuda12.8-cudnn9-runtime"
A100 = "NVIDIA-A100-SXM4-80GB"


@pytest.fixture(scope="module")
def a100(tmp_path_factory):
    """GpuPoolRef of the local environment's gpu-a100 pool, as the synthesized stack holds it."""
    from kfstack.app import build_app, load_all
    from kfstack.stacks import PlatformStack

    envs, lock = load_all(names=["local"])
    app = build_app(envs, lock, outdir=str(tmp_path_factory.mktemp("gpu-synth")))
    stack = next(c for c in app.node.children if isinstance(c, PlatformStack))
    return stack.training.pools["gpu-a100"]


@pytest.fixture(scope="module")
def priority_class(k8s, a100):
    """The training PriorityClass the pool fragment names (created only if the cluster lacks it)."""
    sched = client.SchedulingV1Api(k8s)
    name = a100.priority_class_name
    existing = {p.metadata.name for p in sched.list_priority_class().items}
    created = name not in existing
    if created:
        sched.create_priority_class(client.V1PriorityClass(metadata=client.V1ObjectMeta(name=name), value=1000))
    yield name
    if created:
        sched.delete_priority_class(name)


@pytest.fixture(scope="module")
def example() -> dict[str, dict]:
    """examples/gpu/local/*.yaml by file name."""
    return {name: yaml.safe_load((EXAMPLES / name).read_text()) for name in ("gpu-pod.yaml", "pytorchjob.yaml")}


@pytest.fixture(scope="module")
def namespace(k8s):
    """The profile namespace the example files name (created only if the cluster lacks it)."""
    v1 = client.CoreV1Api(k8s)
    created = NAMESPACE not in {n.metadata.name for n in v1.list_namespace().items}
    if created:
        v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE)))
    yield NAMESPACE
    if created:
        v1.delete_namespace(NAMESPACE)


@pytest.fixture
def pods(k8s, priority_class, namespace):
    """Create pods (name → PodSpec dict); every pod made here is deleted after the test."""
    from kubernetes.dynamic import DynamicClient

    v1 = client.CoreV1Api(k8s)
    pod_api = DynamicClient(k8s).resources.get(api_version="v1", kind="Pod")
    made: list[str] = []

    def create(name: str, spec: dict) -> str:
        body = {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": NAMESPACE, "labels": {LABEL: "gpu-scheduling"}},
                "spec": {"terminationGracePeriodSeconds": 0, **spec}}
        pod_api.create(body=body, namespace=NAMESPACE)  # as JSON: GPU counts stay integers, as kfstack writes them
        made.append(name)
        return name

    yield create
    for name in made:
        try:
            v1.delete_namespaced_pod(name, NAMESPACE, grace_period_seconds=0)
        except client.ApiException as exc:
            if exc.status != 404:
                raise
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and v1.list_namespaced_pod(NAMESPACE, label_selector=LABEL).items:
        time.sleep(0.25)
    assert not v1.list_namespaced_pod(NAMESPACE, label_selector=LABEL).items, "test pods were not deleted"


def _container(gpus: int = 0, resource: str = "nvidia.com/gpu") -> dict:
    c: dict = {"name": "main", "image": IMAGE}
    if gpus:
        c["resources"] = {"limits": {resource: gpus}}
    return c


def _wait_scheduled(k8s, names: list[str], timeout_s: float = 30) -> dict[str, str]:
    """name → node, once every pod is bound; fails naming the pods still unbound."""
    v1 = client.CoreV1Api(k8s)
    deadline = time.monotonic() + timeout_s
    while True:
        placed = {n: v1.read_namespaced_pod(n, NAMESPACE).spec.node_name for n in names}
        if all(placed.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert all(placed.values()), f"not scheduled within {timeout_s:.0f} s: {[n for n, v in placed.items() if not v]}"
    return placed


def _nodes(k8s) -> dict[str, client.V1Node]:
    return {n.metadata.name: n for n in client.CoreV1Api(k8s).list_node().items}


def _gpu_tainted(node: client.V1Node) -> bool:
    return any(t.key == "nvidia.com/gpu" for t in node.spec.taints or [])


def test_the_local_pool_scheduling_is_what_the_nodes_offer(k8s, a100):
    nodes = [n for n in _nodes(k8s).values() if n.metadata.labels.get("kfstack.io/node-pool") == "gpu-a100"]
    assert len(nodes) == 2
    assert a100.node_selector["nvidia.com/gpu.product"] == A100
    assert a100.gpu_resource == "nvidia.com/gpu" and a100.gpus_per_node == 8
    for node in nodes:
        assert all(node.metadata.labels.get(k) == v for k, v in a100.node_selector.items()), node.metadata.labels
        assert node.status.allocatable["nvidia.com/gpu"] == "8"
        assert _gpu_tainted(node)
    assert {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"} \
        in [dict(t) for t in a100.tolerations]


def test_a_pod_asking_for_4_gpus_schedules_onto_a_matching_gpu_node(k8s, a100, example, pods):
    pod = example["gpu-pod.yaml"]
    assert {k: pod["spec"][k] for k in a100.pod_fragment()} == a100.pod_fragment()
    assert pod["spec"]["containers"][0]["resources"]["limits"] == {a100.gpu_resource: 4}
    name = pods(pod["metadata"]["name"], pod["spec"])
    node = _nodes(k8s)[_wait_scheduled(k8s, [name])[name]]
    assert node.metadata.labels["nvidia.com/gpu.product"] == A100
    assert node.metadata.labels["kfstack.io/node-pool"] == "gpu-a100"
    # Running on the simulated node (kwok's pod stage), not just bound.
    deadline = time.monotonic() + 15
    while client.CoreV1Api(k8s).read_namespaced_pod(name, NAMESPACE).status.phase != "Running":
        assert time.monotonic() < deadline, "bound pod never became Running"
        time.sleep(0.25)


def test_a_pytorchjob_group_lands_only_on_gpu_nodes_within_capacity(k8s, a100, example, pods):
    # kwok runs no Training Operator: create the pods it would create from the example's replica templates.
    job = example["pytorchjob.yaml"]
    names, requested = [], {}
    for replica_type, spec in job["spec"]["pytorchReplicaSpecs"].items():
        assert {k: spec["template"]["spec"][k] for k in a100.pod_fragment()} == a100.pod_fragment()
        for i in range(spec["replicas"]):
            name = pods(f"{job['metadata']['name']}-{replica_type.lower()}-{i}", spec["template"]["spec"])
            names.append(name)
            requested[name] = int(spec["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"])
    assert len(names) == 4 and set(requested.values()) == {4}
    placed = _wait_scheduled(k8s, names)
    nodes = _nodes(k8s)
    per_node: dict[str, int] = defaultdict(int)
    for name, node in placed.items():
        assert nodes[node].metadata.labels.get("kfstack.io/node-pool") == "gpu-a100", (name, node)
        per_node[node] += requested[name]
    for node, used in per_node.items():
        assert used <= int(nodes[node].status.allocatable["nvidia.com/gpu"]), per_node
    assert sum(per_node.values()) == 16


def test_a_pod_asking_for_more_gpus_than_any_node_has_stays_pending(k8s, a100, pods):
    from kfstack.constructs.training.construct import pytorch_job

    with pytest.raises(ValueError, match="offer 8"):  # kfstack refuses to build such a job ...
        pytorch_job(a100, "too-big", NAMESPACE, image=IMAGE, workers=0, gpus=9)
    # ... and the scheduler refuses such a pod.
    name = pods("gpu-too-big", {**a100.pod_fragment(), "containers": [_container(9, a100.gpu_resource)]})
    v1 = client.CoreV1Api(k8s)
    deadline = time.monotonic() + 30
    reasons: list[str] = []
    while time.monotonic() < deadline:
        events = v1.list_namespaced_event(NAMESPACE, field_selector=f"involvedObject.name={name}").items
        reasons = [e.reason for e in events]
        if "FailedScheduling" in reasons:
            break
        time.sleep(0.5)
    assert "FailedScheduling" in reasons, reasons
    message = next(e.message for e in events if e.reason == "FailedScheduling")
    assert "Insufficient nvidia.com/gpu" in message, message
    time.sleep(2)
    pod = v1.read_namespaced_pod(name, NAMESPACE)
    assert pod.status.phase == "Pending" and not pod.spec.node_name
    cond = next(c for c in pod.status.conditions if c.type == "PodScheduled")
    assert (cond.status, cond.reason) == ("False", "Unschedulable")


def test_pods_without_the_gpu_toleration_never_land_on_tainted_gpu_nodes(k8s, a100, pods):
    # Twelve plain pods: the scheduler spreads them, yet none may reach a tainted GPU node.
    names = [pods(f"plain-{i}", {"containers": [_container()]}) for i in range(12)]
    placed = _wait_scheduled(k8s, names)
    nodes = _nodes(k8s)
    on_gpu = {n: node for n, node in placed.items() if _gpu_tainted(nodes[node])}
    assert not on_gpu, on_gpu
    assert len(set(placed.values())) > 1  # really spread over the non-GPU pools
    # Even a pod that wants a GPU but lacks the toleration is not placed there.
    greedy = pods("gpu-no-toleration", {"nodeSelector": dict(a100.node_selector),
                                        "containers": [_container(1, a100.gpu_resource)]})
    time.sleep(3)
    pod = client.CoreV1Api(k8s).read_namespaced_pod(greedy, NAMESPACE)
    assert not pod.spec.node_name and pod.status.phase == "Pending"
