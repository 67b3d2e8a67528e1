"""Pinned upstream sources: ``sources.lock`` and chart resolution per source mode.

Importing this package does not import cdktf.
"""

from kfstack.sources.charts import ChartRef, ChartResolver, ChartSource, SourceError
from kfstack.sources.lock import ChartPin, SourcesLock, load_lock

__all__ = ["ChartRef", "ChartSource", "ChartResolver", "SourceError", "ChartPin", "SourcesLock", "load_lock"]
