"""Markdown summary of a Terraform/OpenTofu JSON plan (``tofu show -json <plan>``), for review.

Pure functions, no cdktf, no subprocess:

    summary = summarize(plan_json, components=component_map(cdk_tf_json), env="dev")
    markdown = to_markdown(summary)          # or summary_markdown(plan_json, ...)

Shape of the Markdown:

* a title naming the environment and the totals (``N to add, N to change, N to replace, N to destroy``);
* when anything is replaced or destroyed, a loud ``[!CAUTION]`` block at the top listing every
  such resource (and the attributes that force each replacement);
* one section per component (``CertManager``, ``Istio``, ``Pipelines``…) with each added,
  changed, replaced, destroyed or moved resource; ``helm_release`` chart version changes read
  ``chart old → new``; other changed attributes ``path: old → new``.

A resource whose state moves to a new address (a ``moved`` block; the plan's
``previous_address``) reads ``moved from `old``` on its line; with nothing else to do it is
counted as ``N to move``, which Terraform applies to the state only.

Components come from cdktf's ``//`` metadata (``<stack>/<Component>/…``, see
:func:`component_map`); without it, from the logical id's prefix (``CertManager_Release_1A2B`` →
``CertManager``).

Sensitive values are never printed: a value is masked as ``(sensitive)`` whenever
``before_sensitive``/``after_sensitive`` marks it or any enclosing value. Values unknown
until apply read ``(known after apply)``.
"""

from __future__ import annotations

import difflib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

MASK = "(sensitive)"
UNKNOWN = "(known after apply)"

# Action labels, in the order sections list them.
CREATE, UPDATE, REPLACE, DELETE, READ, FORGET, MOVE = (
    "add", "change", "replace", "destroy", "read", "forget", "move")
_ORDER = {REPLACE: 0, DELETE: 1, UPDATE: 2, CREATE: 3, MOVE: 4, FORGET: 5, READ: 6}
_MAX_VALUE = 80
_MAX_DIFF_LINES = 24
_MAX_RECOMPUTED = 6


@dataclass(frozen=True)
class AttributeChange:
    """One changed attribute of a resource: dotted ``path``, printable ``before``/``after``.

    ``before``/``after`` are already masked (``(sensitive)``) or ``(known after apply)``;
    ``diff`` is a unified diff for multi-line, non-sensitive strings (else empty).
    """

    path: str
    before: str
    after: str
    forces_replacement: bool = False
    diff: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResourceChange:
    """One planned change of one resource instance.

    ``moved_from`` is the address the state had before (``previous_address``), or None.
    """

    address: str
    type: str
    component: str
    action: str
    label: str = ""
    chart: str | None = None
    version_change: tuple[str | None, str | None] | None = None
    attributes: tuple[AttributeChange, ...] = ()
    recomputed: tuple[str, ...] = ()
    replace_paths: tuple[str, ...] = ()
    moved_from: str | None = None


@dataclass(frozen=True)
class Summary:
    """Every non-no-op change of a plan, grouped by component."""

    env: str | None
    changes: tuple[ResourceChange, ...] = field(default_factory=tuple)
    errored: bool = False

    @property
    def has_changes(self) -> bool:
        """True when applying the plan would add, change, replace, destroy, move or forget anything."""
        return any(c.action != READ for c in self.changes)

    @property
    def counts(self) -> Counter:
        """Number of resources per action label."""
        return Counter(c.action for c in self.changes)

    @property
    def components(self) -> dict[str, list[ResourceChange]]:
        """Changes per component, components sorted by name, changes by action then address."""
        out: dict[str, list[ResourceChange]] = {}
        for c in sorted(self.changes, key=lambda c: (c.component, _ORDER[c.action], c.address)):
            out.setdefault(c.component, []).append(c)
        return out

    @property
    def dangerous(self) -> list[ResourceChange]:
        """Replacements and destroys: the changes that delete live objects."""
        return sorted((c for c in self.changes if c.action in (REPLACE, DELETE)),
                      key=lambda c: (_ORDER[c.action], c.component, c.address))


def component_map(stack_json: Mapping[str, Any]) -> dict[str, str]:
    """Address → component from a synthesized ``cdk.tf.json`` (cdktf ``//`` metadata paths).

    ``local/CertManager/Release/Resource`` → ``CertManager``. Resources without metadata are left out.
    """
    out: dict[str, str] = {}
    for rtype, resources in (stack_json.get("resource") or {}).items():
        for name, body in resources.items():
            path = ((body.get("//") or {}).get("metadata") or {}).get("path", "")
            parts = path.split("/")
            if len(parts) >= 2 and parts[1]:
                out[f"{rtype}.{name}"] = parts[1]
    return out


def _component_of(rc: Mapping[str, Any], components: Mapping[str, str]) -> str:
    address = rc["address"]
    base = address.split("[", 1)[0]
    if base in components:
        return components[base]
    if rc.get("module_address"):
        return rc["module_address"]
    return str(rc.get("name", address)).split("_", 1)[0] or address


def _action(actions: Iterable[str]) -> str | None:
    acts = list(actions)
    if acts in (["no-op"], []):
        return None
    if "delete" in acts and "create" in acts:
        return REPLACE
    return {"create": CREATE, "update": UPDATE, "delete": DELETE, "read": READ, "forget": FORGET}.get(acts[0])


def _sub(mask: Any, key: Any) -> Any:
    """The sensitivity/unknown mask of child ``key``: ``True`` propagates, dicts/lists index."""
    if mask is True:
        return True
    if isinstance(mask, dict):
        return mask.get(key, False)
    if isinstance(mask, list) and isinstance(key, int) and key < len(mask):
        return mask[key]
    return False


def _any_true(mask: Any) -> bool:
    if mask is True:
        return True
    if isinstance(mask, dict):
        return any(_any_true(v) for v in mask.values())
    if isinstance(mask, list):
        return any(_any_true(v) for v in mask)
    return False


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        text = value if "\n" not in value else f"({len(value.splitlines())} lines)"
    else:
        text = json.dumps(value, sort_keys=True)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def _join(path: str, key: Any) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else str(key))


def _diff_values(before: Any, after: Any, bs: Any, as_: Any, unknown: Any, path: str,
                 out: list[AttributeChange], recomputed: list[str]) -> None:
    """Append the leaf differences between ``before`` and ``after`` to ``out`` (masked)."""
    if unknown is True:
        recomputed.append(path or "(resource)")
        return
    sensitive = bs is True or as_ is True
    if sensitive:
        if before != after:
            out.append(AttributeChange(path, MASK, MASK))
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            _diff_values(before.get(key), after.get(key), _sub(bs, key), _sub(as_, key), _sub(unknown, key),
                         _join(path, key), out, recomputed)
        return
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for i, (b, a) in enumerate(zip(before, after)):
            _diff_values(b, a, _sub(bs, i), _sub(as_, i), _sub(unknown, i), _join(path, i), out, recomputed)
        return
    if _any_true(unknown):
        recomputed.append(path or "(resource)")
        return
    if before == after or (after is None and before in ("", {}, [], False)):
        return  # unchanged, or an empty default the configuration leaves unset
    if _any_true(bs) or _any_true(as_):  # a container holding sensitive parts changed shape
        out.append(AttributeChange(path, MASK, MASK))
        return
    diff: tuple[str, ...] = ()
    if isinstance(before, str) and isinstance(after, str) and ("\n" in before or "\n" in after):
        lines = list(difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=1))[2:]
        diff = tuple(lines[:_MAX_DIFF_LINES]) + (("…",) if len(lines) > _MAX_DIFF_LINES else ())
    out.append(AttributeChange(path, _show(before), _show(after), diff=diff))


def _label(rtype: str, values: Mapping[str, Any] | None) -> str:
    """A human name: Helm release name, or namespace/name of a Kubernetes object."""
    if not isinstance(values, Mapping):
        return ""
    if rtype == "helm_release":
        ns = values.get("namespace")
        name = values.get("name")
        return f"{ns}/{name}" if isinstance(ns, str) and isinstance(name, str) else (name or "")
    meta = values.get("metadata")
    if isinstance(meta, list) and meta and isinstance(meta[0], Mapping):
        ns, name = meta[0].get("namespace"), meta[0].get("name")
        if isinstance(name, str):
            return f"{ns}/{name}" if isinstance(ns, str) and ns else name
    return ""


def _path_str(path: Iterable[Any]) -> str:
    out = ""
    for key in path:
        out = _join(out, key)
    return out


def _resource_change(rc: Mapping[str, Any], components: Mapping[str, str]) -> ResourceChange | None:
    change = rc.get("change") or {}
    moved_from = rc.get("previous_address") or None
    action = _action(change.get("actions") or [])
    if action is None:
        if not moved_from:
            return None
        action = MOVE
    rtype = rc.get("type", "")
    before, after = change.get("before"), change.get("after")
    bs, as_ = change.get("before_sensitive", False), change.get("after_sensitive", False)
    unknown = change.get("after_unknown", False)
    replace_paths = tuple(_path_str(p) for p in change.get("replace_paths") or [])
    label = _label(rtype, after if action != DELETE else before) or _label(rtype, before)
    chart = version_change = None
    if rtype == "helm_release":
        src = after if isinstance(after, Mapping) else before
        chart = src.get("chart") if isinstance(src, Mapping) and not _sub(as_ if after else bs, "chart") else None
        old = before.get("version") if isinstance(before, Mapping) and not _sub(bs, "version") else None
        new = after.get("version") if isinstance(after, Mapping) and not _sub(as_, "version") \
            and not _sub(unknown, "version") else None
        if action in (UPDATE, REPLACE) and old != new:
            version_change = (old, new)
        elif action == CREATE:
            version_change = (None, new)
        elif action == DELETE:
            version_change = (old, None)
    attributes: list[AttributeChange] = []
    recomputed: list[str] = []
    if action in (UPDATE, REPLACE) and isinstance(before, Mapping) and isinstance(after, Mapping):
        _diff_values(before, after, bs, as_, unknown, "", attributes, recomputed)
        forced = set(replace_paths)
        attributes = [AttributeChange(a.path, a.before, a.after, a.path in forced
                                      or any(a.path.startswith(p + ".") or a.path.startswith(p + "[")
                                             for p in forced), a.diff)
                      for a in attributes
                      if not (rtype == "helm_release" and a.path == "version" and version_change)]
    return ResourceChange(address=rc["address"], type=rtype, component=_component_of(rc, components),
                          action=action, label=label, chart=chart, version_change=version_change,
                          attributes=tuple(attributes), recomputed=tuple(recomputed), replace_paths=replace_paths,
                          moved_from=moved_from)


def summarize(plan: Mapping[str, Any], *, components: Mapping[str, str] | None = None,
              env: str | None = None) -> Summary:
    """A :class:`Summary` of ``plan`` (the dict of ``tofu show -json <planfile>``).

    Args:
        plan: JSON plan; only ``resource_changes`` (and ``errored``) are read.
        components: address → component (:func:`component_map`); missing addresses fall back
            to the logical id's prefix before the first ``_``.
        env: environment name for the title.

    Raises:
        ValueError: ``plan`` is not a JSON plan (no ``format_version``).
    """
    if "format_version" not in plan:
        raise ValueError("not a JSON plan (no format_version): pass the output of `tofu show -json <planfile>`")
    changes = [c for rc in plan.get("resource_changes") or []
               if (c := _resource_change(rc, components or {})) is not None]
    return Summary(env=env, changes=tuple(changes), errored=bool(plan.get("errored")))


def _totals(summary: Summary) -> str:
    counts = summary.counts
    parts = [f"{counts[a]} to {a}" for a in (CREATE, UPDATE, REPLACE, DELETE)]
    parts += [f"{counts[a]} to {a}" for a in (MOVE, FORGET) if counts[a]]
    return ", ".join(parts)


def _version(change: ResourceChange) -> str:
    old, new = change.version_change or (None, None)
    chart = change.chart or "chart"
    if "/" in chart and "://" not in chart:
        chart = "local chart"  # this project's chart, staged by cdktf as assets/<id>/<hash>
    if old and new:
        return f"{chart} `{old} → {new}`"
    return f"{chart} `{new or old}`" if (new or old) else chart


def _line(change: ResourceChange) -> list[str]:
    label = f" ({change.label})" if change.label else ""
    head = f"- **{change.action}** `{change.address}`{label}"
    if change.moved_from:
        head += f", moved from `{change.moved_from}`"
    if change.type == "helm_release" and (change.version_change or change.chart):
        head += f": {_version(change)}"
    lines = [head]
    for attr in change.attributes:
        forced = " — **forces replacement**" if attr.forces_replacement else ""
        lines.append(f"  - `{attr.path}`: `{attr.before}` → `{attr.after}`{forced}")
        if attr.diff:
            lines.append("    ```diff")
            lines.extend(f"    {d}" for d in attr.diff)
            lines.append("    ```")
    if change.action == REPLACE and change.replace_paths and not any(a.forces_replacement for a in change.attributes):
        lines.append(f"  - forced by: {', '.join(f'`{p}`' for p in change.replace_paths)}")
    if change.recomputed:
        shown = ", ".join(f"`{p}`" for p in change.recomputed[:_MAX_RECOMPUTED])
        more = f" and {len(change.recomputed) - _MAX_RECOMPUTED} more" if len(change.recomputed) > _MAX_RECOMPUTED else ""
        lines.append(f"  - recomputed on apply: {shown}{more}")
    return lines


def to_markdown(summary: Summary) -> str:
    """Render ``summary`` as GitHub-flavoured Markdown (see the module docstring for its shape)."""
    env = f" `{summary.env}`" if summary.env else ""
    out = [f"<!-- kfstack-plan:{summary.env or ''} -->", f"## kfstack plan{env}", ""]
    if summary.errored:
        out += ["> [!WARNING]", "> The plan errored: it is incomplete and cannot be applied.", ""]
    if not summary.has_changes:
        out += ["**No changes.** The cluster matches the configuration.", ""]
        return "\n".join(out)
    danger = summary.dangerous
    if danger:
        counts = summary.counts
        out += ["> [!CAUTION]",
                f"> **{counts[REPLACE]} to replace, {counts[DELETE]} to destroy.** "
                "These delete live objects (and their data) before anything is recreated:"]
        for c in danger:
            why = f" — forced by {', '.join(f'`{p}`' for p in c.replace_paths)}" if c.replace_paths else ""
            label = f" ({c.label})" if c.label else ""
            verb = "REPLACE" if c.action == REPLACE else "DESTROY"
            out.append(f"> - **{verb}** {c.component}: `{c.address}`{label}{why}")
        out.append("")
    out += [f"**Plan:** {_totals(summary)}.", ""]
    for component, changes in summary.components.items():
        counts = Counter(c.action for c in changes)
        what = ", ".join(f"{counts[a]} to {a}" for a in sorted(counts, key=_ORDER.get))
        out += [f"### {component} ({what})", ""]
        for c in changes:
            out += _line(c)
        out.append("")
    return "\n".join(out)


def summary_markdown(plan: Mapping[str, Any], *, components: Mapping[str, str] | None = None,
                     env: str | None = None) -> str:
    """``to_markdown(summarize(plan, components=..., env=...))``."""
    return to_markdown(summarize(plan, components=components, env=env))
