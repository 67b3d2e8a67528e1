"""Training: Trainer v2 (kubeflow-trainer chart), Training Operator v1 (kustomize parts), GPU pool scheduling.

Stacks are minimal environments built in the test (tests/fixtures/envs.py) with the node pools each test needs;
two tests check the shipped files."""

from __future__ import annotations

import pytest
import yaml

from kfstack.config import ConfigError
from kfstack.constructs.training.construct import pytorch_job
from kfstack.constructs.training.settings import TrainingSettings
from kfstack.sources.charts import ChartResolver
from kfstack.sources.lock import load_lock
from tests.conftest import ROOT, depends_on, release, release_address, release_values, resources
from tests.fixtures.envs import REGISTRY, enable, load_minimal, merged, minimal_env

V1 = {"components": {"training": {"training_operator_v1": True}}}
V1_PARTS = ["training-operator-crds", *(f"training-operator-crds-{i}" for i in range(2, 7)), "training-operator"]
TRAINING = merged(enable("training"), {"release": {"versions": {"trainer": "2.1.0", "training_operator": "1.9.2"}}})
WITH_GPUS = merged(TRAINING, enable("gpu_operator"))
"""Training beside the NVIDIA GPU Operator (GPU pools come from :func:`pools`)."""

PRESENT = [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
T4 = {"name": "gpu-t4", "kind": "gpu", "count": 1, "taints": PRESENT, "gpu": {"product": "Tesla-T4", "per_node": 1}}
A100 = {"name": "gpu-a100", "kind": "gpu", "count": 4, "taints": PRESENT,
        "gpu": {"product": "NVIDIA-A100-SXM4-80GB", "per_node": 8, "sharing": "exclusive"}}
T4_SHARED = {"name": "gpu-t4-shared", "kind": "gpu", "count": 2,  # 4 pods per GPU (time-slicing)
             "taints": [{"key": "nvidia.com/gpu", "value": "shared", "effect": "NoSchedule"}],
             "gpu": {"product": "Tesla-T4", "per_node": 1, "sharing": "time-slicing", "time_slicing_replicas": 4}}


def pools(*gpu_pools: dict) -> dict:
    """Overrides: one CPU pool ``system`` and ``gpu_pools`` (the list replaces the minimal environment's)."""
    return {"node_pools": [{"name": "system", "count": 3}, *gpu_pools]}


def _build(overrides: dict | None = None):
    """Build (not only synthesize) a stack of the minimal environment with ``overrides``, to read the Training
    construct's typed outputs."""
    from kfstack.cdk import Testing

    from kfstack.stacks import PlatformStack, ProjectPaths

    lock = load_lock(ROOT / "sources.lock")
    return PlatformStack(Testing.app(), minimal_env(lock, overrides), lock=lock, paths=ProjectPaths(ROOT))


def _names(stack: dict) -> set[str]:
    return {r["name"] for r in resources(stack, "helm_release").values()}


def _has_scheduling(stack: dict) -> bool:
    return any(c["metadata"]["name"] == "kfstack-training-scheduling"
               for c in resources(stack, "kubernetes_config_map_v1").values())


def _scheduling(stack: dict) -> dict:
    (cm,) = [c for c in resources(stack, "kubernetes_config_map_v1").values()
             if c["metadata"]["name"] == "kfstack-training-scheduling"]
    return cm


# --- Trainer v2 ------------------------------------------------------------------------------

def test_trainer_chart_pin_and_release():
    ref = ChartResolver(load_lock(ROOT / "sources.lock"), mode="upstream").chart("kubeflow-trainer", "2.1.0")
    assert (ref.repository, ref.name, ref.version) == ("oci://ghcr.io/kubeflow/charts", "kubeflow-trainer", "2.1.0")


@pytest.mark.parametrize("env", ["dev", "staging", "prod", "local"])
def test_every_environment_installs_trainer_v2_with_jobset(synth_env, env):
    """Checks the shipped environment files: Trainer v2 (TrainJob) runs in every one of them."""
    stack = synth_env(env)
    rel = release(stack, "kubeflow-trainer")
    assert (rel["chart"], rel["version"]) == ("kubeflow-trainer", "2.1.0")
    assert rel["namespace"].startswith("${kubernetes_namespace_v1.Training_Namespace")
    assert release_values(stack, "kubeflow-trainer")["jobset"]["install"] is True
    ns = [n for n in resources(stack, "kubernetes_namespace_v1").values()
          if n["metadata"]["name"] == "kubeflow-system"]
    assert len(ns) == 1


def test_trainer_installs_after_cert_manager_and_istio(synth_minimal):
    deps = depends_on(synth_minimal(TRAINING), "kubeflow-trainer")
    for needle in ("CertManager_Issuer", "Istio_IngressGateway", "Istio_ClusterLocalGateway"):
        assert any(needle in d for d in deps), needle


def test_trainer_and_jobset_images_from_the_registry_mirror(synth_minimal):
    v = release_values(synth_minimal(merged(TRAINING, REGISTRY)), "kubeflow-trainer")
    assert v["image"] == {"registry": "registry.internal", "repository": "kubeflow/trainer/trainer-controller-manager",
                          "pullSecrets": [{"name": "registry-internal"}]}
    assert v["jobset"]["image"] == {"repository": "registry.internal/jobset/jobset", "tag": "v0.10.1",
                                    "pullSecrets": [{"name": "registry-internal"}]}


def test_trainer_keeps_upstream_images_without_a_registry_mirror(synth_minimal):
    assert release_values(synth_minimal(TRAINING), "kubeflow-trainer") == {"jobset": {"install": True}}


# --- GPU scheduling from the node pools --------------------------------------------------------

def test_one_cluster_training_runtime_per_gpu_pool(synth_minimal):
    stack = synth_minimal(merged(WITH_GPUS, REGISTRY, pools(A100, T4_SHARED)))
    runtimes = {m["metadata"]["name"]: m for m in release_values(stack, "kfstack-training-runtimes")["manifests"]}
    assert set(runtimes) == {"torch-distributed-gpu-a100", "torch-distributed-gpu-t4-shared"}
    a100 = runtimes["torch-distributed-gpu-a100"]
    assert (a100["apiVersion"], a100["kind"]) == ("trainer.kubeflow.org/v1alpha1", "ClusterTrainingRuntime")
    pod = a100["spec"]["template"]["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"kfstack.io/node-pool": "gpu-a100", "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"}
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "present",
                                   "effect": "NoSchedule"}]
    assert pod["priorityClassName"] == "kfstack-training"
    assert pod["containers"][0]["image"] == "registry.internal/pytorch/pytorch:2.7.1-cuda12.8-cudnn9-runtime"
    t4 = runtimes["torch-distributed-gpu-t4-shared"]["spec"]["template"]["spec"]["replicatedJobs"][0]
    t4_pod = t4["template"]["spec"]["template"]["spec"]
    assert t4_pod["nodeSelector"]["nvidia.com/gpu.product"] == "Tesla-T4-SHARED"
    assert t4_pod["tolerations"][0]["value"] == "shared"
    assert release_address(stack, "kubeflow-trainer") in depends_on(stack, "kfstack-training-runtimes")


def test_gpu_targets_wait_for_the_gpu_operator(synth_minimal):
    """The per-pool runtimes and scheduling fragments (what GPU jobs use) depend on the GPU Operator's ref;
    without the operator they do not (nothing to wait for)."""
    stack = synth_minimal(merged(WITH_GPUS, pools(T4)))
    operator = release_address(stack, "gpu-operator")
    assert operator in depends_on(stack, "kfstack-training-runtimes")
    assert operator in _scheduling(stack)["depends_on"]
    assert operator not in depends_on(stack, "kubeflow-trainer")  # the operators themselves need no GPUs
    stack = synth_minimal(merged(TRAINING, pools(T4), {"components": {"gpu_operator": {"enabled": False}}}))
    assert not any("GpuOperator" in d for d in depends_on(stack, "kfstack-training-runtimes"))
    assert not any("GpuOperator" in d for d in _scheduling(stack)["depends_on"])


def test_runtime_image_is_docker_hubs_without_a_registry_mirror(synth_minimal):
    (runtime,) = release_values(synth_minimal(merged(WITH_GPUS, pools(T4))), "kfstack-training-runtimes")["manifests"]
    pod = runtime["spec"]["template"]["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == "pytorch/pytorch:2.7.1-cuda12.8-cudnn9-runtime"
    assert pod["nodeSelector"]["nvidia.com/gpu.product"] == "Tesla-T4"


def test_scheduling_config_map_has_one_fragment_per_pool(synth_minimal):
    cm = _scheduling(synth_minimal(merged(WITH_GPUS, pools(A100, T4_SHARED))))
    assert set(cm["data"]) == {"gpu-a100.yaml", "gpu-t4-shared.yaml"}
    t4 = yaml.safe_load(cm["data"]["gpu-t4-shared.yaml"])
    assert t4["gpuResource"] == "nvidia.com/gpu" and t4["gpusPerNode"] == 4  # 1 GPU x 4 time-slices
    assert t4["clusterTrainingRuntime"] == "torch-distributed-gpu-t4-shared"
    assert cm["metadata"]["namespace"].startswith("${kubernetes_namespace_v1.ClusterBaseline_Namespace-kubeflow")


def test_mig_mixed_pool_requests_its_mig_resource(synth_minimal):
    mig_pool = {
        "name": "gpu-mig", "kind": "gpu", "count": 1, "taints": [{"key": "nvidia.com/gpu", "value": "mig"}],
        "gpu": {"product": "NVIDIA-A100-SXM4-80GB", "per_node": 8, "sharing": "mig", "mig_strategy": "mixed",
                "mig_devices": {"3g.40gb": 2}}}
    cm = _scheduling(synth_minimal(merged(WITH_GPUS, pools(T4, mig_pool))))
    mig = yaml.safe_load(cm["data"]["gpu-mig.yaml"])
    assert (mig["gpuResource"], mig["gpusPerNode"]) == ("nvidia.com/mig-3g.40gb", 16)


def test_seed_pytorch_job_targets_an_a100_pool():
    """The seed's PyTorchJob: 1 master + 3 workers x 4 GPUs on NVIDIA-A100-SXM4-80GB (a pool shaped like prod's)."""
    a100 = _build(merged(WITH_GPUS, pools(A100))).training.pools["gpu-a100"]
    job = pytorch_job(a100, "ddp", "team-a", image="registry.internal/acme/train:1", workers=3, gpus=4)
    assert (job["apiVersion"], job["kind"]) == ("kubeflow.org/v1", "PyTorchJob")
    specs = job["spec"]["pytorchReplicaSpecs"]
    assert (specs["Master"]["replicas"], specs["Worker"]["replicas"]) == (1, 3)
    for spec in specs.values():
        pod = spec["template"]["spec"]
        assert pod["nodeSelector"] == {"kfstack.io/node-pool": "gpu-a100",
                                       "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"}
        assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "present",
                                       "effect": "NoSchedule"}]
        assert pod["priorityClassName"] == "kfstack-training"
        assert pod["containers"][0]["resources"] == {"limits": {"nvidia.com/gpu": 4}}
    with pytest.raises(ValueError, match="offer 8"):
        pytorch_job(a100, "big", "team-a", image="x", workers=1, gpus=9)


def test_no_gpu_pools_no_runtimes_or_scheduling(synth_minimal):
    stack = synth_minimal(merged(WITH_GPUS, pools()))
    assert "kfstack-training-runtimes" not in _names(stack)
    assert not _has_scheduling(stack)
    assert "kubeflow-trainer" in _names(stack)


# --- Training Operator v1 and toggles ----------------------------------------------------------

def test_training_operator_v1_parts_are_chained_crds_first(synth_minimal):
    stack = synth_minimal(merged(TRAINING, V1))
    for prev, part in zip(V1_PARTS, V1_PARTS[1:]):
        assert release_address(stack, prev) in depends_on(stack, part), part
    first = release(stack, V1_PARTS[0])
    assert (first["repository"], first["version"]) == ("https://charts.fixture.internal/kfstack", "1.9.2")
    assert first["namespace"].startswith("${kubernetes_namespace_v1.ClusterBaseline_Namespace-kubeflow")
    assert any("Istio_IngressGateway" in d for d in depends_on(stack, V1_PARTS[0]))
    ids = {rid for rid, r in resources(stack, "helm_release").items() if r["name"] in V1_PARTS}
    assert any(rid.startswith("Training_TrainingOperator_Crds2_") for rid in ids)
    assert any(rid.startswith("Training_TrainingOperator_Release_") for rid in ids)


def test_training_operator_v1_alone(synth_minimal):
    stack = synth_minimal(merged(WITH_GPUS, pools(T4), {"components": {"training": {"training_operator_v1": True,
                                                                                 "trainer_v2": False}}}))
    names = _names(stack)
    assert "training-operator" in names
    assert not {"kubeflow-trainer", "kfstack-training-runtimes"} & names
    assert "clusterTrainingRuntime" not in _scheduling(stack)["data"]["gpu-t4.yaml"]


def test_default_is_trainer_v2_only(synth_minimal):
    names = _names(synth_minimal(enable("training")))  # no operator flag set
    assert "kubeflow-trainer" in names and "training-operator" not in names


def test_disabled_training_installs_nothing(synth_minimal):
    stack = synth_minimal(merged(WITH_GPUS, pools(T4), {"components": {"training": {"enabled": False}}}))
    assert "gpu-operator" in _names(stack)
    assert not {"kubeflow-trainer", "kfstack-training-runtimes", "training-operator"} & _names(stack)
    assert not _has_scheduling(stack)


def test_nothing_to_install_is_a_config_error(tmp_path, lock):
    with pytest.raises(ConfigError) as info:  # base.yaml: training on, Trainer v2 only; broken.yaml turns it off
        load_minimal(tmp_path, lock, enable("training", training={"trainer_v2": True, "training_operator_v1": False}),
                     {"components": {"training": {"trainer_v2": False}}})
    (p,) = info.value.problems
    assert p.file == "environments/broken.yaml" and p.path == ("components", "training")
    assert "trainer_v2 and training_operator_v1 are both false" in p.message


def test_v1_namespace_must_be_shared(synth_minimal):
    with pytest.raises(ConfigError, match="not a shared namespace of the cluster baseline") as info:
        synth_minimal(enable("training", training={"training_operator_v1": True, "v1_namespace": "training"}))
    assert [p.path for p in info.value.problems] == [("components", "training", "v1_namespace")]


def test_installs_follow_the_operator_flags():
    both = TrainingSettings(enabled=True, trainer_v2=True, training_operator_v1=True)
    assert [i.key for i in both.installs()] == ["trainer", "training_operator"]
    assert [i.key for i in TrainingSettings(enabled=True).installs()] == ["trainer"]
    v1_only = TrainingSettings(enabled=True, trainer_v2=False, training_operator_v1=True)
    assert [i.key for i in v1_only.installs()] == ["training_operator"]


def test_prod_runs_both_operators_for_the_seed_pytorch_job(synth_env, real_envs):
    """Checks the shipped prod.yaml: the seed's PyTorchJob (kubeflow.org/v1) needs Training Operator v1 there,
    from prod's own chart mirror at prod's release of it."""
    prod = real_envs["prod"]
    names = _names(synth_env("prod"))
    assert {"kubeflow-trainer", "kfstack-training-runtimes", *V1_PARTS} <= names
    first = release(synth_env("prod"), V1_PARTS[0])
    assert (first["repository"], first["version"]) == (prod.sources.mirror_url, prod.release.versions.training_operator)
