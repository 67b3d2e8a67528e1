"""The platform's first workloads, rendered for one environment (``examples/``).

Everything environment-specific comes from the environment file, through the same code
the stack uses: the GPU pool's scheduling is its :class:`~kfstack.constructs.core.refs.GpuPoolRef`
from :func:`kfstack.constructs.cluster_baseline.construct.gpu_pool_refs` (node selector with
``nvidia.com/gpu.product``, the pool's taint tolerations, the GPU resource, PriorityClass
``kfstack-training``), images go through :meth:`ImageMirror.rehost_image` of the environment's
``registry``, and the namespace is the default Profile's (``components.dashboard``).

Example::

    target = WorkloadTarget.for_env(env)               # env: a validated EnvironmentConfig
    files = gpu_examples(target)                       # {"gpu-pod.yaml": ..., "pytorchjob.yaml": ...}

Importing this module loads the cdktf bindings (the PyTorchJob builder lives beside the
Training construct), about 3 s.
"""

from __future__ import annotations

import copy
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from kfstack.config.environment import EnvironmentConfig
from kfstack.constructs.auth.settings import profile_name_for
from kfstack.constructs.cluster_baseline.construct import gpu_pool_refs
from kfstack.constructs.core.refs import GpuPoolRef, ImageMirror
from kfstack.constructs.training.construct import pytorch_job as pool_pytorch_job

PIPELINE_EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "pipelines" / "training_pipeline.py"
"""The training pipeline's source (KFP v2 DSL), loaded by :func:`pipeline_example`."""

GPU_EXAMPLE_FILES = ("gpu-pod.yaml", "pytorchjob.yaml")
"""File names :func:`gpu_examples` renders, in this order."""

POD_GPUS = 4
"""GPUs of the single training pod (the design's 4-GPU pod on the A100 pool)."""
JOB_WORKERS, JOB_GPUS = 3, 4
"""The design's distributed PyTorchJob: 1 master + 3 workers x 4 GPUs (16 GPUs on two 8-GPU nodes)."""
NO_SIDECAR = {"sidecar.istio.io/inject": "false"}
"""Profile namespaces inject Istio sidecars; a batch pod with a sidecar never completes, so opt out."""

GPU_CHECK = ("python", "-c", "import torch; n = torch.cuda.device_count(); print(f'{n} GPUs:', "
             "[torch.cuda.get_device_name(i) for i in range(n)]); assert n > 0")
"""The single pod's command: list the GPUs the pod got (fails without one)."""
DDP_CHECK = ("python", "-c", "import os, torch, torch.distributed as dist; dist.init_process_group('nccl'); "
             "r = dist.get_rank(); torch.cuda.set_device(int(os.environ.get('LOCAL_RANK', 0))); "
             "t = torch.ones(1, device='cuda'); dist.all_reduce(t); "
             "print(f'rank {r}/{dist.get_world_size()}: all_reduce = {t.item()}'); dist.destroy_process_group()")
"""Each PyTorchJob replica: join the process group (MASTER_ADDR/RANK from Training Operator v1) and all-reduce."""


@dataclass(frozen=True)
class WorkloadTarget:
    """Where an example runs: one environment's GPU pool, registry and profile namespace.

    Attributes:
        env: environment name.
        pool: the chosen GPU pool's :class:`GpuPoolRef` (the stack's own view of it).
        pool_nodes: nodes in that pool (``node_pools[].count``).
        mirror: the environment's registry mirror, or None (images stay upstream).
        namespace: the default Profile's namespace, where a user's workloads run.
        training_image: ``components.training.runtime_image`` (PyTorch with CUDA) through the mirror.
        python_image: a plain Python image through the mirror (pipeline steps without GPUs).
        bucket: the platform object store's first bucket (Pipelines' artifact bucket).
    """

    env: str
    pool: GpuPoolRef
    pool_nodes: int
    mirror: ImageMirror | None
    namespace: str
    training_image: str
    python_image: str
    bucket: str

    PYTHON_IMAGE = "python:3.11-slim-bookworm"
    """Upstream Python image of the non-GPU pipeline steps (Docker Hub official image; a minor-version tag, never :latest)."""

    @classmethod
    def for_env(cls, env: EnvironmentConfig, pool: str | None = None) -> "WorkloadTarget":
        """The target of ``env``: ``pool`` or its first GPU pool whose nodes offer >= 4 GPUs (else the first).

        Raises:
            ValueError: no GPU pool, or ``pool`` is not one of the environment's GPU pools.
        """
        gpu_pools = gpu_pool_refs(env.node_pools)
        if not gpu_pools:
            raise ValueError(f"environment {env.name!r} has no GPU pool (node_pools[].kind: gpu)")
        if pool is not None:
            chosen = next((p for p in gpu_pools if p.name == pool), None)
            if chosen is None:
                raise ValueError(f"environment {env.name!r} has no GPU pool {pool!r}; its GPU pools: "
                                 f"{', '.join(p.name for p in gpu_pools)}")
        else:
            chosen = next((p for p in gpu_pools if max(p.allocatable.values()) >= POD_GPUS), gpu_pools[0])
        training = env.components.training
        mirror = ImageMirror(env.registry.host, env.registry.pull_secret) if env.registry else None
        dashboard = env.components.dashboard
        namespace = dashboard.default_profile_name or profile_name_for(env.components.auth.user_email)

        def image(ref: str) -> str:
            return mirror.rehost_image(ref) if mirror else ref

        return cls(env=env.name, pool=chosen, pool_nodes=chosen.pool.count, mirror=mirror, namespace=namespace,
                   training_image=image(training.runtime_image), python_image=image(cls.PYTHON_IMAGE),
                   bucket=env.components.object_store.buckets[0])

    @property
    def pull_secrets(self) -> list[dict[str, str]]:
        """``imagePullSecrets`` of every example pod (empty without a mirror secret)."""
        return self.mirror.pull_secrets if self.mirror else []


def _with_pod_extras(template: dict[str, Any], target: WorkloadTarget) -> dict[str, Any]:
    """A pod template (``{"spec": ...}``) plus the sidecar opt-out and the mirror's pull secret."""
    out = copy.deepcopy(template)
    out.setdefault("metadata", {}).setdefault("annotations", {}).update(NO_SIDECAR)
    if target.pull_secrets:
        out["spec"]["imagePullSecrets"] = target.pull_secrets
    return out


def gpu_pod(target: WorkloadTarget, *, name: str = "gpu-check", gpus: int | None = None) -> dict[str, Any]:
    """A Pod asking for ``gpus`` GPUs of the target pool (default: the design's 4, or all of one node if fewer).

    Raises:
        ValueError: ``gpus`` exceeds what one node of the pool offers.
    """
    p = target.pool
    gpus = min(POD_GPUS, p.gpus_per_node) if gpus is None else gpus
    if not 1 <= gpus <= p.gpus_per_node:
        raise ValueError(f"a pod asks for {gpus} {p.gpu_resource} but pool {p.name!r} nodes offer {p.gpus_per_node}")
    template = {"spec": {**p.pod_fragment(), "restartPolicy": "Never",
                         "containers": [{"name": "train", "image": target.training_image, "command": list(GPU_CHECK),
                                         "resources": {"limits": {p.gpu_resource: gpus}}}]}}
    template = _with_pod_extras(template, target)
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": target.namespace, **template["metadata"]},
            "spec": template["spec"]}


def pytorch_job(target: WorkloadTarget, *, name: str = "ddp-check", workers: int | None = None,
                gpus: int | None = None) -> dict[str, Any]:
    """The design's PyTorchJob (Training Operator v1): 1 master + ``workers`` x ``gpus`` GPUs on the target pool.

    Defaults: 1 master + 3 workers x 4 GPUs; on a smaller pool, ``gpus`` is capped at one node's GPUs and
    the replicas at what the whole pool holds (a dev pool of one 1-GPU node gets a master alone).

    Built by :func:`kfstack.constructs.training.construct.pytorch_job` (the stack's own builder), plus the sidecar opt-out
    and the registry's pull secret.

    Raises:
        ValueError: ``gpus`` exceeds one node of the pool.
    """
    p = target.pool
    gpus = min(JOB_GPUS, p.gpus_per_node) if gpus is None else gpus
    if workers is None:
        per_node = p.gpus_per_node // max(gpus, 1)
        workers = max(0, min(JOB_WORKERS, per_node * target.pool_nodes - 1))
    job = pool_pytorch_job(target.pool, name, target.namespace, image=target.training_image, workers=workers,
                           gpus=gpus, command=DDP_CHECK)
    for spec in job["spec"]["pytorchReplicaSpecs"].values():
        spec["template"] = _with_pod_extras(spec["template"], target)
    return job


def gpu_examples(target: WorkloadTarget) -> dict[str, str]:
    """``examples/gpu/<env>/``: file name → YAML of the GPU pod and the PyTorchJob, with a header comment."""
    head = (f"# Rendered by `kfstack example gpu {target.env}` for environment {target.env!r}: pool "
            f"{target.pool.name!r}, namespace {target.namespace!r}. Do not edit; re-render instead.\n")
    docs = {"gpu-pod.yaml": gpu_pod(target), "pytorchjob.yaml": pytorch_job(target)}
    return {f: head + yaml.safe_dump(docs[f], sort_keys=False) for f in GPU_EXAMPLE_FILES}


def pipeline_example() -> ModuleType:
    """``examples/pipelines/training_pipeline.py`` as a module (``build_pipeline``, ``compile_pipeline``, ...).

    Raises:
        FileNotFoundError: the checkout has no ``examples/`` folder (kfstack runs from its repository).
    """
    name = "kfstack_example_training_pipeline"
    if name in sys.modules:
        return sys.modules[name]
    if not PIPELINE_EXAMPLE.is_file():
        raise FileNotFoundError(f"{PIPELINE_EXAMPLE} not found: run kfstack from its repository checkout")
    spec = importlib.util.spec_from_file_location(name, PIPELINE_EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
