"""Settings of the cluster baseline (importable without cdktf): shared namespaces, PriorityClasses,
the registry mirror. Node pools and their GPUs are in :mod:`kfstack.constructs.cluster_baseline.node_pools`."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field, StringConstraints, field_validator, model_validator

from kfstack.model import (
    KUBEFLOW_LINE, ComponentSettings, ComponentsView, DnsLabel, Installs, KeyPath, LabelKey, LabelValue,
    PodSecurityLevel, Settings, WiringProblem,
)

"""A Kubernetes label value (<= 63 chars, alphanumerics with ``-_.`` inside)."""

RESERVED_LABEL_PREFIXES = ("pod-security.kubernetes.io/", "app.kubernetes.io/managed-by", "kubernetes.io/metadata.name")
"""Namespace labels kfstack or Kubernetes set itself (PSA comes from ``pod_security``)."""

KUBEFLOW_NAMESPACE = "kubeflow"
"""The shared namespace upstream's Kubeflow applications install into (fixed in its kustomizations)."""

UPSTREAM_POD_SECURITY = {KUBEFLOW_NAMESPACE: PodSecurityLevel.restricted}
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


_DNS_NAME = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
RegistryHost = Annotated[str, StringConstraints(
    pattern=rf"^{_DNS_NAME}(?::[0-9]{{1,5}})?(?:/{_PATH_COMPONENT})*/?$", max_length=255)]
"""A registry host, optional port and optional repository path prefix, as an image reference
starts (the distribution/reference grammar: lower-case DNS name; path components of
lower-case letters and digits joined by ``.``, ``_``, ``__`` or dashes). No ``//``, no scheme."""


class RegistryMirror(Settings):
    """An internal container registry that mirrors every image the platform runs.

    When set, components rewrite their image registries to ``host`` and add
    ``pull_secret`` (a Secret the site creates; kfstack only references it).
    """

    host: RegistryHost = Field(
        ..., description="Registry host[:port][/path], e.g. registry.internal or registry.internal:5000/mirror "
        "(no scheme; a trailing / is dropped). Required."
    )
    pull_secret: DnsLabel | None = Field(None, description="Name of an image pull Secret. Default none.")

    @field_validator("host")
    @classmethod
    def _normal_host(cls, host: str) -> str:
        """Drop a trailing ``/`` (images become ``<host>/<path>``, never ``<host>//<path>``); check the port."""
        host = host.rstrip("/")
        name, _, rest = host.partition("/")
        port = name.partition(":")[2]
        if port and not 1 <= int(port) <= 65535:
            raise ValueError(f"port {port} is not a TCP port (1-65535)")
        return host


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

    INSTALLS: ClassVar[tuple[Installs, ...]] = (Installs(KUBEFLOW_LINE, kustomize=("kubeflow-namespace",)),)
    """Upstream's kubeflow namespace policies, versioned with the Kubeflow line (``release.kubeflow``)."""

    shared_namespaces: tuple[SharedNamespace, ...] = Field(
        (SharedNamespace(name=KUBEFLOW_NAMESPACE, pod_security=PodSecurityLevel.baseline,
                         labels=KUBEFLOW_NAMESPACE_LABELS),),
        description="Namespaces shared by the Kubeflow applications. Default: kubeflow (baseline, "
        "upstream's control-plane and istio-injection labels).",
    )
    priority_classes: PriorityClasses = Field(
        PriorityClasses(), description="PriorityClass values. Default platform > serving > training."
    )
    kubeflow_network_policies: bool = Field(
        True,
        description="Install upstream's NetworkPolicies of the kubeflow namespace (kubeflow/manifests 26.03 "
        "common/kubeflow-namespace/base/kubeflow: default-allow-same-namespace plus one allow-list per "
        "application; sources.lock kustomize entry kubeflow-namespace). Needs the shared namespace kubeflow. "
        "Default true.",
    )

    def installs(self) -> tuple[Installs, ...]:
        """Upstream's kubeflow namespace policies with :attr:`kubeflow_network_policies`, else nothing."""
        return self.INSTALLS if self.kubeflow_network_policies else ()

    def creates_namespaces(self) -> dict[KeyPath, str]:
        """The shared namespaces, by their place in the list."""
        return {("shared_namespaces", i): ns.name for i, ns in enumerate(self.shared_namespaces)}

    def requirements(self, components: ComponentsView) -> list[WiringProblem]:
        """Upstream's kubeflow namespace policies (:attr:`kubeflow_network_policies`) need the shared namespace
        ``kubeflow``: their namespace is fixed upstream."""
        if self.kubeflow_network_policies and KUBEFLOW_NAMESPACE not in {ns.name for ns in self.shared_namespaces}:
            return [(("cluster_baseline", "kubeflow_network_policies"),
                     f"kubeflow_network_policies installs upstream's policies of the namespace {KUBEFLOW_NAMESPACE!r} "
                     "(their namespace is fixed upstream), which is not in shared_namespaces; add it or set "
                     "kubeflow_network_policies: false")]
        return []
