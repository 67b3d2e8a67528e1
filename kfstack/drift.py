"""``kfstack drift <env>``: what changed in the cluster behind Terraform's back, and how to repair it.

Why a command and not just ``tofu plan``: the helm provider (3.1.1) refreshes a
``helm_release`` from Helm's release record only, so an object of the release
deleted or edited out of band (``kubectl delete deployment cert-manager``) is
invisible to a plan. The provider's ``experiments { manifest = true }`` does
compare live objects, but its plan runs a Helm dry-run install of every new
release, which fails on an empty cluster as soon as a chart holds a custom
resource whose CRD an earlier release brings ("no matches for kind
ClusterIssuer ... ensure CRDs are installed first", checked with the local
stack). kfstack keeps the plan of an empty cluster working, so it does not
enable the experiment.

What the command does instead:

1. Terraform-managed objects (``kubernetes_*`` resources): a refresh-only plan
   (``tofu plan -refresh-only``) lists every resource whose live state differs
   from the state file (``resource_drift`` of ``tofu show -json``). A plain
   ``tofu apply`` repairs those.
2. Helm-managed objects: for every ``helm_release`` in the state, the newest
   release record is decoded from Helm's storage Secret and every object of its
   manifest is looked up live. A missing object is drift. Releases not in
   ``deployed`` status are reported too.

Repair of Helm drift, ``kfstack drift <env> --repair``: every missing object is
created again from the newest ``deployed`` record's manifest, with the ownership
metadata Helm puts on what it creates (label ``app.kubernetes.io/managed-by:
Helm``, annotations ``meta.helm.sh/release-name``/``-namespace``), which is
what a ``helm upgrade`` with the same chart and values does for objects it
does not find. The release record stays as it is, so the next plan is empty
for the release. A plain ``tofu apply`` then repairs the Terraform drift.

Why not make ``tofu apply`` run the upgrade: marking the record ``failed``
does make the plan show ``~ status = "failed" -> "deployed"`` and the apply
upgrade the release (Helm re-creates what is missing), but provider 3.1.1
plans the old ``metadata`` (revision, last_deployed) for a status-only update
and tofu fails the apply with "Provider produced inconsistent result after
apply: .metadata.revision" (tried on the local stack). ``tofu apply
-replace=<address>`` works but uninstalls first (downtime; templated CRDs
take their custom resources with them), so it is printed only as a last resort.

Objects edited (not deleted) inside a Helm release are not compared: that
needs the live-vs-rendered diff the manifest experiment does.

The engine (``tofu`` or ``terraform``) is :mod:`kfstack.engine`'s, as for ``kfstack plan``.

Exit codes: 0 no drift, 2 drift found (also with --repair), 1 error.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kfstack.engine import EngineError, run_engine, tail
from kfstack.helmstore import list_releases, live_get, object_ref

HELM_OWNER_LABEL = {"app.kubernetes.io/managed-by": "Helm"}


@dataclass(frozen=True)
class StateRelease:
    """A ``helm_release`` in the Terraform state."""

    address: str
    name: str
    namespace: str
    status: str


@dataclass
class ReleaseDrift:
    """A release whose objects do not all exist, or whose record is not ``deployed``."""

    release: StateRelease
    status: str
    missing: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ResourceDrift:
    """A Terraform resource whose live state differs from the state file."""

    address: str
    actions: tuple[str, ...]


@dataclass
class DriftReport:
    resources: list[ResourceDrift]
    releases: list[ReleaseDrift]

    @property
    def drifted(self) -> bool:
        return bool(self.resources or self.releases)


def read_state(stack_dir: Path) -> dict[str, Any]:
    """The stack's current state (``state pull``: works with any backend).

    Raises:
        EngineError: no engine, or ``state pull`` failed (its output included).
    """
    res = run_engine(["state", "pull"], stack_dir)
    if res.returncode != 0:
        raise EngineError(f"state pull in {stack_dir} failed:\n{res.stderr.strip()}")
    return json.loads(res.stdout) if res.stdout.strip() else {"resources": []}


def address(resource: dict[str, Any]) -> str:
    prefix = f"{resource['module']}." if resource.get("module") else ""
    return f"{prefix}{resource['type']}.{resource['name']}"


def state_releases(state: dict[str, Any]) -> list[StateRelease]:
    """Every ``helm_release`` instance in a state document."""
    out = []
    for r in state.get("resources", []):
        if r.get("type") != "helm_release" or r.get("mode", "managed") != "managed":
            continue
        for inst in r.get("instances", []):
            a = inst["attributes"]
            out.append(StateRelease(address(r), a["name"], a["namespace"], a.get("status") or ""))
    return out


def api_client_for(kubeconfig: str, context: str | None):
    """A kubernetes ApiClient for the environment's cluster."""
    from kubernetes import config

    return config.new_client_from_config(config_file=os.path.expanduser(kubeconfig), context=context)


def helm_drift(api_client, releases: list[StateRelease]) -> list[ReleaseDrift]:
    """Releases in the state whose newest record is not ``deployed`` or whose manifest objects are missing."""
    from kubernetes.dynamic import DynamicClient

    dyn = DynamicClient(api_client)
    stored = list_releases(api_client, {r.name for r in releases})
    out: list[ReleaseDrift] = []
    for rel in releases:
        revisions = stored.get((rel.namespace, rel.name))
        if not revisions:
            out.append(ReleaseDrift(rel, "missing", ["(no Helm release record)"]))
            continue
        latest = revisions[-1]
        missing = []
        for obj in latest.objects():
            api_version, kind, name, ns = object_ref(obj, latest.namespace)
            if live_get(dyn, api_version, kind, name, ns) is None:
                missing.append(f"{kind}/{ns}/{name}" if ns else f"{kind}/{name}")
        if missing or latest.status != "deployed":
            out.append(ReleaseDrift(rel, latest.status, missing))
    return out


def terraform_drift(stack_dir: Path) -> list[ResourceDrift]:
    """Resources whose live state differs from the state file (a refresh-only plan; the state is not written).

    Raises:
        EngineError: no engine, or the plan or ``show -json`` failed (output tail included).
    """
    with tempfile.TemporaryDirectory() as tmp:
        plan_file = Path(tmp) / "refresh.tfplan"
        res = run_engine(["plan", "-refresh-only", "-input=false", "-no-color", f"-out={plan_file}"], stack_dir)
        if res.returncode != 0:
            raise EngineError(f"plan -refresh-only failed:\n{tail(res)}")
        show = run_engine(["show", "-json", "-no-color", str(plan_file)], stack_dir)
        if show.returncode != 0:
            raise EngineError(f"show -json of the refresh-only plan failed:\n{tail(show)}")
    plan = json.loads(show.stdout)
    return [ResourceDrift(d["address"], tuple(d["change"]["actions"])) for d in plan.get("resource_drift", [])
            if d["change"]["actions"] != ["no-op"]]


def detect(stack_dir: Path, api_client) -> DriftReport:
    """Both kinds of drift of the stack in ``stack_dir``. Raises EngineError (see :func:`read_state`)."""
    releases = state_releases(read_state(stack_dir))
    return DriftReport(resources=terraform_drift(stack_dir), releases=helm_drift(api_client, releases))


def repair(api_client, drifts: list[ReleaseDrift]) -> list[str]:
    """Create every missing object of each drifted ``deployed`` release from its manifest, owned by the release
    as Helm marks it. Releases in another status are left to ``kfstack recover`` / the next apply.
    Returns the objects created as ``Kind/namespace/name``."""
    from kubernetes.dynamic import DynamicClient

    dyn = DynamicClient(api_client)
    stored = list_releases(api_client, {d.release.name for d in drifts})
    created: list[str] = []
    for d in drifts:
        revisions = stored.get((d.release.namespace, d.release.name))
        if not revisions or not d.missing or revisions[-1].status != "deployed":
            continue
        latest = revisions[-1]
        for obj in latest.objects():
            api_version, kind, name, ns = object_ref(obj, latest.namespace)
            if live_get(dyn, api_version, kind, name, ns) is not None:
                continue
            res = dyn.resources.get(api_version=api_version, kind=kind)
            meta = obj.setdefault("metadata", {})
            meta["labels"] = {**(meta.get("labels") or {}), **HELM_OWNER_LABEL}
            meta["annotations"] = {**(meta.get("annotations") or {}), "meta.helm.sh/release-name": latest.name,
                                   "meta.helm.sh/release-namespace": latest.namespace}
            if res.namespaced:
                meta["namespace"] = ns
                res.create(body=obj, namespace=ns)
            else:
                meta.pop("namespace", None)
                res.create(body=obj)
            created.append(f"{kind}/{ns}/{name}" if res.namespaced else f"{kind}/{name}")
    return created


def render(report: DriftReport, env: str, stack_dir: Path, engine: str) -> list[str]:
    """Human-readable lines: what drifted, and the commands that repair it (``engine``: the binary's name)."""
    lines: list[str] = []
    if not report.drifted:
        return [f"{env}: no drift"]
    for r in report.resources:
        lines.append(f"drift: {r.address} changed outside Terraform ({'/'.join(r.actions)})")
    for d in report.releases:
        what = ", ".join(d.missing) if d.missing else "all objects present"
        lines.append(f"drift: {d.release.address} (Helm release {d.release.namespace}/{d.release.name}, "
                     f"status {d.status}): missing {what}")
    lines.append("repair:")
    if report.releases:
        lines.append(f"  kfstack drift {env} --repair    # re-create the missing objects from the deployed "
                     "release manifests (what helm upgrade does for missing objects)")
    if report.resources:
        lines.append(f"  cdktf deploy {env}    # or: {engine} -chdir={stack_dir} apply")
    if report.releases:
        replace = " ".join(f"-replace={d.release.address}" for d in report.releases)
        lines.append(f"  last resort (uninstall + install, downtime): {engine} -chdir={stack_dir} apply {replace}")
    return lines
