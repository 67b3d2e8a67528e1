"""A local OCI registry (CNCF distribution, built by ``scripts/toolchain.sh registry``) for the e2e.

It serves HTTPS on 127.0.0.1 with a throw-away CA, because the helm provider (3.1.1) pulls OCI
charts over HTTPS only (its registry client has no plain-HTTP option). Terraform's providers trust
the CA through ``SSL_CERT_FILE`` (Go reads it on Linux); ``helm push`` through ``--ca-file``.
Charts are pushed with :func:`kfstack.sources.publish.push_oci`, the code behind
``kfstack vendor --publish oci://…``.
"""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from kfstack.cluster.pki import Pki

REGISTRY_PORT = 18443
"""Port of the e2e registry; environments/local.yaml reads charts from oci://127.0.0.1:18443/charts."""


@dataclass
class OciRegistry:
    """``registry serve`` on 127.0.0.1:``port``, storage and certificates under ``workdir``."""

    workdir: Path
    port: int = REGISTRY_PORT
    binary: str = "registry"
    _proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """The chart path environments name as ``sources.mirror_url``."""
        return f"oci://127.0.0.1:{self.port}/charts"

    @property
    def ca_file(self) -> Path:
        return self.workdir / "pki" / "ca.crt"

    def start(self, timeout_s: float = 60) -> None:
        """Write a CA and serving certificate, start the registry, wait until ``/v2/`` answers.

        Raises:
            RuntimeError: the registry exited or did not answer in time (its log included).
        """
        pki = Pki(self.workdir / "pki")
        pki.create(days=2)
        config = self.workdir / "config.yml"
        config.write_text(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {self.workdir / 'data'}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: 127.0.0.1:{self.port}\n  tls:\n"
            f"    certificate: {pki.path('apiserver.crt')}\n    key: {pki.path('apiserver.key')}\n",
            encoding="utf-8")
        log = open(self.workdir / "registry.log", "w")
        self._proc = subprocess.Popen([self.binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True)
        context = ssl.create_default_context(cafile=str(self.ca_file))
        deadline = time.monotonic() + timeout_s
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(f"registry exited {self._proc.returncode}: "
                                   f"{(self.workdir / 'registry.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"https://127.0.0.1:{self.port}/v2/", context=context, timeout=2):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"registry on 127.0.0.1:{self.port} did not answer within {timeout_s:.0f} s")
                time.sleep(0.2)

    def push(self, archives: Iterable[Path]) -> list[str]:
        """``helm push`` chart archives into :attr:`url`; returns the pushed references."""
        from kfstack.check.render import helm_binary
        from kfstack.sources.publish import push_oci

        return push_oci(list(archives), self.url, helm=Path(helm_binary()), ca_file=self.ca_file)

    def env(self) -> dict[str, str]:
        """Environment for processes that pull from the registry (tofu and its providers)."""
        return {"SSL_CERT_FILE": str(self.ca_file)}

    def stop(self) -> None:
        """Stop the registry process (by its process group, which only it is in)."""
        if self._proc is not None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGTERM)
            try:
                self._proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait(timeout=20)
        self._proc = None
