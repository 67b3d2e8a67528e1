"""Dashboard: Kubeflow roles/Istio resources → Profiles + KFAM → default Profile → Central Dashboard
(→ Notebooks), after auth's authorizer and Istio's kubeflow-gateway (refs handed in, never re-created).

Tests synthesize the minimal environment (tests/fixtures/envs.py) with the dashboard (and so auth) on.
"""

from __future__ import annotations

import pytest

from kfstack.config import ConfigError
from kfstack.config.loader import deep_merge
from tests.conftest import config_error, depends_on, release, release_address, release_values, resources
from tests.fixtures.envs import enable

DASHBOARD = enable("dashboard")
SITE = {"registry": {"host": "registry.internal", "pull_secret": "registry-internal"},
        "sources": {"mirror_url": "oci://registry.internal/charts"},
        "components": {"auth": {"user_email": "ml-admin@site.internal"}}}
"""A site's own image registry and OCI chart mirror and its own first user (prod's shape)."""
SHAPES = pytest.mark.parametrize("site", [{}, SITE], ids=["minimal", "site-mirrors"])


def _names(stack: dict) -> set[str]:
    return {r["name"] for r in resources(stack, "helm_release").values()}


@SHAPES
def test_releases_follow_upstream_order(synth_minimal, site):
    stack = synth_minimal(deep_merge(DASHBOARD, site))
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


@SHAPES
def test_parts_are_the_locked_charts_at_their_versions(synth_minimal, lock, site):
    versions = {"dashboard": "1.10.0", "profiles": "1.10.0"}
    stack = synth_minimal(deep_merge(DASHBOARD, {**site, "release": {"versions": versions}}))
    for base in ("kubeflow-roles", "kubeflow-istio-resources", "profiles", "centraldashboard"):
        parts = lock.base(base, "1.10.0").charts
        assert parts, base
        for part in parts:
            assert release(stack, part.name)["version"] == "1.10.0"


@pytest.mark.parametrize(("email", "name"), [("user@example.com", "kubeflow-user-example-com"),  # upstream's
                                            ("ml-admin@prod.internal", "kubeflow-ml-admin-prod-internal")])
def test_default_profile_is_owned_by_the_initial_user(synth_minimal, email, name):
    (profile,) = release_values(synth_minimal(enable("dashboard", auth={"user_email": email})),
                                "default-profile")["manifests"]
    assert profile["apiVersion"] == "kubeflow.org/v1" and profile["kind"] == "Profile"
    assert profile["metadata"]["name"] == name
    assert profile["spec"]["owner"] == {"kind": "User", "name": email}


def test_profile_follows_user_email_and_name_setting(synth_minimal):
    stack = synth_minimal(enable("dashboard", auth={"user_email": "Ada.Lovelace@Corp.example"}))
    (profile,) = release_values(stack, "default-profile")["manifests"]
    assert profile["metadata"]["name"] == "kubeflow-ada-lovelace-corp-example"
    assert profile["spec"]["owner"]["name"] == "Ada.Lovelace@Corp.example"
    stack = synth_minimal(enable("dashboard", dashboard={"default_profile_name": "team-ml"}))
    (profile,) = release_values(stack, "default-profile")["manifests"]
    assert profile["metadata"]["name"] == "team-ml"


def test_default_profile_off(synth_minimal):
    stack = synth_minimal(enable("dashboard", dashboard={"default_profile": False}))
    assert "default-profile" not in _names(stack) and "centraldashboard" in _names(stack)


def test_notebooks_on(synth_minimal):
    stack = synth_minimal(enable("dashboard", dashboard={"notebooks": True}))
    assert release_address(stack, "centraldashboard") in depends_on(stack, "notebook-controller-crds")
    assert release_address(stack, "notebook-controller-crds") in depends_on(stack, "notebook-controller")
    assert release_address(stack, "notebook-controller") in depends_on(stack, "jupyter-web-app")


def test_dashboard_off_keeps_auth(synth_minimal):
    stack = synth_minimal(enable("auth", dashboard={"enabled": False}))
    names = _names(stack)
    assert {"dex", "oauth2-proxy", "kubeflow-gateway"} <= names  # the Gateway is Istio's
    assert not {"profiles", "centraldashboard", "default-profile"} & names


# Config errors (base.yaml: the minimal environment with the dashboard on).

def test_dashboard_without_auth_is_an_error(tmp_path, lock):
    (p,) = config_error(tmp_path, lock, {"components": {"auth": {"enabled": False}}}, base=DASHBOARD).problems
    # Reported where components.dashboard.enabled is set (base.yaml), with its line.
    assert (p.file, p.path) == ("environments/base.yaml", ("components", "dashboard", "enabled")) and p.line
    assert "dashboard is enabled but auth is not" in p.message


def test_long_email_needs_an_explicit_profile_name(tmp_path, lock):
    email = "a" * 60 + "@example.com"
    (p,) = config_error(tmp_path, lock, {"components": {"auth": {"user_email": email}}}, base=DASHBOARD).problems
    assert p.path == ("components", "auth", "user_email") and "default_profile_name" in p.message
    assert p.line is not None  # the line of user_email in broken.yaml


def test_long_email_with_an_explicit_profile_name_is_fine(synth_minimal):
    synth_minimal(enable("dashboard", auth={"user_email": "a" * 60 + "@example.com"},
                         dashboard={"default_profile_name": "team-a"}))


@pytest.mark.parametrize("key,value", [("default_profile_name", "Not_A_Label"), ("notebooks", "maybe"),
                                       ("namespace", "-bad")])
def test_bad_settings_name_file_and_key(tmp_path, lock, key, value):
    (p,) = config_error(tmp_path, lock, {"components": {"dashboard": {key: value}}}, base=DASHBOARD).problems
    assert p.file == "environments/broken.yaml" and p.path == ("components", "dashboard", key)


def test_namespace_must_be_a_shared_namespace(synth_minimal):
    with pytest.raises(ConfigError, match="not a shared namespace of the cluster baseline") as info:
        synth_minimal(enable("dashboard", dashboard={"namespace": "elsewhere"}))
    assert [p.path for p in info.value.problems] == [("components", "dashboard", "namespace")]
