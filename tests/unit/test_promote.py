"""Promotion dev → staging → prod: the release block moves, nothing else does."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from kfstack.config import ConfigError
from kfstack.config.loader import load_environment
from kfstack.promote import PROMOTION_CHAIN, PromotionError, check_chain, effective_release, plan_promotion
from tests.conftest import ROOT

DEV_RELEASE = """
release:                        # dev tries the next Istio and SeaweedFS first
  versions:
    istio: 1.30.1               # CVE fix
    seaweedfs: "4.45"
"""


@pytest.fixture
def project(tmp_path) -> Path:
    """A copy of the repository's environments/ (the real files, comments included)."""
    shutil.copytree(ROOT / "environments", tmp_path / "environments")
    return tmp_path


def _env(project: Path) -> Path:
    return project / "environments"


def _bump_dev(project: Path, text: str = DEV_RELEASE) -> None:
    dev = _env(project) / "dev.yaml"
    dev.write_text(dev.read_text() + text)


def _release_lines(text: str) -> tuple[list[str], list[str]]:
    """(lines before `release:`, lines from the next top-level key on)."""
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("release:"))
    end = next((i for i in range(start + 1, len(lines)) if lines[i][:1] not in (" ", "#", "\n", "")), len(lines))
    return lines[:start], lines[end:]


def test_chain_is_defined_once():
    assert PROMOTION_CHAIN == ("dev", "staging", "prod")


def test_versions_copied_and_file_round_trips_byte_for_byte(project):
    _bump_dev(project)
    before = (_env(project) / "staging.yaml").read_text()
    p = plan_promotion(_env(project), "dev", "staging", display_root=project)
    assert sorted((c, o, n) for c, o, n in p.changes) == [("istio", "1.29.0", "1.30.1"), ("seaweedfs", "4.44", "4.45")]
    p.write()
    after = (_env(project) / "staging.yaml").read_text()
    assert after.startswith(before)  # every line above the appended release block, comments included, is kept
    assert "# Shared T4s for notebooks" in after and "kfstack promote dev staging" in after
    release = yaml.safe_load(after)["release"]
    assert release["kubeflow"] == "26.03" and release["versions"]["seaweedfs"] == "4.45"  # quotes kept: a string
    env = load_environment(_env(project), "staging")
    assert env.release.versions.istio == "1.30.1" and env.release.versions.cert_manager == "1.19.4"
    assert env.release == load_environment(_env(project), "dev").release


def test_existing_release_block_edited_in_place_comments_kept(project):
    staging = _env(project) / "staging.yaml"
    staging.write_text(staging.read_text().replace(
        "components:\n", "release:   # staging's pinned release\n  kubeflow: \"26.03\"\n  versions:\n"
                         "    istio: 1.29.0    # keep this comment\n    kserve: 0.16.0\n\n# site settings below\n"
                         "components:\n", 1))
    _bump_dev(project)
    before = staging.read_text()
    p = plan_promotion(_env(project), "dev", "staging", display_root=project)
    p.write()
    after = staging.read_text()
    assert _release_lines(after) == _release_lines(before)  # byte-for-byte outside the release block
    assert "istio: 1.30.1    # keep this comment" in after and "# staging's pinned release" in after
    assert "# site settings below\ncomponents:" in after
    got = load_environment(_env(project), "staging")
    assert got.release == load_environment(_env(project), "dev").release
    diff = p.diff()
    assert "-    istio: 1.29.0    # keep this comment\n+    istio: 1.30.1    # keep this comment" in diff
    assert diff.startswith("--- a/environments/staging.yaml\n+++ b/environments/staging.yaml")


def test_sizing_and_site_settings_untouched(project):
    _bump_dev(project)
    old = load_environment(_env(project), "staging")
    plan_promotion(_env(project), "dev", "staging", display_root=project).write()
    new = load_environment(_env(project), "staging")
    for key in ("tier", "cluster", "node_pools", "storage", "registry", "sources", "backend", "components"):
        assert getattr(new, key) == getattr(old, key), key
    assert new.release != old.release


def test_invalid_result_rejected_nothing_written(project):
    _bump_dev(project, "release:\n  versions:\n    istio: latest\n")
    before = (_env(project) / "staging.yaml").read_text()
    with pytest.raises(ConfigError) as info:
        plan_promotion(_env(project), "dev", "staging", display_root=project)
    (p,) = info.value.problems
    assert p.file == "environments/staging.yaml" and p.path == ("release", "versions", "istio")
    assert "'latest' is not a version" in p.message
    assert (_env(project) / "staging.yaml").read_text() == before
    assert not list(_env(project).glob(".*tmp"))


def test_skip_refused_without_flag(project):
    _bump_dev(project)
    with pytest.raises(PromotionError, match=r"dev → prod skips staging.*--allow-skip"):
        plan_promotion(_env(project), "dev", "prod", display_root=project)
    p = plan_promotion(_env(project), "dev", "prod", allow_skip=True, display_root=project)
    assert ("istio", "1.29.0", "1.30.1") in p.changes


@pytest.mark.parametrize(("src", "dst", "needle"), [("prod", "staging", "backwards"), ("dev", "dev", "same"),
                                                    ("dev", "local", "not in the promotion chain")])
def test_other_steps_refused(project, src, dst, needle):
    with pytest.raises(PromotionError, match=needle):
        plan_promotion(_env(project), src, dst, display_root=project)


def test_same_release_changes_nothing(project):
    p = plan_promotion(_env(project), "dev", "staging", display_root=project)
    assert not p.changed and p.changes == [] and p.diff() == ""


def test_check_detects_prod_ahead_of_staging(project):
    assert check_chain(_env(project)) == []
    prod = _env(project) / "prod.yaml"
    prod.write_text(prod.read_text() + "\nrelease:\n  versions:\n    kserve: 0.16.1\n    katib: 0.19.0\n")
    (found,) = check_chain(_env(project))
    assert (found.later, found.earlier, found.component) == ("prod", "staging", "kserve")
    assert str(found) == "prod is ahead of staging: kserve 0.16.1 (prod) > 0.16.0 (staging)"


def test_check_compares_semantically(project):
    _bump_dev(project, "release:\n  versions:\n    dashboard: 1.9.0\n")  # 1.9.0 < 1.10.0 (a string compare says >)
    staging = _env(project) / "staging.yaml"
    staging.write_text(staging.read_text() + "release:\n  versions:\n    dashboard: 1.10.0\n")
    assert [(a.later, a.component) for a in check_chain(_env(project))] == [("staging", "dashboard")]


def test_effective_release_merges_base(project):
    _bump_dev(project)
    rel = effective_release(_env(project), "dev")
    assert rel["versions"]["istio"] == "1.30.1" and rel["versions"]["kserve"] == "0.16.0"


# --- CLI ---------------------------------------------------------------------------------------

@pytest.fixture
def cli(project, monkeypatch):
    import kfstack.app
    from kfstack.cli import app

    monkeypatch.setattr(kfstack.app, "PROJECT_ROOT", project)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, ["promote", *args])


def test_cli_promotes_and_prints_diff(cli, project):
    _bump_dev(project)
    res = cli("dev", "staging")
    assert res.exit_code == 0, res.output
    assert "+    istio: 1.30.1" in res.stdout and "--- a/environments/staging.yaml" in res.stdout
    assert "istio: 1.29.0 → 1.30.1" in res.stderr
    assert load_environment(_env(project), "staging").release.versions.istio == "1.30.1"
    again = cli("dev", "staging")
    assert again.exit_code == 0 and "nothing to do" in again.stderr


def test_cli_skip_refused(cli, project):
    _bump_dev(project)
    before = (_env(project) / "prod.yaml").read_text()
    res = cli("dev", "prod")
    assert res.exit_code == 2 and "--allow-skip" in res.stderr
    assert (_env(project) / "prod.yaml").read_text() == before
    assert cli("dev", "prod", "--allow-skip").exit_code == 0
    assert "1.30.1" in (_env(project) / "prod.yaml").read_text()


def test_cli_invalid_result_exit_2(cli, project):
    _bump_dev(project, "release:\n  versions:\n    istio: latest\n")
    before = (_env(project) / "staging.yaml").read_text()
    res = cli("dev", "staging")
    assert res.exit_code == 2 and "release.versions.istio" in res.stderr and "nothing was written" in res.stderr
    assert (_env(project) / "staging.yaml").read_text() == before


def test_cli_check(cli, project):
    res = cli("--check")
    assert res.exit_code == 0 and "in order" in res.stderr
    prod = _env(project) / "prod.yaml"
    prod.write_text(prod.read_text() + "\nrelease:\n  versions:\n    istio: 1.30.0\n")
    res = cli("--check")
    assert res.exit_code == 1
    assert "prod is ahead of staging: istio 1.30.0 (prod) > 1.29.0 (staging)" in res.stderr
    _bump_dev(project)
    before = (_env(project) / "staging.yaml").read_text()
    res = cli("dev", "staging", "--check")  # dry run: diff shown, nothing written, chain still out of order
    assert res.exit_code == 1 and "+    istio: 1.30.1" in res.stdout
    assert (_env(project) / "staging.yaml").read_text() == before
