"""Issue 13 item 7: inputs that used to be accepted and then produced something wrong.

(The single-file cases are in the bad-input corpus, tests/fixtures/bad_inputs; these need
several files, a synthesized stack, or check the declared tables themselves.)
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from kfstack.config import ConfigError, load_environments
from kfstack.constructs.cluster_baseline.gpus import MIG_GPUS, instance_profile, profile_slices
from kfstack.config.loader import environment_names, load_environment
from kfstack.cron import check_schedule
from tests.conftest import ROOT

DEV = yaml.safe_load((ROOT / "environments" / "dev.yaml").read_text())


def _env_dir(tmp_path: Path, files: dict[str, object]) -> Path:
    env_dir = tmp_path / "environments"
    env_dir.mkdir()
    shutil.copy(ROOT / "environments" / "base.yaml", env_dir / "base.yaml")
    for name, data in files.items():
        (env_dir / name).write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return env_dir


def _problems(env_dir: Path, tmp_path: Path) -> list:
    with pytest.raises(ConfigError) as info:
        load_environments(env_dir, display_root=tmp_path)
    return list(info.value.problems)


@pytest.mark.parametrize(("backend_a", "backend_b", "path"), [
    ({"type": "local", "path": "state/shared.tfstate"}, {"type": "local", "path": "state/../state/shared.tfstate"},
     ("backend", "path")),
    ({"type": "pg", "schema_name": "kfstack"}, {"type": "pg", "schema_name": "kfstack"}, ("backend", "schema_name")),
    ({"type": "s3", "bucket": "tfstate", "endpoint": "https://rgw.internal", "key": "kf.tfstate"},
     {"type": "s3", "bucket": "tfstate", "endpoint": "https://RGW.internal/", "key": "kf.tfstate"}, ("backend", "key")),
    ({"type": "kubernetes", "secret_suffix": "kf"}, {"type": "kubernetes", "secret_suffix": "kf"},
     ("backend", "secret_suffix")),
], ids=["local", "pg", "s3", "kubernetes"])
def test_two_environments_sharing_one_state_location(tmp_path, backend_a, backend_b, path):
    env_dir = _env_dir(tmp_path, {"alpha.yaml": {**DEV, "backend": backend_a},
                                  "beta.yaml": {**DEV, "backend": backend_b}})
    (p,) = _problems(env_dir, tmp_path)
    assert p.file == "environments/beta.yaml" and p.path == path
    assert "where environment 'alpha' keeps its own" in p.message


def test_default_state_locations_differ_per_environment(tmp_path):
    env_dir = _env_dir(tmp_path, {"alpha.yaml": {**DEV, "backend": {"type": "pg"}},
                                  "beta.yaml": {**DEV, "backend": {"type": "pg"}}})
    assert sorted(load_environments(env_dir)) == ["alpha", "beta"]


def test_yml_file_is_refused_not_ignored(tmp_path):
    env_dir = _env_dir(tmp_path, {"dev.yaml": DEV, "staging.yml": DEV})
    (p,) = _problems(env_dir, tmp_path)
    assert p.file == "environments/staging.yml" and "rename it to staging.yaml" in p.message
    assert environment_names(env_dir) == ["dev"]  # the name list itself stays *.yaml


def test_yml_named_on_the_command_line_gets_the_rename_hint(tmp_path):
    env_dir = _env_dir(tmp_path, {"staging.yml": DEV})
    with pytest.raises(ConfigError) as info:
        load_environment(env_dir, "staging", display_root=tmp_path)
    (p,) = info.value.problems
    assert p.file == "environments/staging.yml" and "rename it to staging.yaml" in p.message


@pytest.mark.parametrize("name", ["Prod", "prod_eu", "-prod", "x" * 64])
def test_bad_environment_name_is_reported_against_the_file_not_a_name_key(tmp_path, name):
    env_dir = _env_dir(tmp_path, {f"{name}.yaml": DEV})
    (p,) = _problems(env_dir, tmp_path)
    assert p.file == f"environments/{name}.yaml" and p.path == () and p.line is None
    assert "comes from the file name" in p.message and "rename the file" in p.message


def test_registry_trailing_slash_never_makes_a_double_slash(synth_config):
    stack = synth_config({"registry": {"host": "registry.internal/mirror/"}})
    text = json.dumps(stack).replace("://", "")
    assert "registry.internal/mirror/" in text and "mirror//" not in text


@pytest.mark.parametrize(("schedule", "fires"), [
    ("0 2 * * *", True), ("@daily", True), ("0 0 29 2 *", True), ("*/15 * * * *", True), ("0 2 * * mon-fri", True),
    ("0 0 31 2 */2", True),  # both day fields restricted: cron fires on either
    ("0 0 30 2 *", False), ("0 0 31 4,6,9,11 *", False), ("0 0 31 2 ?", False),
])
def test_cron_schedule_that_never_fires(schedule, fires):
    if fires:
        assert check_schedule(schedule) == schedule
    else:
        with pytest.raises(ValueError, match="never fires"):
            check_schedule(schedule)


@pytest.mark.parametrize(("schedule", "reason"), [
    ("60 * * * *", "minute field: 60 is outside 0-59"), ("0 2 * * 8", "day of week field: 8 is outside 0-7"),
    ("0 2 * 13 *", "month field: 13"), ("5-1 * * * *", "runs backwards"), ("*/0 * * * *", "step '0'"),
    ("0 2 L * *", "'L' is not a number"), ("? 2 * * *", "only allowed in the day fields"),
    ("TZ=UTC 0 2 * * *", "set time_zone instead"), ("@every 1h", "unknown macro"), ("0 2 * *", "5 fields"),
    ("0 2 1,,2 * *", "empty list item"),
])
def test_cron_schedule_syntax(schedule, reason):
    with pytest.raises(ValueError, match=None) as info:
        check_schedule(schedule)
    assert reason in str(info.value)


def test_mig_table_is_consistent():
    """Every listed profile fits its GPU, and the largest profile takes the whole GPU."""
    for product, gpu in MIG_GPUS.items():
        assert gpu.slices in (4, 7), product
        assert max(profile_slices(p) for p in gpu.profiles) == gpu.slices, product
        assert all(p.endswith("gb") or p.endswith("+me") for p in gpu.profiles), product
    assert instance_profile("1c.3g.40gb") == "3g.40gb" and profile_slices("1c.3g.40gb") == 3


def test_shipped_mig_pools_use_listed_profiles(real_envs):
    for env in real_envs.values():
        for pool in env.gpu_pools:
            if pool.gpu.mig_devices:
                offered = MIG_GPUS[pool.gpu.product].profiles
                assert {instance_profile(p) for p in pool.gpu.mig_devices} <= offered


def test_loading_one_environment_still_sees_another_sharing_its_state(tmp_path):
    """`kfstack plan beta` must refuse when alpha keeps its state in the same place."""
    backend = {"type": "pg", "schema_name": "shared"}
    env_dir = _env_dir(tmp_path, {"alpha.yaml": {**DEV, "backend": backend}, "beta.yaml": {**DEV, "backend": backend}})
    with pytest.raises(ConfigError) as info:
        load_environments(env_dir, ["beta"], display_root=tmp_path)
    (p,) = info.value.problems
    assert p.file == "environments/beta.yaml" and "where environment 'alpha' keeps its own" in p.message
