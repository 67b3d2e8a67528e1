"""Reading kustomization files: which local files and remote URLs one refers to; tree digests.

Shared by vendoring (to copy exactly what a kustomization reads and to find
its remote references) and rendering (to refuse a tree that would fetch).
Pure Python, no network, no cdktf.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterator

import yaml

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")

_REMOTE = re.compile(r"^(https?://|ssh://|git::|git@|file://|github\.com/|gitlab\.com/|bitbucket\.org/)")

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def is_remote(ref: str) -> bool:
    """Whether a kustomization reference is fetched by kustomize (git base or URL), not a local path."""
    return bool(_REMOTE.match(ref.strip()))


def find_kustomization(folder: Path) -> Path | None:
    """The kustomization file in ``folder`` (kustomize's three accepted names), or None."""
    for name in KUSTOMIZATION_FILES:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def load_kustomization(file: Path) -> dict[str, Any]:
    """Parse one kustomization file. Raises ValueError on YAML errors or a non-mapping."""
    try:
        data = yaml.load(file.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 (safe loader)
    except yaml.YAMLError as exc:
        raise ValueError(f"{file}: YAML error: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{file}: a kustomization must be a mapping")
    return data


@dataclass
class References:
    """What one kustomization refers to.

    ``entries`` may be files or kustomization folders (``resources``,
    ``components``, ``generators``...); ``files`` must be files (patches,
    generator inputs, ``crds``...); ``remotes`` are fetched by kustomize.
    """

    entries: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    remotes: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                yield item


def _inline(value: str) -> bool:
    """An inline patch or plugin config (YAML text), not a path."""
    return "\n" in value or value.lstrip().startswith(("{", "apiVersion:", "- op:"))


def references(k: dict[str, Any]) -> References:
    """The local and remote references of a parsed kustomization.

    Covers the fields kustomize v5 reads from disk: resources, bases,
    components, crds, configurations, patches / patchesStrategicMerge /
    patchesJson6902, replacements, openapi, config/secret generators (files,
    envs, env), generators / transformers / validators. ``helmCharts`` is
    reported as unsupported (it needs ``--enable-helm`` and fetches charts).
    """
    refs = References()

    def entry(value: str) -> None:
        (refs.remotes if is_remote(value) else refs.entries).append(value)

    for key in ("resources", "bases", "components"):
        for v in _strings(k.get(key)):
            entry(v)
    for key in ("generators", "transformers", "validators"):
        for v in _strings(k.get(key)):
            if not _inline(v):
                entry(v)
    for key in ("crds", "configurations"):
        refs.files.extend(_strings(k.get(key)))
    for v in _strings(k.get("patchesStrategicMerge")):
        if not _inline(v):
            refs.files.append(v)
    for key in ("patches", "patchesJson6902", "replacements"):
        for item in k.get(key) or []:
            if isinstance(item, dict) and isinstance(item.get("path"), str):
                refs.files.append(item["path"])
    openapi = k.get("openapi")
    if isinstance(openapi, dict) and isinstance(openapi.get("path"), str):
        refs.files.append(openapi["path"])
    for key in ("configMapGenerator", "secretGenerator"):
        for gen in k.get(key) or []:
            if not isinstance(gen, dict):
                continue
            for f in _strings(gen.get("files")):
                refs.files.append(f.split("=", 1)[1] if "=" in f else f)
            refs.files.extend(_strings(gen.get("envs")))
            if isinstance(gen.get("env"), str):
                refs.files.append(gen["env"])
    if k.get("helmCharts"):
        refs.unsupported.append("helmCharts (needs --enable-helm and fetches charts)")
    for f in list(refs.files):
        if is_remote(f):
            refs.files.remove(f)
            refs.remotes.append(f)
    return refs


def remote_references(root: Path) -> list[tuple[Path, str]]:
    """Every remote reference in any kustomization under ``root``: (kustomization file, url), sorted."""
    found: list[tuple[Path, str]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in KUSTOMIZATION_FILES:
            if name in filenames:
                file = Path(dirpath) / name
                try:
                    refs = references(load_kustomization(file))
                except ValueError:
                    continue  # kustomize reports it with context when rendering
                found.extend((file, url) for url in refs.remotes)
    return sorted(found)


def tree_digest(root: Path) -> str:
    """``sha256:<hex>`` over a file tree: for each regular file in sorted relative
    POSIX path order, the path, its byte length and its bytes.

    Independent of timestamps, permissions, the absolute location of ``root``
    and the file system's listing order; symlinks are followed.
    """
    files: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames.sort()
        for name in filenames:
            path = Path(dirpath) / name
            if path.is_file():
                files.append((PurePosixPath(path.relative_to(root)).as_posix(), path))
    h = hashlib.sha256()
    for rel, path in sorted(files):
        data = path.read_bytes()
        h.update(rel.encode("utf-8") + b"\0" + str(len(data)).encode() + b"\0")
        h.update(data)
    return "sha256:" + h.hexdigest()


def file_digest(path: Path) -> str:
    """``sha256:<hex>`` of one file's bytes (what ``sha256sum`` prints)."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()
