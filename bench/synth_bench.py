"""Synthesis benchmark: wall time and peak memory (RSS) of `python main.py`.

Prints numbers; asserts nothing. Each measurement is a fresh process, as a
user's `cdktf synth` is. Targets (issue 2): all environments <= 8 s, <= 600 MB.

    pipenv run python bench/synth_bench.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _tree_rss_mib(pid: int) -> float:
    """Summed VmRSS (MiB) of ``pid`` and all its descendants, read from /proc."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{p}/task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total / 1024


def run_once(envs: list[str]) -> tuple[float, float]:
    """Wall seconds and peak summed RSS (MiB, python + jsii's node) of one synth in a fresh process."""
    with tempfile.TemporaryDirectory() as out:
        env = {**os.environ, "CDKTF_OUTDIR": out, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "main.py", *envs], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        peak = 0.0
        while proc.poll() is None:
            peak = max(peak, _tree_rss_mib(proc.pid))
            time.sleep(0.02)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"synth failed:\n{proc.stderr.read().decode()}")
    return wall, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from kfstack.config.loader import environment_names

    names = environment_names(ROOT / "environments")
    three = [n for n in ("dev", "staging", "prod") if n in names]
    cases = [("all (" + ",".join(names) + ")", []), ("dev,staging,prod (issue 2 target)", three)]
    cases += [(n, [n]) for n in names]
    print(f"{'case':<32} {'wall median s':>13} {'wall min s':>10} {'peak RSS MiB':>13}")
    for label, envs in cases:
        walls, peaks = [], []
        for _ in range(args.repeat):
            wall, peak = run_once(envs)
            walls.append(wall)
            peaks.append(peak)
        print(f"{label:<32} {statistics.median(walls):>13.2f} {min(walls):>10.2f} {max(peaks):>13.0f}")


if __name__ == "__main__":
    main()
