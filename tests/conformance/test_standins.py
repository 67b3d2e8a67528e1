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
from kfstack.check.render import render
from kfstack.check.rules import load_chart
from kfstack.check.stack import HelmRelease, load_stack
from tests.fixtures.standin_charts import CRDS, chart_files, charts_of
from kfstack.sources.lock import load_lock
from tests.conftest import ROOT


def _real_crds(archive: Path, installed: HelmRelease | None) -> set[tuple[str, str, str, str]]:
    """(group, kind, plural, scope) of every CRD the real chart installs (``helm template --include-crds``),
    rendered with the values kfstack installs it with (``installed``) when an environment uses it."""
    release = installed or HelmRelease(address="", name="standin-probe", namespace="standin-probe",
                                       chart=archive.name, repository=None, version=None, local_path=None,
                                       values=(), sets=(), depends_on=(), component="")
    out = set()
    for obj in render(release, archive).objects:
        if obj.get("kind") == "CustomResourceDefinition":
            spec = obj["spec"]
            out.add((spec["group"], spec["names"]["kind"], spec["names"]["plural"], spec["scope"]))
    return out


@pytest.fixture(scope="module")
def installed(synthesized) -> dict[str, HelmRelease]:
    """Chart name → the first release (dev, local, staging, prod) that installs it, as synthesized."""
    out: dict[str, HelmRelease] = {}
    for env in ("dev", "local", "staging", "prod"):
        for release in load_stack(synthesized / "stacks" / env / "cdk.tf.json", env).releases:
            if release.local_path is None:
                out.setdefault(release.chart, release)
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
def test_standin_crds_exist_in_the_real_chart(chart, locator, installed, helm):
    real = _real_crds(locator.locate(chart, None).path, installed.get(chart))
    missing = [c for c in CRDS[chart] if c not in real]
    assert not missing, f"stand-in {chart} claims CRDs the real chart does not install: {missing}"
