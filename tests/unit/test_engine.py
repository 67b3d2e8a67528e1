"""kfstack.engine: one engine and one output folder for plan, apply, drift and recover.

Stand-in engines are shell scripts in tmp_path that log how they were called; PATH holds only
tmp_path and the shell's own folder, so no real tofu/terraform of the machine is picked up.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kfstack import plan as plan_mod
from kfstack.cli import app
from kfstack.engine import EngineError, engine_binary, output_dir, stack_dir

ENGINE_VARIABLES = ("KFSTACK_TF_BINARY", "KFSTACK_TOFU", "TERRAFORM_BINARY_NAME", "KFSTACK_USE_SYSTEM_TOFU")

STANDIN = r"""#!/bin/sh
echo "$(basename "$0") $*" >> "{log}"
case "$1" in
  state) echo '{{"version": 4, "resources": []}}' ;;
  plan) for a in "$@"; do case "$a" in -out=*) : > "${{a#-out=}}" ;; esac; done; echo "No changes." ;;
  show) echo '{{"format_version": "1.2", "resource_changes": [], "resource_drift": []}}' ;;
esac
exit 0
"""


def _standin(folder: Path, name: str, log: Path) -> Path:
    path = folder / name
    path.write_text(STANDIN.format(log=log))
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


@pytest.fixture
def bin_dir(tmp_path, monkeypatch) -> Path:
    """An empty folder that is all of PATH (plus /bin for the stand-ins' shell tools); no engine variables."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", f"{folder}:/bin:/usr/bin")
    for var in ENGINE_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    return folder


def test_precedence(bin_dir, tmp_path, monkeypatch):
    log = tmp_path / "log"
    tofu, terraform = _standin(bin_dir, "tofu", log), _standin(bin_dir, "terraform", log)
    explicit = _standin(tmp_path, "my-engine", log)
    assert engine_binary() == str(tofu)                      # 3. tofu on PATH
    monkeypatch.setenv("TERRAFORM_BINARY_NAME", "terraform")
    assert engine_binary() == str(terraform)                 # 2. cdktf's setting wins over tofu on PATH
    monkeypatch.setenv("KFSTACK_TOFU", str(explicit))
    assert engine_binary() == str(explicit)                  # 1. the older name still counts
    monkeypatch.setenv("KFSTACK_TF_BINARY", "tofu")
    assert engine_binary() == str(tofu)                      # 1. and KFSTACK_TF_BINARY comes first


def test_terraform_on_path_only_when_asked(bin_dir, tmp_path, monkeypatch):
    terraform = _standin(bin_dir, "terraform", tmp_path / "log")
    with pytest.raises(EngineError) as info:
        engine_binary()
    text = str(info.value)
    assert "\n" not in text and "OpenTofu (tofu) is not on PATH" in text
    assert f"{terraform} is not used unless KFSTACK_USE_SYSTEM_TOFU=1" in text
    assert 'bash scripts/toolchain.sh && eval "$(bash scripts/toolchain.sh env)"' in text
    monkeypatch.setenv("KFSTACK_USE_SYSTEM_TOFU", "1")
    assert engine_binary() == str(terraform)


@pytest.mark.parametrize("variable", ["KFSTACK_TF_BINARY", "KFSTACK_TOFU", "TERRAFORM_BINARY_NAME"])
def test_a_variable_naming_no_executable_is_one_line(bin_dir, tmp_path, monkeypatch, variable):
    _standin(bin_dir, "tofu", tmp_path / "log")  # never a silent fallback to it
    monkeypatch.setenv(variable, str(tmp_path / "missing"))
    with pytest.raises(EngineError, match=f"^{variable}=.*is not an executable.*scripts/toolchain.sh[^\n]*$"):
        engine_binary()


@pytest.fixture
def terraform_site(bin_dir, tmp_path, monkeypatch):
    """A site on Terraform: tofu is on PATH too, TERRAFORM_BINARY_NAME=terraform (what cdktf deploy uses)."""
    log = tmp_path / "engine.log"
    _standin(bin_dir, "tofu", log)
    _standin(bin_dir, "terraform", log)
    monkeypatch.setenv("TERRAFORM_BINARY_NAME", "terraform")
    folder = tmp_path / "out" / "stacks" / "local"
    folder.mkdir(parents=True)
    (folder / "cdk.tf.json").write_text(json.dumps({"resource": {}}))
    monkeypatch.setenv("CDKTF_OUTDIR", str(tmp_path / "out"))
    return log, folder


def _calls(log: Path) -> list[str]:
    return log.read_text().splitlines()


def test_a_site_on_terraform_plans_with_terraform(terraform_site, tmp_path, monkeypatch, real_envs):
    log, folder = terraform_site
    monkeypatch.setattr(plan_mod, "synth_stack", lambda env, lock, outdir, root=None: folder)
    result = plan_mod.plan(real_envs["dev"], None, outdir=tmp_path / "out")
    assert not result.summary.has_changes
    assert [c.split()[:2] for c in _calls(log)] == [["terraform", "init"], ["terraform", "plan"],
                                                    ["terraform", "show"]]


def test_a_site_on_terraform_recovers_and_detects_drift_with_terraform(terraform_site, monkeypatch):
    import kfstack.drift as drift_mod
    import kfstack.recover as recover_mod

    log, folder = terraform_site
    monkeypatch.setattr(drift_mod, "api_client_for", lambda *a: object())
    monkeypatch.setattr(recover_mod, "untracked_objects",
                        lambda config, state, api: [("kubernetes_namespace_v1.Kubeflow", "kubeflow")])
    monkeypatch.setattr(recover_mod, "list_releases", lambda api, names: {})
    result = CliRunner().invoke(app, ["recover", "local"])  # the stack folder from $CDKTF_OUTDIR
    assert result.exit_code == 0, result.output
    assert "import kubernetes_namespace_v1.Kubeflow kubeflow" in result.output
    assert _calls(log) == [
        "terraform plan -refresh=false -lock-timeout=0 -input=false -no-color",
        "terraform state pull",
        "terraform import -input=false -no-color kubernetes_namespace_v1.Kubeflow kubeflow"]

    log.unlink()
    monkeypatch.setattr(drift_mod, "helm_drift", lambda api, releases: [])
    result = CliRunner().invoke(app, ["drift", "local"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "local: no drift"
    assert [c.split()[:2] for c in _calls(log)] == [["terraform", "state"], ["terraform", "plan"],
                                                    ["terraform", "show"]]


def test_recover_prints_the_force_unlock_of_the_engine_in_use(terraform_site, monkeypatch):
    import kfstack.drift as drift_mod

    log, folder = terraform_site
    locked = folder.parent.parent.parent / "bin" / "terraform"
    locked.write_text("#!/bin/sh\necho 'Error: Error acquiring the state lock'\necho 'Lock Info:'\n"
                      "echo '  ID:        1234-abcd'\nexit 1\n")
    monkeypatch.setattr(drift_mod, "api_client_for", lambda *a: object())
    result = CliRunner().invoke(app, ["recover", "local"])
    assert result.exit_code == 3, result.output
    assert f"terraform -chdir={folder} force-unlock -force 1234-abcd" in result.output


def test_drift_without_an_engine_is_one_line(bin_dir, tmp_path, monkeypatch):
    import kfstack.drift as drift_mod

    folder = tmp_path / "stack"
    folder.mkdir()
    (folder / "cdk.tf.json").write_text("{}")
    monkeypatch.setattr(drift_mod, "api_client_for", lambda *a: object())
    result = CliRunner().invoke(app, ["drift", "local", "--stack-dir", str(folder)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: OpenTofu (tofu) is not on PATH"), result.output
    assert "scripts/toolchain.sh" in lines[0] and "Traceback" not in result.output


def test_output_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("CDKTF_OUTDIR", raising=False)
    assert output_dir() == Path("cdktf.out") and output_dir(None) == Path("cdktf.out")
    monkeypatch.setenv("CDKTF_OUTDIR", str(tmp_path / "env-out"))
    assert output_dir() == tmp_path / "env-out"
    assert output_dir("given") == Path("given")               # --outdir wins
    assert stack_dir(None, "prod") == tmp_path / "env-out" / "stacks" / "prod"
    assert stack_dir("given", "prod") == Path("given/stacks/prod")


def test_drift_and_recover_take_outdir_like_plan(terraform_site, tmp_path, monkeypatch):
    import kfstack.drift as drift_mod

    log, folder = terraform_site
    monkeypatch.setenv("CDKTF_OUTDIR", str(tmp_path / "elsewhere"))
    monkeypatch.setattr(drift_mod, "api_client_for", lambda *a: object())
    monkeypatch.setattr(drift_mod, "helm_drift", lambda api, releases: [])
    missing = CliRunner().invoke(app, ["drift", "local"])
    assert missing.exit_code == 2 and f"{tmp_path / 'elsewhere'}/stacks/local/cdk.tf.json not found" in missing.output
    found = CliRunner().invoke(app, ["drift", "local", "--outdir", str(tmp_path / "out")])
    assert found.exit_code == 0, found.output


def test_only_the_engine_module_names_the_engine_and_the_output_folder():
    """The engine's names, its variables and the output folder's default are written in kfstack/engine.py
    only (as whole string constants): a second lookup elsewhere is how plan and recover came to differ."""
    import ast

    words = {"tofu", "terraform", "KFSTACK_TF_BINARY", "KFSTACK_TOFU", "TERRAFORM_BINARY_NAME",
             "KFSTACK_USE_SYSTEM_TOFU", "CDKTF_OUTDIR", "cdktf.out"}
    package = Path(__file__).resolve().parents[2] / "kfstack"
    offenders = [f"{path.relative_to(package.parent)}:{node.lineno}: {node.value!r}"
                 for path in sorted(package.rglob("*.py")) if path != package / "engine.py"
                 for node in ast.walk(ast.parse(path.read_text()))
                 if isinstance(node, ast.Constant) and node.value in words]
    assert not offenders, "use kfstack.engine instead:\n" + "\n".join(offenders)
