#!/usr/bin/env bash
# Debian packages the tests need besides the Go-built toolchain: PostgreSQL for
# tests/integration/test_pg_state.py (a throwaway server on 127.0.0.1, Terraform's pg backend),
# skopeo for the image-sync files.
# Idempotent: installs only what is missing; needs root (or sudo) only then.
set -euo pipefail

need=()
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
command -v psql >/dev/null || need+=(postgresql-client)
command -v runuser >/dev/null || need+=(util-linux)
# skopeo: tests/integration/test_images_rendered.py checks `kfstack images --format skopeo` files
# with the real `skopeo sync --dry-run` (it contacts no registry in dry-run mode).
command -v skopeo >/dev/null || need+=(skopeo)

if ((${#need[@]} == 0)); then
  echo "ci-packages: nothing to install (postgresql present: $(ls -d /usr/lib/postgresql/*/ | xargs -n1 basename | tr '\n' ' '))"
  exit 0
fi
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "ci-packages: need root or sudo to install: ${need[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "ci-packages: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
# policy-rc.d 101: do not start the distribution's own cluster service; tests start their own server.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  "${sudo[@]}" sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d'
  trap '"${sudo[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
fi
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}"
