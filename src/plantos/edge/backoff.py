"""The back-off rule of every link; it lives in :mod:`plantos.core.backoff`."""

from plantos.core.backoff import backoff_delay

__all__ = ["backoff_delay"]
