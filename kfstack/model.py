"""Shared pydantic building blocks, importable without cdktf.

Every settings model in kfstack derives from :class:`Settings`: frozen (nothing
mutates settings after loading) and ``extra="forbid"`` (a misspelled key is an
error that names the key path).

A component's settings (:class:`ComponentSettings`) also declare, once, what the
component installs (:class:`Installs`: the charts and kustomize bases pinned at one
``release.versions`` key) and what it requires of the others (:attr:`ComponentSettings.NEEDS`,
the shared namespaces it installs into, the namespaces it creates, and its own
wiring rules in :meth:`ComponentSettings.requirements`). The stack, the pin check
of ``sources.lock`` and ``kfstack check`` read these declarations; validation runs the
requirements of every enabled component the same way
(``kfstack.config.environment.Components.wiring_problems``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, ClassVar, Protocol

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from kfstack.versions import is_version

__all__ = [
    "Settings",
    "ComponentSettings",
    "ComponentsView",
    "Installs",
    "KeyPath",
    "WiringProblem",
    "kustomize_part",
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


KeyPath = tuple[str | int, ...]
"""A key path in an environment file, e.g. ``("components", "istio", "tls", "enabled")``."""

WiringProblem = tuple[KeyPath, str]
"""One broken wiring rule: (key path under ``components``, message), e.g.
``(("dashboard", "enabled"), "dashboard is enabled but auth is not: ...")``."""


def kustomize_part(base: str, chart: str) -> tuple[str, str] | None:
    """Which rendered part of kustomize base ``base`` chart ``chart`` is: ``(kind, number)``.

    Render-and-split (:mod:`kfstack.sources.kustomize`) names the parts ``<base>-crds``
    (``("crds", "")``), ``<base>`` (``("release", "")``), then ``<base>-crds-<n>`` /
    ``<base>-<n>`` (``("crds", "<n>")`` / ``("release", "<n>")``) when a part is split.
    Returns None when ``chart`` is not a part name of ``base``.
    """
    if chart == base:
        return "release", ""
    if chart == f"{base}-crds":
        return "crds", ""
    for prefix, kind in ((f"{base}-crds-", "crds"), (f"{base}-", "release")):
        number = chart.removeprefix(prefix)
        if chart.startswith(prefix) and number.isdigit():
            return kind, number
    return None


KUBEFLOW_LINE = "kubeflow"
"""The :attr:`Installs.key` of sources versioned with the Kubeflow release line (``release.kubeflow``)."""


@dataclass(frozen=True)
class Installs:
    """What a component installs at one app version: the charts and kustomize bases that
    ``sources.lock`` must pin at ``release.versions.<key>``.

    Declared once per component (:attr:`ComponentSettings.INSTALLS`); a
    :class:`kfstack.sources.charts.ChartSource` refuses any other name, the pin check
    (:func:`kfstack.sources.lock.unpinned_versions`) requires each name pinned at that
    key's version, and ``kfstack check`` attributes releases by it. Charts this project
    authors (``charts/``) are not pinned and not declared.

    Example::

        Installs("istio", charts=("base", "cni", "istiod", "gateway"))
        Installs("pipelines", kustomize=("pipelines",))

    Attributes:
        key: a field of ``release.versions`` (``kfstack.config.environment.ReleaseVersions``), or
            :data:`KUBEFLOW_LINE` for what is versioned with the Kubeflow line itself (``release.kubeflow``,
            e.g. upstream's kubeflow namespace policies).
        charts: upstream Helm chart names (``sources.lock`` ``charts[].name``).
        kustomize: kustomize base names (``sources.lock`` ``kustomize[].name``).
    """

    key: str
    charts: tuple[str, ...] = ()
    kustomize: tuple[str, ...] = ()

    def owns(self, chart: str) -> bool:
        """True when a release of chart ``chart`` is this declaration's: one of :attr:`charts`,
        or a rendered part of one of the :attr:`kustomize` bases (see :func:`kustomize_part`)."""
        return chart in self.charts or any(kustomize_part(base, chart) for base in self.kustomize)


class ComponentsView(Protocol):
    """The whole ``components`` block as a component's rules read it: each component's settings
    by its key (``components.mysql`` is ``view.mysql``).

    Implemented by ``kfstack.config.environment.Components``; spelled here so that settings
    modules never import :mod:`kfstack.config`.
    """

    def __getattr__(self, key: str) -> Any: ...


class ComponentSettings(Settings):
    """Base for a component's settings: every component can be switched off.

    Components that are optional default to ``enabled: false`` in their own
    model; the platform core (baseline, cert-manager, Istio) defaults to on.

    Declarations (class variables and methods a component overrides; see the module doc):
    :attr:`INSTALLS` and :meth:`installs`, :attr:`NEEDS`, :meth:`uses_shared_namespaces`,
    :meth:`creates_namespaces` and :meth:`requirements`. Validation reads them only for
    enabled components.
    """

    INSTALLS: ClassVar[tuple[Installs, ...]] = ()
    """Everything this component can install, one :class:`Installs` per ``release.versions`` key."""
    NEEDS: ClassVar[dict[str, str]] = {}
    """Other components (key under ``components``) that must be enabled with this one, each with
    the reason, e.g. ``{"mysql": "Katib keeps its experiments in MySQL"}``."""

    enabled: bool = Field(True, description="Install this component. Default true.")
    install_timeout_s: int = Field(
        600, ge=60, le=3600,
        description="Seconds Helm waits for each release of this component (helm_release.timeout). Default 600.",
    )

    def installs(self) -> tuple[Installs, ...]:
        """The declarations these settings install (a subset of :attr:`INSTALLS`). Default: all."""
        return self.INSTALLS

    def uses_shared_namespaces(self) -> dict[KeyPath, str]:
        """Namespaces this component installs into without creating them, by the key path (under
        this component) that names each, e.g. ``{("namespace",): "kubeflow"}``; each must be one of
        the cluster baseline's ``shared_namespaces``. Default none."""
        return {}

    def creates_namespaces(self) -> dict[KeyPath, str]:
        """Namespaces this component creates, by the key path (under this component) that names each,
        e.g. ``{("namespace",): "cert-manager"}``; no two components may create the same one. Default none."""
        return {}

    def requirements(self, components: ComponentsView) -> list[WiringProblem]:
        """This component's own wiring rules beyond :attr:`NEEDS` and namespaces, checked with the
        whole ``components`` block: (key path under ``components``, message) per broken rule.
        Default none."""
        return []


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
