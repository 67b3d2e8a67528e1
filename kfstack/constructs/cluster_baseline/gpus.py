"""MIG-capable GPU products and the MIG profiles each one offers.

Source: NVIDIA Multi-Instance GPU User Guide, "Supported MIG Profiles" (docs.nvidia.com/
datacenter/tesla/mig-user-guide, r580 edition), one table per GPU; product names are the
``nvidia.com/gpu.product`` label GPU Feature Discovery writes (the ``nvidia-smi`` name with
spaces turned into dashes). Only GPU-instance profiles are listed (``<g>g.<mem>gb``, ``+me``
= with a media engine); a compute-instance profile ``<c>c.<g>g.<mem>gb`` is checked by its
GPU-instance part.

A GPU not listed here is treated as not MIG-capable (T4, V100, L4, L40S, A10 have no MIG).
To use MIG on a newer product, add its row from the guide's table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MigGpu:
    """One MIG-capable GPU: its compute slices and the GPU-instance profiles it offers."""

    slices: int
    profiles: frozenset[str]


def _gpu(slices: int, *profiles: str) -> MigGpu:
    return MigGpu(slices, frozenset(profiles))


_A100_40 = _gpu(7, "1g.5gb", "1g.5gb+me", "1g.10gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb")
_A100_80 = _gpu(7, "1g.10gb", "1g.10gb+me", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb")
_A30 = _gpu(4, "1g.6gb", "1g.6gb+me", "2g.12gb", "2g.12gb+me", "4g.24gb")
_H100_80 = _gpu(7, "1g.10gb", "1g.10gb+me", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb")
_H100_94 = _gpu(7, "1g.12gb", "1g.12gb+me", "1g.24gb", "2g.24gb", "3g.47gb", "4g.47gb", "7g.94gb")
_H200_141 = _gpu(7, "1g.18gb", "1g.18gb+me", "1g.35gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb")

MIG_GPUS: dict[str, MigGpu] = {
    "NVIDIA-A100-SXM4-40GB": _A100_40,
    "NVIDIA-A100-PCIE-40GB": _A100_40,
    "NVIDIA-A100-SXM4-80GB": _A100_80,
    "NVIDIA-A100-80GB-PCIe": _A100_80,
    "NVIDIA-A30": _A30,
    "NVIDIA-H100-80GB-HBM3": _H100_80,
    "NVIDIA-H100-PCIe": _H100_80,
    "NVIDIA-H100-NVL": _H100_94,
    "NVIDIA-H200": _H200_141,
    "NVIDIA-H200-NVL": _H200_141,
}
"""MIG-capable products by ``nvidia.com/gpu.product`` value."""


def instance_profile(profile: str) -> str:
    """The GPU-instance part of a MIG profile: ``1c.3g.40gb`` → ``3g.40gb``; ``1g.10gb`` unchanged."""
    head, _, rest = profile.partition(".")
    return rest if head.endswith("c") else profile


def profile_slices(profile: str) -> int:
    """Compute slices a GPU instance of ``profile`` takes: ``3g.40gb`` → 3."""
    return int(instance_profile(profile).split("g.", 1)[0])
