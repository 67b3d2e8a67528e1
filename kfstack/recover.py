"""``kfstack recover <env>``: make the next apply converge after an interrupted one, without state surgery.

What an interrupted ``tofu apply`` leaves behind (measured on the local stack,
OpenTofu 1.11.6, helm provider 3.1.1, kubernetes provider 2.38.0):

* Ctrl-C (SIGINT to tofu and its providers): tofu stops starting new
  operations, waits for the running ones (Helm installs included) and writes
  the state. Nothing to recover; the next apply converges.
* A crash (SIGKILL of tofu and its providers, e.g. a CI runner killed):
  - objects the kubernetes provider created since the last state write exist
    but are not in the state, so the next apply fails with ``namespaces
    "kubeflow" already exists`` and the like;
  - Helm releases whose install was running are left ``pending-install``
    (Helm writes the record first) or ``deployed``, in neither case in the
    state: the next apply fails with ``cannot re-use a name that is still in
    use``. A release in the state whose upgrade was running is left
    ``pending-upgrade``; its next upgrade fails with ``another operation
    (install/upgrade/rollback) is in progress``. The helm provider sets
    ``cleanup_on_fail`` and ``atomic`` only on errors Helm sees; a killed
    process cleans up nothing.
  - the local backend's lock is an OS file lock (flock), released when the
    process dies; its ``.<state>.lock.info`` file stays but does not block the
    next run. Remote backends (S3, pg, consul, ...) keep their lock; tofu then
    fails with ``Error acquiring the state lock`` and its ``Lock Info`` block,
    and :func:`lock_hint` turns that into the ``tofu force-unlock <ID>`` to
    run once nobody else is applying.

What ``recover`` does, in this order (``--dry-run`` prints without doing):

1. every object of a ``kubernetes_*`` resource of the stack that exists live
   but is not in the state is adopted with ``tofu import <address> <id>``
   (the next apply then updates it to the configuration);
2. every Helm release named by the stack's ``helm_release`` resources that is
   not in the state is uninstalled (its manifest's objects, then its records),
   whatever its status: the interrupted apply created it and the next apply
   installs it again from the same configuration;
3. a release in the state whose newest record is ``pending-*``: a
   ``pending-upgrade``/``pending-rollback`` revision record is dropped and the
   revision before it is ``deployed`` again (the state still holds the old
   configuration, so the next apply upgrades once more and re-applies the
   whole manifest); a ``pending-install`` release is uninstalled (the provider
   then finds no release, drops it from the state, and the apply installs it).
   Not marked ``failed``: the provider would plan ``status "failed" ->
   "deployed"``, but provider 3.1.1 fails such a status-only upgrade with
   "Provider produced inconsistent result after apply: .metadata.revision".
   (Only the first-apply cases are exercised by tests/e2e/test_interruption.py.)

Data note: uninstalling deletes only the manifest's objects; PersistentVolumeClaims
created by StatefulSets and CRDs from a chart's ``crds/`` folder stay, as with
``helm uninstall``.

The engine (``tofu`` above, or ``terraform``) is :mod:`kfstack.engine`'s, as for ``kfstack plan``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kfstack.drift import read_state, state_releases
from kfstack.engine import EngineError, engine_name, run_engine, tail
from kfstack.helmstore import PENDING, list_releases, live_get, set_status, uninstall
from kfstack.kube_resources import CLUSTER_SCOPED, RESOURCE_KINDS

KINDS = RESOURCE_KINDS
"""kubernetes provider resource types kfstack uses → (apiVersion, kind) (:mod:`kfstack.kube_resources`)."""


_REF = re.compile(r"^\$\{([\w-]+)\.([\w-]+)\.metadata\[0\]\.name\}$")


@dataclass(frozen=True)
class Action:
    """One recovery step: ``import``, ``uninstall`` or ``rollback-record``, its target and what was done."""

    kind: str
    target: str
    detail: str


def _metadata(body: dict[str, Any]) -> dict[str, Any]:
    meta = body.get("metadata") or {}
    return meta[0] if isinstance(meta, list) else meta


def _resolve(value: str | None, config: dict[str, Any]) -> str | None:
    """A literal name, or ``${type.id.metadata[0].name}`` resolved through the configuration; None if unknown."""
    if value is None or "${" not in value:
        return value
    m = _REF.match(value)
    if not m:
        return None
    target = config.get("resource", {}).get(m.group(1), {}).get(m.group(2))
    return _resolve(_metadata(target).get("name"), config) if target else None


def untracked_objects(config: dict[str, Any], state: dict[str, Any], api_client) -> list[tuple[str, str]]:
    """(address, import id) of every ``kubernetes_*`` resource of ``config`` that exists live but not in ``state``."""
    from kubernetes.dynamic import DynamicClient

    dyn = DynamicClient(api_client)
    in_state = {f"{r['type']}.{r['name']}" for r in state.get("resources", []) if r.get("instances")}
    out = []
    for rtype, resources in sorted(config.get("resource", {}).items()):
        if rtype not in KINDS:
            continue
        api_version, kind = KINDS[rtype]
        for rid, body in sorted(resources.items()):
            addr = f"{rtype}.{rid}"
            if addr in in_state:
                continue
            meta = _metadata(body)
            name, ns = _resolve(meta.get("name"), config), _resolve(meta.get("namespace"), config)
            if name is None or ("namespace" in meta and ns is None):
                continue
            if kind not in CLUSTER_SCOPED:
                ns = ns or "default"
            if live_get(dyn, api_version, kind, name, ns) is not None:
                out.append((addr, f"{ns}/{name}" if ns else name))
    return out


def recover(stack_dir: Path, api_client, *, dry_run: bool = False, log=print) -> list[Action]:
    """Run (or with ``dry_run`` only list) the recovery steps for the stack in ``stack_dir``.

    Raises:
        EngineError: no engine, or ``state pull`` or an ``import`` failed (output included).
    """
    config = json.loads((stack_dir / "cdk.tf.json").read_text())
    state = read_state(stack_dir)
    actions: list[Action] = []

    engine = engine_name()
    for addr, import_id in untracked_objects(config, state, api_client):
        actions.append(Action("import", addr, f"{engine} import {addr} {import_id}"))
        log(f"import {addr} {import_id}  (exists in the cluster, not in the state)")
        if not dry_run:
            res = run_engine(["import", "-input=false", "-no-color", addr, import_id], stack_dir)
            if res.returncode != 0:
                raise EngineError(f"{engine} import {addr} {import_id} failed:\n{tail(res, 3000)}")

    tracked = {(r.namespace, r.name): r for r in state_releases(state)}
    wanted = {b["name"] for b in config.get("resource", {}).get("helm_release", {}).values()}
    for (ns, name), revisions in sorted(list_releases(api_client, wanted).items()):
        latest = revisions[-1]
        if (ns, name) not in tracked:
            actions.append(Action("uninstall", f"{ns}/{name}", f"status {latest.status}, not in the state"))
            log(f"uninstall Helm release {ns}/{name} (status {latest.status}, not in the state)")
            if not dry_run:
                uninstall(api_client, revisions)
        elif latest.status in PENDING:
            addr = tracked[(ns, name)].address
            earlier = revisions[:-1]
            if latest.status == "pending-install" or not earlier:
                actions.append(Action("uninstall", addr, f"was {latest.status}"))
                log(f"uninstall Helm release {ns}/{name} ({addr}, {latest.status}: the next apply installs it)")
                if not dry_run:
                    uninstall(api_client, revisions)
            else:
                actions.append(Action("rollback-record", addr, f"drop revision {latest.version} ({latest.status})"))
                log(f"drop {ns}/{name} revision {latest.version} ({latest.status}); revision {earlier[-1].version} "
                    "is deployed again (the next apply upgrades it)")
                if not dry_run:
                    from kubernetes import client

                    client.CoreV1Api(api_client).delete_namespaced_secret(latest.secret, latest.namespace)
                    set_status(api_client, earlier[-1], "deployed",
                               f"kfstack recover: revision {latest.version} was interrupted ({latest.status})")
    if not actions:
        log("nothing to recover")
    return actions


_LOCK_ID = re.compile(r"Lock Info:.*?\n\s*ID:\s+(\S+)", re.S)


def lock_hint(output: str, stack_dir: Path | str, engine: str) -> str | None:
    """For engine output that failed on ``Error acquiring the state lock``: the force-unlock command
    (run with ``engine``, the binary's name), else None."""
    if "Error acquiring the state lock" not in output:
        return None
    m = _LOCK_ID.search(output)
    if not m:
        return None
    return (f"the state is locked (lock ID {m.group(1)}). If no other {engine}/cdktf run is still applying "
            f"(check Who/Created in the Lock Info above), clear it with:\n"
            f"  {engine} -chdir={stack_dir} force-unlock -force {m.group(1)}")


def locked(stack_dir: Path) -> str | None:
    """Whether another run holds the state lock of the stack in ``stack_dir``: :func:`lock_hint`'s
    message if so, else None. A plan that refreshes nothing and waits for no lock (nothing changes).

    Raises:
        EngineError: no engine, or it could not be started.
    """
    res = run_engine(["plan", "-refresh=false", "-lock-timeout=0", "-input=false", "-no-color"], stack_dir)
    return lock_hint(res.stdout + res.stderr, stack_dir, engine_name())
