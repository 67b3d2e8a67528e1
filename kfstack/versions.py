"""Version strings: the one pattern kfstack accepts, the leading ``v``, and their order.

A version is ``MAJOR.MINOR[.PATCH][-PRERELEASE]`` with an optional leading ``v``: what the
``release`` block of an environment file and ``sources.lock`` hold (``1.19.4``, ``v2.16.0``,
``26.03``) and what chart repositories list (Helm chart versions are SemVer 2; some
repositories, e.g. NVIDIA's and Knative's, write a leading ``v``). Order follows SemVer 2.0.0
§11 precedence (https://semver.org/#spec-item-11): numbers compare numerically (``1.10.0`` >
``1.9.2``; ``26.03`` = ``26.3`` = ``26.3.0``: a missing PATCH is 0), a pre-release sorts before
its release, pre-release identifiers compare numerically when numeric, and ``+build``
metadata is ignored.

A leaf module (it imports nothing from kfstack): settings validation (:mod:`kfstack.model`),
promotion, ``kfstack check`` and ``kfstack vendor`` all use it.
"""

from __future__ import annotations

import re
from typing import Iterable

VERSION_PATTERN = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?$")
"""``MAJOR.MINOR[.PATCH][-PRERELEASE]``, optional leading ``v``; groups: major, minor, patch, pre-release."""


def is_version(text: str) -> bool:
    """Whether ``text`` matches :data:`VERSION_PATTERN` (no build metadata, no surrounding spaces)."""
    return VERSION_PATTERN.match(text) is not None


def bare(version: str) -> str:
    """``version`` without its leading ``v`` (``v1.19.4`` → ``1.19.4``); anything else unchanged."""
    return version[1:] if version.startswith("v") else version


def same_version(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` are spelled the same apart from a leading ``v`` (``v1.0.4`` = ``1.0.4``).

    Spelling, not precedence: ``1.21`` and ``1.21.0`` are different chart versions to Helm
    (use :func:`compare_versions` for order).
    """
    return bare(str(a)) == bare(str(b))


def version_key(version: str) -> tuple:
    """Sort key of a version with SemVer precedence (see the module docstring).

    Raises:
        ValueError: ``version`` does not match :data:`VERSION_PATTERN` (after dropping ``+build``).
    """
    m = VERSION_PATTERN.match(str(version).strip().partition("+")[0])
    if not m:
        raise ValueError(f"{version!r} is not a version (MAJOR.MINOR[.PATCH][-PRERELEASE])")
    nums = tuple(int(x or 0) for x in m.group(1, 2, 3))
    pre = m.group(4)
    if pre is None:
        return (nums, (1,))
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (nums, (0, parts))


def compare_versions(a: str, b: str) -> int:
    """-1, 0 or 1 as ``a`` is older than, equal to or newer than ``b``.

    Raises:
        ValueError: either is not a version.
    """
    ka, kb = version_key(a), version_key(b)
    return (ka > kb) - (ka < kb)


def newest(versions: Iterable[str]) -> str:
    """The highest of ``versions`` by precedence; strings that are not versions rank below every
    version (among themselves by text), so a stray tag never wins and never raises.

    Raises:
        ValueError: ``versions`` is empty.
    """
    def rank(v: str) -> tuple:
        try:
            return (1, version_key(v), v)
        except ValueError:
            return (0, (), v)

    return max(versions, key=rank)


__all__ = ["VERSION_PATTERN", "bare", "compare_versions", "is_version", "newest", "same_version", "version_key"]
