"""Typed outputs passed between components (pass objects, not names).

Each ref carries ``ready``: the Terraform resources a consumer must put in
``depends_on`` before using it. That makes the install order explicit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from kfstack.cdk import ITerraformDependable, TerraformProvider

from kfstack.constructs.auth.settings import ExtAuthzProvider
from kfstack.constructs.cluster_baseline.node_pools import GpuSpec, NodePool
from kfstack.images import mirror_reference


@dataclass(frozen=True)
class NamespaceRef:
    """A namespace that exists once ``ready`` is applied. ``name`` may be a token."""

    name: str
    ready: Sequence[ITerraformDependable]


@dataclass(frozen=True)
class IssuerRef:
    """A cert-manager issuer (``kind`` Issuer or ClusterIssuer) usable once ``ready`` is applied."""

    kind: str
    name: str
    ready: Sequence[ITerraformDependable]


@dataclass(frozen=True)
class StorageClassRef:
    """A StorageClass PVCs can name once ``ready`` is applied.

    Either the Ceph RBD class the ceph component creates (``ready`` = the
    rook-ceph-cluster release) or a class the cluster already has
    (``ready`` = the cluster baseline).
    """

    name: str
    ready: Sequence[ITerraformDependable]


@dataclass(frozen=True)
class GpuPoolRef:
    """One GPU node pool as workloads see it: the pool's settings, read through, never copied.

    Built by the cluster baseline for every pool with ``gpu`` (``ClusterHandle.gpu_pools``);
    the GPU Operator, storage node plugins and training read the same object. Everything
    else derives from :attr:`pool`.

    Attributes:
        pool: the node pool's settings (kind gpu; ``pool.gpu`` is set).
        priority_class_name: PriorityClass of batch work on the pool (the baseline's
            ``kfstack-training``): it is not a property of the nodes, so it is carried here.

    Example::

        ref = GpuPoolRef(pool, priority_class_name="kfstack-training")
        ref.node_selector  # {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB", "kfstack.io/node-pool": "gpu-a100"}
        ref.gpu_resource, ref.gpus_per_node  # ("nvidia.com/gpu", 8)

    Raises:
        ValueError: ``pool`` has no ``gpu`` block (a CPU pool).
    """

    pool: NodePool
    priority_class_name: str

    def __post_init__(self) -> None:
        if self.pool.gpu is None:
            raise ValueError(f"node pool {self.pool.name!r} has no GPUs (kind cpu); only GPU pools have a GpuPoolRef")

    @property
    def name(self) -> str:
        """The pool's name (``node_pools[].name``)."""
        return self.pool.name

    @property
    def gpu(self) -> GpuSpec:
        """The GPUs of each node and how pods share them (``node_pools[].gpu``)."""
        assert self.pool.gpu is not None  # checked in __post_init__
        return self.pool.gpu

    @property
    def node_selector(self) -> dict[str, str]:
        """Selects exactly this pool's nodes: ``nvidia.com/gpu.product`` as GPU Feature Discovery writes it
        and ``kfstack.io/node-pool`` (:attr:`NodePool.node_selector`)."""
        return self.pool.node_selector

    @property
    def tolerations(self) -> tuple[dict[str, str], ...]:
        """Tolerations matching the pool's taints, Kubernetes JSON shape (key, operator, value, effect)."""
        return tuple(t.toleration().as_k8s() for t in self.pool.taints)

    @property
    def allocatable(self) -> dict[str, int]:
        """Extended resources one node advertises (:attr:`GpuSpec.allocatable`), e.g. ``{"nvidia.com/gpu": 8}``."""
        return self.gpu.allocatable

    @property
    def gpu_resource(self) -> str:
        """The extended resource a replica requests: ``nvidia.com/gpu``, or on a MIG mixed pool the
        first ``nvidia.com/mig-<profile>`` in name order."""
        resources = self.allocatable
        return "nvidia.com/gpu" if "nvidia.com/gpu" in resources else sorted(resources)[0]

    @property
    def gpus_per_node(self) -> int:
        """How many of :attr:`gpu_resource` one node offers (time-sliced or MIG instances count; physical
        GPUs are ``gpu.per_node``)."""
        return self.allocatable[self.gpu_resource]

    def pod_fragment(self) -> dict[str, Any]:
        """The PodSpec fields that place a batch pod on this pool: node selector, tolerations, PriorityClass."""
        return {"nodeSelector": dict(self.node_selector), "tolerations": [dict(t) for t in self.tolerations],
                "priorityClassName": self.priority_class_name}


@dataclass(frozen=True)
class GpuOperatorRef:
    """The NVIDIA GPU Operator serving the cluster's GPU pools (exported by the GPU Operator construct).

    A consumer that schedules on GPU pools takes ``GpuOperatorRef | None`` (None: the operator is
    not installed by kfstack, e.g. a site that runs its own) and puts ``ready`` in the
    ``depends_on`` of what targets the pools.

    Attributes:
        pools: the GPU pools whose nodes the operands configure (``ClusterHandle.gpu_pools``).
        ready: the operator is installed (and reconciles its operands) once these are applied.
    """

    pools: tuple[GpuPoolRef, ...]
    ready: Sequence[ITerraformDependable]


@dataclass(frozen=True)
class ImageMirror:
    """The image policy: an internal registry that mirrors upstream images path for path.

    Every component asks this object where an image lives; nothing else spells a registry.
    Rule (:func:`kfstack.images.mirror_reference`): the upstream registry is dropped, the path,
    tag and digest are kept: ``quay.io/jetstack/cert-manager-controller:v1.19.4`` →
    ``<host>/jetstack/cert-manager-controller:v1.19.4``; Docker Hub short names keep their path
    as written (``kserve/agent`` → ``<host>/kserve/agent``). Kustomize-rendered parts receive
    ``host`` as the chart value ``kfstack.registry`` and apply the same rule in their templates.

    Attributes:
        host: registry ``host[:port][/path]`` (``registry.host``).
        pull_secret: name of the ``kubernetes.io/dockerconfigjson`` Secret pods pull with, or None.
        dockerconfigjson: Terraform reference to the Secret's content (the sensitive variable
            ``registry_dockerconfigjson``, set through ``TF_VAR_registry_dockerconfigjson``);
            None when there is no pull secret.
    """

    host: str
    pull_secret: str | None = None
    dockerconfigjson: str | None = None

    def reference(self, image: str) -> str:
        """Mirror location of a full image reference (tag/digest kept); raises ValueError for a non-reference."""
        return mirror_reference(image, self.host)

    def prefix(self, upstream_path: str) -> str:
        """Mirror location of an upstream repository path, e.g. ``istio`` → ``registry.internal/istio``."""
        return f"{self.host}/{upstream_path.strip('/')}"

    def rehost(self, upstream_repository: str) -> str:
        """Mirror location of a full upstream repository: ``nvcr.io/nvidia/k8s`` → ``<host>/nvidia/k8s``."""
        return self.prefix(upstream_repository.split("/", 1)[1])

    def rehost_image(self, image: str) -> str:
        """Mirror location of an image reference that may omit its registry (Docker Hub short names).

        ``nvcr.io/nvidia/tritonserver`` → ``<host>/nvidia/tritonserver``; ``kserve/agent``
        (Docker Hub) → ``<host>/kserve/agent``; a tag or digest is kept. Same as :meth:`reference`.
        """
        return self.reference(image)

    @property
    def pull_secrets(self) -> list[dict[str, str]]:
        """``imagePullSecrets`` list in Kubernetes shape (empty when no secret)."""
        return [{"name": self.pull_secret}] if self.pull_secret else []


@dataclass(frozen=True)
class GatewayRef:
    """An Istio gateway: its pods' Service and the ``networking.istio.io`` Gateway routing through it.

    Attributes:
        gateway: ``<namespace>/<name>`` of the Istio Gateway resource (the form KServe and
            Knative configuration expect), e.g. ``kubeflow/kubeflow-gateway``.
        service_host: cluster DNS name of the gateway pods' Service,
            e.g. ``cluster-local-gateway.istio-system.svc.cluster.local``.
        selector: labels of the gateway pods (what a Gateway or Service selects).
        ready: the gateway pods run once these are applied.
    """

    gateway: str
    service_host: str
    selector: dict[str, str]
    ready: Sequence[ITerraformDependable]

    @property
    def namespace(self) -> str:
        """Namespace of the Gateway resource."""
        return self.gateway.split("/", 1)[0]

    @property
    def name(self) -> str:
        """Name of the Gateway resource."""
        return self.gateway.split("/", 1)[1]


@dataclass(frozen=True)
class ClusterHandle:
    """Everything a component needs to install into the cluster.

    Attributes:
        kubernetes: the kubernetes provider of this stack.
        helm: the helm provider of this stack.
        ready: baseline resources every component depends on.
        priority_classes: PriorityClass name per role (platform, serving, training).
        gpu_pools: GPU node pools, in environment order.
        storage_class: StorageClass for data services' PVCs.
        mirror: internal image registry, or None for upstream registries.
        shared_namespaces: namespaces created by the baseline, by name.
    """

    kubernetes: TerraformProvider
    helm: TerraformProvider
    ready: Sequence[ITerraformDependable]
    priority_classes: dict[str, str]
    gpu_pools: tuple[GpuPoolRef, ...]
    storage_class: str
    mirror: ImageMirror | None = None
    shared_namespaces: dict[str, NamespaceRef] = field(default_factory=dict)


@dataclass(frozen=True)
class CephClusterRef:
    """A Rook CephCluster that custom resources (CephObjectStore, ...) can be created in.

    Attributes:
        namespace: namespace of the CephCluster (e.g. ``rook-ceph``); CephObjectStore,
            CephObjectStoreUser and their Secrets live there.
        operator_namespace: namespace of the Rook operator; the bucket provisioner is
            ``<operator_namespace>.ceph.rook.io/bucket``.
        ready: the CephCluster is healthy once these are applied.
    """

    namespace: str
    operator_namespace: str
    ready: Sequence[ITerraformDependable]


@dataclass(frozen=True)
class PortMapping:
    """One port of a Service: clients dial ``port``, the selected pods listen on ``target_port``.

    ``name`` follows Istio's protocol-selection convention (``http-...``).
    """

    name: str
    port: int
    target_port: int


@dataclass(frozen=True)
class KubeflowS3Service:
    """A kfstack-owned ClusterIP Service publishing the S3 (and IAM) ports Kubeflow hard-codes.

    Kubeflow Pipelines 2.16.0 (manifests 26.03) dials ``seaweedfs.kubeflow`` on fixed ports:
    9000 (API server ``OBJECTSTORECONFIG_PORT``, the per-namespace Argo artifact repositories
    the profile controller writes), 8333 (profile controller ``S3_ENDPOINT_URL``) and 8111
    (profile controller ``AWS_ENDPOINT_URL``, the IAM API). An ExternalName Service cannot
    remap ports, so the object store publishes this Service in its own namespace, selecting
    the S3 gateway pods of the active backend, and Pipelines' ``seaweedfs`` ExternalName
    points at ``host``.

    Attributes:
        host: cluster DNS name of the Service, e.g. ``kubeflow-s3.object-store.svc.cluster.local``.
        selector: labels of the backend's S3 gateway pods.
        ports: published ports (8111 only where the backend serves the IAM API).
        ready: the Service exists once these are applied.
    """

    host: str
    selector: dict[str, str]
    ports: tuple[PortMapping, ...]
    ready: Sequence[ITerraformDependable]

    def target_port(self, port: int) -> int | None:
        """Pod port behind published ``port`` (None when not published)."""
        return next((p.target_port for p in self.ports if p.port == port), None)


@dataclass(frozen=True)
class S3Endpoint:
    """An S3 API endpoint inside the cluster, with one bucket and its credentials.

    The credentials live in the Kubernetes Secret ``secret_name`` in
    ``secret_namespace`` under the keys ``access_key_key`` and
    ``secret_key_key``. ``access_key`` and ``secret_key`` are Terraform
    references to ``random_password`` results (sensitive, never literals), for
    consumers that need a copy of the Secret in their own namespace.

    Attributes:
        host: service DNS name, e.g. ``seaweedfs-s3.object-store.svc.cluster.local``.
        port: TCP port of the S3 API (plain HTTP inside the mesh).
        bucket: the Pipelines artifact bucket (``mlpipeline``).
        region: S3 region to sign requests with.
        ready: the store and its bucket exist once these are applied.
        kubeflow_compat: the Service publishing Kubeflow's hard-coded ports (9000, 8333,
            8111) in front of the S3 gateway pods (Pipelines points ``seaweedfs.kubeflow`` at it).
    """

    host: str
    port: int
    bucket: str
    secret_name: str
    secret_namespace: str
    access_key_key: str
    secret_key_key: str
    access_key: str
    secret_key: str
    ready: Sequence[ITerraformDependable]
    kubeflow_compat: KubeflowS3Service
    region: str = "us-east-1"
    secure: bool = False

    @property
    def url(self) -> str:
        """``http://host:port`` (``https`` when ``secure``)."""
        return f"{'https' if self.secure else 'http'}://{self.host}:{self.port}"


@dataclass(frozen=True)
class MySqlUserRef:
    """One application user of the MySQL cluster and the Secret holding its password.

    ``password`` is a Terraform reference to a ``random_password`` result
    (sensitive, never a literal), for consumers that copy the Secret.
    """

    username: str
    databases: tuple[str, ...]
    secret_name: str
    secret_namespace: str
    username_key: str
    password_key: str
    password: str


@dataclass(frozen=True)
class MySqlEndpoint:
    """A MySQL service (InnoDB Cluster through MySQL Router) with application users.

    Attributes:
        host: service DNS name of the cluster's routers (read/write port ``port``).
        port: classic-protocol read/write port (3306).
        users: application users by user name (e.g. ``kfp``, ``katib``).
        ready: databases and users exist once these are applied.
    """

    host: str
    port: int
    users: dict[str, MySqlUserRef]
    ready: Sequence[ITerraformDependable]


@dataclass(frozen=True)
class AuthorizerRef:
    """The mesh's external authorizer (oauth2-proxy), exported by the auth construct.

    ``provider`` is the pure description istiod's mesh config holds (it is known from the settings
    before auth is installed: :attr:`AuthSettings.authorizer`); ``ready`` is what a consumer that
    needs the authorizer *serving* depends on, e.g. an application trusting the ``kubeflow-userid``
    header behind Kubeflow's gateway, which must not be routed before requests are checked.

    Attributes:
        provider: the ext_authz provider (name, service, port, headers).
        ready: oauth2-proxy serves, and its AuthorizationPolicies (``CUSTOM``, provider
            ``provider.name``, and the DENY without a JWT, which ship in the same release) are
            applied once these are.
    """

    provider: ExtAuthzProvider
    ready: Sequence[ITerraformDependable]


@dataclass(frozen=True)
class UserRef:
    """The initial platform user.

    ``password_secret`` / ``password_secret_namespace`` name the Secret whose
    ``password`` key holds the generated password (``email`` key: the login).

    Attributes:
        email: login e-mail (Dex), owner of the default Profile.
        ready: Dex accepts the login once these are applied.
    """

    email: str
    password_secret: str
    password_secret_namespace: str
    ready: Sequence[ITerraformDependable]
