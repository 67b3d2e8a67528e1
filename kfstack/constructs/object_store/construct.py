"""Object store construct: an S3 endpoint with the Pipelines bucket and generated credentials.

Backends and the chart keys used:

- ``seaweedfs`` — chart ``seaweedfs`` 4.44.0 (https://seaweedfs.github.io/seaweedfs/helm):
  ``global.imageRegistry``, ``global.imagePullSecrets``,
  ``global.seaweedfs.enableReplication``, ``global.seaweedfs.replicationPlacement``,
  ``master.replicas``, ``master.defaultReplication``, ``master.data`` / ``master.logs``
  (``type``, ``size``, ``storageClass``), ``master.priorityClassName``,
  ``volume.replicas``, ``volume.dataDirs[]`` (``name``, ``type``, ``size``,
  ``storageClass``, ``maxVolumes``), ``volume.resizeHook.image``,
  ``filer.replicas``, ``filer.defaultReplicaPlacement``, ``filer.data`` / ``filer.logs``,
  ``s3.enabled``, ``s3.replicas``, ``s3.port``, ``s3.enableAuth``,
  ``s3.credentials.{admin,read}.{existingSecret,accessKeyKey,secretKeyKey}`` and
  ``s3.createBuckets[].name`` (the chart's post-install bucket hook).
- ``minio`` — chart ``minio`` 5.4.0 (https://charts.min.io): ``mode``, ``replicas``,
  ``drivesPerNode``, ``existingSecret`` (keys ``rootUser``, ``rootPassword``),
  ``persistence.{enabled,storageClass,size}``, ``image.{repository,tag}``,
  ``mcImage.{repository,tag}``, ``imagePullSecrets``, ``buckets[]``, ``priorityClassName``,
  ``podDisruptionBudget.enabled``, ``resources.requests.memory``. Images are quay.io's
  ``minio/minio`` and ``minio/mc`` (never Bitnami), rewritten to the mirror when set.
- ``ceph-rgw`` — Rook v1.20 CRDs (checked at v1.20.0 and v1.20.6) through this project's ``raw-manifests`` chart:
  CephObjectStore (``metadataPool``/``dataPool`` ``replicated.size`` and
  ``failureDomain``, ``gateway.port``/``instances``/``priorityClassName``),
  CephObjectStoreUser (``spec.keys[].accessKeyRef``/``secretKeyRef`` read from the
  generated Secret), a bucket StorageClass (provisioner
  ``<operator namespace>.ceph.rook.io/bucket``) and one ObjectBucketClaim per bucket
  owned by that user (``additionalConfig.bucketOwner``, which the Rook operator must
  allow: rook-ceph chart value ``obcAllowAdditionalConfigFields`` must list ``bucketOwner``).

Kubeflow compatibility Service (``kubeflow-s3``, every backend): Kubeflow Pipelines (manifests
26.03) hard-codes ``seaweedfs.kubeflow`` on ports 9000 (S3: ``ml-pipeline``'s
``OBJECTSTORECONFIG_PORT`` and the per-namespace ``artifact-repositories`` the profile
controller writes), 8333 (S3: profile controller ``S3_ENDPOINT_URL``) and 8111 (IAM:
profile controller ``AWS_ENDPOINT_URL``, per-namespace access keys and policies). This
construct publishes a ClusterIP Service in its namespace with those ports, selecting the
backend's S3 gateway pods (:func:`kubeflow_compat`); Pipelines' ``seaweedfs`` ExternalName
points at it. Pod labels and ports, from the charts / operator:

- ``seaweedfs`` (chart 4.44.0 ``templates/s3/s3-deployment.yaml``): pods
  ``app.kubernetes.io/{name: seaweedfs, instance: <release>, component: s3}``, S3 on
  ``s3.port``. ``weed s3`` serves the IAM API on the same port (``-iam``, on by default) but
  read-only unless ``-iam.readOnly=false`` (``s3.extraArgs``), which the profile controller
  needs: 9000, 8333, 8111 → 8333.
- ``minio`` (chart 5.4.0 ``templates/{deployment,statefulset}.yaml``): pods ``app: minio,
  release: <release>``, S3 on ``minioAPIPort`` 9000; no AWS IAM API: 9000, 8333 → 9000.
- ``ceph-rgw`` (Rook v1.20.6 ``pkg/operator/ceph/object/spec.go`` ``getLabels``, the
  selector of Rook's own Service): pods ``app: rook-ceph-rgw, rook_cluster: <ceph namespace>,
  rook_object_store / ceph_daemon_id / rgw: <store>``; beast listens on 8080 in the pod
  (``rgwPortInternalPort``; ``gateway.port`` 80 is the Service port); RGW's IAM API is
  account-scoped and not what the profile controller expects: 9000, 8333 → 8080.

Without 8111 (minio, ceph-rgw) the profile controller cannot mint per-namespace keys; the
profile's ``mlpipeline-minio-artifact`` Secret must then be provided some other way.
"""

from __future__ import annotations

from typing import Any, Sequence

from kfstack.cdk import (
    Construct, ITerraformDependable, ServiceV1, ServiceV1Metadata, ServiceV1Spec, ServiceV1SpecPort,
)

from kfstack.constructs.core import ClusterHandle, HelmChart, Namespace, NamespaceRef
from kfstack.constructs.core.namespace import MANAGED_BY
from kfstack.constructs.core.network import PROFILE_NAMESPACE_LABELS, Allow, IngressPolicies
from kfstack.constructs.core.refs import CephClusterRef, KubeflowS3Service, PortMapping, S3Endpoint
from kfstack.constructs.core.secrets import Generated, GeneratedSecret
from kfstack.constructs.object_store.settings import ObjectStoreBackend, ObjectStoreSettings
from kfstack.model import PodSecurityLevel
from kfstack.sources.charts import ChartSource

ACCESS_KEY = "accesskey"
"""Secret key of the S3 access key id (the key Kubeflow Pipelines' artifact Secret uses)."""
SECRET_KEY = "secretkey"
"""Secret key of the S3 secret access key."""
READ_ACCESS_KEY = "read_accesskey"
READ_SECRET_KEY = "read_secretkey"

SEAWEEDFS_RELEASE = "seaweedfs"
SEAWEEDFS_S3_PORT = 8333
MINIO_RELEASE = "minio"
MINIO_PORT = 9000
RGW_PORT = 80
RGW_POD_PORT = 8080
"""Port beast listens on inside Rook's RGW pods (``rgwPortInternalPort``; not host-networked)."""
SEAWEEDFS_RESIZE_HOOK_IMAGE = ("alpine/k8s", "1.28.4")
"""The chart's default volume.resizeHook.image (docker.io), rewritten to the mirror when set."""


def _svc(name: str, namespace: str) -> str:
    return f"{name}.{namespace}.svc.cluster.local"


KUBEFLOW_COMPAT_SERVICE = "kubeflow-s3"
"""Name of the kfstack-owned Service publishing Kubeflow's S3/IAM ports (object store namespace)."""
KUBEFLOW_S3_PORTS = (("http-s3-compat", 9000), ("http-s3", 8333))
"""S3 ports Kubeflow Pipelines 26.03 dials on ``seaweedfs.kubeflow`` (names as upstream's Service)."""
KUBEFLOW_IAM_PORT = ("http-iam", 8111)
"""The IAM port the Pipelines profile controller dials (``AWS_ENDPOINT_URL``)."""


def kubeflow_compat_ports(s3_pod_port: int, iam_pod_port: int | None) -> tuple[PortMapping, ...]:
    """Kubeflow's S3 ports (and IAM's, when the backend serves it) mapped to the pods' ports."""
    ports = [PortMapping(name, port, s3_pod_port) for name, port in KUBEFLOW_S3_PORTS]
    if iam_pod_port is not None:
        name, port = KUBEFLOW_IAM_PORT
        ports.append(PortMapping(name, port, iam_pod_port))
    return tuple(ports)


def kubeflow_compat(settings: ObjectStoreSettings, namespace: str) -> tuple[dict[str, str], tuple[PortMapping, ...]]:
    """(pod selector, ports) of the Kubeflow compatibility Service for the active backend (see module doc)."""
    backend = settings.backend
    if backend is ObjectStoreBackend.seaweedfs:
        selector = {"app.kubernetes.io/name": "seaweedfs", "app.kubernetes.io/instance": SEAWEEDFS_RELEASE,
                    "app.kubernetes.io/component": "s3"}
        return selector, kubeflow_compat_ports(SEAWEEDFS_S3_PORT, SEAWEEDFS_S3_PORT)
    if backend is ObjectStoreBackend.minio:
        return {"app": "minio", "release": MINIO_RELEASE}, kubeflow_compat_ports(MINIO_PORT, None)
    store = settings.ceph_rgw.store_name
    selector = {"app": "rook-ceph-rgw", "rook_cluster": namespace, "rook_object_store": store,
                "ceph_daemon_id": store, "rgw": store}
    return selector, kubeflow_compat_ports(RGW_POD_PORT, None)


def _seaweedfs_storage(settings: ObjectStoreSettings, cluster: ClusterHandle, size_gib: int) -> dict[str, Any]:
    if not settings.persistent:
        return {"type": "emptyDir"}
    return {"type": "persistentVolumeClaim", "size": f"{size_gib}Gi", "storageClass": cluster.storage_class}


def _seaweedfs_values(settings: ObjectStoreSettings, cluster: ClusterHandle, secret: str) -> dict[str, Any]:
    """Chart values for SeaweedFS (keys from chart seaweedfs 4.44.0 values.yaml).

    Data and metadata on PVCs of ``cluster.storage_class`` (hostPath, the chart's
    default, is never used: it breaks PSA baseline and pins data to a node);
    logs go to stderr (``logs.type: ""``). S3 auth reads both identities from
    the generated Secret through ``existingSecret``, so the chart generates no
    credentials of its own.
    """
    sw = settings.seaweedfs
    priority = cluster.priority_classes["platform"]
    replicated = sw.replication != "000"
    volume_dir = {"name": "data", "maxVolumes": 0, **_seaweedfs_storage(settings, cluster, sw.volume_size_gib)}
    creds = {
        "admin": {"existingSecret": secret, "accessKeyKey": ACCESS_KEY, "secretKeyKey": SECRET_KEY},
        "read": {"existingSecret": secret, "accessKeyKey": READ_ACCESS_KEY, "secretKeyKey": READ_SECRET_KEY},
    }
    values: dict[str, Any] = {
        "global": {
            "seaweedfs": {"enableReplication": replicated, "replicationPlacement": sw.replication},
        },
        "master": {
            "replicas": sw.master_replicas,
            "defaultReplication": sw.replication,
            "data": _seaweedfs_storage(settings, cluster, sw.master_size_gib),
            "logs": {"type": ""},
            "priorityClassName": priority,
        },
        "volume": {
            "replicas": sw.volume_replicas,
            "dataDirs": [volume_dir],
            "priorityClassName": priority,
        },
        "filer": {
            "replicas": sw.filer_replicas,
            "defaultReplicaPlacement": sw.replication,
            "data": _seaweedfs_storage(settings, cluster, sw.filer_size_gib),
            "logs": {"type": ""},
            "priorityClassName": priority,
        },
        "s3": {
            "enabled": True,
            "replicas": sw.s3_replicas,
            "port": SEAWEEDFS_S3_PORT,
            "enableAuth": True,
            "credentials": creds,
            "createBuckets": [{"name": b} for b in settings.buckets],
            # The chart's default s3.logs.type is hostPath, which Pod Security baseline refuses
            # (the real chart's S3 pods never started): no log volume, logs go to stdout.
            "logs": {"type": ""},
            "priorityClassName": priority,
            # Writable embedded IAM API: the Pipelines profile controller creates
            # per-namespace access keys and policies through it (port 8111 → s3.port).
            "extraArgs": ["-iam.readOnly=false"],
        },
    }
    if cluster.mirror is not None:
        values["global"]["imageRegistry"] = cluster.mirror.host
        values["global"]["imagePullSecrets"] = cluster.mirror.pull_secrets
        repo, tag = SEAWEEDFS_RESIZE_HOOK_IMAGE
        values["volume"]["resizeHook"] = {"image": f"{cluster.mirror.prefix(repo)}:{tag}"}
    return values


def _minio_values(settings: ObjectStoreSettings, cluster: ClusterHandle, secret: str) -> dict[str, Any]:
    """Chart values for MinIO (keys from chart minio 5.4.0 values.yaml).

    Root credentials come from the generated Secret (``existingSecret``, keys
    ``rootUser``/``rootPassword``); the chart's makeBucketJob creates the buckets.
    """
    mn = settings.minio
    image = cluster.mirror.prefix("minio/minio") if cluster.mirror else "quay.io/minio/minio"
    mc_image = cluster.mirror.prefix("minio/mc") if cluster.mirror else "quay.io/minio/mc"
    values: dict[str, Any] = {
        "mode": mn.mode.value,
        "replicas": mn.replicas,
        "drivesPerNode": mn.drives_per_node,
        "existingSecret": secret,
        "persistence": {"enabled": settings.persistent, "storageClass": cluster.storage_class,
                        "size": f"{mn.size_gib}Gi"},
        "image": {"repository": image, "tag": mn.image_tag},
        "mcImage": {"repository": mc_image, "tag": mn.mc_image_tag},
        "buckets": [{"name": b, "policy": "none", "purge": False} for b in settings.buckets],
        "priorityClassName": cluster.priority_classes["platform"],
        "podDisruptionBudget": {"enabled": mn.replicas > 1},
        "resources": {"requests": {"memory": "2Gi"}},
    }
    if cluster.mirror is not None:
        values["imagePullSecrets"] = cluster.mirror.pull_secrets
    return values


def _rgw_manifests(settings: ObjectStoreSettings, cluster: ClusterHandle, ceph: CephClusterRef,
                   secret: str) -> list[dict[str, Any]]:
    """CephObjectStore, its user (keys from the generated Secret), bucket StorageClass and OBCs (Rook v1.20.6)."""
    rgw = settings.ceph_rgw
    ns = ceph.namespace
    pool = {"failureDomain": rgw.failure_domain, "replicated": {"size": rgw.pool_replicas}}
    storage_class = f"{rgw.store_name}-bucket"
    user = f"{rgw.store_name}-s3"
    meta = {"labels": dict(MANAGED_BY)}
    out: list[dict[str, Any]] = [
        {
            "apiVersion": "ceph.rook.io/v1", "kind": "CephObjectStore",
            "metadata": {"name": rgw.store_name, "namespace": ns, **meta},
            "spec": {
                "metadataPool": pool, "dataPool": pool, "preservePoolsOnDelete": True,
                "gateway": {"port": RGW_PORT, "instances": rgw.gateway_instances,
                            "priorityClassName": cluster.priority_classes["platform"]},
            },
        },
        {
            "apiVersion": "ceph.rook.io/v1", "kind": "CephObjectStoreUser",
            "metadata": {"name": user, "namespace": ns, **meta},
            "spec": {
                "store": rgw.store_name, "displayName": "kfstack object store user",
                "keys": [{"accessKeyRef": {"name": secret, "key": ACCESS_KEY},
                          "secretKeyRef": {"name": secret, "key": SECRET_KEY}}],
            },
        },
        {
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": storage_class, **meta},
            "provisioner": f"{ceph.operator_namespace}.ceph.rook.io/bucket",
            "reclaimPolicy": "Retain",
            "parameters": {"objectStoreName": rgw.store_name, "objectStoreNamespace": ns},
        },
    ]
    for bucket in settings.buckets:
        out.append({
            "apiVersion": "objectbucket.io/v1alpha1", "kind": "ObjectBucketClaim",
            "metadata": {"name": bucket, "namespace": ns, **meta},
            "spec": {"bucketName": bucket, "storageClassName": storage_class,
                     "additionalConfig": {"bucketOwner": user}},
        })
    return out


class ObjectStore(Construct):
    """S3 object store for Pipelines artifacts, with generated credentials.

    Example::

        settings = env.components.object_store                   # backend seaweedfs
        (installs,) = settings.installs()                         # Installs("seaweedfs", charts=("seaweedfs",))
        store = ObjectStore(stack, "ObjectStore", cluster=baseline.handle,
                            source=ChartSource(resolver, "4.44", installs), settings=settings)
        store.endpoint   # S3Endpoint(host="seaweedfs-s3.object-store.svc.cluster.local", port=8333, ...)

    Args:
        source: charts of the backend's declaration (``settings.installs()``: the seaweedfs or minio
            chart; for ceph-rgw the Rook version, of which only ``project_chart("raw-manifests")`` is used).
        ceph: the Rook cluster; required for backend ceph-rgw (validation refuses ceph-rgw without
            components.ceph: ``ObjectStoreSettings.requirements``), ignored otherwise.
        depends_on: what must exist first (e.g. the StorageClass provider).

    Attributes:
        namespace: the component namespace (None for ceph-rgw, which uses Ceph's).
        credentials: the generated Secret (construct id ``Credentials``).
        resource: the main ``helm_release`` (construct id ``Release``'s ``Resource``).
        kubeflow_service: the ``kubeflow-s3`` ClusterIP Service (construct id ``KubeflowService``).
        endpoint: the typed :class:`S3Endpoint` output (``kubeflow_compat`` describes the Service above).

    Raises:
        SourceError: a chart is not pinned or not vendored.
    """

    def __init__(self, scope: Construct, id_: str, *, cluster: ClusterHandle, source: ChartSource,
                 settings: ObjectStoreSettings, ceph: CephClusterRef | None = None,
                 depends_on: Sequence[ITerraformDependable] = (), clients: Sequence[str] = (),
                 profile_clients: bool = False) -> None:
        super().__init__(scope, id_)
        backend = settings.backend
        self.namespace: Namespace | None = None
        if backend is ObjectStoreBackend.ceph_rgw:
            assert ceph is not None, "backend ceph-rgw needs the Ceph cluster (ObjectStoreSettings.requirements)"
            ns = NamespaceRef(name=ceph.namespace, ready=tuple(ceph.ready))
            ns_name = ceph.namespace
        else:
            self.namespace = Namespace.for_component(self, cluster, settings.namespace, PodSecurityLevel.baseline)
            ns = self.namespace.ref
            ns_name = settings.namespace
        generated = {
            "AccessKey": Generated((ACCESS_KEY, "rootUser") if backend is ObjectStoreBackend.minio else (ACCESS_KEY,), 20),
            "SecretKey": Generated((SECRET_KEY, "rootPassword") if backend is ObjectStoreBackend.minio else (SECRET_KEY,), 40),
        }
        if backend is ObjectStoreBackend.seaweedfs:
            generated["ReadAccessKey"] = Generated((READ_ACCESS_KEY,), 20)
            generated["ReadSecretKey"] = Generated((READ_SECRET_KEY,), 40)
        self.credentials = GeneratedSecret(self, "Credentials", cluster=cluster, namespace=ns,
                                           name=settings.credentials_secret, generated=generated)
        after = [self.credentials.resource, *depends_on]
        timeout = settings.install_timeout_s

        if backend is ObjectStoreBackend.seaweedfs:
            chart = HelmChart(self, "Release", cluster=cluster, chart=source.chart("seaweedfs"),
                              release_name=SEAWEEDFS_RELEASE, namespace=ns,
                              values=_seaweedfs_values(settings, cluster, settings.credentials_secret),
                              timeout_s=timeout, depends_on=after)
            host, port = _svc(f"{SEAWEEDFS_RELEASE}-s3", ns_name), SEAWEEDFS_S3_PORT
        elif backend is ObjectStoreBackend.minio:
            chart = HelmChart(self, "Release", cluster=cluster, chart=source.chart("minio"),
                              release_name=MINIO_RELEASE, namespace=ns,
                              values=_minio_values(settings, cluster, settings.credentials_secret),
                              timeout_s=timeout, depends_on=after)
            host, port = _svc(MINIO_RELEASE, ns_name), MINIO_PORT
        else:
            chart = HelmChart(self, "Release", cluster=cluster, chart=source.project_chart("raw-manifests"),
                              release_name="kubeflow-object-store", namespace=ns,
                              values={"manifests": _rgw_manifests(settings, cluster, ceph, settings.credentials_secret)},
                              timeout_s=timeout, depends_on=after)
            host, port = _svc(f"rook-ceph-rgw-{settings.ceph_rgw.store_name}", ns_name), RGW_PORT
        self.resource = chart.resource
        selector, ports = kubeflow_compat(settings, ns_name)
        self.kubeflow_service = ServiceV1(
            self, "KubeflowService", provider=cluster.kubernetes,
            metadata=ServiceV1Metadata(name=KUBEFLOW_COMPAT_SERVICE, namespace=ns.name, labels=dict(MANAGED_BY)),
            spec=ServiceV1Spec(type="ClusterIP", selector=dict(sorted(selector.items())),
                               port=[ServiceV1SpecPort(name=p.name, port=p.port, target_port=str(p.target_port),
                                                       protocol="TCP") for p in ports]),
            wait_for_load_balancer=False, depends_on=list(ns.ready))
        # Who may connect (issue 13): the store's own pods, and on the S3 pods' ports only the
        # namespaces of wired components and (with Pipelines or KServe) the profile namespaces
        # whose runs and model servers read and write artifacts. ceph-rgw shares the Ceph
        # namespace: only its gateway pods are isolated there (Rook's operator is in it).
        s3_ports = tuple(sorted({p.target_port for p in ports}))
        self.network_policies = IngressPolicies(
            self, "NetworkPolicies", cluster=cluster, namespace=ns,
            pods=dict(selector) if backend is ObjectStoreBackend.ceph_rgw else None,
            allow=(Allow("same-namespace", same_namespace=True),
                   Allow("s3-clients", namespaces=tuple(clients), ports=s3_ports,
                         namespace_labels=dict(PROFILE_NAMESPACE_LABELS) if profile_clients else {})))
        self.endpoint = S3Endpoint(
            host=host, port=port, bucket=settings.buckets[0],
            secret_name=settings.credentials_secret, secret_namespace=ns_name,
            access_key_key=ACCESS_KEY, secret_key_key=SECRET_KEY,
            access_key=self.credentials.value("AccessKey"), secret_key=self.credentials.value("SecretKey"),
            ready=(chart.resource,),
            kubeflow_compat=KubeflowS3Service(host=_svc(KUBEFLOW_COMPAT_SERVICE, ns_name), selector=selector,
                                              ports=ports, ready=(self.kubeflow_service,)),
        )
