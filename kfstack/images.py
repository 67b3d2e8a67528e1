"""Container images: reference parsing, the mirror naming rule, and finding images in manifests.

Pure: no cdktf, no network, no subprocess. Rendering an environment to build its inventory
(``kfstack images``) is :mod:`kfstack.images_inventory`. Three users:

- the image policy every construct applies (:class:`kfstack.constructs.core.refs.ImageMirror`
  delegates to :func:`mirror_reference`),
- render-and-split (:mod:`kfstack.sources.kustomize`) which templates every image string
  :func:`images_in_object` finds in a kustomize-rendered object,
- ``kfstack images`` / ``kfstack check`` which compare the images of rendered manifests
  (:func:`images_in_objects`) with an environment's inventory
  (:func:`kfstack.images_inventory.build_inventory`).
  ``kfstack check`` renders on its own, judges :func:`images_in_objects` of the result and
  compares :func:`stack_images` of its renders with the inventory.

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
_CHOICE_KEY = re.compile(r"^image(?:Group[A-Z][A-Za-z]*)?$")
"""Keys of the Jupyter web app's spawner config (``image``, ``imageGroupOne``, ...) holding
``{value: <default image>, options: [<images users may pick>]}``."""
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


def _derived(node: dict) -> Iterator[str]:
    """Images a controller composes from parts of one mapping.

    - Istio's injector values (``global.hub`` + ``global.proxy.image`` + ``global.tag``):
      ``docker.io/istio`` + ``proxyv2`` + ``1.29.0`` → the sidecar and gateway image.
    - KServe explainers (``image`` + ``defaultImageVersion``).
    """
    hub, tag = node.get("hub"), node.get("tag")
    if isinstance(hub, str) and isinstance(tag, str) and hub and tag:
        for key in ("proxy", "proxy_init"):
            image = (node.get(key) or {}).get("image") if isinstance(node.get(key), dict) else None
            if isinstance(image, str) and image and "/" not in image and ":" not in image:
                ref = f"{hub.rstrip('/')}/{image}:{tag}"
                if looks_like_image(ref):
                    yield ref
    image, version = node.get("image"), node.get("defaultImageVersion")
    if isinstance(image, str) and isinstance(version, str) and looks_like_image(f"{image}:{version}") \
            and ":" not in image.rpartition("/")[2]:
        yield f"{image}:{version}"


def _walk(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        split = _split_repository_image(node)
        if split is not None:
            yield split
        derived = list(_derived(node))
        yield from derived
        bare = node.get("image")
        # `image` that a `defaultImageVersion` completes is not pulled as written
        composed = isinstance(bare, str) and any(d.startswith(f"{bare}:") for d in derived)
        for key, value in node.items():
            if key in _CONTAINER_LISTS and isinstance(value, list):
                for container in value:
                    if isinstance(container, dict):
                        yield from _container(container)
            elif isinstance(key, str) and _IMAGE_KEY.match(key) and looks_like_image(value):
                if key != "image" or (split is None and not composed):
                    yield value
            elif isinstance(key, str) and _CHOICE_KEY.match(key) and isinstance(value, dict) \
                    and ("value" in value or "options" in value):
                # Jupyter web app spawner: {value: <default image>, options: [<images offered>]}
                for choice in [value.get("value"), *(value.get("options") or [])]:
                    if looks_like_image(choice):
                        yield choice
                yield from _walk({k: v for k, v in value.items() if k not in ("value", "options")})
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
        for key, value in obj["data"].items():
            if str(key).startswith("_"):
                continue  # KServe's `_example`: documentation the controller never reads
            if _is_full_reference(value) or (_IMAGE_KEY.match(str(key)) and looks_like_image(value)):
                found.add(value)  # Rook's CSI image set: `plugin: quay.io/cephcsi/cephcsi:v3.17.0`
                continue
            parsed = _embedded(value)
            if isinstance(parsed, (dict, list)):
                found.update(_walk(parsed))
    return found


def _is_full_reference(value: Any) -> bool:
    """An image reference spelling its registry and a tag or digest (``quay.io/x/y:1``)."""
    if not looks_like_image(value):
        return False
    ref = parse_image(value)
    return ref.explicit_registry and bool(ref.tag or ref.digest)


def images_in_objects(objects: Iterable[dict]) -> set[str]:
    """Union of :func:`images_in_object` over rendered manifests (``None`` documents skipped).

    Example::

        images_in_objects(yaml.safe_load_all(helm_template_output))
        # {"ghcr.io/kubeflow/kfp-api-server:2.16.0", "quay.io/jetstack/cert-manager-controller:v1.19.4", ...}
    """
    found: set[str] = set()
    objects = [o for o in objects if isinstance(o, dict)]
    for obj in objects:
        found |= images_in_object(obj)
    found |= _mysql_cluster_images(objects)
    return found


MYSQL_DEFAULT_REPOSITORY = "container-registry.oracle.com/mysql"
"""Where MySQL Operator pulls server and router images unless ``MYSQL_OPERATOR_DEFAULT_REPOSITORY`` is set."""


def _mysql_cluster_images(objects: list[dict]) -> set[str]:
    """Server and router images MySQL Operator runs for each InnoDBCluster (``spec.version``,
    ``spec.router.version``), from the repository its Deployment's ``MYSQL_OPERATOR_DEFAULT_REPOSITORY``
    names (chart ``envs.imagesDefaultRegistry``/``imagesDefaultRepository``), else Oracle's."""
    clusters = [o for o in objects if o.get("kind") == "InnoDBCluster" and isinstance(o.get("spec"), dict)]
    if not clusters:
        return set()
    repository = MYSQL_DEFAULT_REPOSITORY
    for obj in objects:
        for container in _containers(obj):
            for env in container.get("env") or []:
                if isinstance(env, dict) and env.get("name") == "MYSQL_OPERATOR_DEFAULT_REPOSITORY" and env.get("value"):
                    repository = str(env["value"]).rstrip("/")
    out: set[str] = set()
    for cluster in clusters:
        spec = cluster["spec"]
        repo = str(spec.get("imageRepository") or repository).rstrip("/")
        version = spec.get("version")
        if not version:
            continue
        router = spec.get("router") if isinstance(spec.get("router"), dict) else {}
        out.add(f"{repo}/community-server:{version}")
        out.add(f"{repo}/community-router:{router.get('version') or version}")
    return out


def _containers(node: Any) -> Iterator[dict]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _CONTAINER_LISTS and isinstance(value, list):
                yield from (c for c in value if isinstance(c, dict))
            else:
                yield from _containers(value)
    elif isinstance(node, list):
        for item in node:
            yield from _containers(item)


# --- exceptions -------------------------------------------------------------------------------

NOT_REHOSTABLE: dict[str, str] = {
    "kserve/storage-initializer:latest": (
        "KServe 0.16.0's chart hard-codes localModel.defaultJobImage in ConfigMap inferenceservice-config "
        "(no value rewrites it); only the LocalModelCache feature reads it, and kfstack leaves it off "
        "(localModel.enabled false, not a kfstack setting)."),
}
"""Images found in the manifests of some environment that kfstack cannot point at the mirror, each with
the reason; only for features that are off. Not in the inventory; ``kfstack check`` must skip them."""

UPSTREAM_SOURCE_EXCEPTIONS: dict[str, str] = {
    "gcr.io/tfx-oss-public/ml_metadata_store_server:1.14.0": (
        "Pipelines' ML Metadata gRPC server (metadata-grpc-deployment). Kubeflow Pipelines 2.16.0 (and "
        "2.17.x) publish it only on gcr.io/tfx-oss-public; no other upstream location exists. Environments "
        "with registry.host pull it from the mirror; the site syncs it from gcr.io once."),
}
"""Default images from a source issue 12 rules out (Bitnami, gcr.io, ``latest``), kept because upstream
publishes them nowhere else; each with the reason."""


def is_forbidden_source(image: str) -> str | None:
    """Why ``image`` must not be a default (Bitnami, gcr.io, ``latest``/untagged), or None when it may."""
    ref = parse_image(image)
    if "bitnami" in ref.path.split("/")[0] or ref.registry.endswith("bitnami.com"):
        return "Bitnami image (Bitnami moved versioned images to bitnamilegacy in Aug 2025)"
    if ref.registry == "gcr.io" or ref.registry.endswith(".gcr.io"):
        return "gcr.io (Google Container Registry is shut down; upstreams moved to other registries)"
    if ref.is_latest:
        return "tag latest or no tag (not reproducible; air-gapped mirrors need a fixed tag or digest)"
    return None


# --- images of a rendered environment ------------------------------------------------------


def stack_images(releases: Iterable[tuple[str, Iterable[dict]]], manifests: Iterable[dict] = ()) -> dict[str, set[str]]:
    """Image → names of what references it, from already rendered objects.

    Args:
        releases: ``(release name, rendered objects)`` per Helm release.
        manifests: the stack's own ``kubernetes_*`` objects
            (:func:`kfstack.check.stack.kubernetes_objects`), attributed to ``kfstack``.

    Images only the combination of objects yields (MySQL Operator's server and router images,
    composed from the operator's Deployment and the InnoDBCluster of another release) are
    attributed to ``(operator)``. CustomResourceDefinitions are skipped (schemas, not workloads).
    """
    found: dict[str, set[str]] = {}
    everything: list[dict] = []
    for name, objects in releases:
        objects = [o for o in objects if isinstance(o, dict) and o.get("kind") != "CustomResourceDefinition"]
        everything += objects
        for image in set().union(*(images_in_object(o) for o in objects)):
            found.setdefault(image, set()).add(name)
    for obj in manifests:
        everything.append(obj)
        for image in images_in_object(obj):
            found.setdefault(image, set()).add("kfstack")
    for image in images_in_objects(everything) - set(found):  # composed across releases (MySQL Operator)
        found[image] = {"(operator)"}
    return found
