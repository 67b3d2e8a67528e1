"""The typed model of one environment (``environments/base.yaml`` + ``<env>.yaml``).

Every model is frozen and rejects unknown keys. Cross-field rules live in
model validators; production guardrails live in :mod:`kfstack.config.guardrails` and run
after the model validates (they need the whole environment).
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Literal, Union

from pydantic import Field, StringConstraints, field_validator, model_validator

from kfstack.constructs.cert_manager.settings import CertManagerSettings
from kfstack.constructs.cluster_baseline.settings import ClusterBaselineSettings
from kfstack.constructs.istio.settings import IstioSettings
from kfstack.model import DnsLabel, LabelKey, Settings, Taint, Version


class Tier(str, Enum):
    """How an environment is treated. ``production`` turns on the guardrails."""

    development = "development"
    staging = "staging"
    production = "production"


class ClusterConnection(Settings):
    """How Terraform reaches the cluster. No credentials: only a kubeconfig path and context.

    Both the kubernetes and the helm provider read the same kubeconfig
    (provider arguments ``config_path`` and ``config_context``).
    """

    kubeconfig: str = Field("~/.kube/config", min_length=1, description="Path to the kubeconfig. Default ~/.kube/config.")
    context: str = Field(..., min_length=1, description="kubeconfig context of the target cluster. Required.")


class GpuSharing(str, Enum):
    """How pods share a GPU node's GPUs.

    exclusive: one pod per GPU (no sharing); time-slicing and mig arrive with the GPU Operator.
    """

    exclusive = "exclusive"
    time_slicing = "time-slicing"
    mig = "mig"


GpuProduct = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=63)]


class GpuSpec(Settings):
    """The GPUs of every node in a GPU pool, as the GPU Operator labels them.

    ``product`` is the value of node label ``nvidia.com/gpu.product``
    (e.g. ``NVIDIA-A100-SXM4-80GB``); ``per_node`` is ``nvidia.com/gpu.count``
    and the node's ``nvidia.com/gpu`` capacity.
    """

    product: GpuProduct
    per_node: int = Field(..., ge=1, le=16, description="GPUs per node (nvidia.com/gpu.count). Required.")
    sharing: GpuSharing = Field(GpuSharing.exclusive, description="GPU sharing mode. Default exclusive.")


class NodePoolKind(str, Enum):
    """Whether a pool's nodes carry GPUs."""

    cpu = "cpu"
    gpu = "gpu"


class NodePool(Settings):
    """A group of identical nodes the cluster already has (kfstack does not provision nodes).

    Nodes of a pool carry the label ``kfstack.io/node-pool: <name>`` plus
    ``labels``; GPU pools additionally carry the GPU Operator's labels.
    """

    name: DnsLabel
    kind: NodePoolKind = Field(NodePoolKind.cpu, description="cpu or gpu. Default cpu.")
    count: int = Field(..., ge=1, le=5000, description="Nodes in the pool. Required.")
    labels: dict[LabelKey, Annotated[str, StringConstraints(max_length=63)]] = Field(
        default_factory=dict, description="Extra node labels. Default none."
    )
    taints: tuple[Taint, ...] = Field((), description="Node taints. Default none.")
    gpu: GpuSpec | None = Field(None, description="GPUs per node; required for kind gpu, forbidden otherwise.")

    @model_validator(mode="after")
    def _gpu_matches_kind(self) -> "NodePool":
        if self.kind is NodePoolKind.gpu and self.gpu is None:
            raise ValueError(f"pool {self.name!r} is kind gpu but has no 'gpu' block (product, per_node)")
        if self.kind is NodePoolKind.cpu and self.gpu is not None:
            raise ValueError(f"pool {self.name!r} has a 'gpu' block but is not a GPU pool; set kind: gpu or remove 'gpu'")
        return self

    @property
    def node_selector(self) -> dict[str, str]:
        """Node selector that picks exactly this pool's nodes."""
        if self.gpu is not None:
            return {"nvidia.com/gpu.product": self.gpu.product, "kfstack.io/node-pool": self.name}
        return {"kfstack.io/node-pool": self.name}


class StorageSettings(Settings):
    """StorageClasses the platform's persistent volumes use."""

    default_class: DnsLabel = Field(
        ..., description="StorageClass for data services' PVCs (e.g. ceph-block, or the class a dev cluster has). Required."
    )


class RegistryMirror(Settings):
    """An internal container registry that mirrors every image the platform runs.

    When set, components rewrite their image registries to ``host`` and add
    ``pull_secret`` (a Secret the site creates; kfstack only references it).
    """

    host: Annotated[str, StringConstraints(pattern=r"^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._/-]+)?$")] = Field(
        ..., description="Registry host[:port][/path], e.g. registry.internal. Required."
    )
    pull_secret: DnsLabel | None = Field(None, description="Name of an image pull Secret. Default none.")


class SourceMode(str, Enum):
    """Where charts come from: public repositories, an internal mirror, or the local vendor cache."""

    upstream = "upstream"
    mirror = "mirror"
    vendored = "vendored"


class SourcesSettings(Settings):
    """How this environment reads the artifacts pinned in ``sources.lock``."""

    mode: SourceMode = Field(SourceMode.upstream, description="upstream, mirror or vendored. Default upstream.")
    mirror_url: Annotated[str, StringConstraints(pattern=r"^(https?|oci)://\S+$")] | None = Field(
        None, description="Internal chart repository (https://…) or OCI registry (oci://…). Required for mode mirror."
    )
    vendor_dir: str = Field("vendor", min_length=1, description="Vendor cache, relative to the project root. Default vendor.")

    @model_validator(mode="after")
    def _mirror_needs_url(self) -> "SourcesSettings":
        if self.mode is SourceMode.mirror and not self.mirror_url:
            raise ValueError("mode 'mirror' needs mirror_url (https://charts.internal/... or oci://registry.internal/charts)")
        return self


class LocalBackend(Settings):
    """Terraform state in a local file, relative to the project root."""

    type: Literal["local"] = "local"
    path: str | None = Field(None, description="State file, relative to the project root. Default state/<env>.tfstate.")


Backend = Annotated[Union[LocalBackend], Field(discriminator="type")]


class ReleaseVersions(Settings):
    """Application versions of one platform release (app versions, not chart versions).

    ``sources.lock`` maps each app version to its chart or source version and
    digest. Promotion (dev → staging → prod) moves this block.
    """

    cert_manager: Version
    istio: Version
    knative: Version
    gpu_operator: Version
    rook: Version
    mysql_operator: Version
    seaweedfs: Version
    pipelines: Version
    kserve: Version
    katib: Version
    trainer: Version
    training_operator: Version
    dashboard: Version
    profiles: Version
    notebooks: Version
    dex: Version
    oauth2_proxy: Version


class Release(Settings):
    """The release block: Kubeflow line plus every component version."""

    kubeflow: Version = Field(..., description="Kubeflow release line, e.g. 26.03. Required.")
    versions: ReleaseVersions


class Components(Settings):
    """Per-component settings; a key not listed here is an unknown component."""

    cluster_baseline: ClusterBaselineSettings = Field(ClusterBaselineSettings())
    cert_manager: CertManagerSettings = Field(CertManagerSettings())
    istio: IstioSettings = Field(IstioSettings())


class EnvironmentConfig(Settings):
    """One environment: base.yaml deep-merged with ``<name>.yaml``, validated.

    Raises (through the loader) :class:`kfstack.config.ConfigError` naming
    file, line and key path for any invalid value.
    """

    name: DnsLabel
    tier: Tier = Field(Tier.development, description="development, staging or production. Default development.")
    cluster: ClusterConnection
    node_pools: tuple[NodePool, ...] = Field(..., min_length=1)
    storage: StorageSettings
    registry: RegistryMirror | None = Field(None, description="Internal image registry mirror. Default none.")
    sources: SourcesSettings = Field(SourcesSettings())
    backend: Backend = Field(LocalBackend(), description="Terraform backend. Default local file.")
    release: Release
    components: Components = Field(Components())

    @field_validator("node_pools")
    @classmethod
    def _unique_pools(cls, pools: tuple[NodePool, ...]) -> tuple[NodePool, ...]:
        seen: set[str] = set()
        for pool in pools:
            if pool.name in seen:
                raise ValueError(f"duplicate node pool name {pool.name!r}: pool names must be unique")
            seen.add(pool.name)
        return pools

    @property
    def gpu_pools(self) -> tuple[NodePool, ...]:
        """The node pools with GPUs, in file order."""
        return tuple(p for p in self.node_pools if p.gpu is not None)
