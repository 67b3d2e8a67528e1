"""The plan summary (kfstack/plan_summary.py) on JSON plans of real dev plans (tests/fixtures/plans/).

The fixtures come from ``python -m tests.fixtures.plans.generate``: dev's stack planned with
OpenTofu against the local control plane; sensitive values replaced by CANARY-SECRET-<n>.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from kfstack.plan_summary import MASK, component_map, summarize, summary_markdown, to_markdown

PLANS = Path(__file__).resolve().parents[1] / "fixtures" / "plans"


def load(name: str) -> dict:
    return json.loads((PLANS / f"{name}.json").read_text())


def sections(markdown: str) -> list[str]:
    """Component headings (``### CertManager (1 to change)`` → ``CertManager``)."""
    return re.findall(r"^### (\S+) \(", markdown, flags=re.M)


def test_chart_version_bump_names_only_that_component_and_the_version_change():
    md = summary_markdown(load("dev-cert-manager-bump"), env="dev")
    assert sections(md) == ["CertManager"]
    assert "cert-manager `v1.19.4 → v1.19.5`" in md
    assert "**Plan:** 0 to add, 1 to change, 0 to replace, 0 to destroy." in md
    changes = [line for line in md.splitlines() if line.startswith("- **")]
    assert len(changes) == 1 and "helm_release.CertManager_Release_" in changes[0]
    assert "CAUTION" not in md and "REPLACE" not in md and "DESTROY" not in md
    summary = summarize(load("dev-cert-manager-bump"), env="dev")
    (change,) = summary.changes
    assert (change.component, change.action, change.version_change) == ("CertManager", "change",
                                                                         ("v1.19.4", "v1.19.5"))
    assert change.attributes == ()  # the version is the only configured attribute that changed
    assert summary.has_changes


def test_replacements_and_destroys_are_flagged_at_the_top():
    md = summary_markdown(load("dev-replace-destroy"), env="dev")
    lines = md.splitlines()
    caution = lines.index("> [!CAUTION]")
    plan_line = next(i for i, line in enumerate(lines) if line.startswith("**Plan:**"))
    first_section = next(i for i, line in enumerate(lines) if line.startswith("### "))
    assert caution < plan_line < first_section
    assert "**5 to replace, 4 to destroy.**" in lines[caution + 1]
    flagged = [line for line in lines[caution:plan_line] if line.startswith("> - ")]
    assert len(flagged) == 9
    assert all(("**REPLACE**" in f) != ("**DESTROY**" in f) for f in flagged)
    assert any("**DESTROY** Katib: `helm_release.Katib_Releases_Release_" in f for f in flagged)
    assert any("**REPLACE** MySql: `kubernetes_namespace_v1.MySql_Namespace_" in f
               and "forced by `metadata[0].name`" in f for f in flagged)
    assert sections(md) == ["Katib", "MySql", "Pipelines"]
    assert "`metadata[0].name`: `mysql` → `mysql-data` — **forces replacement**" in md


def test_sensitive_values_never_appear():
    for name in ("dev-create", "dev-cert-manager-bump", "dev-replace-destroy"):
        md = summary_markdown(load(name), env="dev")
        assert "CANARY-SECRET" not in md, name
    assert "CANARY-SECRET" in (PLANS / "dev-replace-destroy.json").read_text()  # the canaries are there


def test_a_changed_sensitive_value_is_masked_not_printed():
    plan = load("dev-replace-destroy")
    rc = next(r for r in plan["resource_changes"] if r["address"].startswith("kubernetes_secret_v1.MySql_User-kfp_"))
    assert rc["change"]["after_sensitive"]["data"] is True
    rc["change"]["after"]["data"] = {k: "CANARY-SECRET-rotated" for k in rc["change"]["after"]["data"]}
    # A nested mask: one sensitive key inside an otherwise plain map.
    rc["change"]["before"]["metadata"][0]["labels"]["token"] = "CANARY-SECRET-label-old"
    rc["change"]["after"]["metadata"][0]["labels"] = {**rc["change"]["before"]["metadata"][0]["labels"],
                                                      "token": "CANARY-SECRET-label-new"}
    rc["change"]["before_sensitive"]["metadata"][0]["labels"] = {"token": True}
    rc["change"]["after_sensitive"]["metadata"][0]["labels"] = {"token": True}
    md = summary_markdown(plan, env="dev")
    assert "CANARY-SECRET" not in md
    assert f"`data`: `{MASK}` → `{MASK}`" in md or f"`data.password`: `{MASK}` → `{MASK}`" in md
    assert f"`metadata[0].labels.token`: `{MASK}` → `{MASK}`" in md


def test_a_sensitive_whole_value_or_helm_set_sensitive_is_masked():
    plan = {"format_version": "1.2", "resource_changes": [{
        "address": "helm_release.Auth_Dex_Release_ED91C2B3", "type": "helm_release", "name": "Auth_Dex_Release_ED91C2B3",
        "change": {"actions": ["update"],
                   "before": {"name": "dex", "chart": "dex", "version": "0.24.0",
                              "set_sensitive": [{"name": "config.staticPasswords", "value": "CANARY-SECRET-a"}]},
                   "after": {"name": "dex", "chart": "dex", "version": "0.24.0",
                             "set_sensitive": [{"name": "config.staticPasswords", "value": "CANARY-SECRET-b"}]},
                   "before_sensitive": {"set_sensitive": True}, "after_sensitive": {"set_sensitive": True},
                   "after_unknown": {}}}]}
    md = summary_markdown(plan)
    assert "CANARY-SECRET" not in md
    assert f"`set_sensitive`: `{MASK}` → `{MASK}`" in md
    assert sections(md) == ["Auth"]


def test_create_of_an_empty_cluster_lists_every_component():
    summary = summarize(load("dev-create"), env="dev")
    assert set(summary.counts) == {"add"}
    assert {"CertManager", "Istio", "Pipelines", "MySql", "Auth"} <= set(summary.components)
    md = to_markdown(summary)
    assert "cert-manager `v1.19.4`" in md and "CAUTION" not in md


def test_no_changes():
    plan = load("dev-cert-manager-bump")
    for rc in plan["resource_changes"]:
        rc["change"]["actions"] = ["no-op"]
    summary = summarize(plan, env="dev")
    assert not summary.has_changes
    assert "**No changes.**" in to_markdown(summary)


def _moved(plan: dict, old: str, new: str) -> dict:
    """``plan`` as OpenTofu writes it after a ``moved { from = old, to = new }`` block:
    the resource at its new address, with ``previous_address`` naming the old one."""
    (rc,) = [rc for rc in plan["resource_changes"] if rc["address"] == old]
    rc.update(address=new, name=new.split(".", 1)[1], previous_address=old)
    return plan


def test_a_moved_resource_with_nothing_else_to_do_is_shown_and_counted_as_a_move():
    # #14 moved the kubeflow Gateway from the Dashboard to Istio with a `moved` block.
    old, new = "helm_release.Dashboard_Gateway_9B355024", "helm_release.Istio_Gateway_5E1C9A0B"
    plan = _moved(load("dev-cert-manager-bump"), old, new)
    for rc in plan["resource_changes"]:
        if rc["address"] != new:
            rc["change"]["actions"] = ["no-op"]
    summary = summarize(plan, env="dev")
    (change,) = summary.changes
    assert (change.action, change.address, change.moved_from, change.component) == ("move", new, old, "Istio")
    assert summary.has_changes  # the state must be applied, or the next plan shows the move again
    md = to_markdown(summary)
    assert "**Plan:** 0 to add, 0 to change, 0 to replace, 0 to destroy, 1 to move." in md
    assert f"- **move** `{new}` (kubeflow/kubeflow-gateway), moved from `{old}`" in md
    assert "CAUTION" not in md and "No changes" not in md


def test_a_moved_resource_that_also_changes_says_where_it_came_from():
    plan = load("dev-cert-manager-bump")
    (changed,) = [rc for rc in plan["resource_changes"] if rc["change"]["actions"] == ["update"]]
    old = changed["address"]
    plan = _moved(plan, old, "helm_release.CertManager_Chart_0A1B2C3D")
    summary = summarize(plan, env="dev")
    (change,) = summary.changes
    assert (change.action, change.moved_from) == ("change", old)
    md = to_markdown(summary)
    assert f"moved from `{old}`: cert-manager `v1.19.4 → v1.19.5`" in md
    assert "**Plan:** 0 to add, 1 to change, 0 to replace, 0 to destroy." in md


def test_components_come_from_cdktf_metadata():
    # The shape `kfstack synth` writes (Testing.synth leaves the `//` metadata out).
    release = "helm_release.CertManager_Release_F3F7519D"
    stack = {"resource": {"helm_release": {"CertManager_Release_F3F7519D": {
        "//": {"metadata": {"path": "dev/Renamed/Release/Resource", "uniqueId": "CertManager_Release_F3F7519D"}},
        "name": "cert-manager"}}, "kubernetes_namespace_v1": {"NoMeta_1": {"metadata": [{"name": "x"}]}}}}
    assert component_map(stack) == {release: "Renamed"}
    md = summary_markdown(load("dev-cert-manager-bump"), components=component_map(stack), env="dev")
    assert sections(md) == ["Renamed"]


def test_not_a_plan_is_an_error():
    with pytest.raises(ValueError, match="not a JSON plan"):
        summarize({"values": {}})


@pytest.mark.parametrize("name", ["dev-create", "dev-cert-manager-bump", "dev-replace-destroy"])
def test_fixtures_hold_no_machine_paths_or_secrets(name):
    text = (PLANS / f"{name}.json").read_text()
    assert not re.search(r'"/(tmp|root|home|work|Users)/', text)
    assert not re.search(r"/(tmp|root|home|Users)/[^\"]*", text), "absolute machine path in fixture"
    plan = json.loads(text)
    assert set(plan) == {"format_version", "terraform_version", "errored", "resource_changes"}

    def leaves(value, mask):
        if mask is True:
            yield value
        elif isinstance(mask, dict) and isinstance(value, dict):
            for k, v in value.items():
                yield from leaves(v, mask.get(k, False))
        elif isinstance(mask, list) and isinstance(value, list):
            for i, v in enumerate(value):
                yield from leaves(v, mask[i] if i < len(mask) else False)

    def flat(value):
        if isinstance(value, dict):
            for v in value.values():
                yield from flat(v)
        elif isinstance(value, list):
            for v in value:
                yield from flat(v)
        elif value is not None:
            yield value

    for rc in plan["resource_changes"]:
        ch = rc["change"]
        for side in ("before", "after"):
            for leaf in flat(list(leaves(ch.get(side), ch.get(f"{side}_sensitive", False)))):
                assert str(leaf).startswith("CANARY-SECRET-"), (rc["address"], side)


def test_rendering_is_deterministic():
    plan = load("dev-replace-destroy")
    assert summary_markdown(copy.deepcopy(plan)) == summary_markdown(plan)
