"""Dashboard: Kubeflow roles/Istio resources → Profiles + KFAM → default Profile → Central Dashboard
(→ Notebooks), after auth's authorizer and Istio's kubeflow-gateway (refs handed in, never re-created)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kfstack.config import ConfigError
from kfstack.config.loader import load_environment
from kfstack.sources.lock import load_lock
from tests.conftest import ROOT, depends_on, release, release_address, release_values, resources

ENVS = ["dev", "staging", "prod"]


def _names(stack: dict) -> set[str]:
    return {r["name"] for r in resources(stack, "helm_release").values()}


@pytest.mark.parametrize("env", ENVS)
def test_releases_follow_upstream_order(synth_env, env):
    stack = synth_env(env)
    addr = lambda name: release_address(stack, name)  # noqa: E731
    assert addr("oauth2-proxy") in depends_on(stack, "kubeflow-roles")  # auth's authorizer serves first
    assert addr("kubeflow-roles") in depends_on(stack, "kubeflow-istio-resources")
    profiles_first = depends_on(stack, "profiles-crds")
    assert addr("kubeflow-istio-resources") in profiles_first and addr("kubeflow-gateway") in profiles_first
    assert addr("dex") in profiles_first  # the initial user can log in before Profiles start
    assert addr("profiles-crds") in depends_on(stack, "profiles")
    assert addr("profiles") in depends_on(stack, "default-profile")
    assert addr("profiles") in depends_on(stack, "centraldashboard")
    assert not {"notebook-controller", "jupyter-web-app"} & _names(stack)  # default off


@pytest.mark.parametrize("env", ENVS)
def test_parts_are_the_locked_charts_at_their_versions(synth_env, env):
    stack = synth_env(env)
    lock = load_lock(ROOT / "sources.lock")
    for base in ("kubeflow-roles", "kubeflow-istio-resources", "profiles", "centraldashboard"):
        parts = lock.base(base, "1.10.0").charts
        assert parts, base
        for part in parts:
            assert release(stack, part.name)["version"] == "1.10.0"


@pytest.mark.parametrize("env", ENVS)
def test_default_profile_is_owned_by_the_initial_user(synth_env, real_envs, env):
    (profile,) = release_values(synth_env(env), "default-profile")["manifests"]
    email = real_envs[env].components.auth.user_email  # prod names its own first user (guardrail)
    assert profile["apiVersion"] == "kubeflow.org/v1" and profile["kind"] == "Profile"
    assert profile["metadata"]["name"] == ("kubeflow-user-example-com" if env != "prod"
                                           else "kubeflow-ml-admin-prod-internal")
    assert profile["spec"]["owner"] == {"kind": "User", "name": email}


def test_profile_follows_user_email_and_name_setting(synth_config):
    stack = synth_config({"components": {"auth": {"user_email": "Ada.Lovelace@Corp.example"}}})
    (profile,) = release_values(stack, "default-profile")["manifests"]
    assert profile["metadata"]["name"] == "kubeflow-ada-lovelace-corp-example"
    assert profile["spec"]["owner"]["name"] == "Ada.Lovelace@Corp.example"
    stack = synth_config({"components": {"dashboard": {"default_profile_name": "team-ml"}}})
    (profile,) = release_values(stack, "default-profile")["manifests"]
    assert profile["metadata"]["name"] == "team-ml"


def test_default_profile_off(synth_config):
    stack = synth_config({"components": {"dashboard": {"default_profile": False}}})
    assert "default-profile" not in _names(stack) and "centraldashboard" in _names(stack)


def test_notebooks_on(synth_config):
    stack = synth_config({"components": {"dashboard": {"notebooks": True}}})
    assert release_address(stack, "centraldashboard") in depends_on(stack, "notebook-controller-crds")
    assert release_address(stack, "notebook-controller-crds") in depends_on(stack, "notebook-controller")
    assert release_address(stack, "notebook-controller") in depends_on(stack, "jupyter-web-app")


def test_dashboard_off_keeps_auth(synth_config):
    stack = synth_config({"components": {"dashboard": {"enabled": False}}})
    names = _names(stack)
    assert {"dex", "oauth2-proxy", "kubeflow-gateway"} <= names  # the Gateway is Istio's
    assert not {"profiles", "centraldashboard", "default-profile"} & names


def _error(tmp_path: Path, components: dict) -> ConfigError:
    env_dir = tmp_path / "environments"
    env_dir.mkdir()
    (env_dir / "base.yaml").write_text((ROOT / "environments" / "base.yaml").read_text())
    data = yaml.safe_load((ROOT / "environments" / "dev.yaml").read_text())
    data.setdefault("components", {}).update(components)
    (env_dir / "broken.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ConfigError) as info:
        load_environment(env_dir, "broken", display_root=tmp_path)
    return info.value


def test_dashboard_without_auth_is_an_error(tmp_path):
    (p,) = _error(tmp_path, {"auth": {"enabled": False}}).problems
    # Reported where components.dashboard.enabled is set (base.yaml), with its line.
    assert (p.file, p.path) == ("environments/base.yaml", ("components", "dashboard", "enabled")) and p.line
    assert "dashboard is enabled but auth is not" in p.message


def test_long_email_needs_an_explicit_profile_name(tmp_path):
    email = "a" * 60 + "@example.com"
    (p,) = _error(tmp_path, {"auth": {"user_email": email}}).problems
    assert p.path == ("components", "auth", "user_email") and "default_profile_name" in p.message
    assert p.line is not None  # the line of user_email in broken.yaml


def test_long_email_with_an_explicit_profile_name_is_fine(synth_config):
    synth_config({"components": {"auth": {"user_email": "a" * 60 + "@example.com"},
                                 "dashboard": {"default_profile_name": "team-a"}}})


@pytest.mark.parametrize("key,value", [("default_profile_name", "Not_A_Label"), ("notebooks", "maybe"),
                                       ("namespace", "-bad")])
def test_bad_settings_name_file_and_key(tmp_path, key, value):
    (p,) = _error(tmp_path, {"dashboard": {key: value}}).problems
    assert p.file == "environments/broken.yaml" and p.path == ("components", "dashboard", key)


def test_namespace_must_be_a_shared_namespace(synth_config):
    with pytest.raises(ConfigError, match="not a shared namespace of the cluster baseline") as info:
        synth_config({"components": {"dashboard": {"namespace": "elsewhere"}}})
    assert [p.path for p in info.value.problems] == [("components", "dashboard", "namespace")]
