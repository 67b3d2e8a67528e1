"""`kfstack vendor` against local stand-ins: git repositories created in tmp_path (file:// URLs),
a plain file as an https-kind remote, and a chart repository served on 127.0.0.1."""

from __future__ import annotations

import hashlib
import re
import http.server
import io
import shutil
import subprocess
import tarfile
import threading
from pathlib import Path

import pytest
import yaml

from kfstack.sources.kustomization import tree_digest
from kfstack.sources.kustomize import render_kustomize
from kfstack.sources.lock import load_lock
from kfstack.sources.publish import part_digests
from kfstack.sources.vendor import Status, VendorError, closure, vendor_all, write_digests, write_parts

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "kustomize"


def git_repo(folder: Path, tag: str) -> str:
    """Commit ``folder`` as a git repository tagged ``tag``; return its file:// URL."""
    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=kfstack-test", "-c", "user.email=test@kfstack.invalid",
                        "-c", "init.defaultBranch=main", *args], cwd=folder, check=True, capture_output=True)

    git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "-m", "fixture")
    git("tag", tag)
    return folder.resolve().as_uri()


@pytest.fixture
def upstream(tmp_path):
    """Two local git repositories (app + remote base), a remote file, and a sources.lock pinning them."""
    remote_dir = tmp_path / "remote"
    shutil.copytree(FIXTURES / "remote-repo", remote_dir)
    remote_url = git_repo(remote_dir, "v0.1.0")
    remote_ref = f"{remote_url}//config/default?ref=v0.1.0"
    file_url = (FIXTURES / "remote-file.yaml").as_uri()

    app_dir = tmp_path / "app"
    shutil.copytree(FIXTURES / "small", app_dir / "small")
    shutil.copytree(FIXTURES / "app-repo" / "overlay", app_dir / "overlay")
    k = app_dir / "overlay" / "kustomization.yaml"
    k.write_text(k.read_text().replace("@REMOTE_GIT@", remote_ref).replace("@REMOTE_FILE@", file_url))
    app_url = git_repo(app_dir, "v1.0.0")

    lock = tmp_path / "sources.lock"
    lock.write_text(f"""\
# stand-in lock for tests
lock_version: 1
kustomize:
  - name: fixture-app
    app_version: 1.0.0
    git: {app_url}
    ref: v1.0.0
    path: overlay
    digest: null
remotes:
  - name: fixture-remote
    url: {remote_ref}
    kind: git
    git: {remote_url}
    ref: v0.1.0
    path: config/default
    digest: null   # filled by kfstack vendor
  - name: fixture-file
    url: {file_url}
    kind: https
    digest: null
charts: []
""")
    return {"lock": lock, "vendor": tmp_path / "vendor", "tmp": tmp_path}


def test_vendor_from_local_git_records_digests(upstream):
    results = vendor_all(upstream["lock"], upstream["vendor"], update_lock=True)
    by_name = {r.name: r for r in results}
    assert {r.status for r in results} == {Status.recorded}, results
    assert set(by_name) == {"fixture-app", "fixture-app-charts", "fixture-remote", "fixture-file"}
    lock = load_lock(upstream["lock"])
    base = upstream["vendor"] / "kustomize" / "fixture-app-1.0.0"
    pin = lock.base("fixture-app", "1.0.0")
    assert pin.digest == tree_digest(base) == by_name["fixture-app"].digest
    assert lock.remotes[1].digest == "sha256:" + hashlib.sha256((FIXTURES / "remote-file.yaml").read_bytes()).hexdigest()
    assert lock.remotes[0].digest == tree_digest(base / "_remote" / "fixture-remote")
    assert upstream["lock"].read_text().startswith("# stand-in lock for tests\n")
    assert "digest: null   # filled" not in upstream["lock"].read_text()
    # rewritten to the vendored copies; no .git
    overlay = (base / "overlay" / "kustomization.yaml").read_text()
    assert "- ../_remote/fixture-remote/config/default\n" in overlay and "- ../_remote/fixture-file\n" in overlay
    assert not list(base.rglob(".git"))
    assert (base / "_remote" / "fixture-remote" / "config" / "rbac" / "role.yaml").is_file()

    refs = render_kustomize(pin, upstream["vendor"], upstream["tmp"] / "build")
    assert [r.name for r in refs] == ["fixture-app-crds", "fixture-app"]
    # the rendered parts and their archive digests are in the lock, CRDs first
    assert [(c.name, c.digest) for c in pin.charts] == part_digests(refs)
    assert "    charts:\n      - {name: fixture-app-crds, digest: sha256:" in upstream["lock"].read_text()
    crds = sorted(f.name for f in (refs[0].local_path / "templates").iterdir())
    assert crds == ["customresourcedefinition_cluster_gadgets.fixture.kfstack.test.yaml",
                    "customresourcedefinition_cluster_widgets.fixture.kfstack.test.yaml"]
    rest = {f.name for f in (refs[1].local_path / "templates").iterdir()}
    assert "clusterrole_cluster_fixture-remote-reader.yaml" in rest
    assert "namespace_cluster_fixture-remote-file.yaml" in rest


def test_verify_mode_accepts_matching_and_rejects_mismatch(upstream):
    vendor_all(upstream["lock"], upstream["vendor"], update_lock=True)
    again = vendor_all(upstream["lock"], upstream["vendor"])
    assert {r.status for r in again} == {Status.verified}

    text = upstream["lock"].read_text()
    pinned = load_lock(upstream["lock"]).base("fixture-app", "1.0.0").digest
    upstream["lock"].write_text(text.replace(pinned, "sha256:" + "1" * 64))
    cached = tree_digest(upstream["vendor"] / "kustomize" / "fixture-app-1.0.0")
    results = vendor_all(upstream["lock"], upstream["vendor"])
    bad = [r for r in results if r.status.is_error]
    assert [(r.kind, r.name, r.status) for r in bad] == [("kustomize", "fixture-app", Status.mismatch)]
    assert "digest mismatch" in bad[0].message and pinned in bad[0].message
    assert tree_digest(upstream["vendor"] / "kustomize" / "fixture-app-1.0.0") == cached  # cache untouched


def test_unpinned_digest_in_verify_mode_is_reported(upstream):
    results = vendor_all(upstream["lock"], upstream["vendor"])
    assert {r.status for r in results} == {Status.unpinned}
    assert "null" in upstream["lock"].read_text()


def test_unpinned_remote_is_an_error_naming_the_url(upstream):
    text = upstream["lock"].read_text()
    upstream["lock"].write_text(text[: text.index("  - name: fixture-file")] + "charts: []\n")
    (result,) = vendor_all(upstream["lock"], upstream["vendor"], update_lock=True)
    assert result.status is Status.failed
    assert "unpinned remote reference file://" in result.message and "remote-file.yaml" in result.message
    assert not (upstream["vendor"] / "kustomize" / "fixture-app-1.0.0").exists()


def test_missing_tag_fails_clearly(upstream):
    upstream["lock"].write_text(upstream["lock"].read_text().replace("ref: v1.0.0", "ref: v9.9.9"))
    (result,) = vendor_all(upstream["lock"], upstream["vendor"], update_lock=True)
    assert result.status is Status.failed and "v9.9.9" in result.message


def test_closure_copies_only_what_the_kustomization_reads(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "small", repo / "apps" / "small")
    (repo / "apps" / "unrelated").mkdir()
    (repo / "apps" / "unrelated" / "big.yaml").write_text("x: 1\n")
    files, remotes = closure(repo, "apps/small")
    assert sorted(f.name for f in files) == ["crd.yaml", "deployment.yaml", "kustomization.yaml",
                                             "service.yaml", "workflow.tmpl"]
    assert remotes == []
    with pytest.raises(VendorError, match="outside the repository"):
        (repo / "apps" / "small" / "kustomization.yaml").write_text("resources:\n- ../../../elsewhere\n")
        closure(repo, "apps/small")


def test_write_digests_changes_only_digest_lines(tmp_path):
    lock = tmp_path / "sources.lock"
    original = re.sub(r"(?m)^    digest: sha256:[0-9a-f]{64}$", "    digest: null",
                      (Path(__file__).resolve().parents[2] / "sources.lock").read_text())
    lock.write_text(original)
    d1, d2 = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    write_digests(lock, {("kustomize", "katib", "0.19.0"): d1, ("remotes", "argo-workflows-crds-minimal", ""): d2})
    new = lock.read_text()
    changed = [(a, b) for a, b in zip(original.splitlines(), new.splitlines()) if a != b]
    assert len(original.splitlines()) == len(new.splitlines())
    assert changed == [("    digest: null", f"    digest: {d1}"), ("    digest: null", f"    digest: {d2}")]
    parsed = load_lock(lock)
    assert parsed.base("katib", "0.19.0").digest == d1
    assert parsed.remote("https://github.com/argoproj/argo-workflows/manifests/base/crds/minimal?ref=v3.7.3").digest == d2
    with pytest.raises(VendorError, match="no entries"):
        write_digests(lock, {("kustomize", "nope", "1.0.0"): d1})


def test_write_parts_replaces_only_the_charts_block(tmp_path):
    lock = tmp_path / "sources.lock"
    original = (Path(__file__).resolve().parents[2] / "sources.lock").read_text()
    lock.write_text(original)
    parts = [("katib-crds", "sha256:" + "c" * 64), ("katib", "sha256:" + "d" * 64)]
    write_parts(lock, {("katib", "0.19.0"): parts})
    parsed = load_lock(lock)
    assert [(c.name, c.digest) for c in parsed.base("katib", "0.19.0").charts] == parts
    for pin in parsed.kustomize:  # every other entry unchanged
        if pin.name != "katib":
            assert pin == load_lock(Path(__file__).resolve().parents[2] / "sources.lock").base(pin.name, pin.app_version)
    write_parts(lock, {("katib", "0.19.0"): []})
    assert load_lock(lock).base("katib", "0.19.0").charts == ()
    assert len(lock.read_text().splitlines()) < len(original.splitlines())
    with pytest.raises(VendorError, match=r"no entries for \[\('kustomize', 'nope', '1.0.0'\)\]"):
        write_parts(lock, {("nope", "1.0.0"): parts})


def test_tree_digest_depends_on_paths_and_bytes_only(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for root in (a, b):
        (root / "sub").mkdir(parents=True)
        (root / "sub" / "x.yaml").write_text("x: 1\n")
        (root / "y.yaml").write_text("y: 2\n")
    assert tree_digest(a) == tree_digest(b)
    (b / "y.yaml").write_text("y: 3\n")
    assert tree_digest(a) != tree_digest(b)
    (b / "y.yaml").write_text("y: 2\n")
    (b / "sub" / "x.yaml").rename(b / "sub" / "z.yaml")
    assert tree_digest(a) != tree_digest(b)


def _chart_tgz(name: str, version: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = yaml.safe_dump({"apiVersion": "v2", "name": name, "version": version}).encode()
        info = tarfile.TarInfo(f"{name}/Chart.yaml")
        info.size = len(data)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_vendor_chart_from_a_helm_repository(tmp_path):
    served = tmp_path / "repo"
    served.mkdir()
    archive = _chart_tgz("fixture-chart", "1.2.3")
    (served / "fixture-chart-1.2.3.tgz").write_bytes(archive)
    (served / "index.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "entries": {"fixture-chart": [
        {"name": "fixture-chart", "version": "1.2.3", "urls": ["fixture-chart-1.2.3.tgz"],
         "digest": hashlib.sha256(archive).hexdigest()}]}}))

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(served), **k)

        def log_message(self, *_a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        lock = tmp_path / "sources.lock"
        lock.write_text(f"""lock_version: 1
charts:
  - name: fixture-chart
    repository: http://127.0.0.1:{server.server_port}/
    version: 1.2.3
    app_version: 1.2.3
    digest: null
  - name: oci-chart
    repository: oci://registry.invalid/charts
    version: 1.0.0
    app_version: 1.0.0
    digest: null
""")
        results = vendor_all(lock, tmp_path / "vendor", update_lock=True)
    finally:
        server.shutdown()
    by_name = {r.name: r for r in results}
    assert by_name["fixture-chart"].status is Status.recorded
    assert (tmp_path / "vendor" / "charts" / "fixture-chart-1.2.3.tgz").read_bytes() == archive
    assert load_lock(lock).chart("fixture-chart", "1.2.3").digest == "sha256:" + hashlib.sha256(archive).hexdigest()
    assert by_name["oci-chart"].status is Status.skipped and "helm pull oci://" in by_name["oci-chart"].message


def test_substituted_chart_is_the_newest_release_not_a_prerelease(tmp_path):
    from kfstack.sources.lock import ChartPin
    from kfstack.sources.vendor import _vendor_chart

    repo = tmp_path / "repo"
    repo.mkdir()
    entries = []
    for version in ("1.0.0-rc.1", "1.0.0", "0.9.0", "v1.2.0"):
        archive = _chart_tgz("fixture-chart", version)
        (repo / f"fixture-chart-{version}.tgz").write_bytes(archive)
        entries.append({"name": "fixture-chart", "version": version, "urls": [f"fixture-chart-{version}.tgz"],
                        "digest": hashlib.sha256(archive).hexdigest()})
    (repo / "index.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "entries": {"fixture-chart": entries}}))
    charts = tmp_path / "charts"
    charts.mkdir()

    def pin(version: str) -> ChartPin:
        return ChartPin(name="fixture-chart", repository="https://charts.invalid", version=version,
                        app_version="1.0.0")

    mirror = repo.as_uri()  # a site mirror replaces the pin's repository (file:// accepted)
    archive, message = _vendor_chart(pin("2.0.0"), charts, mirror, substitute=True)
    assert archive.name == "fixture-chart-v1.2.0.tgz" and "substituted v1.2.0" in message
    archive, message = _vendor_chart(pin("1.2.0"), charts, mirror)  # the index writes v1.2.0: the same version
    assert archive.name == "fixture-chart-1.2.0.tgz" and message == ""
    entries.remove(entries[-1])
    (repo / "index.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "entries": {"fixture-chart": entries}}))
    archive, message = _vendor_chart(pin("2.0.0"), charts, mirror, substitute=True)
    assert archive.name == "fixture-chart-1.0.0.tgz", message  # 1.0.0-rc.1 precedes its release
