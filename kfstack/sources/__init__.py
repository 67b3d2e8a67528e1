"""Pinned upstream sources: ``sources.lock``, chart resolution per source mode, vendoring
(:mod:`.vendor`) and kustomize render-and-split (:mod:`.kustomize`); see docs/sources.md.

Importing this package does not import cdktf.
"""

from kfstack.sources.charts import ChartRef, ChartResolver, ChartSource, SourceError
from kfstack.sources.lock import ChartPin, KustomizePin, RemotePin, SourcesLock, load_lock

__all__ = ["ChartRef", "ChartSource", "ChartResolver", "SourceError", "ChartPin", "KustomizePin", "RemotePin",
           "SourcesLock", "load_lock"]
