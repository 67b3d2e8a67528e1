"""Cold deploy, no-op plan and destroy wall times of the `local` environment on the local control plane.

Prints numbers, asserts nothing (targets: no-op plan <= 30 s, cold deploy <= 5 min). Needs the toolchain
(`eval "$(bash scripts/toolchain.sh env)"`); reuses tests/e2e/harness.py: stand-in charts in the OCI
registry on 127.0.0.1:18443 and the control plane (started, and stopped at the end, unless one is already running).
Holds the e2e lock (~/.cache/kfstack/e2e.lock) so it never overlaps an e2e session.

    .venv/bin/python bench/local_deploy_bench.py
"""

from __future__ import annotations

import fcntl
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.harness import LocalPlatform  # noqa: E402


def main() -> int:
    lock_path = Path.home() / ".cache" / "kfstack" / "e2e.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock, tempfile.TemporaryDirectory(prefix="kfstack-bench-") as tmp:
        fcntl.flock(lock, fcntl.LOCK_EX)
        platform = LocalPlatform(workdir=Path(tmp))
        start = time.perf_counter()
        platform.start()
        print(f"control plane + chart repository ready: {time.perf_counter() - start:.1f} s", flush=True)
        try:
            platform.synth()
            init = platform.init()
            print(f"tofu init:                 {init.seconds:6.1f} s", flush=True)
            deploy = platform.apply()
            ok = deploy.result.returncode == 0
            print(f"cold deploy (tofu apply):  {deploy.seconds:6.1f} s{'' if ok else '  FAILED'}   target <= 300 s",
                  flush=True)
            if not ok:
                print(deploy.output[-4000:])
            plans = [platform.plan() for _ in range(3)]
            times = ", ".join(f"{p.seconds:.1f}" for p in plans)
            empty = all(p.result.returncode == 0 for p in plans)
            print(f"no-op plan (3 runs):       {min(p.seconds for p in plans):6.1f} s min ({times}){'' if empty else '  NOT EMPTY'}"
                  "   target <= 30 s", flush=True)
            destroy = platform.destroy()
            print(f"destroy:                   {destroy.seconds:6.1f} s"
                  f"{'' if destroy.result.returncode == 0 else '  FAILED'}", flush=True)
        finally:
            platform.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
