"""The one port every delivery channel implements, and the message and result types
that cross it."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Protocol
from uuid import UUID

_KIND = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""Kinds name files and MQTT topics, so they stay plain."""


class Outcome(Enum):
    """What became of one message on one channel."""

    DELIVERED = "delivered"
    RETRY_LATER = "retry_later"
    """A passing condition (receiver down, busy, timed out): try again after a back-off."""
    REJECTED = "rejected"
    """The receiver refused this message as it is: retrying cannot help, so it belongs
    in the dead letters with the reason, and the others keep flowing."""


@dataclass(frozen=True)
class OutboundMessage:
    """One business fact or notification to deliver.

    ``key`` is the idempotency key: the same UUID on every channel and every retry, and
    inside the payload envelope, so a receiver books each message once. Messages sharing
    an ``ordering_key`` (an order number, an asset) are delivered in the given order;
    ``recipients`` addresses people on channels that have them (e-mail)."""

    key: UUID
    kind: str
    payload: Mapping[str, Any]
    created: datetime
    ordering_key: str | None = None
    recipients: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if _KIND.fullmatch(self.kind) is None:
            raise ValueError(f"kind must be letters, digits, '_' or '-', got {self.kind!r}")
        if self.created.utcoffset() is None:
            raise ValueError(f"created must be timezone-aware, got {self.created!r}")

    def envelope(self) -> dict[str, Any]:
        """The JSON object every JSON channel sends: the key travels as ``id``."""
        return {
            "id": str(self.key),
            "kind": self.kind,
            "created": self.created.isoformat(),
            "ordering_key": self.ordering_key,
            "payload": dict(self.payload),
        }

    def json_bytes(self) -> bytes:
        """The envelope as compact UTF-8 JSON with sorted keys (stable bytes per message).
        A payload that is not plain JSON (a datetime, NaN) is a ValueError naming it."""
        try:
            text = json.dumps(
                self.envelope(),
                sort_keys=True,
                separators=(",", ":"),
                ensure_ascii=False,
                allow_nan=False,
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"the {self.kind} payload is not plain JSON: {exc}") from exc
        return text.encode()


@dataclass(frozen=True)
class DeliveryResult:
    """The outcome for the message with ``key``; ``reason`` says why when it was not
    delivered; ``retry_after_s`` is the receiver's own wish (HTTP Retry-After)."""

    key: UUID
    outcome: Outcome
    reason: str = ""
    retry_after_s: float | None = None

    @classmethod
    def delivered(cls, key: UUID) -> DeliveryResult:
        return cls(key, Outcome.DELIVERED)

    @classmethod
    def retry_later(
        cls, key: UUID, reason: str, *, retry_after_s: float | None = None
    ) -> DeliveryResult:
        return cls(key, Outcome.RETRY_LATER, reason, retry_after_s)

    @classmethod
    def rejected(cls, key: UUID, reason: str) -> DeliveryResult:
        return cls(key, Outcome.REJECTED, reason)


class Channel(Protocol):
    """A way out of PlantOS. ``deliver`` returns one result per message, in the order
    given, and never raises for a delivery problem (that is a result); ``close`` frees
    connections and may be followed by further ``deliver`` calls, which reconnect."""

    @property
    def name(self) -> str: ...

    async def deliver(self, messages: Sequence[OutboundMessage]) -> list[DeliveryResult]: ...

    async def close(self) -> None: ...
