"""Acknowledging MQTT messages to the broker only once their samples are committed.

With ``ack_after_commit`` the JSON connector holds back the PUBACK of every QoS 1/2
message (paho's manual acknowledgement) and records its message id next to the samples
it gave. A collected batch carries an acknowledgement (:mod:`plantos.bus.ack`); when the
historian writer calls it, the message ids are acknowledged to the broker, in the order
the messages arrived (as MQTT asks), whatever order the batches are acknowledged in. A
core that dies before that leaves the messages unacknowledged in its persistent session,
and the broker delivers them again when it reconnects.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from plantos.bus.ack import Ack

SendAck = Callable[[int, int], object]
"""Acknowledge message ``mid`` received at QoS ``qos`` (paho's ``Client.ack``)."""


class PendingAcks:
    """Message ids waiting for their batch's commit, released in arrival order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[tuple[int, int]] = []
        self._tickets: dict[int, tuple[SendAck, list[tuple[int, int]]]] = {}
        self._done: set[int] = set()
        self._next = 0
        self._front = 0
        self.acknowledged = 0

    def received(self, mid: int, qos: int) -> None:
        """A message arrived (paho's thread); its samples are in the buffer already."""
        if qos > 0:
            with self._lock:
                self._received.append((mid, qos))

    def ticket(self, send: SendAck) -> Ack:
        """Every message received since the last ticket, acknowledged through ``send``
        once the returned acknowledgement (and every earlier one) is called."""
        with self._lock:
            number = self._next
            self._next += 1
            self._tickets[number] = (send, self._received)
            self._received = []
        return lambda: self._complete(number)

    def waiting(self) -> int:
        with self._lock:
            return len(self._received) + sum(len(m) for _s, m in self._tickets.values())

    def forget(self) -> None:
        """The session these ids belong to is gone; the broker sends them again."""
        with self._lock:
            self._received = []
            self._tickets.clear()
            self._done.clear()
            self._front = self._next

    def _complete(self, number: int) -> None:
        release: list[tuple[SendAck, list[tuple[int, int]]]] = []
        with self._lock:
            if number < self._front or number in self._done or number not in self._tickets:
                return
            self._done.add(number)
            while self._front in self._done:
                self._done.discard(self._front)
                release.append(self._tickets.pop(self._front))
                self._front += 1
        for send, mids in release:
            for mid, qos in mids:
                send(mid, qos)
            self.acknowledged += len(mids)
