"""MySQL: operator → InnoDB Cluster → bootstrap Job, single and HA; users; guardrails.

Every stack is a minimal environment built in the test (tests/fixtures/envs.py), not a shipped file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from kfstack.config import ConfigError
from kfstack.config.errors import format_path
from kfstack.constructs.mysql.settings import MySqlSettings
from tests.conftest import ROOT, depends_on, release, release_address, release_values, resources
from tests.fixtures.envs import CEPH, PRODUCTION, REGISTRY, enable, load_minimal, merged
from tests.unit.test_object_store import _build

REPO = "https://charts.fixture.internal/kfstack"  # the minimal environment's chart mirror (pin: https://mysql.github.io/mysql-operator/)
MYSQL = merged(enable("mysql"), {"release": {"versions": {"mysql_operator": "9.5.0"}}})
SINGLE = {"server_instances": 1, "router_instances": 1}
HA = {"server_instances": 3, "router_instances": 2, "backup": {"enabled": True, "schedule": "0 2 * * *"}}


def test_charts_and_versions_from_the_release_block(synth_minimal):
    dev = synth_minimal(MYSQL)
    for name, chart in (("mysql-operator", "mysql-operator"), ("mysql", "mysql-innodbcluster")):
        rel = release(dev, name)
        assert (rel["chart"], rel["repository"], rel["version"]) == (chart, REPO, "2.2.6")
    assert release_values(dev, "mysql")["serverVersion"] == "9.5.0"
    assert release(dev, "mysql-bootstrap")["chart"].startswith("assets/")


def test_one_server_without_backups(synth_minimal):
    stack = synth_minimal(merged(enable("mysql", mysql={**SINGLE, "size_gib": 20}),
                                 {"storage": {"default_class": "local-path"}}))
    v = release_values(stack, "mysql")
    assert (v["serverInstances"], v["routerInstances"]) == (1, 1)
    assert v["datadirVolumeClaimTemplate"] == {"storageClassName": "local-path", "accessModes": "ReadWriteOnce",
                                               "resources": {"requests": {"storage": "20Gi"}}}
    assert "backupProfiles" not in v and "backupSchedules" not in v
    assert not resources(stack, "kubernetes_persistent_volume_claim_v1")


@pytest.mark.parametrize("routers", [2, 3])
def test_ha_on_ceph_with_scheduled_backups(synth_minimal, routers):
    stack = synth_minimal(merged(enable("mysql", mysql={**HA, "router_instances": routers}), CEPH))
    v = release_values(stack, "mysql")
    assert v["serverInstances"] == 3 and v["routerInstances"] == routers
    assert v["datadirVolumeClaimTemplate"]["storageClassName"] == "ceph-block"
    (profile,) = v["backupProfiles"]
    (schedule,) = v["backupSchedules"]
    assert profile["dumpInstance"]["storage"]["persistentVolumeClaim"] == {"claimName": "mysql-backup"}
    assert schedule["backupProfileName"] == profile["name"] and schedule["enabled"] is True
    assert schedule["schedule"] == "0 2 * * *"
    (pvc,) = resources(stack, "kubernetes_persistent_volume_claim_v1").values()
    assert pvc["metadata"]["name"] == "mysql-backup" and pvc["spec"]["storage_class_name"] == "ceph-block"
    assert f"kubernetes_persistent_volume_claim_v1.{next(iter(resources(stack, 'kubernetes_persistent_volume_claim_v1')))}" \
        in depends_on(stack, "mysql")


def test_install_order_operator_cluster_bootstrap(synth_minimal):
    prod = synth_minimal(merged(MYSQL, CEPH))
    assert release_address(prod, "rook-ceph-cluster") in depends_on(prod, "mysql-operator")
    assert release_address(prod, "mysql-operator") in depends_on(prod, "mysql")
    boot = depends_on(prod, "mysql-bootstrap")
    assert release_address(prod, "mysql") in boot
    assert sum(d.startswith("kubernetes_secret_v1.MySql_User-") for d in boot) == 2


def test_root_password_is_a_sensitive_reference(synth_minimal):
    rel = release(synth_minimal(MYSQL), "mysql")
    (entry,) = rel["set_sensitive"]
    assert entry["name"] == "credentials.root.password"
    assert entry["value"].startswith("${random_password.MySql_RootPassword") and entry["value"].endswith(".result}")
    assert "password" not in yaml.safe_load(rel["values"][0])["credentials"]["root"]


def test_bootstrap_creates_pipelines_and_katib_databases(synth_minimal):
    v = release_values(synth_minimal(MYSQL), "mysql-bootstrap")  # the default users
    assert v["mysql"] == {"host": "mysql.mysql.svc.cluster.local", "port": 3306}
    assert v["rootSecret"]["name"] == "mysql-cluster-secret"
    users = {u["name"]: u for u in v["users"]}
    assert users["kfp"]["databases"] == ["mlpipeline", "cachedb", "metadb"]
    assert users["katib"]["databases"] == ["katib"]
    assert users["kfp"]["secretName"] == "mysql-user-kfp" and users["kfp"]["passwordKey"] == "password"
    assert v["image"] == "container-registry.oracle.com/mysql/community-server:9.5.0"


def test_user_secrets_hold_generated_passwords(synth_minimal):
    secrets = {s["metadata"]["name"]: s for s in resources(synth_minimal(MYSQL), "kubernetes_secret_v1").values()}
    for user in ("kfp", "katib"):
        data = secrets[f"mysql-user-{user}"]["data"]
        assert data["username"] == user
        assert data["password"].startswith("${random_password.MySql_User-") and data["password"].endswith(".result}")


def test_mirror_rewrites_operator_server_and_job_images(synth_minimal):
    prod = synth_minimal(merged(MYSQL, REGISTRY))
    op = release_values(prod, "mysql-operator")
    assert op["image"]["registry"] == "registry.internal" and op["image"]["repository"] == "mysql"
    assert op["envs"] == {"imagesDefaultRegistry": "registry.internal", "imagesDefaultRepository": "mysql"}
    assert op["image"]["pullSecrets"] == {"enabled": True, "secretName": "registry-internal"}
    assert release_values(prod, "mysql")["image"]["pullSecrets"]["secretName"] == "registry-internal"
    boot = release_values(prod, "mysql-bootstrap")
    assert boot["image"] == "registry.internal/mysql/community-server:9.5.0"
    assert boot["imagePullSecrets"] == [{"name": "registry-internal"}]
    assert "envs" not in release_values(synth_minimal(MYSQL), "mysql-operator")  # no registry mirror


def test_custom_users(synth_minimal):
    stack = synth_minimal(enable("mysql", mysql={"users": [{"name": "app_one", "databases": ["app"]}]}))
    (user,) = release_values(stack, "mysql-bootstrap")["users"]
    assert user == {"name": "app_one", "databases": ["app"], "secretName": "mysql-user-app-one", "passwordKey": "password"}


def test_endpoint_is_a_typed_output():
    stack = _build(enable("mysql"))  # the default users
    ep = stack.mysql.endpoint
    assert (ep.host, ep.port) == ("mysql.mysql.svc.cluster.local", 3306)
    assert set(ep.users) == {"kfp", "katib"}
    kfp = ep.users["kfp"]
    assert (kfp.secret_name, kfp.secret_namespace, kfp.username_key, kfp.password_key) == (
        "mysql-user-kfp", "mysql", "username", "password")
    assert kfp.databases == ("mlpipeline", "cachedb", "metadb")
    assert ep.ready == (stack.mysql.bootstrap.resource,)


def test_disabled_mysql_installs_nothing(synth_minimal):
    stack = synth_minimal(enable("object_store", mysql={"enabled": False}))  # Pipelines and Katib need MySQL: off
    names = {r["name"] for r in resources(stack, "helm_release").values()}
    assert "seaweedfs" in names
    assert not names & {"mysql-operator", "mysql", "mysql-bootstrap"}


def test_bootstrap_chart_reads_passwords_from_secrets_only():
    template = (ROOT / "charts" / "mysql-bootstrap" / "templates" / "job.yaml").read_text()
    assert "secretKeyRef" in template
    values = yaml.safe_load((ROOT / "charts" / "mysql-bootstrap" / "values.yaml").read_text())
    assert not {"password", "rootPassword"} & set(values) and "password" not in values["rootSecret"]


# --- settings validation ---------------------------------------------------------------------

def test_even_server_count_is_rejected():
    with pytest.raises(ValidationError, match="server_instances must be odd"):
        MySqlSettings(server_instances=2)


def test_a_database_belongs_to_one_user():
    with pytest.raises(ValidationError, match="database 'katib' belongs to both"):
        MySqlSettings.model_validate({"users": [{"name": "a", "databases": ["katib"]},
                                                {"name": "b", "databases": ["katib"]}]})


# --- production guardrails ---------------------------------------------------------------------

def _prod_problems(tmp_path: Path, lock, mysql: dict) -> tuple[ConfigError, dict[str, str]]:
    """A minimal production environment (base.yaml: single MySQL) whose broken.yaml sets ``components.mysql``."""
    with pytest.raises(ConfigError) as info:
        load_minimal(tmp_path, lock, merged(PRODUCTION, enable("mysql", mysql=SINGLE)),
                     {"components": {"mysql": mysql}})
    err = info.value
    return err, {format_path(p.path): f"{p.file}: {p.message}" for p in err.problems}


def test_prod_rejects_a_single_mysql_server(tmp_path, lock):
    err, msgs = _prod_problems(tmp_path, lock, {"server_instances": 1, "router_instances": 2,
                                                "backup": {"enabled": True}})
    assert list(msgs) == ["components.mysql.server_instances"]
    assert msgs["components.mysql.server_instances"].startswith("environments/broken.yaml: guardrail: production needs >= 3")
    assert "environments/broken.yaml" in str(err) and "components.mysql.server_instances" in str(err)


def test_prod_rejects_one_router_and_no_backups(tmp_path, lock):
    _, msgs = _prod_problems(tmp_path, lock, {"server_instances": 3})
    assert set(msgs) == {"components.mysql.router_instances", "components.mysql.backup.enabled"}


def test_base_yaml_default_is_named_when_prod_sets_nothing(tmp_path, lock):
    with pytest.raises(ConfigError) as info:  # base.yaml: a single MySQL server; broken.yaml: tier production only
        load_minimal(tmp_path, lock, merged(PRODUCTION, enable("mysql", mysql=SINGLE), {"tier": "development"}),
                     {"tier": "production"})
    by_path = {format_path(p.path): p for p in info.value.problems}
    assert by_path["components.mysql.server_instances"].file == "environments/base.yaml"
