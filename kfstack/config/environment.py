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
from kfstack.constructs.cluster_baseline.node_pools import MigStrategy, NodePool, check_node_pools, cluster_mig_strategy
from kfstack.constructs.cluster_baseline.settings import ClusterBaselineSettings, RegistryMirror
from kfstack.constructs.dashboard.settings import DashboardSettings
from kfstack.constructs.gpu_operator.settings import GpuOperatorSettings
from kfstack.constructs.istio.settings import IstioSettings
from kfstack.constructs.katib.settings import KatibSettings
from kfstack.constructs.kserve.settings import KServeSettings
from kfstack.constructs.mysql.settings import MySqlSettings
from kfstack.constructs.object_store.settings import ObjectStoreSettings
from kfstack.constructs.pipelines.settings import PipelinesSettings
from kfstack.constructs.training.settings import TrainingSettings
from kfstack.config.errors import format_path
from kfstack.model import KUBEFLOW_LINE, ComponentSettings, DnsLabel, Installs, Settings, Version, WiringProblem


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


class StorageSettings(Settings):
    """StorageClasses the platform's persistent volumes use."""

    default_class: DnsLabel = Field(
        ..., description="StorageClass for data services' PVCs (e.g. ceph-block, or the class a dev cluster has). Required."
    )


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

    def version_of(self, key: str) -> str:
        """The app version of :attr:`kfstack.model.Installs.key` ``key``: ``release.versions.<key>``, or
        ``release.kubeflow`` for :data:`~kfstack.model.KUBEFLOW_LINE`. Raises AttributeError for another key."""
        return str(self.kubeflow if key == KUBEFLOW_LINE else getattr(self.versions, key))

    @staticmethod
    def path_of(key: str) -> tuple[str, ...]:
        """Key path of ``key``'s version in the environment: ``(release, versions, <key>)`` or ``(release, kubeflow)``."""
        return ("release", KUBEFLOW_LINE) if key == KUBEFLOW_LINE else ("release", "versions", key)


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
    def _pools_agree(cls, pools: tuple[NodePool, ...]) -> tuple[NodePool, ...]:
        """Unique pool names, one MIG strategy (:func:`~kfstack.constructs.cluster_baseline.node_pools.check_node_pools`)."""
        check_node_pools(pools)
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
        return cluster_mig_strategy(self.node_pools)
