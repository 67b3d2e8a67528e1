"""Building blocks shared by every component construct.

- :mod:`.refs`: small frozen dataclasses components pass to each other
  (:class:`ClusterHandle`, :class:`NamespaceRef`, :class:`IssuerRef`, ...).
- :mod:`.namespace`: :class:`Namespace`, a namespace with Pod Security labels.
- :mod:`.helm`: :class:`HelmChart`, one ``helm_release`` from a resolved chart.
"""

from kfstack.constructs.core.helm import HelmChart, render_values, values_at
from kfstack.constructs.core.namespace import Namespace
from kfstack.constructs.core.refs import ClusterHandle, GpuPoolRef, ImageMirror, IssuerRef, NamespaceRef

__all__ = [
    "ClusterHandle", "GpuPoolRef", "ImageMirror", "IssuerRef", "NamespaceRef",
    "Namespace", "HelmChart", "render_values", "values_at",
]
