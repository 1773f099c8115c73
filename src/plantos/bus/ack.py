"""Commit acknowledgements: how a source hears that the historian has durably stored a batch.

A source that can send again what it sent (an edge gateway's spool, an MQTT session
that redelivers what was not acknowledged) must not forget anything before the core
has *committed* it. It hands its batch to the bus as an :class:`AckedBatch`, a
:class:`SampleBatch` carrying a callback; the historian writer calls :func:`acknowledge`
on every batch of a commit group once that commit returned (or once the batch is kept
elsewhere durably, such as a dead-letter store). Every other consumer sees an ordinary
batch and ignores the callback.

The callback is the same idea as a JetStream message's ``ack()``: with NATS as the bus,
the subscription hands out batches whose ``ack`` acknowledges the JetStream message of a
durable consumer, so the writer code does not change.

Rules for callers: an acknowledgement may be called from the event loop only, at most
once per batch, and in any order (a source that needs order, like the Sparkplug host,
restores it itself). A batch that is never acknowledged is sent again by its source
after a restart, so losing an acknowledgement costs a replay, never data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from plantos.core.batch import SampleBatch

Ack = Callable[[], None]


@dataclass(frozen=True, slots=True)
class AckedBatch(SampleBatch):
    """A batch whose source waits to hear it is committed: call :attr:`ack` then."""

    ack: Ack | None = None


def with_ack(batch: SampleBatch, ack: Ack | None) -> SampleBatch:
    """``batch`` carrying ``ack`` (the batch itself when there is no callback); used when a
    stage rebuilds a batch (the ingest gate filters it) and must keep its acknowledgement."""
    if ack is None:
        return batch
    return AckedBatch(batch.tag_id, batch.ts, batch.value, batch.quality, batch.exact, ack)


def ack_of(message: object) -> Ack | None:
    """The acknowledgement a message carries, if any."""
    return message.ack if isinstance(message, AckedBatch) else None


def acknowledge(messages: Iterable[object]) -> None:
    """Call the acknowledgement of every message that carries one, in order."""
    for message in messages:
        ack = ack_of(message)
        if ack is not None:
            ack()
