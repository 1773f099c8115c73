"""How a message becomes the bytes of one dropped file: JSON lines, CSV or B2MML.

A renderer that cannot represent a message raises ``ValueError`` (or a PlantOS error)
naming what is wrong; the file drop turns that into a permanent rejection.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, TypeVar

from plantos.integration.channels.base import OutboundMessage
from plantos.integration.erp.b2mml import (
    MaintenanceOrder,
    MaintenanceReport,
    PerformanceReport,
    ScheduledOrder,
    Version,
    encode_maintenance_performance,
    encode_maintenance_schedule,
    encode_performance,
    encode_schedule,
)
from plantos.integration.erp.b2mml.payload import from_payload
from plantos.integration.erp.messages import ScheduleUpdate

R = TypeVar("R")


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


def _report(message: OutboundMessage, cls: type[R]) -> R:
    """The payload as ``cls``; a report's own key must be the message's."""
    report = from_payload(cls, message.payload)
    key = getattr(report, "idempotency_key", message.key)
    if key != message.key:
        raise ValueError(f"the payload's key {key} differs from the message's {message.key}")
    return report


def _performance(message: OutboundMessage, version: Version, sender: str) -> bytes:
    report = _report(message, PerformanceReport)
    return encode_performance([report], version=version, sender=sender, created=message.created)


def _schedule(message: OutboundMessage, version: Version, sender: str) -> bytes:
    order = _report(message, ScheduledOrder)
    return encode_schedule(
        [order], version=version, sender=sender, created=message.created, document_id=message.key
    )


def _plan(message: OutboundMessage, version: Version, sender: str) -> bytes:
    update = _report(message, ScheduleUpdate)
    return encode_schedule(
        update.orders, version=version, sender=sender, created=message.created,
        document_id=message.key,
    )  # fmt: skip


def _work_order(message: OutboundMessage, version: Version, sender: str) -> bytes:
    order = _report(message, MaintenanceOrder)
    return encode_maintenance_schedule(
        [order], version=version, sender=sender, created=message.created, document_id=message.key
    )


def _maintenance(message: OutboundMessage, version: Version, sender: str) -> bytes:
    report = _report(message, MaintenanceReport)
    return encode_maintenance_performance(
        [report], version=version, sender=sender, created=message.created
    )


B2MML_ENCODERS: Mapping[str, Encoder] = {
    "production_performance": _performance,
    "schedule_change": _schedule,
    "production_schedule": _plan,
    "maintenance_work_order": _work_order,
    "maintenance_report": _maintenance,
}
"""Message kinds with a B2MML form, each with the record its payload holds:
production_performance a PerformanceReport, schedule_change a ScheduledOrder,
production_schedule a ScheduleUpdate (every order a new plan changed),
maintenance_work_order a MaintenanceOrder, maintenance_report a MaintenanceReport."""


class B2mmlRenderer:
    """One B2MML document per message in the configured version, for the kinds in
    ``encoders`` (:data:`B2MML_ENCODERS` by default); the document's BODID is the
    message's idempotency key."""

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
        return encoder(message, self._version, self._sender)
