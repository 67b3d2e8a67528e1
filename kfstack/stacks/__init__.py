"""Stacks: :class:`PlatformStack`, one per environment (the only code that reads the environment)."""

from kfstack.stacks.platform import PlatformStack, ProjectPaths

__all__ = ["PlatformStack", "ProjectPaths"]
