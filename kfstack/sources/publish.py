"""Package generated charts and publish them as a Helm chart repository (``kfstack vendor --publish DIR``).

Environments in mode ``mirror`` install the rendered parts of kustomize-only
apps from ``sources.mirror_url`` (chart = part name, version = the base's app
version), so they synthesize offline without a vendor cache. The site
produces those charts once, where the vendor cache exists::

    kfstack vendor --publish build/repo     # render, package, write index.yaml
    # then copy build/repo/* to the chart repository behind mirror_url
    # (for an OCI mirror: `helm push build/repo/<part>-<version>.tgz oci://...`)

Archives are deterministic, so their sha256 is what ``kfstack vendor
--update-lock`` records per part in ``sources.lock`` (``kustomize[].charts``):
entries sorted by path, no directory entries, mtime 0, uid/gid 0, no owner
names, mode 0644, gzip without name or timestamp. Same chart folder → same
bytes → same digest, on any machine.

``index.yaml`` (Helm repository index, apiVersion v1): one entry per archive
with the chart's metadata, ``urls`` relative to the index and ``digest`` (hex
sha256 of the archive, Helm's format). Entries already in ``DIR/index.yaml``
for other charts or versions are kept; output is sorted and carries no
timestamps, so publishing twice writes identical files.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path
from typing import Iterable

import yaml

from kfstack.errors import SourceError
from kfstack.sources.chartref import ChartRef
from kfstack.sources.kustomize import render_kustomize
from kfstack.sources.lock import KustomizePin, SourcesLock

__all__ = ["package_chart", "archive_digest", "part_digests", "write_index", "publish_repository", "push_oci"]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _chart_meta(folder: Path) -> dict:
    try:
        meta = yaml.load((folder / "Chart.yaml").read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506
    except (OSError, yaml.YAMLError) as exc:
        raise SourceError(f"{folder}: no readable Chart.yaml ({exc})") from exc
    if not isinstance(meta, dict) or not meta.get("name") or not meta.get("version"):
        raise SourceError(f"{folder}/Chart.yaml: needs name and version")
    return meta


def package_bytes(folder: Path) -> bytes:
    """The ``.tgz`` archive of chart ``folder`` (entries under ``<chart name>/``), deterministic.

    Raises:
        SourceError: no Chart.yaml with name and version.
    """
    meta = _chart_meta(folder)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
            data = path.read_bytes()
            info = tarfile.TarInfo(f"{meta['name']}/{path.relative_to(folder).as_posix()}")
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def archive_digest(data: bytes) -> str:
    """``sha256:<hex>`` of archive bytes (the lock's digest format)."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def package_chart(folder: Path, dest_dir: Path) -> tuple[Path, str]:
    """Write ``dest_dir/<name>-<version>.tgz`` for chart ``folder``; returns (archive, ``sha256:<hex>``)."""
    meta = _chart_meta(folder)
    data = package_bytes(folder)
    dest_dir.mkdir(parents=True, exist_ok=True)
    archive = dest_dir / f"{meta['name']}-{meta['version']}.tgz"
    archive.write_bytes(data)
    return archive, archive_digest(data)


def part_digests(refs: Iterable[ChartRef]) -> list[tuple[str, str]]:
    """(part name, ``sha256:<hex>`` of its deterministic archive) for rendered local charts, in order."""
    out: list[tuple[str, str]] = []
    for ref in refs:
        assert ref.local_path is not None, f"{ref.name} is not a local chart"
        out.append((ref.name, archive_digest(package_bytes(ref.local_path))))
    return out


def _index_entry(folder: Path, archive: Path, digest: str) -> dict:
    meta = _chart_meta(folder)
    entry = {k: meta[k] for k in ("apiVersion", "name", "version", "appVersion", "description", "type",
                                  "annotations") if k in meta}
    entry["urls"] = [archive.name]
    entry["digest"] = digest.removeprefix("sha256:")
    return entry


def write_index(repo_dir: Path, entries: Iterable[dict]) -> Path:
    """Merge ``entries`` into ``repo_dir/index.yaml`` (same name + version replaced); sorted, no timestamps.

    Raises:
        SourceError: an existing index.yaml that is not a Helm repository index.
    """
    index_file = repo_dir / "index.yaml"
    charts: dict[str, dict[str, dict]] = {}
    if index_file.is_file():
        old = yaml.load(index_file.read_text(encoding="utf-8"), Loader=_Loader) or {}  # noqa: S506
        if not isinstance(old, dict) or not isinstance(old.get("entries", {}), dict):
            raise SourceError(f"{index_file} is not a Helm repository index")
        for name, versions in (old.get("entries") or {}).items():
            for e in versions or []:
                charts.setdefault(name, {})[str(e.get("version"))] = e
    for e in entries:
        charts.setdefault(e["name"], {})[str(e["version"])] = e
    doc = {"apiVersion": "v1",
           "entries": {name: [charts[name][v] for v in sorted(charts[name], reverse=True)] for name in sorted(charts)}}
    repo_dir.mkdir(parents=True, exist_ok=True)
    index_file.write_text(yaml.safe_dump(doc, sort_keys=True, default_flow_style=False, width=1000),
                          encoding="utf-8")
    return index_file


def publish_repository(lock: SourcesLock, vendor_dir: Path, build_dir: Path, repo_dir: Path, *,
                       only: Iterable[str] | None = None) -> list[tuple[KustomizePin, list[Path]]]:
    """Render each pinned kustomize base from the vendor cache, package its parts into ``repo_dir``
    and write ``repo_dir/index.yaml``.

    Args:
        lock: sources.lock; every part's digest must equal the lock's ``charts`` entry.
        vendor_dir: the vendor cache (``kfstack vendor`` filled it).
        build_dir: where charts are rendered (``<build>/kustomize/<name>-<version>``).
        repo_dir: output Helm repository folder (created).
        only: base names to publish; default all.

    Returns:
        (pin, archives) per published base, in lock order.

    Raises:
        SourceError: a base is not vendored or does not verify, or its parts differ from the
            lock (names or digests): run `kfstack vendor --update-lock` first. Nothing is
            written to ``index.yaml`` then.
    """
    wanted = set(only) if only else None
    published: list[tuple[KustomizePin, list[Path]]] = []
    entries: list[dict] = []
    for pin in lock.kustomize:
        if wanted is not None and pin.name not in wanted:
            continue
        refs = render_kustomize(pin, vendor_dir, build_dir / "kustomize" / pin.vendor_name)
        rendered = part_digests(refs)
        locked = [(c.name, c.digest) for c in pin.charts]
        if rendered != locked:
            raise SourceError(
                f"kustomize base {pin.name} {pin.app_version}: rendered parts {rendered} differ from "
                f"sources.lock charts {locked}; run `kfstack vendor --update-lock` and commit sources.lock")
        archives = []
        for ref in refs:
            assert ref.local_path is not None
            archive, digest = package_chart(ref.local_path, repo_dir)
            entries.append(_index_entry(ref.local_path, archive, digest))
            archives.append(archive)
        published.append((pin, archives))
    if wanted is not None and wanted - {p.name for p, _ in published}:
        raise SourceError(f"sources.lock pins no kustomize base {sorted(wanted - {p.name for p, _ in published})}")
    write_index(repo_dir, entries)
    return published


def push_oci(archives: Iterable[Path], url: str, *, helm: Path, ca_file: Path | None = None,
             plain_http: bool = False, timeout_s: int = 300) -> list[str]:
    """``helm push`` each chart archive to the OCI registry path ``url`` (``oci://host[:port]/path``).

    Helm names each artifact ``<url>/<chart name>:<chart version>``: exactly what
    ``helm_release`` resolves for ``repository = url``, ``chart = name``, ``version``.

    Args:
        archives: packaged charts (``.tgz``).
        url: ``oci://`` registry path, e.g. ``oci://registry.internal/charts``.
        helm: the Helm CLI (``kfstack.check.render.helm_binary()``).
        ca_file: CA bundle for a registry with a private CA.
        plain_http: talk HTTP instead of HTTPS (a local test registry).

    Returns:
        The pushed references, in order.

    Raises:
        SourceError: ``url`` is not ``oci://``, or a push failed (Helm's message included).
    """
    import subprocess
    import tempfile

    if not url.startswith("oci://"):
        raise SourceError(f"{url}: an OCI registry path is oci://host[:port]/path")
    pushed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="kfstack-push-") as tmp:
        env = {"HOME": tmp, "HELM_CACHE_HOME": f"{tmp}/cache", "HELM_CONFIG_HOME": f"{tmp}/config",
               "HELM_DATA_HOME": f"{tmp}/data", "PATH": "/usr/bin:/bin"}
        import os

        for key in ("HELM_REGISTRY_CONFIG", "SSL_CERT_FILE", "SSL_CERT_DIR", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY",
                    "https_proxy", "http_proxy", "no_proxy"):
            if key in os.environ:
                env[key] = os.environ[key]
        for archive in archives:
            cmd = [str(helm), "push", str(archive), url.rstrip("/")]
            if ca_file is not None:
                cmd += ["--ca-file", str(ca_file)]
            if plain_http:
                cmd.append("--plain-http")
            proc = subprocess.run(cmd, capture_output=True, env=env, timeout=timeout_s, check=False)
            if proc.returncode != 0:
                raise SourceError(f"helm push {archive.name} to {url} failed: "
                                  f"{proc.stderr.decode('utf-8', 'replace').strip()[-1000:]}")
            meta = _chart_meta_from_archive(archive)
            pushed.append(f"{url.rstrip('/')}/{meta['name']}:{meta['version']}")
    return pushed


def _chart_meta_from_archive(archive: Path) -> dict:
    """Chart.yaml of a packaged chart (the first ``<name>/Chart.yaml`` member)."""
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            parts = member.name.split("/")
            if len(parts) == 2 and parts[1] == "Chart.yaml":
                data = tar.extractfile(member)
                if data is not None:
                    return yaml.load(data.read().decode("utf-8"), Loader=_Loader)  # noqa: S506
    raise SourceError(f"{archive}: no Chart.yaml in the archive")
