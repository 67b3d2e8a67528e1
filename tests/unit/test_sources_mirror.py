"""Kustomize apps in mode mirror (parts from sources.lock, no cache), exclusions, and
`kfstack vendor --publish` (fixtures: tests/fixtures/kustomize, stand-ins)."""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path

import pytest
import yaml

from kfstack.constructs.pipelines.settings import PipelinesSettings
from kfstack.sources.charts import ChartResolver, ChartSource, SourceError
from kfstack.sources.kustomize import render_kustomize
from kfstack.sources.lock import KustomizePin, RenderedChart, SourcesLock, load_lock
from kfstack.sources.publish import package_bytes, part_digests, publish_repository
from tests.unit.test_kustomize import FIXTURES, template_objects, vendor_fixture

ROOT = Path(__file__).resolve().parents[2]
MIRROR = "https://charts.dev.internal/kfstack"


def test_mirror_mode_uses_lock_parts_without_any_cache(tmp_path):
    lock = load_lock(ROOT / "sources.lock")
    resolver = ChartResolver(lock, mode="mirror", mirror_url=MIRROR, vendor_dir=tmp_path / "no-vendor",
                             build_dir=tmp_path / "no-build")
    refs = ChartSource(resolver, "2.16.0", PipelinesSettings.INSTALLS[0]).kustomize("pipelines")
    assert [(r.name, r.version, r.repository, r.local_path) for r in refs] == [
        ("pipelines-crds", "2.16.0", MIRROR, None), ("pipelines", "2.16.0", MIRROR, None)]
    assert refs[0].release_args() == {"chart": "pipelines-crds", "repository": MIRROR, "version": "2.16.0"}
    assert not (tmp_path / "no-build").exists()  # nothing rendered


def test_every_pinned_base_has_parts_crds_first():
    lock = load_lock(ROOT / "sources.lock")
    for pin in lock.kustomize:
        names = [c.name for c in pin.charts]
        assert names, f"{pin.name}: no parts; run `kfstack vendor --update-lock`"
        crds = [n for n in names if n.startswith(f"{pin.name}-crds")]
        assert names[: len(crds)] == crds and pin.name in names


def test_mirror_mode_without_parts_names_entry_and_command():
    lock = SourcesLock(kustomize=(KustomizePin(name="katib", app_version="0.19.0", git="https://x.test/m",
                                               ref="26.03", path="a"),))
    resolver = ChartResolver(lock, mode="mirror", mirror_url=MIRROR)
    with pytest.raises(SourceError) as exc:
        resolver.kustomize("katib", "0.19.0")
    msg = str(exc.value)
    assert "katib 0.19.0" in msg and "`kfstack vendor --update-lock`" in msg


@pytest.mark.parametrize("mode", ["upstream", "vendored"])
def test_other_modes_render_from_cache_and_fail_without_it(tmp_path, mode):
    lock = load_lock(ROOT / "sources.lock")
    resolver = ChartResolver(lock, mode=mode, vendor_dir=tmp_path / "vendor", build_dir=tmp_path / "build")
    with pytest.raises(SourceError, match=r"katib 0\.19\.0 is not in the vendor cache.*`kfstack vendor`"):
        resolver.kustomize("katib", "0.19.0")


def test_exclusions_are_applied_and_change_the_parts(tmp_path):
    pin = vendor_fixture(tmp_path / "vendor", "small", FIXTURES / "small")
    full = render_kustomize(pin, tmp_path / "vendor", tmp_path / "full")
    excluding = pin.model_copy(update={"exclude": ("ConfigMap/fixture-app/fixture-templates",
                                                   "CustomResourceDefinition/widgets.fixture.kfstack.test")})
    refs = render_kustomize(excluding, tmp_path / "vendor", tmp_path / "out")
    assert [r.name for r in refs] == ["small"]  # the only CRD is excluded: no CRD part
    assert sorted(o["kind"] for o in template_objects(refs[0].local_path)) == ["Deployment", "Service"]
    assert part_digests(refs) != part_digests(full[1:])
    # a cached render without exclusions is not reused for the recipe with them
    again = render_kustomize(excluding, tmp_path / "vendor", tmp_path / "full")
    assert [r.name for r in again] == ["small"]


def test_exclude_matching_nothing_is_an_error(tmp_path):
    pin = vendor_fixture(tmp_path / "vendor", "small", FIXTURES / "small")
    stale = pin.model_copy(update={"exclude": ("Secret/fixture-app/renamed-upstream",)})
    with pytest.raises(SourceError, match="match no rendered object: Secret/fixture-app/renamed-upstream"):
        render_kustomize(stale, tmp_path / "vendor", tmp_path / "out")


def test_exclude_entries_are_validated():
    with pytest.raises(ValueError, match="exclude"):
        KustomizePin(name="x", app_version="1.0.0", git="https://x.test/m", ref="v1", path="a",
                     exclude=("not an object id",))


def _lock_with_parts(tmp_path) -> tuple[SourcesLock, Path]:
    pin = vendor_fixture(tmp_path / "vendor", "small", FIXTURES / "small")
    refs = render_kustomize(pin, tmp_path / "vendor", tmp_path / "probe")
    pin = pin.model_copy(update={"charts": tuple(RenderedChart(name=n, digest=d) for n, d in part_digests(refs))})
    return SourcesLock(kustomize=(pin,)), tmp_path / "vendor"


def test_publish_writes_a_helm_repository_with_digests(tmp_path):
    lock, vendor = _lock_with_parts(tmp_path)
    repo = tmp_path / "repo"
    (published,) = publish_repository(lock, vendor, tmp_path / "build", repo)
    assert [a.name for a in published[1]] == ["small-crds-1.0.0.tgz", "small-1.0.0.tgz"]
    index = yaml.safe_load((repo / "index.yaml").read_text())
    assert index["apiVersion"] == "v1" and sorted(index["entries"]) == ["small", "small-crds"]
    for part in lock.kustomize[0].charts:
        (entry,) = index["entries"][part.name]
        archive = repo / entry["urls"][0]
        assert entry["version"] == "1.0.0" and entry["appVersion"] == "1.0.0" and entry["apiVersion"] == "v2"
        assert "sha256:" + entry["digest"] == part.digest == "sha256:" + hashlib.sha256(archive.read_bytes()).hexdigest()
        with tarfile.open(archive) as tar:
            names = tar.getnames()
            assert f"{part.name}/Chart.yaml" in names and all(n.startswith(f"{part.name}/") for n in names)
            assert {m.mtime for m in tar.getmembers()} == {0}
            assert yaml.safe_load(tar.extractfile(f"{part.name}/Chart.yaml"))["name"] == part.name


def test_publish_is_deterministic_and_merges_existing_index(tmp_path):
    lock, vendor = _lock_with_parts(tmp_path)
    publish_repository(lock, vendor, tmp_path / "build-a", tmp_path / "a")
    publish_repository(lock, vendor, tmp_path / "build-b", tmp_path / "b")
    files_a = {p.name: p.read_bytes() for p in sorted((tmp_path / "a").iterdir())}
    files_b = {p.name: p.read_bytes() for p in sorted((tmp_path / "b").iterdir())}
    assert files_a == files_b
    # publishing again into the same folder keeps other charts' entries and rewrites identically
    index = tmp_path / "a" / "index.yaml"
    other = yaml.safe_load(index.read_text())
    other["entries"]["other"] = [{"apiVersion": "v2", "name": "other", "version": "0.1.0", "urls": ["o.tgz"],
                                  "digest": "0" * 64}]
    index.write_text(yaml.safe_dump(other))
    publish_repository(lock, vendor, tmp_path / "build-a", tmp_path / "a")
    merged = yaml.safe_load(index.read_text())
    assert sorted(merged["entries"]) == ["other", "small", "small-crds"]
    assert package_bytes(tmp_path / "build-a" / "kustomize" / "small-1.0.0" / "small") == files_a["small-1.0.0.tgz"]


def test_publish_refuses_parts_that_differ_from_the_lock(tmp_path):
    lock, vendor = _lock_with_parts(tmp_path)
    pin = lock.kustomize[0]
    wrong = pin.model_copy(update={"charts": (pin.charts[0], RenderedChart(name="small", digest="sha256:" + "0" * 64))})
    with pytest.raises(SourceError, match="`kfstack vendor --update-lock`"):
        publish_repository(SourcesLock(kustomize=(wrong,)), vendor, tmp_path / "build", tmp_path / "repo")
    assert not (tmp_path / "repo" / "index.yaml").exists()
