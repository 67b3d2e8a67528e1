"""kfstack's error types, in a leaf module every layer can import without an import cycle.

This module imports nothing from kfstack, so configuration (:mod:`kfstack.config`), sources
(:mod:`kfstack.sources`), constructs and commands all raise and catch the same classes
without depending on each other (``tests/unit/test_import_graph.py`` fails on a cycle).

* :class:`KfstackError` — base of every error kfstack reports to a user as one message
  (the ``kfstack`` command prints it without a traceback).
* :class:`ConfigError` — an input file (an environment file, ``sources.lock``) is invalid;
  each :class:`Problem` names the file, the line when known, the key path and the reason.
* :class:`SourceError` — a pinned source cannot be used: not pinned, not vendored, digest
  mismatch, render failure.

``kfstack.config.ConfigError``, ``kfstack.config.errors.*`` and
``kfstack.sources.charts.SourceError`` are these same classes, re-exported for callers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

Loc = tuple[str | int, ...]
"""A key path inside a YAML document: ``("node_pools", 1, "gpu")``."""


def format_path(loc: Loc) -> str:
    """Dotted key path of a location: ``("node_pools", 1, "gpu")`` → ``node_pools[1].gpu``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input file.

    ``file`` is the path as given to the loader (relative when the loader was
    given relative paths); ``line`` is 1-based or None when unknown.
    """

    file: str
    path: Loc
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {format_path(self.path)}: {self.message}"


class KfstackError(Exception):
    """Base of the errors kfstack reports as a message (cause and fix), never as a traceback."""


class ConfigError(KfstackError):
    """One or more environment files (or ``sources.lock``) are invalid; nothing may be synthesized.

    ``problems`` lists every problem found across all files.
    """

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: Sequence[Problem] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __str__(self) -> str:
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in the environment files (nothing was synthesized):"
        return "\n".join([head, *(f"  {p}" for p in self.problems)])


class SourceError(KfstackError):
    """A chart cannot be resolved: not pinned, or missing from the vendor cache (or it does not render)."""


__all__ = ["ConfigError", "KfstackError", "Loc", "Problem", "SourceError", "format_path"]
