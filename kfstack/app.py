"""Build the cdktf App: every environment in one process (the kubernetes bindings load once).

Nothing is written unless every environment validates and every stack builds.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from kfstack.config import EnvironmentConfig, load_environments
from kfstack.sources.charts import SourceError
from kfstack.sources.lock import load_lock, unpinned_versions

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def load_all(root: Path = PROJECT_ROOT, names: Iterable[str] | None = None):
    """Validate environments and sources.lock. Raises ConfigError listing every problem."""
    lock = load_lock(root / "sources.lock")
    envs = load_environments(root / "environments", names, display_root=root, checks=[unpinned_versions(lock)])
    return envs, lock


def build_app(envs: dict[str, EnvironmentConfig], lock, root: Path = PROJECT_ROOT, outdir: str | None = None):
    """A cdktf App with one PlatformStack per environment (not yet synthesized).

    Raises:
        SourceError: a chart is not pinned or not vendored, or a construct refused its wiring.
    """
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from kfstack.cdk import App

    from kfstack.stacks import PlatformStack, ProjectPaths

    app = App(outdir=outdir) if outdir else App()
    paths = ProjectPaths(root)
    errors: list[str] = []
    for name in sorted(envs):
        try:
            PlatformStack(app, envs[name], lock=lock, paths=paths)
        except SourceError as exc:  # report every environment's problem, naming the environment
            errors.append(f"environments/{name}.yaml (environment {name!r}): {exc}")
        except ValueError as exc:
            # A wiring rule a construct checks that validation missed (validation should own every
            # rule: see Components.wiring_problems). Still one line naming the environment, no traceback.
            errors.append(f"environments/{name}.yaml (environment {name!r}): {exc}")
    if errors:
        raise SourceError("\n".join(errors))
    return app
