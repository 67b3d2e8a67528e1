"""Settings of Rook-Ceph (importable without cdktf).

Checked against Rook v1.20.6: charts ``rook-ceph`` and ``rook-ceph-cluster``
(rook/rook ``deploy/charts``) and the Rook-compatible values for the
``ceph-csi-drivers`` chart 1.0.4 (ceph/ceph-csi-operator ``deploy/charts``;
rook/rook ``deploy/charts/ceph-csi-drivers/values.yaml``).
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, ClassVar

from pydantic import Field, StringConstraints, field_validator, model_validator

from kfstack.model import ComponentSettings, DnsLabel, Installs, KeyPath, Settings

DeviceName = Annotated[
    str, StringConstraints(pattern=r"^(/dev/[A-Za-z0-9._/:+-]+|[a-z][a-z0-9]*)$", max_length=255)
]
"""A disk as Rook names it: a kernel name (``sdb``, ``nvme0n1``) or a ``/dev/disk/by-id/...`` path."""

NodeName = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
]
"""A node's ``kubernetes.io/hostname`` label value (RFC 1123 subdomain)."""


class FailureDomain(str, Enum):
    """CRUSH failure domain of a pool: replicas never share one of these."""

    osd = "osd"
    host = "host"
    rack = "rack"
    zone = "zone"


class StorageNode(Settings):
    """A node whose listed disks become Ceph OSDs (chart key cephClusterSpec.storage.nodes[]).

    Rook wipes nothing it is not told to use: only ``devices`` are consumed.
    """

    name: NodeName = Field(..., description="The node's kubernetes.io/hostname label. Required.")
    devices: tuple[DeviceName, ...] = Field(
        (), description="Raw disks to use, e.g. [sdb, sdc]. Default none (allowed only with use_all_devices)."
    )

    @field_validator("devices")
    @classmethod
    def _unique_devices(cls, devices: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(devices)) != len(devices):
            raise ValueError(f"a device is listed twice in {list(devices)}")
        return devices


class BlockPoolSettings(Settings):
    """The replicated RBD pool behind the default StorageClass (chart key cephBlockPools[0])."""

    name: DnsLabel = Field("ceph-blockpool", description="CephBlockPool name. Default ceph-blockpool.")
    replicas: int = Field(3, ge=1, le=7, description="Copies of every object (spec.replicated.size). Default 3.")
    failure_domain: FailureDomain = Field(
        FailureDomain.host, description="Replicas on distinct hosts/racks/zones (spec.failureDomain). Default host."
    )
    reclaim_policy: str = Field(
        "Delete", pattern=r"^(Delete|Retain)$",
        description="StorageClass reclaimPolicy. Default Delete (upstream default).",
    )


class FilesystemSettings(Settings):
    """An optional CephFS file system with its StorageClass (chart key cephFileSystems[0])."""

    enabled: bool = Field(False, description="Create the CephFS file system. Default false.")
    name: DnsLabel = Field("ceph-filesystem", description="CephFilesystem name. Default ceph-filesystem.")
    storage_class: DnsLabel = Field("ceph-filesystem", description="Its StorageClass. Default ceph-filesystem.")
    replicas: int = Field(3, ge=1, le=7, description="Copies in the metadata and data pools. Default 3.")
    active_mds: int = Field(1, ge=1, le=10, description="Active metadata servers (each with a standby). Default 1.")


class ObjectStoreSettings(Settings):
    """An optional RGW object store with its bucket StorageClass (chart key cephObjectStores[0]).

    The object_store component's ``ceph-rgw`` backend creates its own
    CephObjectStore through :class:`~kfstack.constructs.core.refs.CephClusterRef`;
    this one is for sites that want Rook's stock store besides.
    """

    enabled: bool = Field(False, description="Create the RGW object store. Default false.")
    name: DnsLabel = Field("ceph-objectstore", description="CephObjectStore name. Default ceph-objectstore.")
    storage_class: DnsLabel = Field("ceph-bucket", description="Bucket StorageClass. Default ceph-bucket.")
    replicas: int = Field(3, ge=1, le=7, description="Copies in the metadata and data pools. Default 3.")
    gateway_instances: int = Field(1, ge=1, le=20, description="RGW pods (spec.gateway.instances). Default 1.")
    port: int = Field(80, ge=1, le=65535, description="RGW service port (spec.gateway.port). Default 80.")


class CephSettings(ComponentSettings):
    """Rook operator, Ceph-CSI drivers and one CephCluster with an RBD pool as default StorageClass.

    The StorageClass is named after the environment's ``storage.default_class``.

    Example::

        components:
          ceph:
            enabled: true
            nodes:
              - {name: storage-1, devices: [sdb, sdc]}
              - {name: storage-2, devices: [sdb, sdc]}
              - {name: storage-3, devices: [sdb, sdc]}

    Raises (as a config error): storage nodes missing or listed with
    ``use_all_nodes``, a node without devices (unless ``use_all_devices``), an
    even mon count, or more pool replicas than storage nodes with failure domain host.
    """

    INSTALLS: ClassVar[tuple[Installs, ...]] = (
        Installs("rook", charts=("rook-ceph", "ceph-csi-drivers", "rook-ceph-cluster")),)

    enabled: bool = Field(False, description="Install Rook-Ceph. Default false (dev uses the cluster's own StorageClass).")
    namespace: DnsLabel = Field(
        "rook-ceph", description="Namespace of the operator, the CSI drivers and the CephCluster (PSA privileged). "
        "Default rook-ceph.",
    )
    mon_count: int = Field(3, ge=1, le=9, description="Ceph monitors (cephClusterSpec.mon.count); odd. Default 3.")
    mgr_count: int = Field(2, ge=1, le=5, description="Ceph managers (cephClusterSpec.mgr.count). Default 2.")
    use_all_nodes: bool = Field(
        False, description="Run OSDs on every node (cephClusterSpec.storage.useAllNodes). Default false: only `nodes`.",
    )
    use_all_devices: bool = Field(
        False,
        description="Consume every empty disk of the storage nodes (cephClusterSpec.storage.useAllDevices). "
        "Default false: only the listed devices. Rejected in production.",
    )
    nodes: tuple[StorageNode, ...] = Field(
        (), description="Storage nodes and their disks (cephClusterSpec.storage.nodes). Default none.",
    )
    data_dir_host_path: str = Field(
        "/var/lib/rook", pattern=r"^/[^\s]*$",
        description="Host folder for mon data and config (cephClusterSpec.dataDirHostPath). Default /var/lib/rook.",
    )
    block_pool: BlockPoolSettings = Field(BlockPoolSettings(), description="The default-StorageClass RBD pool.")
    filesystem: FilesystemSettings = Field(FilesystemSettings(), description="CephFS. Default off.")
    object_store: ObjectStoreSettings = Field(ObjectStoreSettings(), description="RGW object store. Default off.")
    toolbox: bool = Field(False, description="Deploy the rook-ceph-tools pod (toolbox.enabled). Default false.")

    def creates_namespaces(self) -> dict[KeyPath, str]:
        """The namespace of the operator, the CSI drivers and the CephCluster."""
        return {("namespace",): self.namespace}

    @field_validator("mon_count")
    @classmethod
    def _odd_mons(cls, count: int) -> int:
        if count % 2 == 0:
            raise ValueError(f"mon_count must be odd so the monitors keep a quorum; got {count} (use 1, 3 or 5)")
        return count

    @field_validator("nodes")
    @classmethod
    def _unique_nodes(cls, nodes: tuple[StorageNode, ...]) -> tuple[StorageNode, ...]:
        seen: set[str] = set()
        for node in nodes:
            if node.name in seen:
                raise ValueError(f"storage node {node.name!r} is listed twice")
            seen.add(node.name)
        return nodes

    @model_validator(mode="after")
    def _storage_selection(self) -> "CephSettings":
        if not self.enabled:
            return self
        if self.use_all_nodes and self.nodes:
            raise ValueError("use_all_nodes is true but nodes are listed; Rook ignores `nodes` then. "
                             "Set use_all_nodes: false to use only the listed nodes")
        if not self.use_all_nodes and not self.nodes:
            raise ValueError("no storage nodes: list them under nodes ({name: <hostname>, devices: [sdb]}) "
                             "or set use_all_nodes: true")
        if not self.use_all_devices:
            for i, node in enumerate(self.nodes):
                if not node.devices:
                    raise ValueError(f"nodes[{i}] ({node.name}) lists no devices and use_all_devices is false, "
                                     "so it would get no OSD; list its disks, e.g. devices: [sdb]")
        hosts = len(self.nodes)
        if not self.use_all_nodes and self.block_pool.failure_domain is FailureDomain.host \
                and self.block_pool.replicas > hosts:
            raise ValueError(f"block_pool.replicas is {self.block_pool.replicas} with failure_domain host but only "
                             f"{hosts} storage node(s) are listed; Ceph could never place every replica")
        return self
