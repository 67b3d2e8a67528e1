"""Interrupted applies on the local control plane (issue 6, scenario 4): Ctrl-C and a crash in the middle
of the first apply of the `local` stack on an empty cluster; the next apply converges with no orphaned
release and no manual state surgery (kfstack/recover.py documents what each interruption leaves).

Each test starts from an empty cluster and state and ends with a destroy, so the file order of
tests/e2e (gpu → interruption → local platform) keeps test_local_platform's empty-cluster start.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

import pytest

from kfstack.drift import state_releases
from kfstack.helmstore import list_releases

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(platform):
    platform.synth()
    platform.init()
    return platform


def _state(platform) -> dict:
    path = platform.workdir / "state" / "local.tfstate"
    text = path.read_text() if path.exists() else ""
    return json.loads(text) if text.strip() else {"resources": []}


def _assert_empty(platform, k8s) -> None:
    assert not [r for r in _state(platform)["resources"] if r.get("instances")]
    assert not list_releases(k8s)


def _start_and_wait_for_helm_in_flight(platform, name: str, in_flight: int = 3, settle_s: float = 2.5):
    """Start an apply; return (process, log) once `in_flight` Helm installs are running (plus `settle_s`)."""
    log = platform.workdir / f"{name}.log"
    proc = platform.start_apply(log)
    deadline = time.monotonic() + 300
    while True:
        text = log.read_text()
        running = (set(re.findall(r"(helm_release\.\S+): Creating\.\.\.", text))
                   - set(re.findall(r"(helm_release\.\S+): Creation complete", text)))
        if len(running) >= in_flight:
            break
        assert proc.poll() is None, f"apply ended before {in_flight} Helm installs ran:\n{text[-3000:]}"
        assert time.monotonic() < deadline, text[-3000:]
        time.sleep(0.1)
    time.sleep(settle_s)
    assert proc.poll() is None, "apply finished before it could be interrupted"
    return proc, log


def _converge(platform, k8s) -> None:
    """`kfstack recover`, apply, empty plan, every release deployed and in the state, nothing else."""
    rec = platform.kfstack("recover", "local", "--stack-dir", str(platform.stack_dir))
    assert rec.result.returncode == 0, rec.output[-4000:]
    print(f"kfstack recover ({rec.seconds:.1f} s):\n{rec.output.strip()}")
    res = platform.apply()
    assert res.result.returncode == 0, res.output[-8000:]
    plan = platform.plan()
    assert plan.result.returncode == 0, plan.output[-4000:]
    in_state = {(r.namespace, r.name) for r in state_releases(_state(platform))}
    live = list_releases(k8s)
    assert set(live) == in_state, {"not in state": set(live) - in_state, "missing": in_state - set(live)}
    assert {k: revs[-1].status for k, revs in live.items()} == {k: "deployed" for k in live}
    synthesized = json.loads((platform.stack_dir / "cdk.tf.json").read_text())
    assert len(in_state) == len(synthesized["resource"]["helm_release"])


def _destroy(platform, k8s) -> None:
    res = platform.destroy()
    assert res.result.returncode == 0, res.output[-6000:]
    _assert_empty(platform, k8s)


def test_ctrl_c_mid_apply_then_the_next_apply_converges(stack, k8s):
    platform = stack
    _assert_empty(platform, k8s)
    proc, log = _start_and_wait_for_helm_in_flight(platform, "apply-sigint")
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends: tofu and its providers
    rc = proc.wait(timeout=600)
    out = log.read_text()
    assert rc != 0 and "Interrupt received" in out, out[-3000:]
    statuses = {f"{ns}/{n}": revs[-1].status for (ns, n), revs in list_releases(k8s).items()}
    print(f"after Ctrl-C: tofu exited {rc}; releases {statuses}")
    _converge(platform, k8s)
    _destroy(platform, k8s)


def test_a_crash_mid_apply_is_recovered_and_a_held_lock_is_reported(stack, k8s):
    platform = stack
    _assert_empty(platform, k8s)
    proc, _ = _start_and_wait_for_helm_in_flight(platform, "apply-crash")
    os.killpg(proc.pid, signal.SIGSTOP)  # a hung apply: still holds the state lock
    try:
        held = platform.tofu("plan", "-lock-timeout=0", "-input=false", "-no-color")
        assert held.result.returncode == 1
        assert "Error acquiring the state lock" in held.output, held.output[-3000:]
        lock_id = re.search(r"Lock Info:\s*\n\s*ID:\s+(\S+)", held.output).group(1)
        assert "force-unlock" not in held.output  # tofu's own message names no command ...
        rec = platform.kfstack("recover", "local", "--stack-dir", str(platform.stack_dir))
        assert rec.result.returncode == 3, rec.output  # ... kfstack refuses to recover and names it
        assert f"force-unlock -force {lock_id}" in rec.output, rec.output
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the crash: tofu and providers die mid-apply
        proc.wait(timeout=60)
    time.sleep(1)
    statuses = {f"{ns}/{n}": revs[-1].status for (ns, n), revs in list_releases(k8s).items()}
    tracked = {f"{r.namespace}/{r.name}" for r in state_releases(_state(platform))}
    print(f"after the crash: releases {statuses}; in state {sorted(tracked)}")
    assert set(statuses) - tracked, "expected releases the crashed apply never recorded"
    # The local backend's lock is an OS file lock: it died with the process, nothing to unlock.
    after = platform.tofu("plan", "-lock-timeout=0", "-refresh=false", "-input=false", "-no-color")
    assert "Error acquiring the state lock" not in after.output, after.output[-3000:]
    dry = platform.kfstack("recover", "local", "--stack-dir", str(platform.stack_dir), "--dry-run")
    assert dry.result.returncode == 0 and "uninstall Helm release" in dry.output, dry.output[-3000:]
    _converge(platform, k8s)
    _destroy(platform, k8s)
