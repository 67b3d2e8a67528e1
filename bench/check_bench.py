"""Benchmark of ``kfstack check``: wall time of one environment's check, render-only and on a scratch cluster.

Prints numbers; asserts nothing. Needs the Helm CLI (and, for the cluster
case, kube-apiserver/etcd) from ``scripts/toolchain.sh``, and a vendor cache
filled from a mirror, e.g. the offline mirror of upstream beside the project::

    export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=url.file://$PWD/../shared/upstream/git/github.com/.insteadOf \\
           GIT_CONFIG_VALUE_0=https://github.com/
    pipenv run kfstack vendor --vendor-dir /tmp/v --chart-repository file://$PWD/../shared/upstream/charts --substitute-missing
    pipenv run kfstack vendor --vendor-dir /tmp/v --publish /tmp/v/published
    pipenv run python bench/check_bench.py --vendor-dir /tmp/v [--env prod] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(args: list[str]) -> tuple[float, str]:
    """Wall seconds and stdout of one ``kfstack`` command in a fresh process."""
    start = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "kfstack.cli", *args], cwd=ROOT, capture_output=True, text=True,
                         check=False)
    elapsed = time.perf_counter() - start
    if res.returncode not in (0, 1):
        raise SystemExit(f"kfstack {' '.join(args)} exited {res.returncode}:\n{res.stderr[-2000:]}")
    return elapsed, res.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="prod")
    parser.add_argument("--vendor-dir", required=True, type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-cluster", action="store_true", help="Only the render-only case.")
    ns = parser.parse_args()
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    os.environ.setdefault("CHECKPOINT_DISABLE", "1")

    with tempfile.TemporaryDirectory(prefix="kfstack-check-bench-") as tmp:
        out = Path(tmp) / "out"
        t_synth, _ = run(["synth", ns.env, "--outdir", str(out)])
        print(f"synth {ns.env}: {t_synth:.1f} s (not included below)")
        common = ["check", ns.env, "--no-synth", "--outdir", str(out), "--vendor-dir", str(ns.vendor_dir)]
        cases = [("render-only", common + ["--no-server"])]
        cluster = None
        if not ns.no_cluster:
            from kfstack.cluster.local import LocalCluster, Ports

            cluster = LocalCluster(state_dir=Path(tmp) / "cluster",
                                   ports=Ports(etcd_client=23990, etcd_peer=24000, apiserver=16643, kwok=10447),
                                   log=lambda line: None)
            cluster.up(())
            cases.append(("scratch cluster", common + ["--kubeconfig", str(cluster.kubeconfig), "--scratch"]))
        try:
            for label, args in cases:
                times, summary = [], ""
                for _ in range(ns.repeat):
                    t, stdout = run(args)
                    times.append(t)
                    m = re.search(rf"{ns.env}: .*", stdout)
                    summary = m.group(0) if m else ""
                print(f"kfstack check {ns.env} ({label}): min {min(times):.1f} s, median "
                      f"{statistics.median(times):.1f} s, max {max(times):.1f} s over {ns.repeat} run(s) — {summary}")
        finally:
            if cluster is not None:
                cluster.down()


if __name__ == "__main__":
    main()
