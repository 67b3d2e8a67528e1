"""State backends per environment: local (dev), pg, s3 (on-prem S3 with lock files), kubernetes.

No credential ever reaches a file: writing one is a config error naming the variable
Terraform reads at run time, and the synthesized JSON carries none.
"""

from __future__ import annotations

import json

import pytest
import yaml

from kfstack.config import ConfigError
from kfstack.config.loader import load_environment
from tests.conftest import ROOT

S3 = {"type": "s3", "bucket": "kfstack-state", "endpoint": "https://rgw.internal:8443"}


def _backend(synth_config, backend, **kw):
    return synth_config({"backend": backend}, **kw)["terraform"]["backend"]


def test_dev_and_staging_stay_local_prod_uses_pg(synth_env):
    assert synth_env("dev")["terraform"]["backend"] == {"local": {"path": "../../../state/dev.tfstate"}}
    assert synth_env("staging")["terraform"]["backend"] == {"local": {"path": "../../../state/staging.tfstate"}}
    assert synth_env("prod")["terraform"]["backend"] == {"pg": {"schema_name": "kfstack_prod"}}


def test_pg_has_schema_and_no_conn_str(synth_config):
    assert _backend(synth_config, {"type": "pg"}, name="team-a") == {"pg": {"schema_name": "kfstack_team_a"}}
    assert _backend(synth_config, {"type": "pg", "schema_name": "tf_state"}) == {"pg": {"schema_name": "tf_state"}}


def test_s3_on_prem_defaults(synth_config):
    assert _backend(synth_config, S3, name="staging") == {"s3": {
        "bucket": "kfstack-state", "key": "kfstack/staging.tfstate", "region": "us-east-1",
        "endpoints": {"s3": "https://rgw.internal:8443"}, "use_path_style": True, "use_lockfile": True,
        "skip_credentials_validation": True, "skip_region_validation": True, "skip_requesting_account_id": True,
        "skip_metadata_api_check": True, "skip_s3_checksum": True}}


def test_s3_overrides(synth_config):
    got = _backend(synth_config, {**S3, "key": "platform/x.tfstate", "region": "default", "use_path_style": False,
                                  "skip_s3_checksum": False})["s3"]
    assert got["key"] == "platform/x.tfstate" and got["region"] == "default"
    assert got["use_path_style"] is False and got["skip_s3_checksum"] is False and got["use_lockfile"] is True


def test_kubernetes_uses_cluster_connection(synth_config):
    assert _backend(synth_config, {"type": "kubernetes", "namespace": "kfstack-state"}, name="dev") == {
        "kubernetes": {"secret_suffix": "dev", "namespace": "kfstack-state", "config_path": "~/.kube/config",
                       "config_context": "dev"}}
    assert _backend(synth_config, {"type": "kubernetes", "secret_suffix": "platform"})["kubernetes"][
        "secret_suffix"] == "platform"


def _load(tmp_path, text, name="x"):
    import shutil

    env_dir = tmp_path / "environments"
    env_dir.mkdir(exist_ok=True)
    shutil.copy(ROOT / "environments" / "base.yaml", env_dir / "base.yaml")
    (env_dir / f"{name}.yaml").write_text(text)
    return load_environment(env_dir, name, display_root=tmp_path)


DEV = (ROOT / "environments" / "dev.yaml").read_text()
PROD = (ROOT / "environments" / "prod.yaml").read_text()


@pytest.mark.parametrize(("backend", "key", "var"), [
    ({"type": "pg", "conn_str": "postgres://kfstack:secret@db/terraform"}, "conn_str", "PG_CONN_STR"),
    ({**S3, "access_key": "AKIA0000"}, "access_key", "AWS_ACCESS_KEY_ID"),
    ({**S3, "secret_key": "s3cr3t"}, "secret_key", "AWS_SECRET_ACCESS_KEY"),
    ({"type": "kubernetes", "token": "eyJ..."}, "token", "KUBE_TOKEN"),
])
def test_credentials_in_file_are_rejected(tmp_path, backend, key, var):
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, DEV + "\n" + yaml.safe_dump({"backend": backend}))
    (p,) = info.value.problems
    assert p.path == ("backend", key) and p.file == "environments/x.yaml" and p.line is not None
    assert "credential" in p.message and f"set {var} in the environment at run time" in p.message
    assert str(backend[key]) not in str(info.value)  # the secret is not echoed into logs


def test_kubernetes_backend_refuses_its_own_kubeconfig(tmp_path):
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, DEV + "\nbackend: {type: kubernetes, config_path: /etc/kube}\n")
    (p,) = info.value.problems
    assert p.path == ("backend", "config_path") and "cluster.kubeconfig" in p.message


def test_unknown_backend_key_and_type(tmp_path):
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, DEV + "\nbackend: {type: pg, schema_nme: x}\n")
    assert [(p.path, "unknown key" in p.message) for p in info.value.problems] == [(("backend", "schema_nme"), True)]
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, DEV + "\nbackend: {type: nfs}\n")
    assert info.value.problems[0].path == ("backend",) and "'pg', 's3', 'kubernetes'" in info.value.problems[0].message


def test_s3_needs_bucket_and_endpoint(tmp_path):
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, DEV + "\nbackend: {type: s3}\n")
    assert {p.path for p in info.value.problems} == {("backend", "bucket"), ("backend", "endpoint")}


def test_prod_guardrail_refuses_local_state(tmp_path):
    data = yaml.safe_load(PROD)
    data["backend"] = {"type": "local"}
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, yaml.safe_dump(data), name="prod")
    (p,) = info.value.problems
    assert p.path == ("backend", "type") and p.message.startswith("guardrail:") and "shared, locked" in p.message


def test_prod_guardrail_needs_s3_lockfile(tmp_path):
    data = yaml.safe_load(PROD)
    data["backend"] = {**S3, "use_lockfile": False}
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, yaml.safe_dump(data), name="prod")
    (p,) = info.value.problems
    assert p.path == ("backend", "use_lockfile") and "guardrail" in p.message
    data["backend"] = S3
    assert _load(tmp_path, yaml.safe_dump(data), name="prod").backend.type == "s3"


def test_no_credentials_in_any_synthesized_backend(synth_config):
    for backend in ({"type": "pg"}, S3, {"type": "kubernetes"}):
        text = json.dumps(_backend(synth_config, backend))
        for needle in ("conn_str", "access_key", "secret_key", "token", "password"):
            assert needle not in text
