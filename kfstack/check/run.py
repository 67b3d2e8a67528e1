"""Drive ``kfstack check`` over one environment's synthesized stack (see :mod:`kfstack.check`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import yaml

from kfstack.check.charts import ChartLocator, ChartNotFound
from kfstack.check.render import RenderError, render
from kfstack.check.report import INVENTORY_ADDRESS, Category, EnvironmentReport, Problem, ReleaseReport
from kfstack.check.rules import (
    PoolView,
    disruption_problems,
    exempt_image,
    image_problems,
    inventory_problems,
    load_chart,
    merged_values,
    canonical,
    perturbed,
    scheduling_problems,
    size_problems,
    unknown_values,
    unread_problems,
)
from kfstack.check.server import ApiServer, is_pod_security, psa_namespace
from kfstack.check.stack import HelmRelease, Stack, TerraformObject, load_stack
from kfstack.check.workloads import object_id
from kfstack.cluster.nodes import node_manifests


@dataclass
class CheckOptions:
    """How to check.

    ``chart_dirs``: folders of chart archives (see :class:`ChartLocator`).
    ``server``: an API server for dry runs; ``scratch`` allows creating objects
    for real on it (the local control plane) — never on a site's cluster.
    ``progress``: called with one line per release.
    ``inventory``: ``env config -> kfstack.images_inventory.Inventory`` (normally
    :func:`kfstack.images_inventory.build_inventory` over the same chart folders); when
    given, the images of every rendered object are compared with it
    (:func:`inventory_problems`). It may raise ``ImageError``/``SourceError``,
    reported as an image problem.
    """

    chart_dirs: list[Path]
    server: ApiServer | None = None
    scratch: bool = False
    progress: Callable[[str], None] = lambda line: None
    extra_notes: list[str] = field(default_factory=list)
    inventory: Callable[[Any], Any] | None = None


def pool_views(env) -> list[PoolView]:
    """One :class:`PoolView` per node pool, from the same node objects ``kfstack cluster up`` creates."""
    views = []
    for pool in env.node_pools:
        nodes = node_manifests([pool.model_copy(update={"count": 1})])
        if not nodes:
            continue
        node = nodes[0]
        views.append(PoolView(pool.name, node["metadata"]["labels"], tuple(node["spec"]["taints"]),
                              pool.gpu is not None))
    return views


def _render_category(message: str) -> Category:
    return Category.precondition if ("not found in namespace" in message or "lookup" in message) else Category.render


_LOOKUP_MISS = re.compile(r"'([^']+)' not found in namespace '([^']+)'")


def _created_before(stack: Stack, deps: set[str], name: str, namespace: str) -> bool:
    """Does a resource this release depends on create an object ``name`` in ``namespace``?"""
    return any(o.address in deps and o.name == name and o.namespace == namespace for o in stack.objects)


def _deps(stack: Stack) -> dict[str, set[str]]:
    """Transitive ``depends_on`` of every release (addresses)."""
    direct = {r.address: set(r.depends_on) for r in stack.releases}
    memo: dict[str, set[str]] = {}

    def closure(addr: str, seen: frozenset = frozenset()) -> set[str]:
        if addr in memo:
            return memo[addr]
        out: set[str] = set()
        for d in direct.get(addr, ()):
            if d not in seen:
                out.add(d)
                out |= closure(d, seen | {addr})
        memo[addr] = out
        return out

    return {a: closure(a) for a in direct}


def unread_values(rel, chart: Path, values: dict[str, Any], content) -> list[tuple[str, ...]]:
    """Value paths the chart never reads: changing the value leaves the render unchanged.

    Candidates are keys unknown to the chart (:func:`unknown_values`: not in
    its ``values.yaml`` nor named by a template); each is confirmed by
    rendering once more with that value changed (:func:`perturbed`,
    client-side). A probe the chart refuses (schema, ``required``) counts as
    read. Known keys that the current settings leave unused (an option of a
    disabled feature) are not reported.
    """
    candidates = unknown_values(values, content)
    if not candidates:
        return []

    def probe(vals: dict[str, Any]) -> str | None:
        try:
            return canonical(render(replace(rel, values=(yaml.safe_dump(vals),), sets=()), chart).objects)
        except RenderError:
            return None

    base = probe(values)
    if base is None:
        return []
    return [p for p in candidates if probe(perturbed(values, p)) == base]


def declared_by(rel: HelmRelease, env) -> tuple[str, Problem | None]:
    """Which enabled component's declaration installs ``rel``'s chart (``Components.installed()``).

    Returns ``("<component>: release.versions.<key> <version>", None)`` (``release.kubeflow`` for
    what the Kubeflow line versions); for a chart no enabled
    component declares, ``("", problem)`` when it comes from a chart repository (an upstream chart
    the stack should not install, e.g. another backend's or a disabled component's) and ``("", None)``
    for a local chart (this project's ``charts/``, or a vendored archive whose name is not known).
    """
    components = getattr(env, "components", None)
    if components is not None:
        for key, installs in components.installed():
            if installs.owns(rel.chart):
                release = env.release
                return f"{key}: {'.'.join(release.path_of(installs.key))} {release.version_of(installs.key)}", None
    if rel.local_path is not None:
        return "", None
    return "", Problem(Category.undeclared, f"chart {rel.chart} is installed, but no enabled component declares it "
                                            "(INSTALLS of the components' settings)")


def check_stack(stack: Stack, env, options: CheckOptions) -> EnvironmentReport:
    """Check every release of ``stack`` (environment config ``env``); see the package doc for what is checked."""
    locator = ChartLocator(options.chart_dirs)
    pools = pool_views(env)
    registry = env.registry.host if getattr(env, "registry", None) else None
    server = options.server
    report = EnvironmentReport(stack.env, server=(f"{server.kubeconfig}" + (" (scratch)" if options.scratch else " (dry run only)"))
                               if server else "")
    created_tf: set[str] = set()
    tf_by_addr: dict[str, TerraformObject] = {o.address: o for o in stack.objects}
    api_versions: list[str] = []
    order = stack.install_order()
    deps = _deps(stack)
    rendered_by_release: list[tuple[str, list[dict[str, Any]]]] = []
    unrendered: set[str] = set()
    try:
        if server and options.scratch:
            for ns in stack.namespaces():
                out = server.apply(psa_namespace(ns.manifest()), "", dry_run=False)
                created_tf.add(ns.address)
                if out.error:
                    report.releases.append(ReleaseReport(ns.address, ns.name, "", "namespace",
                                                         problems=[Problem(Category.api, out.error, f"Namespace/{ns.name}")]))
        for i, rel in enumerate(order, 1):
            rr = ReleaseReport(rel.address, rel.name, rel.namespace, rel.label)
            report.releases.append(rr)
            rr.declared_by, undeclared = declared_by(rel, env)
            if undeclared is not None:
                rr.problems.append(undeclared)
            options.progress(f"[{i}/{len(order)}] {stack.env}: {rel.name} ({rel.label})")
            if server and options.scratch:
                for addr in sorted(deps.get(rel.address, ())):
                    obj = tf_by_addr.get(addr)
                    if obj is not None and addr not in created_tf and obj.kind not in ("Deployment",):
                        server.apply(obj.manifest(), obj.namespace, dry_run=False)
                        created_tf.add(addr)
            # ---- chart
            if rel.local_path is not None:
                path = rel.local_path
                rr.source = "project chart"
            else:
                try:
                    located = locator.locate(rel.chart, rel.version)
                except ChartNotFound as exc:
                    rr.problems.append(Problem(Category.chart, str(exc)))
                    unrendered.add(rel.name)
                    continue
                path = located.path
                rr.source = path.name
                if located.note:
                    rr.notes.append(located.note)
            try:
                content = load_chart(path)
            except ValueError as exc:
                rr.problems.append(Problem(Category.chart, str(exc)))
                unrendered.add(rel.name)
                continue
            values = merged_values(rel.values, rel.sets)
            # ---- render
            try:
                rendered = render(rel, path, kubeconfig=server.kubeconfig if (server and options.scratch) else None,
                                  api_versions=tuple(api_versions))
            except RenderError as exc:
                missing = _LOOKUP_MISS.search(str(exc))
                if missing and not (server and options.scratch) and _created_before(
                        stack, deps.get(rel.address, set()), missing.group(1), missing.group(2)):
                    rr.notes.append(f"not verified without a cluster: the chart looks up {missing.group(1)} in "
                                    f"{missing.group(2)}, which the stack creates before it (run with a scratch "
                                    "cluster to render it)")
                    unrendered.add(rel.name)
                    continue
                rr.problems.append(Problem(_render_category(str(exc)), str(exc)))
                unrendered.add(rel.name)
                continue
            objects = rendered.objects
            rendered_by_release.append((rel.name, objects))
            rr.objects = len(objects)
            rr.problems.extend(unread_problems(unread_values(rel, path, values, content)))
            rr.problems.extend(scheduling_problems(objects, pools, rel.namespace))
            rr.problems.extend(size_problems(content, rendered.manifest, values))
            rr.problems.extend(disruption_problems(objects, rel.namespace))
            rr.problems.extend(image_problems(objects, registry, rel.namespace))
            crds = [o for o in objects if o.get("kind") == "CustomResourceDefinition"]
            for crd in crds:
                spec = crd.get("spec") or {}
                for v in spec.get("versions") or []:
                    api_versions.append(f"{spec.get('group')}/{v.get('name')}")
            if server is None:
                continue
            # ---- API server: CRDs first (dry run, then for real on a scratch cluster), then the rest
            names = []
            for crd in crds:
                out = server.apply(crd, rel.namespace, dry_run=True)
                if out.error:
                    rr.problems.append(Problem(Category.api, out.error, object_id(crd)))
                    continue
                rr.validated += 1
                if options.scratch:
                    real = server.create_for_real(crd, rel.namespace)
                    if not real.error:
                        names.append(crd["metadata"]["name"])
            if names:
                for name in server.wait_established(names):
                    rr.problems.append(Problem(Category.api, "CRD not Established within 60 s",
                                               f"CustomResourceDefinition/{name}"))
            rest = [o for o in objects if o.get("kind") != "CustomResourceDefinition"]
            # Namespaces the chart itself renders go first, for real, so its objects there can be judged.
            rest.sort(key=lambda o: 0 if o.get("kind") == "Namespace" else 1)
            for obj in rest:
                oid = object_id(obj, rel.namespace)
                out = server.apply(psa_namespace(obj) if obj.get("kind") == "Namespace" else obj,
                                   rel.namespace, dry_run=True)
                if out.error:
                    rr.problems.append(Problem(Category.api, out.error, oid))
                    continue
                rr.validated += 1
                for w in out.warnings:
                    if is_pod_security(w):
                        rr.problems.append(Problem(Category.pod_security, w, oid))
                if options.scratch:
                    server.create_for_real(psa_namespace(obj) if obj.get("kind") == "Namespace" else obj,
                                           rel.namespace)
    finally:
        if server and options.scratch:
            server.cleanup()
    if options.inventory is not None:
        report.releases.append(inventory_report(stack, env, options, rendered_by_release, unrendered))
    return report


def inventory_report(stack: Stack, env, options: CheckOptions, rendered: list[tuple[str, list[dict[str, Any]]]],
                     unrendered: set[str]) -> ReleaseReport:
    """The pseudo-line ``(image inventory)``: the environment's rendered images (``rendered``:
    ``(release name, objects)`` already rendered by :func:`check_stack`, plus the stack's own
    ``kubernetes_*`` objects) against ``options.inventory(env)`` (:func:`inventory_problems`)."""
    from kfstack.images import stack_images
    from kfstack.images_inventory import ImageError
    from kfstack.sources.charts import SourceError

    rr = ReleaseReport(INVENTORY_ADDRESS, "(image inventory)", "", f"kfstack images {stack.env}")
    options.progress(f"[inventory] {stack.env}: kfstack images {stack.env}")
    try:
        inventory = options.inventory(env)
    except (ImageError, SourceError) as exc:
        rr.problems.append(Problem(Category.image, f"the inventory cannot be computed: {exc}"))
        return rr
    images = stack_images(rendered, stack.manifests)
    pulled = {e.mirror or e.upstream: e.releases for e in inventory.entries}
    rr.objects = 0
    rr.problems.extend(inventory_problems(images, pulled, inventory.registry, stack.env, unrendered))
    exempt = sorted(i for i in images if i not in pulled and exempt_image(i))
    rr.notes.append(f"{len(pulled)} inventory image(s), {len(images)} rendered image(s)"
                    + (f" ({len(exempt)} exempt: {', '.join(exempt)})" if exempt else ""))
    if unrendered:
        rr.notes.append(f"not compared: images only {', '.join(sorted(unrendered))} reference(s) (not rendered)")
    return rr


def check_environment(env_name: str, env, stack_path: Path, options: CheckOptions) -> EnvironmentReport:
    """Load ``stack_path`` and :func:`check_stack` it.

    Raises:
        kfstack.check.stack.StackError: the stack file is missing or unreadable.
    """
    return check_stack(load_stack(stack_path, env_name), env, options)
