"""Time series storage: every sample, bucketed aggregates, rollup tiers and retention."""

from plantos.historian.protocol import AGGREGATES, BucketResult, Historian, RawResult, Tier
from plantos.historian.url import open_historian

__all__ = ["AGGREGATES", "BucketResult", "Historian", "RawResult", "Tier", "open_historian"]
