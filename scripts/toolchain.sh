#!/usr/bin/env bash
# Build kfstack's test toolchain from Go modules, cached by version.
#
#   scripts/toolchain.sh [all|tofu|providers|kube|etcd|kwok|helm|registry]...  build (default: all)
#   scripts/toolchain.sh env      print `export` lines: eval "$(scripts/toolchain.sh env)"
#   scripts/toolchain.sh verify   smoke-test the built tools (versions, offline tofu init)
#   scripts/toolchain.sh prune    drop the Go build cache and wrapper modules, keep binaries
#
# Cache root: ${KFSTACK_TOOLCHAIN_DIR:-$HOME/.cache/kfstack/toolchain}.
# See scripts/toolchain/README.md for versions, layout and knobs.
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HELPERS=$HERE/toolchain
ROOT=${KFSTACK_TOOLCHAIN_DIR:-$HOME/.cache/kfstack/toolchain}

# ---------------------------------------------------------------- versions --
# v1.11.7 is listed by the module proxy but its checksum is missing from the
# checksum database here, so 1.11.6 is the newest verifiable 1.11.x.
TOFU_VERSION=1.11.6
# Newest 1.35.x the module proxy serves; its staging modules are v0.35.8.
K8S_VERSION=1.35.8
ETCD_VERSION=3.6.16
KWOK_VERSION=0.8.0
# The Helm CLI at the version the pinned helm provider (3.1.1) embeds (its
# go.mod: helm.sh/helm/v3 v3.18.4): `kfstack check` renders charts with it.
HELM_VERSION=3.18.4
# The OCI registry the e2e publishes charts to (CNCF distribution, cmd/registry):
# the newest v3 release the module proxy serves.
REGISTRY_VERSION=3.1.2
# The HashiCorp providers have no /vN module suffix, so their release tags are
# not valid module versions. Each is pinned by the commit its release tag
# points at, as a canonical pseudo-version (base = highest v0/v1 tag that is an
# ancestor). SUM/GOMODSUM, where known, are the module's go.sum hashes, pinned
# because the checksum database has no entry for that pseudo-version ("-":
# let the checksum database verify it).
# TYPE VERSION MODULE TAG-COMMIT PSEUDO-VERSION SUM GOMODSUM
PROVIDERS=(
  "kubernetes 2.38.0 github.com/hashicorp/terraform-provider-kubernetes be88f44271050f69d52f410bca388834afedfe71 v1.13.4-0.20250721172020-be88f4427105 - -"
  "helm 3.1.1 github.com/hashicorp/terraform-provider-helm 1cbf08f6a306ab3cdff6079b87a61c7641b64f3b v1.3.3-0.20251117192655-1cbf08f6a306 - -"
  # random's go.mod still declares the pre-rename path. The proxy serves this
  # pseudo-version; its content was compared file by file with the v3.7.2 tag.
  "random 3.7.2 github.com/terraform-providers/terraform-provider-random bc2ddb552b4676d16997987a9bf2875c7b98d342 v1.3.2-0.20250422105519-bc2ddb552b46 h1:xKgqtuIoGzvqpCXcHvLrftZm4h9XusvFIa2OBdAkI4g= h1:WKboV22U846s7rApwTd7m1abkq7mjwkBGbdn7BQBJRM="
)
PROVIDER_HOSTS=(registry.opentofu.org registry.terraform.io)
# Bump to force a rebuild of everything when build flags change.
RECIPE=1

JOBS=${KFSTACK_BUILD_JOBS:-2}
# Provider sources: a user's KFSTACK_PROVIDER_SRC, else the offline mirror of
# upstream beside the project (../shared/upstream/git/github.com/hashicorp),
# which holds both provider repositories at their tag commits.
if [[ -z ${KFSTACK_PROVIDER_SRC:-} ]]; then
  _shared=$(cd "$HERE/../.." 2>/dev/null && pwd)/shared/upstream/git/github.com/hashicorp
  if [[ -d $_shared ]]; then KFSTACK_PROVIDER_SRC=$_shared; fi
  unset _shared
fi
USE_SYSTEM_TOFU=${KFSTACK_USE_SYSTEM_TOFU:-0}

TOFU_DIR=$ROOT/tofu/$TOFU_VERSION
KUBE_DIR=$ROOT/kubernetes/v$K8S_VERSION
ETCD_DIR=$ROOT/etcd/v$ETCD_VERSION
KWOK_DIR=$ROOT/kwok/v$KWOK_VERSION
HELM_DIR=$ROOT/helm/v$HELM_VERSION
REGISTRY_DIR=$ROOT/registry/v$REGISTRY_VERSION
MIRROR_DIR=$ROOT/providers/mirror
TOFURC=$ROOT/tofurc

# ------------------------------------------------------------------ helpers --
STEP=init
log() { printf '[toolchain %4ss] %s\n' "$SECONDS" "$*" >&2; }
die() { echo "toolchain: FAILED at step: $STEP: $*" >&2; exit 1; }
trap 'rc=$?; echo "toolchain: FAILED (exit $rc) at step: $STEP" >&2; exit $rc' ERR

system_tofu() { [[ $USE_SYSTEM_TOFU == 1 || $USE_SYSTEM_TOFU == true ]]; }

setup_go() {
  STEP="find go"
  GO=${KFSTACK_GO:-}
  if [[ -z $GO ]]; then
    GO=$(command -v go || true)
    [[ -n $GO ]] || { [[ -x /usr/local/go/bin/go ]] && GO=/usr/local/go/bin/go; }
  fi
  [[ -n $GO && -x $GO ]] || die "no go command (set KFSTACK_GO or put go on PATH)"
  # Builds never download a different Go toolchain; modules come from the proxy
  # and are checked against the checksum database (the defaults).
  export GOTOOLCHAIN=local CGO_ENABLED=0
  export GOFLAGS="-mod=mod -buildvcs=false"
  # Keep the build cache with the binaries unless the caller chose one.
  export GOCACHE=${GOCACHE:-$ROOT/go-build}
  mkdir -p "$ROOT/build" "$GOCACHE"
  log "go: $("$GO" version) (GOCACHE=$GOCACHE, -p $JOBS)"
}

lock() {
  mkdir -p "$ROOT"
  exec 9>"$ROOT/.lock"
  if ! flock -n 9; then
    log "waiting for another toolchain.sh run (lock $ROOT/.lock)"
    flock 9
  fi
}

# json FIELD...: read one JSON object on stdin, print the fields (a.b for
# nested), one per line; exit 1 printing .Error if the object has one.
json() {
  python3 -c '
import json, sys
d = json.load(sys.stdin)
if d.get("Error"):
    sys.exit("go: " + d["Error"])
for f in sys.argv[1:]:
    v = d
    for k in f.split("."):
        v = v.get(k, "") if isinstance(v, dict) else ""
    print(v)' "$@"
}

# cached DIR KEY FILE...: the build in DIR was made from KEY and has every FILE.
cached() {
  local dir=$1 key=$2 f; shift 2
  [[ -f $dir/.kfstack-build && "$(cat "$dir/.kfstack-build")" == "$key" ]] || return 1
  for f in "$@"; do [[ -x $dir/$f ]] || return 1; done
}

# finish DIR KEY TMP: publish TMP as DIR atomically-ish and stamp it.
finish() {
  local dir=$1 key=$2 tmp=$3
  printf '%s\n' "$key" >"$tmp/.kfstack-build"
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  mv "$tmp" "$dir"
}

# moddl MODULE@VERSION: download it; sets MOD_GOMOD MOD_DIR MOD_HASH MOD_TIME.
moddl() {
  local out
  out=$(trap - ERR; cd "$ROOT/build" && "$GO" mod download -json "$1") || { echo "$out" | json >/dev/null || true; die "go mod download $1"; }
  { read -r MOD_GOMOD; read -r MOD_DIR; read -r MOD_HASH; read -r MOD_TIME; } < <(echo "$out" | json GoMod Dir Origin.Hash Time)
}

# wrapper NAME MODULE VERSION [LOCAL_VERSION]: create $ROOT/build/NAME holding a
# throw-away main module requiring MODULE@VERSION, with upstream's replaces
# repeated (local ones mapped to LOCAL_VERSION) and upstream's go.sum as seed.
# Needs moddl first. Sets WRAP.
wrapper() {
  local name=$1 module=$2 version=$3 localv=${4:-}
  WRAP=$ROOT/build/$name
  rm -rf "$WRAP" && mkdir -p "$WRAP"
  "$GO" mod edit -json "$MOD_GOMOD" |
    python3 "$HELPERS/wrapmod.py" "kfstack.invalid/toolchain/$name" "$module" "$version" $localv >"$WRAP/go.mod"
  if [[ -f $MOD_DIR/go.sum ]]; then cat "$MOD_DIR/go.sum" >"$WRAP/go.sum"; fi
}

begin() { T0=$SECONDS; log "$1: building"; }
done_() { log "$1: built in $((SECONDS - T0))s -> $2"; }
hit() { log "$1: cached -> $2"; }

# -------------------------------------------------------------------- tofu --
# go_tool TOOL DIR MODULE VERSION PACKAGE LDFLAGS EXPECT VERSION-ARGS...: build one command
# of a Go module the standard way (wrapper module repeating upstream's replaces, -trimpath,
# -s -w plus LDFLAGS, where @HASH@ becomes the module's commit), check that
# `TOOL VERSION-ARGS...` prints something matching the glob EXPECT, and cache it in DIR
# (key: "TOOL VERSION recipe N").
go_tool() {
  local tool=$1 dir=$2 module=$3 version=$4 pkg=$5 ldflags=$6 expect=$7; shift 7
  local name="$tool $version" key="$tool $version recipe $RECIPE"
  if cached "$dir" "$key" "$tool"; then hit "$name" "$dir/$tool"; return; fi
  begin "$name"
  STEP="$tool: download $module@$version"
  moddl "$module@$version"
  STEP="$tool: write wrapper module"
  wrapper "$tool-${version#v}" "$module" "$version"
  local tmp=$dir.tmp.$$
  rm -rf "$tmp" && mkdir -p "$tmp"
  STEP="$tool: go build $pkg"
  (cd "$WRAP" && "$GO" build -p "$JOBS" -trimpath -ldflags "-s -w ${ldflags//@HASH@/$MOD_HASH}" \
    -o "$tmp/$tool" "$pkg")
  STEP="$tool: check version"
  local v; v=$("$tmp/$tool" "$@" 2>/dev/null)
  # shellcheck disable=SC2053 # EXPECT is a glob
  [[ $v == $expect ]] || die "$tool $* says: ${v%%$'\n'*}"
  finish "$dir" "$key" "$tmp"
  done_ "$name" "$dir/$tool"
}

build_tofu() {
  if system_tofu; then log "tofu $TOFU_VERSION: skipped (KFSTACK_USE_SYSTEM_TOFU=1)"; return; fi
  # version.dev=no is what OpenTofu's release build sets: `tofu version` then prints the
  # embedded VERSION without a "-dev" suffix.
  go_tool tofu "$TOFU_DIR" github.com/opentofu/opentofu "v$TOFU_VERSION" github.com/opentofu/opentofu/cmd/tofu \
    "-X github.com/opentofu/opentofu/version.dev=no" "OpenTofu v$TOFU_VERSION"$'\n'"*" version
}
# --------------------------------------------------------------- providers --
# find_provider_git TYPE COMMIT: a local git repository (under
# $KFSTACK_PROVIDER_SRC) that holds COMMIT.
find_provider_git() {
  local type=$1 commit=$2 c
  [[ -n ${KFSTACK_PROVIDER_SRC:-} ]] || return 1
  for c in "$KFSTACK_PROVIDER_SRC"/*terraform-provider-"$type"* "$KFSTACK_PROVIDER_SRC"/*terraform-provider-"$type"*/repo; do
    [[ -d $c ]] || continue
    if git -C "$c" cat-file -e "$commit^{commit}" 2>/dev/null; then echo "$c"; return 0; fi
  done
  return 1
}

# export_git REPO COMMIT DEST: the tree of COMMIT into DEST. Blobs missing from
# a partial clone are tolerated only for test data.
export_git() {
  local repo=$1 commit=$2 dest=$3 p
  local -a excl=()
  mkdir -p "$dest"
  while IFS= read -r p; do
    [[ -z $p ]] && continue
    case $p in
      */testdata/* | *_test.go) excl+=(":(exclude)$p"); log "  (source lacks test file $p; skipped)" ;;
      *) die "git object missing for $p in $repo" ;;
    esac
  done < <(git -C "$repo" ls-tree -r "$commit" |
    awk -F'\t' '{split($1, a, " "); if (a[2] == "blob") print a[3] "\t" $2}' >"$dest.tree" &&
    cut -f1 "$dest.tree" | git -C "$repo" cat-file --batch-check | paste - "$dest.tree" |
    awk -F'\t' '$1 ~ / missing$/ {print $3}')
  rm -f "$dest.tree"
  git -C "$repo" archive --format=tar "$commit" -- . "${excl[@]}" 2>"$dest.archive.log" | tar -x -C "$dest"
}

build_provider() {
  local type=$1 version=$2 module=$3 commit=$4 pseudo=$5 sum=$6 gomodsum=$7
  local name="provider $type $version" dir=$ROOT/providers/$type/$version
  local bin=terraform-provider-${type}_v$version
  local key="provider $type v$version commit $commit recipe $RECIPE"
  if cached "$dir" "$key" "$bin"; then hit "$name" "$dir/$bin"; return; fi
  begin "$name"
  local tmp=$dir.tmp.$$ ldflags="-s -w -X main.Version=$version" src repo
  rm -rf "$tmp" && mkdir -p "$tmp"
  STEP="$name: resolve $module@$pseudo (commit $commit) on the module proxy"
  # Download inside a scratch module whose go.sum holds the pinned hashes (if
  # any): go then verifies against them instead of the checksum database.
  local out dl=$ROOT/build/provider-$type-$version.dl
  rm -rf "$dl" && mkdir -p "$dl"
  printf 'module kfstack.invalid/toolchain/dl\n\nrequire %s %s\n' "$module" "$pseudo" >"$dl/go.mod"
  : >"$dl/go.sum"
  if [[ $sum != - ]]; then
    printf '%s %s %s\n%s %s/go.mod %s\n' "$module" "$pseudo" "$sum" "$module" "$pseudo" "$gomodsum" >"$dl/go.sum"
  fi
  if out=$(trap - ERR; cd "$dl" && "$GO" mod download -json "$module@$pseudo" 2>"$dl/err.log"); then
    { read -r MOD_GOMOD; read -r MOD_DIR; read -r MOD_HASH; read -r MOD_TIME; } < <(echo "$out" | json GoMod Dir Origin.Hash Time)
    [[ -z $MOD_HASH || $MOD_HASH == "$commit" ]] || die "proxy says $pseudo is commit $MOD_HASH, expected $commit"
    STEP="$name: write wrapper module"
    wrapper "provider-$type-$version" "$module" "$pseudo"
    cat "$dl/go.sum" >>"$WRAP/go.sum"
    STEP="$name: go build $module"
    (cd "$WRAP" && "$GO" build -p "$JOBS" -trimpath -ldflags "$ldflags" -o "$tmp/$bin" "$module")
    src="go module $module@$pseudo"
  else
    log "  module proxy route failed: $( { [[ -n $out ]] && echo "$out" | json; cat "$dl/err.log"; } 2>&1 | tr '\n\t' '  ')"
    STEP="$name: local git source (KFSTACK_PROVIDER_SRC) holding commit $commit"
    repo=$(trap - ERR; find_provider_git "$type" "$commit") ||
      die "the Go module proxy does not serve $module@$pseudo and no git repository holding commit $commit was found under KFSTACK_PROVIDER_SRC='${KFSTACK_PROVIDER_SRC:-}' (see scripts/toolchain/README.md)"
    log "  building from git repository $repo, commit $commit"
    STEP="$name: export commit $commit from $repo"
    WRAP=$ROOT/build/provider-$type-$version
    rm -rf "$WRAP" && export_git "$repo" "$commit" "$WRAP/src"
    STEP="$name: go build (upstream go.mod/go.sum, -mod=readonly)"
    (cd "$WRAP/src" && "$GO" build -mod=readonly -p "$JOBS" -trimpath -ldflags "$ldflags" -o "$tmp/$bin" .)
    src="git commit $commit (tag v$version) from a local clone; dependencies from the module proxy"
  fi
  STEP="$name: check binary"
  # A plugin run by hand prints a notice and exits 1; it must at least start.
  local v; v=$("$tmp/$bin" 2>&1 || true)
  [[ $v == *plugin* ]] || die "$bin does not run like a Terraform plugin: $v"
  printf '%s\n' "$src" >"$tmp/SOURCE"
  finish "$dir" "$key" "$tmp"
  done_ "$name" "$dir/$bin"
}

write_mirror() {
  STEP="providers: filesystem mirror"
  local platform host line type version src dest list uptodate=1
  platform="$("$GO" env GOOS)_$("$GO" env GOARCH)"
  local -a inc=()
  for line in "${PROVIDERS[@]}"; do
    read -r type version _ <<<"$line"
    src=$ROOT/providers/$type/$version/terraform-provider-${type}_v$version
    for host in "${PROVIDER_HOSTS[@]}"; do
      inc+=("\"$host/hashicorp/$type\"")
      dest=$MIRROR_DIR/$host/hashicorp/$type/$version/$platform/${src##*/}
      [[ -x $dest ]] && cmp -s "$src" "$dest" || uptodate=0
    done
  done
  list=$(IFS=,; echo "${inc[*]}" | sed 's/,/, /g')
  local rc
  rc=$(cat <<EOF
# Generated by scripts/toolchain.sh: providers from the local filesystem
# mirror, no network. Use with TF_CLI_CONFIG_FILE=$TOFURC
provider_installation {
  filesystem_mirror {
    path    = "$MIRROR_DIR"
    include = [$list]
  }
  direct {
    exclude = [$list]
  }
}
EOF
)
  if ((uptodate)) && [[ -f $TOFURC && "$(cat "$TOFURC")" == "$rc" ]]; then
    log "providers: mirror and $TOFURC up to date"
    return
  fi
  rm -rf "$MIRROR_DIR.tmp" && mkdir -p "$MIRROR_DIR.tmp"
  for line in "${PROVIDERS[@]}"; do
    read -r type version _ <<<"$line"
    src=$ROOT/providers/$type/$version/terraform-provider-${type}_v$version
    for host in "${PROVIDER_HOSTS[@]}"; do
      dest=$MIRROR_DIR.tmp/$host/hashicorp/$type/$version/$platform
      mkdir -p "$dest"
      ln -f "$src" "$dest/" 2>/dev/null || cp "$src" "$dest/"
    done
  done
  rm -rf "$MIRROR_DIR" && mv "$MIRROR_DIR.tmp" "$MIRROR_DIR"
  printf '%s\n' "$rc" >"$TOFURC.tmp" && mv "$TOFURC.tmp" "$TOFURC"
  log "providers: wrote mirror $MIRROR_DIR and CLI config $TOFURC"
}

build_providers() {
  if system_tofu; then log "providers: skipped (KFSTACK_USE_SYSTEM_TOFU=1)"; return; fi
  local line
  for line in "${PROVIDERS[@]}"; do
    # shellcheck disable=SC2086
    build_provider $line
  done
  write_mirror
}

# -------------------------------------------------------------- kubernetes --
KUBE_CMDS=(kube-apiserver kube-controller-manager kube-scheduler)
build_kube() {
  local name="kubernetes v$K8S_VERSION" key="kubernetes v$K8S_VERSION recipe $RECIPE"
  if cached "$KUBE_DIR" "$key" "${KUBE_CMDS[@]}"; then hit "$name" "$KUBE_DIR"; return; fi
  begin "$name"
  local minor=${K8S_VERSION#*.}; minor=${minor%%.*}
  local staging="v0.${K8S_VERSION#*.}"
  STEP="kubernetes: download k8s.io/kubernetes@v$K8S_VERSION"
  moddl "k8s.io/kubernetes@v$K8S_VERSION"
  STEP="kubernetes: write wrapper module (staging modules -> $staging)"
  wrapper "kubernetes-$K8S_VERSION" k8s.io/kubernetes "v$K8S_VERSION" "$staging"
  local date ld="-s -w" pkg p
  date=$(date -u -d "$MOD_TIME" +%Y-%m-%dT%H:%M:%SZ)
  # As hack/lib/version.sh does for a release build.
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    ld+=" -X $pkg.gitVersion=v$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ld+=" -X $pkg.gitCommit=$MOD_HASH -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
  done
  local tmp=$KUBE_DIR.tmp.$$ pkgs=()
  rm -rf "$tmp" && mkdir -p "$tmp"
  for p in "${KUBE_CMDS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$p"); done
  STEP="kubernetes: go build ${KUBE_CMDS[*]}"
  (cd "$WRAP" && "$GO" build -p "$JOBS" -trimpath -tags selinux,notest,grpcnotrace \
    -ldflags "$ld" -o "$tmp/" "${pkgs[@]}")
  STEP="kubernetes: check versions"
  local v
  for p in "${KUBE_CMDS[@]}"; do
    v=$("$tmp/$p" --version)
    [[ $v == "Kubernetes v$K8S_VERSION" ]] || die "$p --version says: $v"
  done
  finish "$KUBE_DIR" "$key" "$tmp"
  done_ "$name" "$KUBE_DIR/{$(IFS=,; echo "${KUBE_CMDS[*]}")}"
}

# -------------------------------------------------------------------- etcd --
build_etcd() {
  local name="etcd v$ETCD_VERSION" key="etcd v$ETCD_VERSION recipe $RECIPE"
  if cached "$ETCD_DIR" "$key" etcd; then hit "$name" "$ETCD_DIR/etcd"; return; fi
  begin "$name"
  STEP="etcd: download go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
  moddl "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
  STEP="etcd: write wrapper module (sibling modules -> v$ETCD_VERSION)"
  wrapper "etcd-$ETCD_VERSION" go.etcd.io/etcd/server/v3 "v$ETCD_VERSION" "v$ETCD_VERSION"
  local tmp=$ETCD_DIR.tmp.$$
  rm -rf "$tmp" && mkdir -p "$tmp"
  STEP="etcd: go build go.etcd.io/etcd/server/v3"
  (cd "$WRAP" && "$GO" build -p "$JOBS" -trimpath \
    -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=${MOD_HASH:0:7}" \
    -o "$tmp/etcd" go.etcd.io/etcd/server/v3)
  STEP="etcd: check version"
  local v; v=$("$tmp/etcd" --version)
  [[ $v == "etcd Version: $ETCD_VERSION"$'\n'* ]] || die "etcd --version says: ${v%%$'\n'*}"
  finish "$ETCD_DIR" "$key" "$tmp"
  done_ "$name" "$ETCD_DIR/etcd"
}

# -------------------------------------------------------------------- kwok --
build_kwok() {
  go_tool kwok "$KWOK_DIR" sigs.k8s.io/kwok "v$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok \
    "-X sigs.k8s.io/kwok/pkg/consts.Version=v$KWOK_VERSION" "*$KWOK_VERSION*" --version
}
# -------------------------------------------------------------------- helm --
build_helm() {
  # The ldflags of upstream's Makefile for a release build.
  local v=helm.sh/helm/v3/internal/version
  go_tool helm "$HELM_DIR" helm.sh/helm/v3 "v$HELM_VERSION" helm.sh/helm/v3/cmd/helm \
    "-X $v.version=v$HELM_VERSION -X $v.gitCommit=@HASH@ -X $v.gitTreeState=clean" "v$HELM_VERSION" \
    version --template '{{.Version}}'
}
# ---------------------------------------------------------------- registry --
build_registry() {
  # upstream's Makefile stamps version.version / version.revision the same way.
  local v=github.com/distribution/distribution/v3/version
  go_tool registry "$REGISTRY_DIR" github.com/distribution/distribution/v3 "v$REGISTRY_VERSION" \
    github.com/distribution/distribution/v3/cmd/registry \
    "-X $v.version=v$REGISTRY_VERSION -X $v.revision=@HASH@" "*v$REGISTRY_VERSION*" --version
}
# --------------------------------------------------------------------- env --
print_env() {
  local path=() d
  if ! system_tofu; then
    [[ -x $TOFU_DIR/tofu ]] && path+=("$TOFU_DIR")
  fi
  for d in "$KUBE_DIR" "$ETCD_DIR" "$KWOK_DIR" "$HELM_DIR" "$REGISTRY_DIR"; do
    [[ -d $d ]] && path+=("$d")
  done
  if ((${#path[@]})); then
    printf 'export PATH=%q:"$PATH"\n' "$(IFS=:; echo "${path[*]}")"
  fi
  if ! system_tofu; then
    if [[ -f $TOFURC ]]; then printf 'export TF_CLI_CONFIG_FILE=%q\n' "$TOFURC"; fi
    if [[ -x $TOFU_DIR/tofu ]]; then echo 'export TERRAFORM_BINARY_NAME=tofu'; fi
  fi
  for d in tofu:"$TOFU_DIR" kube:"$KUBE_DIR" etcd:"$ETCD_DIR" kwok:"$KWOK_DIR" helm:"$HELM_DIR" registry:"$REGISTRY_DIR"; do
    if [[ ${d%%:*} == tofu ]] && system_tofu; then continue; fi
    [[ -d ${d#*:} ]] || echo "# toolchain: ${d%%:*} not built yet (scripts/toolchain.sh ${d%%:*})" >&2
  done
}

# ------------------------------------------------------------------ verify --
verify() {
  eval "$(print_env 2>/dev/null)"
  local t
  if ! system_tofu; then
    STEP="verify: tofu version"; t=$(tofu version); echo "${t%%$'\n'*}" >&2
    STEP="verify: offline tofu init + validate"
    t=$(mktemp -d)
    cat >"$t/main.tf.json" <<'EOF'
{
  "terraform": {"required_providers": {
    "kubernetes": {"source": "hashicorp/kubernetes", "version": "2.38.0"},
    "helm": {"source": "hashicorp/helm", "version": "3.1.1"},
    "random": {"source": "hashicorp/random", "version": "3.7.2"}}},
  "provider": {"kubernetes": [{}], "helm": [{}], "random": [{}]},
  "resource": {"random_id": {"x": {"byte_length": 4}}}
}
EOF
    (cd "$t" && tofu init -input=false -no-color >init.log 2>&1) || { cat "$t/init.log" >&2; die "tofu init"; }
    grep -E 'Installed hashicorp' "$t/init.log" >&2
    (cd "$t" && tofu validate -no-color) >&2
    rm -rf "$t"
  fi
  STEP="verify: kubernetes"; local p
  for p in "${KUBE_CMDS[@]}"; do echo "$p: $("$p" --version)" >&2; done
  STEP="verify: etcd"; t=$(etcd --version); echo "${t%%$'\n'*}" >&2
  STEP="verify: kwok"; kwok --version >&2
  STEP="verify: helm"; echo "helm: $(helm version --short)" >&2
  STEP="verify: registry"; echo "registry: $(registry --version)" >&2
  log "verify: ok"
}

# -------------------------------------------------------------------- main --
# (All inside a function so that editing this file while it runs is harmless.)
usage() { echo "usage: $0 [all|tofu|providers|kube|etcd|kwok|helm|registry]... | env | verify | prune" >&2; exit 2; }

main() {
  (($#)) || set -- all
  local t
  case $1 in
    env) print_env; exit 0 ;;
    verify) verify; exit 0 ;;
    prune)
      # The binaries stay; only the Go build cache and wrapper modules go.
      lock; rm -rf "$ROOT/go-build" "$ROOT/build"; log "pruned $ROOT/go-build and $ROOT/build"; exit 0 ;;
    -h | --help | help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  esac
  for t in "$@"; do
    case $t in all | tofu | providers | kube | kubernetes | etcd | kwok | helm | registry) ;; *) usage ;; esac
  done
  lock
  setup_go
  for t in "$@"; do
    case $t in
      all) build_tofu; build_providers; build_etcd; build_kube; build_kwok; build_helm; build_registry ;;
      tofu) build_tofu ;;
      providers) build_providers ;;
      kube | kubernetes) build_kube ;;
      etcd) build_etcd ;;
      kwok) build_kwok ;;
      helm) build_helm ;;
      registry) build_registry ;;
    esac
  done
  STEP=done
  log "$*: done in ${SECONDS}s (cache $ROOT)"
}

main "$@"
exit $?
