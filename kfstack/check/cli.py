"""``kfstack check ENV...``: the command (registered on the main Typer app by :mod:`kfstack.cli`).

Exit codes: 0 no problems, 1 problems found, 2 bad input (invalid
environment, stack not synthesized, no Helm CLI, unreachable cluster).
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console

err = Console(stderr=True, soft_wrap=True, highlight=False)


class Format(str, Enum):
    text = "text"
    markdown = "markdown"


def check(
    envs: List[str] = typer.Argument(..., help="Environments to check (their stacks are synthesized first)."),
    charts: Optional[List[Path]] = typer.Option(
        None, "--charts", metavar="DIR",
        help="Folder of chart archives (a Helm repository folder, `kfstack vendor --publish` output); repeatable. "
             "The vendor cache's charts/ and published/ folders are always searched."),
    vendor_dir: Path = typer.Option(Path("vendor"), help="Vendor cache (kfstack vendor)."),
    kubeconfig: Optional[Path] = typer.Option(
        None, help="Cluster for server-side dry runs. Default: the local control plane if it is up "
                   "(`kfstack cluster up`), else render-only checks."),
    context: Optional[str] = typer.Option(None, help="kubeconfig context."),
    scratch: bool = typer.Option(
        False, "--scratch",
        help="The --kubeconfig cluster is a throwaway: create CRDs, namespaces and non-workload objects for "
             "real (removed afterwards) so custom resources and install-time lookups are judged. Implied for "
             "the local control plane; never use it on a site's cluster."),
    offline: bool = typer.Option(False, "--no-server", help="Render-only: no API server checks."),
    outdir: Optional[str] = typer.Option(None, help="cdktf output folder. Default: $CDKTF_OUTDIR or cdktf.out."),
    fmt: Format = typer.Option(Format.text, "--format", help="text (one line per release) or markdown (PR comment)."),
    synth: bool = typer.Option(True, help="Synthesize the environments first (--no-synth: use the existing stacks)."),
) -> None:
    """Render every helm_release of the environments with the real charts and report what would fail at apply."""
    from kfstack.app import build_app, load_all
    from kfstack.check.render import HelmMissing, helm_binary
    from kfstack.check.report import format_markdown, format_text
    from kfstack.check.run import CheckOptions, check_environment
    from kfstack.check.server import ApiServer, ServerUnavailable
    from kfstack.check.stack import StackError
    from kfstack.config import ConfigError
    from kfstack.engine import output_dir
    from kfstack.sources.charts import SourceError

    out = output_dir(outdir)
    try:
        helm_binary()
        loaded, lock = load_all(names=envs)
        if synth:
            err.print(f"synthesizing {', '.join(envs)} into {out}/stacks")
            build_app(loaded, lock, outdir=str(out)).synth()
    except (ConfigError, SourceError, HelmMissing) as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(2) from None

    server = None
    is_scratch = scratch
    if not offline:
        config = kubeconfig
        if config is None:
            from kfstack.cluster.local import default_state_dir

            local = default_state_dir() / "kubeconfig"
            if local.is_file():
                config, is_scratch = local, True
        if config is not None:
            try:
                server = ApiServer(config, context)
                server.refresh()
            except ServerUnavailable as exc:
                if kubeconfig is not None:
                    err.print(f"error: {exc}")
                    raise typer.Exit(2) from None
                err.print(f"note: local control plane not answering ({exc}); render-only checks")
                server = None
    if server is None:
        err.print("note: no API server: dry runs, Pod Security and CRD validation are skipped "
                  "(start one with `kfstack cluster up`, or pass --kubeconfig)")

    from kfstack.app import PROJECT_ROOT
    from kfstack.images_inventory import build_inventory

    folders = [*(charts or []), vendor_dir / "charts", vendor_dir / "published"]
    if not any(f.is_dir() for f in folders):
        err.print(f"error: no charts to check against: none of {', '.join(str(f) for f in folders)} exists; "
                  "run `kfstack vendor` (network or a site mirror: --chart-repository) and "
                  "`kfstack vendor --publish <vendor>/published`, or pass --charts DIR")
        raise typer.Exit(2)

    def inventory(env):
        """``kfstack images ENV`` over the same chart folders and vendor cache (a second, upstream render)."""
        return build_inventory(env, lock, PROJECT_ROOT, [f.resolve() for f in folders if f.is_dir()],
                               vendor_dir=vendor_dir.resolve())

    reports = []
    for name in envs:
        try:
            reports.append(check_environment(
                name, loaded[name], out / "stacks" / name / "cdk.tf.json",
                CheckOptions(chart_dirs=folders, server=server, scratch=is_scratch,
                             progress=lambda line: err.print(line), inventory=inventory)))
        except StackError as exc:
            err.print(f"error: {exc}")
            raise typer.Exit(2) from None
    text = format_markdown(reports) if fmt is Format.markdown else format_text(reports)
    typer.echo(text, nl=False)
    raise typer.Exit(1 if any(r.problems for r in reports) else 0)
