"""Problems found by ``kfstack check`` and how they are printed (text, Markdown)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Category(str, Enum):
    """What kind of problem (the word printed before each message)."""

    render = "render"                  # helm template failed (schema, required, fail)
    precondition = "precondition"      # install-time lookup of an object nothing creates first
    unread_value = "unread-value"      # a value path the chart never reads
    api = "api"                        # the API server rejects an object (dry run)
    pod_security = "pod-security"      # the namespace's enforced Pod Security level rejects a pod
    scheduling = "scheduling"          # a node-level workload cannot reach a pool it must run on
    release_size = "release-size"      # Helm's 1 MiB release record limit
    disruption = "disruption"          # a PodDisruptionBudget blocks every drain
    image = "image"                    # an image outside the environment's registry or not in its inventory
    chart = "chart"                    # the chart archive cannot be found
    undeclared = "undeclared"          # an upstream chart no enabled component declares (ComponentSettings.INSTALLS)


@dataclass(frozen=True)
class Problem:
    """One problem of one release; ``obj`` is ``Kind/namespace/name`` when it concerns an object."""

    category: Category
    message: str
    obj: str = ""

    def line(self) -> str:
        """``<category>: [<object>: ]<message>``."""
        where = f"{self.obj}: " if self.obj else ""
        return f"{self.category.value}: {where}{self.message}"


INVENTORY_ADDRESS = "inventory"
"""``ReleaseReport.address`` of the environment-level image inventory line (not a ``helm_release``)."""


@dataclass
class ReleaseReport:
    """What was checked of one ``helm_release`` and what was found.

    ``chart`` is ``name version`` as installed; ``source`` says where the
    archive came from (and any version substitution); ``objects`` counts the
    rendered objects; ``validated`` those the API server accepted in a dry run;
    ``declared_by`` names the component and ``release.versions`` key whose declaration
    installs the chart (empty for this project's own charts).
    """

    address: str
    name: str
    namespace: str
    chart: str
    source: str = ""
    objects: int = 0
    validated: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    declared_by: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class EnvironmentReport:
    """All releases of one environment, in install order."""

    env: str
    releases: list[ReleaseReport] = field(default_factory=list)
    server: str = ""   # what the API server checks ran against ("" = none)

    @property
    def problems(self) -> int:
        return sum(len(r.problems) for r in self.releases)

    @property
    def helm_releases(self) -> int:
        """Lines that are ``helm_release``s (not the environment-level ``(image inventory)`` line)."""
        return sum(1 for r in self.releases if r.address != INVENTORY_ADDRESS)

    @property
    def objects(self) -> int:
        return sum(r.objects for r in self.releases)

    @property
    def validated(self) -> int:
        return sum(r.validated for r in self.releases)


def format_text(reports: list[EnvironmentReport]) -> str:
    """One line per release (``ok``/``N problem(s)``), each problem indented below, then a summary."""
    out: list[str] = []
    for env in reports:
        out.append(f"== {env.env} ({env.helm_releases} releases; API server: {env.server or 'none (render-only)'})")
        for r in env.releases:
            status = "ok" if r.ok else f"{len(r.problems)} problem(s)"
            src = f" [{r.source}]" if r.source else ""
            owner = f" ({r.declared_by})" if r.declared_by else ""
            out.append(f"  {r.name:<28} {r.namespace:<22} {r.chart:<34} {r.objects:>4} objects  {status}{src}{owner}")
            out.extend(f"      - {n}" for n in r.notes)
            out.extend(f"      ! {p.line()}" for p in r.problems)
        out.append(f"  {env.env}: {env.problems} problem(s), {env.objects} objects rendered, "
                   f"{env.validated} validated by the API server")
    total = sum(e.problems for e in reports)
    out.append(f"check: {total} problem(s) in {len(reports)} environment(s)")
    return "\n".join(out) + "\n"


def format_markdown(reports: list[EnvironmentReport]) -> str:
    """Markdown for a pull-request comment: problems first, then a table per environment."""
    total = sum(e.problems for e in reports)
    lines = [f"## kfstack check: {'✅ no problems' if total == 0 else f'❌ {total} problem(s)'}", ""]
    for env in reports:
        lines.append(f"### `{env.env}`: {env.problems} problem(s), {env.objects} objects, "
                     f"{env.validated} validated ({env.server or 'render only'})")
        lines.append("")
        bad = [r for r in env.releases if not r.ok]
        for r in bad:
            for p in r.problems:
                obj = f" `{p.obj}`" if p.obj else ""
                lines.append(f"- **{r.name}** ({r.chart}) {p.category.value}{obj}: {p.message}")
        if bad:
            lines.append("")
        lines.append("<details><summary>Releases</summary>")
        lines.append("")
        lines.append("| release | namespace | chart | declared by | objects | result |")
        lines.append("|---|---|---|---|---:|---|")
        for r in env.releases:
            lines.append(f"| {r.name} | {r.namespace} | {r.chart} | {r.declared_by} | {r.objects} | "
                         f"{'ok' if r.ok else str(len(r.problems)) + ' problem(s)'} |")
        lines.append("")
        lines.append("</details>")
        lines.append("")
    return "\n".join(lines)
