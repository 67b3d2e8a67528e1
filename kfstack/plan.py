"""Plan review: ``kfstack plan <env>`` and ``kfstack apply <env> --plan FILE``.

``cdktf deploy`` applies a fresh plan, not the one a reviewer saw (DESIGN.md §7). Here a
plan is saved to a file, summarized for review, and exactly that file is applied later.

Files (``out`` defaults to ``<outdir>/plans``)::

    <outdir>/stacks/<env>/cdk.tf.json    synthesized stack (only <env>); the engine runs here
    <out>/<env>.tfplan                  saved plan (binary; holds sensitive values: keep private)
    <out>/<env>.plan.md                 Markdown summary (no sensitive values)

The JSON plan (``show -json``) is read in memory and never written: it holds
sensitive values in clear text.

Engine and output folder: :mod:`kfstack.engine`, the same for every command
(``$KFSTACK_TF_BINARY``, else ``$TERRAFORM_BINARY_NAME``, else ``tofu`` on PATH; ``terraform``
only when asked for; ``outdir`` defaults to ``$CDKTF_OUTDIR`` or ``cdktf.out``). ``init``
honours ``TF_CLI_CONFIG_FILE`` (filesystem provider mirror: offline). State: the environment's
backend, relative to the stack folder, so it follows ``outdir`` (local backend:
``<outdir>/../state/<env>.tfstate``).

Exit codes of the commands (:data:`EXIT_*`): 0 no changes / applied, 1 the engine failed,
2 invalid configuration or sources, 3 the plan has changes (``kfstack plan``), 4 the saved plan is
stale or belongs elsewhere (``kfstack apply``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from kfstack.engine import TOOLCHAIN_HINT, EngineError, engine_binary, run_engine, stack_dir, tail
from kfstack.plan_summary import Summary, component_map, summarize, to_markdown

EXIT_OK = 0
EXIT_ENGINE = 1
EXIT_INVALID = 2
EXIT_CHANGES = 3
EXIT_STALE = 4


class PlanError(EngineError):
    """The engine failed (init, plan, show or apply); the message holds its output tail.

    A missing engine is the base :class:`~kfstack.engine.EngineError` (same exit code).
    """

    exit_code = EXIT_ENGINE


class StalePlanError(PlanError):
    """The saved plan cannot be applied: state changed since it was made, or it is another stack's."""

    exit_code = EXIT_STALE


_REGISTRY_ERRORS = ("Failed to query available provider packages", "Failed to install provider",
                    "could not connect to registry", "Failed to resolve provider packages",
                    "Invalid provider registry host", "registry.terraform.io", "registry.opentofu.org")


def init_cause(output: str) -> str | None:
    """One line saying why ``init`` could not install the providers, and what to do; None if that is not it."""
    if not any(marker in output for marker in _REGISTRY_ERRORS):
        return None
    first = next((line.removeprefix("Error:").strip() for line in output.splitlines()
                  if line.startswith("Error:")), "provider installation failed")
    mirror = os.environ.get("TF_CLI_CONFIG_FILE")
    where = (f"the provider mirror in TF_CLI_CONFIG_FILE={mirror} does not have them" if mirror
             else "no provider mirror is configured (TF_CLI_CONFIG_FILE is unset), so the engine asked the "
                  "public registry")
    return (f"the kubernetes 2.38.0 and helm 3.1.1 providers could not be installed ({first}): {where}; "
            f"run {TOOLCHAIN_HINT}")


def synth_stack(env, lock, outdir: Path, root: Path | None = None) -> Path:
    """Synthesize only ``env`` (an EnvironmentConfig) into ``outdir`` in this process; return its stack folder.

    The stack is synthesized into a scratch folder inside ``outdir`` and moved into
    ``outdir/stacks/<env>`` (its ``.terraform`` folder kept); ``outdir/manifest.json`` gets this
    stack's entry and keeps every other environment's, so planning one environment never
    makes cdktf forget the others.

    Raises:
        SourceError: a chart is not pinned or not vendored.
    """
    import tempfile

    from kfstack.app import PROJECT_ROOT, build_app

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    dst = stack_dir(outdir, env.name)
    with tempfile.TemporaryDirectory(prefix=".synth-", dir=outdir) as tmp:
        app = build_app({env.name: env}, lock, root=root or PROJECT_ROOT, outdir=tmp)
        app.synth()
        dst.mkdir(parents=True, exist_ok=True)
        for item in sorted((Path(tmp) / "stacks" / env.name).iterdir()):
            target = dst / item.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            shutil.move(str(item), str(target))
        merge_manifest(outdir / "manifest.json", json.loads((Path(tmp) / "manifest.json").read_text()))
    return dst


def merge_manifest(path: Path, new: dict[str, Any]) -> None:
    """Write cdktf's ``manifest.json`` at ``path`` with ``new``'s stacks replacing theirs, others kept."""
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = {}
    stacks = {**(old.get("stacks") or {}), **new.get("stacks", {})}
    merged = {**new, "stacks": dict(sorted(stacks.items()))}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(merged, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


@dataclass(frozen=True)
class PlanResult:
    """A saved plan and its summary."""

    env: str
    plan_file: Path
    summary_file: Path
    summary: Summary
    markdown: str

    @property
    def exit_code(self) -> int:
        """:data:`EXIT_CHANGES` when the plan changes anything, else :data:`EXIT_OK`."""
        return EXIT_CHANGES if self.summary.has_changes else EXIT_OK


def plan(env, lock, *, outdir: Path, out: Path | None = None, root: Path | None = None,
         progress: Callable[[str], None] = lambda _: None) -> PlanResult:
    """Synthesize ``env``, ``init``, ``plan -out=<out>/<env>.tfplan``, ``show -json``, write the summary.

    Args:
        env: validated EnvironmentConfig (possibly built in memory, e.g. by a test).
        lock: parsed sources.lock.
        outdir: cdktf output folder (``cdktf.out``); the stack lands in ``outdir/stacks/<env>``.
        out: where the plan file and summary go; default ``outdir/plans``.
        progress: called with a short line before each step.

    Raises:
        SourceError: synthesis failed on sources.
        EngineError: no engine (said before anything is synthesized).
        PlanError: init, plan or show failed (message has the engine's output tail).
    """
    outdir = Path(outdir).resolve()
    out = Path(out).resolve() if out else outdir / "plans"
    engine_binary()  # no engine: say so before synthesizing anything
    out.mkdir(parents=True, exist_ok=True)
    progress(f"synthesizing {env.name}")
    sdir = synth_stack(env, lock, outdir, root)
    progress("init")
    res = run_engine(["init", "-input=false", "-no-color"], sdir)
    if res.returncode != 0:
        cause = init_cause(res.stdout + res.stderr)
        raise PlanError(f"init of {env.name} failed: {cause}" if cause else f"init of {env.name} failed:\n{tail(res)}")
    plan_file = out / f"{env.name}.tfplan"
    progress("plan")
    res = run_engine(["plan", "-input=false", "-no-color", "-lock-timeout=60s", f"-out={plan_file}"], sdir)
    if res.returncode != 0:
        raise PlanError(f"plan of {env.name} failed:\n{tail(res)}")
    progress("show -json")
    plan_json = show_json(plan_file, sdir)
    stack_json = json.loads((sdir / "cdk.tf.json").read_text(encoding="utf-8"))
    summary = summarize(plan_json, components=component_map(stack_json), env=env.name)
    markdown = to_markdown(summary)
    summary_file = out / f"{env.name}.plan.md"
    summary_file.write_text(markdown, encoding="utf-8")
    return PlanResult(env=env.name, plan_file=plan_file, summary_file=summary_file, summary=summary,
                      markdown=markdown)


def show_json(plan_file: Path, cwd: Path) -> dict[str, Any]:
    """``show -json PLAN`` parsed (holds sensitive values: keep in memory). Raises PlanError."""
    res = run_engine(["show", "-json", "-no-color", str(plan_file)], cwd)
    if res.returncode != 0:
        raise PlanError(f"show -json {plan_file.name} failed:\n{tail(res)}")
    return json.loads(res.stdout)


_STALE = ("Saved plan is stale", "can no longer be applied because the state was changed")
_FOREIGN = ("Saved plan does not match the given state", "Saved plan is for a different")


def apply(env_name: str, plan_file: Path, *, outdir: Path) -> subprocess.CompletedProcess:
    """``apply PLAN`` in ``outdir/stacks/<env>`` (where ``kfstack plan`` initialized it). Exactly that plan.

    Raises:
        EngineError: no engine.
        PlanError: the plan file or the initialized stack folder is missing, or apply failed.
        StalePlanError: the state changed since the plan was made (or the plan is for other state);
            the message says to re-run ``kfstack plan <env>``.
    """
    plan_file = Path(plan_file).resolve()
    sdir = stack_dir(Path(outdir).resolve(), env_name)
    if not plan_file.is_file():
        raise PlanError(f"plan file {plan_file} not found: run `kfstack plan {env_name}` first")
    if not (sdir / ".terraform").is_dir():
        raise PlanError(f"{sdir} is not initialized: run `kfstack plan {env_name}` with the same --outdir first")
    res = run_engine(["apply", "-input=false", "-no-color", "-lock-timeout=60s", str(plan_file)], sdir)
    if res.returncode != 0:
        text = res.stdout + res.stderr
        if any(s in text for s in _STALE + _FOREIGN):
            why = (f"the state of {env_name} changed after it was made (another apply ran)" if
                   any(s in text for s in _STALE) else f"it was made for other state than {env_name}'s")
            raise StalePlanError(
                f"the saved plan {plan_file.name} is stale: {why}, so it no longer describes what would "
                f"happen. Nothing was applied. Re-run `kfstack plan {env_name}`, review the new summary, "
                f"and apply that plan.")
        raise PlanError(f"apply of {plan_file.name} to {env_name} failed:\n{tail(res)}")
    return res
