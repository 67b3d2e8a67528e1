"""Training construct: Trainer v2 (chart), Training Operator v1 (kustomize), per-pool GPU scheduling.

Trainer v2: chart ``kubeflow-trainer`` 2.1.0 (oci://ghcr.io/kubeflow/charts;
``charts/kubeflow-trainer`` in kubeflow/trainer tag v2.1.0). It bundles JobSet
as the subchart ``jobset`` 0.10.1 (oci://registry.k8s.io/jobset/charts,
condition ``jobset.install``); LeaderWorkerSet is used only by Trainer's
data-cache overlay, which Kubeflow 26.03 does not install, so it is not
installed here. CRDs sit in the chart's ``crds/`` folder. Value keys used:
``jobset.install``, and for a registry mirror ``image.registry``,
``image.repository``, ``image.pullSecrets`` (list of ``{name}``),
``jobset.image.repository``, ``jobset.image.tag``, ``jobset.image.pullSecrets``
(jobset chart 0.10.1 ``values.yaml``; its release packaging sets the image to
``registry.k8s.io/jobset/jobset:v0.10.1``).

Training Operator v1 1.9.2 (PyTorchJob, ``kubeflow.org/v1``) is kustomize-only:
kubeflow/manifests 26.03 ``applications/training-operator/upstream/overlays/kubeflow``,
rendered by :meth:`ChartSource.kustomize` into local charts (CRD charts first)
that are installed in order.

GPU scheduling comes from the node pools: each GPU pool's
:class:`~kfstack.constructs.core.refs.GpuPoolRef` (``ClusterHandle.gpu_pools``) holds the node
selector, tolerations, GPU resource and the ``training`` PriorityClass. kfstack publishes them as
the ConfigMap ``kfstack-training-scheduling`` (one YAML pod-spec fragment per
pool) and, with Trainer v2, as a ClusterTrainingRuntime
``torch-distributed-<pool>`` per pool (through the raw-manifests chart after
the trainer release, whose CRDs and webhook it needs). A TrainJob naming that
runtime lands on the pool; a PyTorchJob copies the fragment into each replica
(see :func:`pytorch_job`). Both wait for the GPU Operator when it is installed
(``gpu_operator``: its :class:`~kfstack.constructs.core.refs.GpuOperatorRef`).
"""

from __future__ import annotations

from typing import Any, Sequence

import yaml
from kfstack.cdk import ConfigMapV1, ConfigMapV1Metadata, Construct, ITerraformDependable

from kfstack.constructs.cluster_baseline.node_pools import POOL_LABEL
from kfstack.constructs.core import ClusterHandle, GpuPoolRef, HelmChart, NamespaceRef
from kfstack.constructs.core.refs import GpuOperatorRef
from kfstack.constructs.core.namespace import MANAGED_BY
from kfstack.constructs.core.kustomize import KustomizeReleases
from kfstack.constructs.core.wiring import component_namespace, unique
from kfstack.constructs.training.settings import TrainingSettings
from kfstack.model import PodSecurityLevel
from kfstack.sources.charts import ChartSource

SCHEDULING_CONFIG_MAP = "kfstack-training-scheduling"
"""ConfigMap of per-pool scheduling fragments (data key ``<pool>.yaml``)."""
RUNTIME_PREFIX = "torch-distributed-"
"""Per-pool ClusterTrainingRuntime names: ``torch-distributed-<pool>``."""
TRAINER_IMAGE = "ghcr.io/kubeflow/trainer/trainer-controller-manager"
"""Chart defaults image.registry ghcr.io + image.repository kubeflow/trainer/trainer-controller-manager."""
JOBSET_IMAGE = "registry.k8s.io/jobset/jobset"
JOBSET_TAG = "v0.10.1"
"""The JobSet image the kubeflow-trainer 2.1.0 chart's jobset 0.10.1 subchart runs."""
V1_BASE = "training-operator"
"""Kustomize base of Training Operator v1 in sources.lock."""


def pytorch_job(pool: GpuPoolRef, name: str, namespace: str, *, image: str, workers: int, gpus: int,
                command: Sequence[str] = ()) -> dict[str, Any]:
    """A PyTorchJob (``kubeflow.org/v1``, Training Operator 1.9.2) on ``pool``: one Master and
    ``workers`` Workers, each with ``gpus`` of ``pool.gpu_resource`` and the pool's pod fragment.

    Example: 1 master + 3 workers x 4 GPUs on an 8-GPU A100 pool →
    ``pytorch_job(training.pools["gpu-a100"], "ddp", "team-a", image=..., workers=3, gpus=4)``.

    Raises:
        ValueError: ``gpus`` exceeds one node (a replica runs on one node), or is < 1; ``workers`` < 0.
    """
    if not 1 <= gpus <= pool.gpus_per_node:
        raise ValueError(f"a replica asks for {gpus} {pool.gpu_resource} but pool {pool.name!r} nodes offer "
                         f"{pool.gpus_per_node}; use 1..{pool.gpus_per_node} per replica and more workers")
    if workers < 0:
        raise ValueError(f"workers must be >= 0, got {workers}")

    def replica(count: int) -> dict[str, Any]:
        container: dict[str, Any] = {"name": "pytorch", "image": image,
                                     "resources": {"limits": {pool.gpu_resource: gpus}}}
        if command:
            container["command"] = list(command)
        return {"replicas": count, "restartPolicy": "OnFailure",
                "template": {"spec": {**pool.pod_fragment(), "containers": [container]}}}

    specs = {"Master": replica(1)}
    if workers:
        specs["Worker"] = replica(workers)
    return {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"pytorchReplicaSpecs": specs}}


def runtime_name(pool: GpuPoolRef) -> str:
    """The pool's ClusterTrainingRuntime (Trainer v2): ``torch-distributed-<pool>``."""
    return f"{RUNTIME_PREFIX}{pool.name}"


def scheduling_data(pools: Sequence[GpuPoolRef], *, runtimes: bool) -> dict[str, str]:
    """ConfigMap data: ``<pool>.yaml`` → the pool's pod fragment plus its GPU resource (and, with
    ``runtimes``, its ClusterTrainingRuntime), as YAML."""
    out: dict[str, str] = {}
    for p in pools:
        doc = {**p.pod_fragment(), "gpuResource": p.gpu_resource, "gpusPerNode": p.gpus_per_node}
        if runtimes:
            doc["clusterTrainingRuntime"] = runtime_name(p)
        out[f"{p.name}.yaml"] = yaml.safe_dump(doc, sort_keys=True)
    return out


def training_runtime(p: GpuPoolRef, image: str) -> dict[str, Any]:
    """ClusterTrainingRuntime ``torch-distributed-<pool>`` (trainer.kubeflow.org/v1alpha1, Trainer 2.1.0),
    shaped like upstream's ``torch-distributed`` runtime plus the pool's scheduling."""
    return {
        "apiVersion": "trainer.kubeflow.org/v1alpha1",
        "kind": "ClusterTrainingRuntime",
        "metadata": {"name": runtime_name(p), "labels": {"trainer.kubeflow.org/framework": "torch",
                                                         POOL_LABEL: p.name, **MANAGED_BY}},
        "spec": {
            "mlPolicy": {"numNodes": 1, "torch": {"numProcPerNode": "auto"}},
            "template": {"spec": {"replicatedJobs": [{
                "name": "node",
                "template": {
                    "metadata": {"labels": {"trainer.kubeflow.org/trainjob-ancestor-step": "trainer"}},
                    "spec": {"template": {"spec": {**p.pod_fragment(),
                                                   "containers": [{"name": "node", "image": image}]}}},
                },
            }]}},
        },
    }


def _trainer_values(cluster: ClusterHandle) -> dict[str, Any]:
    """Chart values for kubeflow-trainer 2.1.0 (keys from its values.yaml and the jobset 0.10.1 subchart's)."""
    values: dict[str, Any] = {"jobset": {"install": True}}
    mirror = cluster.mirror
    if mirror is not None:
        values["image"] = {"registry": mirror.host, "repository": TRAINER_IMAGE.split("/", 1)[1]}
        values["jobset"]["image"] = {"repository": mirror.rehost(JOBSET_IMAGE), "tag": JOBSET_TAG}
        if mirror.pull_secrets:
            values["image"]["pullSecrets"] = mirror.pull_secrets
            values["jobset"]["image"]["pullSecrets"] = mirror.pull_secrets
    return values


class Training(Construct):
    """Kubeflow training operators and the GPU scheduling conventions of every GPU pool.

    Example::

        trainer, v1 = TrainingSettings.INSTALLS
        training = Training(stack, "Training", cluster=baseline.handle,
                            trainer_source=ChartSource(resolver, "2.1.0", trainer),
                            v1_source=ChartSource(resolver, "1.9.2", v1), settings=env.components.training,
                            scheduling_namespace=baseline.handle.shared_namespaces["kubeflow"],
                            v1_namespace=baseline.handle.shared_namespaces["kubeflow"], gpu_operator=gpu.ref)
        pytorch_job(training.pools["gpu-a100"], "ddp", "team-a", image=..., workers=3, gpus=4)

    Args:
        trainer_source: charts at the Trainer version (``kubeflow-trainer``; raw-manifests); required
            with ``settings.trainer_v2`` (the stack passes what ``settings.installs()`` declares).
        v1_source: sources at the Training Operator v1 version (kustomize base ``training-operator``);
            required with ``settings.training_operator_v1``.
        scheduling_namespace: the shared namespace ``settings.scheduling_namespace`` (validation:
            ``TrainingSettings.uses_shared_namespaces``).
        v1_namespace: the shared namespace ``settings.v1_namespace``; required with
            ``settings.training_operator_v1``.
        depends_on: what must exist first (cert-manager, Istio).
        gpu_operator: the GPU Operator's ref, or None when kfstack does not install it; the
            per-pool runtimes and the scheduling ConfigMap (what GPU jobs are told to use)
            wait for its ``ready``.

    Attributes:
        pools: :class:`GpuPoolRef` by GPU pool name (the cluster baseline's).
        trainer: the kubeflow-trainer release (None without trainer_v2).
        runtimes: the per-pool ClusterTrainingRuntimes release (None without trainer_v2 or GPU pools).
        v1_releases: Training Operator v1 releases in install order (empty without it).
        scheduling: the ``kfstack-training-scheduling`` ConfigMap (None without GPU pools).
        ready: training jobs can be submitted once these are applied.

    Raises:
        SourceError: a chart or kustomize base is not pinned, vendored or renderable.
    """

    def __init__(self, scope: Construct, id_: str, *, cluster: ClusterHandle, settings: TrainingSettings,
                 scheduling_namespace: NamespaceRef, v1_namespace: NamespaceRef | None = None,
                 trainer_source: ChartSource | None = None, v1_source: ChartSource | None = None,
                 depends_on: Sequence[ITerraformDependable] = (), gpu_operator: GpuOperatorRef | None = None) -> None:
        super().__init__(scope, id_)
        timeout = settings.install_timeout_s
        runtime_image = cluster.mirror.rehost_image(settings.runtime_image) if cluster.mirror else settings.runtime_image
        self.pools: dict[str, GpuPoolRef] = {p.name: p for p in cluster.gpu_pools}
        gpu_ready = list(gpu_operator.ready) if gpu_operator is not None else []
        ready: list[ITerraformDependable] = []

        self.trainer: HelmChart | None = None
        self.runtimes: HelmChart | None = None
        if settings.trainer_v2:
            assert trainer_source is not None, "trainer_v2 needs trainer_source (TrainingSettings.installs)"
            ns = component_namespace(self, cluster, settings.namespace, PodSecurityLevel.baseline)
            self.trainer = HelmChart(self, "Trainer", cluster=cluster, chart=trainer_source.chart("kubeflow-trainer"),
                                     release_name="kubeflow-trainer", namespace=ns, values=_trainer_values(cluster),
                                     timeout_s=timeout, depends_on=unique(list(depends_on)))
            ready.append(self.trainer.resource)
            if self.pools:
                self.runtimes = HelmChart(
                    self, "Runtimes", cluster=cluster, chart=trainer_source.project_chart("raw-manifests"),
                    release_name="kfstack-training-runtimes", namespace=ns,
                    values={"manifests": [training_runtime(p, runtime_image) for p in self.pools.values()]},
                    timeout_s=timeout, depends_on=[self.trainer.resource, *gpu_ready])
                ready.append(self.runtimes.resource)

        self.v1_releases: list[HelmChart] = []
        if settings.training_operator_v1:
            assert v1_source is not None, "training_operator_v1 needs v1_source (TrainingSettings.installs)"
            assert v1_namespace is not None, "training_operator_v1 needs v1_namespace (uses_shared_namespaces)"
            v1_ns = v1_namespace
            v1 = KustomizeReleases(self, "TrainingOperator", cluster=cluster, base=V1_BASE,
                                   charts=v1_source.kustomize(V1_BASE), namespace=v1_ns, timeout_s=timeout,
                                   depends_on=unique(list(depends_on)))
            self.v1_releases = v1.releases
            ready.append(v1.last)

        self.scheduling: ConfigMapV1 | None = None
        if self.pools:
            sched_ns = scheduling_namespace
            self.scheduling = ConfigMapV1(
                self, "Scheduling", provider=cluster.kubernetes,
                metadata=ConfigMapV1Metadata(name=SCHEDULING_CONFIG_MAP, namespace=sched_ns.name,
                                             labels=dict(MANAGED_BY)),
                data=scheduling_data(list(self.pools.values()), runtimes=settings.trainer_v2),
                depends_on=[*sched_ns.ready, *gpu_ready])
            ready.append(self.scheduling)
        self.ready = tuple(ready)
