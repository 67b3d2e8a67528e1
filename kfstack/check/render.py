"""Render one release with the Helm CLI, exactly as the helm provider would install it.

The Helm CLI is the version the pinned helm provider (3.1.1) embeds,
v3.18.4 (built by ``scripts/toolchain.sh helm``). With a kubeconfig the
render runs ``--dry-run=server``: ``lookup`` sees the cluster, as at install
time. Without one it runs client-side, where every ``lookup`` returns
nothing. Either way charts see Kubernetes :data:`KUBE_VERSION` and the API
versions of the CRDs installed earlier in the stack.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kfstack.check.stack import HelmRelease

KUBE_VERSION = "1.35.8"
"""Kubernetes version for client-side renders (the local control plane's, scripts/toolchain.sh)."""

HELM_VERSION = "v3.18.4"
"""Helm CLI version kfstack check expects (helm provider 3.1.1's go.mod: helm.sh/helm/v3 v3.18.4)."""

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class RenderError(Exception):
    """``helm template`` failed; the message is Helm's, trimmed to its last lines."""


class HelmMissing(Exception):
    """No Helm CLI on PATH (or ``$KFSTACK_HELM``)."""


def helm_binary() -> str:
    """The Helm CLI: ``$KFSTACK_HELM``, else ``helm`` on PATH, else the toolchain cache
    (``~/.cache/kfstack/toolchain/helm/<HELM_VERSION>/helm``).

    Raises:
        HelmMissing: none exists; names the toolchain command that builds it.
    """
    explicit = os.environ.get("KFSTACK_HELM")
    path = explicit or shutil.which("helm")
    if not explicit and not path:
        cached = Path.home() / ".cache" / "kfstack" / "toolchain" / "helm" / HELM_VERSION / "helm"
        path = str(cached) if cached.is_file() else None
    if not path or not Path(path).exists():
        raise HelmMissing("the Helm CLI is not on PATH: build it with `bash scripts/toolchain.sh helm` and "
                          '`eval "$(bash scripts/toolchain.sh env)"`, or set KFSTACK_HELM')
    return path


@dataclass(frozen=True)
class Rendered:
    """The objects a release renders (each a dict) and the manifest text Helm stores."""

    objects: list[dict[str, Any]]
    manifest: str


def render(release: HelmRelease, chart: Path, *, kubeconfig: Path | None = None,
           api_versions: tuple[str, ...] = (), timeout_s: int = 300, helm: str | Path | None = None) -> Rendered:
    """``helm template`` of ``release`` from ``chart`` (archive or folder) with the Helm CLI ``helm``
    (default :func:`helm_binary`). ``List`` objects are flattened; CRDs (``crds/``) are included.

    Raises:
        RenderError: Helm exited non-zero (schema violation, ``required``, ``fail``, bad template).
        HelmMissing: no Helm CLI.
    """
    helm = str(helm or helm_binary())
    with tempfile.TemporaryDirectory(prefix="kfstack-check-") as tmp:
        cmd = [helm, "template", release.name, str(chart), "--namespace", release.namespace, "--include-crds"]
        for i, doc in enumerate(release.values):
            f = Path(tmp) / f"values-{i}.yaml"
            f.write_text(doc, encoding="utf-8")
            cmd += ["-f", str(f)]
        for name, value, vtype in release.sets:
            cmd += ["--set-string" if vtype == "string" else "--set", f"{name}={value}"]
        # `helm template` reports Kubernetes 1.20 to charts unless told (also with --dry-run=server).
        cmd += ["--kube-version", KUBE_VERSION]
        for v in api_versions:
            cmd += ["--api-versions", v]
        if kubeconfig is not None:
            cmd += ["--dry-run=server", "--kubeconfig", str(kubeconfig)]
        env = {**os.environ, "HELM_CACHE_HOME": f"{tmp}/cache", "HELM_CONFIG_HOME": f"{tmp}/config",
               "HELM_DATA_HOME": f"{tmp}/data"}
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=env, check=False)
        except subprocess.TimeoutExpired as exc:
            raise RenderError(f"helm template did not finish in {timeout_s} s") from exc
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        raise RenderError(" | ".join(lines[-6:])[-2000:] or f"helm exited {proc.returncode}")
    objects = [d for d in yaml.load_all(proc.stdout, Loader=_Loader) if isinstance(d, dict) and d.get("kind")]  # noqa: S506
    flat: list[dict[str, Any]] = []
    for obj in objects:
        if obj.get("kind", "").endswith("List") and isinstance(obj.get("items"), list):
            flat.extend(i for i in obj["items"] if isinstance(i, dict))
        else:
            flat.append(obj)
    return Rendered(flat, proc.stdout)
