"""Configuration errors that name the file, the line, the key path and the reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

Loc = tuple[str | int, ...]


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
    """One thing wrong with one environment file.

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


class ConfigError(Exception):
    """One or more environment files are invalid; nothing may be synthesized.

    ``problems`` lists every problem found across all environments.
    """

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: Sequence[Problem] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __str__(self) -> str:
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in the environment files (nothing was synthesized):"
        return "\n".join([head, *(f"  {p}" for p in self.problems)])
