"""The API server side of ``kfstack check``: dry runs, Pod Security, and the world lookups see.

Every rendered object is sent as a server-side apply with ``dryRun=All``
and ``fieldValidation=Strict``: the API server's own validation, defaulting,
admission (PodSecurity included) and, for custom resources, the OpenAPI
schema of the CRD the stack installed earlier in the same check. Namespaces
get ``pod-security.kubernetes.io/warn`` set to their enforced level, so the
API server reports on the pod template of every workload kind (enforcement
itself only applies to Pods).

To give later releases the cluster their install would see (``lookup`` at
install time, CRDs for custom resources), objects that start nothing are
then created for real: every kind except workloads, webhook configurations
and APIServices (their backends never run here). CRD conversion webhooks are
dropped from the real copy for the same reason. :meth:`ApiServer.cleanup`
deletes everything created, so environments can be checked one after
another on the same cluster.
"""

from __future__ import annotations

import copy
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kfstack.check.workloads import WORKLOAD_KINDS

FIELD_MANAGER = "kfstack-check"
PSA_PREFIX = "pod-security.kubernetes.io/"
_NOT_REAL = WORKLOAD_KINDS | {"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "APIService",
                              "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}


class ServerUnavailable(Exception):
    """The kubeconfig cannot be read or the API server does not answer."""


@dataclass
class Outcome:
    """Result of sending one object: an error message (rejected), or warnings (accepted)."""

    error: str | None = None
    warnings: list[str] = field(default_factory=list)


def _parse_warnings(headers: Any) -> list[str]:
    """The texts of RFC 7234 ``Warning: 299 - "<text>"`` response headers (urllib3 HTTPHeaderDict)."""
    if headers is None:
        return []
    out = []
    for w in headers.getlist("Warning"):
        for part in re.findall(r'\d{3} \S+ "((?:[^"\\]|\\.)*)"', w) or [w]:
            out.append(part.replace('\\"', '"'))
    return out


class ApiServer:
    """A cluster reached through a kubeconfig (the local control plane, or the environment's cluster)."""

    def __init__(self, kubeconfig: Path, context: str | None = None) -> None:
        try:
            from kubernetes import config
            from kubernetes.dynamic import DynamicClient

            self.api = config.new_client_from_config(config_file=str(kubeconfig), context=context)
            self._dyn = DynamicClient(self.api)
        except Exception as exc:  # noqa: BLE001 - any failure: the cluster is unusable for the check
            raise ServerUnavailable(f"cannot reach the API server of {kubeconfig}: {str(exc).splitlines()[0][:300]}") from exc
        self.kubeconfig = kubeconfig
        self._pool = None
        self.created: list[tuple[str, str, str, str]] = []   # (apiVersion, kind, namespace, name)

    # ---------------------------------------------------------------- discovery
    def refresh(self) -> None:
        """Re-read API discovery (after CRDs were created)."""
        from kubernetes.dynamic import DynamicClient

        self._dyn = DynamicClient(self.api)

    def _resource(self, api_version: str, kind: str):
        from kubernetes.dynamic.exceptions import ResourceNotFoundError

        try:
            return self._dyn.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError:
            return None

    def _path(self, res, name: str, namespace: str) -> str:
        base = f"/api/{res.api_version}" if not res.group else f"/apis/{res.group}/{res.api_version}"
        if res.namespaced:
            return f"{base}/namespaces/{namespace}/{res.name}/{name}"
        return f"{base}/{res.name}/{name}"

    # ---------------------------------------------------------------- requests
    def apply(self, obj: dict[str, Any], namespace: str, *, dry_run: bool) -> Outcome:
        """Server-side apply of ``obj`` (namespace defaulted like Helm does), strict field validation."""
        api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
        res = self._resource(api_version, kind)
        if res is None:
            return Outcome(error=f"the API server has no {kind} in {api_version} (is its CRD installed earlier?)")
        body = copy.deepcopy(obj)
        meta = body.setdefault("metadata", {})
        if res.namespaced:
            meta.setdefault("namespace", namespace)
        else:
            meta.pop("namespace", None)
        name = meta.get("name")
        query = [("fieldManager", FIELD_MANAGER), ("fieldValidation", "Strict"), ("force", "true")]
        if dry_run:
            query.append(("dryRun", "All"))
        if not name:
            if not meta.get("generateName"):
                return Outcome(error="object has neither metadata.name nor metadata.generateName")
            method, path, ctype = "POST", self._path(res, "", meta.get("namespace", "")).rstrip("/"), "application/json"
            query = [q for q in query if q[0] != "force"]
        else:
            method, path, ctype = "PATCH", self._path(res, name, meta.get("namespace", "")), "application/apply-patch+yaml"
        try:
            status, headers, data = self._request(method, path, query, body, ctype)
        except Exception as exc:  # noqa: BLE001 - transport errors become one message
            return Outcome(error=f"request failed: {str(exc).splitlines()[0][:300]}")
        if status >= 300:
            try:
                message = json.loads(data or b"{}").get("message") or data.decode("utf-8", "replace")[:500]
            except ValueError:
                message = data.decode("utf-8", "replace")[:500]
            return Outcome(error=f"{status}: {message}")
        if not dry_run and name:
            self.created.append((api_version, kind, meta.get("namespace", "") if res.namespaced else "", name))
        return Outcome(warnings=_parse_warnings(headers))

    def _request(self, method: str, path: str, query: list[tuple[str, str]], body: Any,
                 content_type: str) -> tuple[int, Any, bytes]:
        """One HTTP request to the API server with the kubeconfig's credentials: (status, headers, body).

        Plain urllib3 with the client configuration's TLS files and token, so the response's
        ``Warning`` headers (PodSecurity) are visible whatever the kubernetes client version.
        """
        import urllib.parse

        import urllib3

        cfg = self.api.configuration
        if self._pool is None:
            self._pool = urllib3.PoolManager(
                cert_reqs="CERT_REQUIRED" if cfg.verify_ssl else "CERT_NONE", ca_certs=cfg.ssl_ca_cert,
                cert_file=cfg.cert_file, key_file=cfg.key_file, retries=False)
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        token = cfg.get_api_key_with_prefix("authorization") or cfg.get_api_key_with_prefix("BearerToken")
        if token:
            headers["Authorization"] = token
        url = cfg.host.rstrip("/") + path + "?" + urllib.parse.urlencode(query)
        resp = self._pool.request(method, url, body=json.dumps(body).encode(), headers=headers,
                                  timeout=urllib3.Timeout(connect=10, read=60))
        return resp.status, resp.headers, resp.data

    def create_for_real(self, obj: dict[str, Any], namespace: str) -> Outcome:
        """Create objects that start nothing, so later releases see them (see module doc)."""
        if obj.get("kind") in _NOT_REAL:
            return Outcome()
        body = obj
        if obj.get("kind") == "CustomResourceDefinition" and ((obj.get("spec") or {}).get("conversion") or {}).get("strategy") == "Webhook":
            body = copy.deepcopy(obj)
            body["spec"]["conversion"] = {"strategy": "None"}
        return self.apply(body, namespace, dry_run=False)

    def wait_established(self, crd_names: list[str], timeout_s: float = 60) -> list[str]:
        """Wait until the CRDs are Established; returns the names that are not."""
        pending = set(crd_names)
        deadline = time.monotonic() + timeout_s
        res = self._resource("apiextensions.k8s.io/v1", "CustomResourceDefinition")
        while pending and time.monotonic() < deadline:
            for name in sorted(pending):
                try:
                    crd = res.get(name=name).to_dict()
                except Exception:  # noqa: BLE001 - not there yet
                    continue
                conds = (crd.get("status") or {}).get("conditions") or []
                if any(c.get("type") == "Established" and c.get("status") == "True" for c in conds):
                    pending.discard(name)
            if pending:
                time.sleep(0.2)
        self.refresh()
        return sorted(pending)

    def cleanup(self, timeout_s: float = 180) -> None:
        """Delete everything this check created (namespaces last) and wait for the namespaces to go."""
        namespaces = [c for c in self.created if c[1] == "Namespace"]
        cluster_scoped = [c for c in self.created if not c[2] and c[1] != "Namespace"]
        for api_version, kind, _, name in reversed(cluster_scoped + namespaces):
            res = self._resource(api_version, kind)
            if res is None:
                continue
            try:
                res.delete(name=name)
            except Exception:  # noqa: BLE001 - already gone
                pass
        res = self._resource("v1", "Namespace")
        deadline = time.monotonic() + timeout_s
        remaining = {c[3] for c in namespaces}
        while remaining and time.monotonic() < deadline:
            for name in sorted(remaining):
                try:
                    res.get(name=name)
                except Exception:  # noqa: BLE001 - gone
                    remaining.discard(name)
            if remaining:
                time.sleep(0.5)
        self.created.clear()


def psa_namespace(obj: dict[str, Any]) -> dict[str, Any]:
    """The Namespace with ``warn`` set to its ``enforce`` level, so workload pod templates are judged."""
    out = copy.deepcopy(obj)
    labels = out.setdefault("metadata", {}).setdefault("labels", {}) or {}
    out["metadata"]["labels"] = labels
    level = labels.get(PSA_PREFIX + "enforce")
    if level:
        labels[PSA_PREFIX + "warn"] = level
        labels[PSA_PREFIX + "warn-version"] = labels.get(PSA_PREFIX + "enforce-version", "latest")
    return out


def is_pod_security(warning: str) -> bool:
    """A PodSecurity admission warning (``would violate PodSecurity "<level>:<version>": ...``)."""
    return "would violate PodSecurity" in warning
