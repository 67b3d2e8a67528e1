"""Settings of Kubeflow training (importable without cdktf).

Checked against the ``kubeflow-trainer`` chart 2.1.0 (oci://ghcr.io/kubeflow/charts;
``charts/kubeflow-trainer`` in kubeflow/trainer tag v2.1.0, which bundles the
``jobset`` chart 0.10.1 as a subchart) and Training Operator v1 1.9.2 as
kubeflow/manifests 26.03 installs it (kustomize
``applications/training-operator/upstream/overlays/kubeflow``).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from kfstack.model import ComponentSettings, DnsLabel, Installs, KeyPath


class TrainingSettings(ComponentSettings):
    """Training operators, and how training jobs reach the GPU node pools.

    ``trainer_v2`` installs Kubeflow Trainer v2 (TrainJob, ``trainer.kubeflow.org``;
    Kubeflow 26.03's default) with JobSet; ``training_operator_v1`` installs the
    Training Operator v1 (PyTorchJob, ``kubeflow.org/v1``). Both may run together.
    For every GPU pool kfstack publishes the pool's scheduling (node selector,
    tolerations, GPU resource, PriorityClass ``kfstack-training``) and, with
    Trainer v2, a ClusterTrainingRuntime ``torch-distributed-<pool>``.

    Example::

        components:
          training:
            enabled: true
            trainer_v2: true
            training_operator_v1: true     # PyTorchJob
    """

    INSTALLS: ClassVar[tuple[Installs, ...]] = (
        Installs("trainer", charts=("kubeflow-trainer",)),
        Installs("training_operator", kustomize=("training-operator",)),
    )

    enabled: bool = Field(False, description="Install training operators. Default false (base.yaml turns it on).")
    trainer_v2: bool = Field(True, description="Install Kubeflow Trainer v2 (chart kubeflow-trainer). Default true.")
    training_operator_v1: bool = Field(
        False,
        description="Install Training Operator v1 (PyTorchJob kubeflow.org/v1; kustomize base training-operator). "
        "Default false (Kubeflow 26.03 ships it commented out).",
    )
    namespace: DnsLabel = Field(
        "kubeflow-system",
        description="Namespace of Trainer v2 and JobSet (Kubeflow 26.03's kubeflow-system). Default kubeflow-system.",
    )
    v1_namespace: DnsLabel = Field(
        "kubeflow",
        description="Namespace of Training Operator v1, as its kubeflow overlay renders it; must be one of the "
        "baseline's shared namespaces. Default kubeflow.",
    )
    scheduling_namespace: DnsLabel = Field(
        "kubeflow",
        description="Namespace of the ConfigMap kfstack-training-scheduling (per-pool scheduling templates); must "
        "be one of the baseline's shared namespaces. Default kubeflow.",
    )
    runtime_image: str = Field(
        "pytorch/pytorch:2.7.1-cuda12.8-cudnn9-runtime", min_length=1, pattern=r"^\S+$",
        description="Image of the per-pool ClusterTrainingRuntimes (Docker Hub names allowed; rewritten to the "
        "registry mirror). Default Kubeflow Trainer 2.1.0's torch-distributed image.",
    )

    def installs(self) -> tuple[Installs, ...]:
        """Trainer v2's chart with ``trainer_v2``, Training Operator v1's base with ``training_operator_v1``."""
        wanted = {"trainer": self.trainer_v2, "training_operator": self.training_operator_v1}
        return tuple(i for i in self.INSTALLS if wanted[i.key])

    def uses_shared_namespaces(self) -> dict[KeyPath, str]:
        """The scheduling ConfigMap's namespace, and Training Operator v1's (its overlay renders into it)."""
        out: dict[KeyPath, str] = {("scheduling_namespace",): self.scheduling_namespace}
        if self.training_operator_v1:
            out[("v1_namespace",)] = self.v1_namespace
        return out

    @model_validator(mode="after")
    def _something_to_install(self) -> "TrainingSettings":
        if self.enabled and not (self.trainer_v2 or self.training_operator_v1):
            raise ValueError("training is enabled but trainer_v2 and training_operator_v1 are both false; "
                             "enable one of them or set enabled: false")
        return self
