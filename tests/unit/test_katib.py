"""Katib: parts from the mirror (an https repository, an OCI registry), DB manager wired to the platform's
MySQL, install order; vendored mode with a stand-in base (tests/fixtures/kustomize/katib-standin).

Every stack is a minimal environment built in the test (tests/fixtures/envs.py), not a shipped file."""

from __future__ import annotations

import pytest

from kfstack.config import ConfigError
from kfstack.constructs.katib.construct import REPLACED
from kfstack.sources.lock import load_lock
from tests.conftest import ROOT, depends_on, release, release_address, resources
from tests.fixtures.envs import CEPH, REGISTRY, enable, merged
from tests.unit.test_pipelines import (
    MIRRORS,
    PASSWORD_REF,
    STANDIN_VERSION,
    by_name,
    mirror,
    standin_vendor,
    synth_vendored,
    template_kinds,
    vendored_overrides,
)

KATIB = merged(enable("katib"), {"release": {"versions": {"katib": "0.19.0"}}})


def db_manager(stack: dict) -> tuple[str, dict]:
    return by_name(stack, "kubernetes_deployment_v1", "katib-db-manager")


@pytest.mark.parametrize("url", MIRRORS)
def test_parts_from_the_mirror_crds_first_then_db_manager(synth_minimal, url):
    stack = synth_minimal(merged(KATIB, mirror(url)))
    parts = [c.name for c in load_lock(ROOT / "sources.lock").base("katib", "0.19.0").charts]
    assert parts == ["katib-crds", "katib"]
    for name in parts:
        rel = release(stack, name)
        assert (rel["chart"], rel["repository"], rel["version"]) == (name, url, "0.19.0")
    assert release_address(stack, "katib-crds") in depends_on(stack, "katib")
    _, dep = db_manager(stack)
    assert release_address(stack, "katib") in dep["depends_on"]
    assert dep["wait_for_rollout"] is True


@pytest.mark.parametrize("overrides", [{}, CEPH], ids=["cluster-storage", "ceph"])
def test_installed_after_istio_issuer_and_mysql(synth_minimal, overrides):
    stack = synth_minimal(merged(KATIB, overrides))
    deps = depends_on(stack, "katib-crds")
    for upstream in ("istio-ingressgateway", "kubeflow-issuer", "mysql-bootstrap"):
        assert release_address(stack, upstream) in deps, upstream
    secret_id, _ = by_name(stack, "kubernetes_secret_v1", "katib-mysql-secrets")
    assert f"kubernetes_secret_v1.{secret_id}" in deps
    assert release_address(stack, "mysql-bootstrap") in db_manager(stack)[1]["depends_on"]


def test_db_manager_env_as_upstream_external_db(synth_minimal):
    stack = synth_minimal(merged(KATIB, REGISTRY))
    _, dep = db_manager(stack)
    spec = dep["spec"]
    assert spec["selector"]["match_labels"] == {"katib.kubeflow.org/component": "db-manager"}
    pod = spec["template"]["spec"]
    (container,) = pod["container"]
    env = {e["name"]: e for e in container["env"]}
    assert {k: env[k].get("value") for k in ("DB_NAME", "DB_USER", "KATIB_MYSQL_DB_DATABASE",
                                              "KATIB_MYSQL_DB_HOST", "KATIB_MYSQL_DB_PORT")} == {
        "DB_NAME": "mysql", "DB_USER": "katib", "KATIB_MYSQL_DB_DATABASE": "katib",
        "KATIB_MYSQL_DB_HOST": "mysql.mysql.svc.cluster.local", "KATIB_MYSQL_DB_PORT": "3306"}
    assert env["DB_PASSWORD"]["value_from"]["secret_key_ref"] == {"name": "katib-mysql-secrets", "key": "DB_PASSWORD"}
    # an environment with a registry mirror re-hosts the image there
    assert container["image"] == "registry.internal/kubeflow/katib/katib-db-manager:v0.19.0"
    assert pod["image_pull_secrets"] == [{"name": "registry-internal"}]
    assert container["port"] == [{"container_port": 6789, "name": "api"}]
    assert container["security_context"]["run_as_non_root"] is True


def test_upstream_image_without_a_registry_mirror(synth_minimal):
    (container,) = db_manager(synth_minimal(KATIB))[1]["spec"]["template"]["spec"]["container"]
    assert container["image"] == "ghcr.io/kubeflow/katib/katib-db-manager:v0.19.0"


@pytest.mark.parametrize("overrides", [{}, REGISTRY], ids=["upstream-images", "registry-mirror"])
def test_db_secret_references_the_katib_users_random_password(synth_minimal, overrides):
    stack = synth_minimal(merged(KATIB, overrides))
    _, secret = by_name(stack, "kubernetes_secret_v1", "katib-mysql-secrets")
    assert set(secret["data"]) == {"DB_PASSWORD"}
    m = PASSWORD_REF.match(secret["data"]["DB_PASSWORD"])
    assert m and m.group(1) in resources(stack, "random_password")
    assert m.group(1).startswith("MySql_User-katib_Password")


def test_replicas_and_database_user_settings(synth_minimal):
    stack = synth_minimal(enable(
        "katib", mysql={"users": [{"name": "kfp", "databases": ["mlpipeline", "cachedb", "metadb"]},
                                  {"name": "hpo", "databases": ["experiments"]}]},
        katib={"database_user": "hpo", "db_manager_replicas": 2}))
    _, dep = db_manager(stack)
    assert dep["spec"]["replicas"] == "2"
    env = {e["name"]: e.get("value") for e in dep["spec"]["template"]["spec"]["container"][0]["env"]}
    assert (env["DB_USER"], env["KATIB_MYSQL_DB_DATABASE"]) == ("hpo", "experiments")


def test_lock_excludes_the_replaced_objects_and_bundled_mysql():
    exclude = set(load_lock(ROOT / "sources.lock").base("katib", "0.19.0").exclude)
    assert set(REPLACED) <= exclude
    assert {"Deployment/kubeflow/katib-mysql", "Service/kubeflow/katib-mysql",
            "PersistentVolumeClaim/kubeflow/katib-mysql"} <= exclude


def test_needs_mysql(synth_minimal):
    with pytest.raises(ConfigError, match="katib is enabled but mysql is not") as info:
        synth_minimal(enable("katib", mysql={"enabled": False}))
    assert [p.path for p in info.value.problems] == [("components", "katib", "enabled")]


def test_unknown_database_user_is_a_config_error(synth_minimal):
    with pytest.raises(ConfigError, match="components.katib.database_user 'hpo' is not one of") as info:
        synth_minimal(enable("katib", katib={"database_user": "hpo"}))
    assert [p.path for p in info.value.problems] == [("components", "katib", "database_user")]


def test_namespace_must_be_a_shared_namespace(synth_minimal):
    with pytest.raises(ConfigError) as info:
        synth_minimal(enable("katib", katib={"namespace": "hpo"}))
    assert [p.path for p in info.value.problems] == [("components", "katib", "namespace")]


def test_disabled_installs_nothing(synth_minimal):
    # Everything Katib needs is on (MySQL with its katib user), Katib itself off.
    stack = synth_minimal(enable("katib", katib={"enabled": False}))
    assert "mysql" in {r["name"] for r in resources(stack, "helm_release").values()}
    assert not {"katib", "katib-crds"} & {r["name"] for r in resources(stack, "helm_release").values()}
    assert not resources(stack, "kubernetes_deployment_v1") or all(
        d["metadata"]["name"] != "katib-db-manager" for d in resources(stack, "kubernetes_deployment_v1").values())


def test_vendored_standin_renders_without_excluded_objects():
    with standin_vendor({"katib": "katib-standin"}) as (vendor_dir, lock):
        stack = synth_vendored(lock, vendored_overrides(vendor_dir, "katib", katib=STANDIN_VERSION))
        assert release(stack, "katib-crds")["chart"].startswith("assets/")
        build = ROOT / "build" / "kustomize" / f"katib-{STANDIN_VERSION}"
        assert template_kinds(build / "katib-crds") == [
            ("CustomResourceDefinition", "standinexperiments.fixture.kfstack.test")]
        # the upstream Service stays (it selects kfstack's DB manager); Secret and Deployments are gone
        assert sorted(template_kinds(build / "katib")) == [("Deployment", "katib-controller"),
                                                            ("Service", "katib-db-manager")]
        (container,) = db_manager(stack)[1]["spec"]["template"]["spec"]["container"]
        assert container["image"].endswith(f":v{STANDIN_VERSION}")
