"""kfstack check's rules on hand-made objects and charts (no Helm, no cluster).

The same rules run on the real upstream charts in tests/conformance.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
import yaml

from kfstack.check.charts import ChartLocator, ChartNotFound
from kfstack.check.report import Category, EnvironmentReport, Problem, ReleaseReport, format_markdown, format_text
from kfstack.check.rules import (
    RELEASE_LIMIT_BYTES,
    PoolView,
    disruption_problems,
    image_problems,
    inventory_problems,
    load_chart,
    merged_values,
    perturbed,
    scheduling_problems,
    selects,
    size_problems,
    tolerates,
    unknown_values,
)
from kfstack.check.stack import PLACEHOLDER, load_stack
from kfstack.check.workloads import pod_spec

GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
POOLS = [
    PoolView("cpu", {"kfstack.io/node-pool": "cpu"}, (), False),
    PoolView("gpu-a100", {"kfstack.io/node-pool": "gpu-a100", "nvidia.com/gpu.present": "true"}, (GPU_TAINT,), True),
]


def daemonset(tolerations=None, node_selector=None) -> dict:
    spec = {"containers": [{"name": "c", "image": "registry.internal/x/y:1"}]}
    if tolerations is not None:
        spec["tolerations"] = tolerations
    if node_selector:
        spec["nodeSelector"] = node_selector
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "ds", "namespace": "ns"},
            "spec": {"template": {"spec": spec}}}


def make_chart(tmp: Path, name: str, version: str, values: dict, templates: dict[str, str],
               subcharts: dict[str, tuple[dict, dict]] | None = None) -> Path:
    """A chart archive written like `helm package` lays it out."""
    archive = tmp / f"{name}-{version}.tgz"
    files = {f"{name}/Chart.yaml": yaml.safe_dump({"apiVersion": "v2", "name": name, "version": version}),
             f"{name}/values.yaml": yaml.safe_dump(values)}
    files.update({f"{name}/templates/{k}": v for k, v in templates.items()})
    for sub, (svalues, stemplates) in (subcharts or {}).items():
        files[f"{name}/charts/{sub}/Chart.yaml"] = yaml.safe_dump({"apiVersion": "v2", "name": sub, "version": "1.0.0"})
        files[f"{name}/charts/{sub}/values.yaml"] = yaml.safe_dump(svalues)
        files.update({f"{name}/charts/{sub}/templates/{k}": v for k, v in stemplates.items()})
    with tarfile.open(archive, "w:gz") as tar:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return archive


# ---------------------------------------------------------------- scheduling


@pytest.mark.parametrize(("toleration", "ok"), [
    ({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}, True),
    ({"key": "nvidia.com/gpu", "operator": "Equal", "value": "present"}, True),
    ({"operator": "Exists"}, True),
    ({"key": "nvidia.com/gpu", "operator": "Equal", "value": "shared", "effect": "NoSchedule"}, False),
    ({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoExecute"}, False),
    ({"key": "other", "operator": "Exists"}, False),
])
def test_toleration_matching_follows_kubernetes(toleration, ok):
    assert tolerates([toleration], GPU_TAINT) is ok


def test_daemonset_without_the_gpu_toleration_is_reported_for_the_gpu_pool_only():
    problems = scheduling_problems([daemonset(tolerations=[])], POOLS, "ns")
    assert [p.category for p in problems] == [Category.scheduling]
    assert "gpu-a100" in problems[0].message and "nvidia.com/gpu=present:NoSchedule" in problems[0].message
    assert problems[0].obj == "DaemonSet/ns/ds"
    ok = daemonset(tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists"}])
    assert scheduling_problems([ok], POOLS, "ns") == []


def test_daemonset_that_selects_only_cpu_nodes_needs_no_gpu_toleration():
    assert scheduling_problems([daemonset(node_selector={"kfstack.io/node-pool": "cpu"})], POOLS, "ns") == []
    spec = {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "nvidia.com/gpu.present", "operator": "DoesNotExist"}]}]}}}}
    assert selects(spec, POOLS[0].labels) and not selects(spec, POOLS[1].labels)


def test_ceph_csi_driver_own_empty_tolerations_override_operator_defaults():
    """The regression the real ceph-csi-drivers chart showed: Driver's [] wins over the defaults."""
    config = {"apiVersion": "csi.ceph.io/v1", "kind": "OperatorConfig", "metadata": {"name": "c"},
              "spec": {"driverSpecDefaults": {"nodePlugin": {"tolerations": [
                  {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"}]}}}}
    driver = {"apiVersion": "csi.ceph.io/v1", "kind": "Driver", "metadata": {"name": "rbd"},
              "spec": {"nodePlugin": {"tolerations": []}}}
    problems = scheduling_problems([config, driver], POOLS, "rook-ceph")
    assert len(problems) == 1 and "CSI node plugin" in problems[0].message
    del driver["spec"]["nodePlugin"]["tolerations"]
    assert scheduling_problems([config, driver], POOLS, "rook-ceph") == []


def test_gpu_operator_cluster_policy_operands_must_tolerate_gpu_pools():
    policy = {"apiVersion": "nvidia.com/v1", "kind": "ClusterPolicy", "metadata": {"name": "cluster-policy"},
              "spec": {"daemonsets": {"tolerations": [{"key": "other", "operator": "Exists"}]}}}
    assert len(scheduling_problems([policy], POOLS, "gpu-operator")) == 1
    policy["spec"]["daemonsets"]["tolerations"].append({"key": "nvidia.com/gpu", "operator": "Exists"})
    assert scheduling_problems([policy], POOLS, "gpu-operator") == []


# ---------------------------------------------------------------- PDBs, size, images


def _deploy(replicas: int) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "ns"},
            "spec": {"replicas": replicas, "template": {"metadata": {"labels": {"app": "web"}},
                                                        "spec": {"containers": [{"name": "c", "image": "i"}]}}}}


@pytest.mark.parametrize(("replicas", "budget", "blocks"), [
    (1, {"minAvailable": 1}, True),
    (2, {"minAvailable": 1}, False),
    (3, {"minAvailable": "100%"}, True),
    (3, {"maxUnavailable": 0}, True),
    (3, {"maxUnavailable": "34%"}, False),
])
def test_disruption_budget_that_allows_no_eviction_is_reported(replicas, budget, blocks):
    pdb = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web", "namespace": "ns"},
           "spec": {"selector": {"matchLabels": {"app": "web"}}, **budget}}
    problems = disruption_problems([_deploy(replicas), pdb], "ns")
    assert bool(problems) is blocks


def test_images_outside_the_registry_are_reported_for_every_container_kind():
    cron = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "backup"},
            "spec": {"jobTemplate": {"spec": {"template": {"spec": {
                "initContainers": [{"name": "i", "image": "docker.io/busybox:1.36"}],
                "containers": [{"name": "c", "image": "registry.internal/mysql/mysql-server:9.5.0"}]}}}}}}
    assert pod_spec(cron) is not None
    problems = image_problems([cron], "registry.internal", "mysql")
    assert [p.message for p in problems] == [
        "image docker.io/busybox:1.36 is not from the environment's registry registry.internal"]
    assert image_problems([cron], None, "mysql") == []


def test_image_rule_sees_what_kfstack_images_finds_and_honours_its_exceptions():
    """Env-var and arg images, ConfigMap-embedded configs count; `auto` and NOT_REHOSTABLE do not."""
    from kfstack.images import NOT_REHOSTABLE

    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "ctl", "namespace": "kubeflow"},
              "spec": {"template": {"spec": {"containers": [
                  {"name": "c", "image": "registry.internal/kubeflow/ctl:1",
                   "env": [{"name": "V2_LAUNCHER_IMAGE", "value": "ghcr.io/kubeflow/launcher:2.16.0"}],
                   "args": ["--executor-image", "quay.io/argoproj/argoexec:v3.7.3"]},
                  {"name": "istio-proxy", "image": "auto"}]}}}}
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "kserve"},
              "data": {"storageInitializer": json.dumps({"image": "kserve/storage-initializer:v0.16.0"}),
                       "localModel": json.dumps({"defaultJobImage": next(iter(NOT_REHOSTABLE))})}}
    problems = image_problems([deploy, config], "registry.internal", "kubeflow")
    assert sorted((p.obj, p.message.split()[1]) for p in problems) == [
        ("ConfigMap/kserve/cfg", "kserve/storage-initializer:v0.16.0"),
        ("Deployment/kubeflow/ctl", "ghcr.io/kubeflow/launcher:2.16.0"),
        ("Deployment/kubeflow/ctl", "quay.io/argoproj/argoexec:v3.7.3")]
    assert all(p.category is Category.image for p in problems)


def test_inventory_comparison_reports_missing_extra_and_outside_images():
    rendered = {"registry.internal/a:1": {"web"}, "registry.internal/b:2": {"web", "kfstack"},
                "registry.internal/new:3": {"api"},                     # rendered, not in the inventory
                "container-registry.oracle.com/mysql/community-server:9.5.0": {"(operator)"},  # composed, outside
                "auto": {"gateway"}}
    pulled = {"registry.internal/a:1": ("web",), "registry.internal/b:2": ("kfstack", "web"),
              "registry.internal/gone:4": ("old",),                     # in the inventory, rendered by nothing
              "registry.internal/mysql/community-server:9.5.0": ("(operator)",)}
    problems = inventory_problems(rendered, pulled, "registry.internal", "prod")
    messages = [p.message for p in problems]
    assert all(p.category is Category.image for p in problems)
    assert any("registry.internal/new:3 (from api) is missing from the inventory (`kfstack images prod`)" in m
               for m in messages)
    assert any("registry.internal/gone:4 is in the inventory" in m and "no release renders it" in m for m in messages)
    assert any("community-server:9.5.0 (composed by an operator) is not from the environment's registry" in m
               for m in messages)
    assert not any("auto" in m.split()[1] for m in messages)
    assert len(problems) == 5  # + the composed image missing from the inventory, + the inventory's mirror copy unrendered
    # identical sets: nothing to report
    same = {"registry.internal/a:1": {"web"}}
    assert inventory_problems(same, {"registry.internal/a:1": ("web",)}, "registry.internal", "prod") == []
    # an inventory image only an unrendered release references is not reported missing
    assert inventory_problems({}, {"registry.internal/x:1": ("mysql-innodbcluster",)}, "registry.internal", "prod",
                              unrendered={"mysql-innodbcluster"}) == []
    assert len(inventory_problems({}, {"registry.internal/x:1": ("web",)}, "registry.internal", "prod",
                                  unrendered={"mysql-innodbcluster"})) == 1


def test_check_stack_compares_rendered_images_with_the_inventory(tmp_path, monkeypatch):
    """check_stack reuses the objects it rendered (no second render) and adds an (image inventory) line."""
    from types import SimpleNamespace

    import kfstack.check.run as run
    from kfstack.check.render import Rendered
    from kfstack.check.stack import HelmRelease, Stack
    from kfstack.images_inventory import Inventory, InventoryEntry

    chart = tmp_path / "web"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: web\nversion: 1.0.0\n")
    (chart / "values.yaml").write_text("{}\n")
    rel = HelmRelease("helm_release.web", "web", "apps", "web", None, "1.0.0", chart, (), (), (), "")
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "apps"},
              "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "registry.internal/web:1"}]}}}}
    renders = []
    monkeypatch.setattr(run, "render", lambda r, path, **kw: renders.append(r.name) or Rendered([deploy], "x"))
    manifests = [{"kind": "deployment", "spec": {"template": {"spec": {"containers": [
        {"name": "k", "image": "registry.internal/kfstack/tool:2"}]}}}}]
    stack = Stack("prod", tmp_path / "cdk.tf.json", [rel], [], manifests)
    env = SimpleNamespace(node_pools=[], registry=SimpleNamespace(host="registry.internal"))

    def inventory(images):
        return lambda e: Inventory("prod", "registry.internal", tuple(
            InventoryEntry(i.replace("registry.internal/", "docker.io/"), i, ("web",)) for i in images))

    ok = run.check_stack(stack, env, run.CheckOptions([], inventory=inventory(
        ["registry.internal/web:1", "registry.internal/kfstack/tool:2"])))
    assert ok.problems == 0 and ok.releases[-1].name == "(image inventory)"
    assert renders == ["web"] * len(renders) and len(renders) >= 1
    short = run.check_stack(stack, env, run.CheckOptions([], inventory=inventory(["registry.internal/web:1"])))
    assert [p.message.split()[1] for p in short.releases[-1].problems] == ["registry.internal/kfstack/tool:2"]
    assert "missing from the inventory" in short.releases[-1].problems[0].message


def test_release_size_limit():
    from kfstack.check.rules import ChartContent

    tiny = ChartContent("x", {}, "", {"x/Chart.yaml": b"name: x"})
    assert size_problems(tiny, "kind: ConfigMap\n", {}) == []
    import os

    huge = ChartContent("x", {}, "", {"x/templates/blob.yaml": os.urandom(RELEASE_LIMIT_BYTES)})
    (problem,) = size_problems(huge, "", {})
    assert problem.category is Category.release_size


# ---------------------------------------------------------------- values


def test_unknown_keys_are_found_and_known_or_templated_ones_are_not(tmp_path):
    archive = make_chart(
        tmp_path, "demo", "1.2.3",
        values={"replicaCount": 1, "image": {"repository": "quay.io/demo", "tag": ""}, "podAnnotations": {},
                "securityContext": {"runAsUser": 1000}, "extra": None},
        templates={"deploy.yaml": "replicas: {{ .Values.replicaCount }}\n"
                                  "annotations: {{ toYaml .Values.podAnnotations }}\n"
                                  "sc: {{ .Values.securityContext | toYaml }}\n"
                                  "{{ if .Values.extra }}{{ .Values.extra.enabled }}{{ end }}\n"},
        subcharts={"sub": ({"worker": {"tolerations": []}}, {"ds.yaml": "{{ .Values.worker.tolerations }}"})})
    chart = load_chart(archive)
    values = {"replicaCount": 2, "imageRegistry": "registry.internal",      # unknown (cert-manager's case)
              "image": {"repository": "r", "registry": "x"},              # image.registry unknown
              "podAnnotations": {"a": "b"},                               # open map handed to toYaml
              "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},  # parent handed over whole
              "extra": {"enabled": True},                                 # named by the template
              "sub": {"worker": {"tolerations": [{"operator": "Exists"}], "typo": 1}},
              "global": {"anything": 1}}
    assert unknown_values(values, chart) == [("image", "registry"), ("imageRegistry",), ("sub", "worker", "typo")]


def test_merged_values_apply_sets_on_top_and_probe_changes_one_value():
    merged = merged_values(["a:\n  b: 1\n  c: [x]\n", "a:\n  b: 2\n"], [("a.d", PLACEHOLDER, ""), ("e\\.f", "v", "string")])
    assert merged == {"a": {"b": 2, "c": ["x"], "d": PLACEHOLDER}, "e.f": "v"}
    assert perturbed(merged, ("a", "c"))["a"]["c"] == [] and merged["a"]["c"] == ["x"]
    assert perturbed(merged, ("a", "b"))["a"]["b"] == 3


# ---------------------------------------------------------------- charts, stack, report


def test_locator_reads_chart_yaml_and_substitutes_missing_versions(tmp_path):
    make_chart(tmp_path, "mysql-operator", "2.2.2", {}, {})
    (tmp_path / "renamed.tgz").write_bytes((tmp_path / "mysql-operator-2.2.2.tgz").read_bytes())
    (tmp_path / "not-a-chart.tgz").write_bytes(b"junk")
    loc = ChartLocator([tmp_path])
    exact = loc.locate("mysql-operator", "v2.2.2")
    assert exact.version == "2.2.2" and exact.substituted_from is None
    sub = loc.locate("mysql-operator", "2.2.6")
    assert sub.version == "2.2.2" and "2.2.6" in sub.note and "2.2.2" in sub.note
    with pytest.raises(ChartNotFound, match="chart nope 1.0 not found"):
        loc.locate("nope", "1.0")


def test_stack_reader_resolves_namespaces_and_masks_sensitive_sets(synth_env, tmp_path):
    stack_file = tmp_path / "stacks" / "prod" / "cdk.tf.json"
    stack_file.parent.mkdir(parents=True)
    stack_file.write_text(json.dumps(synth_env("prod")))
    stack = load_stack(stack_file, "prod")
    mysql = next(r for r in stack.releases if r.name == "mysql")
    assert mysql.namespace == "mysql" and mysql.chart == "mysql-innodbcluster"
    assert ("credentials.root.password", PLACEHOLDER, "") in mysql.sets
    order = [r.address for r in stack.install_order()]
    for r in stack.releases:
        for dep in r.depends_on:
            if dep.startswith("helm_release."):
                assert order.index(dep) < order.index(r.address)
    issuer = next(r for r in stack.releases if r.name == "kubeflow-issuer")
    # The project's own charts are local folders next to the stack (cdktf assets), never skipped.
    assert issuer.local_path is not None and issuer.local_path.is_relative_to(stack_file.parent / "assets")
    kubeflow = next(o for o in stack.namespaces() if o.name == "kubeflow")
    assert kubeflow.labels["pod-security.kubernetes.io/enforce"]


def test_reports_print_one_line_per_release_and_markdown_lists_problems():
    rep = EnvironmentReport("prod", [
        ReleaseReport("helm_release.a", "cert-manager", "cert-manager", "cert-manager v1.19.4", objects=3),
        ReleaseReport("helm_release.b", "mysql", "mysql", "mysql-innodbcluster 2.2.6",
                      problems=[Problem(Category.precondition, "secret 'x' not found")]),
    ])
    text = format_text([rep])
    assert "cert-manager" in text and "ok" in text and "precondition: secret 'x' not found" in text
    assert text.rstrip().endswith("check: 1 problem(s) in 1 environment(s)")
    md = format_markdown([rep])
    assert md.startswith("## kfstack check: ❌ 1 problem(s)") and "**mysql**" in md


def test_check_without_any_chart_folder_is_one_clear_line_and_exit_2(tmp_path):
    """A fresh clone has no vendor cache: the check names the folders it looked for and what to run,
    once, instead of one 'chart not found' per release."""
    from typer.testing import CliRunner

    from kfstack.cli import app

    res = CliRunner().invoke(app, ["check", "dev", "--no-server", "--no-synth",
                                   "--vendor-dir", str(tmp_path / "no-vendor")])
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "no charts to check against" in lines[0] and "kfstack vendor" in lines[0]
    assert str(tmp_path / "no-vendor" / "charts") in lines[0] and "Traceback" not in res.output


def test_the_header_counts_helm_releases_not_the_inventory_line():
    from kfstack.check.report import INVENTORY_ADDRESS

    env = EnvironmentReport("dev", [ReleaseReport("helm_release.a", "a", "ns", "a 1.0"),
                                    ReleaseReport(INVENTORY_ADDRESS, "(image inventory)", "", "kfstack images dev")])
    assert env.helm_releases == 1 and "== dev (1 releases;" in format_text([env])
