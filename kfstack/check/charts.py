"""Find the chart archive a release installs, in folders of ``.tgz`` files.

A folder may be a Helm repository (``index.yaml`` + archives, e.g. a site's
mirror or ``../shared/upstream/charts``), the vendor cache's ``charts/``
folder, or the output of ``kfstack vendor --publish`` (rendered kustomize
parts). Archives are identified by their own ``Chart.yaml`` (name, version),
not by file name. When the pinned version is absent but the chart is there in
another version, that version is used and the substitution is reported: a
check never silently skips a release.
"""

from __future__ import annotations

import tarfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from kfstack.versions import newest, same_version


class ChartNotFound(Exception):
    """No archive of that chart name in any folder."""


@dataclass(frozen=True)
class LocatedChart:
    """An archive (or local chart folder) and how it was chosen."""

    path: Path
    name: str
    version: str
    substituted_from: str | None = None   # the pinned version, when another one was used

    @property
    def note(self) -> str:
        if self.substituted_from:
            return (f"chart {self.name} {self.substituted_from} is not in the chart folders: "
                    f"checked against {self.version} instead")
        return ""


def read_chart_meta(archive: Path) -> dict:
    """``Chart.yaml`` of a chart archive (the first ``*/Chart.yaml`` member).

    Raises:
        ValueError: not a chart archive.
    """
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar.getmembers():
                parts = member.name.split("/")
                if len(parts) == 2 and parts[1] == "Chart.yaml" and member.isfile():
                    fh = tar.extractfile(member)
                    if fh is not None:
                        return yaml.safe_load(fh.read(1 << 20)) or {}
    except (OSError, tarfile.TarError) as exc:
        raise ValueError(f"{archive}: not a chart archive: {exc}") from exc
    raise ValueError(f"{archive}: no Chart.yaml")


class ChartLocator:
    """Index of every chart archive under ``folders`` (not recursive), by name and version."""

    def __init__(self, folders: list[Path]) -> None:
        self.folders = [f for f in folders if f.is_dir()]
        self._charts: dict[str, dict[str, Path]] = {}
        for folder in self.folders:
            for archive in sorted(folder.glob("*.tgz")):
                try:
                    meta = read_chart_meta(archive)
                except ValueError:
                    continue
                name, version = str(meta.get("name", "")), str(meta.get("version", ""))
                if name and version:
                    self._charts.setdefault(name, {}).setdefault(version, archive)

    def __len__(self) -> int:
        return sum(len(v) for v in self._charts.values())

    def locate(self, name: str, version: str | None) -> LocatedChart:
        """The archive of ``name`` at ``version`` (``v`` prefix optional), else its highest version.

        Raises:
            ChartNotFound: no version of ``name`` is in any folder.
        """
        versions = self._charts.get(name)
        if not versions:
            where = ", ".join(str(f) for f in self.folders) or "(no chart folder exists)"
            raise ChartNotFound(f"chart {name} {version or ''} not found in {where}; "
                                "vendor it (`kfstack vendor`) or pass its folder with --charts")
        if version:
            for v, path in versions.items():
                if same_version(v, version):
                    return LocatedChart(path, name, v)
        best = newest(versions)
        return LocatedChart(versions[best], name, best, substituted_from=version)
