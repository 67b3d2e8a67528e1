"""Checks on a release's rendered objects that need no API server.

Each function takes rendered objects (and what it needs from the chart or
the environment) and returns :class:`~kfstack.check.report.Problem` lists.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import math
import re
import tarfile
from dataclasses import dataclass, field
from typing import Any, Iterable

import yaml

from kfstack.check.report import Category, Problem
from kfstack.check.workloads import object_id, pod_spec

RELEASE_LIMIT_BYTES = 1024 * 1024
"""Helm stores a release in one Secret; Kubernetes caps a Secret's data at 1 MiB."""

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# ------------------------------------------------------------ chart content


@dataclass
class ChartContent:
    """A chart's default values (subcharts under their name/alias) and template texts."""

    name: str
    defaults: dict[str, Any]
    templates: str
    files: dict[str, bytes] = field(default_factory=dict)
    subcharts: dict[str, "ChartContent"] = field(default_factory=dict)

    @property
    def all_templates(self) -> str:
        return self.templates + "".join(s.all_templates for s in self.subcharts.values())


def _members(tar: tarfile.TarFile) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for m in tar.getmembers():
        if m.isfile() and m.size < 64 << 20:
            fh = tar.extractfile(m)
            if fh is not None:
                out[m.name] = fh.read()
    return out


def _from_files(files: dict[str, bytes], prefix: str) -> ChartContent:
    """Build from archive members under ``prefix`` (``<chart>/``)."""
    def get(rel: str) -> bytes | None:
        return files.get(prefix + rel)

    meta = yaml.load(get("Chart.yaml") or b"{}", Loader=_Loader) or {}  # noqa: S506
    defaults = yaml.load(get("values.yaml") or b"{}", Loader=_Loader) or {}  # noqa: S506
    texts = [v.decode("utf-8", "replace") for k, v in sorted(files.items())
             if k.startswith(prefix + "templates/")]
    own = {k[len(prefix):]: v for k, v in files.items()
           if k.startswith(prefix) and not k.startswith(prefix + "charts/")}
    chart = ChartContent(str(meta.get("name", "")), defaults if isinstance(defaults, dict) else {},
                         "\n".join(texts), own)
    aliases = {str(d.get("name")): str(d.get("alias") or d.get("name")) for d in meta.get("dependencies") or []}
    # Subcharts: folders charts/<name>/ and archives charts/<name>-<version>.tgz.
    seen: set[str] = set()
    for k in sorted(files):
        if not k.startswith(prefix + "charts/"):
            continue
        rest = k[len(prefix + "charts/"):]
        if "/" in rest:
            sub = rest.split("/", 1)[0]
            if sub in seen:
                continue
            seen.add(sub)
            content = _from_files(files, f"{prefix}charts/{sub}/")
        elif rest.endswith(".tgz"):
            with tarfile.open(fileobj=io.BytesIO(files[k]), mode="r:gz") as tar:
                inner = _members(tar)
            top = sorted({n.split("/", 1)[0] for n in inner})
            if not top:
                continue
            content = _from_files(inner, top[0] + "/")
        else:
            continue
        chart.subcharts[aliases.get(content.name, content.name)] = content
    return chart


def load_chart(path) -> ChartContent:
    """Read a chart archive or folder.

    Raises:
        ValueError: not a chart.
    """
    from pathlib import Path

    p = Path(path)
    if p.is_dir():
        files = {f"{p.name}/{f.relative_to(p).as_posix()}": f.read_bytes() for f in p.rglob("*") if f.is_file()}
        return _from_files(files, p.name + "/")
    try:
        with tarfile.open(p, "r:gz") as tar:
            files = _members(tar)
    except (OSError, tarfile.TarError) as exc:
        raise ValueError(f"{p}: not a chart archive: {exc}") from exc
    top = sorted({n.split("/", 1)[0] for n in files})
    if not top:
        raise ValueError(f"{p}: empty archive")
    return _from_files(files, top[0] + "/")


# ------------------------------------------------------------ values


def merged_values(documents: Iterable[str], sets: Iterable[tuple[str, str, str]]) -> dict[str, Any]:
    """The user-supplied values as Helm merges them (documents in order; ``set`` paths on top)."""
    from kfstack.config.loader import deep_merge  # Helm's rule too: maps merge, lists and scalars replace

    out: dict[str, Any] = {}
    for doc in documents:
        data = yaml.load(doc, Loader=_Loader) or {}  # noqa: S506
        if isinstance(data, dict):
            out = deep_merge(out, data)
    for name, value, _ in sets:
        node = out
        keys = [k for k in re.split(r"(?<!\\)\.", name)]
        for k in keys[:-1]:
            k = k.replace("\\.", ".")
            node = node.setdefault(k, {}) if isinstance(node.get(k, {}), dict) else {}
        node[keys[-1].replace("\\.", ".")] = value
    return out


def _leaf_paths(values: Any, prefix: tuple[str, ...] = ()) -> Iterable[tuple[str, ...]]:
    if isinstance(values, dict) and values:
        for k, v in values.items():
            yield from _leaf_paths(v, prefix + (str(k),))
    elif prefix:
        yield prefix


def _mentioned(key: str, ancestors: tuple[str, ...], templates: str) -> bool:
    """Does a template read ``key`` by name, or hand an ancestor map whole to toYaml/tpl/range/with?"""
    if re.search(r"\." + re.escape(key) + r"\b", templates) or re.search(r"[\"']" + re.escape(key) + r"[\"']", templates):
        return True
    for parent in ancestors:
        p = re.escape(parent)
        if (re.search(r"(toYaml|toJson|tpl|include|merge|mustMerge|range|with|omit)[^\n}]*\." + p + r"\b", templates)
                or re.search(r"\." + p + r"\b[^\n}]*\|\s*(toYaml|toJson|tpl)", templates)):
            return True
    return False


def unknown_values(values: dict[str, Any], chart: ChartContent) -> list[tuple[str, ...]]:
    """Value paths whose key is neither in the chart's (or subchart's) ``values.yaml`` nor named by a template.

    ``global`` is always accepted; keys under an open map (``{}``, null) must
    be named by a template or sit under a map the template hands over whole.
    These are candidates for :func:`unread_values`, not verdicts.
    """
    out: list[tuple[str, ...]] = []
    for path in _leaf_paths(values):
        if path[0] == "global":
            continue
        node: Any = chart.defaults
        templates = chart.all_templates
        for i, key in enumerate(path):
            if i == 0 and key in chart.subcharts:
                scope = chart.subcharts[key]
                sub_defaults = dict(scope.defaults)
                own = (chart.defaults or {}).get(key)
                if isinstance(own, dict):
                    sub_defaults.update(own)
                node, templates = sub_defaults, scope.all_templates
                if len(path) == 1:
                    break
                continue
            if isinstance(node, dict) and key in node:
                node = node[key]
                continue
            if isinstance(node, dict) or node is None:
                if not _mentioned(key, tuple(reversed(path[:i])), templates):
                    out.append(path[: i + 1])
            break
    return sorted(set(out))


def perturbed(values: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """A deep copy of ``values`` with the value at ``path`` changed (lists emptied, strings suffixed, maps dropped)."""
    import copy

    out = copy.deepcopy(values)
    node = out
    for k in path[:-1]:
        node = node[k]
    v = node[path[-1]]
    if isinstance(v, list):
        node[path[-1]] = []
    elif isinstance(v, str):
        node[path[-1]] = v + "-kfstack-probe"
    elif isinstance(v, bool):
        node[path[-1]] = not v
    elif isinstance(v, (int, float)):
        node[path[-1]] = v + 1
    else:
        del node[path[-1]]
    return out


def canonical(objects: list[dict[str, Any]]) -> str:
    """Order-independent text of rendered objects, to compare two renders."""
    return "\n".join(sorted(json.dumps(o, sort_keys=True, default=str) for o in objects))


def unread_problems(paths: Iterable[tuple[str, ...]]) -> list[Problem]:
    """Confirmed unread value paths as problems."""
    return [Problem(Category.unread_value, f"{'.'.join(p)}: the chart never reads this value (changing it changes "
                    "nothing in the render: a typo, or a key of another chart version?)") for p in paths]


# ------------------------------------------------------------ scheduling


@dataclass(frozen=True)
class PoolView:
    """What scheduling sees of one node pool: a representative node's labels and the pool's taints."""

    name: str
    labels: dict[str, str]
    taints: tuple[dict[str, str], ...]
    gpu: bool


def tolerates(tolerations: list[dict[str, Any]], taint: dict[str, str]) -> bool:
    """Kubernetes' toleration matching (core/v1 Toleration semantics)."""
    for t in tolerations or []:
        if t.get("effect") and t["effect"] != taint.get("effect"):
            continue
        op = t.get("operator") or "Equal"
        if op == "Exists":
            if not t.get("key") or t.get("key") == taint.get("key"):
                return True
        elif t.get("key") == taint.get("key") and str(t.get("value") or "") == str(taint.get("value") or ""):
            return True
    return False


def _expr_matches(expr: dict[str, Any], labels: dict[str, str]) -> bool:
    key, op, vals = expr.get("key"), expr.get("operator"), [str(v) for v in expr.get("values") or []]
    if op == "In":
        return labels.get(key) in vals
    if op == "NotIn":
        return labels.get(key) not in vals
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    if op in ("Gt", "Lt") and key in labels and vals:
        try:
            a, b = int(labels[key]), int(vals[0])
        except ValueError:
            return False
        return a > b if op == "Gt" else a < b
    return False


def selects(spec: dict[str, Any], labels: dict[str, str]) -> bool:
    """Do the pod spec's nodeSelector and required node affinity select a node with ``labels``?"""
    for k, v in (spec.get("nodeSelector") or {}).items():
        if labels.get(k) != str(v):
            return False
    req = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
           .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = req.get("nodeSelectorTerms") or []
    if terms:
        return any(all(_expr_matches(e, labels) for e in (term.get("matchExpressions") or []))
                   for term in terms)
    return True


def _blocking(taints: Iterable[dict[str, str]]) -> list[dict[str, str]]:
    return [t for t in taints if t.get("effect") in ("NoSchedule", "NoExecute")]


def scheduling_problems(objects: list[dict[str, Any]], pools: list[PoolView], namespace: str) -> list[Problem]:
    """Node-level workloads that cannot run on a pool they select.

    * every DaemonSet must tolerate the taints of every pool its nodeSelector
      and required node affinity select;
    * a Ceph-CSI ``Driver`` (``csi.ceph.io/v1``) runs its node plugin on every
      node: its ``spec.nodePlugin.tolerations`` (or, when absent, the
      OperatorConfig's ``driverSpecDefaults.nodePlugin.tolerations``) must
      tolerate every pool's taints;
    * the GPU Operator's ClusterPolicy (``nvidia.com/v1``) runs its operands
      (driver, toolkit, device plugin, DCGM exporter, GFD, MIG manager) as
      DaemonSets on every GPU node with ``spec.daemonsets.tolerations``
      (gpu-operator chart value ``daemonsets.tolerations``): they must
      tolerate every GPU pool's taints.
    """
    out: list[Problem] = []
    defaults = next((((o.get("spec") or {}).get("driverSpecDefaults") or {}).get("nodePlugin") or {}
                     for o in objects if o.get("kind") == "OperatorConfig"
                     and str(o.get("apiVersion", "")).startswith("csi.ceph.io/")), {})
    for obj in objects:
        kind = obj.get("kind")
        if kind == "Driver" and str(obj.get("apiVersion", "")).startswith("csi.ceph.io/"):
            # ceph-csi-operator runs each Driver's node plugin as a DaemonSet on every node the
            # affinity allows; the Driver's own tolerations win over the OperatorConfig defaults.
            node_plugin = (obj.get("spec") or {}).get("nodePlugin") or {}
            tol = node_plugin["tolerations"] if "tolerations" in node_plugin else defaults.get("tolerations") or []
            spec = {"affinity": node_plugin.get("affinity") or defaults.get("affinity") or {}}
            for pool in pools:
                if not selects(spec, pool.labels):
                    continue
                missing = [t for t in _blocking(pool.taints) if not tolerates(tol or [], t)]
                if missing:
                    taints = ", ".join(f"{t['key']}={t.get('value', '')}:{t['effect']}" for t in missing)
                    out.append(Problem(Category.scheduling, f"CSI node plugin (spec.nodePlugin.tolerations) does not "
                                       f"tolerate node pool {pool.name}'s taint {taints}: volumes cannot mount there",
                                       object_id(obj, namespace)))
        elif kind == "DaemonSet":
            spec = pod_spec(obj) or {}
            for pool in pools:
                if not selects(spec, pool.labels):
                    continue
                missing = [t for t in _blocking(pool.taints) if not tolerates(spec.get("tolerations") or [], t)]
                if missing:
                    taints = ", ".join(f"{t['key']}={t.get('value', '')}:{t['effect']}" for t in missing)
                    out.append(Problem(Category.scheduling, f"selects node pool {pool.name} but does not tolerate "
                                       f"its taint {taints}: no pod on those nodes", object_id(obj, namespace)))
        elif kind == "ClusterPolicy" and str(obj.get("apiVersion", "")).startswith("nvidia.com/"):
            tol = ((obj.get("spec") or {}).get("daemonsets") or {}).get("tolerations") or []
            for pool in pools:
                if not pool.gpu:
                    continue
                missing = [t for t in _blocking(pool.taints) if not tolerates(tol, t)]
                if missing:
                    taints = ", ".join(f"{t['key']}={t.get('value', '')}:{t['effect']}" for t in missing)
                    out.append(Problem(Category.scheduling, f"GPU operands (spec.daemonsets.tolerations) do not "
                                       f"tolerate GPU pool {pool.name}'s taint {taints}", object_id(obj, namespace)))
    return out


# ------------------------------------------------------------ size, PDBs, images


def release_record_bytes(chart: ChartContent, manifest: str, values: dict[str, Any]) -> int:
    """Estimated bytes of Helm's release record (JSON of chart files + values + manifest, gzip, base64)."""
    record = {
        "chart": {"files": {k: base64.b64encode(v).decode() for k, v in sorted(chart.files.items())},
                  "subcharts": sorted(chart.subcharts)},
        "config": values,
        "manifest": manifest,
    }
    raw = gzip.compress(json.dumps(record, sort_keys=True).encode(), compresslevel=9, mtime=0)
    return math.ceil(len(raw) / 3) * 4


def size_problems(chart: ChartContent, manifest: str, values: dict[str, Any]) -> list[Problem]:
    """The release record would not fit Helm's 1 MiB Secret."""
    size = release_record_bytes(chart, manifest, values)
    if size > RELEASE_LIMIT_BYTES:
        return [Problem(Category.release_size, f"release record ≈ {size} bytes exceeds Helm's limit of "
                        f"{RELEASE_LIMIT_BYTES} bytes (1 MiB): split the chart")]
    return []


def _replicas(obj: dict[str, Any]) -> int | None:
    if obj.get("kind") in ("Deployment", "StatefulSet", "ReplicaSet"):
        r = (obj.get("spec") or {}).get("replicas")
        return 1 if r is None else int(r)
    return None


def _labels_match(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if not selector:
        return False
    if any(labels.get(k) != str(v) for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    return all(_expr_matches(e, labels) for e in selector.get("matchExpressions") or [])


def _count(value: Any, replicas: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        n = replicas * int(value[:-1]) / 100
        return math.ceil(n) if round_up else math.floor(n)
    return int(value)


def disruption_problems(objects: list[dict[str, Any]], namespace: str) -> list[Problem]:
    """PodDisruptionBudgets that allow no eviction at the configured replicas (a node drain never ends)."""
    out: list[Problem] = []
    for pdb in (o for o in objects if o.get("kind") == "PodDisruptionBudget"):
        spec = pdb.get("spec") or {}
        ns = (pdb.get("metadata") or {}).get("namespace") or namespace
        for obj in objects:
            replicas = _replicas(obj)
            if replicas is None or ((obj.get("metadata") or {}).get("namespace") or namespace) != ns:
                continue
            tmpl = ((obj.get("spec") or {}).get("template") or {}).get("metadata") or {}
            if not _labels_match(spec.get("selector") or {}, tmpl.get("labels") or {}):
                continue
            if "minAvailable" in spec:
                allowed = replicas - _count(spec["minAvailable"], replicas, round_up=True)
            elif "maxUnavailable" in spec:
                allowed = _count(spec["maxUnavailable"], replicas, round_up=True)
            else:
                continue
            if allowed < 1:
                out.append(Problem(Category.disruption, f"allows {max(allowed, 0)} disruptions with "
                                   f"{replicas} replica(s) of {object_id(obj, namespace)}: a node drain blocks "
                                   "forever; raise the replicas or relax the budget", object_id(pdb, namespace)))
    return out


AUTO_IMAGE = "auto"
"""Istio's gateway chart asks the sidecar injector to fill in its own proxy image (istiod values
``global.hub``/``global.proxy.image``, rehosted there): not an image reference to judge."""


def exempt_image(image: str) -> bool:
    """``auto`` (:data:`AUTO_IMAGE`) or an image kfstack documents it cannot rehost
    (:data:`kfstack.images.NOT_REHOSTABLE`, each with its reason)."""
    from kfstack.images import NOT_REHOSTABLE

    return image == AUTO_IMAGE or image in NOT_REHOSTABLE


def image_problems(objects: list[dict[str, Any]], registry: str | None, namespace: str) -> list[Problem]:
    """Images the rendered ``objects`` run or make a controller run that do not come from ``registry``
    (when the environment names one).

    Images are what :func:`kfstack.images.images_in_objects` finds (containers of every kind,
    ``*_IMAGE`` env vars, ``--*image`` args, ConfigMap-embedded configs, custom resources), one
    problem per (object, image). Images an operator composes from objects of several releases
    (MySQL Operator's server/router images: its Deployment's env + the InnoDBCluster) are judged
    once per environment over all rendered objects (:func:`inventory_problems`), never from one
    release alone, where the operator's settings are not visible. Exempt: :data:`AUTO_IMAGE` and
    :data:`kfstack.images.NOT_REHOSTABLE`.
    """
    from kfstack.images import images_in_object

    if not registry:
        return []
    prefix = registry.rstrip("/") + "/"
    out: list[Problem] = []
    for obj in objects:
        for image in sorted(images_in_object(obj)):
            if not image.startswith(prefix) and not exempt_image(image):
                out.append(Problem(Category.image, f"image {image} is not from the environment's registry {registry}",
                                   object_id(obj, namespace)))
    return out


def inventory_problems(rendered: dict[str, set[str]], pulled: dict[str, tuple[str, ...]], registry: str | None,
                       env: str, unrendered: set[str] = frozenset()) -> list[Problem]:
    """Differences between the images an environment renders and its ``kfstack images`` inventory.

    Args:
        rendered: image → names of the releases (``kfstack`` for the stack's own objects,
            ``(operator)`` for composed images) whose rendered objects reference it, as
            :func:`kfstack.images.stack_images` returns it for the environment as configured.
        pulled: the inventory's pulled references (mirror reference when a registry is set,
            else upstream) → releases the inventory attributes them to.
        registry: ``registry.host``, or None.
        env: environment name (for the fix in the message).
        unrendered: releases not rendered (render-only checks of releases whose chart looks up
            an object); inventory images only they reference are not reported missing.

    Returns:
        One :class:`Problem` (category image) per image rendered but not in the inventory (the
        site's mirror lacks it), per inventory image no release renders, and per composed image
        outside ``registry`` (per-object images outside it are :func:`image_problems`'). Images
        :func:`exempt_image` are skipped.
    """
    out: list[Problem] = []
    for image in sorted(set(rendered) - set(pulled)):
        if exempt_image(image):
            continue
        where = ", ".join(sorted(rendered[image]))
        out.append(Problem(Category.image, f"image {image} (from {where}) is missing from the inventory "
                                           f"(`kfstack images {env}`): the mirror will not have it"))
    skipped = set(unrendered) | {"(operator)"} if unrendered else set()
    for image in sorted(set(pulled) - set(rendered)):
        if exempt_image(image) or (skipped and set(pulled[image]) <= skipped):
            continue
        out.append(Problem(Category.image, f"image {image} is in the inventory (`kfstack images {env}`, from "
                                           f"{', '.join(pulled[image]) or '?'}) but no release renders it"))
    if registry:
        prefix = registry.rstrip("/") + "/"
        for image in sorted(rendered):
            if rendered[image] == {"(operator)"} and not image.startswith(prefix) and not exempt_image(image):
                out.append(Problem(Category.image, f"image {image} (composed by an operator) is not from the "
                                                   f"environment's registry {registry}"))
    return out
