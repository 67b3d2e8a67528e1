"""Configuration errors that name the file, the line, the key path and the reason.

The classes live in :mod:`kfstack.errors` (a leaf module, so :mod:`kfstack.sources` can raise
:class:`ConfigError` without importing the config package); this module re-exports them for
the config package and its callers.
"""

from kfstack.errors import ConfigError, Loc, Problem, format_path

__all__ = ["ConfigError", "Loc", "Problem", "format_path"]
