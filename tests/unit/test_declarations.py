"""What components declare (kfstack.model): what they install, what they require; who reads it.

- ``Installs``: the stack builds each ChartSource from it, ChartSource refuses other names,
  the pin check of sources.lock matches names, ``kfstack check`` attributes releases by it.
- ``NEEDS``, shared and created namespaces, ``requirements()``: one loop
  (``Components.wiring_problems``) runs them for every enabled component; the loader reports
  them with file and key path, and PlatformStack refuses an environment that breaks them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from kfstack.check.run import declared_by
from kfstack.check.stack import stack_from_document
from kfstack.config import ConfigError
from kfstack.config.environment import Components, Release, ReleaseVersions
from kfstack.model import KUBEFLOW_LINE
from kfstack.config.loader import load_environment
from kfstack.model import Installs, kustomize_part
from kfstack.sources.charts import ChartResolver, ChartSource, SourceError
from kfstack.sources.lock import SourcesLock, load_lock, unpinned_versions
from tests.conftest import ROOT, env_dict, environments_with_base

DEV = yaml.safe_load((ROOT / "environments" / "dev.yaml").read_text())


def _load(tmp_path: Path, patch: dict, *, pins: bool = False):
    """dev.yaml deep-merged with ``patch`` as environments/broken.yaml beside the real base.yaml."""
    from kfstack.config.loader import deep_merge

    env_dir = environments_with_base(tmp_path)
    (env_dir / "broken.yaml").write_text(yaml.safe_dump(deep_merge(DEV, patch), sort_keys=False))
    checks = [unpinned_versions(load_lock(ROOT / "sources.lock"))] if pins else []
    return load_environment(env_dir, "broken", display_root=tmp_path, checks=checks)


def _problems(tmp_path: Path, patch: dict, **kw) -> dict[tuple, str]:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, patch, **kw)
    return {p.path: p.message for p in info.value.problems}


# ---------------------------------------------------------------- what components install


def test_every_release_version_is_declared_by_a_component_and_nothing_else():
    declared = {installs.key for _, installs in Components.declared()}
    assert declared == set(ReleaseVersions.model_fields) | {KUBEFLOW_LINE}   # release.kubeflow: the line itself


def test_declared_names_are_unique_across_components():
    names = [n for _, i in Components.declared() for n in (*i.charts, *i.kustomize)]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


def test_a_version_pinned_for_another_chart_is_refused(tmp_path):
    """istio 1.19.4 used to validate because cert-manager is pinned at 1.19.4."""
    problems = _problems(tmp_path, {"release": {"versions": {"istio": "1.19.4"}}}, pins=True)
    message = problems.pop(("release", "versions", "istio"))
    assert not problems
    assert "istio 1.19.4 is not pinned in sources.lock" in message
    assert all(f"chart {name!r}" in message for name in ("base", "cni", "istiod", "gateway"))


def test_a_missing_kustomize_base_is_named(tmp_path):
    lock = load_lock(ROOT / "sources.lock")
    without = SourcesLock(charts=lock.charts, kustomize=tuple(k for k in lock.kustomize if k.name != "kubeflow-roles"))
    env = _load(tmp_path, {})
    ((path, message),) = unpinned_versions(without)(env)
    assert path == ("release", "versions", "profiles") and "kustomize base 'kubeflow-roles'" in message


def test_every_shipped_environment_pins_everything_declared(real_envs):
    lock = load_lock(ROOT / "sources.lock")
    assert real_envs and all(unpinned_versions(lock)(env) == [] for env in real_envs.values())


def test_chart_source_refuses_names_its_declaration_does_not_list():
    source = ChartSource(ChartResolver(SourcesLock(), mode="upstream"), "1.29.0",
                         Installs("istio", charts=("istiod",), kustomize=("x",)))
    with pytest.raises(SourceError, match=r"chart 'ztunnel' is not declared for release.versions.istio"):
        source.chart("ztunnel")
    with pytest.raises(SourceError, match=r"kustomize base 'istiod' is not declared"):
        source.kustomize("istiod")
    with pytest.raises(SourceError, match="pins no chart 'istiod'"):  # declared: on to the lock
        source.chart("istiod")


@pytest.mark.parametrize(("chart", "part"), [
    ("katib", ("release", "")), ("katib-crds", ("crds", "")), ("katib-3", ("release", "3")),
    ("katib-crds-2", ("crds", "2")), ("katib-ui", None), ("kat", None)])
def test_kustomize_part_names(chart, part):
    assert kustomize_part("katib", chart) == part
    assert Installs("katib", kustomize=("katib",)).owns(chart) is (part is not None)


@pytest.mark.parametrize("env", ["dev", "local", "prod", "staging"])
def test_check_attributes_every_release_of_the_shipped_stacks(real_envs, env):
    doc = json.loads((ROOT / "tests" / "snapshots" / f"{env}.json").read_text())
    stack = stack_from_document(doc, ROOT / "cdktf.out" / "stacks" / env / "cdk.tf.json", env)
    owners = {r.name: declared_by(r, real_envs[env]) for r in stack.releases}
    assert all(problem is None for _, problem in owners.values())
    remote = {r.name: owners[r.name][0] for r in stack.releases if r.local_path is None}
    assert remote and all(remote.values())  # every upstream chart and rendered part has its component
    assert remote["istiod"] == "istio: release.versions.istio 1.29.0"
    assert remote["pipelines-crds"] == "pipelines: release.versions.pipelines 2.16.0"


def test_check_flags_a_chart_no_enabled_component_declares(real_envs):
    from dataclasses import replace

    doc = json.loads((ROOT / "tests" / "snapshots" / "dev.json").read_text())
    stack = stack_from_document(doc, ROOT / "cdktf.out" / "stacks" / "dev" / "cdk.tf.json", "dev")
    seaweedfs = next(r for r in stack.releases if r.chart == "seaweedfs")
    owner, problem = declared_by(replace(seaweedfs, chart="minio"), real_envs["dev"])  # not dev's backend
    assert owner == "" and problem is not None and "chart minio is installed, but no enabled component" in problem.message


# ---------------------------------------------------------------- what components require


def test_rules_of_a_disabled_component_are_not_run(tmp_path):
    env = _load(tmp_path, {"components": {"katib": {"enabled": False, "database_user": "nobody",
                                                    "namespace": "elsewhere"}}})
    assert not env.components.katib.enabled


def test_every_problem_is_reported_at_once_with_its_key_path(tmp_path):
    problems = _problems(tmp_path, {"components": {"istio": {"enabled": False}}})
    assert {("components", key, "enabled") for key in ("pipelines", "katib", "kserve", "auth", "dashboard")} \
        <= set(problems)
    assert problems[("components", "dashboard", "enabled")].startswith("dashboard is enabled but istio is not")


def test_a_shared_namespace_listed_twice_is_refused(tmp_path):
    kubeflow = {"name": "kubeflow", "pod_security": "restricted"}
    problems = _problems(tmp_path, {"components": {"cluster_baseline": {"shared_namespaces": [kubeflow, kubeflow]}}})
    assert problems == {("components", "cluster_baseline", "shared_namespaces", 1):
                        "'kubeflow' is already created by components.cluster_baseline.shared_namespaces[0]; each "
                        "component creates a namespace of its own, so pick another name"}


def test_a_namespace_clash_is_reported_at_the_key_that_was_set(tmp_path):
    # cert_manager comes before mysql, but only cert_manager.namespace is set: it is the one reported.
    problems = _problems(tmp_path, {"components": {"cert_manager": {"namespace": "mysql"}}})
    assert problems == {("components", "cert_manager", "namespace"):
                        "'mysql' is already created by components.mysql.namespace; each component creates a "
                        "namespace of its own, so pick another name"}


def test_the_stack_refuses_an_environment_that_was_not_validated():
    """A model validated without the loader (no wiring check) never reaches a construct."""
    from kfstack.cdk import Testing
    from kfstack.config.environment import EnvironmentConfig
    from kfstack.stacks import PlatformStack, ProjectPaths

    data = env_dict({"components": {"auth": {"enabled": False}}})
    data["name"] = "unchecked"
    env = EnvironmentConfig.model_validate(data)
    with pytest.raises(ConfigError) as info:
        PlatformStack(Testing.app(), env, lock=load_lock(ROOT / "sources.lock"), paths=ProjectPaths(ROOT))
    (problem,) = info.value.problems
    assert (problem.file, problem.path) == ("environment 'unchecked'", ("components", "dashboard", "enabled"))


def test_clients_of_a_data_service_are_the_components_that_need_it():
    c = Components.model_validate({"pipelines": {"enabled": True}, "katib": {"enabled": True, "namespace": "hpo"}})
    assert c.namespaces_needing("mysql") == ["kubeflow", "hpo"]
    assert c.namespaces_needing("object_store") == ["kubeflow"]
    assert c.namespaces_needing("gpu_operator") == []


def test_the_kubeflow_line_versions_upstreams_namespace_policies(real_envs):
    """``release.kubeflow`` is the app version of what the Kubeflow line versions (the kubeflow namespace
    policies), and a line sources.lock does not pin is refused at ``release.kubeflow``."""
    env = real_envs["prod"]
    assert env.release.version_of(KUBEFLOW_LINE) == "26.03" and Release.path_of(KUBEFLOW_LINE) == ("release", "kubeflow")
    assert env.release.version_of("istio") == env.release.versions.istio
    from kfstack.sources.lock import load_lock, unpinned_versions
    from tests.conftest import ROOT

    moved = env.model_copy(update={"release": env.release.model_copy(update={"kubeflow": "26.09"})})
    problems = unpinned_versions(load_lock(ROOT / "sources.lock"))(moved)
    assert [(path, "kubeflow-namespace" in msg) for path, msg in problems] == [(("release", "kubeflow"), True)]
