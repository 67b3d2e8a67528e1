"""What the Go-built toolchain could provide on this machine (see scripts/test.sh).

The kubernetes 2.38.0 and helm 3.1.1 providers are not served by the Go module
proxy here (403 for every form); scripts/toolchain.sh builds them from a local
clone (KFSTACK_PROVIDER_SRC) or takes them from its cache. When neither exists,
scripts/test.sh sets KFSTACK_PROVIDERS_UNAVAILABLE to the reason and the tiers
that need the providers skip with it. A tool that is missing without such a
reason is a failure: someone forgot to run the toolchain.
"""

from __future__ import annotations

import os

import pytest

PROVIDERS_UNAVAILABLE = "KFSTACK_PROVIDERS_UNAVAILABLE"


def need_providers() -> None:
    """Skip the calling test with the recorded reason when the providers could not be built."""
    reason = os.environ.get(PROVIDERS_UNAVAILABLE)
    if reason:
        pytest.skip(f"kubernetes/helm providers unavailable: {reason}")
