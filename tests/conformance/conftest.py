"""The conformance tier: kfstack proven on the real upstream content in ``../shared/upstream``.

``../shared/upstream`` (beside the project; ``$KFSTACK_UPSTREAM_MIRROR``
overrides) is an offline mirror of the real upstream sources: a Helm
repository folder of the real charts at kfstack's pins, and Git mirrors of
kubeflow/manifests and argo-workflows, used through Git's
``url.<base>.insteadOf``. Nothing from it is copied into the project.

The tier vendors everything from that mirror (verifying the kustomize digests
in sources.lock), publishes the rendered kustomize parts, synthesizes every
environment, starts its own local control plane (ports apart from the e2e
tier's) and runs ``kfstack check`` on every environment. In CI a missing
mirror or tool fails the tier (tests/toolchain.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.toolchain import unavailable, upstream_mirror

CLUSTER_PORTS = dict(etcd_client=23890, etcd_peer=23900, apiserver=16543, kwok=10347)
"""The conformance control plane's ports (the e2e tier uses kfstack's defaults)."""


def kfstack(*args: str, env: dict[str, str] | None = None, timeout: float = 1800) -> subprocess.CompletedProcess:
    """Run the kfstack CLI of this checkout; output is returned, never raised."""
    return subprocess.run([sys.executable, "-m", "kfstack.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout, check=False)


@pytest.fixture(scope="session")
def upstream() -> Path:
    """The offline mirror of the real upstream sources."""
    path = upstream_mirror()
    if not (path / "charts" / "index.yaml").is_file() or not (path / "git" / "github.com").is_dir():
        unavailable(f"no upstream mirror at {path} (charts/index.yaml and git/github.com/): "
                    "the conformance tier needs ../shared/upstream or KFSTACK_UPSTREAM_MIRROR")
    return path


@pytest.fixture(scope="session")
def helm() -> str:
    """The Helm CLI (scripts/toolchain.sh helm)."""
    path = os.environ.get("KFSTACK_HELM") or shutil.which("helm")
    if not path:
        unavailable("helm not on PATH: run `bash scripts/toolchain.sh helm` and "
                    '`eval "$(bash scripts/toolchain.sh env)"` (scripts/test.sh does both)')
    return path


@pytest.fixture(scope="session")
def git_mirror_env(upstream) -> dict[str, str]:
    """Git configuration that reads https://github.com/ from the mirror (and nothing else)."""
    return {"GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"url.file://{upstream / 'git' / 'github.com'}/.insteadOf",
            "GIT_CONFIG_VALUE_0": "https://github.com/"}


@pytest.fixture(scope="session")
def vendored(tmp_path_factory, upstream, git_mirror_env) -> tuple[Path, str]:
    """(vendor dir, vendor output): every chart from the mirror's chart folder, every kustomize base
    from its Git mirrors (digests verified against sources.lock), parts published to <vendor>/published."""
    vendor = tmp_path_factory.mktemp("conformance") / "vendor"
    res = kfstack("vendor", "--vendor-dir", str(vendor), "--chart-repository", f"file://{upstream / 'charts'}",
                  "--substitute-missing", env=git_mirror_env)
    assert res.returncode == 0, f"kfstack vendor from the mirror failed:\n{res.stdout}\n{res.stderr}"
    pub = kfstack("vendor", "--vendor-dir", str(vendor), "--publish", str(vendor / "published"))
    assert pub.returncode == 0, f"kfstack vendor --publish failed:\n{pub.stdout}\n{pub.stderr}"
    return vendor, res.stdout + res.stderr


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory) -> Path:
    """cdktf.out of every environment (main.py, as the main job does)."""
    out = tmp_path_factory.mktemp("conformance-out")
    res = subprocess.run([sys.executable, "main.py"], cwd=ROOT, capture_output=True, text=True, check=False,
                         env={**os.environ, "CDKTF_OUTDIR": str(out)}, timeout=900)
    assert res.returncode == 0, f"synth failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return out


@pytest.fixture(scope="session")
def check_cluster(tmp_path_factory):
    """A local control plane of its own (real kube-apiserver, no nodes): the check's scratch cluster."""
    from kfstack.cluster.local import ClusterError, LocalCluster, Ports

    cluster = LocalCluster(state_dir=tmp_path_factory.mktemp("check-cluster"), ports=Ports(**CLUSTER_PORTS),
                           log=lambda line: None)
    try:
        cluster.up(())
    except ClusterError as exc:
        cluster.down()
        unavailable(f"the conformance control plane did not start: {exc}")
    yield cluster
    cluster.down()
