"""The platform's first pipeline (Kubeflow Pipelines 2.16, KFP v2 SDK ``kfp==2.16.1``):
preprocess → train (GPU) → evaluate → deploy to KServe when the accuracy exceeds the threshold.

The pipeline is built for one environment by :func:`build_pipeline` from a
:class:`kfstack.workloads.WorkloadTarget` (images through the environment's registry, the GPU
pool's node selector and tolerations, the default Profile namespace); compile it with::

    pipenv run kfstack example pipeline prod -o training-pipeline.yaml

and upload the YAML in the Pipelines UI (or ``kfp.Client().create_run_from_pipeline_package``).

- ``preprocess``: a generated, linearly separable two-feature dataset (``rows``, ``seed``), split
  80/20 into ``train`` / ``test`` Dataset artifacts (CSV). Standard library only.
- ``train``: logistic regression in PyTorch on one GPU of the pool; the Model artifact holds
  ``weights.json`` and a TorchScript model in Triton's repository layout
  (``<model_name>/1/model.pt`` + ``config.pbtxt``).
- ``evaluate``: accuracy on ``test`` from ``weights.json`` (standard library only), logged as a
  metric and returned as the task's output.
- ``deploy``: only inside ``dsl.If(evaluate.output > accuracy_threshold)``; creates or updates
  (server-side apply) a KServe ``InferenceService`` in ``namespace`` whose ``storageUri`` is the
  model artifact in the platform's object store. Talks to the Kubernetes API with the pod's service
  account (standard library only, no client package to install).

Artifacts go to the platform's default pipeline root (Pipelines' ``defaultPipelineRoot`` is empty,
so KFP uses ``minio://<bucket>/v2/artifacts`` on the platform's S3 object store).

Every component function below is plain Python with its imports inside: KFP copies each one's
source into the pipeline YAML and runs it in the component's base image.
"""

# No `from __future__ import annotations`: KFP reads the component signatures' real types.
from typing import TYPE_CHECKING, Any, Callable

from kfp import dsl, kubernetes
from kfp.dsl import Dataset, Input, Metrics, Model, Output

if TYPE_CHECKING:
    from kfstack.workloads import WorkloadTarget

PIPELINE_NAME = "kfstack-training-pipeline"
TRAIN_GPUS = 1
"""GPUs of the train step (the model is small; the 4-GPU pod and the PyTorchJob are in examples/gpu)."""


def preprocess(rows: int, seed: int, train: Output[Dataset], test: Output[Dataset]) -> None:
    """Generate ``rows`` labelled points (x1, x2, label) and split them 80/20 into CSV Datasets."""
    import random

    rng = random.Random(seed)
    data = []
    while len(data) < rows:
        x1, x2 = rng.uniform(-1, 1), rng.uniform(-1, 1)
        margin = 0.8 * x1 - 0.6 * x2 + 0.1
        if abs(margin) < 0.05:  # keep a gap between the classes: separable, so a good model exceeds 0.95
            continue
        data.append((x1, x2, int(margin > 0)))
    cut = int(rows * 0.8)
    for artifact, part in ((train, data[:cut]), (test, data[cut:])):
        with open(artifact.path, "w", encoding="utf-8") as f:
            f.write("x1,x2,label\n")
            f.writelines(f"{a:.6f},{b:.6f},{y}\n" for a, b, y in part)
        artifact.metadata["rows"] = len(part)


def train(train_data: Input[Dataset], epochs: int, learning_rate: float, model_name: str,
          model: Output[Model]) -> None:
    """Logistic regression in PyTorch on the GPU; writes weights.json and a Triton-layout TorchScript model."""
    import json
    import os

    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    with open(train_data.path, encoding="utf-8") as f:
        rows = [line.strip().split(",") for line in f.readlines()[1:]]
    x = torch.tensor([[float(a), float(b)] for a, b, _ in rows], device=device)
    y = torch.tensor([[float(c)] for _, _, c in rows], device=device)
    net = torch.nn.Linear(2, 1).to(device)
    opt = torch.optim.SGD(net.parameters(), lr=learning_rate)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    for _ in range(epochs):
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
    os.makedirs(os.path.join(model.path, model_name, "1"), exist_ok=True)
    w = net.weight.detach().cpu().tolist()[0]
    b = float(net.bias.detach().cpu()[0])
    with open(os.path.join(model.path, "weights.json"), "w", encoding="utf-8") as f:
        json.dump({"w": w, "b": b}, f)
    scripted = torch.jit.trace(torch.nn.Sequential(net, torch.nn.Sigmoid()).cpu().eval(), torch.zeros(1, 2))
    scripted.save(os.path.join(model.path, model_name, "1", "model.pt"))
    with open(os.path.join(model.path, model_name, "config.pbtxt"), "w", encoding="utf-8") as f:
        f.write(f'name: "{model_name}"\nplatform: "pytorch_libtorch"\nmax_batch_size: 64\n'
                'input [{ name: "INPUT__0", data_type: TYPE_FP32, dims: [2] }]\n'
                'output [{ name: "OUTPUT__0", data_type: TYPE_FP32, dims: [1] }]\n')
    model.metadata.update({"framework": "pytorch", "device": device, "final_loss": float(loss)})


def evaluate(test_data: Input[Dataset], model: Input[Model], metrics: Output[Metrics]) -> float:
    """Accuracy of the model's weights.json on the test Dataset (0..1)."""
    import json
    import os

    with open(os.path.join(model.path, "weights.json"), encoding="utf-8") as f:
        weights = json.load(f)
    (w1, w2), b = weights["w"], weights["b"]
    with open(test_data.path, encoding="utf-8") as f:
        rows = [line.strip().split(",") for line in f.readlines()[1:]]
    correct = sum(int((w1 * float(a) + w2 * float(c) + b > 0) == (y == "1")) for a, c, y in rows)
    accuracy = correct / len(rows)
    metrics.log_metric("accuracy", accuracy)
    metrics.log_metric("test_rows", len(rows))
    return accuracy


def deploy(model: Input[Model], namespace: str, model_name: str, service_account: str, runtime: str,
           dry_run: bool) -> str:
    """Create or update the KServe InferenceService ``model_name`` in ``namespace``; returns its manifest (JSON).

    With ``dry_run`` the manifest is only returned. Otherwise it is applied server-side
    (``PATCH`` with ``application/apply-patch+yaml``, field manager ``kfstack-example``) with the
    pod's service-account token, so re-running the pipeline updates the same InferenceService.
    """
    import json
    import os
    import ssl
    import urllib.request

    uri = model.uri
    for scheme in ("minio://", "gs://"):  # KFP names the platform's S3 store minio://; KServe reads s3://
        if uri.startswith(scheme):
            uri = "s3://" + uri[len(scheme):]
    predictor: dict = {"model": {"modelFormat": {"name": "pytorch"}, "runtime": runtime, "storageUri": uri}}
    if service_account:
        predictor["serviceAccountName"] = service_account
    isvc = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": model_name, "namespace": namespace,
                         "labels": {"app.kubernetes.io/created-by": "kfstack-training-pipeline"}},
            "spec": {"predictor": predictor}}
    body = json.dumps(isvc, sort_keys=True)
    if dry_run:
        return body
    sa = "/var/run/secrets/kubernetes.io/serviceaccount"
    with open(os.path.join(sa, "token"), encoding="utf-8") as f:
        token = f.read().strip()
    host, port = os.environ["KUBERNETES_SERVICE_HOST"], os.environ["KUBERNETES_SERVICE_PORT"]
    url = (f"https://{host}:{port}/apis/serving.kserve.io/v1beta1/namespaces/{namespace}/inferenceservices/"
           f"{model_name}?fieldManager=kfstack-example&force=true")
    request = urllib.request.Request(url, data=body.encode(), method="PATCH", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/apply-patch+yaml"})
    context = ssl.create_default_context(cafile=os.path.join(sa, "ca.crt"))
    with urllib.request.urlopen(request, context=context, timeout=60) as response:
        print(f"InferenceService {namespace}/{model_name}: HTTP {response.status}")
    return body


def components(target: "WorkloadTarget", pip_index_url: str | None = None) -> dict[str, Callable[..., Any]]:
    """The four components with the target's images: ``{"preprocess": ..., "train": ..., ...}``.

    ``pip_index_url``: where each step's launcher installs ``kfp==2.16.1`` at start (KFP lightweight
    components do); an air-gapped site passes its PyPI mirror. Default: pip's own (PyPI).
    """
    index = [pip_index_url] if pip_index_url else None

    def wrap(func: Callable[..., Any], image: str) -> Callable[..., Any]:
        return dsl.component(func, base_image=image, pip_index_urls=index)

    return {"preprocess": wrap(preprocess, target.python_image),
            "train": wrap(train, target.training_image),
            "evaluate": wrap(evaluate, target.python_image),
            "deploy": wrap(deploy, target.python_image)}


def build_pipeline(target: "WorkloadTarget", pip_index_url: str | None = None,
                   train_component: Callable[..., Any] | None = None) -> Callable[..., Any]:
    """The training pipeline for ``target`` (a ``@dsl.pipeline`` function, ready for ``kfp.compiler``).

    ``train_component`` replaces the GPU train step (same inputs and ``model`` output); tests use a
    CPU stand-in to run the whole pipeline with the KFP local runner.
    """
    ops = components(target, pip_index_url)
    if train_component is not None:
        ops["train"] = train_component
    pool = target.pool

    def place(task: Any) -> Any:
        if target.pull_secrets:
            kubernetes.set_image_pull_secrets(task, [s["name"] for s in target.pull_secrets])
        return task

    @dsl.pipeline(name=PIPELINE_NAME,
                  description=f"preprocess -> train on GPU pool {pool.name} -> evaluate -> deploy to KServe "
                              f"when accuracy > threshold (rendered for environment {target.env})")
    def training_pipeline(rows: int = 2000, seed: int = 42, epochs: int = 300, learning_rate: float = 1.0,
                          accuracy_threshold: float = 0.95, namespace: str = target.namespace,
                          model_name: str = "classifier", service_account: str = "",
                          serving_runtime: str = "kserve-tritonserver", deploy_dry_run: bool = False) -> None:
        pre = place(ops["preprocess"](rows=rows, seed=seed))
        trained = place(ops["train"](train_data=pre.outputs["train"], epochs=epochs, learning_rate=learning_rate,
                                     model_name=model_name))
        trained.set_accelerator_type(pool.gpu_resource).set_accelerator_limit(TRAIN_GPUS)
        for key, value in pool.node_selector.items():
            kubernetes.add_node_selector(trained, label_key=key, label_value=value)
        for t in pool.tolerations:
            kubernetes.add_toleration(trained, key=t.get("key"), operator=t.get("operator"), value=t.get("value"),
                                      effect=t.get("effect"))
        scored = place(ops["evaluate"](test_data=pre.outputs["test"], model=trained.outputs["model"]))
        with dsl.If(scored.outputs["Output"] > accuracy_threshold, name="accuracy-above-threshold"):
            place(ops["deploy"](model=trained.outputs["model"], namespace=namespace, model_name=model_name,
                                service_account=service_account, runtime=serving_runtime, dry_run=deploy_dry_run))

    return training_pipeline


def compile_pipeline(target: "WorkloadTarget", path: str, pip_index_url: str | None = None) -> None:
    """Compile the pipeline for ``target`` to ``path`` (KFP IR YAML)."""
    from kfp import compiler

    compiler.Compiler().compile(build_pipeline(target, pip_index_url), package_path=path)
