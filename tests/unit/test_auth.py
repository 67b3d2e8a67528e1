"""Auth: Dex → oauth2-proxy with generated credentials, never upstream's well-known defaults.

Tests synthesize the minimal environment (tests/fixtures/envs.py) with auth on; it reads kustomize
bases in mode mirror (the parts sources.lock records), so these tests need no vendor cache.
"""

from __future__ import annotations

import json
import re

import pytest
import yaml

from kfstack.config.loader import deep_merge
from kfstack.constructs.auth import construct as auth
from kfstack.constructs.istio import construct as istio
from kfstack.sources.lock import load_lock
from tests.conftest import ROOT, config_error, depends_on, release, release_address, release_values, resources
from tests.fixtures.envs import enable, minimal_env

AUTH = enable("auth")
SITE = {"registry": {"host": "registry.internal", "pull_secret": "registry-internal"},
        "sources": {"mirror_url": "oci://registry.internal/charts"},
        "components": {"auth": {"user_email": "ml-admin@site.internal"}}}
"""A site's own image registry and OCI chart mirror and its own first user (prod's shape)."""
SHAPES = pytest.mark.parametrize("site", [{}, SITE], ids=["minimal", "site-mirrors"])
UPSTREAM_HASH = "$2y$12$4K/VkmDd1q1Orb3xAt82zu8gk7Ad6ReFR4LCP9UeYE90NLiN9Df72"
"""bcrypt of '12341234': kubeflow/manifests 26.03 common/dex/base/dex-passwords.yaml."""
REF = re.compile(r"^\$\{random_password\.([A-Za-z0-9_-]+)\.(result|bcrypt_hash)\}$")


def _by_name(stack: dict, rtype: str, name: str) -> dict:
    found = [r for r in resources(stack, rtype).values() if r["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {rtype} named {name}, found {len(found)}"
    return found[0]


def namespace_of(stack: dict, value: str) -> str:
    """A namespace field: a literal, or a reference to a kubernetes_namespace_v1 resolved to its name."""
    m = re.match(r"^\$\{kubernetes_namespace_v1\.([A-Za-z0-9_-]+)\.metadata\[0\]\.name\}$", value)
    return resources(stack, "kubernetes_namespace_v1")[m.group(1)]["metadata"]["name"] if m else value


def _ref(value: str) -> tuple[str, str]:
    m = REF.match(value)
    assert m, f"not a random_password reference: {value[:12]}…"
    return m.group(1), m.group(2)


@SHAPES
def test_releases_in_upstream_order(synth_minimal, site):
    stack = synth_minimal(deep_merge(AUTH, site))
    assert release_address(stack, "istio-ingressgateway") in depends_on(stack, "dex-crds")
    assert release_address(stack, "dex-crds") in depends_on(stack, "dex")
    assert release_address(stack, "dex") in depends_on(stack, "oauth2-proxy")
    for name in ("dex-crds", "dex"):
        assert namespace_of(stack, release(stack, name)["namespace"]) == "auth"
    assert namespace_of(stack, release(stack, "oauth2-proxy")["namespace"]) == "oauth2-proxy"
    # Dex starts only once its config and Secrets exist.
    deps = depends_on(stack, "dex-crds")
    for rtype, rid in [("kubernetes_config_map_v1", "DexConfig"), ("kubernetes_secret_v1", "DexPasswords"),
                       ("kubernetes_secret_v1", "DexClient")]:
        assert any(d.startswith(f"{rtype}.Auth_{rid}_") for d in deps), (rid, deps)
    assert any(d.startswith("kubernetes_secret_v1.Auth_ProxySecret_") for d in depends_on(stack, "oauth2-proxy"))


@SHAPES
def test_mirror_parts_are_the_locked_charts(synth_minimal, lock, site):
    versions = {"dex": "2.45.0", "oauth2_proxy": "7.14.3"}
    stack = synth_minimal(deep_merge(AUTH, {**site, "release": {"versions": versions}}))
    for base, version in [("dex", "2.45.0"), ("oauth2-proxy", "7.14.3")]:
        for part in lock.base(base, version).charts:
            rel = release(stack, part.name)
            assert rel["version"] == version and rel["repository"].startswith(("https://", "oci://"))


@pytest.mark.parametrize("email", ["user@example.com", "ml-admin@prod.internal"])  # upstream's example; a site's
def test_dex_gets_only_the_bcrypt_hash_of_a_generated_password(synth_minimal, email):
    stack = synth_minimal(enable("auth", auth={"user_email": email}))
    passwords = resources(stack, "random_password")
    hashed = _by_name(stack, "kubernetes_secret_v1", "dex-passwords")["data"]
    pid, attr = _ref(hashed["DEX_USER_PASSWORD"])
    assert attr == "bcrypt_hash" and pid in passwords and pid.startswith("Auth_UserPassword_")
    assert passwords[pid]["length"] >= 20 and passwords[pid]["special"] is False
    # The admin's copy of the plain password is the same random_password's result.
    initial = _by_name(stack, "kubernetes_secret_v1", auth.INITIAL_USER_SECRET)
    assert namespace_of(stack, initial["metadata"]["namespace"]) == "auth"
    assert _ref(initial["data"]["password"]) == (pid, "result")
    assert initial["data"]["email"] == email
    # Dex's config names the env var, never a hash.
    config = yaml.safe_load(_by_name(stack, "kubernetes_config_map_v1", "dex")["data"]["config.yaml"])
    (user,) = config["staticPasswords"]
    assert user == {"email": email, "hashFromEnv": "DEX_USER_PASSWORD", "username": "user",
                    "userID": auth.DEX_STATIC_USER_ID}
    assert config["issuer"] == auth.DEX_ISSUER
    text = json.dumps(stack)
    for literal in (UPSTREAM_HASH, "12341234", "$2y$", "$2a$"):
        assert literal not in text


@SHAPES
def test_client_and_cookie_secrets_are_generated_and_shared(synth_minimal, site):
    stack = synth_minimal(deep_merge(AUTH, site))
    dex_client = _by_name(stack, "kubernetes_secret_v1", "dex-oidc-client")["data"]
    proxy = _by_name(stack, "kubernetes_secret_v1", auth.OAUTH2_PROXY_SECRET)
    assert namespace_of(stack, proxy["metadata"]["namespace"]) == "oauth2-proxy"
    data = proxy["data"]
    assert dex_client["OIDC_CLIENT_ID"] == data["client-id"] == auth.OIDC_CLIENT_ID
    assert _ref(dex_client["OIDC_CLIENT_SECRET"]) == _ref(data["client-secret"])
    cookie, attr = _ref(data["cookie-secret"])
    assert attr == "result"
    # oauth2-proxy needs a 16, 24 or 32 byte cookie secret.
    assert resources(stack, "random_password")[cookie]["length"] == 32
    assert cookie != _ref(data["client-secret"])[0]


def test_namespaces_are_restricted(synth_minimal):
    stack = synth_minimal(AUTH)
    for name in ("auth", "oauth2-proxy"):
        ns = _by_name(stack, "kubernetes_namespace_v1", name)
        assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


@SHAPES
def test_istio_registers_oauth2_proxy_and_gateway_has_the_labels_upstream_policies_select(synth_minimal, site):
    stack = synth_minimal(deep_merge(AUTH, site))
    istiod = release_values(stack, "istiod")
    (provider,) = istiod["meshConfig"]["extensionProviders"]
    assert provider["name"] == "oauth2-proxy"
    ext = provider["envoyExtAuthzHttp"]
    assert ext["service"] == "oauth2-proxy.oauth2-proxy.svc.cluster.local" and ext["port"] == 80
    assert "authorization" in ext["headersToUpstreamOnAllow"] and "cookie" in ext["includeRequestHeadersInCheck"]
    assert istiod["pilot"]["env"] == {"PILOT_JWT_PUB_KEY_REFRESH_INTERVAL": "1m"}
    labels = release_values(stack, "istio-ingressgateway")["labels"]
    assert auth.UPSTREAM_GATEWAY_SELECTOR.items() <= labels.items()


def test_the_authorizer_is_auths_and_what_trusts_it_waits_for_it(synth_minimal, lock):
    """istiod holds the provider as a pure value of auth's settings (it installs before auth); Auth exports the
    same provider with its ready, and the apps behind the gateway that trust kubeflow-userid wait for it."""
    overrides = enable("auth", "dashboard", "pipelines", "katib")
    stack = synth_minimal(overrides)
    (provider,) = release_values(stack, "istiod")["meshConfig"]["extensionProviders"]
    assert provider == minimal_env(lock, overrides).components.auth.authorizer.mesh_config()
    proxy = release_address(stack, "oauth2-proxy")
    assert proxy not in depends_on(stack, "istiod")
    for app in ("kubeflow-roles", "pipelines-crds", "katib-crds"):
        assert proxy in depends_on(stack, app), app


def test_without_auth_nothing_waits_for_an_authorizer(synth_minimal):
    stack = synth_minimal(deep_merge(enable("pipelines"), {"components": {"auth": {"enabled": False}}}))
    assert not any("Auth_" in d for d in depends_on(stack, "pipelines-crds"))


def test_user_email_setting(synth_minimal):
    stack = synth_minimal(enable("auth", auth={"user_email": "ml.admin@corp.example", "user_name": "mladmin"}))
    config = yaml.safe_load(_by_name(stack, "kubernetes_config_map_v1", "dex")["data"]["config.yaml"])
    assert config["staticPasswords"][0]["email"] == "ml.admin@corp.example"
    assert config["staticPasswords"][0]["username"] == "mladmin"
    assert _by_name(stack, "kubernetes_secret_v1", auth.INITIAL_USER_SECRET)["data"]["email"] == "ml.admin@corp.example"
    assert "user@example.com" not in json.dumps(stack)


def test_password_length_setting(synth_minimal):
    stack = synth_minimal(enable("auth", auth={"password_length": 40}))
    (pw,) = [p for rid, p in resources(stack, "random_password").items() if rid.startswith("Auth_UserPassword_")]
    assert pw["length"] == 40


def test_auth_off(synth_minimal):
    stack = synth_minimal({"components": {"auth": {"enabled": False}}})
    assert not [r for r in resources(stack, "helm_release").values() if r["name"] in ("dex", "oauth2-proxy")]
    assert not [rid for rid in resources(stack, "random_password") if rid.startswith("Auth_")]
    assert "extensionProviders" not in release_values(stack, "istiod")["meshConfig"]
    assert "env" not in release_values(stack, "istiod")["pilot"]


def test_lock_excludes_exactly_what_kfstack_replaces():
    lock = load_lock(ROOT / "sources.lock")
    for base, excluded in {**auth.EXCLUDED, **istio.EXCLUDED}.items():
        (pin,) = [p for p in lock.kustomize if p.name == base]
        assert set(pin.exclude) == set(excluded), base


# Config errors: name the file and the key path (base.yaml: the minimal environment with auth on).

@pytest.mark.parametrize("email", ["not-an-email", "user@localhost", "a b@example.com", ""])
def test_invalid_email_names_file_and_key(tmp_path, lock, email):
    err = config_error(tmp_path, lock, {"components": {"auth": {"user_email": email}}}, base=AUTH)
    (p,) = err.problems
    assert p.file == "environments/broken.yaml"
    assert p.path == ("components", "auth", "user_email")
    assert "components.auth.user_email" in str(err)


def test_unknown_auth_key(tmp_path, lock):
    (p,) = config_error(tmp_path, lock, {"components": {"auth": {"password": "hunter2hunter2"}}}, base=AUTH).problems
    assert p.path == ("components", "auth", "password") and "unknown key" in p.message


def test_short_password_is_refused(tmp_path, lock):
    (p,) = config_error(tmp_path, lock, {"components": {"auth": {"password_length": 8}}}, base=AUTH).problems
    assert p.path == ("components", "auth", "password_length")


def test_auth_without_istio_is_an_error(tmp_path, lock):
    err = config_error(tmp_path, lock, {"components": {"istio": {"enabled": False}}}, base=AUTH)
    (p,) = [p for p in err.problems if p.path == ("components", "auth", "enabled")]
    assert p.file == "environments/base.yaml" and p.line is not None  # where auth.enabled is set
    assert "auth is enabled but istio is not: oauth2-proxy is Istio's external authorizer" in p.message
