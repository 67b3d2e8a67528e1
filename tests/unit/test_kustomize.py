"""Render-and-split of kustomize bases into local Helm charts (fixtures: tests/fixtures/kustomize, stand-ins)."""

from __future__ import annotations

import importlib.util
import re
import shutil
import time
from pathlib import Path

import pytest
import yaml

from kfstack.model import Installs
from kfstack.sources.charts import ChartResolver, ChartSource, SourceError
from kfstack.sources.kustomization import tree_digest
from kfstack.sources.kustomize import (
    DEFAULT_BUDGET_BYTES,
    RELEASE_ESTIMATE_MAX,
    escape_helm,
    estimate_release_bytes,
    kustomize_build,
    parse_stream,
    render_kustomize,
)
from kfstack.sources.lock import KustomizePin, SourcesLock

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "kustomize"


def _large_module():
    spec = importlib.util.spec_from_file_location("make_large", FIXTURES / "make_large.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def vendor_fixture(vendor: Path, name: str, source: Path, *, version: str = "1.0.0",
                   path: str = "manifests") -> KustomizePin:
    """Place a fixture base in a vendor cache as `kfstack vendor` would; return its pin with the digest."""
    dest = vendor / "kustomize" / f"{name}-{version}" / path
    shutil.copytree(source, dest)
    return KustomizePin(name=name, app_version=version, git="file:///nonexistent/fixture.git", ref="v" + version,
                        path=path, digest=tree_digest(vendor / "kustomize" / f"{name}-{version}"))


def chart_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


_IMAGE_EXPR = re.compile(r"\{\{ with \.Values\.kfstack\.registry \}\}\{\{ \. \}\}/(?P<mirror>[^{]+)"
                         r"\{\{ else \}\}(?P<upstream>[^{]+)\{\{ end \}\}")


_PULL_SECRETS = ('{{- with .Values.kfstack.imagePullSecrets }}\nimagePullSecrets: {{ toJson . }}\n'
                 '{{- end }}\n')


def render_text(text: str, registry: str = "", pull_secret: str = "") -> str:
    """A generated template as Helm renders it: the escape sequence undone, image expressions
    evaluated for chart value ``kfstack.registry`` = ``registry``, ServiceAccounts' pull secrets for
    ``kfstack.imagePullSecrets`` = ``[{name: pull_secret}]``; any other template syntax fails."""
    text = _IMAGE_EXPR.sub(lambda m: f"{registry}/{m['mirror']}" if registry else m["upstream"], text)
    if text.endswith("\n" + _PULL_SECRETS):
        text = text[:-len(_PULL_SECRETS)] + (
            f'imagePullSecrets: [{{"name":"{pull_secret}"}}]\n' if pull_secret else "")
    assert "{{" not in text.replace('{{ "{{" }}', ""), "template syntax other than escapes and image expressions"
    return text.replace('{{ "{{" }}', "{{")


def template_objects(chart: Path, registry: str = "") -> list[dict]:
    """Objects of a generated chart, as Helm would render them with ``kfstack.registry`` = ``registry``."""
    values = yaml.safe_load((chart / "values.yaml").read_text())
    assert values == {"kfstack": {"registry": "", "imagePullSecrets": []}}, "defaults: upstream's registries, no secret"
    return [yaml.safe_load(render_text(f.read_text(), registry)) for f in sorted((chart / "templates").iterdir())]


def test_small_base_crds_first_then_rest(tmp_path):
    pin = vendor_fixture(tmp_path / "vendor", "small", FIXTURES / "small")
    start = time.perf_counter()
    refs = render_kustomize(pin, tmp_path / "vendor", tmp_path / "build" / "small-1.0.0")
    elapsed = time.perf_counter() - start
    assert [r.name for r in refs] == ["small-crds", "small"]
    assert all(r.local_path and r.local_path.is_dir() and r.version is None for r in refs)
    crds = template_objects(refs[0].local_path)
    assert [o["kind"] for o in crds] == ["CustomResourceDefinition"]
    assert crds[0]["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    rest = template_objects(refs[1].local_path)
    assert sorted(o["kind"] for o in rest) == ["ConfigMap", "Deployment", "Service"]
    assert {o["metadata"]["namespace"] for o in rest} == {"fixture-app"}
    chart = yaml.safe_load((refs[1].local_path / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2" and chart["name"] == "small" and chart["version"] == "1.0.0"
    assert chart["annotations"]["kfstack/source-digest"] == pin.digest
    print(f"render small fixture: {elapsed:.2f} s")


def test_helm_template_syntax_is_escaped(tmp_path):
    pin = vendor_fixture(tmp_path / "vendor", "small", FIXTURES / "small")
    refs = render_kustomize(pin, tmp_path / "vendor", tmp_path / "out")
    templates = refs[1].local_path / "templates"
    cm = next(f for f in templates.iterdir() if f.name.startswith("configmap_"))
    text = cm.read_text()
    assert '{{ "{{" }}inputs.parameters.message}}' in text
    assert '{{ "{{" }}- .Values.trimmed -}}' in text
    objects = {o["kind"]: o for o in template_objects(refs[1].local_path)}
    assert objects["ConfigMap"]["data"]["workflow.tmpl"] == (FIXTURES / "small" / "workflow.tmpl").read_text()
    assert objects["Deployment"]["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "--message={{ not a helm template }}"]


def test_images_are_templated_on_the_registry_value(tmp_path):
    """Issue 12: one environment-independent chart; the registry is a chart value."""
    pin = vendor_fixture(tmp_path / "vendor", "small", FIXTURES / "small")
    refs = render_kustomize(pin, tmp_path / "vendor", tmp_path / "out")
    deployment = next(f for f in (refs[1].local_path / "templates").iterdir() if f.name.startswith("deployment_"))
    text = deployment.read_text()
    assert "image: {{ with .Values.kfstack.registry }}{{ . }}/fixture-app:1.0.0{{ else }}" \
           "registry.invalid/fixture-app:1.0.0{{ end }}" in text
    # Without a registry the template renders kustomize's bytes exactly.
    stream = kustomize_build(tmp_path / "vendor" / "kustomize" / "small-1.0.0" / "manifests")
    original = next(o.text for o in parse_stream(stream) if o.kind == "Deployment")
    assert render_text(text) == original
    # With one, every image moves under it, path and tag kept; the rest is unchanged.
    assert render_text(text, "registry.internal:5000") == original.replace(
        "registry.invalid/fixture-app:1.0.0", "registry.internal:5000/fixture-app:1.0.0")
    objects = {o["kind"]: o for o in template_objects(refs[1].local_path, "registry.internal")}
    assert objects["Deployment"]["spec"]["template"]["spec"]["containers"][0]["image"] == \
        "registry.internal/fixture-app:1.0.0"


def test_escape_helm_roundtrip():
    assert escape_helm("a {{ b }} c") == 'a {{ "{{" }} b }} c'
    assert escape_helm("{{{x}}}") == '{{ "{{" }}{x}}}'
    assert escape_helm("no templates }} here") == "no templates }} here"


def test_render_is_deterministic(tmp_path):
    pin = vendor_fixture(tmp_path / "vendor", "small", FIXTURES / "small")
    a = render_kustomize(pin, tmp_path / "vendor", tmp_path / "a" / "small")
    b = render_kustomize(pin, tmp_path / "vendor", tmp_path / "b" / "small")
    assert [r.name for r in a] == [r.name for r in b]
    for ra, rb in zip(a, b):
        assert chart_files(ra.local_path) == chart_files(rb.local_path)


def test_large_base_is_split_under_the_budget(tmp_path):
    src = _large_module().write_large_base(tmp_path / "src")
    pin = vendor_fixture(tmp_path / "vendor", "large", src)
    start = time.perf_counter()
    refs = render_kustomize(pin, tmp_path / "vendor", tmp_path / "build" / "large")
    elapsed = time.perf_counter() - start
    names = [r.name for r in refs]
    assert names[0] == "large-crds" and names[1] == "large"
    assert len(names) >= 5 and names[2:] == [f"large-{i}" for i in range(2, len(names))]
    total = 0
    seen: list[str] = []
    for ref in refs:
        files = sorted((ref.local_path / "templates").iterdir())
        size = sum(f.stat().st_size for f in files)
        total += size
        assert size <= DEFAULT_BUDGET_BYTES
        objects = parse_stream("".join(f"---\n{f.read_text()}" for f in files))
        assert estimate_release_bytes(objects) <= RELEASE_ESTIMATE_MAX
        seen += [o.name for o in objects]
    assert total > 2 * 1024 * 1024
    assert sorted(seen) == sorted(["widgets.fixture.kfstack.test", *(f"fixture-large-{i:04d}" for i in range(300))])
    print(f"render large fixture ({total // 1024} KiB, {len(refs)} charts): {elapsed:.2f} s")


def test_second_render_reuses_charts(tmp_path, monkeypatch):
    pin = vendor_fixture(tmp_path / "vendor", "small", FIXTURES / "small")
    first = render_kustomize(pin, tmp_path / "vendor", tmp_path / "out")

    def boom(*_a, **_k):
        raise AssertionError("kustomize must not run again for an unchanged source")

    monkeypatch.setattr("kfstack.sources.kustomize.kustomize_build", boom)
    assert render_kustomize(pin, tmp_path / "vendor", tmp_path / "out") == first


def test_missing_vendored_source_names_source_and_command(tmp_path):
    pin = KustomizePin(name="katib", app_version="0.19.0", git="https://github.com/kubeflow/manifests",
                       ref="26.03", path="applications/katib/upstream/installs/katib-with-kubeflow",
                       digest="sha256:" + "0" * 64)
    with pytest.raises(SourceError) as exc:
        render_kustomize(pin, tmp_path / "vendor", tmp_path / "out")
    msg = str(exc.value)
    assert "katib 0.19.0" in msg and "vendor/kustomize/katib-0.19.0" in msg and "`kfstack vendor`" in msg


def test_digest_mismatch_is_an_error(tmp_path):
    pin = vendor_fixture(tmp_path / "vendor", "small", FIXTURES / "small")
    (tmp_path / "vendor" / "kustomize" / "small-1.0.0" / "manifests" / "service.yaml").write_text("# edited\n")
    with pytest.raises(SourceError, match=r"kustomize base small 1\.0\.0: digest mismatch"):
        render_kustomize(pin, tmp_path / "vendor", tmp_path / "out")


def test_unpinned_digest_is_an_error(tmp_path):
    pin = vendor_fixture(tmp_path / "vendor", "small", FIXTURES / "small").model_copy(update={"digest": None})
    with pytest.raises(SourceError, match=r"no digest .* small 1\.0\.0.*--update-lock"):
        render_kustomize(pin, tmp_path / "vendor", tmp_path / "out")


def test_remote_reference_is_refused_before_rendering(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(FIXTURES / "small", src)
    (src / "kustomization.yaml").write_text(
        (src / "kustomization.yaml").read_text().replace(
            "- service.yaml", "- service.yaml\n- https://github.com/argoproj/argo-workflows/manifests/base?ref=v3.7.3"))
    pin = vendor_fixture(tmp_path / "vendor", "small", src)
    with pytest.raises(SourceError, match=r"still references remote .*argo-workflows.*kfstack vendor"):
        render_kustomize(pin, tmp_path / "vendor", tmp_path / "out")


def test_kustomize_cannot_fetch_during_render(tmp_path):
    (tmp_path / "kustomization.yaml").write_text(
        "resources:\n- https://github.com/kubernetes-sigs/jobset/releases/download/v0.10.1/manifests.yaml\n")
    start = time.perf_counter()
    with pytest.raises(SourceError, match="kustomize failed"):
        kustomize_build(tmp_path)
    assert time.perf_counter() - start < 30


def test_chart_source_kustomize_uses_lock_and_build_dir(tmp_path):
    pin = vendor_fixture(tmp_path / "vendor", "small", FIXTURES / "small")
    lock = SourcesLock(kustomize=(pin,))
    resolver = ChartResolver(lock, mode="upstream", vendor_dir=tmp_path / "vendor",
                             project_charts=tmp_path / "charts")
    small = Installs("small", kustomize=("small",))
    refs = ChartSource(resolver, "1.0.0", small).kustomize("small")
    assert [r.name for r in refs] == ["small-crds", "small"]
    assert refs[0].local_path == tmp_path / "build" / "kustomize" / "small-1.0.0" / "small-crds"
    with pytest.raises(SourceError, match=r"pins no kustomize base 'small' for app version 2\.0\.0"):
        ChartSource(resolver, "2.0.0", small).kustomize("small")


def test_template_file_names_are_safe():
    objects = parse_stream("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a:b\n  namespace: x\n")
    from kfstack.sources.kustomize import _template_names

    (name,) = _template_names(objects)
    assert name == "configmap_x_a-b.yaml"


def test_service_accounts_get_the_chart_pull_secrets():
    from kfstack.sources.kustomize import RenderedObject, template_object

    sa = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: app\n  namespace: fixture-app\n"
    text = template_object(RenderedObject("v1", "ServiceAccount", "fixture-app", "app", sa))
    assert render_text(text) == sa  # no secret: unchanged
    rendered = yaml.safe_load(render_text(text, pull_secret="registry-internal"))
    assert rendered["imagePullSecrets"] == [{"name": "registry-internal"}]
    # one that already names its secrets is left alone
    own = sa + "imagePullSecrets:\n- name: own\n"
    assert template_object(RenderedObject("v1", "ServiceAccount", "fixture-app", "app", own)) == own
