"""The live state: last value, timestamp and quality of every tag."""

from plantos.live.state import LiveState, LiveValue

__all__ = ["LiveState", "LiveValue"]
