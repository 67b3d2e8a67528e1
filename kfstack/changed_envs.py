"""Which environments a change touches (``kfstack changed-envs``), for the pull-request plan workflow.

Rules, per changed path (relative to the repository root):

* ``environments/<env>.yaml`` → ``<env>`` (when that environment still exists);
* ``environments/base.yaml``, ``sources.lock``, ``kfstack/**``, ``charts/**``, ``main.py``,
  ``cdktf.json``, ``Pipfile.lock``, ``pyproject.toml`` → every environment;
* anything else (docs, tests, CI files) → none.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Iterable

ALL_PREFIXES = ("kfstack/", "charts/")
ALL_FILES = frozenset({"environments/base.yaml", "sources.lock", "main.py", "cdktf.json", "Pipfile.lock",
                       "pyproject.toml"})


def envs_for_paths(paths: Iterable[str], environments: Iterable[str]) -> list[str]:
    """The environments (sorted, subset of ``environments``) that changed ``paths`` affect."""
    known = sorted(set(environments))
    out: set[str] = set()
    for raw in paths:
        path = raw.strip().removeprefix("./")
        if not path:
            continue
        if path in ALL_FILES or path.startswith(ALL_PREFIXES):
            return known
        if path.startswith("environments/") and path.count("/") == 1 and path.endswith(".yaml"):
            name = path[len("environments/"):-len(".yaml")]
            if name in known:
                out.add(name)
    return sorted(out)


def changed_files(base: str, root: Path) -> list[str]:
    """Paths changed between the merge base of ``base`` and HEAD, plus uncommitted ones.

    Raises:
        RuntimeError: git failed (unknown ref, shallow clone without the base: fetch with depth 0).
    """
    def git(*args: str) -> list[str]:
        res = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)} failed: {res.stderr.strip()}")
        return [line for line in res.stdout.splitlines() if line.strip()]

    committed = git("diff", "--name-only", f"{base}...HEAD")
    local = git("diff", "--name-only", "HEAD")
    return sorted(set(committed) | set(local))
