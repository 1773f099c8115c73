"""The file drop into a real folder: one file per message named by its idempotency key
(a redelivery replaces it), JSON lines, CSV and B2MML that validates against MESA's
XSDs, nothing half-written, and a folder that is gone and comes back."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from lxml import etree

from plantos.integration.channels import DeliveryResult, OutboundMessage, Outcome
from plantos.integration.channels.filedrop import FileDropChannel, write_atomically
from plantos.integration.channels.renderers import (
    B2MML_ENCODERS,
    B2mmlRenderer,
    CsvRenderer,
    JsonLinesRenderer,
)
from plantos.integration.erp.b2mml import (
    LabourEntry,
    MaintenanceOrder,
    MaintenanceReport,
    MaterialQuantity,
    MessageKind,
    PerformanceReport,
    ScheduledOperation,
    ScheduledOrder,
    Version,
)
from plantos.integration.erp.b2mml.payload import from_payload, to_payload
from plantos.integration.erp.b2mml.validate import schema_path
from plantos.integration.erp.messages import ScheduleUpdate

pytestmark = pytest.mark.timeout(60)

CREATED = dt.datetime(2026, 3, 2, 14, 0, 5, tzinfo=dt.UTC)


def report_message(order: str = "4711", good: float = 118) -> OutboundMessage:
    key = uuid4()
    report = PerformanceReport(
        order_id=order, product="bracket-a", operation="op-10", shift="2026-03-02/early",
        good=good, scrap=2, unit="pcs", start=CREATED - dt.timedelta(hours=8), end=CREATED,
        idempotency_key=key, final=False, equipment="cnc-07",
    )  # fmt: skip
    return OutboundMessage(
        key, "production_performance", to_payload(report), CREATED, ordering_key=order
    )


def deliver(channel: FileDropChannel, batch: list[OutboundMessage]) -> list[DeliveryResult]:
    return asyncio.run(channel.deliver(batch))


def visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_json_lines_one_file_per_message_and_a_redelivery_replaces_it(tmp_path: Path) -> None:
    channel = FileDropChannel(tmp_path, renderer=JsonLinesRenderer())
    batch = [report_message("4711"), report_message("4712", good=7)]
    assert [r.outcome for r in deliver(channel, batch)] == [Outcome.DELIVERED] * 2
    assert [r.outcome for r in deliver(channel, batch)] == [Outcome.DELIVERED] * 2
    names = visible(tmp_path)
    assert names == sorted(f"production_performance-{m.key}.jsonl" for m in batch)
    line = (tmp_path / channel.file_name(batch[1])).read_text()
    assert line.endswith("\n") and line.count("\n") == 1
    envelope = json.loads(line)
    assert envelope["id"] == str(batch[1].key) == envelope["payload"]["idempotency_key"]
    assert envelope["payload"]["good"] == 7


def test_a_payload_that_is_not_json_is_rejected(tmp_path: Path) -> None:
    channel = FileDropChannel(tmp_path, renderer=JsonLinesRenderer())
    odd = OutboundMessage(uuid4(), "x", {"at": CREATED}, CREATED)
    [result] = deliver(channel, [odd])
    assert result.outcome is Outcome.REJECTED
    assert "not plain JSON" in result.reason
    assert visible(tmp_path) == []


def test_csv_has_a_header_and_one_row(tmp_path: Path) -> None:
    channel = FileDropChannel(
        tmp_path, renderer=CsvRenderer(["order_id", "good", "scrap", "unit", "final"])
    )
    message = report_message()
    deliver(channel, [message])
    text = (tmp_path / channel.file_name(message)).read_bytes().decode()
    assert text == (
        "id,kind,created,order_id,good,scrap,unit,final\r\n"
        f"{message.key},production_performance,2026-03-02T14:00:05+00:00,4711,118,2,pcs,false\r\n"
    )


def test_csv_without_a_configured_field_is_rejected(tmp_path: Path) -> None:
    channel = FileDropChannel(tmp_path, renderer=CsvRenderer(["order_id", "lot"]))
    [result] = deliver(channel, [report_message()])
    assert result.outcome is Outcome.REJECTED
    assert (
        result.reason == "cannot render as csv: the production_performance payload has no ['lot']"
    )
    assert visible(tmp_path) == []


def b2mml_message(kind: str) -> tuple[OutboundMessage, MessageKind]:
    key = uuid4()
    later = CREATED + dt.timedelta(hours=2)
    records: dict[str, tuple[object, MessageKind]] = {
        "production_performance": (
            from_payload(
                PerformanceReport, {**report_message().payload, "idempotency_key": str(key)}
            ),
            MessageKind.PERFORMANCE,
        ),
        "schedule_change": (
            ScheduledOrder("4711", "bracket-a", 120, "pcs", CREATED, later, 1,
                           (ScheduledOperation("op-10", "cnc-07", CREATED, later, 900),)),
            MessageKind.SCHEDULE,
        ),
        "production_schedule": (
            ScheduleUpdate(key, 7, "machine_down", (
                ScheduledOrder("4711", "bracket-a", 120, "pcs", due=later,
                               operations=(ScheduledOperation("2", "cnc-08"),)),
                ScheduledOrder("4712", "bracket-b", 40, "pcs", due=later),
            )),
            MessageKind.SCHEDULE,
        ),
        "maintenance_work_order": (
            MaintenanceOrder("WO-42", "cnc-07", "predictive", 1, "bearing wear", "bearing-wear",
                             CREATED, later),
            MessageKind.MAINTENANCE_SCHEDULE,
        ),
        "maintenance_report": (
            MaintenanceReport("WO-42", "cnc-07", "predictive", CREATED, later, key,
                              labour=(LabourEntry("m.keller", 2),),
                              parts=(MaterialQuantity("bearing-6204", 2, "pcs"),)),
            MessageKind.MAINTENANCE_PERFORMANCE,
        ),
    }  # fmt: skip
    record, message_kind = records[kind]
    return OutboundMessage(key, kind, to_payload(record), CREATED), message_kind


@pytest.mark.parametrize("kind", sorted(B2MML_ENCODERS))
@pytest.mark.parametrize("version", list(Version))
def test_b2mml_files_validate_against_the_official_xsd(
    tmp_path: Path, shared_data: Path, version: Version, kind: str
) -> None:
    channel = FileDropChannel(tmp_path, renderer=B2mmlRenderer(version=version, sender="plant-a"))
    message, message_kind = b2mml_message(kind)
    [result] = deliver(channel, [message])
    assert result.outcome is Outcome.DELIVERED, result.reason
    path = tmp_path / f"{kind}-{message.key}.xml"
    schema = etree.XMLSchema(
        etree.parse(str(schema_path(shared_data / "b2mml", version, message_kind)))
    )
    document = etree.parse(str(path))
    assert schema.validate(document), schema.error_log
    assert f"<BODID>{message.key}</BODID>" in path.read_text()


def test_a_report_whose_key_differs_from_the_message_is_rejected(tmp_path: Path) -> None:
    channel = FileDropChannel(tmp_path, renderer=B2mmlRenderer(version=Version.V0600, sender="p"))
    message = report_message()
    other = OutboundMessage(uuid4(), message.kind, message.payload, CREATED)
    [result] = deliver(channel, [other])
    assert result.outcome is Outcome.REJECTED
    assert "differs from the message's" in result.reason


def test_b2mml_refuses_a_kind_without_a_b2mml_form(tmp_path: Path) -> None:
    channel = FileDropChannel(tmp_path, renderer=B2mmlRenderer(version=Version.V0600, sender="p"))
    other = OutboundMessage(uuid4(), "quality_hold", {"lot": "L-1"}, CREATED)
    broken = OutboundMessage(uuid4(), "production_performance", {"good": 1}, CREATED)
    results = deliver(channel, [other, broken])
    assert [r.outcome for r in results] == [Outcome.REJECTED, Outcome.REJECTED]
    assert "no B2MML form for 'quality_hold'" in results[0].reason
    assert "PerformanceReport: order_id is missing" in results[1].reason


def test_a_missing_folder_is_retried_and_works_once_it_is_back(tmp_path: Path) -> None:
    folder = tmp_path / "erp-inbox"
    channel = FileDropChannel(folder, renderer=JsonLinesRenderer())
    batch = [report_message("4711"), report_message("4711"), report_message("4712")]
    gone = deliver(channel, batch)
    assert [r.outcome for r in gone] == [Outcome.RETRY_LATER] * 3
    assert "cannot write into" in gone[0].reason
    assert gone[1].reason.startswith(f"held behind {batch[0].key}")
    folder.mkdir()
    assert [r.outcome for r in deliver(channel, batch)] == [Outcome.DELIVERED] * 3
    assert len(visible(folder)) == 3


def test_a_failed_write_leaves_no_partial_or_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()  # a directory where the file should go: the rename fails
    (target / "keep").write_text("x")
    with pytest.raises(OSError):
        write_atomically(target, b"content")
    assert visible(tmp_path) == ["taken"]


def test_the_file_name_is_stable_for_a_key(tmp_path: Path) -> None:
    channel = FileDropChannel(tmp_path, renderer=B2mmlRenderer(version=Version.V0701, sender="p"))
    message = OutboundMessage(UUID(int=5), "production_performance", {}, CREATED)
    assert channel.file_name(message) == (
        "production_performance-00000000-0000-0000-0000-000000000005.xml"
    )
