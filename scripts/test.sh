#!/usr/bin/env bash
# The test command (README, .ci/run): install everything the tests need, then run them.
# Extra arguments go to pytest (e.g. -k istio).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
# Debian packages some tests start (PostgreSQL for the pg state backend test).
bash scripts/ci-packages.sh
# Real engine and control plane for the validate and e2e tiers, built from Go
# modules and cached by version under ~/.cache/kfstack/toolchain (cold: see
# scripts/toolchain/README.md; warm: seconds).
bash scripts/toolchain.sh tofu etcd kube kwok helm registry
# The kubernetes/helm providers are not served by the Go module proxy here: they come
# from the cache, a local clone (KFSTACK_PROVIDER_SRC) or ../shared/upstream/git. Without
# any, the tiers that need them fail with this reason under CI=true, and skip with it on a
# developer's machine (tests/toolchain.py).
if ! bash scripts/toolchain.sh providers; then
  export KFSTACK_PROVIDERS_UNAVAILABLE="scripts/toolchain.sh providers failed (the Go module proxy refuses terraform-provider-kubernetes/helm; set KFSTACK_PROVIDER_SRC to local clones or KFSTACK_USE_SYSTEM_TOFU=1, see scripts/toolchain/README.md)"
  echo "WARNING: $KFSTACK_PROVIDERS_UNAVAILABLE" >&2
fi
eval "$(bash scripts/toolchain.sh env)"
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 CHECKPOINT_DISABLE=1 PIPENV_VENV_IN_PROJECT=1
exec python3 -m pipenv run python -m pytest "$@"
