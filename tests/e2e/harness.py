"""Drive the `local` environment end to end: OCI chart registry, control plane, tofu.

Shared by tests/e2e and bench/local_deploy_bench.py. The OCI registry on
127.0.0.1:18443 (tests/e2e/oci_registry.py, CNCF distribution from the toolchain)
holds STAND-IN charts (tests/fixtures/standin_charts.py), pushed with the code
behind `kfstack vendor --publish oci://…`; `local` installs from
oci://127.0.0.1:18443/charts, the path air-gapped sites use.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from kfstack.cluster.local import LocalCluster, default_state_dir
from tests.e2e.oci_registry import OciRegistry
from tests.fixtures.standin_charts import build_repo

ROOT = Path(__file__).resolve().parents[2]
EXTRA_ENV: dict[str, str] = {}
"""Set by :meth:`LocalPlatform.start`: what tofu needs to trust the e2e registry (``SSL_CERT_FILE``)."""


def tool(name: str) -> str:
    """Path of a toolchain binary; raises RuntimeError naming the toolchain commands."""
    path = shutil.which(name)
    if not path:
        raise RuntimeError(f"{name} not on PATH: run `bash scripts/toolchain.sh all` and "
                           '`eval "$(bash scripts/toolchain.sh env)"` (scripts/test.sh does both)')
    return path


def tf_env() -> dict[str, str]:
    """Environment for tofu/cdktf: offline providers (TF_CLI_CONFIG_FILE must be set), no prompts."""
    if not os.environ.get("TF_CLI_CONFIG_FILE"):
        raise RuntimeError('TF_CLI_CONFIG_FILE is not set: eval "$(bash scripts/toolchain.sh env)" first')
    return {**os.environ, **EXTRA_ENV, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1", "TF_INPUT": "0",
            "TERRAFORM_BINARY_NAME": "tofu", "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}


@dataclass
class Timed:
    """A finished command with its wall time in seconds."""

    result: subprocess.CompletedProcess
    seconds: float

    @property
    def output(self) -> str:
        """stdout + stderr without ANSI colour codes."""
        return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", self.result.stdout + self.result.stderr)


@dataclass
class LocalPlatform:
    """The `local` environment on the local control plane, in a scratch folder.

    ``workdir/out`` is the cdktf output; state lands in ``workdir/state``
    (the stack's local backend path is relative to ``out/stacks/local``).
    """

    workdir: Path
    cluster: LocalCluster = field(default_factory=lambda: LocalCluster(state_dir=default_state_dir(),
                                                                       log=lambda line: None))
    started_cluster: bool = False
    registry: OciRegistry | None = None
    _saved_env: dict = field(default_factory=dict)

    @property
    def stack_dir(self) -> Path:
        return self.workdir / "out" / "stacks" / "local"

    def start(self) -> None:
        """Start the OCI registry, push the stand-in charts to local's mirror_url, and start (or reuse)
        the control plane with local's nodes.

        Raises:
            RuntimeError: a tool is missing, the registry did not start, or local does not read
                charts from this registry.
        """
        from kfstack.app import load_all

        envs, _ = load_all(names=["local"])
        repo = build_repo(self.workdir / "charts")
        self.registry = OciRegistry(self.workdir / "registry", binary=tool("registry"))
        if envs["local"].sources.mirror_url != self.registry.url:
            raise RuntimeError(f"environments/local.yaml mirror_url is {envs['local'].sources.mirror_url}, "
                               f"the e2e registry serves {self.registry.url}")
        self.registry.start()
        self.registry.push(sorted(repo.glob("*.tgz")))
        EXTRA_ENV.update(self.registry.env())
        # In-process engine runs (kfstack.engine.run_engine, the CLI under CliRunner) read os.environ.
        self._saved_env = {k: os.environ.get(k) for k in EXTRA_ENV}
        os.environ.update(EXTRA_ENV)
        self.started_cluster = not self.cluster.apiserver_ready()
        self.cluster.up(envs["local"].node_pools)

    def stop(self) -> None:
        """Stop the registry; stop the control plane if this harness started it."""
        if self.registry is not None:
            self.registry.stop()  # free the port before the e2e lock is released
            EXTRA_ENV.clear()
            for key, value in self._saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        if self.started_cluster:
            self.cluster.down()

    def synth(self) -> None:
        """Synthesize the local stack into ``workdir/out`` (main.py, as the main job does)."""
        env = {**os.environ, "CDKTF_OUTDIR": str(self.workdir / "out"),
               "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
        subprocess.run([sys.executable, "main.py", "local"], cwd=ROOT, env=env, check=True, capture_output=True)

    def tofu(self, *args: str, timeout: float = 900, check: bool = False) -> Timed:
        """Run ``tofu ARGS`` in the stack folder; returns output and wall time."""
        start = time.perf_counter()
        res = subprocess.run([tool("tofu"), *args], cwd=self.stack_dir, env=tf_env(), capture_output=True,
                             text=True, timeout=timeout)
        timed = Timed(res, time.perf_counter() - start)
        if check and res.returncode != 0:
            raise AssertionError(f"tofu {' '.join(args)} exited {res.returncode}:\n{timed.output[-6000:]}")
        return timed

    def cdktf(self, *args: str, timeout: float = 900) -> Timed:
        """Run the pinned cdktf CLI with this repository's app, output into ``workdir/out``."""
        cli = ROOT / "node_modules" / ".bin" / "cdktf"
        start = time.perf_counter()
        # --skip-provider-lock: cdktf's `providers lock` would ask the public registry for
        # checksums, bypassing the filesystem mirror; offline it must be skipped.
        res = subprocess.run([str(cli), *args, "--skip-provider-lock", "--app", f"{sys.executable} main.py",
                              "--output", str(self.workdir / "out")],
                             cwd=ROOT, env=tf_env(), capture_output=True, text=True, timeout=timeout)
        return Timed(res, time.perf_counter() - start)

    def init(self) -> Timed:
        """``tofu init`` from the provider mirror."""
        return self.tofu("init", "-input=false", "-no-color", check=True)

    def apply(self, *extra: str) -> Timed:
        return self.tofu("apply", "-auto-approve", "-input=false", "-no-color", *extra)

    def plan(self, *extra: str) -> Timed:
        """``tofu plan -detailed-exitcode``: returncode 0 = no changes, 2 = changes, 1 = error."""
        return self.tofu("plan", "-detailed-exitcode", "-input=false", "-no-color", *extra)

    def destroy(self) -> Timed:
        return self.tofu("destroy", "-auto-approve", "-input=false", "-no-color")

    def start_apply(self, log: Path) -> subprocess.Popen:
        """Start ``tofu apply`` in the background, output to ``log``, in its own process group
        (tofu and its provider plugins), so a test can interrupt it like Ctrl-C or kill it like a crash."""
        fh = open(log, "w")
        return subprocess.Popen([tool("tofu"), "apply", "-auto-approve", "-input=false", "-no-color"],
                                cwd=self.stack_dir, env=tf_env(), stdout=fh, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)

    def kfstack(self, *args: str, timeout: float = 900) -> Timed:
        """Run the ``kfstack`` CLI (this checkout) with the toolchain environment."""
        start = time.perf_counter()
        res = subprocess.run([sys.executable, "-m", "kfstack.cli", *args], cwd=ROOT, env=tf_env(),
                             capture_output=True, text=True, timeout=timeout)
        return Timed(res, time.perf_counter() - start)
