"""Read a synthesized stack (``cdk.tf.json``): its Helm releases and the objects Terraform creates.

Terraform references (``${kubernetes_namespace_v1.X.metadata[0].name}``)
are resolved against the stack's own resources; values that only exist at
apply time (``random_password`` results, sensitive ``set``) are replaced by
:data:`PLACEHOLDER`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kfstack.kube_resources import RESOURCE_KINDS

PLACEHOLDER = "kfstack-check-placeholder"
"""Stand-in for a value known only at apply time (a generated password, a sensitive set)."""

_REF = re.compile(r"\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.metadata\[0\]\.(name|namespace)\}")
_ANY_REF = re.compile(r"\$\{[^}]*\}")

class StackError(Exception):
    """The stack file is missing or not a synthesized kfstack stack."""


@dataclass(frozen=True)
class TerraformObject:
    """A Kubernetes object a ``kubernetes_*`` resource creates (metadata only, plus Namespace labels)."""

    address: str
    api_version: str
    kind: str
    name: str
    namespace: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    secret_type: str = ""

    def manifest(self) -> dict[str, Any]:
        """A minimal object with this identity (placeholder data for Secrets/ConfigMaps)."""
        meta: dict[str, Any] = {"name": self.name}
        if self.namespace:
            meta["namespace"] = self.namespace
        if self.labels:
            meta["labels"] = dict(self.labels)
        obj: dict[str, Any] = {"apiVersion": self.api_version, "kind": self.kind, "metadata": meta}
        if self.kind == "Secret":
            obj["type"] = self.secret_type or "Opaque"
            if obj["type"] == "kubernetes.io/dockerconfigjson":
                obj["stringData"] = {".dockerconfigjson": '{"auths": {}}'}
        return obj


@dataclass(frozen=True)
class HelmRelease:
    """One ``helm_release`` as Terraform will install it.

    ``chart`` is a chart name (with ``repository`` and ``version``) or a
    path of a local chart folder (``local_path``, absolute). ``values`` are
    the YAML documents in order; ``sets`` are (dotted path, value, type)
    with sensitive values replaced by :data:`PLACEHOLDER`.
    """

    address: str
    name: str
    namespace: str
    chart: str
    repository: str | None
    version: str | None
    local_path: Path | None
    values: tuple[str, ...]
    sets: tuple[tuple[str, str, str], ...]
    depends_on: tuple[str, ...]
    component: str

    @property
    def label(self) -> str:
        """``chart version`` (local charts: the folder's chart name)."""
        return f"{self.chart} {self.version or ''}".strip()


@dataclass
class Stack:
    """The parts of a synthesized stack ``kfstack check`` needs."""

    env: str
    path: Path
    releases: list[HelmRelease]
    objects: list[TerraformObject]
    manifests: list[dict[str, Any]] = field(default_factory=list)
    """The stack's ``kubernetes_*`` resources in Kubernetes shape (:func:`kubernetes_objects`):
    what the image rules read (``kfstack images``, ``kfstack check``)."""

    def install_order(self) -> list[HelmRelease]:
        """Releases in an order that respects every ``depends_on`` (stable: file order otherwise)."""
        by_addr = {r.address: r for r in self.releases}
        seen: set[str] = set()
        out: list[HelmRelease] = []

        def visit(r: HelmRelease, stack: tuple[str, ...]) -> None:
            if r.address in seen or r.address in stack:
                return
            for dep in r.depends_on:
                if dep in by_addr:
                    visit(by_addr[dep], stack + (r.address,))
            seen.add(r.address)
            out.append(r)

        for r in self.releases:
            visit(r, ())
        return out

    def namespaces(self) -> list[TerraformObject]:
        return [o for o in self.objects if o.kind == "Namespace"]


def _resolver(resources: dict[str, dict[str, Any]]):
    def meta(rtype: str, rid: str) -> dict[str, Any]:
        res = resources.get(rtype, {}).get(rid, {})
        m = res.get("metadata") or {}
        return m[0] if isinstance(m, list) and m else m if isinstance(m, dict) else {}

    def resolve(text: Any) -> Any:
        if not isinstance(text, str):
            return text

        def sub(m: re.Match) -> str:
            value = meta(m.group(1), m.group(2)).get(m.group(3))
            return resolve(value) if isinstance(value, str) else m.group(0)

        out = _REF.sub(sub, text)
        return _ANY_REF.sub(PLACEHOLDER, out)

    return resolve


def load_stack(path: Path, env: str) -> Stack:
    """Read ``path`` (a ``cdk.tf.json``) and :func:`stack_from_document` it.

    Raises:
        StackError: the file is missing or is not JSON.
    """
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise StackError(f"{path}: not found; synthesize first (`bash scripts/synth.sh` or `kfstack synth {env}`)") from exc
    except (OSError, ValueError) as exc:
        raise StackError(f"{path}: not a synthesized stack: {exc}") from exc
    return stack_from_document(doc, path, env)


def stack_from_document(doc: dict[str, Any], path: Path, env: str) -> Stack:
    """The :class:`Stack` of a parsed ``cdk.tf.json`` ``doc``; ``path`` is where it lives (local
    chart assets are relative to its folder). Namespace/name references are resolved, other
    Terraform expressions and sensitive sets become :data:`PLACEHOLDER`."""
    resources: dict[str, dict[str, Any]] = doc.get("resource") or {}
    resolve = _resolver(resources)
    stack_dir = path.parent

    objects: list[TerraformObject] = []
    for rtype, (api_version, kind) in RESOURCE_KINDS.items():
        for rid, res in sorted(resources.get(rtype, {}).items()):
            m = res.get("metadata") or {}
            m = m[0] if isinstance(m, list) and m else m
            objects.append(TerraformObject(
                address=f"{rtype}.{rid}", api_version=api_version, kind=kind,
                name=resolve(m.get("name", "")), namespace=resolve(m.get("namespace", "")) if kind != "Namespace" else "",
                labels={k: resolve(v) for k, v in (m.get("labels") or {}).items()},
                secret_type=res.get("type", "") if kind == "Secret" else ""))

    releases: list[HelmRelease] = []
    for rid, res in resources.get("helm_release", {}).items():
        chart = res["chart"]
        repository = res.get("repository")
        local = None
        if not repository and not str(chart).startswith("oci://"):
            local = (stack_dir / chart).resolve()
        sets = tuple((s["name"], str(resolve(s.get("value", ""))), s.get("type", "")) for s in res.get("set", []))
        sets += tuple((s["name"], PLACEHOLDER, s.get("type", "")) for s in res.get("set_sensitive", []))
        component = ((res.get("//") or {}).get("metadata") or {}).get("path", "")
        releases.append(HelmRelease(
            address=f"helm_release.{rid}", name=res["name"], namespace=resolve(res.get("namespace") or "default"),
            chart=chart if local is None else _local_chart_name(local, chart), repository=repository,
            version=res.get("version") if local is None else _local_chart_version(local),
            local_path=local, values=tuple(resolve(v) for v in res.get("values", [])), sets=sets,
            depends_on=tuple(res.get("depends_on", [])), component=component))
    return Stack(env=env, path=path, releases=releases, objects=objects, manifests=kubernetes_objects(doc))


_TF_RENAMES = {"container": "containers", "init_container": "initContainers"}


def _from_terraform(node: Any) -> Any:
    """A kubernetes provider block (``spec[0].template[0].spec[0].container[]``) in Kubernetes shape."""
    if isinstance(node, dict):
        return {_TF_RENAMES.get(k, k): _from_terraform(v) for k, v in node.items()}
    if isinstance(node, list):
        if len(node) == 1 and isinstance(node[0], dict) and not any(k in ("name",) for k in node[0]):
            return _from_terraform(node[0])
        return [_from_terraform(v) for v in node]
    return node


def kubernetes_objects(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Objects a parsed stack ``doc`` creates through ``kubernetes_*`` resources, in the shape
    :func:`kfstack.images.images_in_objects` reads (sorted by resource type, then id).

    ``kubernetes_config_map_v1`` becomes ``{"kind": "ConfigMap", "data": {...}}``; workload
    resources (``kubernetes_deployment_v1``, ...) become ``{"kind": "deployment", "spec": ...}``
    with the provider's ``container``/``init_container`` blocks renamed ``containers``/
    ``initContainers`` and one-element block lists unwrapped. Other kinds carry no images and are
    left out (their identities are in :attr:`Stack.objects`).
    """
    out: list[dict[str, Any]] = []
    for rtype, resources in sorted((doc.get("resource") or {}).items()):
        if not rtype.startswith("kubernetes_"):
            continue
        kind = rtype.removeprefix("kubernetes_").removesuffix("_v1").removesuffix("_v2")
        for _, r in sorted(resources.items()):
            if kind == "config_map":
                out.append({"kind": "ConfigMap", "data": dict(r.get("data") or {})})
            elif kind in ("deployment", "stateful_set", "daemon_set", "daemonset", "job", "cron_job", "pod"):
                out.append({"kind": kind, "spec": _from_terraform(r.get("spec"))})
    return out


def _chart_meta(folder: Path) -> dict[str, Any]:
    try:
        return yaml.safe_load((folder / "Chart.yaml").read_text(encoding="utf-8")) or {}
    except OSError:
        return {}


def _local_chart_name(folder: Path, fallback: str) -> str:
    return str(_chart_meta(folder).get("name") or fallback)


def _local_chart_version(folder: Path) -> str | None:
    v = _chart_meta(folder).get("version")
    return str(v) if v is not None else None
