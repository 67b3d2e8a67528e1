"""GPU Operator construct: NVIDIA's ``gpu-operator`` chart with per-pool GPU sharing.

Chart: NVIDIA ``gpu-operator`` v25.10.1 (https://helm.ngc.nvidia.com/nvidia;
values.yaml of NVIDIA/gpu-operator tag v25.10.1, ``deployments/gpu-operator``).
Value keys used: ``driver.enabled``, ``toolkit.enabled``,
``dcgmExporter.enabled``, ``nodeStatusExporter.enabled``, ``nfd.enabled``,
``daemonsets.tolerations``, ``mig.strategy``,
``devicePlugin.config.{create,name,default,data}``,
``migManager.config.{create,name,default,data}``, and for a registry mirror
``<component>.repository`` / ``<component>.imagePullSecrets`` (a list of
Secret *names* in this chart) of every image-bearing key, plus the bundled
node-feature-discovery v0.18.2 subchart's ``node-feature-discovery.image.repository``,
``.imagePullSecrets`` and ``.worker.tolerations``.

GPU sharing is per node pool and reaches the operator as node labels:

- time-slicing: the chart creates ConfigMap :data:`DEVICE_PLUGIN_CONFIG_MAP`
  with one device-plugin config per time-sliced pool (key = pool name, k8s
  device plugin v0.18 config ``version: v1``, ``sharing.timeSlicing``); nodes
  labelled ``nvidia.com/device-plugin.config=<pool>`` use it, unlabelled
  nodes fall back to the no-sharing :data:`NO_SHARING_CONFIG`.
- mig: the chart creates ConfigMap :data:`MIG_CONFIG_MAP` holding a
  mig-parted ``config.yaml`` with ``all-disabled`` plus one layout per MIG pool
  (name = pool name); nodes labelled ``nvidia.com/mig.config=<pool>`` are
  partitioned by the MIG manager. ``mig.strategy`` is the MIG pools' strategy.

The labels each pool's nodes must carry are ``NodePool.node_labels`` (the pool settings a
:class:`~kfstack.constructs.core.refs.GpuPoolRef` carries). GPU workloads take the construct's
:class:`~kfstack.constructs.core.refs.GpuOperatorRef` and wait for its ``ready``.
"""

from __future__ import annotations

from typing import Any

import yaml
from kfstack.cdk import Construct

from kfstack.constructs.cluster_baseline.node_pools import MIG_DISABLED_CONFIG, GpuSharing, cluster_mig_strategy
from kfstack.constructs.core import ClusterHandle, GpuPoolRef, HelmChart, Namespace, values_at
from kfstack.constructs.core.refs import GpuOperatorRef
from kfstack.constructs.gpu_operator.settings import GpuOperatorSettings
from kfstack.model import PodSecurityLevel
from kfstack.sources.charts import ChartSource

DEVICE_PLUGIN_CONFIG_MAP = "kfstack-device-plugin-config"
"""ConfigMap of per-pool device plugin configs (chart key devicePlugin.config.name)."""
NO_SHARING_CONFIG = "kfstack.no-sharing"
"""Device plugin config for nodes without a config label (a dot keeps it apart from pool names)."""
MIG_CONFIG_MAP = "kfstack-mig-parted-config"
"""ConfigMap of per-pool MIG layouts (chart key migManager.config.name)."""
MIG_DISABLED = MIG_DISABLED_CONFIG
"""MIG layout the operator applies to nodes without ``nvidia.com/mig.config`` (chart default)."""

GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
"""Upstream's default operand toleration (chart daemonsets.tolerations), always kept."""
CONTROL_PLANE_TOLERATIONS = (
    {"key": "node-role.kubernetes.io/master", "operator": "Equal", "value": "", "effect": "NoSchedule"},
    {"key": "node-role.kubernetes.io/control-plane", "operator": "Equal", "value": "", "effect": "NoSchedule"},
)
"""Upstream's default NFD worker tolerations (chart node-feature-discovery.worker.tolerations), always kept."""

# Chart key path -> upstream image repository (chart v25.10.1 defaults). With a mirror each
# becomes <mirror>/<path without the registry host>, e.g. nvcr.io/nvidia/k8s -> registry.internal/nvidia/k8s.
IMAGE_REPOSITORIES: dict[tuple[str, ...], str] = {
    ("operator",): "nvcr.io/nvidia",
    ("operator", "initContainer"): "nvcr.io/nvidia",
    ("validator",): "nvcr.io/nvidia",
    ("driver",): "nvcr.io/nvidia",
    ("driver", "manager"): "nvcr.io/nvidia/cloud-native",
    ("toolkit",): "nvcr.io/nvidia/k8s",
    ("devicePlugin",): "nvcr.io/nvidia",
    ("dcgm",): "nvcr.io/nvidia/cloud-native",
    ("dcgmExporter",): "nvcr.io/nvidia/k8s",
    ("gfd",): "nvcr.io/nvidia",
    ("migManager",): "nvcr.io/nvidia/cloud-native",
    ("nodeStatusExporter",): "nvcr.io/nvidia",
    ("gds",): "nvcr.io/nvidia/cloud-native",
    ("gdrcopy",): "nvcr.io/nvidia/cloud-native",
    ("vgpuManager", "driverManager"): "nvcr.io/nvidia/cloud-native",
    ("vgpuDeviceManager",): "nvcr.io/nvidia/cloud-native",
    ("vfioManager",): "nvcr.io/nvidia",
    ("vfioManager", "driverManager"): "nvcr.io/nvidia/cloud-native",
    ("kataManager",): "nvcr.io/nvidia/cloud-native",
    ("sandboxDevicePlugin",): "nvcr.io/nvidia",
    ("ccManager",): "nvcr.io/nvidia/cloud-native",
}
# Chart keys whose imagePullSecrets (list of Secret names) the ClusterPolicy/Deployment honours.
PULL_SECRET_KEYS: tuple[tuple[str, ...], ...] = (
    ("operator",), ("operator", "initContainer"), ("validator",), ("driver",), ("toolkit",), ("devicePlugin",),
    ("dcgm",), ("dcgmExporter",), ("gfd",), ("migManager",), ("nodeStatusExporter",), ("gds",), ("gdrcopy",),
    ("vgpuManager",), ("vgpuDeviceManager",), ("vfioManager",), ("kataManager",), ("sandboxDevicePlugin",),
    ("ccManager",),
)
NFD_REPOSITORY = "registry.k8s.io/nfd/node-feature-discovery"
"""Image of the node-feature-discovery v0.18.2 subchart (its image.repository default)."""




def _dedup(items: list[dict[str, str]]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for item in items:
        if item not in out:
            out.append(dict(item))  # copies: shared objects would become YAML anchors in the values
    return out


def operand_tolerations(pools: tuple[GpuPoolRef, ...]) -> list[dict[str, str]]:
    """Tolerations of the operands: upstream's ``nvidia.com/gpu`` one plus every GPU pool's taints, deduplicated."""
    return _dedup([GPU_TOLERATION, *(t for p in pools for t in p.tolerations)])


def _mig_strategy(pools: tuple[GpuPoolRef, ...]) -> str:
    """Chart value ``mig.strategy``: the MIG pools' strategy, else ``single`` (chart default)."""
    return cluster_mig_strategy(p.pool for p in pools).value


def device_plugin_configs(pools: tuple[GpuPoolRef, ...]) -> dict[str, str]:
    """ConfigMap data for devicePlugin.config: config name → device plugin config YAML.

    Empty when no pool time-slices (the operator then runs the device plugin
    without a config). Keys: :data:`NO_SHARING_CONFIG` and each time-sliced pool.
    """
    sliced = [p for p in pools if p.gpu.sharing is GpuSharing.time_slicing]
    if not sliced:
        return {}
    flags = {"migStrategy": _mig_strategy(pools)}
    data = {NO_SHARING_CONFIG: yaml.safe_dump({"version": "v1", "flags": flags}, sort_keys=True)}
    for pool in sliced:
        config = {
            "version": "v1",
            "flags": flags,
            "sharing": {"timeSlicing": {"resources": [
                {"name": "nvidia.com/gpu", "replicas": pool.gpu.time_slicing_replicas},
            ]}},
        }
        data[pool.name] = yaml.safe_dump(config, sort_keys=True)
    return data


def mig_parted_config(pools: tuple[GpuPoolRef, ...]) -> dict[str, Any] | None:
    """mig-parted config (``version: v1``, ``mig-configs``) for the MIG pools, or None when there are none."""
    mig = [p for p in pools if p.gpu.sharing is GpuSharing.mig]
    if not mig:
        return None
    configs: dict[str, Any] = {MIG_DISABLED: [{"devices": "all", "mig-enabled": False}]}
    for pool in mig:
        configs[pool.name] = [{"devices": "all", "mig-enabled": True, "mig-devices": dict(sorted((pool.gpu.mig_devices or {}).items()))}]
    return {"version": "v1", "mig-configs": configs}


def _values(settings: GpuOperatorSettings, cluster: ClusterHandle) -> dict[str, Any]:
    """Chart values for gpu-operator (keys from chart v25.10.1 values.yaml)."""
    pools = cluster.gpu_pools
    tolerations = operand_tolerations(pools)
    values: dict[str, Any] = {
        "driver": {"enabled": settings.driver_enabled},
        "toolkit": {"enabled": settings.toolkit_enabled},
        "dcgmExporter": {"enabled": settings.dcgm_exporter},
        "nodeStatusExporter": {"enabled": settings.node_status_exporter},
        "nfd": {"enabled": settings.nfd},
        "daemonsets": {"tolerations": tolerations},
        "node-feature-discovery": {"worker": {"tolerations": _dedup([*CONTROL_PLANE_TOLERATIONS, *tolerations])}},
        "mig": {"strategy": _mig_strategy(pools)},
    }
    plugin_data = device_plugin_configs(pools)
    if plugin_data:
        values["devicePlugin"] = {"config": {
            "create": True, "name": DEVICE_PLUGIN_CONFIG_MAP, "default": NO_SHARING_CONFIG, "data": plugin_data,
        }}
    mig = mig_parted_config(pools)
    if mig is not None:
        values["migManager"] = {"config": {
            "create": True, "name": MIG_CONFIG_MAP, "default": MIG_DISABLED,
            "data": {"config.yaml": yaml.safe_dump(mig, sort_keys=True)},
        }}
    if cluster.mirror is not None:
        secret_names = [s["name"] for s in cluster.mirror.pull_secrets]
        for path, upstream in IMAGE_REPOSITORIES.items():
            values_at(values, path)["repository"] = cluster.mirror.rehost(upstream)
        if secret_names:
            for path in PULL_SECRET_KEYS:
                values_at(values, path)["imagePullSecrets"] = list(secret_names)
        nfd = values["node-feature-discovery"]
        nfd["image"] = {"repository": cluster.mirror.rehost(NFD_REPOSITORY)}
        nfd["imagePullSecrets"] = cluster.mirror.pull_secrets
    return values


class GpuOperator(Construct):
    """The NVIDIA GPU Operator and its operands on every GPU node pool.

    Example::

        gpu = GpuOperator(stack, "GpuOperator", cluster=baseline.handle,
                          source=ChartSource(resolver, "25.10.1", GpuOperatorSettings.INSTALLS[0]),
                          settings=GpuOperatorSettings(enabled=True))
        Training(stack, "Training", cluster=baseline.handle, gpu_operator=gpu.ref, ...)  # waits for gpu.ref.ready

    Attributes:
        namespace: the ``gpu-operator`` namespace (PSA privileged: the operands
            load kernel modules and mount host paths).
        resource: the ``helm_release``.
        ref: :class:`GpuOperatorRef`: the GPU pools the operands serve and ``ready`` (the release,
            applied once Helm sees the operator's Deployment ready; the operator then rolls the
            operands out node by node, and a pod asking for GPUs stays Pending until its node's
            device plugin advertises them). GPU consumers take this ref and depend on ``ready``.
        pools, ready: ``ref.pools`` and ``ref.ready``.

    Raises:
        SourceError: the chart is not pinned or not vendored.
    """

    def __init__(self, scope: Construct, id_: str, *, cluster: ClusterHandle, source: ChartSource,
                 settings: GpuOperatorSettings) -> None:
        super().__init__(scope, id_)
        self.namespace = Namespace.for_component(self, cluster, settings.namespace, PodSecurityLevel.privileged)
        chart = HelmChart(
            self, "Release", cluster=cluster, chart=source.chart("gpu-operator"), release_name="gpu-operator",
            namespace=self.namespace.ref, values=_values(settings, cluster), timeout_s=settings.install_timeout_s,
        )
        self.resource = chart.resource
        self.ref = GpuOperatorRef(pools=cluster.gpu_pools, ready=(self.resource,))
        self.pools = self.ref.pools
        self.ready = self.ref.ready
