"""Validate tier: `tofu init` (offline, providers from the filesystem mirror) and
`tofu validate` on every synthesized stack, with the real providers
(kubernetes 2.38.0, helm 3.1.1, random 3.7.2)."""

from __future__ import annotations

import json

import pytest

from kfstack.config.loader import environment_names
from tests.conftest import ROOT
from tests.integration.conftest import require, run, tf_env

ENVIRONMENTS = environment_names(ROOT / "environments")


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_tofu_init_and_validate(synthesized, name):
    tofu = require("tofu")
    stack = synthesized / "stacks" / name
    env = tf_env()
    run([tofu, "init", "-backend=false", "-input=false", "-no-color"], cwd=stack, env=env)
    res = run([tofu, "validate", "-json", "-no-color"], cwd=stack, env=env, check=False)
    report = json.loads(res.stdout)
    assert report["valid"], json.dumps(report["diagnostics"], indent=2)
    assert report["error_count"] == 0
    lock = (stack / ".terraform.lock.hcl").read_text()
    for provider, version in [("kubernetes", "2.38.0"), ("helm", "3.1.1"), ("random", "3.7.2")]:
        assert f'provider "registry.opentofu.org/hashicorp/{provider}"' in lock
        assert f'version     = "{version}"' in lock.split(f'hashicorp/{provider}"', 1)[1].split("}", 1)[0]
