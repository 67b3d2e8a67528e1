"""One Helm release from a resolved chart (remote repository or local asset)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import yaml
from kfstack.cdk import (
    AssetType, Construct, Fn, ITerraformDependable, Release, ReleaseSetSensitive, TerraformAsset, Token,
)

from kfstack.constructs.core.refs import ClusterHandle, NamespaceRef
from kfstack.sources.charts import ChartRef


def _has_token(value: Any) -> bool:
    if isinstance(value, str):
        return Token.is_unresolved(value)
    if isinstance(value, Mapping):
        return any(_has_token(k) or _has_token(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_token(v) for v in value)
    return False


def values_at(values: dict[str, Any], path: Sequence[str]) -> dict[str, Any]:
    """The nested mapping at ``path`` inside chart values, created on the way (like ``mkdir -p``)."""
    node = values
    for key in path:
        node = node.setdefault(key, {})
    return node


def render_values(values: Mapping[str, Any]) -> str:
    """Chart values as one YAML document for ``helm_release.values``.

    Plain data becomes literal YAML with sorted keys (readable in the JSON and
    in plans, deterministic). Values holding tokens (another resource's
    attributes) go through Terraform's ``yamlencode`` instead, never through
    Python string formatting of a token.
    """
    if _has_token(values):
        return Fn.yamlencode(values)
    return yaml.safe_dump(dict(values), sort_keys=True, default_flow_style=False)


class HelmChart(Construct):
    """A ``helm_release`` installing ``chart`` into ``namespace``.

    Defaults chosen for a first apply that converges without retries:
    ``wait`` for resources to become ready, ``timeout`` from the component's
    ``install_timeout_s``, ``cleanup_on_fail`` so an interrupted or failed
    install leaves no half release, ``max_history`` 5 to bound release Secrets.

    ``sensitive_values`` maps chart value paths (``credentials.root.password``)
    to Terraform references; they become ``set_sensitive`` entries, so the
    secret stays in state and out of the synthesized JSON and plan output.

    Attributes:
        resource: the ``helm_release`` (construct id ``Resource``).
    """

    def __init__(self, scope: Construct, id_: str, *, cluster: ClusterHandle, chart: ChartRef,
                 release_name: str, namespace: NamespaceRef, values: Mapping[str, Any],
                 timeout_s: int, depends_on: Sequence[ITerraformDependable] = (),
                 sensitive_values: Mapping[str, str] | None = None) -> None:
        super().__init__(scope, id_)
        if chart.local_path is not None:
            asset_type = AssetType.DIRECTORY if chart.local_path.is_dir() else AssetType.FILE
            asset = TerraformAsset(self, "Chart", path=str(chart.local_path), type=asset_type)
            chart_args: dict[str, str] = {"chart": asset.path}
        else:
            chart_args = chart.release_args()
        deps = [*namespace.ready, *depends_on]
        # Secrets reach the chart as helm_release.set_sensitive entries whose value is a
        # Terraform reference (e.g. a random_password result): never a literal in the JSON.
        sensitive = [ReleaseSetSensitive(name=k, value=v) for k, v in sorted((sensitive_values or {}).items())]
        self.resource = Release(
            self, "Resource",
            provider=cluster.helm,
            name=release_name,
            namespace=namespace.name,
            create_namespace=False,
            wait=True,
            timeout=timeout_s,
            cleanup_on_fail=True,
            max_history=5,
            values=[render_values(values)],
            depends_on=deps,
            set_sensitive=sensitive or None,
            **chart_args,
        )
