"""Shared pydantic building blocks, importable without cdktf.

Every settings model in kfstack derives from :class:`Settings`: frozen (nothing
mutates settings after loading) and ``extra="forbid"`` (a misspelled key is an
error that names the key path).
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from kfstack.versions import is_version

__all__ = [
    "Settings",
    "ComponentSettings",
    "DnsLabel",
    "LabelKey",
    "LabelValue",
    "Version",
    "PodSecurityLevel",
    "TaintEffect",
    "Taint",
    "Toleration",
]


class Settings(BaseModel):
    """Base for every settings model: frozen, strict about unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


class ComponentSettings(Settings):
    """Base for a component's settings: every component can be switched off.

    Components that are optional default to ``enabled: false`` in their own
    model; the platform core (baseline, cert-manager, Istio) defaults to on.
    """

    enabled: bool = Field(True, description="Install this component. Default true.")
    install_timeout_s: int = Field(
        600, ge=60, le=3600,
        description="Seconds Helm waits for each release of this component (helm_release.timeout). Default 600.",
    )


DnsLabel = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"),
]
"""An RFC 1123 label: namespaces, release names, node pool names (<= 63 chars)."""

_LABEL_KEY = re.compile(
    r"^(([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)


def _check_label_key(value: str) -> str:
    if not _LABEL_KEY.match(value):
        raise ValueError(f"{value!r} is not a valid Kubernetes label key (prefix/name, name <= 63 chars)")
    return value


LabelKey = Annotated[str, AfterValidator(_check_label_key)]
"""A Kubernetes label or taint key such as ``nvidia.com/gpu.product``."""

_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def _check_label_value(value: str) -> str:
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        raise ValueError(f"{value!r} is not a valid Kubernetes label value (<= 63 ASCII letters, digits, "
                         "'-', '_' or '.', starting and ending with a letter or digit; may be empty)")
    return value


LabelValue = Annotated[str, AfterValidator(_check_label_value)]
"""A Kubernetes label value such as ``NVIDIA-A100-SXM4-80GB`` (may be empty)."""

def _check_version(value: str) -> str:
    if not is_version(value):
        raise ValueError(
            f"{value!r} is not a version: expected MAJOR.MINOR[.PATCH][-PRERELEASE], "
            "optionally with a leading 'v' (e.g. 1.19.4, v2.16.0, 26.03)"
        )
    return value


Version = Annotated[str, AfterValidator(_check_version)]
"""A release or chart version, e.g. ``1.29.0`` or ``v1.19.4`` (leading v kept as written;
pattern and order: :mod:`kfstack.versions`)."""


class PodSecurityLevel(str, Enum):
    """Pod Security Admission level (``pod-security.kubernetes.io/enforce``)."""

    privileged = "privileged"
    baseline = "baseline"
    restricted = "restricted"


class TaintEffect(str, Enum):
    """Kubernetes taint effect."""

    NoSchedule = "NoSchedule"
    PreferNoSchedule = "PreferNoSchedule"
    NoExecute = "NoExecute"


class Taint(Settings):
    """A node taint, as in ``Node.spec.taints``."""

    key: LabelKey
    value: str = Field("", max_length=63, description="Taint value. Default empty.")
    effect: TaintEffect = TaintEffect.NoSchedule

    def toleration(self) -> "Toleration":
        """The toleration that matches exactly this taint."""
        return Toleration(key=self.key, operator="Equal", value=self.value, effect=self.effect)


class Toleration(Settings):
    """A pod toleration, as in ``PodSpec.tolerations`` (rendered with :meth:`as_k8s`)."""

    key: LabelKey
    operator: str = "Equal"
    value: str = ""
    effect: TaintEffect = TaintEffect.NoSchedule

    def as_k8s(self) -> dict[str, str]:
        """The toleration as a Kubernetes JSON object (camelCase keys)."""
        out = {"key": self.key, "operator": self.operator, "effect": self.effect.value}
        if self.operator == "Equal":
            out["value"] = self.value
        return out
