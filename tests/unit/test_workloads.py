"""The examples (examples/gpu, examples/pipelines) rendered for an environment (kfstack/workloads.py)."""

# No `from __future__ import annotations`: KFP reads the stand-in component's real types.
import json
import re

import pytest
import yaml
from kfp import dsl
from kfp.dsl import Dataset, Input, Model, Output
from typer.testing import CliRunner

from kfstack.cli import app
from kfstack.config.environment import EnvironmentConfig
from kfstack.workloads import GPU_EXAMPLE_FILES, WorkloadTarget, gpu_examples, pipeline_example, pytorch_job
from tests.conftest import ROOT, env_dict, resources

A100 = "NVIDIA-A100-SXM4-80GB"
FORBIDDEN_IMAGE = re.compile(r"(^|/)bitnami|bitnamilegacy|(^|\.)gcr\.io/|:latest$|^[^:@]+$")
"""Bitnami and gcr.io images, `:latest` and untagged references are never used by default."""


@pytest.fixture(scope="module")
def prod(real_envs) -> WorkloadTarget:
    return WorkloadTarget.for_env(real_envs["prod"])


def _images(doc) -> list[str]:
    found: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "image" and isinstance(v, str):
                    found.append(v)
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(doc)
    return found


def _compiled(target: WorkloadTarget, tmp_path, name: str = "p.yaml") -> tuple[bytes, list[dict]]:
    path = tmp_path / name
    pipeline_example().compile_pipeline(target, str(path))
    data = path.read_bytes()
    return data, list(yaml.safe_load_all(data))


def test_the_target_schedules_like_the_stack_publishes_it(prod, synth_env):
    """Same fragment as the synthesized ConfigMap kfstack-training-scheduling: no second copy of the rules."""
    (cm,) = [c for c in resources(synth_env("prod"), "kubernetes_config_map_v1").values()
             if c["metadata"]["name"] == "kfstack-training-scheduling"]
    published = yaml.safe_load(cm["data"]["gpu-a100.yaml"])
    assert prod.pool.pod_fragment() == {k: published[k] for k in ("nodeSelector", "tolerations", "priorityClassName")}
    assert (prod.pool.gpu_resource, prod.pool.gpus_per_node) == (published["gpuResource"], published["gpusPerNode"])


def test_prod_target(prod):
    assert prod.pool.name == "gpu-a100" and prod.pool_nodes == 4
    assert prod.namespace == "kubeflow-ml-admin-prod-internal"  # the default Profile of prod's first user, ml-admin@prod.internal
    assert prod.training_image == "registry.internal/pytorch/pytorch:2.7.1-cuda12.8-cudnn9-runtime"
    assert prod.python_image.startswith("registry.internal/")
    assert prod.pull_secrets == [{"name": "registry-internal"}]


def test_gpu_pod_and_pytorchjob_for_prod(prod):
    files = gpu_examples(prod)
    pod = yaml.safe_load(files["gpu-pod.yaml"])
    spec = pod["spec"]
    assert pod["metadata"]["namespace"] == "kubeflow-ml-admin-prod-internal"
    assert spec["nodeSelector"] == {"nvidia.com/gpu.product": A100, "kfstack.io/node-pool": "gpu-a100"}
    assert spec["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "present",
                                    "effect": "NoSchedule"}]
    assert spec["priorityClassName"] == "kfstack-training"
    assert spec["containers"][0]["resources"]["limits"] == {"nvidia.com/gpu": 4}
    assert spec["imagePullSecrets"] == [{"name": "registry-internal"}]
    job = yaml.safe_load(files["pytorchjob.yaml"])
    assert (job["apiVersion"], job["kind"]) == ("kubeflow.org/v1", "PyTorchJob")
    replicas = job["spec"]["pytorchReplicaSpecs"]
    assert {k: v["replicas"] for k, v in replicas.items()} == {"Master": 1, "Worker": 3}
    for r in replicas.values():
        tpl = r["template"]
        assert tpl["spec"]["nodeSelector"] == spec["nodeSelector"] and tpl["spec"]["tolerations"] == spec["tolerations"]
        assert tpl["spec"]["priorityClassName"] == "kfstack-training"
        assert tpl["spec"]["containers"][0]["resources"]["limits"] == {"nvidia.com/gpu": 4}
        assert tpl["metadata"]["annotations"] == {"sidecar.istio.io/inject": "false"}
    for doc in (pod, job):
        assert _images(doc) and all(i.startswith("registry.internal/") for i in _images(doc))


def test_a_small_pool_gets_examples_that_fit_it(real_envs):
    dev = WorkloadTarget.for_env(real_envs["dev"])  # gpu-t4: one node, one T4
    files = gpu_examples(dev)
    assert yaml.safe_load(files["gpu-pod.yaml"])["spec"]["containers"][0]["resources"]["limits"] == {"nvidia.com/gpu": 1}
    job = yaml.safe_load(files["pytorchjob.yaml"])
    assert list(job["spec"]["pytorchReplicaSpecs"]) == ["Master"]
    assert not dev.pull_secrets and "imagePullSecrets" not in yaml.safe_load(files["gpu-pod.yaml"])["spec"]
    with pytest.raises(ValueError, match="offer 1"):
        pytorch_job(dev, gpus=2)


def test_no_example_uses_a_forbidden_image(real_envs, tmp_path):
    for name, env in real_envs.items():
        target = WorkloadTarget.for_env(env)
        images = [i for text in gpu_examples(target).values() for i in _images(yaml.safe_load(text))]
        images += [i for d in _compiled(target, tmp_path, f"{name}.yaml")[1] for i in _images(d)]
        assert images, name
        bad = [i for i in images if FORBIDDEN_IMAGE.search(i)]
        assert not bad, (name, bad)
        if env.registry:
            assert all(i.startswith(env.registry.host + "/") for i in images), (name, images)


def test_unknown_or_missing_gpu_pools_are_refused(real_envs):
    with pytest.raises(ValueError, match="no GPU pool 'nope'; its GPU pools: gpu-a100"):
        WorkloadTarget.for_env(real_envs["prod"], "nope")
    data = env_dict({"node_pools": [{"name": "system", "count": 1}]})
    data["name"] = "cpu-only"
    with pytest.raises(ValueError, match="has no GPU pool"):
        WorkloadTarget.for_env(EnvironmentConfig.model_validate(data))


@pytest.mark.parametrize("env", ["local", "prod"])
def test_committed_gpu_examples_are_current(env, real_envs):
    files = gpu_examples(WorkloadTarget.for_env(real_envs[env]))
    for name in GPU_EXAMPLE_FILES:
        committed = (ROOT / "examples" / "gpu" / env / name).read_text(encoding="utf-8")
        assert committed == files[name], f"examples/gpu/{env}/{name} is stale: run kfstack example gpu {env} " \
                                         f"-o examples/gpu/{env}"


def test_pipeline_compiles_deterministically_and_matches_the_committed_one(prod, tmp_path):
    first, _ = _compiled(prod, tmp_path, "a.yaml")
    second, _ = _compiled(prod, tmp_path, "b.yaml")
    assert first == second
    committed = (ROOT / "examples" / "pipelines" / "prod" / "training-pipeline.yaml").read_bytes()
    assert committed == first, "stale: run kfstack example pipeline prod -o examples/pipelines/prod/training-pipeline.yaml"


def test_pipeline_ir_has_four_tasks_the_condition_and_the_gpu_pools_placement(prod, tmp_path):
    _, (spec, platform) = _compiled(prod, tmp_path)
    root = spec["root"]["dag"]["tasks"]
    assert set(root) == {"preprocess", "train", "evaluate", "condition-1"}
    condition = root["condition-1"]
    assert spec["components"][condition["componentRef"]["name"]]["dag"]["tasks"].keys() == {"deploy"}
    trigger = condition["triggerPolicy"]["condition"]
    assert trigger == ("inputs.parameter_values['pipelinechannel--evaluate-Output'] > "
                       "inputs.parameter_values['pipelinechannel--accuracy_threshold']")
    assert spec["root"]["inputDefinitions"]["parameters"]["accuracy_threshold"]["defaultValue"] == 0.95
    assert spec["root"]["inputDefinitions"]["parameters"]["namespace"]["defaultValue"] == prod.namespace
    # The model is an artifact passed from train to evaluate and deploy (stored under the pipeline root).
    assert root["evaluate"]["inputs"]["artifacts"]["model"]["taskOutputArtifact"] == \
        {"outputArtifactKey": "model", "producerTask": "train"}
    executors = spec["deploymentSpec"]["executors"]
    accel = executors["exec-train"]["container"]["resources"]["accelerator"]
    assert (accel["resourceType"], accel["resourceCount"]) == ("nvidia.com/gpu", "1")
    assert all("resources" not in executors[e]["container"] for e in ("exec-preprocess", "exec-evaluate",
                                                                       "exec-deploy"))
    k8s = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    assert k8s["exec-train"]["nodeSelector"]["labels"] == prod.pool.node_selector
    assert k8s["exec-train"]["tolerations"] == [dict(t) for t in prod.pool.tolerations]
    assert all("nodeSelector" not in k8s[e] for e in ("exec-preprocess", "exec-evaluate", "exec-deploy"))
    assert all(k8s[e]["imagePullSecret"][0]["secretName"] == "registry-internal" for e in executors)
    images = [e["container"]["image"] for e in executors.values()]
    assert len(images) == 4 and all(i.startswith("registry.internal/") for i in images)


def test_cli_renders_examples_and_fails_cleanly(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["example", "gpu", "prod", "-o", str(tmp_path / "gpu")])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "gpu").iterdir()) == sorted(GPU_EXAMPLE_FILES)
    res = runner.invoke(app, ["example", "pipeline", "prod", "-o", str(tmp_path / "p" / "pipeline.yaml"),
                              "--pip-index-url", "https://pypi.internal/simple"])
    assert res.exit_code == 0, res.output
    assert "--index-url https://pypi.internal/simple" in (tmp_path / "p" / "pipeline.yaml").read_text()
    res = runner.invoke(app, ["example", "gpu", "prod", "--pool", "nope"])
    assert res.exit_code == 2 and "no GPU pool 'nope'" in res.output and "Traceback" not in res.output


# --- the KFP local runner: the non-GPU steps run here, on a small generated dataset -------------------------


@pytest.fixture
def local_runner(tmp_path, monkeypatch):
    """kfp.local with the SubprocessRunner in this interpreter (no Docker, no venv); pip may not reach an index."""
    from kfp import local

    monkeypatch.setenv("PIP_NO_INDEX", "1")
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "root"))
    return tmp_path


@dsl.component(base_image="python:3.11-slim-bookworm")
def fit_stand_in(train_data: Input[Dataset], epochs: int, learning_rate: float, model_name: str,
                 model: Output[Model]) -> None:
    """CPU stand-in for the GPU train step (PyTorch on a GPU node): the direction between the class means,
    through their midpoint, written the way train writes it (weights.json in the Model artifact)."""
    import json
    import os

    rows = [list(map(float, line.split(","))) for line in open(train_data.path).read().splitlines()[1:]]
    pos, neg = [r for r in rows if r[2] == 1.0], [r for r in rows if r[2] == 0.0]
    mean = [[sum(r[i] for r in rs) / len(rs) for i in (0, 1)] for rs in (pos, neg)]
    w = [mean[0][i] - mean[1][i] for i in (0, 1)]
    b = -sum(w[i] * (mean[0][i] + mean[1][i]) / 2 for i in (0, 1))
    os.makedirs(model.path, exist_ok=True)
    with open(os.path.join(model.path, "weights.json"), "w") as f:
        json.dump({"w": w, "b": b}, f)


def _task_outputs(root, task: str) -> dict | None:
    """Output parameters of ``task`` in the one local run under ``root``, or None if it did not run."""
    found = list(root.glob(f"*/{task}/executor_output.json"))
    if not found:
        return None
    (path,) = found
    return json.loads(path.read_text()).get("parameterValues", {})


def test_the_pipeline_runs_with_the_local_runner_on_a_generated_dataset(local_runner, real_envs):
    """preprocess and evaluate run for real, train is the CPU stand-in. The KFP 2.16.1 local runner cannot
    evaluate the IR's condition (it substitutes values inside ``inputs.parameter_values[...]`` and the
    expression fails), so the deploy branch is checked in the compiled IR and run on its own below."""
    target = WorkloadTarget.for_env(real_envs["local"])
    pipeline = pipeline_example().build_pipeline(target, train_component=fit_stand_in)
    pipeline(rows=400, seed=7, deploy_dry_run=True)
    root = local_runner / "root"
    train_csv = next(root.glob("*/preprocess/train")).read_text().splitlines()
    test_csv = next(root.glob("*/preprocess/test")).read_text().splitlines()
    assert train_csv[0] == "x1,x2,label" and (len(train_csv), len(test_csv)) == (1 + 320, 1 + 80)
    assert {line.rsplit(",", 1)[1] for line in train_csv[1:]} == {"0", "1"}
    accuracy = _task_outputs(root, "evaluate")["Output"]
    assert 0.95 < accuracy <= 1.0  # above the pipeline's threshold: on the platform, deploy runs
    metrics = json.loads(next(root.glob("*/evaluate/executor_output.json")).read_text())
    assert "accuracy" in json.dumps(metrics["artifacts"]["metrics"])


def test_the_deploy_step_builds_the_inference_service_with_the_local_runner(local_runner, real_envs):
    target = WorkloadTarget.for_env(real_envs["local"])
    deploy = pipeline_example().components(target)["deploy"]

    @dsl.pipeline(name="deploy-only")
    def deploy_only() -> None:
        trained = fit_stand_in(train_data=dsl.importer(artifact_uri=str(local_runner / "train.csv"),
                                                       artifact_class=Dataset).output,
                               epochs=1, learning_rate=1.0, model_name="classifier")
        deploy(model=trained.outputs["model"], namespace=target.namespace, model_name="classifier",
               service_account="kserve-s3", runtime="kserve-tritonserver", dry_run=True)

    (local_runner / "train.csv").write_text("x1,x2,label\n0.5,0.5,1\n-0.5,-0.5,0\n")
    deploy_only()
    root = local_runner / "root"
    isvc = json.loads(_task_outputs(root, "deploy")["Output"])
    assert (isvc["apiVersion"], isvc["kind"]) == ("serving.kserve.io/v1beta1", "InferenceService")
    assert isvc["metadata"] == {"name": "classifier", "namespace": "kubeflow-user-example-com",
                                "labels": {"app.kubernetes.io/created-by": "kfstack-training-pipeline"}}
    predictor = isvc["spec"]["predictor"]
    assert predictor["serviceAccountName"] == "kserve-s3"
    assert predictor["model"]["modelFormat"] == {"name": "pytorch"}
    assert predictor["model"]["runtime"] == "kserve-tritonserver"
    # The model artifact's URI (a local path here; s3://<bucket>/v2/artifacts/... on the platform).
    assert predictor["model"]["storageUri"] == str(next(root.glob("*/fit-stand-in/model")))


def test_deploy_points_kserve_at_the_model_in_the_platforms_s3_store():
    """KFP names the platform's S3 store minio://<bucket>/...; KServe's storage initializer reads s3://."""
    model = dsl.Model(uri="minio://mlpipeline/v2/artifacts/kfstack-training-pipeline/run/train/model")
    isvc = json.loads(pipeline_example().deploy(model, namespace="team-a", model_name="m", service_account="",
                                                runtime="kserve-tritonserver", dry_run=True))
    assert isvc["spec"]["predictor"]["model"]["storageUri"] == \
        "s3://mlpipeline/v2/artifacts/kfstack-training-pipeline/run/train/model"
    assert "serviceAccountName" not in isvc["spec"]["predictor"]
