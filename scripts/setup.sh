#!/usr/bin/env bash
# Install kfstack's pinned Python environment (Pipfile.lock) and, with --dev, the test
# tools and the pinned cdktf CLI (package-lock.json). Idempotent; safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

PIPENV_VERSION=2026.10.3
export PIPENV_VENV_IN_PROJECT=1 PIPENV_NOSPIN=1 PIPENV_YES=1 PIP_DISABLE_PIP_VERSION_CHECK=1

if ! python3 -m pipenv --version 2>/dev/null | grep -q "$PIPENV_VERSION"; then
  echo "==> installing pipenv $PIPENV_VERSION"
  python3 -m pip install -q "pipenv==$PIPENV_VERSION"
fi

dev=""
[[ "${1:-}" == "--dev" ]] && dev="--dev"
echo "==> pipenv sync $dev (Pipfile.lock)"
python3 -m pipenv sync $dev >/dev/null

if [[ -n "$dev" ]]; then
  if [[ ! -x node_modules/.bin/cdktf ]] || ! node_modules/.bin/cdktf --version 2>/dev/null | grep -q '^0.21.0'; then
    echo "==> npm ci (cdktf-cli 0.21.0)"
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
  fi
fi
