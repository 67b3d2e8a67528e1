"""The s3 and kubernetes backend blocks kfstack synthesizes are accepted by OpenTofu itself.

``tofu init`` parses the backend block before it connects: an argument tofu does not
know fails with "Extraneous JSON object property". Pointed at a closed port on
127.0.0.1, a valid block gets as far as the network ("Failed to get existing workspaces").
(pg is applied for real in test_pg_state.py.)
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from tests.integration.conftest import require, run, tf_env


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when this returns


def _backend_json(backend: dict, cluster: dict | None = None) -> dict:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from kfstack.cdk import TerraformStack, Testing

    from kfstack.config.environment import EnvironmentConfig
    from kfstack.stacks.backend import add_backend
    from tests.conftest import env_dict

    data = env_dict({"backend": backend, **({"cluster": cluster} if cluster else {})})
    data["name"] = "backendtest"
    stack = TerraformStack(Testing.app(), "backendtest")
    add_backend(stack, EnvironmentConfig.model_validate(data), from_stack_dir=lambda p: p)
    doc = json.loads(Testing.synth(stack))
    doc.pop("//", None)
    return doc


def _init(tmp_path: Path, doc: dict) -> str:
    (tmp_path / "main.tf.json").write_text(json.dumps(doc))
    env = {**tf_env(), "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_MAX_ATTEMPTS": "1"}
    res = run([require("tofu"), "init", "-input=false", "-no-color"], cwd=tmp_path, env=env, check=False, timeout=180)
    assert res.returncode != 0, "nothing listens there: init cannot succeed"
    return res.stdout + res.stderr


@pytest.mark.parametrize("kind", ["s3", "kubernetes"])
def test_backend_block_accepted_by_tofu(tmp_path, kind):
    port = _closed_port()
    if kind == "s3":
        doc = _backend_json({"type": "s3", "bucket": "kfstack-state", "endpoint": f"http://127.0.0.1:{port}"})
        assert doc["terraform"]["backend"]["s3"]["use_lockfile"] is True
    else:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "https://127.0.0.1:{port}", insecure-skip-tls-verify: true}}}}]
users: [{{name: u, user: {{}}}}]
contexts: [{{name: backendtest, context: {{cluster: c, user: u}}}}]
current-context: backendtest
""")
        doc = _backend_json({"type": "kubernetes"}, {"kubeconfig": str(kubeconfig), "context": "backendtest"})
    out = _init(tmp_path, doc)
    assert "Extraneous JSON object property" not in out and "Unsupported argument" not in out, out
    assert "Failed to get existing workspaces" in out and f"127.0.0.1:{port}" in out, out


def test_unknown_backend_argument_is_caught(tmp_path):
    """Control: the check above would see an argument tofu does not know."""
    doc = _backend_json({"type": "s3", "bucket": "kfstack-state", "endpoint": "http://127.0.0.1:1"})
    doc["terraform"]["backend"]["s3"]["bogus_flag"] = True
    assert "Extraneous JSON object property" in _init(tmp_path, doc)
