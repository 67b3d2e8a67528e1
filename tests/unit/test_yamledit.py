"""kfstack.yamledit: comment-preserving edits; sources.lock keeps its comments and its look."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import pytest

from kfstack import yamledit
from kfstack.sources.lock import load_lock
from kfstack.sources.vendor import write_digests, write_parts
from tests.conftest import ROOT

SHIPPED = sorted([ROOT / "sources.lock", *(ROOT / "environments").glob("*.yaml")])


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_an_unchanged_document_dumps_to_the_same_bytes(path: Path):
    text = path.read_text()
    assert yamledit.dump(yamledit.load(text)) == text


def _changes(old: str, new: str) -> tuple[list[str], list[str]]:
    """(removed lines, added lines) of a line diff."""
    diff = list(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0))[2:]
    return ([d[1:] for d in diff if d.startswith("-")], [d[1:] for d in diff if d.startswith("+")])


def test_recording_digests_and_parts_in_the_real_lock_changes_only_those_values(tmp_path):
    lock = tmp_path / "sources.lock"
    original = (ROOT / "sources.lock").read_text()
    lock.write_text(original)
    pinned = load_lock(lock)
    last = pinned.kustomize[-1]  # followed by the comment block that introduces `remotes:`
    part_line = "      - {{name: {}, digest: {}}}".format
    d1, d2, d3 = ("sha256:" + c * 64 for c in "abc")
    write_digests(lock, {("charts", "gateway", "1.29.0"): d1,            # followed by the NVIDIA comment
                         ("kustomize", last.name, last.app_version): d2,
                         ("remotes", "jobset-v0.6.0-manifests", ""): d3})
    parts = [(f"{last.name}-crds", "sha256:" + "d" * 64), (last.name, "sha256:" + "e" * 64)]
    write_parts(lock, {(last.name, last.app_version): parts, ("katib", "0.19.0"): []})
    new = lock.read_text()
    removed, added = _changes(original, new)
    assert sorted(removed) == sorted([
        "    digest: null", "    digest: null", f"    digest: {last.digest or 'null'}", "    charts:", "    charts:",
        *(part_line(c.name, c.digest) for c in pinned.base("katib", "0.19.0").charts),
        *(part_line(c.name, c.digest) for c in last.charts)])
    assert sorted(added) == sorted([
        f"    digest: {d1}", f"    digest: {d2}", f"    digest: {d3}", "    charts: []", "    charts:",
        *(part_line(name, digest) for name, digest in parts)])
    # every comment line is still there, in order, in front of what it introduces
    comments = lambda text: [line for line in text.splitlines() if line.lstrip().startswith("#")]  # noqa: E731
    assert comments(new) == comments(original)
    assert f"    digest: {d1}\n  # NVIDIA GPU Operator" in new
    assert part_line(*parts[-1]) + "\n# Remote resources those kustomizations" in new
    parsed = load_lock(lock)
    assert parsed.chart("gateway", "1.29.0").digest == d1
    assert [(c.name, c.digest) for c in parsed.base(last.name, last.app_version).charts] == parts
    assert parsed.base("katib", "0.19.0").charts == ()


def test_a_digest_is_added_after_a_block_list_not_inside_it(tmp_path):
    """An entry whose last field is a list (``exclude``) and that has no digest yet: the digest goes
    after the list (the column-based editor put it under ``exclude:``, breaking the file)."""
    text = (ROOT / "sources.lock").read_text()
    katib = re.search(r"(?ms)^  - name: katib\n.*?(?=^  - name: )", text).group(0)
    bare = re.sub(r"(?m)^    digest: .*\n", "", re.sub(r"(?ms)^    charts:\n(      - .*?\n)+", "", katib))
    assert bare.rstrip().endswith("- PersistentVolumeClaim/kubeflow/katib-mysql")
    lock = tmp_path / "sources.lock"
    lock.write_text(text.replace(katib, bare))
    write_digests(lock, {("kustomize", "katib", "0.19.0"): "sha256:" + "f" * 64})
    new = lock.read_text()
    assert "      - PersistentVolumeClaim/kubeflow/katib-mysql\n    digest: sha256:ffff" in new
    assert load_lock(lock).base("katib", "0.19.0").digest == "sha256:" + "f" * 64


def test_replace_keeps_the_comments_that_introduce_the_next_key():
    doc = yamledit.load("a:\n  b:\n    - 1\n    - 2  # two\n# about c\n\nc: 3\nd:\n  e: 1\n# end of file\n")
    yamledit.replace(doc["a"], "b", yamledit.block_sequence([7]))
    yamledit.replace(doc["d"], "f", yamledit.flow_mapping({"x": 1, "y": None}))
    assert yamledit.dump(doc) == ("a:\n  b:\n    - 7\n# about c\n\nc: 3\nd:\n  e: 1\n  f: {x: 1, y: null}\n"
                                  "# end of file\n")


def test_write_text_is_atomic_and_keeps_the_mode(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text("a: 1\n")
    path.chmod(0o640)
    yamledit.write_text(path, "a: 2\n")
    assert path.read_text() == "a: 2\n" and path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["f.yaml"]
