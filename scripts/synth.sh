#!/usr/bin/env bash
# The main job: install what is needed, validate every environment, and write
# cdktf.out/stacks/<env>/cdk.tf.json for each. Extra arguments: environment names.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 CHECKPOINT_DISABLE=1 PIPENV_VENV_IN_PROJECT=1
exec python3 -m pipenv run python main.py "$@"
