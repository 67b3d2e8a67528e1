"""E2E fixtures: one `local` platform per session (stand-in chart repo + local control plane)."""

from __future__ import annotations

import pytest

from tests.e2e.harness import LocalPlatform


@pytest.fixture(scope="session")
def platform(tmp_path_factory):
    """The started harness; the control plane is stopped at the end if the session started it."""
    try:
        harness = LocalPlatform(workdir=tmp_path_factory.mktemp("local-platform"))
        harness.start()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield harness
    harness.stop()


@pytest.fixture(scope="session")
def k8s(platform):
    """A kubernetes client ApiClient for the local control plane."""
    from kubernetes import client, config

    return config.new_client_from_config(config_file=str(platform.cluster.kubeconfig))
