"""Chart resolution: one abstraction for upstream, mirror and vendored sources.

A component asks for ``(chart name, app version)``; the resolver answers with a
:class:`ChartRef` whose :meth:`ChartRef.release_args` are the ``helm_release``
arguments ``repository``, ``chart`` and ``version``:

============  ==============================  ===========================
mode          repository                      chart
============  ==============================  ===========================
upstream      the pin's public repository     chart name
mirror        ``sources.mirror_url``          chart name (HTTP or OCI)
vendored      none                            local archive (``local_path``)
============  ==============================  ===========================

Kustomize bases (:meth:`ChartResolver.kustomize`): ``upstream`` and
``vendored`` render the vendored copy at synth time (offline, from the vendor
cache); ``mirror`` renders nothing: each part recorded in ``sources.lock``
(``kustomize[].charts``) is ``repository = mirror_url``, ``chart = <part>``,
``version = <app_version>``, as ``kfstack vendor --publish`` wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kfstack.errors import SourceError
from kfstack.model import Installs
from kfstack.sources.chartref import ChartRef
from kfstack.sources.kustomize import render_kustomize
from kfstack.sources.lock import ChartPin, SourcesLock

__all__ = ["ChartRef", "ChartResolver", "ChartSource", "SourceError"]


class ChartResolver:
    """Resolve pinned charts for one environment's source mode.

    Args:
        lock: the parsed ``sources.lock``.
        mode: ``upstream``, ``mirror`` or ``vendored``.
        mirror_url: chart repository or OCI registry for mode ``mirror``.
        vendor_dir: absolute path of the vendor cache for mode ``vendored``
            (archives under ``charts/<name>-<version>.tgz``).
        project_charts: folder of charts this project authors (``charts/``).
        build_dir: where kustomize bases are rendered into charts
            (``<build>/kustomize/<name>-<app_version>/``). Default: ``build/``
            beside ``project_charts`` (the project root), else beside ``vendor_dir``.

    Kustomize bases: rendered from the vendor cache in modes upstream and
    vendored (synthesis never fetches); read from the lock's parts in mode mirror.
    """

    def __init__(self, lock: SourcesLock, *, mode: str, mirror_url: str | None = None,
                 vendor_dir: Path | None = None, project_charts: Path | None = None,
                 build_dir: Path | None = None) -> None:
        self._lock = lock
        self._mode = mode
        self._mirror_url = mirror_url
        self._vendor_dir = vendor_dir
        self._project_charts = project_charts
        anchor = project_charts.parent if project_charts is not None else (vendor_dir.parent if vendor_dir else None)
        self._build_dir = build_dir or (anchor / "build" if anchor is not None else None)

    def pin(self, name: str, app_version: str) -> ChartPin:
        """The pin for ``name`` at ``app_version``. Raises SourceError when not pinned."""
        pin = self._lock.chart(name, app_version)
        if pin is None:
            raise SourceError(
                f"sources.lock pins no chart {name!r} for app version {app_version}; "
                f"add an entry (name, repository, version, app_version) or change release.versions"
            )
        return pin

    def chart(self, name: str, app_version: str) -> ChartRef:
        """Resolve an upstream chart. Raises SourceError (not pinned / not vendored)."""
        pin = self.pin(name, app_version)
        if self._mode == "mirror":
            return ChartRef(name=pin.name, version=pin.version, repository=self._mirror_url)
        if self._mode == "vendored":
            assert self._vendor_dir is not None
            archive = self._vendor_dir / "charts" / pin.archive_name
            if not archive.is_file():
                raise SourceError(
                    f"chart {pin.name} {pin.version} is not in the vendor cache ({archive.name} missing "
                    f"under {self._vendor_dir.name}/charts); run `kfstack vendor` with network or mirror access"
                )
            return ChartRef(name=pin.name, version=None, local_path=archive)
        return ChartRef(name=pin.name, version=pin.version, repository=pin.repository)

    def kustomize(self, name: str, app_version: str) -> list[ChartRef]:
        """The charts of pinned kustomize base ``name`` at ``app_version``, CRD charts first.

        Mode mirror: the parts sources.lock records, from ``mirror_url`` (no render, no cache).
        Other modes: the vendored copy rendered into local charts.

        Raises SourceError: not pinned; mirror mode and the lock records no parts; otherwise
        not vendored, digest mismatch, or render failure.
        """
        pin = self._lock.base(name, app_version)
        if pin is None:
            raise SourceError(
                f"sources.lock pins no kustomize base {name!r} for app version {app_version}; "
                f"add an entry (name, app_version, git, ref, path) or change release.versions")
        if self._mode == "mirror":
            if not pin.charts:
                raise SourceError(
                    f"kustomize base {pin.name} {pin.app_version}: sources.lock records no rendered charts "
                    f"(kustomize[].charts), which mode mirror installs from {self._mirror_url}; run "
                    f"`kfstack vendor --update-lock` where the vendor cache exists, commit sources.lock, and "
                    f"publish the charts with `kfstack vendor --publish DIR`")
            return [ChartRef(name=part.name, version=pin.chart_version, repository=self._mirror_url)
                    for part in pin.charts]
        if self._vendor_dir is None or self._build_dir is None:
            raise SourceError(f"kustomize base {name}: no vendor cache configured (sources.vendor_dir)")
        return render_kustomize(pin, self._vendor_dir, self._build_dir / "kustomize" / pin.vendor_name)

    def project_chart(self, name: str) -> ChartRef:
        """A chart this project authors, from ``charts/<name>``. Raises SourceError when absent."""
        if self._project_charts is None or not (self._project_charts / name / "Chart.yaml").is_file():
            raise SourceError(f"project chart {name!r} not found under charts/")
        return ChartRef(name=name, version=None, local_path=self._project_charts / name)


@dataclass(frozen=True)
class ChartSource:
    """The charts of one component declaration at its app version (what a construct is handed).

    Built from the resolver, the ``release.versions`` value of ``installs.key`` and the
    component's declaration (:class:`kfstack.model.Installs`). ``chart("istiod")`` resolves
    through the environment's source mode; a name the declaration does not list is refused,
    so what a construct installs can never drift from what its settings declare (and what the
    pin check of ``sources.lock`` verified). ``project_chart("raw-manifests")`` returns a chart
    this project authors (never pinned, never declared).
    """

    resolver: ChartResolver
    app_version: str
    installs: Installs

    def _declared(self, name: str, names: tuple[str, ...], kind: str) -> None:
        if name not in names:
            raise SourceError(
                f"{kind} {name!r} is not declared for release.versions.{self.installs.key} (declared: "
                f"{', '.join(names) or 'none'}); add it to the component's INSTALLS in its settings module")

    def chart(self, name: str) -> ChartRef:
        """Upstream chart ``name`` at this source's app version. Raises SourceError (undeclared, not pinned,
        not vendored)."""
        self._declared(name, self.installs.charts, "chart")
        return self.resolver.chart(name, self.app_version)

    def kustomize(self, name: str) -> list[ChartRef]:
        """Kustomize base ``name`` at this source's app version: its charts, CRD charts first
        (install in order); local rendered charts, or the mirror's in mode mirror. Raises SourceError
        (undeclared, or see :meth:`ChartResolver.kustomize`)."""
        self._declared(name, self.installs.kustomize, "kustomize base")
        return self.resolver.kustomize(name, self.app_version)

    def project_chart(self, name: str) -> ChartRef:
        """Project chart ``charts/<name>``. Raises SourceError."""
        return self.resolver.project_chart(name)
