"""Ceph construct: Rook operator → Ceph-CSI drivers → CephCluster, pools and StorageClasses.

Charts (Rook v1.20.6, https://charts.rook.io/release; values.yaml of
rook/rook tag v1.20.6, ``deploy/charts``):

- ``rook-ceph`` (operator, its CRDs and the ceph-csi-operator subchart 1.0.4):
  ``crds.enabled``, ``priorityClassName``, ``csi.installCsiOperator``,
  ``image.repository``, ``csi.<image>.repository`` (cephcsi, registrar,
  provisioner, snapshotter, attacher, resizer, csiAddons),
  ``ceph-csi-operator.controllerManager.manager.image.repository``,
  ``ceph-csi-operator.imagePullSecrets``, ``imagePullSecrets``.
- ``ceph-csi-drivers`` 1.0.4 (https://ceph.github.io/ceph-csi-operator;
  ceph/ceph-csi-operator tag v1.0.4). Rook 1.20 no longer deploys CSI
  drivers itself; its upgrade guide orders rook-ceph → ceph-csi-drivers →
  rook-ceph-cluster and ships Rook-compatible values
  (rook/rook ``deploy/charts/ceph-csi-drivers/values.yaml``), which
  :func:`_csi_values` follows: ``operatorConfig.namespace``,
  ``operatorConfig.driverSpecDefaults.imageSet.name``,
  ``...nodePlugin.{priorityClassName,tolerations}``,
  ``...controllerPlugin.priorityClassName``,
  ``drivers.{rbd,cephfs,nfs,nvmeof}.{enabled,name}``, ``imagePullSecrets``.
- ``rook-ceph-cluster``: ``operatorNamespace``, ``cephImage.repository``,
  ``imagePullSecrets``, ``toolbox.enabled``,
  ``cephClusterSpec.{dataDirHostPath,mon,mgr,storage}``,
  ``cephBlockPools``, ``cephFileSystems``, ``cephObjectStores`` (lists: Helm
  replaces them whole, so an empty list switches the upstream example off).

The CephCluster, pools and StorageClasses come from the cluster chart, never
``kubernetes_manifest``: their CRDs arrive with the operator chart in the
same apply.
"""

from __future__ import annotations

from typing import Any

from kfstack.cdk import Construct

from kfstack.constructs.ceph.settings import CephSettings
from kfstack.constructs.core import ClusterHandle, HelmChart, Namespace, values_at
from kfstack.constructs.core.refs import CephClusterRef, StorageClassRef
from kfstack.model import PodSecurityLevel
from kfstack.sources.charts import ChartSource

IMAGE_SET_CONFIG_MAP = "rook-csi-operator-image-set-configmap"
"""ConfigMap the rook-ceph chart writes with the CSI images (from its ``csi.*`` values)."""

# rook-ceph chart key -> upstream repository (chart v1.20.6 defaults).
OPERATOR_IMAGES: dict[tuple[str, ...], str] = {
    ("image",): "docker.io/rook/ceph",
    ("csi", "cephcsi"): "quay.io/cephcsi/cephcsi",
    ("csi", "registrar"): "registry.k8s.io/sig-storage/csi-node-driver-registrar",
    ("csi", "provisioner"): "registry.k8s.io/sig-storage/csi-provisioner",
    ("csi", "snapshotter"): "registry.k8s.io/sig-storage/csi-snapshotter",
    ("csi", "attacher"): "registry.k8s.io/sig-storage/csi-attacher",
    ("csi", "resizer"): "registry.k8s.io/sig-storage/csi-resizer",
    ("csi", "csiAddons"): "quay.io/csiaddons/k8s-sidecar",
    ("ceph-csi-operator", "controllerManager", "manager", "image"): "quay.io/cephcsi/ceph-csi-operator",
}
CEPH_IMAGE = "quay.io/ceph/ceph"
"""rook-ceph-cluster ``cephImage.repository`` default (Ceph v20.2.4 at Rook v1.20.6)."""




def csi_driver_name(namespace: str, kind: str) -> str:
    """CSI driver (provisioner) name Rook expects: ``<operator namespace>.<kind>.csi.ceph.com``."""
    return f"{namespace}.{kind}.csi.ceph.com"


def _operator_values(settings: CephSettings, cluster: ClusterHandle) -> dict[str, Any]:
    """Chart values for rook-ceph (keys from chart v1.20.6 values.yaml)."""
    values: dict[str, Any] = {
        "crds": {"enabled": True},
        "priorityClassName": cluster.priority_classes["platform"],
        "csi": {"installCsiOperator": True},
    }
    if cluster.mirror is not None:
        for path, upstream in OPERATOR_IMAGES.items():
            values_at(values, path)["repository"] = cluster.mirror.rehost(upstream)
        values["imagePullSecrets"] = cluster.mirror.pull_secrets
        values["ceph-csi-operator"]["imagePullSecrets"] = cluster.mirror.pull_secrets
    return values


def _csi_values(settings: CephSettings, cluster: ClusterHandle) -> dict[str, Any]:
    """Chart values for ceph-csi-drivers 1.0.4, after Rook v1.20.6's Rook-compatible values.

    The node plugin tolerates the GPU pools' taints, so PVCs mount on GPU nodes.
    The CephFS driver runs only when the CephFS file system is enabled.
    """
    ns = settings.namespace
    tolerations: list[dict[str, str]] = []
    for pool in cluster.gpu_pools:
        for t in pool.tolerations:
            if t not in tolerations:
                tolerations.append(t)
    values: dict[str, Any] = {
        "operatorConfig": {
            "namespace": ns,
            "driverSpecDefaults": {
                "imageSet": {"name": IMAGE_SET_CONFIG_MAP},
                "nodePlugin": {"priorityClassName": "system-node-critical", "tolerations": tolerations},
                "controllerPlugin": {"priorityClassName": "system-cluster-critical"},
            },
        },
        "drivers": {
            "rbd": {"enabled": True, "name": csi_driver_name(ns, "rbd")},
            "cephfs": {"enabled": settings.filesystem.enabled, "name": csi_driver_name(ns, "cephfs")},
            "nfs": {"enabled": False, "name": csi_driver_name(ns, "nfs")},
            "nvmeof": {"enabled": False, "name": csi_driver_name(ns, "nvmeof")},
        },
    }
    # Each Driver custom resource always carries drivers.<d>.nodePlugin.tolerations (chart
    # templates/driver.yaml; default []), and the operator lets a Driver's own list win over
    # operatorConfig.driverSpecDefaults: without this the node plugins lose the GPU taints.
    for driver in values["drivers"].values():
        if driver["enabled"]:
            driver["nodePlugin"] = {"tolerations": tolerations}
    if cluster.mirror is not None:
        values["imagePullSecrets"] = cluster.mirror.pull_secrets
    return values


def _csi_secrets(ns: str, kind: str) -> dict[str, str]:
    """StorageClass parameters naming the CSI Secrets Rook creates (``rook-csi-<kind>-provisioner|node``)."""
    prov, node = f"rook-csi-{kind}-provisioner", f"rook-csi-{kind}-node"
    return {
        "csi.storage.k8s.io/provisioner-secret-name": prov,
        "csi.storage.k8s.io/provisioner-secret-namespace": ns,
        "csi.storage.k8s.io/controller-expand-secret-name": prov,
        "csi.storage.k8s.io/controller-expand-secret-namespace": ns,
        "csi.storage.k8s.io/controller-publish-secret-name": prov,
        "csi.storage.k8s.io/controller-publish-secret-namespace": ns,
        "csi.storage.k8s.io/node-stage-secret-name": node,
        "csi.storage.k8s.io/node-stage-secret-namespace": ns,
        "csi.storage.k8s.io/fstype": "ext4",
    }


def _cluster_values(settings: CephSettings, cluster: ClusterHandle) -> dict[str, Any]:
    """Chart values for rook-ceph-cluster (keys from chart v1.20.6 values.yaml)."""
    ns = settings.namespace
    pool = settings.block_pool
    domain = pool.failure_domain.value
    storage: dict[str, Any] = {"useAllNodes": settings.use_all_nodes, "useAllDevices": settings.use_all_devices}
    if settings.nodes:
        storage["nodes"] = [
            {"name": n.name, "devices": [{"name": d} for d in n.devices]} if n.devices else {"name": n.name}
            for n in settings.nodes
        ]
    values: dict[str, Any] = {
        "operatorNamespace": ns,
        "toolbox": {"enabled": settings.toolbox},
        "cephClusterSpec": {
            "dataDirHostPath": settings.data_dir_host_path,
            "mon": {"count": settings.mon_count, "allowMultiplePerNode": False},
            "mgr": {"count": settings.mgr_count, "allowMultiplePerNode": False},
            "storage": storage,
        },
        "cephBlockPools": [{
            "name": pool.name,
            "spec": {"failureDomain": domain, "replicated": {"size": pool.replicas}},
            "storageClass": {
                "enabled": True,
                "name": cluster.storage_class,
                "isDefault": True,
                "reclaimPolicy": pool.reclaim_policy,
                "allowVolumeExpansion": True,
                "volumeBindingMode": "Immediate",
                "parameters": {"imageFormat": "2", "imageFeatures": "layering", **_csi_secrets(ns, "rbd")},
            },
        }],
        "cephFileSystems": [],
        "cephObjectStores": [],
    }
    fs = settings.filesystem
    if fs.enabled:
        values["cephFileSystems"] = [{
            "name": fs.name,
            "spec": {
                "metadataPool": {"failureDomain": domain, "replicated": {"size": fs.replicas}},
                "dataPools": [{"name": "data0", "failureDomain": domain, "replicated": {"size": fs.replicas}}],
                "metadataServer": {"activeCount": fs.active_mds, "activeStandby": True,
                                   "priorityClassName": "system-cluster-critical"},
            },
            "storageClass": {
                "enabled": True, "isDefault": False, "name": fs.storage_class, "pool": "data0",
                "reclaimPolicy": "Delete", "allowVolumeExpansion": True, "volumeBindingMode": "Immediate",
                "parameters": _csi_secrets(ns, "cephfs"),
            },
        }]
    rgw = settings.object_store
    if rgw.enabled:
        values["cephObjectStores"] = [{
            "name": rgw.name,
            "spec": {
                "metadataPool": {"failureDomain": domain, "replicated": {"size": rgw.replicas}},
                "dataPool": {"failureDomain": domain, "replicated": {"size": rgw.replicas}},
                "preservePoolsOnDelete": True,
                "gateway": {"port": rgw.port, "instances": rgw.gateway_instances,
                            "priorityClassName": "system-cluster-critical"},
            },
            "storageClass": {"enabled": True, "name": rgw.storage_class, "reclaimPolicy": "Delete",
                             "volumeBindingMode": "Immediate", "parameters": {"region": "us-east-1"}},
        }]
    if cluster.mirror is not None:
        # rook-ceph-cluster has no imagePullSecrets value: Ceph daemons use the service
        # accounts the rook-ceph (operator) chart creates, which carry its imagePullSecrets.
        values["cephImage"] = {"repository": cluster.mirror.rehost(CEPH_IMAGE)}
    return values


class Ceph(Construct):
    """Rook-Ceph: operator, CSI drivers, a CephCluster and its default StorageClass.

    Example::

        ceph = Ceph(stack, "Ceph", cluster=baseline.handle,
                    source=ChartSource(resolver, "1.20.6", CephSettings.INSTALLS[0]), settings=env.components.ceph)
        MySql(stack, "MySql", ..., storage=ceph.storage_class)   # StorageClassRef("ceph-block", ready=...)

    Attributes:
        namespace: ``rook-ceph`` (PSA privileged: OSDs and CSI node plugins are privileged).
        operator, csi_drivers, cluster: the three releases, installed in that order.
        storage_class: the RBD StorageClass (name = environment ``storage.default_class``),
            usable once the cluster release is applied.
        cluster_ref: the CephCluster, for components that add Ceph resources (ceph-rgw object store).

    Raises:
        SourceError: a chart is not pinned or not vendored.
    """

    def __init__(self, scope: Construct, id_: str, *, cluster: ClusterHandle, source: ChartSource,
                 settings: CephSettings) -> None:
        super().__init__(scope, id_)
        self.namespace = Namespace.for_component(self, cluster, settings.namespace, PodSecurityLevel.privileged)
        ns = self.namespace.ref
        timeout = settings.install_timeout_s

        def release(id_: str, chart: str, values: dict[str, Any], after: list) -> HelmChart:
            return HelmChart(self, id_, cluster=cluster, chart=source.chart(chart), release_name=chart,
                             namespace=ns, values=values, timeout_s=timeout, depends_on=after)

        self.operator = release("Operator", "rook-ceph", _operator_values(settings, cluster), [])
        self.csi_drivers = release("CsiDrivers", "ceph-csi-drivers", _csi_values(settings, cluster),
                                   [self.operator.resource])
        self.cluster = release("Cluster", "rook-ceph-cluster", _cluster_values(settings, cluster),
                               [self.csi_drivers.resource])
        ready = (self.cluster.resource,)
        self.storage_class = StorageClassRef(name=cluster.storage_class, ready=ready)
        self.cluster_ref = CephClusterRef(namespace=settings.namespace, operator_namespace=settings.namespace,
                                          ready=ready)
