"""E2E fixtures: one `local` platform per session (stand-in chart repo + local control plane)."""

from __future__ import annotations

import pytest

from tests.e2e.harness import LocalPlatform


@pytest.fixture(scope="session")
def platform(tmp_path_factory):
    """The started harness; the control plane is stopped at the end if the session started it.

    One e2e session at a time per machine: the local control plane and the chart
    repository use fixed ports, so a second session waits on ~/.cache/kfstack/e2e.lock.
    """
    import fcntl
    from pathlib import Path

    from tests.toolchain import need_providers

    need_providers()

    lock_path = Path.home() / ".cache" / "kfstack" / "e2e.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock = open(lock_path, "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        harness = LocalPlatform(workdir=tmp_path_factory.mktemp("local-platform"))
        harness.start()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield harness
    harness.stop()
    lock.close()


@pytest.fixture(scope="session")
def k8s(platform):
    """A kubernetes client ApiClient for the local control plane."""
    from kubernetes import client, config

    return config.new_client_from_config(config_file=str(platform.cluster.kubeconfig))
