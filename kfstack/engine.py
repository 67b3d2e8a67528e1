"""The Terraform engine (OpenTofu or Terraform) that runs the synthesized stacks, and where they are.

Every kfstack command that runs the engine — ``plan``, ``apply``, ``drift``, ``recover`` — finds it
here, once, by one rule, so a site on Terraform plans, applies, detects drift and recovers with
Terraform. (The CDK engine, cdktf, is :mod:`kfstack.cdk`.)

Engine, first match wins (:func:`engine_binary`):

1. ``$KFSTACK_TF_BINARY`` — a path, or a name looked up on PATH. ``$KFSTACK_TOFU`` is an older
   name for it, still read when ``KFSTACK_TF_BINARY`` is unset.
2. ``$TERRAFORM_BINARY_NAME`` — cdktf's own setting (``cdktf diff|deploy`` use it), so kfstack
   and cdktf run the same engine; ``eval "$(bash scripts/toolchain.sh env)"`` sets it to ``tofu``.
3. ``tofu`` on PATH.
4. ``terraform`` on PATH, only with ``KFSTACK_USE_SYSTEM_TOFU=1``: an unrelated ``terraform`` would
   otherwise be picked up and fail later on the public registry with pages of errors.

Nothing found (or a variable naming something that is not an executable) is one
:class:`EngineError` line saying what to run.

Output folder (:func:`output_dir`): ``--outdir``, else ``$CDKTF_OUTDIR`` (set by the cdktf CLI),
else ``cdktf.out``, relative to the working directory; a stack is synthesized into
``<outdir>/stacks/<env>`` (:func:`stack_dir`), where the engine runs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from kfstack.errors import KfstackError

TOOLCHAIN_HINT = 'bash scripts/toolchain.sh && eval "$(bash scripts/toolchain.sh env)"'
"""What to run for OpenTofu and the offline provider mirror (README: set-up commands)."""

DEFAULT_OUTDIR = "cdktf.out"
"""cdktf's default output folder (``App(outdir=...)`` default; ``cdktf.json`` sets no other)."""

EXPLICIT_VARIABLES = ("KFSTACK_TF_BINARY", "KFSTACK_TOFU")
"""Variables naming the engine outright, in precedence order (``KFSTACK_TOFU``: the older name)."""

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class EngineError(KfstackError):
    """The engine is missing or a run of it failed; the message holds the cause (and its output tail).

    ``exit_code`` is what the ``kfstack`` command exits with (1).
    """

    exit_code = 1


def _executable(variable: str, value: str) -> str:
    path = shutil.which(value)
    if not path:
        raise EngineError(f"{variable}={value!r} is not an executable; point it at a tofu or terraform binary, "
                          f"or unset it to use tofu on PATH ({TOOLCHAIN_HINT})")
    return path


def engine_binary() -> str:
    """Absolute path of the engine, by the precedence in the module docstring.

    Raises:
        EngineError: none found, or a variable names something that is not an executable
            (one line: the cause and what to run).
    """
    for variable in EXPLICIT_VARIABLES:
        if os.environ.get(variable):
            return _executable(variable, os.environ[variable])
    if os.environ.get("TERRAFORM_BINARY_NAME"):
        return _executable("TERRAFORM_BINARY_NAME", os.environ["TERRAFORM_BINARY_NAME"])
    path = shutil.which("tofu")
    if path:
        return path
    terraform = shutil.which("terraform")
    if terraform and os.environ.get("KFSTACK_USE_SYSTEM_TOFU") == "1":
        return terraform
    found = (f"; {terraform} is not used unless KFSTACK_USE_SYSTEM_TOFU=1 or TERRAFORM_BINARY_NAME=terraform"
             if terraform else "")
    raise EngineError(f"OpenTofu (tofu) is not on PATH and KFSTACK_TF_BINARY is unset{found}; build and enable "
                      f"the toolchain: {TOOLCHAIN_HINT} (or KFSTACK_USE_SYSTEM_TOFU=1 to use your own "
                      "tofu/terraform and registry)")


def engine_name() -> str:
    """File name of the engine (``tofu`` or ``terraform``), for commands printed to a person. Raises EngineError."""
    return Path(engine_binary()).name


def engine_env() -> dict[str, str]:
    """The process environment for the engine: no prompts, no checkpoint calls, TF_CLI_CONFIG_FILE kept."""
    return {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}


def run_engine(args: list[str], cwd: Path, *, timeout: float = 1800) -> subprocess.CompletedProcess:
    """Run ``<engine> ARGS`` in ``cwd`` capturing text output (ANSI codes removed); ``timeout`` in seconds.

    Does not check the exit code (see :func:`tail` for the message of a failure).

    Raises:
        EngineError: no engine (see :func:`engine_binary`), or it could not be started.
    """
    binary = engine_binary()
    try:
        res = subprocess.run([binary, *args], cwd=cwd, env=engine_env(), capture_output=True, text=True,
                             timeout=timeout)
    except OSError as exc:
        raise EngineError(f"cannot run {binary} ({exc.strerror}); build and enable the toolchain: "
                          f"{TOOLCHAIN_HINT}") from None
    res.stdout, res.stderr = _ANSI.sub("", res.stdout), _ANSI.sub("", res.stderr)
    return res


def tail(res: subprocess.CompletedProcess, chars: int = 4000) -> str:
    """The last ``chars`` characters of a run's stdout and stderr: what a failure message shows."""
    return (res.stdout + "\n" + res.stderr).strip()[-chars:]


def output_dir(outdir: str | os.PathLike[str] | None = None) -> Path:
    """The cdktf output folder: ``outdir`` when given, else ``$CDKTF_OUTDIR``, else ``cdktf.out``."""
    return Path(outdir or os.environ.get("CDKTF_OUTDIR") or DEFAULT_OUTDIR)


def stack_dir(outdir: str | os.PathLike[str] | None, env: str) -> Path:
    """Where the stack of ``env`` is synthesized and the engine runs: ``<output_dir(outdir)>/stacks/<env>``."""
    return output_dir(outdir) / "stacks" / env


__all__ = ["DEFAULT_OUTDIR", "EXPLICIT_VARIABLES", "EngineError", "TOOLCHAIN_HINT", "engine_binary", "engine_env",
           "engine_name", "output_dir", "run_engine", "stack_dir", "tail"]
