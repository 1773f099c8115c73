"""Samples handed from an MQTT client's network thread to the connector's ``collect()``.

paho delivers messages on its own thread while the supervisor collects on the
event loop, so the hand-over is a lock around a list of columnar chunks. It is
bounded: when the supervisor falls behind (a stalled historian, a burst after
an outage) the newest samples beyond ``max_samples`` are dropped and counted,
never silently lost and never growing memory without limit.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from plantos.core.batch import Exact, SampleBatch, split_values

Row = tuple[int, int, object, int]
"""One sample as ``(tag id, ts ns, value, quality code)``; the value is any Python value a
device sends (float, int of any size, bool, str, ``None``), see
:meth:`SampleBatch.from_values`."""


class SampleInbox:
    """A bounded, thread-safe queue of samples; :meth:`take` empties it as one batch."""

    def __init__(self, max_samples: int) -> None:
        if max_samples < 1:
            raise ValueError(f"max_samples must be at least 1, got {max_samples}")
        self.max_samples = max_samples
        #: Samples accepted since the start (taken or waiting).
        self.accepted = 0
        #: Samples refused because the inbox was full.
        self.dropped = 0
        self._lock = threading.Lock()
        self._chunks: list[SampleBatch] = []
        self._waiting = 0

    def put(
        self,
        tag_id: npt.NDArray[np.integer],
        ts: npt.NDArray[np.int64],
        value: npt.NDArray[np.float64],
        code: npt.NDArray[np.uint32],
        exact: Exact | None = None,
    ) -> int:
        """Queue the samples that fit, in order; returns how many did. ``exact`` is the
        batch's optional column of text and integers beyond 2**53 (see SampleBatch)."""
        n = len(tag_id)
        if not n:
            return 0
        with self._lock:
            room = max(self.max_samples - self._waiting, 0)
            if room < n:
                self.dropped += n - room
                n = room
            if n:
                ids = tag_id[:n].astype(np.int32, copy=False)
                kept = None if exact is None else exact[:n]
                self._chunks.append(SampleBatch(ids, ts[:n], value[:n], code[:n], kept))
                self._waiting += n
            self.accepted += n
        return n

    def put_rows(self, rows: Sequence[Row]) -> int:
        """:meth:`put` for samples decoded one by one (a JSON message): text and large
        integers keep their exact value."""
        if not rows:
            return 0
        tag_id, ts, values, code = zip(*rows, strict=True)
        value, exact = split_values(values)
        return self.put(
            np.array(tag_id, np.int32),
            np.array(ts, np.int64),
            value,
            np.array(code, np.uint32),
            exact,
        )

    def take(self) -> SampleBatch:
        """Every waiting sample, in the order put, as one batch (empty if none)."""
        with self._lock:
            chunks, self._chunks = self._chunks, []
            self._waiting = 0
        if not chunks:
            return SampleBatch.empty()
        return chunks[0] if len(chunks) == 1 else SampleBatch.concat(chunks)

    @property
    def waiting(self) -> int:
        """Samples put and not yet taken."""
        return self._waiting
