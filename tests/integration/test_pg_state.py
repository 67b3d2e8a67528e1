"""Shared state in a real PostgreSQL (Terraform's ``pg`` backend), started by the test on 127.0.0.1.

The stack is kfstack's own backend block (:func:`kfstack.stacks.backend.add_backend` for a
``backend: {type: pg}`` environment) plus two resources that need no cluster: a
``random_password`` (a value that must survive) and a ``terraform_data`` whose creation
runs ``sleep`` (to hold the lock). The connection string reaches tofu only through
``PG_CONN_STR``.

Needs Debian's ``postgresql`` package (scripts/ci-packages.sh installs it when missing).
PostgreSQL refuses to run as root: as root the server runs as the ``postgres`` user.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.integration.conftest import require, run, tf_env

SCHEMA = "kfstack_pgtest"


def _pg_bin(tool: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"), key=lambda p: int(p.split("/")[4]))
    if found:
        return found[-1]
    path = shutil.which(tool)
    if not path:
        pytest.fail(f"PostgreSQL's {tool} not found: run `bash scripts/ci-packages.sh` (installs Debian's postgresql)")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """A throwaway PostgreSQL cluster in a temporary folder, listening on 127.0.0.1 only."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="kfstack-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self.password = secrets.token_hex(16)
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                pytest.fail("running as root needs the 'postgres' user (created by Debian's postgresql package)")
            self.as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.dir, "postgres", "postgres")
        self.conn_str = (f"postgres://kfstack:{self.password}@127.0.0.1:{self.port}/terraform_state"
                         "?sslmode=disable")

    def _run(self, cmd: list[str], **kw) -> subprocess.CompletedProcess:
        return run([*self.as_user, *cmd], cwd=self.dir, **kw)

    def start(self) -> "PostgresServer":
        pwfile = self.dir / "pw"
        pwfile.write_text(self.password + "\n")
        if self.as_user:
            shutil.chown(pwfile, "postgres", "postgres")
        self._run([_pg_bin("initdb"), "-D", str(self.data), "-U", "kfstack", f"--pwfile={pwfile}",
                   "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-instructions"])
        pwfile.unlink()
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off"
        self._run([_pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "server.log"), "-o", opts,
                   "-w", "-t", "60", "start"], timeout=90)
        self.psql("postgres", "CREATE DATABASE terraform_state")
        return self

    def psql(self, db: str, sql: str) -> str:
        conn = self.conn_str.replace("/terraform_state?", f"/{db}?")
        res = run([_pg_bin("psql"), conn, "-v", "ON_ERROR_STOP=1", "-XAtc", sql], cwd=self.dir)
        return res.stdout.strip()

    def stop(self) -> None:
        if self.data.exists():
            subprocess.run([*self.as_user, _pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"],
                           cwd=self.dir, capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres():
    server = PostgresServer()
    try:
        yield server.start()
    finally:
        server.stop()


def _stack(workdir: Path) -> None:
    """kfstack's pg backend block for an environment named pgtest, plus two cluster-free resources."""
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from kfstack.cdk import TerraformStack, Testing

    from kfstack.config.environment import EnvironmentConfig
    from kfstack.stacks.backend import add_backend
    from tests.conftest import env_dict

    data = env_dict({"backend": {"type": "pg", "schema_name": SCHEMA}})
    data["name"] = "pgtest"
    env = EnvironmentConfig.model_validate(data)
    stack = TerraformStack(Testing.app(), "pgtest")
    add_backend(stack, env, from_stack_dir=lambda p: p)
    doc = json.loads(Testing.synth(stack))
    assert doc["terraform"]["backend"] == {"pg": {"schema_name": SCHEMA}}  # no conn_str: PG_CONN_STR at run time
    doc["terraform"]["required_providers"] = {"random": {"source": "hashicorp/random", "version": "3.7.2"}}
    doc["variable"] = {"generation": {"type": "string"}, "sleep": {"type": "number", "default": 0}}
    doc["resource"] = {
        "random_password": {"db": {"length": 24, "special": False}},
        "terraform_data": {"slow": {
            "input": "${var.generation}",
            "triggers_replace": ["${var.generation}"],
            "provisioner": [{"local-exec": {"command": "sleep ${var.sleep}"}}],
        }},
    }
    doc["output"] = {"generation": {"value": "${terraform_data.slow.output}"}}
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "main.tf.json").write_text(json.dumps(doc, indent=2))


def _state(postgres: PostgresServer) -> dict:
    rows = postgres.psql("terraform_state", f"SELECT name, data FROM {SCHEMA}.states ORDER BY name")
    name, data = rows.split("|", 1)
    assert name == "default"
    return json.loads(data)


def _resources(state: dict) -> dict[str, dict]:
    return {f"{r['type']}.{r['name']}": r["instances"][0]["attributes"] for r in state["resources"]}


def _advisory_locks(postgres: PostgresServer) -> int:
    return int(postgres.psql("postgres", "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"))


def test_state_in_postgres_and_concurrent_apply_fails_on_lock(postgres, tmp_path):
    tofu = require("tofu")
    work = tmp_path / "stack"
    _stack(work)
    env = {**tf_env(), "PG_CONN_STR": postgres.conn_str}
    assert postgres.password not in (work / "main.tf.json").read_text()

    run([tofu, "init", "-input=false", "-no-color"], cwd=work, env=env)
    run([tofu, "apply", "-auto-approve", "-input=false", "-no-color", "-var", "generation=1"], cwd=work, env=env)
    assert not (work / "terraform.tfstate").exists()  # the state is not a local file...
    first = _state(postgres)  # ...it is a row of the schema's states table
    res = _resources(first)
    assert set(res) == {"random_password.db", "terraform_data.slow"} and res["terraform_data.slow"]["output"]["value"] == "1"
    password = res["random_password.db"]["result"]

    # Apply A holds the lock (its terraform_data sleeps while being created); apply B starts meanwhile.
    holder = subprocess.Popen([tofu, "apply", "-auto-approve", "-input=false", "-no-color", "-var", "generation=2",
                               "-var", "sleep=15"], cwd=work, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while _advisory_locks(postgres) == 0:
            assert holder.poll() is None, f"apply A ended before it held the lock:\n{holder.stdout.read()}"
            assert time.monotonic() < deadline, "apply A never took the state lock"
            time.sleep(0.2)
        started = time.monotonic()
        second = run([tofu, "apply", "-auto-approve", "-input=false", "-no-color", "-var", "generation=3"],
                     cwd=work, env=env, check=False, timeout=120)
        assert holder.poll() is None, "apply A finished before apply B was refused: the test proved nothing"
        took = time.monotonic() - started
        out_a, _ = holder.communicate(timeout=180)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    assert second.returncode != 0
    message = second.stderr + second.stdout
    assert "Error acquiring the state lock" in message, message
    assert "Workspace is already locked: default" in message, message
    assert holder.returncode == 0, out_a
    assert "Apply complete! Resources: 1 added, 0 changed, 1 destroyed." in out_a

    # Nothing lost: A's result is stored, B changed nothing, the password survived both.
    after = _state(postgres)
    res = _resources(after)
    assert after["serial"] > first["serial"] and after["lineage"] == first["lineage"]
    assert set(res) == {"random_password.db", "terraform_data.slow"}
    assert res["terraform_data.slow"]["output"]["value"] == "2" and res["random_password.db"]["result"] == password
    assert _advisory_locks(postgres) == 0  # A released its lock
    plan = run([tofu, "plan", "-detailed-exitcode", "-input=false", "-no-color", "-var", "generation=2"],
               cwd=work, env=env, check=False)
    assert plan.returncode == 0, plan.stdout + plan.stderr  # state matches: nothing to do
    print(f"apply B refused after {took:.2f} s; state serial {first['serial']} -> {after['serial']}")
