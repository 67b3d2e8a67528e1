"""Settings of the S3 object store (importable without cdktf).

Checked against: the ``seaweedfs`` chart 4.44.0 (https://seaweedfs.github.io/seaweedfs/helm,
``k8s/charts/seaweedfs/values.yaml`` in seaweedfs/seaweedfs), the ``minio`` chart 5.4.0
(https://charts.min.io, ``helm/minio/values.yaml`` in minio/minio) and Rook v1.20.6's
CephObjectStore, CephObjectStoreUser and ObjectBucketClaim documentation.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, ClassVar

from pydantic import Field, StringConstraints, model_validator

from kfstack.model import ComponentSettings, ComponentsView, DnsLabel, Installs, KeyPath, Settings, WiringProblem

BucketName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
"""An S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)."""


class ObjectStoreBackend(str, Enum):
    """Which S3 implementation serves the platform's buckets.

    seaweedfs: the official SeaweedFS chart (Kubeflow's current default).
    ceph-rgw: a Rook CephObjectStore in the platform's Ceph cluster (needs components.ceph).
    minio: the MinIO community chart, for sites that still run MinIO (image from the mirror).
    """

    seaweedfs = "seaweedfs"
    ceph_rgw = "ceph-rgw"
    minio = "minio"


class SeaweedFsSettings(Settings):
    """SeaweedFS masters, volume servers, filers and S3 gateways (chart ``seaweedfs`` 4.44.0).

    Redundancy needs all four: 3 masters (Raft quorum), at least 2 filers and
    2 S3 gateways, and volume servers enough for ``replication``.
    """

    master_replicas: int = Field(1, ge=1, le=7, description="Raft masters (master.replicas); odd. Default 1 (no HA).")
    volume_replicas: int = Field(1, ge=1, le=100, description="Volume servers (volume.replicas). Default 1.")
    filer_replicas: int = Field(1, ge=1, le=20, description="Filers (filer.replicas). Default 1.")
    s3_replicas: int = Field(1, ge=1, le=20, description="S3 gateway pods (s3.replicas). Default 1.")
    replication: Annotated[str, StringConstraints(pattern=r"^00[0-9]$")] = Field(
        "000",
        description="Replica placement XYZ (global.seaweedfs.replicationPlacement): Z = extra copies on other "
        "volume servers. 000 keeps one copy; 001 keeps two and survives the loss of a volume server. "
        "Other data centers/racks (X, Y) are not modelled. Default 000.",
    )
    master_size_gib: int = Field(2, ge=1, le=100, description="PVC per master (master.data.size), GiB. Default 2.")
    volume_size_gib: int = Field(100, ge=1, le=100_000, description="PVC per volume server (volume.dataDirs[0].size), GiB. Default 100.")
    filer_size_gib: int = Field(10, ge=1, le=10_000, description="PVC per filer for its metadata store (filer.data.size), GiB. Default 10.")

    @model_validator(mode="after")
    def _consistent(self) -> "SeaweedFsSettings":
        if self.master_replicas % 2 == 0:
            raise ValueError(f"master_replicas must be odd for a Raft quorum (1, 3, 5), got {self.master_replicas}")
        copies = 1 + int(self.replication[2])
        if copies > self.volume_replicas:
            raise ValueError(
                f"replication {self.replication} keeps {copies} copies on different volume servers but "
                f"volume_replicas is {self.volume_replicas}; add volume servers or lower replication"
            )
        return self

    @property
    def redundant(self) -> bool:
        """True when losing any one pod or volume loses neither data nor service."""
        return (self.master_replicas >= 3 and self.volume_replicas >= 3 and self.filer_replicas >= 2
                and self.s3_replicas >= 2 and self.replication != "000")


class MinioMode(str, Enum):
    """MinIO topology (chart key ``mode``)."""

    standalone = "standalone"
    distributed = "distributed"


class MinioSettings(Settings):
    """MinIO server pool (chart ``minio`` 5.4.0). Erasure coding needs >= 4 drives in total."""

    mode: MinioMode = Field(MinioMode.standalone, description="standalone or distributed (chart key mode). Default standalone.")
    replicas: int = Field(1, ge=1, le=32, description="MinIO servers (chart key replicas). Default 1.")
    drives_per_node: int = Field(1, ge=1, le=16, description="PVCs per server (chart key drivesPerNode). Default 1.")
    size_gib: int = Field(100, ge=1, le=100_000, description="PVC size per drive (persistence.size), GiB. Default 100.")
    image_tag: str = Field(
        "RELEASE.2024-12-18T13-15-44Z", pattern=r"^RELEASE\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z$",
        description="MinIO server image tag (image.tag); the chart 5.4.0 default. Default RELEASE.2024-12-18T13-15-44Z.",
    )
    mc_image_tag: str = Field(
        "RELEASE.2024-11-21T17-21-54Z", pattern=r"^RELEASE\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z$",
        description="mc client image tag for bucket creation (mcImage.tag). Default RELEASE.2024-11-21T17-21-54Z.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> "MinioSettings":
        if self.mode is MinioMode.standalone and self.replicas != 1:
            raise ValueError(f"mode standalone runs one server; got replicas {self.replicas} (use mode: distributed)")
        if self.mode is MinioMode.distributed and self.replicas * self.drives_per_node < 4:
            raise ValueError(
                f"mode distributed needs >= 4 drives in total (replicas x drives_per_node), got "
                f"{self.replicas} x {self.drives_per_node}"
            )
        return self

    @property
    def redundant(self) -> bool:
        """True for distributed mode on >= 4 servers (erasure coding survives a lost server)."""
        return self.mode is MinioMode.distributed and self.replicas >= 4


class CephRgwSettings(Settings):
    """A Rook CephObjectStore (Rook v1.20.6 CRDs) in the platform's Ceph cluster."""

    store_name: DnsLabel = Field("kubeflow", description="CephObjectStore name; RGW service rook-ceph-rgw-<name>. Default kubeflow.")
    gateway_instances: int = Field(1, ge=1, le=20, description="RGW pods (spec.gateway.instances). Default 1.")
    pool_replicas: int = Field(3, ge=1, le=5, description="Copies in the metadata and data pools (spec.*Pool.replicated.size). Default 3.")
    failure_domain: str = Field("host", pattern=r"^(osd|host|rack|zone)$",
                                description="CRUSH failure domain of both pools (spec.*Pool.failureDomain). Default host.")

    @property
    def redundant(self) -> bool:
        """True with >= 2 gateways and >= 3 copies of every object."""
        return self.gateway_instances >= 2 and self.pool_replicas >= 3


class ObjectStoreSettings(ComponentSettings):
    """The S3 store Pipelines keeps its artifacts in.

    Only the block of the chosen ``backend`` is used. Credentials are
    generated (random_password) into the Secret ``credentials_secret``.

    Example::

        components:
          object_store:
            backend: seaweedfs
            seaweedfs: {master_replicas: 3, volume_replicas: 3, filer_replicas: 2, s3_replicas: 2, replication: "001"}
    """

    INSTALLS: ClassVar[tuple[Installs, ...]] = (
        Installs("seaweedfs", charts=("seaweedfs",)),
        Installs("minio", charts=("minio",)),
        Installs("rook"),
    )
    """One per backend: the seaweedfs and minio charts; ceph-rgw creates Rook custom resources
    (CephObjectStore, ...) of the Rook version through this project's raw-manifests chart, so
    nothing more is pinned for it."""

    backend: ObjectStoreBackend = Field(ObjectStoreBackend.seaweedfs,
                                        description="seaweedfs, ceph-rgw or minio. Default seaweedfs.")
    namespace: DnsLabel = Field(
        "object-store",
        description="Namespace of the seaweedfs or minio release and the credentials Secret. ceph-rgw uses "
        "the Ceph cluster's namespace instead. Default object-store.",
    )
    buckets: tuple[BucketName, ...] = Field(
        ("mlpipeline",), min_length=1,
        description="Buckets created at install; the first is the Pipelines artifact bucket. Default [mlpipeline].",
    )
    credentials_secret: DnsLabel = Field("object-store-credentials",
                                         description="Secret holding the generated S3 keys. Default object-store-credentials.")
    persistent: bool = Field(
        True,
        description="Keep data on PVCs of the environment's StorageClass. false uses emptyDir (data lost with "
        "the pod; throwaway clusters only, refused in production). Default true.",
    )
    seaweedfs: SeaweedFsSettings = Field(SeaweedFsSettings(), description="Used when backend is seaweedfs.")
    minio: MinioSettings = Field(MinioSettings(), description="Used when backend is minio.")
    ceph_rgw: CephRgwSettings = Field(CephRgwSettings(), description="Used when backend is ceph-rgw.")

    @model_validator(mode="after")
    def _rgw_is_persistent(self) -> "ObjectStoreSettings":
        if self.backend is ObjectStoreBackend.ceph_rgw and not self.persistent:
            raise ValueError("backend ceph-rgw always stores data in Ceph; remove persistent: false")
        return self

    def installs(self) -> tuple[Installs, ...]:
        """The chosen backend's declaration only (ceph-rgw: ``rook``, no chart of its own)."""
        key = {ObjectStoreBackend.seaweedfs: "seaweedfs", ObjectStoreBackend.minio: "minio",
               ObjectStoreBackend.ceph_rgw: "rook"}[self.backend]
        return tuple(i for i in self.INSTALLS if i.key == key)

    def creates_namespaces(self) -> dict[KeyPath, str]:
        """``namespace``, except for ceph-rgw, which lives in the Ceph cluster's namespace."""
        return {} if self.backend is ObjectStoreBackend.ceph_rgw else {("namespace",): self.namespace}

    def requirements(self, components: ComponentsView) -> list[WiringProblem]:
        """Backend ceph-rgw is a CephObjectStore of the Rook cluster: it needs components.ceph."""
        if self.backend is ObjectStoreBackend.ceph_rgw and not components.ceph.enabled:
            return [(("object_store", "backend"),
                     "backend ceph-rgw is a Ceph object gateway of the Rook cluster, but components.ceph.enabled "
                     "is false; enable components.ceph or pick backend seaweedfs")]
        return []

    @property
    def redundant(self) -> bool:
        """Whether the chosen backend survives the loss of one server (see each backend)."""
        return {
            ObjectStoreBackend.seaweedfs: self.seaweedfs.redundant,
            ObjectStoreBackend.minio: self.minio.redundant,
            ObjectStoreBackend.ceph_rgw: self.ceph_rgw.redundant,
        }[self.backend]
