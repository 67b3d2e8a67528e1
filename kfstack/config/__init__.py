"""Environment configuration: YAML loading, deep merge, strict validation.

Public entry points: :func:`load_environments` and :class:`ConfigError`.
Importing this package does not import cdktf.
"""

from kfstack.config.environment import EnvironmentConfig
from kfstack.config.errors import ConfigError, Problem
from kfstack.config.loader import load_environment, load_environments

__all__ = ["EnvironmentConfig", "ConfigError", "Problem", "load_environment", "load_environments"]
