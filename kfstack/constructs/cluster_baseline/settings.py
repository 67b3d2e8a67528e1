"""Settings of the cluster baseline (importable without cdktf)."""

from __future__ import annotations

from pydantic import Field

from kfstack.model import ComponentSettings, DnsLabel, PodSecurityLevel, Settings


class SharedNamespace(Settings):
    """A namespace shared by several components (e.g. ``kubeflow``).

    Components with a namespace of their own (``cert-manager``,
    ``istio-system``) create it themselves; this list is for the ones many
    applications install into.
    """

    name: DnsLabel
    pod_security: PodSecurityLevel = Field(
        PodSecurityLevel.baseline,
        description="Pod Security Admission level enforced, audited and warned. Default baseline.",
    )


class PriorityClasses(Settings):
    """Values of the three PriorityClasses the baseline creates.

    Higher wins. The defaults keep platform services (controllers, gateways,
    databases) above serving, and serving above training, so a large
    training job never evicts the control plane of the platform. All stay
    below Kubernetes' system classes (2000000000).
    """

    platform: int = Field(1_000_000, ge=0, le=1_000_000_000, description="kfstack-platform. Default 1000000.")
    serving: int = Field(100_000, ge=0, le=1_000_000_000, description="kfstack-serving. Default 100000.")
    training: int = Field(10_000, ge=0, le=1_000_000_000, description="kfstack-training. Default 10000.")


class ClusterBaselineSettings(ComponentSettings):
    """The cluster baseline every other component stands on.

    Example (environment file)::

        components:
          cluster_baseline:
            shared_namespaces:
              - {name: kubeflow, pod_security: baseline}
    """

    shared_namespaces: tuple[SharedNamespace, ...] = Field(
        (SharedNamespace(name="kubeflow", pod_security=PodSecurityLevel.baseline),),
        description="Namespaces shared by the Kubeflow applications. Default: kubeflow (baseline).",
    )
    priority_classes: PriorityClasses = Field(
        PriorityClasses(), description="PriorityClass values. Default platform > serving > training."
    )
