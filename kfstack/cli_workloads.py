"""``kfstack cost`` and ``kfstack example``: the platform's business case and its first workloads.

Registered on the main ``kfstack`` command by :func:`register`; heavy imports (matplotlib, kfp,
cdktf bindings) happen inside the commands, so ``kfstack --help`` stays fast.
Exit codes: 0 success, 2 invalid inputs or environment (nothing written).
"""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from kfstack.config import ConfigError

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


class Format(str, enum.Enum):
    """Output format of ``kfstack cost``."""

    table = "table"
    json = "json"


def _fail(message: str) -> None:
    err.print(message, highlight=False, markup=False)
    raise typer.Exit(2)


def _load_env(name: str):
    """One validated environment (ConfigError → exit 2 with every problem)."""
    from kfstack.app import load_all

    try:
        envs, _ = load_all(names=[name])
    except ConfigError as exc:
        _fail(str(exc))
    return envs[name]


def cost(env: Optional[str] = typer.Argument(None, help="Size the comparison from this environment's GPU pools "
                                                         "(default: the inputs' capacity.gpus, 8)."),
         inputs: Optional[Path] = typer.Option(None, "--inputs", metavar="FILE",
                                               help="YAML overriding kfstack/cost_defaults.yaml key by key."),
         plot: Optional[Path] = typer.Option(None, "--plot", metavar="FILE",
                                             help="Write a chart of cumulative cost by month (.png, .svg or .pdf)."),
         fmt: Format = typer.Option(Format.table, "--format", help="table (terminal) or json."),
         storage_per_month: Optional[float] = typer.Option(
             None, "--storage-per-month", metavar="USD", help="Cloud storage line, US dollars per month."),
         egress_per_month: Optional[float] = typer.Option(
             None, "--egress-per-month", metavar="USD",
             help="Cloud data egress line, US dollars per month (e.g. 5000 for a 50 TB dataset).")) -> None:
    """3-year cost of the GPU capacity: cloud on demand, reserved, on-prem and hybrid, with break-even utilizations."""
    from kfstack.cost import estimate, load_inputs, render_table, render_text, write_plot

    data: dict = {}
    if storage_per_month is not None:
        data["cloud_storage_per_month_usd"] = {"value": storage_per_month, "source": "--storage-per-month"}
    if egress_per_month is not None:
        data["cloud_egress_per_month_usd"] = {"value": egress_per_month, "source": "--egress-per-month"}
    if plot is not None and plot.suffix.lower() not in (".png", ".svg", ".pdf"):
        _fail(f"--plot {plot}: use a .png, .svg or .pdf file name")
    try:
        model_inputs = load_inputs(inputs, display_root=Path.cwd(), overrides={"data": data} if data else None)
    except ConfigError as exc:
        _fail(str(exc).replace("in the environment files (nothing was synthesized)", "in the cost inputs"))
    environment = _load_env(env) if env else None
    try:
        report = estimate(model_inputs, environment)
    except ValueError as exc:
        _fail(f"error: {exc}")
    if fmt is Format.json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        out.print(render_table(report))
        for line in render_text(report):
            out.print(line, highlight=False, markup=False)
    if plot is not None:
        write_plot(report, plot)
        err.print(f"wrote {plot}", highlight=False)


example_app = typer.Typer(no_args_is_help=True,
                          help="The platform's first workloads (examples/), rendered for an environment.")


def _target(env: str, pool: Optional[str]):
    from kfstack.workloads import WorkloadTarget

    environment = _load_env(env)
    try:
        return WorkloadTarget.for_env(environment, pool)
    except ValueError as exc:
        _fail(f"error: {exc}")


@example_app.command("gpu")
def example_gpu(env: str = typer.Argument(..., help="Environment whose GPU pool, registry and profile to use."),
                out_dir: Optional[Path] = typer.Option(None, "-o", "--out-dir", metavar="DIR",
                                                       help="Write gpu-pod.yaml and pytorchjob.yaml here "
                                                            "(default: print both to stdout)."),
                pool: Optional[str] = typer.Option(None, help="GPU pool (default: the first with >= 4 GPUs a node).")
                ) -> None:
    """The 4-GPU pod and the PyTorchJob (1 master + 3 workers x 4 GPUs) for ENV (examples/gpu/)."""
    from kfstack.workloads import gpu_examples

    files = gpu_examples(_target(env, pool))
    if out_dir is None:
        typer.echo("---\n".join(files.values()), nl=False)
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out_dir / name).write_text(text, encoding="utf-8")
        err.print(f"wrote {out_dir / name}", highlight=False)


@example_app.command("pipeline")
def example_pipeline(env: str = typer.Argument(..., help="Environment whose GPU pool, registry and profile to use."),
                     output: Path = typer.Option(..., "-o", "--output", metavar="FILE",
                                                 help="Compiled pipeline (KFP IR YAML) to upload."),
                     pool: Optional[str] = typer.Option(None, help="GPU pool of the train step."),
                     pip_index_url: Optional[str] = typer.Option(
                         None, help="PyPI mirror the steps install kfp==2.16.1 from (air-gapped sites).")) -> None:
    """Compile the training pipeline (examples/pipelines/training_pipeline.py) for ENV."""
    from kfstack.workloads import pipeline_example

    if output.suffix.lower() not in (".yaml", ".yml", ".json"):
        _fail(f"-o {output}: use a .yaml (or .json) file name")
    target = _target(env, pool)
    try:
        example = pipeline_example()
    except FileNotFoundError as exc:
        _fail(f"error: {exc}")
    output.parent.mkdir(parents=True, exist_ok=True)
    example.compile_pipeline(target, str(output), pip_index_url)
    err.print(f"wrote {output} (pipeline for environment {env}, train step on pool {target.pool.name})",
              highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``cost`` and ``example`` to the ``kfstack`` command."""
    app.command("cost")(cost)
    app.add_typer(example_app, name="example")
