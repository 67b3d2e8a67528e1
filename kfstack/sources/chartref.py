"""Where Helm gets one chart: :class:`ChartRef`, what chart resolution and kustomize rendering return.

A leaf of :mod:`kfstack.sources` (it imports nothing from kfstack), so the resolver
(:mod:`kfstack.sources.charts`) can call the renderer (:mod:`kfstack.sources.kustomize`) and both
return the same type without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ChartRef:
    """Where Helm gets one chart.

    Exactly one of ``repository`` (a chart repository or OCI registry URL) and
    ``local_path`` (an archive or chart folder on disk, absolute) is set.
    """

    name: str
    version: str | None
    repository: str | None = None
    local_path: Path | None = None

    def release_args(self) -> dict[str, str]:
        """``helm_release`` arguments for a remote chart; local charts go through an asset.

        Raises:
            ValueError: the chart is local (``local_path`` set).
        """
        if self.local_path is not None:
            raise ValueError(f"chart {self.name} is local ({self.local_path}); stage it as an asset")
        out = {"chart": self.name, "repository": self.repository or ""}
        if self.version:
            out["version"] = self.version
        return out
