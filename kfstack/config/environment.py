"""The typed model of one environment (``environments/base.yaml`` + ``<env>.yaml``).

Every model is frozen and rejects unknown keys. Cross-field rules of one model live in
its model validators; rules between components are declared by each component's settings
(:class:`kfstack.model.ComponentSettings`) and run by :meth:`Components.wiring_problems`
once the model validates; production guardrails live in :mod:`kfstack.config.guardrails`
and run after those (they need the whole environment).
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, ClassVar, Literal, Union

from pydantic import Field, StringConstraints, field_validator, model_validator

from kfstack.constructs.auth.settings import AuthSettings
from kfstack.constructs.ceph.settings import CephSettings
from kfstack.constructs.cert_manager.settings import CertManagerSettings
from kfstack.constructs.cluster_baseline.settings import ClusterBaselineSettings
from kfstack.constructs.dashboard.settings import DashboardSettings
from kfstack.constructs.gpu_operator.settings import GpuOperatorSettings
from kfstack.constructs.istio.settings import IstioSettings
from kfstack.constructs.katib.settings import KatibSettings
from kfstack.constructs.kserve.settings import KServeSettings
from kfstack.constructs.mysql.settings import MySqlSettings
from kfstack.constructs.object_store.settings import ObjectStoreSettings
from kfstack.constructs.pipelines.settings import PipelinesSettings
from kfstack.constructs.training.settings import TrainingSettings
from kfstack.config.gpus import MIG_GPUS, instance_profile, profile_slices
from kfstack.config.errors import format_path
from kfstack.model import (ComponentSettings, DnsLabel, Installs, LabelKey, LabelValue, Settings, Taint, Version,
                           WiringProblem)


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
Each product's own count is in :data:`kfstack.config.gpus.MIG_GPUS`."""

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


class StorageSettings(Settings):
    """StorageClasses the platform's persistent volumes use."""

    default_class: DnsLabel = Field(
        ..., description="StorageClass for data services' PVCs (e.g. ceph-block, or the class a dev cluster has). Required."
    )


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

    CREDENTIALS: ClassVar[dict[str, str]] = {}

    type: Literal["local"] = "local"
    path: str | None = Field(None, description="State file, relative to the project root. Default state/<env>.tfstate.")


PgSchemaName = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]{0,62}$")]
"""A PostgreSQL schema name kfstack accepts: lower-case identifier, no quoting needed."""

HttpsUrl = Annotated[str, StringConstraints(pattern=r"^https?://[^\s/]+(/\S*)?$")]


class PgBackend(Settings):
    """Terraform state in PostgreSQL (backend ``pg``), locked with advisory locks.

    The connection string (with its password) is never in a file: Terraform reads
    ``PG_CONN_STR`` from the environment at run time, e.g.
    ``postgres://kfstack@db.internal/terraform?sslmode=verify-full``.
    """

    CREDENTIALS: ClassVar[dict[str, str]] = {"conn_str": "PG_CONN_STR", "password": "PG_CONN_STR"}

    type: Literal["pg"]
    schema_name: PgSchemaName | None = Field(
        None, description="Schema holding the states table. Default kfstack_<env> (dashes become underscores).")

    def schema_for(self, env_name: str) -> str:
        """The schema this environment's state lives in."""
        return self.schema_name or f"kfstack_{env_name.replace('-', '_')}"


class S3Backend(Settings):
    """Terraform state in S3-compatible on-prem object storage (Ceph RGW, SeaweedFS, MinIO), backend ``s3``.

    Locking uses a lock file next to the state (``use_lockfile``, OpenTofu >= 1.10), no DynamoDB.
    Credentials come from ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` at run time. The
    ``skip_*`` flags turn off AWS-only checks (STS, IMDS, region list, account id) that a
    non-AWS endpoint cannot answer; ``skip_s3_checksum`` for stores without the newer checksum headers.
    """

    CREDENTIALS: ClassVar[dict[str, str]] = {
        "access_key": "AWS_ACCESS_KEY_ID", "secret_key": "AWS_SECRET_ACCESS_KEY", "token": "AWS_SESSION_TOKEN",
        "sse_customer_key": "AWS_SSE_CUSTOMER_KEY"}

    type: Literal["s3"]
    bucket: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")] = Field(
        ..., description="Bucket (must exist). Required.")
    key: Annotated[str, StringConstraints(pattern=r"^[^/\s][^\s]*$")] | None = Field(
        None, description="Object key of the state. Default kfstack/<env>.tfstate.")
    region: str = Field("us-east-1", min_length=1, description="Region name the endpoint expects. Default us-east-1.")
    endpoint: HttpsUrl = Field(..., description="S3 endpoint URL, e.g. https://rgw.internal. Required.")
    use_path_style: bool = Field(True, description="Path-style URLs (bucket in the path, not the host name). Default true.")
    use_lockfile: bool = Field(True, description="Lock with a .tflock object next to the state. Default true.")
    skip_credentials_validation: bool = Field(True, description="Skip the STS call. Default true (non-AWS).")
    skip_region_validation: bool = Field(True, description="Accept any region name. Default true (non-AWS).")
    skip_requesting_account_id: bool = Field(True, description="Skip the IAM/STS account lookup. Default true.")
    skip_metadata_api_check: bool = Field(True, description="Do not ask the EC2 metadata service. Default true.")
    skip_s3_checksum: bool = Field(True, description="Do not send the newer S3 checksum headers. Default true.")

    def key_for(self, env_name: str) -> str:
        """The state object's key for this environment."""
        return self.key or f"kfstack/{env_name}.tfstate"


class KubernetesStateBackend(Settings):
    """Terraform state in a Secret of the cluster (backend ``kubernetes``), locked with a Lease.

    The Secret is ``tfstate-default-<secret_suffix>`` in ``namespace`` (which must exist).
    The kubeconfig and context are the environment's ``cluster`` connection; no
    token or client key in files.
    """

    CREDENTIALS: ClassVar[dict[str, str]] = {
        "token": "KUBE_TOKEN", "client_key": "KUBE_CLIENT_KEY_DATA", "client_certificate": "KUBE_CLIENT_CERT_DATA",
        "password": "KUBE_PASSWORD"}
    FROM_CLUSTER: ClassVar[dict[str, str]] = {"config_path": "cluster.kubeconfig", "config_context": "cluster.context"}

    type: Literal["kubernetes"]
    secret_suffix: DnsLabel | None = Field(None, description="Suffix of the state Secret's name. Default <env>.")
    namespace: DnsLabel = Field("default", description="Namespace of the state Secret and lock Lease. Default default.")


Backend = Annotated[Union[LocalBackend, PgBackend, S3Backend, KubernetesStateBackend], Field(discriminator="type")]



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
    minio: Version = Field(..., description="MinIO chart version (the chart's appVersion is a RELEASE.* tag, not a version). Required.")
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
    """Per-component settings; a key not listed here is an unknown component.

    Also the view a component's rules read the others through
    (:class:`kfstack.model.ComponentsView`): ``components.mysql.users``, ...
    """

    cluster_baseline: ClusterBaselineSettings = Field(ClusterBaselineSettings())
    cert_manager: CertManagerSettings = Field(CertManagerSettings())
    istio: IstioSettings = Field(IstioSettings())
    gpu_operator: GpuOperatorSettings = Field(GpuOperatorSettings())
    ceph: CephSettings = Field(CephSettings())
    object_store: ObjectStoreSettings = Field(ObjectStoreSettings())
    mysql: MySqlSettings = Field(MySqlSettings())
    pipelines: PipelinesSettings = Field(PipelinesSettings())
    katib: KatibSettings = Field(KatibSettings())
    kserve: KServeSettings = Field(KServeSettings())
    training: TrainingSettings = Field(TrainingSettings())
    auth: AuthSettings = Field(AuthSettings())
    dashboard: DashboardSettings = Field(DashboardSettings())

    def enabled(self) -> list[tuple[str, ComponentSettings]]:
        """(key, settings) of every enabled component, in file order."""
        return [(key, settings) for key in type(self).model_fields
                if (settings := getattr(self, key)).enabled]

    @classmethod
    def declared(cls) -> list[tuple[str, Installs]]:
        """(component key, declaration) of everything any component can install (every ``INSTALLS``),
        whatever is enabled: what ``sources.lock`` must pin for ``release.versions``."""
        return [(key, installs) for key, field in cls.model_fields.items()
                for installs in field.annotation.INSTALLS]  # type: ignore[union-attr]

    def installed(self) -> list[tuple[str, Installs]]:
        """(component key, declaration) of what this environment installs: each enabled component's
        :meth:`~kfstack.model.ComponentSettings.installs` under its settings."""
        return [(key, installs) for key, settings in self.enabled() for installs in settings.installs()]

    def namespaces_needing(self, key: str) -> list[str]:
        """The ``namespace`` of every enabled component whose ``NEEDS`` names component ``key``, in file
        order: the clients the network policies of ``key`` (MySQL, the object store) let in."""
        return [settings.namespace for _, settings in self.enabled() if key in settings.NEEDS]

    def wiring_problems(self) -> list[WiringProblem]:
        """Every enabled component's requirements, as (key path under ``components``, message); empty when none.

        One loop runs the declarations of every enabled component (:class:`kfstack.model.ComponentSettings`)
        the same way:

        - ``NEEDS``: the other components it needs are enabled (reported at ``<key>.enabled``);
        - ``uses_shared_namespaces()``: the namespaces it installs into are shared namespaces of the
          cluster baseline (it never creates them);
        - ``creates_namespaces()``: every namespace is created once (Terraform would own it twice); a
          clash is reported at the key an environment file set rather than at a default;
        - ``requirements(components)``: its own wiring rules (a MySQL user, the Rook cluster, ...).

        The loader reports them like validation errors (every environment, not only production), and
        :class:`kfstack.stacks.PlatformStack` refuses an environment that has any, so that a valid
        environment always synthesizes and the stack never meets a component that is not there.
        """
        out: list[WiringProblem] = []
        shared = [ns.name for ns in self.cluster_baseline.shared_namespaces]
        for key, settings in self.enabled():
            for other, why in settings.NEEDS.items():
                if not getattr(self, other).enabled:
                    out.append(((key, "enabled"), f"{key} is enabled but {other} is not: {why}; set "
                                                  f"components.{other}.enabled: true or components.{key}.enabled: false"))
            for path, name in settings.uses_shared_namespaces().items():
                if name not in shared:
                    out.append(((key, *path), f"{name!r} is not a shared namespace of the cluster baseline "
                                              f"({', '.join(shared) or 'none'}); add it to "
                                              "components.cluster_baseline.shared_namespaces or pick one of those"))
            out.extend(settings.requirements(self))
        # Defaults claim their namespace first (stable: file order), so a clash names the key that was set.
        claims = sorted(((path[0] in settings.model_fields_set, (key, *path), name)
                         for key, settings in self.enabled()
                         for path, name in settings.creates_namespaces().items()), key=lambda claim: claim[0])
        owners: dict[str, str] = {}
        for _, loc, name in claims:
            if name in owners:
                out.append((loc, f"{name!r} is already created by {owners[name]}; each component creates a "
                                 "namespace of its own, so pick another name"))
            else:
                owners[name] = format_path(("components", *loc))
        return out


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
        strategies = {p.gpu.mig_strategy.value: i for i, p in enumerate(pools)
                      if p.gpu is not None and p.gpu.mig_strategy is not None}
        if len(strategies) > 1:
            raise ValueError(
                "MIG pools disagree on mig_strategy ("
                + ", ".join(f"node_pools[{i}].gpu.mig_strategy is {s}" for s, i in sorted(strategies.items()))
                + "); the GPU Operator's mig.strategy is one value per cluster")
        return pools

    @property
    def state_location(self) -> tuple[tuple[str | int, ...], tuple[str, ...]]:
        """Where this environment's Terraform state lives: (key path that sets it, identity).

        Two environments with the same identity would read and overwrite one state. ``local``:
        the normalised project-relative path; ``pg``: the schema (the database comes from
        ``PG_CONN_STR``, one per site); ``s3``: endpoint, bucket and key; ``kubernetes``: the
        cluster (kubeconfig + context), namespace and Secret suffix.
        """
        import posixpath

        b = self.backend
        if isinstance(b, PgBackend):
            return ("backend", "schema_name"), ("pg", b.schema_for(self.name))
        if isinstance(b, S3Backend):
            return ("backend", "key"), ("s3", b.endpoint.rstrip("/").lower(), b.bucket, b.key_for(self.name))
        if isinstance(b, KubernetesStateBackend):
            return ("backend", "secret_suffix"), ("kubernetes", self.cluster.kubeconfig, self.cluster.context,
                                                  b.namespace, b.secret_suffix or self.name)
        return ("backend", "path"), ("local", posixpath.normpath(b.path or f"state/{self.name}.tfstate"))

    @property
    def gpu_pools(self) -> tuple[NodePool, ...]:
        """The node pools with GPUs, in file order."""
        return tuple(p for p in self.node_pools if p.gpu is not None)

    @property
    def mig_strategy(self) -> MigStrategy:
        """The cluster's MIG strategy: the MIG pools' (they agree), else single (the GPU Operator's default)."""
        for pool in self.gpu_pools:
            if pool.gpu is not None and pool.gpu.mig_strategy is not None:
                return pool.gpu.mig_strategy
        return MigStrategy.single
