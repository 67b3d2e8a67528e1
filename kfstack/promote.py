"""Promotion: move an environment's ``release`` block one step along dev → staging → prod.

``kfstack promote SRC DST`` copies SRC's *effective* release (``base.yaml``'s
``release`` deep-merged with SRC's own) into ``environments/DST.yaml`` with a
round-trip YAML edit (:mod:`kfstack.yamledit`): DST's comments, key order and formatting stay as they
are, only the release block changes (sizing and site settings never move).
When DST has no release block yet, one is appended at the end of the file, so
everything above it stays byte-for-byte. DST is then pinned: later changes to
``base.yaml``'s release reach it only through the next promotion.

The result is validated with the normal loader before anything is written;
an invalid result writes nothing. ``check_chain`` reports every environment
whose release is ahead of the one before it in :data:`PROMOTION_CHAIN`.

Source digests are not part of the release block: ``sources.lock`` maps each
app version to its chart version and digest for every environment alike.
"""

from __future__ import annotations

import difflib
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ruamel.yaml.comments import CommentedMap

from kfstack import yamledit
from kfstack.config.errors import ConfigError
from kfstack.config.loader import BASE_FILE, deep_merge, load_environment
from kfstack.versions import compare_versions

PROMOTION_CHAIN: tuple[str, ...] = ("dev", "staging", "prod")
"""The order releases move in: every environment is promoted from the one before it."""

RELEASE_KEY = "release"


class PromotionError(Exception):
    """A promotion kfstack refuses (unknown environment, backwards, a skipped stage without the flag)."""


def effective_release(env_dir: Path, name: str) -> dict[str, Any]:
    """``base.yaml``'s release deep-merged with ``<name>.yaml``'s by the loader's rule
    (:func:`~kfstack.config.loader.deep_merge`); round-tripped scalars keep their quoting."""
    base = yamledit.load_file(env_dir / BASE_FILE) or {}
    env = yamledit.load_file(env_dir / f"{name}.yaml") or {}
    return deep_merge(base.get(RELEASE_KEY) or {}, env.get(RELEASE_KEY) or {})


def _flatten(release: Mapping[str, Any]) -> dict[str, str]:
    """``{"kubeflow": "26.03", "istio": "1.29.0", ...}``: the Kubeflow line and every component version."""
    out = {k: str(v) for k, v in release.items() if not isinstance(v, Mapping)}
    out.update({k: str(v) for k, v in (release.get("versions") or {}).items()})
    return out


# --- chain ------------------------------------------------------------------------------------


def chain_step(src: str, dst: str, chain: tuple[str, ...] = PROMOTION_CHAIN, *, allow_skip: bool = False) -> None:
    """Check that ``src → dst`` moves forward along ``chain``.

    Raises:
        PromotionError: an environment is not in the chain, the step goes backwards or stays,
            or it skips a stage without ``allow_skip``.
    """
    for name in (src, dst):
        if name not in chain:
            raise PromotionError(f"{name!r} is not in the promotion chain ({' → '.join(chain)})")
    i, j = chain.index(src), chain.index(dst)
    if j <= i:
        raise PromotionError(f"promotion goes {' → '.join(chain)}; {src} → {dst} "
                             f"{'is the same environment' if i == j else 'goes backwards'}")
    if j > i + 1 and not allow_skip:
        skipped = ", ".join(chain[i + 1:j])
        raise PromotionError(f"{src} → {dst} skips {skipped}: promote through {' → '.join(chain[i:j + 1])}, "
                             "or pass --allow-skip to promote directly")


@dataclass(frozen=True)
class Ahead:
    """A later environment running a newer version than the one before it in the chain."""

    later: str
    earlier: str
    component: str
    later_version: str
    earlier_version: str

    def __str__(self) -> str:
        return (f"{self.later} is ahead of {self.earlier}: {self.component} {self.later_version} ({self.later}) "
                f"> {self.earlier_version} ({self.earlier})")


def check_chain(env_dir: Path, chain: tuple[str, ...] = PROMOTION_CHAIN) -> list[Ahead]:
    """Every component (and the Kubeflow line) where an environment is ahead of its predecessor.

    Adjacent pairs suffice: if any later environment is ahead of any earlier one, some
    adjacent step between them is ahead too. Environments without a file are skipped.
    """
    present = [n for n in chain if (env_dir / f"{n}.yaml").exists()]
    found: list[Ahead] = []
    for earlier, later in zip(present, present[1:]):
        old, new = _flatten(effective_release(env_dir, earlier)), _flatten(effective_release(env_dir, later))
        for component, version in new.items():
            if component in old and compare_versions(version, old[component]) > 0:
                found.append(Ahead(later, earlier, component, version, old[component]))
    return found


# --- promotion --------------------------------------------------------------------------------


@dataclass
class Promotion:
    """The edit ``promote(src, dst)`` makes to ``path`` (nothing is written until :meth:`write`)."""

    src: str
    dst: str
    path: Path
    display: str
    old_text: str
    new_text: str
    changes: list[tuple[str, str | None, str]] = field(default_factory=list)
    """(component, DST's effective version before, version after) for every version that changes."""

    @property
    def changed(self) -> bool:
        return self.new_text != self.old_text

    @property
    def downgrades(self) -> list[tuple[str, str | None, str]]:
        """Changes that move a component to an older version (DST was ahead of SRC)."""
        return [c for c in self.changes if c[1] is not None and compare_versions(c[2], c[1]) < 0]

    def diff(self) -> str:
        """Unified diff of DST's file."""
        return "".join(difflib.unified_diff(self.old_text.splitlines(keepends=True),
                                            self.new_text.splitlines(keepends=True),
                                            fromfile=f"a/{self.display}", tofile=f"b/{self.display}"))

    def write(self) -> None:
        """Replace DST's file atomically; refuse when it changed since it was read."""
        if self.path.read_text(encoding="utf-8") != self.old_text:
            raise PromotionError(f"{self.display} changed while promoting; run the promotion again")
        yamledit.write_text(self.path, self.new_text)


def _release_span(lines: list[str]) -> tuple[int, int] | None:
    """Line range [start, end) of the top-level ``release:`` block (to the next top-level key)."""
    top = [i for i, line in enumerate(lines) if re.match(r"^[^\s#-][^:]*:", line)]
    for n, i in enumerate(top):
        if re.match(r"^release\s*:", lines[i]):
            return i, top[n + 1] if n + 1 < len(top) else len(lines)
    return None


def _outside_release(text: str) -> tuple[list[str], list[str]]:
    lines = text.splitlines(keepends=True)
    span = _release_span(lines)
    if span is None:
        return lines, []
    return lines[:span[0]], lines[span[1]:]


def _set_release(doc: CommentedMap, release: Mapping[str, Any], src: str, dst: str) -> None:
    """Make ``doc``'s release block equal ``release``, editing values in place where the block exists."""
    current = doc.get(RELEASE_KEY)
    tail = yamledit.take_tail(doc, RELEASE_KEY) if isinstance(current, CommentedMap) else ""
    _edit_release(doc, current, release, src, dst)
    yamledit.put_tail(doc, RELEASE_KEY, tail)


def _edit_release(doc: CommentedMap, current: Any, release: Mapping[str, Any], src: str, dst: str) -> None:
    if not isinstance(current, CommentedMap):
        block = CommentedMap()
        for key, value in release.items():
            if isinstance(value, Mapping):
                block[key] = CommentedMap((k, v) for k, v in value.items())
            else:
                block[key] = value
        if RELEASE_KEY in doc:
            doc[RELEASE_KEY] = block
        else:
            doc[RELEASE_KEY] = block
            doc.yaml_set_comment_before_after_key(
                RELEASE_KEY, before=f"\nrelease pinned by `kfstack promote {src} {dst}`; it changes only by promotion")
        return
    for key, value in release.items():
        if isinstance(value, Mapping):
            sub = current.get(key)
            if not isinstance(sub, CommentedMap):
                current[key] = CommentedMap((k, v) for k, v in value.items())
                continue
            for k, v in value.items():
                if str(sub.get(k)) != str(v) or k not in sub:
                    sub[k] = v
            for k in [k for k in sub if k not in value]:
                del sub[k]
        elif str(current.get(key)) != str(value) or key not in current:
            current[key] = value
    for key in [k for k in current if k not in release]:
        del current[key]


def plan_promotion(env_dir: Path, src: str, dst: str, *, allow_skip: bool = False,
                   chain: tuple[str, ...] = PROMOTION_CHAIN, display_root: Path | None = None) -> Promotion:
    """Compute (and validate) the promotion of ``src``'s release into ``dst``'s file; write nothing.

    Raises:
        PromotionError: the step is refused (see :func:`chain_step`) or would touch lines
            outside the release block.
        ConfigError: the promoted environment is invalid (problems name DST's file).
    """
    chain_step(src, dst, chain, allow_skip=allow_skip)
    root = display_root or env_dir.parent
    path = env_dir / f"{dst}.yaml"
    try:
        display = str(path.relative_to(root))
    except ValueError:
        display = str(path)
    old_text = path.read_text(encoding="utf-8")
    release = effective_release(env_dir, src)
    before = _flatten(effective_release(env_dir, dst))
    doc = yamledit.load(old_text)
    _set_release(doc, release, src, dst)
    new_text = yamledit.dump(doc)
    after = _flatten(release)
    changes = [(k, before.get(k), v) for k, v in after.items() if before.get(k) != v]
    if not changes and RELEASE_KEY not in (yamledit.load(old_text) or {}):
        new_text = old_text  # same versions and nothing to pin yet: leave the file alone
    if new_text != old_text:
        if _release_span(old_text.splitlines(keepends=True)) is None:
            kept = new_text.startswith(old_text if old_text.endswith("\n") else old_text + "\n")
        else:
            kept = _outside_release(old_text) == _outside_release(new_text)
        if not kept:
            raise PromotionError(f"promoting would change {display} outside its release block "
                                 "(YAML round-trip); nothing was written")
        _validate(env_dir, dst, new_text, root)
    return Promotion(src, dst, path, display, old_text, new_text, changes)


def _validate(env_dir: Path, dst: str, text: str, root: Path) -> None:
    """Load ``text`` as ``dst`` next to a copy of base.yaml; ConfigError names DST's real file."""
    with tempfile.TemporaryDirectory(prefix="kfstack-promote-") as tmp:
        rel = env_dir.relative_to(root) if env_dir.is_relative_to(root) else Path(env_dir.name)
        tmp_env = Path(tmp) / rel
        tmp_env.mkdir(parents=True)
        shutil.copy(env_dir / BASE_FILE, tmp_env / BASE_FILE)
        (tmp_env / f"{dst}.yaml").write_text(text, encoding="utf-8")
        load_environment(tmp_env, dst, display_root=Path(tmp))


__all__ = ["PROMOTION_CHAIN", "Ahead", "ConfigError", "Promotion", "PromotionError", "chain_step", "check_chain",
           "effective_release", "plan_promotion"]
