"""The typed model of one environment (``environments/base.yaml`` + ``<env>.yaml``).

Every model is frozen and rejects unknown keys. Cross-field rules live in
model validators; production guardrails live in :mod:`kfstack.config.guardrails` and run
after the model validates (they need the whole environment).
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, ClassVar, Literal, Union

from pydantic import Field, StringConstraints, field_validator, model_validator

from kfstack.constructs.auth.settings import AuthSettings, profile_name_for
from kfstack.constructs.ceph.settings import CephSettings
from kfstack.constructs.cert_manager.settings import CertManagerSettings
from kfstack.constructs.cluster_baseline.node_pools import MigStrategy, NodePool, check_node_pools, cluster_mig_strategy
from kfstack.constructs.cluster_baseline.settings import ClusterBaselineSettings, RegistryMirror
from kfstack.constructs.dashboard.settings import DashboardSettings
from kfstack.constructs.gpu_operator.settings import GpuOperatorSettings
from kfstack.constructs.istio.settings import GATEWAY_NAME, GATEWAY_NAMESPACE, IstioSettings
from kfstack.constructs.katib.settings import KatibSettings
from kfstack.constructs.kserve.settings import KServeMode, KServeSettings
from kfstack.constructs.mysql.settings import MySqlSettings
from kfstack.constructs.object_store.settings import ObjectStoreSettings
from kfstack.constructs.pipelines.settings import PipelinesSettings
from kfstack.constructs.training.settings import TrainingSettings
from kfstack.model import DnsLabel, Settings, Version


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


class Components(Settings):
    """Per-component settings; a key not listed here is an unknown component."""

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

    @model_validator(mode="after")
    def _dashboard_needs_auth(self) -> "Components":
        """Central Dashboard and Profiles trust the ``kubeflow-userid`` header that Istio sets from
        Dex's JWT (auth), on the ingress gateway (Istio); the default Profile name must be a DNS label."""
        if self.auth.enabled and not self.istio.enabled:
            raise ValueError("auth is enabled but istio is not: oauth2-proxy is Istio's external authorizer; "
                             "set components.istio.enabled: true or components.auth.enabled: false")
        if self.dashboard.enabled:
            for needed in ("auth", "istio"):
                if not getattr(self, needed).enabled:
                    raise ValueError(f"dashboard is enabled but {needed} is not: the dashboard and Profiles "
                                     f"read users from Istio + Dex; set components.{needed}.enabled: true or "
                                     "components.dashboard.enabled: false")
            if self.dashboard.default_profile and self.dashboard.default_profile_name is None:
                name = profile_name_for(self.auth.user_email)
                if len(name) > 63:
                    raise ValueError(f"the default Profile name derived from auth.user_email ({name!r}) is longer "
                                     "than 63 characters; set components.dashboard.default_profile_name")
        return self

    @model_validator(mode="after")
    def _pipelines_katib_need_platform(self) -> "Components":
        """Pipelines keeps metadata in MySQL and artifacts in the object store; Katib keeps experiments
        in MySQL; both bring cert-manager Certificates and Istio policies (upstream 26.03 manifests)."""
        needs = {"pipelines": ("mysql", "object_store", "cert_manager", "istio"),
                 "katib": ("mysql", "cert_manager", "istio")}
        mysql_users = {u.name for u in self.mysql.users}
        for app, deps in needs.items():
            settings = getattr(self, app)
            if not settings.enabled:
                continue
            for dep in deps:
                if not getattr(self, dep).enabled:
                    raise ValueError(f"{app} is enabled but {dep} is not; set components.{dep}.enabled: true "
                                     f"or components.{app}.enabled: false")
            if settings.database_user not in mysql_users:
                raise ValueError(f"components.{app}.database_user {settings.database_user!r} is not one of "
                                 f"components.mysql.users ({', '.join(sorted(mysql_users))})")
        return self

    @model_validator(mode="after")
    def _kserve_needs_platform(self) -> "Components":
        """KServe issues its webhook certificate through cert-manager; Knative mode needs Istio
        (net-istio is Knative's network layer and the gateways are Istio's)."""
        kserve = self.kserve
        if kserve.enabled and not self.cert_manager.enabled:
            raise ValueError("kserve is enabled but cert_manager is not: KServe's webhook certificate comes from "
                             "cert-manager; set components.cert_manager.enabled: true or components.kserve.enabled: false")
        if kserve.enabled and kserve.mode is KServeMode.knative and not self.istio.enabled:
            raise ValueError("components.kserve.mode is knative, which needs Istio (Knative Serving's network layer "
                             "is net-istio): set components.istio.enabled: true or components.kserve.mode: standard")
        if kserve.enabled and not self.istio.enabled:
            raise ValueError("kserve is enabled but istio is not: InferenceServices are routed through Istio's "
                             "gateways; set components.istio.enabled: true or components.kserve.enabled: false")
        return self


    def wiring_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Rules the constructs rely on, as (key path under ``components``, message); empty when none.

        The loader reports them like validation errors (every environment, not only production),
        so that a valid environment always synthesizes:

        - the gateway certificate (istio.tls) is a cert-manager Certificate;
        - the ceph-rgw object store is a CephObjectStore of the Rook cluster (components.ceph);
        - Pipelines, Katib, the dashboard and the training operators install into shared
          namespaces of the cluster baseline (they never create those namespaces), and so does
          Istio's ``kubeflow/kubeflow-gateway``;
        - Pipelines' database user owns its three databases (pipelineDb, cacheDb, mlmdDb);
        - every namespace a component creates is created once: no two components, and no
          shared namespace, may name the same one (Terraform would own it twice).
        """
        from kfstack.constructs.object_store.settings import ObjectStoreBackend

        out: list[tuple[tuple[str | int, ...], str]] = []
        store = self.object_store
        if self.istio.enabled and self.istio.tls.enabled and not self.cert_manager.enabled:
            out.append((("istio", "tls", "enabled"),
                        "the gateway's certificate is a cert-manager Certificate, but components.cert_manager is "
                        "disabled; enable cert_manager or set tls.enabled: false"))
        if store.enabled and store.backend is ObjectStoreBackend.ceph_rgw and not self.ceph.enabled:
            out.append((("object_store", "backend"),
                        "backend ceph-rgw is a Ceph object gateway of the Rook cluster, but components.ceph.enabled "
                        "is false; enable components.ceph or pick backend seaweedfs"))
        shared = [ns.name for ns in self.cluster_baseline.shared_namespaces]
        if self.istio.enabled and GATEWAY_NAMESPACE not in shared:
            out.append((("cluster_baseline", "shared_namespaces"),
                        f"Istio creates Kubeflow's Gateway {GATEWAY_NAMESPACE}/{GATEWAY_NAME} (every Kubeflow "
                        f"VirtualService names it), but {GATEWAY_NAMESPACE!r} is not a shared namespace; add it"))
        uses = [("pipelines", "namespace"), ("katib", "namespace"), ("dashboard", "namespace")]
        if self.training.enabled:
            uses += [("training", "scheduling_namespace")]
            if self.training.training_operator_v1:
                uses += [("training", "v1_namespace")]
        for app, key in uses:
            settings = getattr(self, app)
            name = getattr(settings, key)
            if settings.enabled and name not in shared:
                out.append(((app, key), f"{name!r} is not a shared namespace of the cluster baseline "
                                        f"({', '.join(shared) or 'none'}); add it to "
                                        "components.cluster_baseline.shared_namespaces or pick one of those"))
        if self.pipelines.enabled:
            users = {u.name: u for u in self.mysql.users}
            user = users.get(self.pipelines.database_user)
            if user is not None:
                p = self.pipelines
                missing = [db for db in (p.pipeline_db, p.cache_db, p.mlmd_db) if db not in user.databases]
                if missing:
                    out.append((("mysql", "users"),
                                f"MySQL user {user.name!r} (components.pipelines.database_user) does not own "
                                f"Pipelines' databases {missing}; add them to its databases"))
        owners: dict[str, str] = {name: "components.cluster_baseline.shared_namespaces" for name in shared}
        owned = [("cert_manager", "namespace"), ("istio", "namespace"), ("gpu_operator", "namespace"),
                 ("ceph", "namespace"), ("mysql", "namespace"), ("mysql", "operator_namespace")]
        if store.backend is not ObjectStoreBackend.ceph_rgw:
            owned.append(("object_store", "namespace"))
        for app, key in owned:
            if not getattr(self, app).enabled:
                continue
            name, here = getattr(getattr(self, app), key), f"components.{app}.{key}"
            if name in owners:
                out.append(((app, key), f"{name!r} is already created by {owners[name]}; each component creates "
                                        "a namespace of its own, so pick another name"))
            else:
                owners[name] = here
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
