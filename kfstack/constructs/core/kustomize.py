"""Releases of one rendered kustomize base: one ``helm_release`` per part, chained in install order."""

from __future__ import annotations

from typing import Sequence

from kfstack.cdk import Construct, ITerraformDependable

from kfstack.constructs.core.helm import HelmChart
from kfstack.constructs.core.refs import ClusterHandle, NamespaceRef
from kfstack.model import kustomize_part
from kfstack.sources.charts import ChartRef


def part_id(base: str, chart: str) -> str:
    """Stable construct id of one rendered part of kustomize base ``base``.

    The first CRD part is ``Crds``, the first other part ``Release``; later
    parts of a split carry their number (``Crds2``, ``Release3``), matching the
    chart names render-and-split writes (``<base>-crds``, ``<base>``,
    ``<base>-crds-2``, ``<base>-3``; see :func:`kfstack.model.kustomize_part`).

    Raises:
        ValueError: ``chart`` is not a part name of ``base``.
    """
    part = kustomize_part(base, chart)
    if part is None:
        raise ValueError(f"chart {chart!r} is not a rendered part of kustomize base {base!r}")
    kind, number = part
    return ("Crds" if kind == "crds" else "Release") + (str(int(number)) if number else "")


def kustomize_values(cluster: ClusterHandle) -> dict:
    """Values of a generated kustomize chart: ``{kfstack: {registry: <mirror host>, imagePullSecrets:
    [{name: <pull secret>}]}}`` (the latter only with a pull secret), or none without a mirror."""
    if cluster.mirror is None:
        return {}
    values: dict = {"registry": cluster.mirror.host}
    if cluster.mirror.pull_secrets:
        values["imagePullSecrets"] = cluster.mirror.pull_secrets
    return {"kfstack": values}


class KustomizeReleases(Construct):
    """The rendered parts of kustomize base ``base`` (``source.kustomize(base)``) as Helm releases.

    Parts are installed one after another in the order given (CRD parts
    first): each release ``depends_on`` the previous one, the first on
    ``depends_on``. Release names are the part names (``dex-crds``, ``dex``).

    Images: the generated charts template every image on the chart value
    ``kfstack.registry`` (:mod:`kfstack.sources.kustomize`); with a registry
    mirror (``cluster.mirror``) each release sets it to the mirror's host, so
    every image of the part is ``<host>/<upstream path>:<tag>``
    (:meth:`ImageMirror.reference`). Without one, values are empty and the
    parts render upstream's references.

    Example::

        dex = KustomizeReleases(self, "Dex", cluster=cluster, base="dex", charts=source.kustomize("dex"),
                                namespace=ns.ref, timeout_s=600, depends_on=[secret.resource])
        dex.last    # the helm_release consumers wait on

    Attributes:
        releases: the :class:`HelmChart` per part, in install order.
        last: the last ``helm_release`` (the whole base is installed once it is).

    Raises:
        ValueError: no parts, or a part name that does not belong to ``base``.
    """

    def __init__(self, scope: Construct, id_: str, *, cluster: ClusterHandle, base: str,
                 charts: Sequence[ChartRef], namespace: NamespaceRef, timeout_s: int,
                 depends_on: Sequence[ITerraformDependable] = ()) -> None:
        super().__init__(scope, id_)
        if not charts:
            raise ValueError(f"kustomize base {base!r} yielded no charts")
        self.releases: list[HelmChart] = []
        after: list[ITerraformDependable] = list(depends_on)
        values = kustomize_values(cluster)
        for chart in charts:
            release = HelmChart(self, part_id(base, chart.name), cluster=cluster, chart=chart,
                                release_name=chart.name, namespace=namespace, values=values,
                                timeout_s=timeout_s, depends_on=after)
            self.releases.append(release)
            after = [release.resource]
        self.last = self.releases[-1].resource
