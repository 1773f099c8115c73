"""Properties over generated records: whatever valid report or order PlantOS holds, the
document it writes validates against MESA's XSD, and a schedule read back is the
schedule written."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from uuid import UUID

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from plantos.integration.erp.b2mml import (
    MaterialQuantity,
    MessageKind,
    PerformanceReport,
    ScheduledOperation,
    ScheduledOrder,
    Version,
    decode_schedule,
    encode_performance,
    encode_schedule,
)
from plantos.integration.erp.b2mml.validate import schema_path

NAMES = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp", "Zs")),
    min_size=1,
    max_size=20,
)
AMOUNTS = st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False)
TIMES = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1),
    timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=-5, minutes=-30))]),
)  # fmt: skip
KEYS = st.uuids().map(lambda u: UUID(str(u)))
FIXTURE_OK = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@cache
def schema(folder: Path, version: Version, kind: MessageKind) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(schema_path(folder, version, kind))))


@st.composite
def reports(draw: st.DrawFn) -> PerformanceReport:
    start, end = sorted([draw(TIMES), draw(TIMES)])
    return PerformanceReport(
        order_id=draw(NAMES), product=draw(NAMES), operation=draw(NAMES), shift=draw(NAMES),
        good=draw(AMOUNTS), scrap=draw(AMOUNTS), unit=draw(NAMES), start=start, end=end,
        idempotency_key=draw(KEYS), final=draw(st.booleans()),
        equipment=draw(st.none() | NAMES),
        consumed=tuple(draw(st.lists(
            st.builds(MaterialQuantity, NAMES, AMOUNTS, NAMES, st.none() | NAMES), max_size=3
        ))),
    )  # fmt: skip


@st.composite
def orders(draw: st.DrawFn) -> ScheduledOrder:
    def window() -> tuple[dt.datetime | None, dt.datetime | None]:
        start, end = sorted([draw(TIMES), draw(TIMES)])
        return (draw(st.none() | st.just(start)), draw(st.none() | st.just(end)))

    release, due = window()
    operations = []
    for _ in range(draw(st.integers(0, 3))):
        earliest, latest = window()
        operations.append(ScheduledOperation(
            draw(NAMES), draw(st.none() | NAMES), earliest, latest, draw(st.none() | AMOUNTS)
        ))  # fmt: skip
    return ScheduledOrder(
        erp_order_id=draw(NAMES), product=draw(NAMES), quantity=draw(AMOUNTS), unit=draw(NAMES),
        release=release, due=due, priority=draw(st.none() | st.integers(-1000, 1000)),
        operations=tuple(operations), cancelled=draw(st.booleans()),
    )  # fmt: skip


@FIXTURE_OK
@given(st.lists(reports(), min_size=1, max_size=3), st.sampled_from(list(Version)), KEYS)
def test_any_performance_document_validates(
    shared_data: Path, batch: list[PerformanceReport], version: Version, document_id: UUID
) -> None:
    document = encode_performance(
        batch, version=version, sender="plantos", created=batch[0].end, document_id=document_id
    )
    xsd = schema(shared_data / "b2mml", version, MessageKind.PERFORMANCE)
    assert xsd.validate(etree.fromstring(document)), xsd.error_log


def _utc(order: ScheduledOrder) -> ScheduledOrder:
    """What a reader gets back: every time in UTC (documents carry UTC)."""

    def utc(value: dt.datetime | None) -> dt.datetime | None:
        return None if value is None else value.astimezone(dt.UTC)

    return ScheduledOrder(
        order.erp_order_id, order.product, order.quantity, order.unit, utc(order.release),
        utc(order.due), order.priority,
        tuple(ScheduledOperation(o.operation, o.equipment, utc(o.earliest_start),
                                 utc(o.latest_end), o.duration_s) for o in order.operations),
        order.cancelled,
    )  # fmt: skip


@FIXTURE_OK
@given(
    st.lists(orders(), min_size=1, max_size=3, unique_by=lambda o: o.erp_order_id),
    st.sampled_from(list(Version)),
    KEYS,
)
def test_any_schedule_validates_and_reads_back_unchanged(
    shared_data: Path, batch: list[ScheduledOrder], version: Version, document_id: UUID
) -> None:
    created = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    document = encode_schedule(
        batch, version=version, sender="plantos", created=created, document_id=document_id
    )
    xsd = schema(shared_data / "b2mml", version, MessageKind.SCHEDULE)
    assert xsd.validate(etree.fromstring(document)), xsd.error_log
    assert decode_schedule(document) == [_utc(o) for o in batch]
