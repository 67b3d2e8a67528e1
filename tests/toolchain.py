"""What the Go-built toolchain could provide on this machine (see scripts/test.sh).

The kubernetes 2.38.0 and helm 3.1.1 providers are not served by the Go module
proxy here (403 for every form); scripts/toolchain.sh builds them from a local
clone (KFSTACK_PROVIDER_SRC) or takes them from its cache. When neither exists,
scripts/test.sh sets KFSTACK_PROVIDERS_UNAVAILABLE to the reason and the tiers
that need the providers skip with it -- outside CI only. In CI (``CI=true``) a
tier whose tools are missing fails with the reason: a green run must never hide
an end-to-end tier. A tool that is missing without such a reason is a failure
too: someone forgot to run the toolchain.
"""

from __future__ import annotations

import os

import pytest

PROVIDERS_UNAVAILABLE = "KFSTACK_PROVIDERS_UNAVAILABLE"


def in_ci() -> bool:
    """True when running under CI (``CI`` set to ``true``/``1``, as CI systems and .ci/run do)."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> None:
    """A tier's tools are missing: fail in CI, skip with ``reason`` elsewhere.

    Raises pytest's Failed (CI) or Skipped (a developer's machine).
    """
    if in_ci():
        pytest.fail(f"{reason} (CI=true: a tier whose tools are missing fails, it never skips)")
    pytest.skip(reason)


def need_providers() -> None:
    """Skip (fail in CI) the calling test with the recorded reason when the providers could not be built."""
    reason = os.environ.get(PROVIDERS_UNAVAILABLE)
    if reason:
        unavailable(f"kubernetes/helm providers unavailable: {reason}")


UPSTREAM_MIRROR = "KFSTACK_UPSTREAM_MIRROR"


def upstream_mirror() -> "Path":
    """The offline mirror of the real upstream sources: ``$KFSTACK_UPSTREAM_MIRROR``, else
    ``../shared/upstream`` beside the checkout (charts/ is a Helm repository folder, git/ holds
    Git mirrors). Not checked here: each tier calls :func:`unavailable` for what it lacks."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    return Path(os.environ.get(UPSTREAM_MIRROR) or root.parent / "shared" / "upstream")
