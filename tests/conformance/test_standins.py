"""The STAND-IN charts (tests/fixtures/standin_charts.py) stand for real charts, truthfully.

Stand-ins only replace running containers in the Terraform-mechanics e2e.
Each names the real chart it stands for; what it claims about that chart (its
CRDs' group, kind, plural and scope; its values keys) must hold for the real
chart at the pinned version (or, for kustomize parts, the real rendered part).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kfstack.check.charts import ChartLocator
from kfstack.check.rules import load_chart
from tests.fixtures.standin_charts import CRDS, chart_files, charts_of
from kfstack.sources.lock import load_lock
from tests.conftest import ROOT


def _real_crds(archive: Path) -> set[tuple[str, str, str, str]]:
    content = load_chart(archive)
    out = set()
    for name, data in content.files.items():
        if not name.endswith((".yaml", ".yml")) or "templates/" not in name and "crds/" not in name:
            continue
        text = data.decode("utf-8", "replace")
        if "CustomResourceDefinition" not in text:
            continue
        for doc in text.split("\n---"):
            if "kind: CustomResourceDefinition" not in doc:
                continue
            try:
                obj = yaml.safe_load(doc.replace("{{", "#{{"))
            except yaml.YAMLError:
                continue
            spec = (obj or {}).get("spec") or {}
            names = spec.get("names") or {}
            if spec.get("group") and names.get("kind"):
                out.add((spec["group"], names["kind"], names.get("plural", ""), spec.get("scope", "")))
    for sub in content.subcharts.values():
        for name, data in sub.files.items():
            text = data.decode("utf-8", "replace")
            for doc in text.split("\n---"):
                if "kind: CustomResourceDefinition" in doc:
                    try:
                        obj = yaml.safe_load(doc.replace("{{", "#{{")) or {}
                    except yaml.YAMLError:
                        continue
                    spec = obj.get("spec") or {}
                    names = spec.get("names") or {}
                    if spec.get("group") and names.get("kind"):
                        out.add((spec["group"], names["kind"], names.get("plural", ""), spec.get("scope", "")))
    return out


@pytest.fixture(scope="module")
def locator(vendored) -> ChartLocator:
    vendor, _ = vendored
    return ChartLocator([vendor / "charts", vendor / "published"])


def test_every_standin_names_its_real_chart_and_claims_only_its_values_keys(locator):
    for name, version, app_version in charts_of(load_lock(ROOT / "sources.lock")):
        files = chart_files(name, version, app_version)
        meta = yaml.safe_load(files[f"{name}/Chart.yaml"])
        assert f"STAND-IN for the upstream {name} chart" in meta["description"]
        real = load_chart(locator.locate(name, version).path)
        standin_values = yaml.safe_load(files[f"{name}/values.yaml"]) or {}
        assert set(standin_values) <= set(real.defaults), (name, set(standin_values) - set(real.defaults))


@pytest.mark.parametrize("chart", sorted(CRDS))
def test_standin_crds_exist_in_the_real_chart(chart, locator):
    real = _real_crds(locator.locate(chart, None).path)
    missing = [c for c in CRDS[chart] if c not in real]
    assert not missing, f"stand-in {chart} claims CRDs the real chart does not install: {missing}"
