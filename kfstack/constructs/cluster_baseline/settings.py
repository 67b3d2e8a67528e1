"""Settings of the cluster baseline (importable without cdktf)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from kfstack.model import ComponentSettings, DnsLabel, KeyPath, LabelKey, LabelValue, PodSecurityLevel, Settings

"""A Kubernetes label value (<= 63 chars, alphanumerics with ``-_.`` inside)."""

RESERVED_LABEL_PREFIXES = ("pod-security.kubernetes.io/", "app.kubernetes.io/managed-by", "kubernetes.io/metadata.name")
"""Namespace labels kfstack or Kubernetes set itself (PSA comes from ``pod_security``)."""

UPSTREAM_POD_SECURITY = {"kubeflow": PodSecurityLevel.restricted}
"""Pod Security level upstream enforces on its shared namespaces: kubeflow/manifests 26.03
``common/kubeflow-namespace/base/kubeflow/namespace.yaml`` (``pod-security.kubernetes.io/enforce:
restricted``). Production may run a namespace lower only with ``pod_security_reason``."""

KUBEFLOW_NAMESPACE_LABELS = {"control-plane": "kubeflow", "istio-injection": "enabled"}
"""Non-PSA labels of kubeflow/manifests 26.03 ``common/kubeflow-namespace/base/kubeflow/namespace.yaml``
(upstream's PSA label there is ``pod-security.kubernetes.io/enforce: restricted``)."""


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
    pod_security_reason: str | None = Field(
        None, min_length=10, max_length=500,
        description="Why this namespace runs below upstream's Pod Security level (kubeflow: restricted), e.g. "
        "the workload that needs it. Production refuses a lower level without it. Default none.",
    )
    labels: dict[LabelKey, LabelValue] = Field(
        default_factory=dict,
        description="Extra namespace labels, e.g. istio-injection: enabled (Istio sidecars for every pod). "
        "Pod Security labels come from pod_security, never from here. Default none.",
    )

    @model_validator(mode="after")
    def _no_reserved_labels(self) -> "SharedNamespace":
        reserved = sorted(k for k in self.labels if k.startswith(RESERVED_LABEL_PREFIXES))
        if reserved:
            raise ValueError(f"namespace {self.name!r}: labels {reserved} are set by kfstack or Kubernetes "
                             "(Pod Security Admission from pod_security); remove them from 'labels'")
        return self


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
              - name: kubeflow
                pod_security: baseline
                labels: {control-plane: kubeflow, istio-injection: enabled}
    """

    shared_namespaces: tuple[SharedNamespace, ...] = Field(
        (SharedNamespace(name="kubeflow", pod_security=PodSecurityLevel.baseline, labels=KUBEFLOW_NAMESPACE_LABELS),),
        description="Namespaces shared by the Kubeflow applications. Default: kubeflow (baseline, "
        "upstream's control-plane and istio-injection labels).",
    )
    priority_classes: PriorityClasses = Field(
        PriorityClasses(), description="PriorityClass values. Default platform > serving > training."
    )

    def creates_namespaces(self) -> dict[KeyPath, str]:
        """The shared namespaces, by their place in the list."""
        return {("shared_namespaces", i): ns.name for i, ns in enumerate(self.shared_namespaces)}
