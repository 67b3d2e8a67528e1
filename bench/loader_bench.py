"""Print how long the environment loader takes to refuse hostile input, and its peak memory.

Numbers, not a pass/fail test (issue 13 item 5: each refusal should take < 5 s and < 500 MiB).
Run: ``pipenv run python bench/loader_bench.py``.
"""

from __future__ import annotations

import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kfstack.config import ConfigError  # noqa: E402
from kfstack.config.loader import load_environment  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEV = (ROOT / "environments" / "dev.yaml").read_text()


def bomb(levels: int) -> str:
    lines = ["bomb:", "  l0: &l0 [" + ", ".join(["lol"] * 10) + "]"]
    lines += [f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


CASES = {
    "alias bomb, 9 levels (10^9 values)": DEV + bomb(9),
    "alias bomb, 40 levels (10^40 values)": DEV + bomb(40),
    "50 MB file": DEV + ("#" * 99 + "\n") * ((50 << 20) // 100),
    "5000 levels of nesting": DEV + "x: " + "[" * 5000 + "]" * 5000 + "\n",
    "250 KiB of list items": DEV + "x: [" + ",".join(["1"] * 120_000) + "]\n",
    "250 KiB string": DEV + "note: " + "y" * (250 << 10) + "\n",
}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env_dir = Path(tmp) / "environments"
        env_dir.mkdir()
        shutil.copy(ROOT / "environments" / "base.yaml", env_dir / "base.yaml")
        for label, text in CASES.items():
            (env_dir / "dev.yaml").write_text(text)
            start = time.perf_counter()
            try:
                load_environment(env_dir, "dev", display_root=Path(tmp))
                outcome = "ACCEPTED"
            except ConfigError as exc:
                outcome = exc.problems[0].message[:70]
            print(f"{label:<40} {time.perf_counter() - start:7.3f} s  {outcome}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
