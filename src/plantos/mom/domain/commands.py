"""What callers ask of the operations domain, as plain values."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NewOrder:
    """Release an order for ``quantity`` of ``product`` due at ``due_ns``.

    ``release_ns`` is the earliest start (now when ``None``); ``priority`` weighs its
    lateness in the schedule (higher is more important); ``counting`` overrides the
    product's and the asset's counting source."""

    id: str
    product: str
    quantity: int
    due_ns: int
    release_ns: int | None = None
    priority: int = 1
    counting: str | None = None
