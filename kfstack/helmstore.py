"""Helm 3's release records as the cluster stores them, read and written without the helm binary.

Helm keeps one Secret per release revision (type ``helm.sh/release.v1``,
name ``sh.helm.release.v1.<name>.v<revision>``, labels ``owner=helm``,
``name``, ``status``, ``version``). Its ``data.release`` is the release as
JSON, gzipped, base64-encoded by Helm and once more by the Secrets API. The
helm provider (3.1.1) reads only this record when it refreshes a
``helm_release``; :mod:`kfstack.drift` and :mod:`kfstack.recover` use it to
find what the record does not say (objects deleted out of band, releases left
``pending-*`` by an interrupted apply) and to repair it the way Helm itself
would (a revision Helm could not finish is ``failed``; ``helm uninstall``
deletes the manifest's objects, then the records).
"""

from __future__ import annotations

import base64
import gzip
import json
from dataclasses import dataclass
from typing import Any, Iterable

import yaml

PENDING = ("pending-install", "pending-upgrade", "pending-rollback")
"""Statuses Helm writes before an operation and replaces when it finishes; left behind by a killed process."""


@dataclass
class StoredRelease:
    """One revision record: the Secret's name and namespace, and the decoded release."""

    secret: str
    namespace: str
    record: dict[str, Any]

    @property
    def name(self) -> str:
        return self.record["name"]

    @property
    def version(self) -> int:
        return int(self.record["version"])

    @property
    def status(self) -> str:
        return self.record["info"]["status"]

    def objects(self) -> list[dict[str, Any]]:
        """The objects of the release manifest (hooks and the chart's ``crds/`` are not in it)."""
        return [o for o in yaml.safe_load_all(self.record.get("manifest") or "") if isinstance(o, dict) and o.get("kind")]


def decode(data: str) -> dict[str, Any]:
    """``Secret.data.release`` (base64 of Helm's base64 of gzipped JSON) → the release."""
    raw = base64.b64decode(base64.b64decode(data))
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return json.loads(raw)


def encode(record: dict[str, Any]) -> str:
    """Inverse of :func:`decode`."""
    helm_b64 = base64.b64encode(gzip.compress(json.dumps(record).encode()))
    return base64.b64encode(helm_b64).decode()


def list_releases(api_client, names: Iterable[str] | None = None) -> dict[tuple[str, str], list[StoredRelease]]:
    """Every release record in the cluster by (namespace, release name), revisions ascending.

    ``names`` limits the result to those release names.
    """
    from kubernetes import client

    wanted = set(names) if names is not None else None
    v1 = client.CoreV1Api(api_client)
    out: dict[tuple[str, str], list[StoredRelease]] = {}
    for s in v1.list_secret_for_all_namespaces(label_selector="owner=helm").items:
        if s.type != "helm.sh/release.v1" or not s.data or "release" not in s.data:
            continue
        if wanted is not None and (s.metadata.labels or {}).get("name") not in wanted:
            continue
        rel = StoredRelease(s.metadata.name, s.metadata.namespace, decode(s.data["release"]))
        out.setdefault((rel.namespace, rel.name), []).append(rel)
    for revs in out.values():
        revs.sort(key=lambda r: r.version)
    return out


def set_status(api_client, rel: StoredRelease, status: str, description: str) -> None:
    """Rewrite one revision's status (record and ``status`` label), as Helm does when an operation ends."""
    from kubernetes import client

    rel.record["info"]["status"] = status
    rel.record["info"]["description"] = description
    client.CoreV1Api(api_client).patch_namespaced_secret(rel.secret, rel.namespace, {
        "metadata": {"labels": {"status": status}}, "data": {"release": encode(rel.record)}})


def object_ref(obj: dict[str, Any], default_namespace: str) -> tuple[str, str, str, str | None]:
    """(apiVersion, kind, name, namespace or None) of a manifest object; namespaced kinds default to the release's."""
    meta = obj.get("metadata") or {}
    return obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace") or default_namespace


def live_get(dyn, api_version: str, kind: str, name: str, namespace: str | None):
    """The live object, or None when it (or its kind) does not exist. ``dyn`` is a DynamicClient."""
    from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

    try:
        res = dyn.resources.get(api_version=api_version, kind=kind)
    except ResourceNotFoundError:
        return None
    try:
        return res.get(name=name, namespace=namespace if res.namespaced else None)
    except NotFoundError:
        return None


def uninstall(api_client, revisions: list[StoredRelease]) -> list[str]:
    """What ``helm uninstall`` does, for a release whose record cannot be trusted (e.g. ``pending-install``):
    delete the newest revision's manifest objects (reverse order, missing ones skipped), then every record.

    Returns the deleted objects as ``Kind/namespace/name``.
    """
    from kubernetes import client
    from kubernetes.dynamic import DynamicClient
    from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

    dyn = DynamicClient(api_client)
    latest = revisions[-1]
    deleted: list[str] = []
    for obj in reversed(latest.objects()):
        api_version, kind, name, ns = object_ref(obj, latest.namespace)
        try:
            res = dyn.resources.get(api_version=api_version, kind=kind)
            res.delete(name=name, namespace=ns if res.namespaced else None,
                       body={"propagationPolicy": "Background"})
            deleted.append(f"{kind}/{ns + '/' if res.namespaced else ''}{name}")
        except (NotFoundError, ResourceNotFoundError):
            continue
    v1 = client.CoreV1Api(api_client)
    for rev in revisions:
        try:
            v1.delete_namespaced_secret(rev.secret, rev.namespace)
        except client.ApiException as exc:
            if exc.status != 404:
                raise
    return deleted
