"""The image inventory of an environment (``kfstack images ENV``): every image it runs, upstream
reference → mirror reference, and the ``skopeo sync`` files that fill the mirror.

Renders offline with the Helm CLI (``helm template``, never a cluster, never the network) and
charts from local folders, using kfstack check's machinery (:func:`kfstack.check.stack.load_stack`,
:class:`kfstack.check.charts.ChartLocator`, :func:`kfstack.check.render.render`), so both
commands render a release the same way; images are found by :mod:`kfstack.images`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml

from kfstack.images import NOT_REHOSTABLE, mirror_reference, parse_image, stack_images

__all__ = ["ImageError", "InventoryEntry", "Inventory", "environment_images", "build_inventory",
           "skopeo_stream", "write_skopeo"]


class ImageError(Exception):
    """The image inventory cannot be computed (missing chart, Helm failure); the message says what to do."""


@dataclass(frozen=True)
class InventoryEntry:
    """One image an environment runs: its upstream reference and where the cluster pulls it from.

    ``mirror`` is None when the environment sets no registry (pulled from upstream).
    ``releases`` names the Helm releases / kfstack resources whose manifests reference it.
    """

    upstream: str
    mirror: str | None
    releases: tuple[str, ...]


@dataclass(frozen=True)
class Inventory:
    """Every image of one environment, sorted by upstream reference.

    Attributes:
        env: environment name.
        registry: ``registry.host``, or None.
        entries: one per upstream image.
        substituted: charts rendered at another version than pinned (absent locally), as
            ``(chart, pinned, rendered)``.
    """

    env: str
    registry: str | None
    entries: tuple[InventoryEntry, ...]
    substituted: tuple[tuple[str, str, str], ...] = ()
    exceptions: tuple[tuple[str, str], ...] = ()

    @property
    def upstream(self) -> set[str]:
        return {e.upstream for e in self.entries}

    @property
    def pulled(self) -> set[str]:
        """References the cluster pulls: the mirror's when a registry is set, else upstream's."""
        return {e.mirror or e.upstream for e in self.entries}

    def as_json(self) -> dict:
        return {"environment": self.env, "registry": self.registry,
                "images": [{"upstream": e.upstream, "mirror": e.mirror, "releases": list(e.releases)}
                           for e in self.entries],
                "substituted_charts": [{"chart": c, "pinned": p, "rendered": r} for c, p, r in self.substituted],
                "not_rehosted": [{"image": i, "reason": r} for i, r in self.exceptions]}

    def skopeo_documents(self) -> list[tuple[str, dict]]:
        """``skopeo sync --src yaml`` source files, one per destination repository namespace.

        ``skopeo sync`` to a ``docker`` destination keeps only the last path component of each
        image (``path.Base``, without ``--scoped``), so images whose mirror paths differ in their
        parent (``kubeflow/...`` vs ``kubeflow/katib/...``) need one sync each:
        ``skopeo sync --src yaml --dest docker <file> <registry>/<namespace>``.

        Returns:
            ``(destination, document)`` pairs sorted by destination; a document maps each source
            registry to ``{"images": {path: [tag or digest, ...]}}``.
        """
        if self.registry is None:
            raise ImageError(f"environment {self.env} sets no registry.host: nothing to mirror")
        groups: dict[str, dict[str, dict[str, set[str]]]] = {}
        for e in self.entries:
            ref = parse_image(e.upstream)
            parent = ref.path.rpartition("/")[0]
            dest = f"{self.registry}/{parent}" if parent else self.registry
            versions = groups.setdefault(dest, {}).setdefault(ref.registry, {}).setdefault(ref.path, set())
            versions.add(ref.digest or ref.tag or "latest")
        return [(dest, {reg: {"images": {p: sorted(v) for p, v in sorted(imgs.items())}}
                        for reg, imgs in sorted(groups[dest].items())})
                for dest in sorted(groups)]


def environment_images(env: Any, lock: Any, root: Path, chart_dirs: Iterable[Path], *,
                       helm: Path | str | None = None, workdir: Path | None = None,
                       vendor_dir: Path | None = None) -> tuple[dict[str, set[str]], list[tuple[str, str, str]]]:
    """Render environment ``env`` offline and return (image → releases referencing it, substitutions).

    Steps: synthesize the stack with a real cdktf App into ``workdir`` (local chart assets are
    staged there), read it with :func:`kfstack.check.stack.load_stack`, ``helm template`` every
    ``helm_release`` with :func:`kfstack.check.render.render` (charts found by
    :class:`kfstack.check.charts.ChartLocator` in ``chart_dirs``; kustomize parts rendered from
    the vendor cache ``vendor_dir`` (default ``root / env.sources.vendor_dir``) unless a chart
    folder holds the part at its pinned version; local charts from the stack folder), and collect
    :func:`stack_images`. Substitutions are ``(chart, pinned version, rendered version)``.

    Raises:
        ImageError, SourceError: a chart is missing, Helm failed, a release's values hold a
            Terraform expression, or a kustomize base is not vendored.
    """
    import tempfile

    from kfstack.app import build_app
    from kfstack.check.charts import ChartLocator, ChartNotFound
    from kfstack.check.render import HelmMissing, RenderError, render
    from kfstack.check.stack import PLACEHOLDER, load_stack
    from kfstack.sources.kustomize import render_kustomize

    parts = {(part.name, pin.chart_version): pin for pin in lock.kustomize for part in pin.charts}
    rendered_parts: dict[tuple[str, str], list] = {}

    def kustomize_part(chart: str, version: str | None) -> Path | None:
        pin = parts.get((chart, version))
        if pin is None:
            return None
        key = (pin.name, pin.app_version)
        if key not in rendered_parts:
            vendor = Path(vendor_dir) if vendor_dir is not None else root / env.sources.vendor_dir
            rendered_parts[key] = render_kustomize(pin, vendor, root / "build" / "kustomize" / pin.vendor_name)
        return next((r.local_path for r in rendered_parts[key] if r.name == chart), None)

    locator = ChartLocator([Path(d) for d in chart_dirs])
    substituted: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="kfstack-images-synth-") as tmp:
        out = Path(workdir or tmp)
        app = build_app({env.name: env}, lock, root=root, outdir=str(out))
        app.synth()
        stack = load_stack(out / "stacks" / env.name / "cdk.tf.json", env.name)
        rendered: list[tuple[str, list[dict]]] = []
        for release in sorted(stack.releases, key=lambda r: r.name):
            if any(PLACEHOLDER in v for v in release.values):
                raise ImageError(f"{release.address} ({release.name}): values hold Terraform expressions; "
                                 f"kfstack images renders literal values only")
            chart = release.local_path
            if chart is None:
                try:
                    located = locator.locate(release.chart, release.version)
                except ChartNotFound as exc:
                    located = None
                    chart = kustomize_part(release.chart, release.version)
                    if chart is None:
                        raise ImageError(f"release {release.name}: {exc}") from exc
                if located is not None and located.substituted_from is not None:
                    chart = kustomize_part(release.chart, release.version)
                if chart is None and located is not None:
                    chart = located.path
                    if located.substituted_from is not None:
                        substituted.append((release.chart, str(release.version), located.version))
            try:
                objects = render(release, chart, helm=helm).objects
            except (RenderError, HelmMissing) as exc:
                raise ImageError(f"helm template of release {release.name} ({chart.name}) failed: {exc}") from exc
            rendered.append((release.name, objects))
        found = stack_images(rendered, stack.manifests)
    return found, substituted


def build_inventory(env: Any, lock: Any, root: Path, chart_dirs: Iterable[Path], *,
                    helm: Path | str | None = None, vendor_dir: Path | None = None) -> Inventory:
    """The image inventory of ``env``: its images rendered without the registry (upstream
    references), each mapped to its mirror reference by the image policy when ``registry.host``
    is set. ``kfstack check`` proves the other half: rendering ``env`` as configured yields exactly
    :attr:`Inventory.pulled`.

    Raises:
        ImageError, SourceError: see :func:`environment_images`.
    """
    registry = env.registry.host if env.registry else None
    upstream_env = env.model_copy(update={"registry": None}) if registry else env
    found, substituted = environment_images(upstream_env, lock, root, chart_dirs, helm=helm, vendor_dir=vendor_dir)
    entries = tuple(InventoryEntry(upstream=image, mirror=mirror_reference(image, registry) if registry else None,
                                   releases=tuple(sorted(found[image])))
                    for image in sorted(found) if image not in NOT_REHOSTABLE)
    return Inventory(env=env.name, registry=registry, entries=entries,
                     substituted=tuple(sorted(set(substituted))),
                     exceptions=tuple((i, NOT_REHOSTABLE[i]) for i in sorted(found) if i in NOT_REHOSTABLE))


def skopeo_stream(inventory: Inventory) -> str:
    """``--format skopeo``: the :meth:`Inventory.skopeo_documents` as one YAML stream.

    Each document is a complete ``skopeo sync --src yaml`` source file, preceded by a comment with
    its destination and the command; ``kfstack images ENV --format skopeo --out DIR`` writes them as
    separate files plus ``sync.sh``. Sorted and free of timestamps: the same inventory prints the
    same bytes.
    """
    parts = [f"# kfstack images {inventory.env} --format skopeo: {len(inventory.entries)} image(s) for "
             f"{inventory.registry}\n"]
    for i, (dest, doc) in enumerate(inventory.skopeo_documents(), start=1):
        parts.append(f"---\n# destination: {dest}\n"
                     f"# skopeo sync --all --preserve-digests --src yaml --dest docker sync-{i:02d}.yaml {dest}\n"
                     + yaml.safe_dump(doc, sort_keys=True, default_flow_style=False, width=1000))
    return "".join(parts)


def write_skopeo(inventory: Inventory, out_dir: Path) -> list[Path]:
    """Write ``sync-NN.yaml`` per destination and ``sync.sh`` running ``skopeo sync`` for each into ``out_dir``.

    Returns the files written (``sync.sh`` last).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    lines = ["#!/bin/sh", f"# Fill {inventory.registry} with every image environment {inventory.env} runs "
             f"(generated by `kfstack images {inventory.env} --format skopeo --out`).",
             "# Credentials: skopeo login (or --src-authfile/--dest-authfile). Extra skopeo options: $SKOPEO_OPTS.",
             "set -eu", 'cd "$(dirname "$0")"']
    for i, (dest, doc) in enumerate(inventory.skopeo_documents(), start=1):
        f = out_dir / f"sync-{i:02d}.yaml"
        f.write_text(f"# destination: {dest}\n" + yaml.safe_dump(doc, sort_keys=True, default_flow_style=False,
                                                                  width=1000), encoding="utf-8")
        written.append(f)
        lines.append(f"skopeo sync --all --preserve-digests ${{SKOPEO_OPTS:-}} --src yaml --dest docker {f.name} {dest}")
    script = out_dir / "sync.sh"
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    script.chmod(0o755)
    return [*written, script]
