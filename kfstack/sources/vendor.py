"""``kfstack vendor``: fetch every pinned source into the vendor cache, digest it, pin or verify.

The only code in kfstack that uses the network (git and urllib), and only
when a person runs ``kfstack vendor``. Layout of the cache (``vendor/``)::

    vendor/charts/<name>-<version>.tgz                 chart archives (helm pull layout)
    vendor/kustomize/<name>-<app_version>/<repo paths>  files the kustomization reads
    vendor/kustomize/<name>-<app_version>/_remote/<remote>/...  its remote references

Kustomize bases: ``git clone --depth 1 --branch <ref>`` of the pinned
repository (any URL git accepts, including ``file://``; for an internal git
mirror use git's own ``url.<mirror>.insteadOf`` configuration), then copy the
closure of the pinned path: every kustomization folder it reaches (all files
directly in that folder) and every file it names. Remote references
(``resources: - https://github.com/...?ref=v3.7.3``) must be pinned in
``sources.lock`` ``remotes`` by their exact URL; they are fetched the same way
(git) or downloaded (https, wrapped in a one-line kustomization), copied under
``_remote/<name>/`` and the reference is rewritten to that relative path.
The result must render offline with the pinned kustomize before it replaces
the cached copy.

Digests (``sha256:<hex>``): charts — the archive bytes; kustomize bases and
git remotes — :func:`~kfstack.sources.kustomization.tree_digest` of the
vendored folder (after rewriting); https remotes — the file bytes.
With ``update_lock`` the digests are written into ``sources.lock`` (only the
``digest:`` values change; a comment-preserving edit, :mod:`kfstack.yamledit`); otherwise each is verified and a mismatch is an
error naming the source, leaving the cached copy untouched.

Rendered parts: each vendored base is also rendered (its ``exclude`` applied,
split as at synth time) and every part packaged deterministically
(:mod:`kfstack.sources.publish`); the list of (part name, archive sha256), CRD
parts first, is recorded as the entry's ``charts:`` block with
``update_lock``, or verified against it. Mode ``mirror`` installs exactly
these parts, so environments synthesize without a vendor cache.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import urllib.parse
import urllib.request
from dataclasses import dataclass
from enum import Enum
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterable

import yaml

from kfstack import yamledit
from kfstack.errors import KfstackError, SourceError
from kfstack.sources.kustomization import (
    find_kustomization,
    load_kustomization,
    references,
    remote_references,
    tree_digest,
)
from kfstack.sources.kustomize import kustomize_build, render_tree
from kfstack.sources.lock import ChartPin, KustomizePin, RemoteKind, RemotePin, SourcesLock, load_lock
from kfstack.sources.publish import part_digests
from kfstack.versions import newest, same_version

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class VendorError(KfstackError):
    """A source cannot be vendored (fetch failed, unpinned remote, broken kustomization)."""


class Status(str, Enum):
    """Outcome of vendoring one source."""

    recorded = "recorded"      # digest written to sources.lock
    verified = "verified"      # digest equals the pin
    unpinned = "unpinned"      # vendored, but sources.lock has no digest (run with --update-lock)
    skipped = "skipped"        # not vendored (OCI chart), message says what to do
    substituted = "substituted"  # the mirror lacks the pinned version; another version was vendored
    mismatch = "mismatch"      # digest differs from the pin: error
    failed = "failed"          # could not fetch / copy / render: error

    @property
    def is_error(self) -> bool:
        return self in (Status.mismatch, Status.failed)


@dataclass(frozen=True)
class VendorResult:
    """What happened to one source."""

    kind: str          # chart | kustomize | remote
    name: str
    version: str
    status: Status
    digest: str | None = None
    message: str = ""

    def label(self) -> str:
        return f"{self.kind} {self.name} {self.version}".rstrip()


# ---------------------------------------------------------------- fetching


def _git_clone(url: str, ref: str, dest: Path) -> None:
    """Shallow clone of one tag/branch; ``.git`` removed afterwards is the caller's choice."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    cmd = ["git", "-c", "advice.detachedHead=false", "clone", "--quiet", "--depth", "1",
           "--branch", ref, url, str(dest)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, timeout=900)
    if proc.returncode != 0:
        raise VendorError(f"git clone {url} at {ref} failed: {proc.stderr.strip()[-1000:]}")


def _download(url: str, dest: Path, timeout_s: int = 120) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp, tmp.open("wb") as fh:  # noqa: S310
            shutil.copyfileobj(resp, fh)
    except (OSError, ValueError) as exc:
        tmp.unlink(missing_ok=True)
        raise VendorError(f"download {url} failed: {exc}") from exc
    tmp.replace(dest)


class _Fetcher:
    """Clones each (git, ref) once per run."""

    def __init__(self, workdir: Path) -> None:
        self._workdir = workdir
        self._clones: dict[tuple[str, str], Path] = {}

    def checkout(self, git: str, ref: str) -> Path:
        key = (git, ref)
        if key not in self._clones:
            dest = self._workdir / f"clone-{len(self._clones)}"
            _git_clone(git, ref, dest)
            self._clones[key] = dest
        return self._clones[key]


# ---------------------------------------------------------------- closure


def _inside(root: Path, path: Path, what: str) -> Path:
    resolved = Path(os.path.normpath(path))
    if resolved != root and root not in resolved.parents:
        raise VendorError(f"{what} points outside the repository: {path}")
    return resolved


def closure(repo: Path, path: str) -> tuple[set[Path], list[tuple[Path, str]]]:
    """Files the kustomization at ``repo/path`` reads, and its remote references.

    Returns (absolute file paths inside ``repo``, [(kustomization file, remote url)]).

    Raises:
        VendorError: a missing folder or file, a path leaving the repository, unsupported fields.
    """
    root = Path(os.path.normpath(repo.resolve()))
    files: set[Path] = set()
    remotes: list[tuple[Path, str]] = []
    seen: set[Path] = set()

    def visit(folder: Path) -> None:
        if folder in seen:
            return
        seen.add(folder)
        kfile = find_kustomization(folder)
        if kfile is None:
            raise VendorError(f"no kustomization in {folder.relative_to(root)}")
        for child in sorted(folder.iterdir()):
            if child.is_file():
                files.add(child)
        try:
            refs = references(load_kustomization(kfile))
        except ValueError as exc:
            raise VendorError(str(exc)) from exc
        if refs.unsupported:
            raise VendorError(f"{kfile.relative_to(root)} uses {', '.join(refs.unsupported)}: not supported")
        remotes.extend((kfile, url) for url in refs.remotes)
        for ref in refs.entries:
            target = _inside(root, folder / ref, f"{kfile.relative_to(root)}: {ref}")
            if target.is_dir():
                visit(target)
            elif target.is_file():
                files.add(target)
            else:
                raise VendorError(f"{kfile.relative_to(root)}: {ref} does not exist")
        for ref in refs.files:
            target = _inside(root, folder / ref, f"{kfile.relative_to(root)}: {ref}")
            if not target.is_file():
                raise VendorError(f"{kfile.relative_to(root)}: file {ref} does not exist")
            files.add(target)

    start = _inside(root, root / path, f"path {path}")
    if not start.is_dir():
        raise VendorError(f"path {path} is not a folder of the repository")
    visit(start)
    return files, remotes


def _copy_files(repo: Path, files: Iterable[Path], dest: Path) -> None:
    root = Path(os.path.normpath(repo.resolve()))
    for f in sorted(files):
        target = dest / f.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, target)  # follows symlinks: the tree holds contents only


def _rewrite(kfile: Path, url: str, replacement: str) -> None:
    """Replace the list entry ``url`` by ``replacement`` in one kustomization, keeping the rest of the text."""
    lines = kfile.read_text(encoding="utf-8").splitlines(keepends=True)
    changed = False
    for i, line in enumerate(lines):
        body = line.strip()
        if body.startswith("- ") and body[2:].strip().strip("'\"") == url:
            indent = line[: len(line) - len(line.lstrip())]
            lines[i] = f"{indent}- {replacement}\n"
            changed = True
    if not changed:
        raise VendorError(f"cannot rewrite remote reference {url} in {kfile.name} (not a plain list entry)")
    kfile.write_text("".join(lines), encoding="utf-8")


# ---------------------------------------------------------------- kustomize bases and remotes


class _BaseVendor:
    """Vendors one kustomize base and the remotes it reaches; collects remote digests."""

    def __init__(self, lock: SourcesLock, fetcher: _Fetcher) -> None:
        self.lock = lock
        self.fetcher = fetcher
        self.remote_digests: dict[str, str] = {}
        self._git_targets: dict[str, Path] = {}

    def vendor_base(self, pin: KustomizePin, staging: Path) -> None:
        """Copy the closure of ``pin`` into ``staging`` and vendor its remotes under ``_remote/``."""
        repo = self.fetcher.checkout(pin.git, pin.ref)
        files, remotes = closure(repo, pin.path)
        _copy_files(repo, files, staging)
        self._vendor_remotes(staging, remotes, Path(os.path.normpath(repo.resolve())))
        for name, target in sorted(self._git_targets.items()):
            self.remote_digests[name] = tree_digest(target)  # after nested rewrites
        leftover = remote_references(staging)
        if leftover:
            raise VendorError(f"remote references left after rewriting: {[u for _, u in leftover]}")

    def _vendor_remotes(self, dest: Path, found: list[tuple[Path, str]], src_root: Path) -> None:
        queue = [(dest / kfile.relative_to(src_root), url) for kfile, url in found]
        while queue:
            kfile, url = queue.pop(0)
            pin = self.lock.remote(url)
            if pin is None:
                raise VendorError(
                    f"unpinned remote reference {url} (in {kfile.relative_to(dest)}); add it to "
                    f"sources.lock `remotes` (name, url, kind, git, ref, path)")
            target = dest / "_remote" / pin.name
            if not target.exists():
                queue.extend(self._fetch_remote(pin, target))
            entry = target / pin.path if pin.kind is RemoteKind.git and pin.path else target
            _rewrite(kfile, url, PurePosixPath(os.path.relpath(entry, kfile.parent)).as_posix())

    def _fetch_remote(self, pin: RemotePin, target: Path) -> list[tuple[Path, str]]:
        if pin.kind is RemoteKind.https:
            file = target / pin.file_name
            _download(pin.url, file)
            self.remote_digests[pin.name] = "sha256:" + hashlib.sha256(file.read_bytes()).hexdigest()
            (target / "kustomization.yaml").write_text(
                "# Generated by kfstack vendor: wraps the pinned file " + pin.url + "\n"
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                f"resources:\n- {pin.file_name}\n", encoding="utf-8")
            return []
        assert pin.git and pin.ref and pin.path
        repo = self.fetcher.checkout(pin.git, pin.ref)
        files, nested = closure(repo, pin.path)
        _copy_files(repo, files, target)
        self._git_targets[pin.name] = target
        root = Path(os.path.normpath(repo.resolve()))
        return [(target / kfile.relative_to(root), url) for kfile, url in nested]


# ---------------------------------------------------------------- lock editing


def _write_lock(lock_path: Path, edited: str, what: str) -> None:
    """Validate the edited sources.lock text, then replace the file atomically.

    Raises:
        VendorError: the edit would make sources.lock invalid (nothing is written).
    """
    try:
        SourcesLock.model_validate(yaml.load(edited, Loader=_Loader) or {})  # noqa: S506
    except Exception as exc:  # noqa: BLE001 - any failure means we must not write
        raise VendorError(f"sources.lock would be invalid after recording {what}: {exc}") from exc
    yamledit.write_text(lock_path, edited)


def _edit_entries(lock_path: Path, updates: dict[tuple[str, str, str], Any],
                  edit: Callable[[Any, Any], None], what: str) -> None:
    """Call ``edit(entry, value)`` for each (section, name, app_version) -> value of ``updates``
    (remotes: app_version ""), on sources.lock loaded for a comment-preserving edit
    (:mod:`kfstack.yamledit`: comments and the look of every other line stay), then write it.

    Raises:
        VendorError: an entry was not found, or the edited file does not validate (nothing is written).
    """
    if not updates:
        return
    doc = yamledit.load_file(lock_path)
    remaining = dict(updates)
    for section in ("charts", "kustomize", "remotes"):
        for entry in doc.get(section) or []:
            ident = (section, str(entry.get("name", "")),
                     "" if section == "remotes" else str(entry.get("app_version", "")))
            if ident in remaining:
                edit(entry, remaining.pop(ident))
    if remaining:
        raise VendorError(f"sources.lock has no entries for {sorted(remaining)}")
    _write_lock(lock_path, yamledit.dump(doc), what)


def _set_digest(entry, digest: str) -> None:
    if "digest" in entry:
        entry["digest"] = digest
    else:  # a charts block stays last
        yamledit.insert_before(entry, "charts", "digest", digest)


def _set_parts(entry, parts: list[tuple[str, str]]) -> None:
    yamledit.replace(entry, "charts", yamledit.block_sequence(
        yamledit.flow_mapping({"name": name, "digest": digest}) for name, digest in parts))


def write_parts(lock_path: Path, updates: dict[tuple[str, str], list[tuple[str, str]]]) -> None:
    """Set the ``charts:`` block of kustomize entries in ``sources.lock``; nothing else changes.

    ``updates`` maps (name, app_version) to [(part name, ``sha256:<hex>``)] in install order.
    Each part is written as one line ``      - {name: <part>, digest: <digest>}`` (no parts:
    ``charts: []``); an existing ``charts:`` block of the entry is replaced, else the block is
    appended to it.

    Raises:
        VendorError: an entry was not found, or the edited file does not validate.
    """
    _edit_entries(lock_path, {("kustomize", *key): parts for key, parts in updates.items()}, _set_parts, "charts")


def write_digests(lock_path: Path, updates: dict[tuple[str, str, str], str]) -> None:
    """Set ``digest:`` of entries in ``sources.lock``, changing only those values.

    ``updates`` maps (section, name, app_version or "") to a digest; section is
    ``charts``, ``kustomize`` or ``remotes`` (remotes are keyed by name only). An entry
    without a ``digest`` key gets one before its ``charts`` block (or last). The file is
    re-read right before the edit and validated after it.

    Raises:
        VendorError: an entry was not found, or the edited file does not validate.
    """
    _edit_entries(lock_path, updates, _set_digest, "digests")


# ---------------------------------------------------------------- charts


def _vendor_chart(pin: ChartPin, charts_dir: Path, repository: str | None = None,
                  substitute: bool = False) -> tuple[Path | None, str]:
    """Download a chart archive from a Helm repository index. Returns (archive or None, message).

    ``repository`` replaces the pin's repository (a site mirror holding every
    chart, ``https://``, ``http://`` or ``file://``). With ``substitute``, a
    version missing from the index is replaced by the highest version of the
    same chart there, and the message says so (for checks against a mirror
    that lags the pins; the digest is then not compared).
    """
    archive = charts_dir / pin.archive_name
    repo = (repository or pin.repository).rstrip("/")
    if repo.startswith("oci://"):
        if archive.is_file():
            return archive, "OCI chart: using the archive already in the cache"
        return None, (f"OCI registry not supported by kfstack vendor; run `helm pull {repo}/{pin.name} "
                      f"--version {pin.version} -d {charts_dir}` then re-run `kfstack vendor` to digest it")
    index_url = repo + "/index.yaml"
    with tempfile.TemporaryDirectory(prefix="kfstack-index-") as tmp:
        index_file = Path(tmp) / "index.yaml"
        _download(index_url, index_file)
        index = yaml.load(index_file.read_text(encoding="utf-8"), Loader=_Loader) or {}  # noqa: S506
    versions = (index.get("entries") or {}).get(pin.name) or []
    entry = next((e for e in versions if same_version(str(e.get("version")), pin.version)), None)
    message = ""
    if entry is None and substitute and versions:
        best = newest(str(e.get("version", "")) for e in versions)
        entry = next(e for e in versions if str(e.get("version", "")) == best)
        archive = charts_dir / f"{pin.name}-{entry['version']}.tgz"
        message = f"{pin.version} is not in {index_url}: substituted {entry['version']}"
    if entry is None or not entry.get("urls"):
        raise VendorError(f"{index_url} has no chart {pin.name} version {pin.version}")
    url = urllib.parse.urljoin(repo + "/", entry["urls"][0])
    _download(url, archive)
    index_digest = entry.get("digest")
    if index_digest:
        actual = hashlib.sha256(archive.read_bytes()).hexdigest()
        if actual != index_digest:
            archive.unlink()
            raise VendorError(f"{url}: sha256 {actual} differs from the repository index ({index_digest})")
    return archive, message


# ---------------------------------------------------------------- driver


def vendor_all(lock_path: Path, vendor_dir: Path, *, update_lock: bool = False,
               only: Iterable[str] | None = None, check_render: bool = True,
               report: Callable[[VendorResult], None] | None = None, chart_repository: str | None = None,
               substitute: bool = False) -> list[VendorResult]:
    """Vendor every pinned chart and kustomize base (with its remotes).

    Args:
        lock_path: ``sources.lock``.
        vendor_dir: the cache (``vendor/``); created when absent.
        update_lock: record digests in ``sources.lock`` instead of verifying them.
        only: names to vendor (charts, bases); default everything.
        check_render: render each base offline with the pinned kustomize before caching it.
        report: called with each result as it is known (progress output).
        chart_repository: fetch every chart from this one repository (a site mirror) instead of its pin's.
        substitute: take the mirror's highest version of a chart whose pinned version it lacks
            (status ``substituted``; nothing is recorded in sources.lock for it).

    Returns:
        One result per source (charts, bases, remotes reached); callers treat
        ``status.is_error`` as failure. Nothing of a failed or mismatched
        source replaces what is cached.
    """
    lock = load_lock(lock_path)
    wanted = set(only) if only else None
    results: list[VendorResult] = []
    updates: dict[tuple[str, str, str], str] = {}
    part_updates: dict[tuple[str, str], list[tuple[str, str]]] = {}
    note = report or (lambda r: None)

    def settle(kind: str, section: str, key: tuple[str, str], pinned: str | None, actual: str,
               version: str) -> VendorResult:
        name = key[0]
        if update_lock:
            if pinned != actual:
                updates[(section, name, key[1])] = actual
            result = VendorResult(kind, name, version, Status.recorded, actual)
        elif pinned is None:
            result = VendorResult(kind, name, version, Status.unpinned, actual,
                                  "no digest in sources.lock; run `kfstack vendor --update-lock`")
        elif pinned == actual:
            result = VendorResult(kind, name, version, Status.verified, actual)
        else:
            result = VendorResult(kind, name, version, Status.mismatch, actual,
                                  f"digest mismatch: fetched {actual}, sources.lock pins {pinned}")
        results.append(result)
        note(result)
        return result

    charts_dir = vendor_dir / "charts"
    charts_dir.mkdir(parents=True, exist_ok=True)
    for pin in lock.charts:
        if wanted is not None and pin.name not in wanted:
            continue
        try:
            archive, message = _vendor_chart(pin, charts_dir, chart_repository, substitute)
        except VendorError as exc:
            results.append(VendorResult("chart", pin.name, pin.version, Status.failed, message=str(exc)))
            note(results[-1])
            continue
        if archive is None:
            results.append(VendorResult("chart", pin.name, pin.version, Status.skipped, message=message))
            note(results[-1])
            continue
        actual = "sha256:" + hashlib.sha256(archive.read_bytes()).hexdigest()
        if message:
            results.append(VendorResult("chart", pin.name, pin.version, Status.substituted, actual, message))
            note(results[-1])
            continue
        if chart_repository and pin.digest is None:
            results.append(VendorResult("chart", pin.name, pin.version, Status.unpinned, actual,
                                        f"from {chart_repository}; no digest in sources.lock"))
            note(results[-1])
            continue
        result = settle("chart", "charts", (pin.name, pin.app_version), pin.digest, actual, pin.version)
        if result.status is Status.mismatch:
            archive.unlink()

    bases = [p for p in lock.kustomize if wanted is None or p.name in wanted]
    if bases:
        base_root = vendor_dir / "kustomize"
        base_root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="kfstack-vendor-") as work:
            fetcher = _Fetcher(Path(work))
            for pin in bases:
                staging = Path(tempfile.mkdtemp(prefix=f".{pin.vendor_name}.", dir=base_root))
                try:
                    worker = _BaseVendor(lock, fetcher)
                    worker.vendor_base(pin, staging)
                    if check_render:
                        try:
                            kustomize_build(staging / pin.path, keep_crds=False)
                        except SourceError as exc:
                            raise VendorError(f"vendored copy does not render offline: {exc}") from exc
                    for rname, rdigest in sorted(worker.remote_digests.items()):
                        rpin = next(r for r in lock.remotes if r.name == rname)
                        if not any(r.kind == "remote" and r.name == rname for r in results):
                            settle("remote", "remotes", (rname, ""), rpin.digest, rdigest,
                                   rpin.ref or "")
                    actual = tree_digest(staging)
                    result = settle("kustomize", "kustomize", (pin.name, pin.app_version), pin.digest, actual,
                                    pin.app_version)
                    remote_bad = [r for r in results if r.kind == "remote" and r.status.is_error
                                  and r.name in worker.remote_digests]
                    if result.status.is_error or remote_bad:
                        continue
                    final = base_root / pin.vendor_name
                    if final.exists():
                        shutil.rmtree(final)
                    staging.rename(final)
                    if check_render:
                        _settle_parts(pin, final, actual, Path(work) / "build" / pin.vendor_name,
                                      update_lock, part_updates, results, note)
                except (VendorError, OSError) as exc:
                    results.append(VendorResult("kustomize", pin.name, pin.app_version, Status.failed,
                                                message=str(exc)))
                    note(results[-1])
                finally:
                    if staging.exists():
                        shutil.rmtree(staging, ignore_errors=True)

    if update_lock and updates:
        write_digests(lock_path, updates)
    if update_lock and part_updates:
        write_parts(lock_path, part_updates)
    return results


def _settle_parts(pin: KustomizePin, base: Path, digest: str, build: Path, update_lock: bool,
                  part_updates: dict[tuple[str, str], list[tuple[str, str]]], results: list[VendorResult],
                  note: Callable[[VendorResult], None]) -> None:
    """Render the vendored ``base`` (exclusions applied), digest each packaged part, record or verify."""
    label = f"{pin.name}-charts"
    try:
        rendered = part_digests(render_tree(pin, base, digest, build))
    except SourceError as exc:
        result = VendorResult("charts", label, pin.app_version, Status.failed, message=str(exc))
    else:
        names = ", ".join(n for n, _ in rendered)
        locked = [(c.name, c.digest) for c in pin.charts]
        if update_lock:
            if rendered != locked:
                part_updates[(pin.name, pin.app_version)] = rendered
            result = VendorResult("charts", label, pin.app_version, Status.recorded, message=names)
        elif not locked:
            result = VendorResult("charts", label, pin.app_version, Status.unpinned,
                                  message=f"{names}: no charts in sources.lock; run `kfstack vendor --update-lock`")
        elif rendered == locked:
            result = VendorResult("charts", label, pin.app_version, Status.verified, message=names)
        else:
            result = VendorResult("charts", label, pin.app_version, Status.mismatch,
                                  message=f"rendered parts {rendered} differ from sources.lock charts {locked}; "
                                  f"run `kfstack vendor --update-lock` if the recipe (exclude) changed on purpose")
    results.append(result)
    note(result)
