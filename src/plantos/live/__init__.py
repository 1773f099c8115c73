"""The live state: last value, timestamp and quality of every tag, and when a value is late."""

from plantos.live.reporting import Reporting, tag_reporting
from plantos.live.state import LiveState, LiveValue

__all__ = ["LiveState", "LiveValue", "Reporting", "tag_reporting"]
