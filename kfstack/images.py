"""Container images: reference parsing, the mirror naming rule, and finding images in manifests.

Pure functions, no cdktf, no network. Three users:

- the image policy every construct applies (:class:`kfstack.constructs.core.refs.ImageMirror`
  delegates to :func:`mirror_reference`),
- render-and-split (:mod:`kfstack.sources.kustomize`) which templates every image string
  :func:`images_in_object` finds in a kustomize-rendered object,
- ``kfstack images`` / ``kfstack check`` which compare the images of rendered manifests
  (:func:`images_in_objects`) with an environment's inventory (:mod:`kfstack.inventory`).

Reference grammar (the subset Kubernetes accepts, distribution/reference)::

    [registry/]path[:tag][@digest]

``registry`` is the first ``/``-separated component when it contains ``.`` or ``:`` or is
``localhost``; otherwise the image is on Docker Hub (``docker.io``) and ``path`` is kept as
written (``busybox`` stays ``busybox``, ``docker.io/library/busybox`` has path
``library/busybox``).

Mirror rule (DESIGN §5, README ``registry.host``): the upstream registry is dropped and the
path, tag and digest are kept: ``ghcr.io/kubeflow/kfp-api-server:2.16.0`` →
``registry.internal/kubeflow/kfp-api-server:2.16.0``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

import yaml

__all__ = [
    "DOCKER_HUB",
    "ImageRef",
    "parse_image",
    "looks_like_image",
    "mirror_reference",
    "images_in_object",
    "images_in_objects",
]

DOCKER_HUB = "docker.io"
"""Registry of references without a registry component (Docker Hub)."""

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REGISTRY = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?)"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}"
_PATH = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_REFERENCE = re.compile(
    rf"^(?:(?P<registry>{_REGISTRY})/)?(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?$")


@dataclass(frozen=True, order=True)
class ImageRef:
    """One parsed image reference.

    Attributes:
        registry: registry host[:port] (``docker.io`` when the reference names none).
        path: repository path inside the registry, as written (``kubeflow/kfp-api-server``).
        tag: tag, or None (a reference with neither tag nor digest means ``latest``).
        digest: ``sha256:<hex>``, or None.
        explicit_registry: the reference spelled its registry.
    """

    registry: str
    path: str
    tag: str | None = None
    digest: str | None = None
    explicit_registry: bool = True

    @property
    def version(self) -> str:
        """``:tag``, ``@digest`` or ``:tag@digest``: what follows the repository in the reference."""
        return (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")

    @property
    def repository(self) -> str:
        """``registry/path`` with the registry always spelled out."""
        return f"{self.registry}/{self.path}"

    @property
    def is_latest(self) -> bool:
        """Pinned to nothing: tag ``latest``, or no tag and no digest."""
        return self.digest is None and self.tag in (None, "latest")

    def __str__(self) -> str:
        return (f"{self.registry}/" if self.explicit_registry else "") + self.path + self.version


def looks_like_image(value: Any) -> bool:
    """True for a string that parses as an image reference with a registry or a path separator, or a tag.

    Bare words (``true``, ``server``) are not images; ``busybox:1.36`` and ``kserve/agent`` are.
    """
    if not isinstance(value, str) or not value or len(value) > 512:
        return False
    try:
        ref = parse_image(value)
    except ValueError:
        return False
    return "/" in value or bool(ref.tag or ref.digest)


def parse_image(image: str) -> ImageRef:
    """Parse ``[registry/]path[:tag][@digest]``.

    Raises:
        ValueError: not an image reference (the message shows it).
    """
    match = _REFERENCE.match(image)
    if match is None:
        raise ValueError(f"not an image reference: {image!r}")
    registry, path = match.group("registry"), match.group("path")
    if registry is not None and not ("." in registry or ":" in registry or registry == "localhost"):
        # "kserve/agent": the first component is a Docker Hub namespace, not a registry.
        path, registry = f"{registry}/{path}", None
        if _PATH.match(path) is None:
            raise ValueError(f"not an image reference: {image!r}")
    return ImageRef(registry=registry or DOCKER_HUB, path=path, tag=match.group("tag"),
                    digest=match.group("digest"), explicit_registry=registry is not None)


def mirror_reference(image: str, host: str) -> str:
    """Where ``image`` lives in the mirror ``host``: ``<host>/<path>[:tag][@digest]``.

    An image already under ``host`` is returned unchanged.

    Raises:
        ValueError: ``image`` is not an image reference.
    """
    host = host.strip("/")
    if image.startswith(f"{host}/"):
        return image
    ref = parse_image(image)
    return f"{host}/{ref.path}{ref.version}"


# --- finding images in manifests -------------------------------------------------------------

_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")
_IMAGE_KEY = re.compile(r"^(?:image|[a-z][A-Za-z]*Image)$")
"""Keys whose string value is an image: ``image`` (containers, Katib suggestion/metrics-collector
config, KServe ``inferenceservice-config``, Rook ``cephVersion``) and ``*Image``
(``rbacProxyImage``, ``cacheImage``)."""
_ENV_IMAGE = re.compile(r"(?:^|_)IMAGE$")
"""Container env vars holding an image a controller launches (Pipelines ``V2_LAUNCHER_IMAGE``,
``V2_DRIVER_IMAGE``)."""
_ARG_IMAGE = re.compile(r"^--?[a-z-]*image(?:=(?P<value>.+))?$")
"""Container args naming an image (Argo ``--executor-image X`` / ``--executor-image=X``)."""


def _split_repository_image(node: dict) -> str | None:
    """GPU Operator ClusterPolicy style: ``{repository: nvcr.io/nvidia, image: driver, version: 580}``."""
    repo, image, version = node.get("repository"), node.get("image"), node.get("version")
    if isinstance(repo, str) and isinstance(image, str) and "/" not in image and repo and image:
        ref = f"{repo.rstrip('/')}/{image}"
        if isinstance(version, str) and version:
            ref += ("@" if version.startswith("sha256:") else ":") + version
        return ref if looks_like_image(ref) else None
    return None


def _embedded(text: str) -> Any:
    """A ConfigMap value parsed as YAML (JSON is YAML), or None when it is not structured data."""
    if not isinstance(text, str) or not any(c in text for c in ":{["):
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        try:
            return json.loads(text)
        except ValueError:
            return None


def _walk(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        split = _split_repository_image(node)
        if split is not None:
            yield split
        for key, value in node.items():
            if key in _CONTAINER_LISTS and isinstance(value, list):
                for container in value:
                    if isinstance(container, dict):
                        yield from _container(container)
            elif isinstance(key, str) and _IMAGE_KEY.match(key) and looks_like_image(value):
                if split is None or key != "image":
                    yield value
            else:
                yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def _container(container: dict) -> Iterator[str]:
    image = container.get("image")
    if looks_like_image(image):
        yield image
    for env in container.get("env") or []:
        if isinstance(env, dict) and _ENV_IMAGE.search(str(env.get("name", ""))) and looks_like_image(env.get("value")):
            yield env["value"]
    args = [a for a in (container.get("args") or []) + (container.get("command") or []) if isinstance(a, str)]
    for i, arg in enumerate(args):
        match = _ARG_IMAGE.match(arg)
        if match is None:
            continue
        value = match.group("value") if match.group("value") is not None else (args[i + 1] if i + 1 < len(args) else None)
        if looks_like_image(value):
            yield value
    for key, value in container.items():
        if key not in ("image", "env", "args", "command"):
            yield from _walk({key: value})


def images_in_object(obj: dict) -> set[str]:
    """Every image string one Kubernetes object runs or makes a controller run.

    Found: ``image`` of every container, init container and ephemeral container anywhere in the
    object (all workload kinds, Job/CronJob templates, custom resources embedding pod specs such
    as ServingRuntimes and TrainingRuntimes); container env vars named ``*_IMAGE`` and
    ``--*image`` args; any ``image`` / ``*Image`` key holding an image reference; GPU Operator
    style ``repository`` + ``image`` + ``version`` triples; and all of these inside ConfigMap
    values that are YAML or JSON documents (Katib ``katib-config`` and ``trial-templates``,
    KServe ``inferenceservice-config``). Strings with template syntax (``{{``, ``${``) are not
    images (Argo and Knative placeholders).
    """
    found: set[str] = set()
    if not isinstance(obj, dict):
        return found
    found.update(_walk({k: v for k, v in obj.items() if k not in ("data", "metadata")}))
    if obj.get("kind") == "ConfigMap" and isinstance(obj.get("data"), dict):
        for value in obj["data"].values():
            parsed = _embedded(value)
            if isinstance(parsed, (dict, list)):
                found.update(_walk(parsed))
    return found


def images_in_objects(objects: Iterable[dict]) -> set[str]:
    """Union of :func:`images_in_object` over rendered manifests (``None`` documents skipped).

    Example::

        images_in_objects(yaml.safe_load_all(helm_template_output))
        # {"ghcr.io/kubeflow/kfp-api-server:2.16.0", "quay.io/jetstack/cert-manager-controller:v1.19.4", ...}
    """
    found: set[str] = set()
    for obj in objects:
        if isinstance(obj, dict):
            found |= images_in_object(obj)
    return found
