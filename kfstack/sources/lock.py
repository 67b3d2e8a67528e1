"""The ``sources.lock`` file: pinned charts (repository, name, chart version, digest)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import yaml
from pydantic import Field, StringConstraints, ValidationError, field_validator

from kfstack.config.errors import ConfigError, Problem
from kfstack.model import Settings, Version

Digest = Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")]


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


class SourcesLock(Settings):
    """All pins. Lookup by (chart name, app version)."""

    lock_version: int = Field(1, ge=1, le=1)
    charts: tuple[ChartPin, ...] = ()

    @field_validator("charts")
    @classmethod
    def _unique(cls, charts: tuple[ChartPin, ...]) -> tuple[ChartPin, ...]:
        seen: set[tuple[str, str]] = set()
        for pin in charts:
            key = (pin.name, pin.app_version)
            if key in seen:
                raise ValueError(f"chart {pin.name} app_version {pin.app_version} is pinned twice")
            seen.add(key)
        return charts

    def chart(self, name: str, app_version: str) -> ChartPin | None:
        """The pin of chart ``name`` for ``app_version``, or None."""
        for pin in self.charts:
            if pin.name == name and pin.app_version == app_version:
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
