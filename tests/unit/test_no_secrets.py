"""No secret value or password literal in any synthesized stack, nor in the environment files.

Every credential is a ``random_password``; Secrets, Helm ``set_sensitive``
entries and typed outputs hold Terraform references to its ``result``, which
exists only in state (sensitive). These tests walk the whole JSON of every
environment and every object-store backend.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterator

import pytest
import yaml

from tests.conftest import ROOT, resources

PASSWORD_REF = re.compile(r"^\$\{random_password\.([A-Za-z0-9_-]+)\.(result|bcrypt_hash)\}$")
"""A ``random_password`` value, or its bcrypt hash (Dex's ``DEX_USER_PASSWORD``)."""
VARIABLE_REF = re.compile(r"^\$\{var\.([A-Za-z0-9_-]+)\}$")
"""A Terraform variable: credentials the site supplies at plan/apply time (the registry pull secret)."""
NON_SECRET_KEYS = {"username", "email", "OIDC_CLIENT_ID", "client-id"}
"""Secret data keys that hold identifiers, not credentials (user names, the OIDC client id)."""
SECRET_KEY_NAMES = re.compile(r"^(password|passwd|.*_?password|secretkey|secret_key|.*secret_?access_?key|accesskey|"
                              r"access_?key_?id|rootuser|token|.*_token|apikey|api_key)$", re.IGNORECASE)
"""Keys whose value is a credential (``passwordKey``/``secretKeyKey`` name a key, they are not matched)."""
RANDOM_LOOKING = re.compile(r"(?<![A-Za-z0-9])(?=[A-Za-z0-9]*[a-z])(?=[A-Za-z0-9]*[A-Z])(?=[A-Za-z0-9]*[0-9])"
                            r"[A-Za-z0-9]{16,}(?![A-Za-z0-9])")
"""A mixed-case alphanumeric run of >= 16 characters: what ``random_password(special=false)`` produces."""
KNOWN_LITERALS = ("sakila", "minio123", "minioadmin", "changeme", "password123", "admin123",
                  # kubeflow/manifests 26.03 defaults: Dex user password and its bcrypt hash, the Dex/oauth2-proxy
                  # client secret and oauth2-proxy's cookie secret (common/dex/base, common/oauth2-proxy/base).
                  "12341234", "$2y$12$4K/VkmDd1q1Orb3xAt82zu8gk7Ad6ReFR4LCP9UeYE90NLiN9Df72".lower(),
                  "pUBnBOY80SnXgjibTYM9ZWNzY2xreNGQok".lower(), "7d16fee92f8d11b8940b081b3f8b8acb")

VARIANTS = {
    "dev": ({}, "dev"),
    "staging": None,
    "prod": None,
    "minio-dev": ({"components": {"object_store": {"backend": "minio"}}}, "dev"),
    "minio-prod": ({"components": {"object_store": {"backend": "minio", "minio": {"mode": "distributed",
                                                                                   "replicas": 4}}}}, "prod"),
    "rgw-prod": ({"components": {"object_store": {"backend": "ceph-rgw"}}}, "prod"),
}


@pytest.fixture(scope="module")
def stacks(real_envs):
    from tests.conftest import _synth_stack, env_dict
    from kfstack.config.environment import EnvironmentConfig

    out = {}
    for name, spec in VARIANTS.items():
        if spec is None:
            out[name] = _synth_stack(real_envs[name])
        else:
            data = env_dict(spec[0], spec[1])
            data["name"] = name
            out[name] = _synth_stack(EnvironmentConfig.model_validate(data))
    return out


def _strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _strings(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _strings(v, f"{path}[{i}]")
    elif isinstance(node, str):
        yield path, node


def _keyed(node: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """(path, key, value) of every mapping entry, recursively."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield path, str(k), v
            yield from _keyed(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _keyed(v, f"{path}[{i}]")


def _helm_values(stack: dict) -> Iterator[tuple[str, Any]]:
    for rid, rel in resources(stack, "helm_release").items():
        for doc in rel.get("values", []):
            if not doc.startswith("${"):
                yield rid, yaml.safe_load(doc)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_secret_value_is_a_random_password_reference(stacks, name):
    stack = stacks[name]
    passwords = set(resources(stack, "random_password"))
    secrets = resources(stack, "kubernetes_secret_v1")
    assert secrets and passwords
    for rid, secret in secrets.items():
        for key, value in secret.get("data", {}).items():
            if key in NON_SECRET_KEYS:
                continue  # an identifier, not a credential
            var = VARIABLE_REF.match(value)
            if var:  # site-supplied at apply time: must be a declared sensitive variable without default
                declared = stack.get("variable", {}).get(var.group(1), {})
                assert declared.get("sensitive") is True and "default" not in declared, f"{rid}.data.{key}"
                continue
            m = PASSWORD_REF.match(value)
            assert m, f"{rid}.data.{key} is not a random_password reference: {value[:8]}…"
            assert m.group(1) in passwords
        assert "string_data" not in secret and "binary_data" not in secret


@pytest.mark.parametrize("name", list(VARIANTS))
def test_helm_sensitive_values_are_references(stacks, name):
    passwords = set(resources(stacks[name], "random_password"))
    for rid, rel in resources(stacks[name], "helm_release").items():
        assert "set" not in rel, f"{rid}: plain `set` entries are not used; secrets go through set_sensitive"
        for entry in rel.get("set_sensitive", []):
            m = PASSWORD_REF.match(entry["value"])
            assert m and m.group(1) in passwords, f"{rid}: set_sensitive {entry['name']} is not a reference"


@pytest.mark.parametrize("name", list(VARIANTS))
def test_random_passwords_are_generated_not_given(stacks, name):
    for rid, pw in resources(stacks[name], "random_password").items():
        assert pw["length"] >= 20 and pw["special"] is False, rid
        assert not {"override_special", "keepers"} & set(pw), rid
    for out_id, out in stacks[name].get("output", {}).items():
        if "random_password" in json.dumps(out):
            assert out.get("sensitive") is True, f"output {out_id} exposes a password without sensitive = true"


@pytest.mark.parametrize("name", list(VARIANTS))
def test_no_credential_keys_with_literal_values_in_chart_values(stacks, name):
    for rid, values in _helm_values(stacks[name]):
        for path, key, value in _keyed(values):
            if SECRET_KEY_NAMES.match(key) and not isinstance(value, (dict, list)):
                raise AssertionError(f"{rid} values{path}.{key} holds a literal credential")


@pytest.mark.parametrize("name", list(VARIANTS))
def test_nothing_in_the_json_looks_like_a_password(stacks, name):
    text = json.dumps(stacks[name])
    found = [m for m in RANDOM_LOOKING.findall(text)]
    assert not found, f"password-like strings in the synthesized JSON: {found[:5]}"
    for path, value in _strings(stacks[name]):
        for literal in KNOWN_LITERALS:
            assert literal not in value.lower(), f"{path} contains the well-known password {literal!r}"


def test_the_detector_would_catch_a_generated_password():
    assert RANDOM_LOOKING.findall('{"data": {"password": "q3ZkT9vLx2MwP8rA"}}') == ["q3ZkT9vLx2MwP8rA"]
    assert not RANDOM_LOOKING.findall("${random_password.MySql_User-kfp_Password_5183E23B.result} F69BBD5A5A3C54AA11AD")


def test_environment_files_hold_no_credentials():
    for path in sorted((ROOT / "environments").glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        for where, key, value in _keyed(data):
            assert not SECRET_KEY_NAMES.match(key), f"{path.name}: {where}.{key} looks like a credential"
            assert not re.search(r"(password|secret_?key|token|credential)s?$", key, re.IGNORECASE), \
                f"{path.name}: {where}.{key}"
        text = path.read_text()
        assert not RANDOM_LOOKING.findall(text), f"{path.name} holds a password-like string"
        for literal in KNOWN_LITERALS:
            assert literal not in text.lower(), f"{path.name} contains {literal!r}"
