"""Settings of the NVIDIA GPU Operator (importable without cdktf).

Checked against the NVIDIA ``gpu-operator`` chart v25.10.1 ``values.yaml``
(NVIDIA/gpu-operator ``deployments/gpu-operator``). GPU sharing is not set
here but per node pool (``node_pools[].gpu.sharing``), because it is a
property of the nodes: see :class:`kfstack.constructs.cluster_baseline.node_pools.GpuSpec`.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from kfstack.model import ComponentSettings, DnsLabel, Installs, KeyPath


class GpuOperatorSettings(ComponentSettings):
    """The GPU Operator and the operands it runs on every GPU node.

    Example (drivers preinstalled on the hosts, toolkit managed by the operator)::

        components:
          gpu_operator:
            enabled: true
            driver_enabled: false
    """

    INSTALLS: ClassVar[tuple[Installs, ...]] = (Installs("gpu_operator", charts=("gpu-operator",)),)

    enabled: bool = Field(
        False,
        description="Install the GPU Operator. Default false (base.yaml turns it on for every environment).",
    )
    namespace: DnsLabel = Field(
        "gpu-operator", description="Namespace of the operator and its operands (PSA privileged). Default gpu-operator."
    )
    driver_enabled: bool = Field(
        True,
        description="The operator installs the NVIDIA driver as a container on each GPU node (chart key "
        "driver.enabled). Set false when the hosts have the driver preinstalled. Default true (upstream default).",
    )
    toolkit_enabled: bool = Field(
        True,
        description="The operator installs the NVIDIA Container Toolkit on each GPU node (chart key "
        "toolkit.enabled). Set false when the hosts have it preinstalled. Default true (upstream default).",
    )
    dcgm_exporter: bool = Field(
        True, description="Run the DCGM exporter for GPU metrics (chart key dcgmExporter.enabled). Default true."
    )
    node_status_exporter: bool = Field(
        False, description="Run the node status exporter (chart key nodeStatusExporter.enabled). Default false."
    )
    nfd: bool = Field(
        True,
        description="Deploy Node Feature Discovery with the operator (chart key nfd.enabled); set false when the "
        "cluster already runs NFD. Default true.",
    )

    def creates_namespaces(self) -> dict[KeyPath, str]:
        """The operator's namespace."""
        return {("namespace",): self.namespace}
