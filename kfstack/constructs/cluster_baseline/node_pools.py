"""Node pools and their GPUs: the cluster baseline's view of the nodes (importable without cdktf).

An environment's ``node_pools`` list (key unchanged in the environment files) is validated with
these models; the cluster baseline turns each GPU pool into a
:class:`~kfstack.constructs.core.refs.GpuPoolRef`, the one view workloads, the GPU Operator and
the storage drivers read. Facts about GPU products come from :mod:`kfstack.constructs.cluster_baseline.gpus`
(NVIDIA's MIG user guide); label names from the GPU Operator v25.10.1 and the k8s device plugin v0.18.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Iterable, Sequence

from pydantic import Field, StringConstraints, model_validator

from kfstack.constructs.cluster_baseline.gpus import MIG_GPUS, instance_profile, profile_slices
from kfstack.model import DnsLabel, LabelKey, LabelValue, Settings, Taint


class GpuSharing(str, Enum):
    """How pods share a GPU node's GPUs.

    - exclusive: one pod per GPU (no sharing).
    - time-slicing: ``time_slicing_replicas`` pods share each GPU in turn
      (device plugin config, node label ``nvidia.com/device-plugin.config``).
    - mig: each GPU is split into MIG instances (``mig_devices``) by the MIG
      manager (node label ``nvidia.com/mig.config``).
    """

    exclusive = "exclusive"
    time_slicing = "time-slicing"
    mig = "mig"


class MigStrategy(str, Enum):
    """How MIG instances are advertised (GPU Operator chart key ``mig.strategy``).

    single: every GPU of a node has one MIG profile, advertised as ``nvidia.com/gpu``;
    mixed: profiles may differ, each advertised as ``nvidia.com/mig-<profile>``.
    """

    single = "single"
    mixed = "mixed"


GpuProduct = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=63)]

MIG_SLICES = 7
"""Compute slices of the largest MIG-capable GPUs (A100, H100, H200); an upper bound for any layout.
Each product's own count is in :data:`kfstack.constructs.cluster_baseline.gpus.MIG_GPUS`."""

MigProfile = Annotated[str, StringConstraints(pattern=r"^[1-7](c\.[1-7])?g\.[0-9]+gb(\+[a-z]+)?$")]
"""A MIG profile as nvidia-smi names it, e.g. ``1g.10gb``, ``3g.40gb``, ``1g.10gb+me``."""

DEVICE_PLUGIN_CONFIG_LABEL = "nvidia.com/device-plugin.config"
"""Node label the GPU Operator's device plugin reads to pick its per-node config (time-slicing)."""
MIG_CONFIG_LABEL = "nvidia.com/mig.config"
"""Node label the GPU Operator's MIG manager reads to pick a MIG layout."""
POOL_LABEL = "kfstack.io/node-pool"
"""Node label naming a node's pool."""
MIG_DISABLED_CONFIG = "all-disabled"
"""MIG layout the GPU Operator applies to nodes without a ``nvidia.com/mig.config`` label."""


class GpuSpec(Settings):
    """The GPUs of every node in a GPU pool, and how pods share them.

    ``product`` is the GPU model as NVIDIA GPU Feature Discovery names it
    (e.g. ``NVIDIA-A100-SXM4-80GB``); ``per_node`` is the number of physical
    GPUs per node. What GFD writes into ``nvidia.com/gpu.product`` depends on
    sharing (``<product>-SHARED`` for time-slicing, ``<product>-MIG-<profile>``
    for MIG single): see :attr:`discovered_product`.

    Example (4 pods per GPU)::

        gpu: {product: Tesla-T4, per_node: 1, sharing: time-slicing, time_slicing_replicas: 4}

    Example (MIG, 7 x 1g.10gb per A100 80GB)::

        gpu: {product: NVIDIA-A100-SXM4-80GB, per_node: 8, sharing: mig,
              mig_strategy: single, mig_devices: {1g.10gb: 7}}

    Raises (as a config error): sharing fields that do not belong to the
    chosen mode, a missing field the mode needs, or several profiles with MIG single.
    """

    product: GpuProduct
    per_node: int = Field(..., ge=1, le=16, description="Physical GPUs per node. Required.")
    sharing: GpuSharing = Field(GpuSharing.exclusive, description="GPU sharing mode. Default exclusive.")
    time_slicing_replicas: int | None = Field(
        None, ge=2, le=64,
        description="Pods per GPU with sharing time-slicing (device plugin sharing.timeSlicing.resources[].replicas). "
        "Required for time-slicing, forbidden otherwise.",
    )
    mig_strategy: MigStrategy | None = Field(
        None, description="single or mixed (chart key mig.strategy, one value per cluster). Required for mig, forbidden otherwise.",
    )
    mig_devices: dict[MigProfile, Annotated[int, Field(ge=1, le=7)]] | None = Field(
        None,
        description="MIG instances per GPU by profile, e.g. {1g.10gb: 7} (mig-parted mig-devices). "
        "Required for mig (exactly one profile with mig_strategy single), forbidden otherwise.",
    )

    @model_validator(mode="after")
    def _fields_match_sharing(self) -> "GpuSpec":
        mode = self.sharing.value
        if self.sharing is not GpuSharing.time_slicing and self.time_slicing_replicas is not None:
            raise ValueError(f"time_slicing_replicas applies only to sharing time-slicing (sharing is {mode}); remove it")
        if self.sharing is not GpuSharing.mig:
            for key in ("mig_strategy", "mig_devices"):
                if getattr(self, key) is not None:
                    raise ValueError(f"{key} applies only to sharing mig (sharing is {mode}); remove it")
        if self.sharing is GpuSharing.time_slicing and self.time_slicing_replicas is None:
            raise ValueError("sharing time-slicing needs time_slicing_replicas (pods per GPU, >= 2)")
        if self.sharing is GpuSharing.mig:
            if self.mig_strategy is None:
                raise ValueError("sharing mig needs mig_strategy: single or mixed")
            if not self.mig_devices:
                raise ValueError("sharing mig needs mig_devices, MIG instances per GPU by profile, e.g. {1g.10gb: 7}")
            if self.mig_strategy is MigStrategy.single and len(self.mig_devices) != 1:
                raise ValueError(f"mig_strategy single allows one profile per GPU, got {sorted(self.mig_devices)}; "
                                 "use mig_strategy mixed for several")
            # Only the products of the MIG user guide's tables offer MIG, each with its own
            # profiles and compute slices (7; the A30 has 4); profile "<g>g.<mem>gb" takes g
            # slices. A layout the GPU does not offer or cannot fit is never applied by mig-parted.
            gpu = MIG_GPUS.get(self.product)
            if gpu is None:
                raise ValueError(f"product {self.product!r} has no MIG support in kfstack's table of MIG-capable "
                                 f"GPUs ({', '.join(sorted(MIG_GPUS))}); use sharing time-slicing or exclusive, "
                                 "or check the product name (the nvidia.com/gpu.product label)")
            unknown = sorted(p for p in self.mig_devices if instance_profile(p) not in gpu.profiles)
            if unknown:
                raise ValueError(f"MIG profile(s) {unknown} do not exist on {self.product}; it offers "
                                 f"{', '.join(sorted(gpu.profiles, key=lambda x: (profile_slices(x), x)))}")
            slices = sum(profile_slices(p) * n for p, n in self.mig_devices.items())
            if slices > gpu.slices:
                raise ValueError(f"mig_devices {dict(sorted(self.mig_devices.items()))} need {slices} compute "
                                 f"slices per GPU; a GPU has {gpu.slices}")
        return self

    @property
    def discovered_product(self) -> str:
        """``nvidia.com/gpu.product`` as GPU Feature Discovery (device plugin v0.18) labels the node."""
        if self.sharing is GpuSharing.time_slicing:
            return f"{self.product}-SHARED"
        if self.sharing is GpuSharing.mig and self.mig_strategy is MigStrategy.single:
            assert self.mig_devices is not None
            (profile,) = self.mig_devices
            return f"{self.product}-MIG-{profile}"
        return self.product

    @property
    def allocatable(self) -> dict[str, int]:
        """Extended resources one node advertises, e.g. ``{"nvidia.com/gpu": 8}``.

        time-slicing multiplies ``nvidia.com/gpu`` by the replicas; MIG single
        advertises its instances as ``nvidia.com/gpu``; MIG mixed advertises
        ``nvidia.com/mig-<profile>`` per profile.
        """
        if self.sharing is GpuSharing.time_slicing:
            assert self.time_slicing_replicas is not None
            return {"nvidia.com/gpu": self.per_node * self.time_slicing_replicas}
        if self.sharing is GpuSharing.mig:
            assert self.mig_devices is not None
            if self.mig_strategy is MigStrategy.single:
                return {"nvidia.com/gpu": self.per_node * sum(self.mig_devices.values())}
            return {f"nvidia.com/mig-{p}": self.per_node * n for p, n in sorted(self.mig_devices.items())}
        return {"nvidia.com/gpu": self.per_node}

    @property
    def discovered_labels(self) -> dict[str, str]:
        """Labels GPU Feature Discovery writes on a real node (a simulated node must carry them itself)."""
        out = {"nvidia.com/gpu.present": "true", "nvidia.com/gpu.product": self.discovered_product}
        if self.sharing is GpuSharing.time_slicing:
            out["nvidia.com/gpu.count"] = str(self.per_node)
            out["nvidia.com/gpu.replicas"] = str(self.time_slicing_replicas)
            out["nvidia.com/gpu.sharing-strategy"] = "time-slicing"
        elif self.sharing is GpuSharing.mig and self.mig_strategy is MigStrategy.single:
            out["nvidia.com/gpu.count"] = str(self.allocatable["nvidia.com/gpu"])
        else:
            out["nvidia.com/gpu.count"] = str(self.per_node)
        return out


class NodePoolKind(str, Enum):
    """Whether a pool's nodes carry GPUs."""

    cpu = "cpu"
    gpu = "gpu"


class NodePool(Settings):
    """A group of identical nodes the cluster already has (kfstack does not provision nodes).

    Nodes of a pool carry :attr:`node_labels`: ``kfstack.io/node-pool: <name>``,
    ``labels``, and for GPU pools that share GPUs the label the GPU Operator
    reads (``nvidia.com/device-plugin.config`` or ``nvidia.com/mig.config``,
    value = pool name). Whoever provisions the nodes applies them (the site's
    node tooling; kwok nodes in the local control plane).
    """

    name: DnsLabel
    kind: NodePoolKind = Field(NodePoolKind.cpu, description="cpu or gpu. Default cpu.")
    count: int = Field(..., ge=1, le=5000, description="Nodes in the pool. Required.")
    labels: dict[LabelKey, LabelValue] = Field(
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
        if self.gpu is not None and self.gpu.sharing is GpuSharing.mig and self.name == MIG_DISABLED_CONFIG:
            raise ValueError(f"a MIG pool cannot be named {MIG_DISABLED_CONFIG!r}: the GPU Operator reserves that "
                             "MIG config name; rename the pool")
        reserved = {POOL_LABEL, DEVICE_PLUGIN_CONFIG_LABEL, MIG_CONFIG_LABEL} & set(self.labels)
        if reserved:
            raise ValueError(f"labels {sorted(reserved)} are set by kfstack from the pool name and gpu.sharing; "
                             "remove them from 'labels'")
        return self

    @property
    def node_labels(self) -> dict[str, str]:
        """Labels every node of this pool must carry (applied by whoever provisions the nodes).

        ``kfstack.io/node-pool``, ``labels``, and the GPU Operator's config
        selector: ``nvidia.com/device-plugin.config: <pool>`` for time-slicing,
        ``nvidia.com/mig.config: <pool>`` for MIG (config names = pool name).
        Labels GPU Feature Discovery writes itself are in ``gpu.discovered_labels``.
        """
        out = {POOL_LABEL: self.name, **self.labels}
        if self.gpu is not None and self.gpu.sharing is GpuSharing.time_slicing:
            out[DEVICE_PLUGIN_CONFIG_LABEL] = self.name
        if self.gpu is not None and self.gpu.sharing is GpuSharing.mig:
            out[MIG_CONFIG_LABEL] = self.name
        return dict(sorted(out.items()))

    @property
    def node_selector(self) -> dict[str, str]:
        """Node selector that picks exactly this pool's nodes.

        GPU pools add ``nvidia.com/gpu.product`` as GPU Feature Discovery
        writes it (``gpu.discovered_product``: ``-SHARED`` / ``-MIG-<profile>``
        suffixes), so pods never land on a node whose GPUs are not ready.
        """
        if self.gpu is not None:
            return {"nvidia.com/gpu.product": self.gpu.discovered_product, POOL_LABEL: self.name}
        return {POOL_LABEL: self.name}


def check_node_pools(pools: Sequence[NodePool]) -> None:
    """Rules across the pools of one cluster.

    Raises:
        ValueError: two pools share a name, or MIG pools disagree on ``mig_strategy`` (the GPU
            Operator's ``mig.strategy`` is one value per cluster); the message names the pools.
    """
    seen: set[str] = set()
    for pool in pools:
        if pool.name in seen:
            raise ValueError(f"duplicate node pool name {pool.name!r}: pool names must be unique")
        seen.add(pool.name)
    strategies = {p.gpu.mig_strategy.value: i for i, p in enumerate(pools)
                  if p.gpu is not None and p.gpu.mig_strategy is not None}
    if len(strategies) > 1:
        raise ValueError(
            "MIG pools disagree on mig_strategy ("
            + ", ".join(f"node_pools[{i}].gpu.mig_strategy is {s}" for s, i in sorted(strategies.items()))
            + "); the GPU Operator's mig.strategy is one value per cluster")


def cluster_mig_strategy(pools: Iterable[NodePool]) -> MigStrategy:
    """The cluster's MIG strategy: the MIG pools' (validated to agree), else single (the GPU Operator's default)."""
    return next((p.gpu.mig_strategy for p in pools if p.gpu is not None and p.gpu.mig_strategy is not None),
                MigStrategy.single)
