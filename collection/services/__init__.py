"""Services of the collections app (writes; reads are in ``collection.selectors``)."""

from .close import collection_close_phase
from .snapshot import collection_snapshot
from .strategies import bucket_for, classification_for, step_for, strategy_publish, strategy_version_for

__all__ = ["bucket_for", "classification_for", "collection_close_phase", "collection_snapshot", "step_for",
           "strategy_publish", "strategy_version_for"]
