"""How a message becomes the bytes of one dropped file: JSON lines, CSV or B2MML.

A renderer that cannot represent a message raises ``ValueError`` (or a PlantOS error)
naming what is wrong; the file drop turns that into a permanent rejection.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from plantos.integration.channels.base import OutboundMessage
from plantos.integration.erp.b2mml import PerformanceReport, Version, encode_performance


class Renderer(Protocol):
    """Turns one message into file content; ``extension`` names the file type."""

    @property
    def extension(self) -> str: ...

    def render(self, message: OutboundMessage) -> bytes: ...


class JsonLinesRenderer:
    """One line of JSON: the message envelope (``id``, ``kind``, ``created``,
    ``ordering_key``, ``payload``), ending in a newline, so files concatenate."""

    extension = "jsonl"

    def render(self, message: OutboundMessage) -> bytes:
        return message.json_bytes() + b"\n"


class CsvRenderer:
    """A header and one row: ``id``, ``kind``, ``created``, then the payload fields
    named in ``columns`` (nested values as JSON). A missing field is an error, so a
    spreadsheet never silently shows an empty quantity."""

    extension = "csv"

    def __init__(self, columns: Sequence[str]) -> None:
        if not columns:
            raise ValueError("a CSV file drop needs at least one payload column")
        self._columns = list(columns)

    def render(self, message: OutboundMessage) -> bytes:
        missing = [c for c in self._columns if c not in message.payload]
        if missing:
            raise ValueError(f"the {message.kind} payload has no {missing}")
        out = io.StringIO(newline="")
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(["id", "kind", "created", *self._columns])
        writer.writerow(
            [str(message.key), message.kind, message.created.isoformat()]
            + [_cell(message.payload[c]) for c in self._columns]
        )
        return out.getvalue().encode()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str | int | float | bool):
        return str(value).lower() if isinstance(value, bool) else str(value)
    return json.dumps(value, sort_keys=True)


Encoder = Callable[[OutboundMessage, Version, str], bytes]


def _performance(message: OutboundMessage, version: Version, sender: str) -> bytes:
    report = PerformanceReport.from_payload(dict(message.payload))
    if report.idempotency_key != message.key:
        raise ValueError(
            f"the report's key {report.idempotency_key} differs from the message's {message.key}"
        )
    return encode_performance([report], version=version, sender=sender, created=message.created)


B2MML_ENCODERS: Mapping[str, Encoder] = {"production_performance": _performance}
"""Message kinds with a B2MML form, and how each is encoded."""


class B2mmlRenderer:
    """One B2MML document per message in the configured version, for the kinds in
    ``encoders`` (production performance by default)."""

    extension = "xml"

    def __init__(
        self,
        *,
        version: Version,
        sender: str,
        encoders: Mapping[str, Encoder] = B2MML_ENCODERS,
    ) -> None:
        self._version = version
        self._sender = sender
        self._encoders = encoders

    def render(self, message: OutboundMessage) -> bytes:
        encoder = self._encoders.get(message.kind)
        if encoder is None:
            raise ValueError(f"no B2MML form for {message.kind!r}; known: {sorted(self._encoders)}")
        try:
            return encoder(message, self._version, self._sender)
        except KeyError as exc:
            raise ValueError(f"the {message.kind} payload has no {exc.args[0]!r}") from exc
