"""The ``kfstack`` command: synth, validate, schema.

Exit codes: 0 success, 2 invalid configuration or sources (nothing written).
"""

from __future__ import annotations

import os
import sys
import time
from typing import List, Optional

import typer
from rich.console import Console

from kfstack.config import ConfigError
from kfstack.sources.charts import SourceError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="kfstack: Kubeflow platform as cdktf stacks.")
err = Console(stderr=True, soft_wrap=True)


def _fail(exc: Exception) -> None:
    err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True) if not isinstance(exc, ConfigError) \
        else err.print(str(exc), highlight=False, markup=False)
    raise typer.Exit(2)


@app.command()
def synth(envs: Optional[List[str]] = typer.Argument(None, help="Environments (default: all)."),
          outdir: str = typer.Option(None, help="Output folder. Default: $CDKTF_OUTDIR or cdktf.out.")) -> None:
    """Validate every environment, then write cdktf.out/stacks/<env>/cdk.tf.json."""
    from kfstack.app import build_app, load_all

    start = time.perf_counter()
    try:
        loaded, lock = load_all(names=envs or None)
        err.print(f"validated {len(loaded)} environment(s): {', '.join(sorted(loaded))}")
        app_ = build_app(loaded, lock, outdir=outdir or os.environ.get("CDKTF_OUTDIR"))
    except (ConfigError, SourceError) as exc:
        _fail(exc)
    app_.synth()
    out = outdir or os.environ.get("CDKTF_OUTDIR") or "cdktf.out"
    err.print(f"synthesized {', '.join(f'{out}/stacks/{n}/cdk.tf.json' for n in sorted(loaded))} "
              f"in {time.perf_counter() - start:.1f} s")


@app.command()
def validate(envs: Optional[List[str]] = typer.Argument(None, help="Environments (default: all).")) -> None:
    """Validate environment files and sources.lock without synthesizing."""
    from kfstack.app import load_all

    try:
        loaded, _ = load_all(names=envs or None)
    except ConfigError as exc:
        _fail(exc)
    for name, env in sorted(loaded.items()):
        pools = ", ".join(f"{p.name}×{p.count}" for p in env.node_pools)
        err.print(f"{name}: ok (tier {env.tier.value}, pools {pools}, sources {env.sources.mode.value})")


@app.command()
def schema() -> None:
    """Print the JSON Schema of an environment file (for editors)."""
    import json

    from kfstack.config.environment import EnvironmentConfig

    typer.echo(json.dumps(EnvironmentConfig.model_json_schema(), indent=2, sort_keys=True))


def synth_main() -> None:
    """Entry for ``python main.py`` / cdktf: synthesize all environments."""
    sys.argv = [sys.argv[0], "synth", *sys.argv[1:]]
    app()


if __name__ == "__main__":
    app()
