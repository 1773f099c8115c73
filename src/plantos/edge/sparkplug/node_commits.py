"""The edge node's side of the commit acknowledgement: which numbered batches the core has
committed, from the stream numbers it acknowledges per scope.

A batch published with stream number ``n`` becomes one or more messages per scope (the
node and each device), numbered ``n * STREAM_PARTS + part``. It is committed once every
scope's acknowledged number reaches its last part, and every batch sent before it is
committed too: :attr:`PendingCommits.committed_seq` only moves forward, in the order the
batches were sent, so a gateway may free its spool up to it.
"""

from __future__ import annotations

from plantos.edge.sparkplug.codec import STREAM_PARTS


class PendingCommits:
    """Batches sent and not yet acknowledged, oldest first."""

    def __init__(self, scopes: list[str | None]) -> None:
        self._scope_index = {scope: i for i, scope in enumerate(scopes)}
        self._waiting: dict[int, dict[int, int]] = {}
        self._acked: dict[int, int] = {}
        self.committed_seq: int | None = None
        """The newest batch committed with every batch sent before it (None: none yet)."""

    def sent(self, stream_seq: int, parts: dict[int, int]) -> None:
        """Batch ``stream_seq`` went out as ``parts[scope]`` messages per scope index."""
        self._waiting[stream_seq] = {
            scope: stream_seq * STREAM_PARTS + n - 1 for scope, n in parts.items()
        }
        self._advance()

    def acknowledged(self, committed: dict[str | None, int]) -> bool:
        """The core's committed numbers per scope (device id, None: the node); True when
        :attr:`committed_seq` moved."""
        for scope, n in committed.items():
            index = self._scope_index.get(scope)
            if index is not None and n > self._acked.get(index, -1):
                self._acked[index] = n
        return self._advance()

    def waiting(self) -> int:
        """Batches sent and not yet known to be committed."""
        return len(self._waiting)

    def _advance(self) -> bool:
        moved = False
        for seq in sorted(self._waiting):
            needs = self._waiting[seq]
            if any(self._acked.get(scope, -1) < n for scope, n in needs.items()):
                break
            del self._waiting[seq]
            if self.committed_seq is None or seq > self.committed_seq:
                self.committed_seq = seq
                moved = True
        return moved
