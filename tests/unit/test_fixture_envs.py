"""The minimal environment component tests build (tests/fixtures/envs.py) is valid and complete."""

from __future__ import annotations

import pytest

from kfstack.config.environment import Components
from kfstack.sources.lock import unpinned_versions
from tests.conftest import resources
from tests.fixtures.envs import enable, minimal_env


def test_minimal_environment_is_pinned_and_wired(lock):
    env = minimal_env(lock)
    assert unpinned_versions(lock)(env) == []
    assert env.components.wiring_problems() == []
    assert [key for key, _ in env.components.enabled()] == ["cluster_baseline", "cert_manager", "istio"]


def test_enable_follows_needs():
    comps = enable("dashboard")["components"]
    assert {"dashboard", "auth", "istio"} <= set(comps) and all(v == {"enabled": True} for v in comps.values())
    assert enable("katib", katib={"install_timeout_s": 900})["components"]["katib"] == {
        "enabled": True, "install_timeout_s": 900}


@pytest.mark.parametrize("key", [k for k in Components.model_fields if k != "ceph"])
def test_each_component_synthesizes_on_its_own(synth_minimal, lock, key):
    env = minimal_env(lock, enable(key))
    assert env.components.wiring_problems() == []
    assert resources(synth_minimal(enable(key)), "helm_release")
