"""Golden snapshots: synthesize every environment and write tests/snapshots/<env>.json.

Run ``python -m kfstack.snapshots`` after an intended change to the output;
the diff of tests/snapshots/ is what reviewers read.
"""

from __future__ import annotations

import sys
from pathlib import Path

from kfstack.app import PROJECT_ROOT, build_app, load_all

SNAPSHOT_DIR = PROJECT_ROOT / "tests" / "snapshots"


def synth_to(outdir: Path) -> dict[str, bytes]:
    """Synthesize all environments into ``outdir``; return each stack's cdk.tf.json bytes by name.

    Raises ConfigError / SourceError like ``kfstack synth``.
    """
    envs, lock = load_all()
    build_app(envs, lock, outdir=str(outdir)).synth()
    return {name: (outdir / "stacks" / name / "cdk.tf.json").read_bytes() for name in sorted(envs)}


def main() -> None:
    """Rewrite every snapshot; remove snapshots of environments that no longer exist."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        stacks = synth_to(Path(tmp))
    SNAPSHOT_DIR.mkdir(parents=True, exist_ok=True)
    for old in SNAPSHOT_DIR.glob("*.json"):
        if old.stem not in stacks:
            old.unlink()
    for name, data in stacks.items():
        (SNAPSHOT_DIR / f"{name}.json").write_bytes(data)
        print(f"wrote tests/snapshots/{name}.json ({len(data)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
