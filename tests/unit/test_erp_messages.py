"""Outbox rows become the ERP's business messages: cumulative confirmations whose final
one carries the order's totals, status changes, plan changes and work orders, each with
the row's key; every B2MML document made from them validates against the XSDs."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from plantos.core.events import Event
from plantos.integration.channels.base import OutboundMessage
from plantos.integration.channels.renderers import B2mmlRenderer, CsvRenderer
from plantos.integration.erp.b2mml import MessageKind, Version, validate_document
from plantos.integration.erp.messages import Facts, UnmappableError, fold, to_erp
from plantos.mom.domain.events import (
    OrderProgressed,
    OrderReleased,
    OrderStateChanged,
    ScheduleChanged,
)
from plantos.mom.maintenance.events import WorkOrderOpened, WorkOrderUpdated

S = 1_000_000_000
T0 = 1_800_000_000 * S


def row(event: Event) -> OutboundMessage:
    """An outbox row as the unit of work writes it."""
    created = datetime.fromtimestamp(event.ts_ns / 1e9, tz=UTC)
    return OutboundMessage(
        uuid4(), event.kind, event.to_dict(), created, ordering_key=event.subject
    )


def progress(ts_s: int, good: int, scrap: int, *, order: str = "PO-1") -> OutboundMessage:
    return row(OrderProgressed(
        ts_ns=T0 + ts_s * S, subject=order, asset="press-1", operation=1, good=good,
        scrap=scrap, eta_ns=None,
    ))  # fmt: skip


def production() -> list[OutboundMessage]:
    return [
        row(OrderReleased(ts_ns=T0, subject="PO-1", product="bracket", quantity=5, due_ns=T0)),
        row(OrderStateChanged(ts_ns=T0, subject="PO-1", previous="released", state="running")),
        progress(60, 2, 1),
        progress(120, 5, 1),
        row(
            OrderStateChanged(
                ts_ns=T0 + 120 * S, subject="PO-1", previous="running", state="completed"
            )
        ),
        row(
            ScheduleChanged(
                ts_ns=T0 + 130 * S,
                subject="plant",
                trigger="order",
                plan_id=7,
                moved=(
                    {
                        "order": "PO-1",
                        "index": 1,
                        "old": {"asset": "press-1"},
                        "new": {"asset": "press-2"},
                    },
                ),
                etas={"PO-1": T0 + 900 * S},
            )
        ),
        row(
            WorkOrderOpened(
                ts_ns=T0 + 140 * S,
                subject="WO-1",
                asset="press-1",
                order_kind="corrective",
                priority=2,
                failure_mode="BRD",
            )
        ),
        row(
            WorkOrderUpdated(
                ts_ns=T0 + 150 * S,
                subject="WO-1",
                asset="press-1",
                change="state",
                state="approved",
                priority=2,
                by="ana",
            )
        ),
    ]


def mapped(rows: list[OutboundMessage]) -> list[OutboundMessage]:
    known: Mapping[str, Facts] = {}
    out = []
    for r in rows:
        out.append(to_erp(r, known=known, shift_of=lambda at: f"S{at.hour // 8 + 1}"))
        known = fold(known, r)
    return out


def test_each_row_becomes_its_business_message_with_the_rows_key() -> None:
    rows = production()
    messages = mapped(rows)
    assert [m.key for m in messages] == [r.key for r in rows]
    assert [m.kind for m in messages] == [
        "OrderReleased", "order_status", "production_performance", "production_performance",
        "production_performance", "production_schedule", "maintenance_work_order",
        "maintenance_work_order",
    ]  # fmt: skip
    assert all(m.payload.get("idempotency_key", str(m.key)) == str(m.key) for m in messages)
    assert messages[1].payload["state"] == "running"
    assert messages[5].payload["orders"][0]["operations"][0]["equipment"] == "press-2"
    assert messages[5].payload["orders"][0]["due"].startswith("2027-01-15T08:15")
    assert messages[7].payload["kind"] == "corrective"
    assert "approved" in messages[7].payload["description"]


def test_confirmations_are_cumulative_and_the_final_one_carries_the_order_totals() -> None:
    perf = [m.payload for m in mapped(production()) if m.kind == "production_performance"]
    assert [(p["good"], p["scrap"], p["final"]) for p in perf] == [
        (2.0, 1.0, False), (5.0, 1.0, False), (5.0, 1.0, True),
    ]  # fmt: skip
    assert {p["product"] for p in perf} == {"bracket"}
    assert perf[0]["start"] == perf[2]["start"] < perf[2]["end"]
    assert perf[2]["shift"].startswith("S") and perf[2]["equipment"] == "press-1"


def test_a_row_of_an_unknown_order_cannot_be_mapped() -> None:
    with pytest.raises(UnmappableError, match="PO-9"):
        to_erp(progress(60, 1, 0, order="PO-9"), known={})
    orphan = production()[-1]
    with pytest.raises(UnmappableError, match="WO-1"):
        to_erp(orphan, known={})


SCHEMA_KINDS: dict[str, MessageKind] = {
    "production_performance": MessageKind.PERFORMANCE,
    "production_schedule": MessageKind.SCHEDULE,
    "maintenance_work_order": MessageKind.MAINTENANCE_SCHEDULE,
}


@pytest.mark.parametrize("version", list(Version))
def test_every_b2mml_document_made_from_the_outbox_validates(
    shared_data: Path, version: Version
) -> None:
    renderer = B2mmlRenderer(version=version, sender="plantos-test")
    seen: dict[str, Any] = {}
    for message in mapped(production()):
        if message.kind in SCHEMA_KINDS:
            document = renderer.render(message)
            validate_document(
                document, schema_dir=shared_data / "b2mml", version=version,
                kind=SCHEMA_KINDS[message.kind],
            )  # fmt: skip
            assert str(message.key).encode() in document
            seen[message.kind] = True
    assert set(seen) == set(SCHEMA_KINDS)


def test_a_csv_drop_shows_the_final_confirmation_as_one_row() -> None:
    [final] = [m for m in mapped(production()) if m.payload.get("final")]
    text = CsvRenderer(["order_id", "good", "scrap", "final"]).render(final).decode()
    header, row = text.splitlines()
    assert header == "id,kind,created,order_id,good,scrap,final"
    assert row.endswith(",PO-1,5.0,1.0,true") and row.startswith(str(final.key))
