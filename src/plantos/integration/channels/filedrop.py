"""File drop: each message becomes one file in a folder an ERP (or its middleware) polls.

Files appear atomically: the content is written to a hidden temporary name in the same
folder (``.<name>.tmp-<random>``), flushed to disk, then renamed, and the folder entry
itself is synced. A reader never sees half a file; a poller should skip names that
start with a dot. The file name carries the idempotency key,
``<kind>-<key>.<jsonl|csv|xml>``, so delivering a message again replaces its file
instead of adding a second one.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from plantos.core.errors import PlantOSError
from plantos.integration.channels.base import DeliveryResult, OutboundMessage
from plantos.integration.channels.ordering import OrderGate
from plantos.integration.channels.renderers import Renderer


class FileDropChannel:
    """Writes each message into ``folder`` through ``renderer``."""

    def __init__(self, folder: Path, *, renderer: Renderer, name: str = "file-drop") -> None:
        self._folder = Path(folder)
        self._renderer = renderer
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def file_name(self, message: OutboundMessage) -> str:
        """Where ``message`` lands (stable across redeliveries)."""
        return f"{message.kind}-{message.key}.{self._renderer.extension}"

    async def deliver(self, messages: Sequence[OutboundMessage]) -> list[DeliveryResult]:
        return await asyncio.to_thread(self._deliver_all, list(messages))

    async def close(self) -> None:
        """Nothing to close: each delivery opens and closes its own files."""

    def _deliver_all(self, messages: list[OutboundMessage]) -> list[DeliveryResult]:
        gate = OrderGate()
        results = []
        for message in messages:
            result = gate.held(message) or self._deliver_one(message)
            gate.record(message, result)
            results.append(result)
        return results

    def _deliver_one(self, message: OutboundMessage) -> DeliveryResult:
        try:
            content = self._renderer.render(message)
        except (ValueError, TypeError, PlantOSError) as exc:
            reason = f"cannot render as {self._renderer.extension}: {exc}"
            return DeliveryResult.rejected(message.key, reason)
        try:
            write_atomically(self._folder / self.file_name(message), content)
        except OSError as exc:
            reason = f"cannot write into {self._folder}: {exc}"
            return DeliveryResult.retry_later(message.key, reason)
        return DeliveryResult.delivered(message.key)


def write_atomically(path: Path, content: bytes) -> None:
    """Put ``content`` at ``path`` so that readers see the old file or the whole new
    one, never a part, and the result survives a power cut once this returns."""
    temporary = path.with_name(f".{path.name}.tmp-{secrets.token_hex(6)}")
    try:
        with open(temporary, "xb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
