"""Bad environment files: every error names the file, the key path and the reason.

Each case writes base.yaml (the real one) and one broken environment file into
a temporary environments/ folder and checks the ConfigError.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kfstack.config import ConfigError, load_environments
from kfstack.config.loader import load_environment
from tests.conftest import ROOT


def _write_envs(tmp_path: Path, files: dict[str, str]) -> Path:
    env_dir = tmp_path / "environments"
    env_dir.mkdir()
    shutil.copy(ROOT / "environments" / "base.yaml", env_dir / "base.yaml")
    for name, text in files.items():
        (env_dir / name).write_text(text)
    return env_dir


def _error(tmp_path: Path, text: str, name: str = "broken") -> ConfigError:
    env_dir = _write_envs(tmp_path, {f"{name}.yaml": text})
    with pytest.raises(ConfigError) as info:
        load_environment(env_dir, name, display_root=tmp_path)
    return info.value


DEV = (ROOT / "environments" / "dev.yaml").read_text()
PROD = (ROOT / "environments" / "prod.yaml").read_text()


def _with(text: str, **patch) -> str:
    data = yaml.safe_load(text)
    for dotted, value in patch.items():
        node = data
        keys = dotted.split("__")
        for k in keys[:-1]:
            node = node[int(k)] if isinstance(node, list) else node.setdefault(k, {})
        last = keys[-1]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return yaml.safe_dump(data, sort_keys=False)


def test_unknown_key_typo(tmp_path):
    err = _error(tmp_path, _with(DEV, components={"istio": {"istiod_replicsa": 2}}))
    (p,) = err.problems
    assert p.file == "environments/broken.yaml"
    assert p.path == ("components", "istio", "istiod_replicsa")
    assert "unknown key" in p.message
    assert "environments/broken.yaml:" in str(err) and "components.istio.istiod_replicsa" in str(err)


def test_wrong_type(tmp_path):
    err = _error(tmp_path, _with(DEV, components={"cert_manager": {"replicas": "three"}}))
    (p,) = err.problems
    assert p.path == ("components", "cert_manager", "replicas")
    assert "integer" in p.message and "'three'" in p.message


@pytest.mark.parametrize("count", [0, -2])
def test_zero_or_negative_count(tmp_path, count):
    err = _error(tmp_path, _with(DEV, node_pools__0__count=count))
    (p,) = err.problems
    assert p.path == ("node_pools", 0, "count")
    assert "greater than or equal to 1" in p.message


def test_duplicate_node_pool_names(tmp_path):
    data = yaml.safe_load(DEV)
    data["node_pools"].append(dict(data["node_pools"][0]))
    err = _error(tmp_path, yaml.safe_dump(data))
    (p,) = err.problems
    assert p.path == ("node_pools",)
    assert "duplicate node pool name 'system'" in p.message


def test_gpu_field_on_non_gpu_pool(tmp_path):
    data = yaml.safe_load(DEV)
    data["node_pools"][0]["gpu"] = {"product": "Tesla-T4", "per_node": 1}
    err = _error(tmp_path, yaml.safe_dump(data))
    (p,) = err.problems
    assert p.path == ("node_pools", 0)
    assert "not a GPU pool" in p.message


def test_gpu_pool_without_gpu_block(tmp_path):
    data = yaml.safe_load(DEV)
    del data["node_pools"][1]["gpu"]
    err = _error(tmp_path, yaml.safe_dump(data))
    assert err.problems[0].path == ("node_pools", 1)
    assert "no 'gpu' block" in err.problems[0].message


def test_unknown_component(tmp_path):
    err = _error(tmp_path, _with(DEV, components={"kserv": {"enabled": True}}))
    (p,) = err.problems
    assert p.path == ("components", "kserv")
    assert "unknown component 'kserv'" in p.message and "cert_manager" in p.message


def test_missing_required_field(tmp_path):
    data = yaml.safe_load(DEV)
    del data["cluster"]["context"]
    err = _error(tmp_path, yaml.safe_dump(data))
    (p,) = err.problems
    assert p.path == ("cluster", "context")
    assert p.message == "required key is missing"


def test_invalid_version_string(tmp_path):
    err = _error(tmp_path, _with(DEV, release={"versions": {"istio": "latest"}}))
    (p,) = err.problems
    assert p.path == ("release", "versions", "istio")
    assert "'latest' is not a version" in p.message


def test_yaml_syntax_error_has_line(tmp_path):
    err = _error(tmp_path, "tier: development\ncluster:\n  context: [dev\nstorage: {}\n")
    (p,) = err.problems
    assert p.file == "environments/broken.yaml"
    assert p.line is not None and p.line >= 3
    assert "YAML syntax error" in p.message
    assert f"environments/broken.yaml:{p.line}:" in str(err)


def test_empty_file(tmp_path):
    err = _error(tmp_path, "# nothing here\n")
    assert "file is empty" in err.problems[0].message


def test_duplicate_yaml_key(tmp_path):
    err = _error(tmp_path, DEV + "\ntier: staging\n")
    (p,) = err.problems
    assert p.path == ("tier",) and "duplicate key" in p.message


def test_error_in_base_names_base_file(tmp_path):
    env_dir = _write_envs(tmp_path, {"dev.yaml": DEV})
    base = (env_dir / "base.yaml").read_text().replace("cert_manager: 1.19.4", "cert_manager: one")
    (env_dir / "base.yaml").write_text(base)
    with pytest.raises(ConfigError) as info:
        load_environment(env_dir, "dev", display_root=tmp_path)
    (p,) = info.value.problems
    assert p.file == "environments/base.yaml"
    expected = next(i for i, line in enumerate(base.splitlines(), 1) if "cert_manager: one" in line)
    assert p.line == expected and p.path == ("release", "versions", "cert_manager")


def test_name_key_is_rejected(tmp_path):
    err = _error(tmp_path, "name: other\n" + DEV)
    assert err.problems[0].path == ("name",)


@pytest.mark.parametrize(
    ("patch", "path", "needle"),
    [
        ({"components": {"cert_manager": {"replicas": 1}}}, ("components", "cert_manager", "replicas"),
         ">= 2 cert-manager replicas"),
        ({"components": {"istio": {"istiod_replicas": 1}}}, ("components", "istio", "istiod_replicas"),
         ">= 2 istiod replicas"),
    ],
)
def test_prod_guardrails(tmp_path, patch, path, needle):
    data = yaml.safe_load(PROD)
    for k, v in patch["components"].items():
        data["components"][k].update(v)
    err = _error(tmp_path, yaml.safe_dump(data), name="prod")
    found = [p for p in err.problems if p.path == path]
    assert found, err
    assert needle in found[0].message and found[0].message.startswith("guardrail:")
    assert found[0].file == "environments/prod.yaml"


def test_prod_gpu_pool_needs_taint(tmp_path):
    data = yaml.safe_load(PROD)
    gpu = next(p for p in data["node_pools"] if p.get("kind") == "gpu")
    gpu["taints"] = []
    err = _error(tmp_path, yaml.safe_dump(data), name="prod")
    assert any("has no taint" in p.message and p.path[0] == "node_pools" for p in err.problems), err


def test_same_settings_pass_outside_production(tmp_path):
    data = yaml.safe_load(PROD)
    data["tier"] = "development"
    data["components"]["cert_manager"]["replicas"] = 1
    env_dir = _write_envs(tmp_path, {"prod.yaml": yaml.safe_dump(data)})
    assert load_environment(env_dir, "prod").components.cert_manager.replicas == 1


def test_all_problems_of_all_environments_reported_together(tmp_path):
    env_dir = _write_envs(tmp_path, {
        "dev.yaml": _with(DEV, components={"istio": {"istiod_replicsa": 2}}),
        "staging.yaml": "",
        "prod.yaml": PROD,
    })
    with pytest.raises(ConfigError) as info:
        load_environments(env_dir, display_root=tmp_path)
    files = {p.file for p in info.value.problems}
    assert files == {"environments/dev.yaml", "environments/staging.yaml"}


def test_cli_exits_nonzero_and_writes_nothing(tmp_path):
    """End to end through main.py on a copy of the project with one broken environment."""
    proj = tmp_path / "proj"
    shutil.copytree(ROOT, proj, ignore=shutil.ignore_patterns(".venv", "cdktf.out", "node_modules", ".git",
                                                                "vendor", "build", "state", "__pycache__"))
    (proj / "environments" / "staging.yaml").write_text(
        (proj / "environments" / "staging.yaml").read_text() + "\nreplicsa: 3\n")
    result = subprocess.run([sys.executable, "main.py"], cwd=proj, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr
    assert "environments/staging.yaml:" in result.stderr and "replicsa: unknown key" in result.stderr
    assert not (proj / "cdktf.out").exists()


def test_non_utf8_file_names_file_and_line(tmp_path):
    env_dir = _write_envs(tmp_path, {})
    (env_dir / "broken.yaml").write_bytes(DEV.encode() + b"\nx: \xff\n")
    with pytest.raises(ConfigError) as info:
        load_environment(env_dir, "broken", display_root=tmp_path)
    (p,) = info.value.problems
    assert p.file == "environments/broken.yaml" and "not UTF-8" in p.message
    assert p.line == DEV.count("\n") + 2


def test_empty_mapping_is_reported_in_plain_words(tmp_path):
    data = yaml.safe_load(DEV)
    data["cluster"] = None
    err = _error(tmp_path, yaml.safe_dump(data))
    (p,) = err.problems
    assert p.path == ("cluster",) and p.message == "must be a mapping of keys to values, got nothing (an empty value)"


def test_invalid_node_label_value(tmp_path):
    data = yaml.safe_load(DEV)
    data["node_pools"][0]["labels"] = {"team": "données"}
    err = _error(tmp_path, yaml.safe_dump(data, allow_unicode=True))
    assert "is not a valid Kubernetes label value" in err.problems[0].message


def test_unpinned_release_version_is_a_config_error_naming_key(tmp_path):
    from kfstack.sources.lock import load_lock, unpinned_versions

    env_dir = _write_envs(tmp_path, {"broken.yaml": _with(DEV, release={"versions": {"cert_manager": "9.9.9"}})})
    with pytest.raises(ConfigError) as info:
        load_environment(env_dir, "broken", display_root=tmp_path,
                         checks=[unpinned_versions(load_lock(ROOT / "sources.lock"))])
    (p,) = info.value.problems
    assert p.file == "environments/broken.yaml" and p.path == ("release", "versions", "cert_manager")
    assert "cert_manager 9.9.9 is not pinned in sources.lock" in p.message and "'broken'" in p.message


@pytest.mark.parametrize(("patch", "path"), [
    ({"components": {"cert_manager": {"replicas": "3"}}}, ("components", "cert_manager", "replicas")),
    ({"components": {"istio": {"cni": "off"}}}, ("components", "istio", "cni")),
])
def test_strings_are_not_coerced_into_numbers_or_booleans(tmp_path, patch, path):
    err = _error(tmp_path, _with(DEV, **patch))
    assert [p.path for p in err.problems] == [path]


def test_boolean_is_not_a_count(tmp_path):
    err = _error(tmp_path, _with(DEV, node_pools__0__count=True))
    assert err.problems[0].path == ("node_pools", 0, "count")


def test_mig_layout_beyond_seven_compute_slices_is_rejected(tmp_path):
    data = yaml.safe_load(DEV)
    data["node_pools"][1]["gpu"] = {"product": "NVIDIA-A100-SXM4-80GB", "per_node": 8, "sharing": "mig",
                                    "mig_strategy": "mixed", "mig_devices": {"3g.40gb": 2, "1g.10gb": 7}}
    err = _error(tmp_path, yaml.safe_dump(data))
    (p,) = err.problems
    assert p.path == ("node_pools", 1, "gpu") and "need 13 compute slices per GPU; a GPU has 7" in p.message


def test_a_key_whose_value_is_a_block_is_reported_on_the_keys_own_line(tmp_path):
    """``fancy_thing:`` on line 3 with its mapping on line 4 is reported at line 3, like a scalar key."""
    text = DEV.rstrip("\n") + "\n"
    lines = text.count("\n")
    err = _error(tmp_path, text.replace("components:\n", "components:\n  fancy_thing:\n    enabled: true\n", 1))
    (p,) = err.problems
    assert p.path == ("components", "fancy_thing")
    key_line = [i for i, line in enumerate(text.splitlines(), 1) if line == "components:"][0] + 1
    assert p.line == key_line and lines
