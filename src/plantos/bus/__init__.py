"""Publish/subscribe of sample batches and events between layers."""

from plantos.bus.memory import MemoryBus, Overflow, Subscription
from plantos.bus.protocol import Bus, Message

__all__ = ["Bus", "MemoryBus", "Message", "Overflow", "Subscription"]
