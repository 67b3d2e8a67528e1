"""The ``sources.lock`` file: every pinned upstream artifact.

* ``charts``: Helm charts (repository, name, chart version, digest of the archive).
* ``kustomize``: kustomize bases of kustomize-only apps (git URL, ref, path
  inside the repository, digest of the vendored tree), the upstream objects
  kfstack replaces (``exclude``) and the charts the render yields (``charts``:
  name + digest of each packaged part, CRD parts first).
* ``remotes``: remote resources that upstream kustomizations reference
  (a git base, or a plain HTTPS file), matched by the exact ``url`` string
  the kustomization writes; ``kfstack vendor`` fetches them and rewrites the
  reference to the vendored copy.

Digests are ``sha256:<hex>``, ``null`` until ``kfstack vendor --update-lock``
records them (see :mod:`kfstack.sources.vendor` for how each is computed).
"""

from __future__ import annotations

from pathlib import Path
from enum import Enum
from typing import Annotated

import yaml
from pydantic import Field, StringConstraints, ValidationError, ValidationInfo, field_validator, model_validator

from kfstack.errors import ConfigError, Problem
from kfstack.model import Settings, Version
from kfstack.versions import bare

Digest = Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")]
SourceName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]*$")]
GitUrl = Annotated[str, StringConstraints(pattern=r"^(https://|ssh://|file://|git@)\S+$")]
RepoPath = Annotated[str, StringConstraints(pattern=r"^(\.|[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*)$")]
"""A relative POSIX path inside a repository (``.`` for the root); no ``..``, no leading ``/``."""
ObjectId = Annotated[str, StringConstraints(
    pattern=r"^[A-Z][A-Za-z0-9]*/([a-z0-9][a-z0-9.-]*/)?[A-Za-z0-9][A-Za-z0-9.:_-]*$")]
"""One rendered object: ``Kind/namespace/name``, or ``Kind/name`` for a cluster-scoped one
(e.g. ``Secret/kubeflow/mysql-secret``, ``MutatingWebhookConfiguration/cache-webhook-kubeflow``)."""


class ChartPin(Settings):
    """One pinned chart.

    ``app_version`` is the version environments name in ``release.versions``;
    ``version`` is the chart version Helm installs (e.g. cert-manager app
    1.19.4 is chart v1.19.4).
    """

    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]*$")]
    repository: Annotated[str, StringConstraints(pattern=r"^(https?|oci)://\S+$")]
    version: Version
    app_version: Version
    digest: Digest | None = Field(None, description="sha256:<hex> of the chart archive; None until vendored.")

    @property
    def archive_name(self) -> str:
        """File name of the chart archive, as ``helm pull`` writes it: ``<name>-<version>.tgz``."""
        return f"{self.name}-{self.version}.tgz"


def _no_dotdot(path: str) -> str:
    if ".." in path.split("/"):
        raise ValueError(f"path {path!r} must stay inside the repository (no '..')")
    return path


def chart_version(app_version: str) -> str:
    """The SemVer chart version of a generated chart: the app version (``v1.10`` → ``1.10.0``)."""
    parts = bare(app_version).split("-", 1)
    nums = (parts[0].split(".") + ["0", "0"])[:3]
    return ".".join(str(int(n)) for n in nums) + (f"-{parts[1]}" if len(parts) > 1 else "")


class RenderedChart(Settings):
    """One chart a kustomize base renders into (a "part"), as ``kfstack vendor --update-lock`` records it.

    ``digest`` is the sha256 of the packaged chart archive
    (``<name>-<version>.tgz``, written deterministically by ``kfstack vendor
    --publish``; equal to the ``digest`` of its entry in the published index.yaml).
    """

    name: SourceName
    digest: Digest


class KustomizePin(Settings):
    """One pinned kustomize base (a kustomize-only app such as Pipelines or Katib).

    ``app_version`` is the version environments name in ``release.versions``;
    ``git`` + ``ref`` (a tag) + ``path`` locate the kustomization to render.
    ``digest`` is the tree digest of the vendored copy (the closure of files
    the kustomization reads, with remote references rewritten to vendored
    copies), recorded by ``kfstack vendor --update-lock``.

    The recipe is the same for every environment: ``exclude`` lists upstream
    objects removed from the render because kfstack creates its own
    replacements (wiring to the platform's data services); ``charts`` lists
    the rendered parts in install order (CRD charts first), each installed at
    chart version :attr:`chart_version` (= ``app_version``).
    """

    name: SourceName
    app_version: Version
    git: GitUrl = Field(..., description="Git repository URL, e.g. https://github.com/kubeflow/manifests. Required.")
    ref: str = Field(..., min_length=1, description="Tag (or branch) to check out, e.g. 26.03. Required.")
    path: RepoPath = Field(..., description="Folder of the kustomization inside the repository. Required.")
    digest: Digest | None = Field(None, description="sha256:<hex> tree digest of the vendored copy; None until vendored.")
    exclude: tuple[ObjectId, ...] = Field(
        (), description="Objects removed from the render (Kind/namespace/name or Kind/name), each replaced by "
        "kfstack. Default none. An entry matching no object is an error at render time.")
    charts: tuple[RenderedChart, ...] = Field(
        (), description="Rendered parts in install order (CRD charts first), recorded by "
        "`kfstack vendor --update-lock`. Default none (mode mirror then cannot resolve the base).")

    @field_validator("path")
    @classmethod
    def _inside_repo(cls, path: str) -> str:
        return _no_dotdot(path)

    @field_validator("exclude")
    @classmethod
    def _unique_excludes(cls, exclude: tuple[str, ...]) -> tuple[str, ...]:
        dupes = sorted({e for e in exclude if exclude.count(e) > 1})
        if dupes:
            raise ValueError(f"exclude lists {dupes} twice")
        return exclude

    @field_validator("charts")
    @classmethod
    def _unique_parts(cls, charts: tuple[RenderedChart, ...]) -> tuple[RenderedChart, ...]:
        names = [c.name for c in charts]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"charts lists {dupes} twice")
        return charts

    @property
    def chart_version(self) -> str:
        """Chart version of every generated part: the app version as SemVer."""
        return chart_version(self.app_version)

    @property
    def vendor_name(self) -> str:
        """Folder of the vendored copy under ``<vendor>/kustomize/``: ``<name>-<app_version>``."""
        return f"{self.name}-{self.app_version}"


class RemoteKind(str, Enum):
    """How a remote reference is fetched: a git base (clone) or a plain HTTPS file."""

    git = "git"
    https = "https"


class RemotePin(Settings):
    """A remote resource an upstream kustomization references, pinned.

    ``url`` is the reference exactly as the kustomization writes it (e.g.
    ``https://github.com/argoproj/argo-workflows/manifests/base/crds/minimal?ref=v3.7.3``).
    For ``kind: git``, ``git`` + ``ref`` + ``path`` say what that URL means
    (kustomize's URL syntax is ambiguous; the lock is explicit). For
    ``kind: https`` the URL is downloaded as one file and ``digest`` is the
    sha256 of its bytes (what ``sha256sum`` prints); for git it is the tree digest.
    """

    name: SourceName
    url: Annotated[str, StringConstraints(min_length=1, pattern=r"^\S+$")]
    kind: RemoteKind
    git: GitUrl | None = Field(None, description="Repository of a git remote. Required for kind git.")
    ref: str | None = Field(None, min_length=1, description="Tag of a git remote. Required for kind git.")
    path: RepoPath | None = Field(None, description="Folder inside the repository. Required for kind git.")
    digest: Digest | None = Field(None, description="sha256:<hex>; None until vendored.")

    @model_validator(mode="after")
    def _kind_fields(self) -> "RemotePin":
        if self.path is not None:
            _no_dotdot(self.path)
        git_fields = (self.git, self.ref, self.path)
        if self.kind is RemoteKind.git and any(f is None for f in git_fields):
            raise ValueError(f"remote {self.name}: kind git needs git, ref and path")
        if self.kind is RemoteKind.https:
            if any(f is not None for f in git_fields):
                raise ValueError(f"remote {self.name}: kind https takes only url and digest (no git, ref, path)")
            if not self.url.startswith(("https://", "http://", "file://")):
                raise ValueError(f"remote {self.name}: kind https needs an https:// url")
        return self

    @property
    def file_name(self) -> str:
        """File name of an HTTPS remote: the last URL path segment (``manifests.yaml``)."""
        return self.url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "resource.yaml"


class SourcesLock(Settings):
    """All pins. Charts and kustomize bases by (name, app version); remotes by url."""

    lock_version: int = Field(1, ge=1, le=1)
    charts: tuple[ChartPin, ...] = ()
    kustomize: tuple[KustomizePin, ...] = ()
    remotes: tuple[RemotePin, ...] = ()

    @field_validator("charts", "kustomize")
    @classmethod
    def _unique(cls, pins: tuple, info: ValidationInfo) -> tuple:
        kind = "chart" if info.field_name == "charts" else "kustomize base"
        seen: set[tuple[str, str]] = set()
        for pin in pins:
            key = (pin.name, pin.app_version)
            if key in seen:
                raise ValueError(f"{kind} {pin.name} app_version {pin.app_version} is pinned twice")
            seen.add(key)
        return pins

    @field_validator("remotes")
    @classmethod
    def _unique_remotes(cls, remotes: tuple[RemotePin, ...]) -> tuple[RemotePin, ...]:
        names: set[str] = set()
        urls: set[str] = set()
        for pin in remotes:
            if pin.name in names:
                raise ValueError(f"remote {pin.name} is pinned twice")
            if pin.url in urls:
                raise ValueError(f"remote url {pin.url} is pinned twice")
            names.add(pin.name)
            urls.add(pin.url)
        return remotes

    def chart(self, name: str, app_version: str) -> ChartPin | None:
        """The pin of chart ``name`` for ``app_version``, or None."""
        for pin in self.charts:
            if pin.name == name and pin.app_version == app_version:
                return pin
        return None

    def base(self, name: str, app_version: str) -> KustomizePin | None:
        """The pin of kustomize base ``name`` for ``app_version``, or None."""
        for pin in self.kustomize:
            if pin.name == name and pin.app_version == app_version:
                return pin
        return None

    def remote(self, url: str) -> RemotePin | None:
        """The pin of the remote reference written exactly as ``url``, or None."""
        for pin in self.remotes:
            if pin.url == url:
                return pin
        return None


def load_lock(path: Path, display: str = "sources.lock") -> SourcesLock:
    """Read and validate ``sources.lock``.

    Raises:
        ConfigError: unreadable file, YAML error, or invalid entries (with key path).
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError([Problem(display, (), f"cannot read: {exc.strerror}")]) from exc
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(display, (), f"YAML error: {exc}")]) from exc
    try:
        return SourcesLock.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            [Problem(display, tuple(e["loc"]), str(e["msg"]).removeprefix("Value error, ")) for e in exc.errors()]
        ) from None


def unpinned_versions(lock: SourcesLock):
    """A loader check: everything a component declares is pinned at its ``release.versions`` value.

    For every declaration of every component (``Components.declared()``, enabled or not: promotion
    moves the whole release block), each chart and kustomize base it names must be pinned in
    ``sources.lock`` under that name with ``app_version`` equal to ``release.versions.<key>``
    (``release.kubeflow`` for key ``kubeflow``: ``Release.version_of``) —
    exactly the lookup :class:`kfstack.sources.charts.ChartResolver` makes at synthesis. So
    ``istio: 1.19.4`` is refused although cert-manager is pinned at 1.19.4. Reported at
    ``release.versions.<key>``, naming every missing name, before anything is synthesized.
    """

    def check(env) -> list[tuple[tuple[str, ...], str]]:
        release = env.release
        missing: dict[str, list[str]] = {}
        for _, installs in env.components.declared():
            version = release.version_of(installs.key)
            names = missing.setdefault(installs.key, [])
            names += [f"chart {n!r}" for n in installs.charts if lock.chart(n, version) is None]
            names += [f"kustomize base {n!r}" for n in installs.kustomize if lock.base(n, version) is None]
        out = []
        for key, names in missing.items():
            if names:
                version = release.version_of(key)
                out.append((release.path_of(key),
                            f"{key} {version} is not pinned in sources.lock: no {', '.join(names)} with app_version "
                            f"{version}; add the entries (or run `kfstack vendor --update-lock`), or pick a pinned "
                            "version"))
        return out

    return check
