"""Shared fixtures: synthesize stacks in-process and return their Terraform JSON.

``synth_minimal(enable("katib"))`` synthesizes a minimal environment built in code (component tests:
tests/fixtures/envs.py); ``synth_env("prod")`` synthesizes the real environment files (cached per
session); ``synth_config(overrides, name=...)`` synthesizes base.yaml + dev.yaml deep-merged with
``overrides`` (tests of the shipped files' settings); ``config_error(tmp_path, lock, overrides)`` loads the
minimal environment written as files and returns the ConfigError (tests of what the loader reports).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("CHECKPOINT_DISABLE", "1")

from kfstack.app import PROJECT_ROOT, load_all  # noqa: E402
from kfstack.config import ConfigError  # noqa: E402
from kfstack.config.environment import EnvironmentConfig  # noqa: E402
from kfstack.config.loader import deep_merge, load_environment  # noqa: E402
from kfstack.sources.lock import load_lock  # noqa: E402

ROOT = PROJECT_ROOT


def _synth_stack(env: EnvironmentConfig, lock=None, root: Path = ROOT) -> dict[str, Any]:
    from kfstack.cdk import Testing

    from kfstack.stacks import PlatformStack, ProjectPaths

    app = Testing.app()
    stack = PlatformStack(app, env, lock=lock or load_lock(root / "sources.lock"), paths=ProjectPaths(root))
    return json.loads(Testing.synth(stack))


@pytest.fixture(scope="session")
def real_envs() -> dict[str, EnvironmentConfig]:
    """The repository's environments, validated."""
    envs, _ = load_all()
    return envs


@pytest.fixture(scope="session")
def synth_env(real_envs) -> Callable[[str], dict[str, Any]]:
    """Synthesize one of the repository's environments (cached)."""
    cache: dict[str, dict[str, Any]] = {}

    def get(name: str) -> dict[str, Any]:
        if name not in cache:
            cache[name] = _synth_stack(real_envs[name])
        return cache[name]

    return get


@pytest.fixture(scope="session")
def lock():
    """The parsed sources.lock."""
    return load_lock(ROOT / "sources.lock")


@pytest.fixture
def synth_minimal(lock) -> Callable[..., dict[str, Any]]:
    """Synthesize :func:`tests.fixtures.envs.minimal_env` deep-merged with ``overrides`` (e.g. ``enable("mysql")``)."""
    from tests.fixtures.envs import minimal_env

    def run(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        return _synth_stack(minimal_env(lock, overrides), lock=lock)

    return run


def env_dict(overrides: dict[str, Any] | None = None, base_env: str = "dev") -> dict[str, Any]:
    """base.yaml + <base_env>.yaml + overrides, merged like the loader does (not validated)."""
    data: dict[str, Any] = {}
    for f in ("base.yaml", f"{base_env}.yaml"):
        data = deep_merge(data, yaml.safe_load((ROOT / "environments" / f).read_text()))
    return deep_merge(data, overrides or {})


@pytest.fixture
def synth_config() -> Callable[..., dict[str, Any]]:
    """Synthesize base.yaml + dev.yaml (or ``base_env``) merged with ``overrides``."""

    def run(overrides: dict[str, Any] | None = None, *, name: str = "test", base_env: str = "dev",
            lock=None) -> dict[str, Any]:
        data = env_dict(overrides, base_env)
        data["name"] = name
        return _synth_stack(EnvironmentConfig.model_validate(data), lock=lock)

    return run


def copy_project(dest: Path) -> Path:
    """A copy of the project's sources and environment files at ``dest`` (no .venv, outputs, caches or tests),
    for tests that run ``main.py`` or the CLI on broken inputs without touching the checkout."""
    shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(".venv", "cdktf.out", "node_modules", ".git", "vendor",
                                                              "build", "state", "__pycache__", "tests"))
    return dest


def environments_with_base(tmp_path: Path) -> Path:
    """``tmp_path/environments`` holding the real base.yaml (created once), for loading one test file beside it."""
    env_dir = tmp_path / "environments"
    env_dir.mkdir(exist_ok=True)
    shutil.copy(ROOT / "environments" / "base.yaml", env_dir / "base.yaml")
    return env_dir


def resources(stack: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    """All resources of one Terraform type in a synthesized stack, by logical id."""
    return stack.get("resource", {}).get(rtype, {})


def release(stack: dict[str, Any], name: str) -> dict[str, Any]:
    """The helm_release whose ``name`` (Helm release name) is ``name``; fails the test when absent."""
    found = [r for r in resources(stack, "helm_release").values() if r["name"] == name]
    assert len(found) == 1, f"expected one helm_release named {name!r}, found {len(found)}"
    return found[0]


def release_values(stack: dict[str, Any], name: str) -> dict[str, Any]:
    """The parsed values YAML of release ``name`` (literal YAML only, not yamlencode tokens)."""
    (values,) = release(stack, name)["values"]
    return yaml.safe_load(values)


def depends_on(stack: dict[str, Any], name: str) -> list[str]:
    """The ``depends_on`` list of release ``name``."""
    return release(stack, name).get("depends_on", [])


def release_address(stack: dict[str, Any], name: str) -> str:
    """Terraform address ``helm_release.<id>`` of release ``name``."""
    for rid, r in resources(stack, "helm_release").items():
        if r["name"] == name:
            return f"helm_release.{rid}"
    raise AssertionError(f"no helm_release named {name!r}")


def config_error(tmp_path: Path, lock, overrides: dict[str, Any], *, base: dict[str, Any] | None = None,
                 name: str = "broken") -> ConfigError:
    """The ConfigError of loading ``<name>.yaml`` (``overrides``) over a base.yaml holding the minimal environment
    (:func:`tests.fixtures.envs.write_minimal_env`, deep-merged with ``base``), written under ``tmp_path``;
    problems name ``environments/base.yaml`` or ``environments/<name>.yaml``. Fails the test if it loads."""
    from tests.fixtures.envs import write_minimal_env

    env_dir = write_minimal_env(tmp_path / "environments", lock, name, overrides, base=base)
    with pytest.raises(ConfigError) as info:
        load_environment(env_dir, name, display_root=tmp_path)
    return info.value
