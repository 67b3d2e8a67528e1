"""The ``kfstack`` command: synth, validate, schema, plan, apply, changed-envs.

Exit codes: 0 success, 2 invalid configuration or sources (nothing written); ``plan`` also
3 (changes planned) and 1 (engine failed), ``apply`` 4 (stale plan): see :mod:`kfstack.plan`.
"""

from __future__ import annotations

import sys
import time
from typing import List, Optional

import typer
from rich.console import Console

from kfstack.cli_workloads import register as register_workloads
from kfstack.config import ConfigError
from kfstack.sources.charts import SourceError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="kfstack: Kubeflow platform as cdktf stacks.")
err = Console(stderr=True, soft_wrap=True)
register_workloads(app)  # kfstack cost, kfstack example (kfstack/cli_workloads.py)


def _fail(exc: Exception) -> None:
    err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True) if not isinstance(exc, ConfigError) \
        else err.print(str(exc), highlight=False, markup=False)
    raise typer.Exit(2)


@app.command()
def synth(envs: Optional[List[str]] = typer.Argument(None, help="Environments (default: all)."),
          outdir: str = typer.Option(None, help="Output folder. Default: $CDKTF_OUTDIR or cdktf.out.")) -> None:
    """Validate every environment, then write <outdir>/stacks/<env>/cdk.tf.json."""
    from kfstack.app import build_app, load_all
    from kfstack.engine import output_dir

    start = time.perf_counter()
    out = output_dir(outdir)
    try:
        loaded, lock = load_all(names=envs or None)
        err.print(f"validated {len(loaded)} environment(s): {', '.join(sorted(loaded))}")
        app_ = build_app(loaded, lock, outdir=str(out))
    except (ConfigError, SourceError) as exc:
        _fail(exc)
    app_.synth()
    err.print(f"synthesized {', '.join(f'{out}/stacks/{n}/cdk.tf.json' for n in sorted(loaded))} "
              f"in {time.perf_counter() - start:.1f} s")


@app.command()
def validate(envs: Optional[List[str]] = typer.Argument(None, help="Environments (default: all).")) -> None:
    """Validate environment files and sources.lock without synthesizing.

    One ``<env>: ok (...)`` line per environment on stdout; problems on stderr, exit 2.
    """
    from kfstack.app import load_all

    try:
        loaded, _ = load_all(names=envs or None)
    except ConfigError as exc:
        _fail(exc)
    for name, env in sorted(loaded.items()):  # results: stdout; problems (above) went to stderr
        pools = ", ".join(f"{p.name}×{p.count}" for p in env.node_pools)
        typer.echo(f"{name}: ok (tier {env.tier.value}, pools {pools}, sources {env.sources.mode.value})")


@app.command()
def schema() -> None:
    """Print the JSON Schema of an environment file (for editors); cross-field rules: `kfstack validate`."""
    import json

    from kfstack.config.schema import environment_file_schema

    typer.echo(json.dumps(environment_file_schema(), indent=2, sort_keys=True))


@app.command()
def vendor(names: Optional[List[str]] = typer.Argument(None, help="Charts or kustomize bases (default: all)."),
           vendor_dir: str = typer.Option("vendor", help="Vendor cache, relative to the project root."),
           update_lock: bool = typer.Option(False, "--update-lock",
                                            help="Record digests in sources.lock instead of verifying them."),
           check_render: bool = typer.Option(True, help="Render each base offline before caching it."),
           chart_repository: Optional[str] = typer.Option(
               None, "--chart-repository", metavar="URL",
               help="Fetch every chart from this Helm repository (a site mirror; https://, http:// or file://) "
                    "instead of each pin's repository."),
           substitute: bool = typer.Option(
               False, "--substitute-missing",
               help="With --chart-repository: when the mirror lacks a pinned version, vendor its highest "
                    "version of that chart and say so (for `kfstack check` against a lagging mirror)."),
           publish: Optional[str] = typer.Option(
               None, "--publish", metavar="DIR|oci://HOST/PATH",
               help="Fetch nothing: render the vendored kustomize bases and write their charts as a Helm "
                    "repository (packaged .tgz + index.yaml) into DIR, for the mirror of mode mirror; with "
                    "oci://HOST/PATH push them and every vendored upstream chart there with `helm push`."),
           ca_file: Optional[str] = typer.Option(None, "--ca-file", help="With --publish oci://: CA of the registry."),
           plain_http: bool = typer.Option(False, "--plain-http",
                                           help="With --publish oci://: HTTP instead of HTTPS.")) -> None:
    """Fetch every pinned chart and kustomize base (with its remote bases) into the vendor cache.

    Verifies digests against sources.lock (a mismatch is an error), or records them with --update-lock
    (digests, and each kustomize base's rendered chart parts).
    The only command that uses the network; use git `url.<mirror>.insteadOf` for an internal git mirror.
    With --publish DIR: offline; the parts must equal sources.lock's (else run --update-lock first).
    """
    if publish is not None and publish.startswith("oci://"):
        _publish_oci(publish, vendor_dir, names, ca_file, plain_http)
        return
    if publish is not None:
        _publish(publish, vendor_dir, names)
        return
    from rich.markup import escape
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from kfstack.app import PROJECT_ROOT
    from kfstack.sources.vendor import Status, VendorError, vendor_all

    icons = {Status.recorded: "[green]recorded[/]", Status.verified: "[green]verified[/]",
             Status.unpinned: "[yellow]unpinned[/]", Status.skipped: "[yellow]skipped[/]",
             Status.substituted: "[yellow]substituted[/]",
             Status.mismatch: "[bold red]MISMATCH[/]", Status.failed: "[bold red]FAILED[/]"}
    start = time.perf_counter()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=err, transient=True) as progress:
        task = progress.add_task("vendoring sources…", total=None)

        def report(r) -> None:
            digest = f" {r.digest[:19]}…" if r.digest else ""
            progress.console.print(f"{icons[r.status]} {escape(r.label())}{digest}"
                                   + (f" — {escape(r.message)}" if r.message else ""), highlight=False)
            progress.update(task, description=f"vendoring sources… (last: {r.label()})")

        try:
            results = vendor_all(PROJECT_ROOT / "sources.lock", PROJECT_ROOT / vendor_dir, update_lock=update_lock,
                                 only=names or None, check_render=check_render, report=report,
                                 chart_repository=chart_repository, substitute=substitute)
        except (ConfigError, SourceError, VendorError) as exc:
            _fail(exc)
    bad = [r for r in results if r.status.is_error]
    err.print(f"{len(results)} source(s), {len(bad)} error(s) in {time.perf_counter() - start:.1f} s")
    if bad:
        raise typer.Exit(2)


def _publish(repo_dir: str, vendor_dir: str, names: Optional[List[str]]) -> None:
    """``kfstack vendor --publish DIR`` (see :mod:`kfstack.sources.publish`)."""
    from pathlib import Path

    from kfstack.app import PROJECT_ROOT
    from kfstack.sources.lock import load_lock
    from kfstack.sources.publish import publish_repository

    start = time.perf_counter()
    try:
        published = publish_repository(load_lock(PROJECT_ROOT / "sources.lock"), PROJECT_ROOT / vendor_dir,
                                       PROJECT_ROOT / "build", Path(repo_dir).resolve(), only=names or None)
    except (ConfigError, SourceError) as exc:
        _fail(exc)
    for pin, archives in published:
        err.print(f"{pin.name} {pin.app_version}: {', '.join(a.name for a in archives)}", highlight=False)
    err.print(f"wrote {sum(len(a) for _, a in published)} chart(s) and index.yaml to {repo_dir} "
              f"in {time.perf_counter() - start:.1f} s")


@app.command()
def images(env: str = typer.Argument(..., help="Environment."),
           fmt: str = typer.Option("text", "--format", help="text (upstream -> mirror), json, or skopeo "
                                                            "(`skopeo sync --src yaml` files)."),
           charts: Optional[List[str]] = typer.Option(
               None, "--charts", metavar="DIR",
               help="Folder with the upstream chart archives (a Helm repository folder: index.yaml + .tgz, "
                    "or the vendor cache's charts/); repeatable. Default <vendor_dir>/charts."),
           out: Optional[str] = typer.Option(None, "--out", metavar="DIR",
                                             help="With --format skopeo: write sync-NN.yaml files and sync.sh here.")
           ) -> None:
    """Every image ENV runs, upstream reference -> mirror reference, sorted (offline: helm template).

    Renders the environment's charts with the Helm CLI (never a cluster, never the network): upstream
    charts from --charts, kustomize parts from the vendor cache, kfstack's own charts from charts/.
    """
    import json
    from pathlib import Path

    from kfstack.app import PROJECT_ROOT, load_all
    from kfstack.images_inventory import ImageError, build_inventory, skopeo_stream, write_skopeo

    if fmt not in ("text", "json", "skopeo"):
        _fail(ValueError(f"--format {fmt!r}: use text, json or skopeo"))
    try:
        loaded, lock = load_all(names=[env])
        config = loaded[env]
        if fmt == "skopeo" and config.registry is None:
            raise ImageError(f"environment {env} sets no registry.host: there is no mirror to fill "
                             f"(`--format skopeo` needs one; use --format text or json)")
        dirs = [Path(d).resolve() for d in charts] if charts else [PROJECT_ROOT / config.sources.vendor_dir / "charts"]
        inventory = build_inventory(config, lock, PROJECT_ROOT, dirs)
    except (ConfigError, SourceError, ImageError) as exc:
        _fail(exc)
    for chart, pinned, used in inventory.substituted:
        err.print(f"[yellow]warning:[/] chart {chart} {pinned} not found; rendered {used} instead "
                  f"(its images may differ from {pinned}'s)", highlight=False)
    for image, reason in inventory.exceptions:
        err.print(f"[yellow]not rehosted:[/] {image} — {reason}", highlight=False)
    if fmt == "json":
        typer.echo(json.dumps(inventory.as_json(), indent=2, sort_keys=True))
    elif fmt == "skopeo" and out:
        files = write_skopeo(inventory, Path(out))
        err.print(f"wrote {len(files) - 1} skopeo sync file(s) and {files[-1]}", highlight=False)
    elif fmt == "skopeo":
        typer.echo(skopeo_stream(inventory), nl=False)
    else:
        for e in inventory.entries:
            typer.echo(f"{e.upstream} -> {e.mirror}" if e.mirror else e.upstream)
    err.print(f"{env}: {len(inventory.entries)} image(s)", highlight=False)


def _publish_oci(url: str, vendor_dir: str, names: Optional[List[str]], ca_file: Optional[str],
                 plain_http: bool) -> None:
    """``kfstack vendor --publish oci://HOST/PATH``: rendered parts + vendored upstream charts, ``helm push``ed."""
    import tempfile
    from pathlib import Path

    from kfstack.app import PROJECT_ROOT
    from kfstack.check.render import HelmMissing, helm_binary
    from kfstack.sources.lock import load_lock
    from kfstack.sources.publish import publish_repository, push_oci

    start = time.perf_counter()
    try:
        lock = load_lock(PROJECT_ROOT / "sources.lock")
        helm = Path(helm_binary())
        with tempfile.TemporaryDirectory(prefix="kfstack-publish-") as tmp:
            published = publish_repository(lock, PROJECT_ROOT / vendor_dir, PROJECT_ROOT / "build", Path(tmp),
                                           only=names or None)
            archives = [a for _, parts in published for a in parts]
            charts_dir = PROJECT_ROOT / vendor_dir / "charts"
            missing = []
            for pin in lock.charts:
                if names and pin.name not in names:
                    continue
                archive = charts_dir / pin.archive_name
                (archives.append(archive) if archive.is_file() else missing.append(pin.archive_name))
            refs = push_oci(archives, url, helm=helm, ca_file=Path(ca_file) if ca_file else None,
                            plain_http=plain_http)
    except (ConfigError, SourceError, HelmMissing) as exc:
        _fail(exc)
    for ref in refs:
        err.print(f"pushed {ref}", highlight=False)
    if missing:
        err.print(f"[yellow]not vendored, not pushed:[/] {', '.join(missing)} (run `kfstack vendor`)", highlight=False)
    err.print(f"pushed {len(refs)} chart(s) to {url} in {time.perf_counter() - start:.1f} s", highlight=False)


def _engine_error(exc) -> None:
    """Print an EngineError (engine output may hold ``[...]``: no markup) and exit with its code."""
    from rich.markup import escape

    err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
    raise typer.Exit(exc.exit_code)


@app.command("plan")
def plan_cmd(env: str = typer.Argument(..., help="Environment to plan."),
             out: Optional[str] = typer.Option(None, "--out", metavar="DIR",
                                               help="Where <env>.tfplan and <env>.plan.md go. Default <outdir>/plans."),
             outdir: Optional[str] = typer.Option(None, help="cdktf output folder; state paths follow it. "
                                                             "Default $CDKTF_OUTDIR or cdktf.out.")) -> None:
    """Synthesize ENV, plan it into a saved plan file, and print + write its Markdown summary.

    Exit codes: 0 no changes, 3 changes planned (review <env>.plan.md, then `kfstack apply ENV --plan FILE`),
    1 the engine failed, 2 invalid configuration or sources.
    """
    from pathlib import Path

    from rich.markdown import Markdown

    from kfstack.app import load_all
    from kfstack.engine import EngineError, output_dir
    from kfstack.plan import plan

    start = time.perf_counter()
    try:
        loaded, lock = load_all(names=[env])
        result = plan(loaded[env], lock, outdir=output_dir(outdir), out=Path(out) if out else None,
                      progress=lambda step: err.print(f"[dim]{env}: {step}…[/]", highlight=False))
    except (ConfigError, SourceError) as exc:
        _fail(exc)
    except EngineError as exc:
        _engine_error(exc)
    Console().print(Markdown(result.markdown))  # no soft_wrap: it would cut long lines
    err.print(f"saved plan {result.plan_file}, summary {result.summary_file} "
              f"in {time.perf_counter() - start:.1f} s", highlight=False)
    raise typer.Exit(result.exit_code)


@app.command("apply")
def apply_cmd(env: str = typer.Argument(..., help="Environment the plan was made for."),
              plan_file: str = typer.Option(..., "--plan", metavar="FILE", help="Saved plan from `kfstack plan`."),
              outdir: Optional[str] = typer.Option(None, help="The cdktf output folder `kfstack plan` used. "
                                                              "Default $CDKTF_OUTDIR or cdktf.out.")) -> None:
    """Apply exactly the saved plan FILE (never a fresh plan).

    Exit codes: 0 applied, 4 the plan is stale (state changed since; re-run `kfstack plan ENV`),
    1 the engine failed.
    """
    from pathlib import Path

    from kfstack.engine import EngineError, output_dir
    from kfstack.plan import apply

    start = time.perf_counter()
    try:
        apply(env, Path(plan_file), outdir=output_dir(outdir))
    except EngineError as exc:
        _engine_error(exc)
    err.print(f"applied {plan_file} to {env} in {time.perf_counter() - start:.1f} s", highlight=False)


@app.command("changed-envs")
def changed_envs_cmd(base: str = typer.Option("origin/main", help="Git ref the change is compared with."),
                     exclude: Optional[List[str]] = typer.Option(None, help="Never list this environment."),
                     as_json: bool = typer.Option(False, "--json", help="Print a JSON list (for a CI matrix).")) -> None:
    """Print the environments the change since BASE touches, one per line (rules: kfstack/changed_envs.py).

    Exit codes: 0 (also when none is touched: empty output / []), 2 git failed.
    """
    import json

    from kfstack.app import PROJECT_ROOT
    from kfstack.changed_envs import changed_files, envs_for_paths
    from kfstack.config.loader import environment_names

    try:
        files = changed_files(base, PROJECT_ROOT)
    except RuntimeError as exc:
        _fail(exc)
    names = [n for n in envs_for_paths(files, environment_names(PROJECT_ROOT / "environments"))
             if n not in (exclude or [])]
    typer.echo(json.dumps(names) if as_json else "\n".join(names))


def _stack_api(env: str, stack_dir: Optional[str], outdir: Optional[str]):
    """(stack folder, kubernetes ApiClient) of an environment, once the engine is found (exit 1 without one)."""
    from pathlib import Path

    from kfstack.app import load_all
    from kfstack.drift import api_client_for
    from kfstack.engine import EngineError, engine_binary
    from kfstack.engine import stack_dir as default_stack_dir

    try:
        loaded, _ = load_all(names=[env])
    except ConfigError as exc:
        _fail(exc)
    cfg = loaded[env].cluster
    folder = Path(stack_dir) if stack_dir else default_stack_dir(outdir, env)
    if not (folder / "cdk.tf.json").exists():
        _fail(RuntimeError(f"{folder}/cdk.tf.json not found: synthesize first (`kfstack synth {env}`)"))
    try:
        api = api_client_for(cfg.kubeconfig, cfg.context)
    except Exception as exc:  # kubernetes' ConfigException, YAML errors, OSError: all one line
        _fail(RuntimeError(_cluster_problem(env, cfg, exc)))
        raise  # unreachable: _fail exits
    try:
        engine_binary()  # no engine: say so before anything runs
    except EngineError as exc:
        _engine_error(exc)
    return folder, api


def _cluster_problem(env: str, cfg, exc: BaseException) -> str:
    """One line: why the cluster of ``env`` cannot be reached, and what to check."""
    import os.path

    path = os.path.expanduser(cfg.kubeconfig)
    reason = " ".join(str(exc).split()) or type(exc).__name__
    if not os.path.exists(path):
        cause = f"the kubeconfig {cfg.kubeconfig} does not exist"
    else:
        cause = f"the kubeconfig {cfg.kubeconfig} (context {cfg.context!r}) cannot be used: {reason[:300]}"
    return (f"cannot reach the cluster of {env}: {cause}; fix cluster.kubeconfig / cluster.context in "
            f"environments/{env}.yaml (for local: `kfstack cluster up`)")


def _cluster_call(env: str, stack_dir: Optional[str], call):
    """Run ``call()``; a failure to talk to the cluster becomes one line and exit 1 (no traceback).

    An EngineError (the engine's failure, not the cluster's) and a RuntimeError are printed as they
    are, exit 1."""
    from kfstack.app import load_all
    from kfstack.engine import EngineError

    try:
        return call()
    except typer.Exit:
        raise
    except EngineError as exc:
        _engine_error(exc)
    except RuntimeError as exc:
        err.print(f"error: {exc}", highlight=False, markup=False)
        raise typer.Exit(1)
    except Exception as exc:  # urllib3 connection errors, ApiException (401/403), ...
        cfg = load_all(names=[env])[0][env].cluster
        reason = " ".join(str(exc).split())[:300] or type(exc).__name__
        err.print(f"error: cannot talk to the cluster of {env} (kubeconfig {cfg.kubeconfig}, context "
                  f"{cfg.context!r}): {type(exc).__name__}: {reason}", highlight=False, markup=False)
        raise typer.Exit(1)


_STACK_DIR_HELP = "Stack folder. Default <outdir>/stacks/<env>."
_OUTDIR_HELP = "cdktf output folder. Default $CDKTF_OUTDIR or cdktf.out."


@app.command()
def drift(env: str = typer.Argument(..., help="Environment (its stack must be synthesized and initialised)."),
          stack_dir: Optional[str] = typer.Option(None, help=_STACK_DIR_HELP),
          outdir: Optional[str] = typer.Option(None, help=_OUTDIR_HELP),
          repair: bool = typer.Option(False, "--repair", help="Re-create missing Helm-managed objects from "
                                      "their release manifests (Terraform drift: run apply).")) -> None:
    """Report objects changed or deleted behind Terraform's back (Helm-managed ones included); exit 2 on drift."""
    from kfstack import drift as drift_mod
    from kfstack.engine import engine_name

    folder, api = _stack_api(env, stack_dir, outdir)
    report = _cluster_call(env, stack_dir, lambda: drift_mod.detect(folder, api))
    for line in drift_mod.render(report, env, folder, engine_name()):
        typer.echo(line)
    if repair and report.releases:
        for created in drift_mod.repair(api, report.releases):
            typer.echo(f"re-created {created}")
    if report.drifted:
        raise typer.Exit(2)


@app.command()
def recover(env: str = typer.Argument(..., help="Environment whose apply was interrupted."),
            stack_dir: Optional[str] = typer.Option(None, help=_STACK_DIR_HELP),
            outdir: Optional[str] = typer.Option(None, help=_OUTDIR_HELP),
            dry_run: bool = typer.Option(False, "--dry-run", help="Print the steps, change nothing.")) -> None:
    """After an interrupted apply: adopt untracked objects, uninstall releases not in state, unblock pending ones.

    Exit 3 (nothing done) when the state is locked: prints the `tofu force-unlock` (or `terraform
    force-unlock`) command to run once nobody else is applying.
    """
    from kfstack import recover as recover_mod
    from kfstack.engine import EngineError

    folder, api = _stack_api(env, stack_dir, outdir)
    try:
        hint = recover_mod.locked(folder)
    except EngineError as exc:
        _engine_error(exc)
    if hint:
        typer.echo(hint)
        raise typer.Exit(3)
    _cluster_call(env, stack_dir, lambda: recover_mod.recover(folder, api, dry_run=dry_run, log=typer.echo))


cluster_app = typer.Typer(no_args_is_help=True, help="Local control plane (etcd, kube-apiserver, kwok nodes).")
app.add_typer(cluster_app, name="cluster")


def _local_cluster(state_dir: Optional[str]):
    from pathlib import Path

    from kfstack.cluster.local import LocalCluster, default_state_dir

    return LocalCluster(state_dir=Path(state_dir) if state_dir else default_state_dir(),
                        log=lambda line: err.print(line, highlight=False, markup=False))


@cluster_app.command("up")
def cluster_up(env: str = typer.Option("local", help="Environment whose node pools become nodes."),
               provider: str = typer.Option("local", help="local (processes + kwok) or kind (needs Docker)."),
               state_dir: Optional[str] = typer.Option(None, help="Default ~/.cache/kfstack/cluster/local.")) -> None:
    """Start the control plane and create one node per node-pool node. Running it twice is harmless."""
    from kfstack.app import load_all
    from kfstack.cluster.local import ClusterError

    try:
        loaded, _ = load_all(names=[env])
    except ConfigError as exc:
        _fail(exc)
    pools = loaded[env].node_pools
    try:
        if provider == "kind":
            import yaml

            from kfstack.cluster import kind

            path = f"kind-{env}.yaml"
            with open(path, "w", encoding="utf-8") as fh:
                yaml.safe_dump(kind.kind_config(pools), fh, sort_keys=False)
            err.print(f"wrote {path}")
            kind.create(path)
        elif provider == "local":
            start = time.perf_counter()
            _local_cluster(state_dir).up(pools)
            err.print(f"up in {time.perf_counter() - start:.1f} s")
        else:
            raise ClusterError(f"unknown provider {provider!r}: use local or kind")
    except ClusterError as exc:
        _fail(exc)


@cluster_app.command("status")
def cluster_status(state_dir: Optional[str] = typer.Option(None)) -> None:
    """Show each component's PID; exit 1 when any is not running."""
    cluster = _local_cluster(state_dir)
    status = cluster.status()
    for component, pid in status.items():
        err.print(f"{component:<24} {'running (pid %d)' % pid if pid else 'stopped'}")
    ready = cluster.apiserver_ready() if status["kube-apiserver"] else False
    err.print(f"{'api server':<24} {'ready at ' + cluster.server if ready else 'not ready'}")
    if not all(status.values()) or not ready:
        raise typer.Exit(1)


@cluster_app.command("down")
def cluster_down(state_dir: Optional[str] = typer.Option(None)) -> None:
    """Stop every process `up` started and remove its state (PKI, etcd data, logs)."""
    _local_cluster(state_dir).down()


@app.command()
def promote(src: Optional[str] = typer.Argument(None, help="Environment to promote from (e.g. dev)."),
            dst: Optional[str] = typer.Argument(None, help="Environment to promote into (e.g. staging)."),
            check: bool = typer.Option(False, "--check",
                                       help="Write nothing: exit 1 when a later environment's release is ahead "
                                            "of an earlier one's; with SRC DST, also show the promotion's diff."),
            allow_skip: bool = typer.Option(False, "--allow-skip", help="Allow skipping a stage (dev → prod).")) -> None:
    """Copy SRC's release (Kubeflow line, component versions) into environments/DST.yaml, keeping
    DST's comments and formatting; validate; print the diff. Chain: dev → staging → prod.

    Exit codes: 0 done (or --check clean), 1 --check found an environment ahead, 2 refused or invalid.
    """
    from kfstack.app import PROJECT_ROOT
    from kfstack.promote import PROMOTION_CHAIN, PromotionError, check_chain, plan_promotion

    env_dir = PROJECT_ROOT / "environments"
    try:  # every environment of the chain must be valid before anything is compared or written
        from kfstack.app import load_all

        load_all(names=[n for n in PROMOTION_CHAIN if (env_dir / f"{n}.yaml").exists()])
    except ConfigError as exc:
        _fail(exc)
    if (src is None) != (dst is None) or (src is None and not check):
        err.print("error: give SRC and DST (e.g. `kfstack promote dev staging`), or --check alone")
        raise typer.Exit(2)
    promotion = None
    if src is not None and dst is not None:
        try:
            promotion = plan_promotion(env_dir, src, dst, allow_skip=allow_skip, display_root=PROJECT_ROOT)
        except ConfigError as exc:
            err.print("\n".join(f"  {p}" for p in exc.problems), highlight=False, markup=False)
            err.print(f"error: {src} → {dst} would make {dst} invalid; nothing was written")
            raise typer.Exit(2)
        except PromotionError as exc:
            _fail(exc)
        typer.echo(promotion.diff(), nl=False)
        for component, old, new in promotion.downgrades:
            err.print(f"warning: {dst} goes back from {component} {old} to {new} ({dst} was ahead of {src})")
    if check:
        ahead = check_chain(env_dir)
        for finding in ahead:
            err.print(f"ahead: {finding}", highlight=False)
        if promotion is not None:
            err.print(f"{src} → {dst}: {len(promotion.changes)} version change(s) pending (--check: nothing written)")
        if ahead:
            raise typer.Exit(1)
        err.print(f"promotion chain in order: {' → '.join(PROMOTION_CHAIN)}")
        return
    assert promotion is not None
    if not promotion.changed:
        err.print(f"{dst} already runs {src}'s release; nothing to do")
        return
    try:
        promotion.write()
    except PromotionError as exc:
        _fail(exc)
    err.print(f"promoted {src} → {dst}: {len(promotion.changes)} version change(s) written to {promotion.display}"
              + "".join(f"\n  {c}: {o} → {n}" for c, o, n in promotion.changes), highlight=False)


from kfstack.check.cli import check as _check  # noqa: E402 - the command lives in its own module

app.command("check")(_check)


def synth_main() -> None:
    """Entry for ``python main.py`` / cdktf: synthesize all environments."""
    sys.argv = [sys.argv[0], "synth", *sys.argv[1:]]
    app()


if __name__ == "__main__":
    app()
