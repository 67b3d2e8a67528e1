"""Issue 12 on the real charts: every image each environment renders comes from its registry, the
inventory (`kfstack images`) equals the rendered set, and no default image is Bitnami, gcr.io or
`latest` beyond the listed exceptions.

Real content only: upstream charts from ``../shared/upstream/charts`` (the offline mirror of the
pinned upstream charts, read in place), kustomize parts rendered from the vendor cache (filled from
``../shared/upstream/git`` when missing), kfstack's own charts. Needs the Helm CLI
(``scripts/toolchain.sh helm``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kfstack.images import NOT_REHOSTABLE, UPSTREAM_SOURCE_EXCEPTIONS, is_forbidden_source, parse_image
from kfstack.images_inventory import build_inventory, environment_images, skopeo_stream
from kfstack.check.render import HelmMissing, helm_binary
from tests.conftest import ROOT
from tests.toolchain import unavailable, upstream_mirror

UPSTREAM = upstream_mirror()
ENVS = ("dev", "local", "prod", "staging")


@pytest.fixture(scope="module")
def helm() -> Path:
    try:
        return Path(helm_binary())
    except HelmMissing as exc:
        unavailable(str(exc))


@pytest.fixture(scope="module")
def upstream_charts() -> Path:
    charts = UPSTREAM / "charts"
    if not (charts / "index.yaml").is_file():
        unavailable(f"no offline upstream chart mirror at {charts} (set KFSTACK_UPSTREAM_MIRROR)")
    return charts


@pytest.fixture(scope="module")
def vendored(real_envs) -> None:
    """The vendor cache holds every kustomize base (vendored from the offline git mirror if not)."""
    from kfstack.sources.lock import load_lock

    lock = load_lock(ROOT / "sources.lock")
    missing = [p.name for p in lock.kustomize if not (ROOT / "vendor" / "kustomize" / p.vendor_name).is_dir()]
    if not missing:
        return
    git = UPSTREAM / "git" / "github.com"
    if not git.is_dir():
        unavailable(f"kustomize bases {missing} not vendored and no git mirror at {git}")
    env = dict(os.environ, GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0=f"url.file://{git}/.insteadOf",
               GIT_CONFIG_VALUE_0="https://github.com/")
    proc = subprocess.run([sys.executable, "-m", "kfstack.cli", "vendor", *missing], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900, check=False)
    still = [p.name for p in lock.kustomize if not (ROOT / "vendor" / "kustomize" / p.vendor_name).is_dir()]
    assert not still, f"vendoring {still} failed: {proc.stderr[-2000:]}"


@pytest.fixture(scope="module")
def inventories(real_envs, helm, upstream_charts, vendored):
    """`kfstack images` of every environment (computed once)."""
    from kfstack.sources.lock import load_lock

    lock = load_lock(ROOT / "sources.lock")
    return {name: build_inventory(real_envs[name], lock, ROOT, [upstream_charts], helm=helm) for name in ENVS}


@pytest.mark.parametrize("name", ENVS)
def test_inventory_equals_rendered_images(name, real_envs, inventories, helm, upstream_charts):
    """Rendering the environment as configured yields exactly the inventory's pulled references."""
    from kfstack.sources.lock import load_lock

    env = real_envs[name]
    # The pull secret changes no image; mysql-innodbcluster `lookup`s it, which `helm template` cannot.
    registry = env.registry.model_copy(update={"pull_secret": None}) if env.registry else None
    rendered, _ = environment_images(env.model_copy(update={"registry": registry}), load_lock(ROOT / "sources.lock"),
                                     ROOT, [upstream_charts], helm=helm)
    inventory = inventories[name]
    assert set(rendered) - set(NOT_REHOSTABLE) == inventory.pulled
    assert len(inventory.entries) > 50
    if env.registry:
        outside = sorted(i for i in rendered if not i.startswith(f"{env.registry.host}/") and i not in NOT_REHOSTABLE)
        assert outside == [], f"{name}: images outside {env.registry.host}"
        assert all(e.mirror == f"{env.registry.host}/{parse_image(e.upstream).path}{parse_image(e.upstream).version}"
                   for e in inventory.entries)
    print(f"{name}: {len(inventory.entries)} images")


def test_no_default_image_from_bitnami_gcr_or_latest(inventories):
    bad = {(name, e.upstream, is_forbidden_source(e.upstream)) for name, inv in inventories.items()
           for e in inv.entries if is_forbidden_source(e.upstream) and e.upstream not in UPSTREAM_SOURCE_EXCEPTIONS}
    assert bad == set()
    # every exception is still needed (upstream may move the image) and says why
    used = {e.upstream for inv in inventories.values() for e in inv.entries}
    assert set(UPSTREAM_SOURCE_EXCEPTIONS) <= used
    assert all(len(reason) > 40 for reason in [*UPSTREAM_SOURCE_EXCEPTIONS.values(), *NOT_REHOSTABLE.values()])


def test_skopeo_sync_files_fill_the_mirror_path_for_path(inventories):
    """Replay skopeo's naming (docker destination without --scoped: <dest>/<last path component>)."""
    prod = inventories["prod"]
    stream = skopeo_stream(prod)
    assert stream == skopeo_stream(inventories["prod"])
    synced = set()
    for doc_text in stream.split("\n---\n")[1:]:
        dest = doc_text.split("# destination: ", 1)[1].split("\n", 1)[0]
        doc = yaml.safe_load(doc_text)
        for registry, config in doc.items():
            for path, versions in config["images"].items():
                for v in versions:
                    synced.add(f"{dest}/{path.rpartition('/')[2]}{'@' if v.startswith('sha256:') else ':'}{v}")
    assert synced == {e.mirror for e in prod.entries}


def test_cli_images_json(inventories, upstream_charts):
    from typer.testing import CliRunner

    from kfstack.cli import app

    result = CliRunner().invoke(app, ["images", "staging", "--format", "json", "--charts", str(upstream_charts)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["registry"] == "registry.internal"
    assert [i["upstream"] for i in data["images"]] == sorted(e.upstream for e in inventories["staging"].entries)


def test_skopeo_dry_run_copies_every_image_to_its_mirror_reference(inventories, tmp_path):
    """The real skopeo (Debian's, when installed) reads the files and names exactly the mirror references."""
    import re
    import shutil

    from kfstack.images_inventory import write_skopeo

    if shutil.which("skopeo") is None:
        unavailable("skopeo not installed (scripts/ci-packages.sh installs it; apt-get install skopeo)")
    prod = inventories["prod"]
    files = write_skopeo(prod, tmp_path)
    copied = set()
    for f in files[:-1]:
        dest = f.read_text().split("# destination: ", 1)[1].split("\n", 1)[0]
        proc = subprocess.run(["skopeo", "sync", "--dry-run", "--src", "yaml", "--dest", "docker", str(f), dest],
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr[-2000:]
        copied |= set(re.findall(r'to="docker://([^"]+)"', proc.stderr))
    assert copied == {e.mirror for e in prod.entries}
    assert f"sync-{len(files) - 1:02d}.yaml" in files[-1].read_text()
