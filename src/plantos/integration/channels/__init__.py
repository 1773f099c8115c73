"""Delivery channels: how a business fact or a notification leaves PlantOS (webhook,
file drop, e-mail, MQTT), each a small class behind the one :class:`Channel` protocol.

A channel delivers what it is given and says, per message, whether it arrived, should
be tried again later, or can never be delivered as it is. It keeps no queue and no
retry state: the outbox dispatcher owns both, using :mod:`.retry` for the timing.
"""

from plantos.integration.channels.base import (
    Channel,
    DeliveryResult,
    OutboundMessage,
    Outcome,
)

__all__ = ["Channel", "DeliveryResult", "OutboundMessage", "Outcome"]
