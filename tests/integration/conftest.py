"""Fixtures for tiers that need the real toolchain (tofu, providers, control plane).

Binaries come from PATH; scripts/test.sh puts the Go-built toolchain there
(``eval "$(scripts/toolchain.sh env)"``). A missing tool fails the test with
the command to run: CI must never silently skip the real engine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.toolchain import need_providers


def require(tool: str) -> str:
    """Path of ``tool`` on PATH, or fail naming the toolchain command.

    Tests calling this use the real providers: they skip with the recorded
    reason when scripts/test.sh could not build them (tests/toolchain.py).
    """
    need_providers()
    path = shutil.which(tool)
    if not path:
        pytest.fail(f"{tool} not on PATH: run `bash scripts/toolchain.sh all` and "
                    '`eval "$(bash scripts/toolchain.sh env)"` (scripts/test.sh does both)')
    return path


def tf_env() -> dict[str, str]:
    """Environment for tofu: offline provider mirror, no checkpoint calls, no colour."""
    env = dict(os.environ)
    env.update(CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1", TF_INPUT="0",
               JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20")
    if not env.get("TF_CLI_CONFIG_FILE"):
        pytest.fail("TF_CLI_CONFIG_FILE is not set: eval \"$(bash scripts/toolchain.sh env)\" first")
    return env


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600,
        check: bool = True) -> subprocess.CompletedProcess:
    """Run a command, returning its output; on failure show stdout+stderr in the assertion."""
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and res.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} (in {cwd}) exited {res.returncode}:\n{res.stdout[-4000:]}\n{res.stderr[-4000:]}")
    return res


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory) -> Path:
    """cdktf.out of every environment, synthesized once by main.py (as the main job does)."""
    out = tmp_path_factory.mktemp("cdktf-out")
    env = {**os.environ, "CDKTF_OUTDIR": str(out), "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    run([sys.executable, "main.py"], cwd=ROOT, env=env)
    return out
