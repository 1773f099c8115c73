"""B2MML documents PlantOS writes: exact golden documents, and every message kind in
every version validating against MESA's official XSDs (read from the shared reference
data; those tests skip when it is absent)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from lxml import etree

from plantos.integration.erp.b2mml import (
    EquipmentRecord,
    LabourEntry,
    MaintenanceOrder,
    MaintenanceReport,
    MaterialQuantity,
    MessageKind,
    PerformanceReport,
    ScheduledOperation,
    ScheduledOrder,
    Version,
    encode_equipment,
    encode_maintenance_performance,
    encode_maintenance_schedule,
    encode_performance,
    encode_schedule,
    validate_document,
)
from plantos.integration.erp.b2mml.payload import from_payload, to_payload
from plantos.integration.erp.b2mml.schedule import duration
from plantos.integration.erp.b2mml.validate import schema_path
from plantos.integration.erp.b2mml.xml import number, timestamp
from plantos.integration.erp.errors import SchemaViolationError

KEY = UUID("5f0c4a52-8d1e-4c55-9a57-0d7f8f3c2b11")
DOC_ID = UUID("0b8e7a8e-2f7c-4d0e-8a43-3c1f6c9e5d20")
SENDER = "plantos-plant-a"


def t(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, 2, hour, minute, tzinfo=dt.UTC)


REPORT = PerformanceReport(
    order_id="4711",
    product="bracket-a",
    operation="op-10",
    shift="2026-03-02/early",
    good=118,
    scrap=3,
    unit="pcs",
    start=t(6),
    end=t(14),
    idempotency_key=KEY,
    final=True,
    equipment="cnc-07",
    consumed=(MaterialQuantity("steel-bar", 121.5, "kg", "L-88"),),
)
ORDER = ScheduledOrder(
    erp_order_id="4711",
    product="bracket-a",
    quantity=120,
    unit="pcs",
    release=t(6),
    due=t(20),
    priority=2,
    operations=(
        ScheduledOperation("op-10", "cnc-07", t(6), t(10), 1800),
        ScheduledOperation("op-20"),
    ),
)
WORK_ORDER = MaintenanceOrder(
    work_order_id="WO-2026-0042",
    asset="cnc-07",
    kind="predictive",
    priority=1,
    description="Spindle bearing wear: vibration in zone C, about 30 h to zone D",
    failure_mode="bearing-wear",
    earliest_start=t(22),
    latest_end=t(23, 30),
)
REPAIR = MaintenanceReport(
    work_order_id="WO-2026-0042",
    asset="cnc-07",
    kind="predictive",
    start=t(22),
    end=t(23, 10),
    idempotency_key=KEY,
    failure_mode="bearing-wear",
    cause="lubrication",
    remedy="replaced spindle bearing",
    labour=(LabourEntry("m.keller", 1.5), LabourEntry("a.roth", 0.75)),
    parts=(MaterialQuantity("bearing-6204", 2, "pcs", "B-311"),),
)
PLANT = EquipmentRecord(
    "plant-a",
    "Plant A",
    "Site",
    (
        EquipmentRecord(
            "line-1", "Line 1", "ProductionLine", (EquipmentRecord("cnc-07", "CNC 7", "WorkUnit"),)
        ),
    ),
)

GOLDEN_PERFORMANCE_V0600 = """<?xml version="1.0" encoding="UTF-8"?>
<SyncProductionPerformance xmlns="http://www.mesa.org/xml/B2MML-V0600" releaseID="6.0">
  <ApplicationArea>
    <Sender>
      <LogicalID>plantos-plant-a</LogicalID>
    </Sender>
    <CreationDateTime>2026-03-02T14:00:00Z</CreationDateTime>
    <BODID>5f0c4a52-8d1e-4c55-9a57-0d7f8f3c2b11</BODID>
  </ApplicationArea>
  <DataArea>
    <Sync/>
    <ProductionPerformance>
      <ID>5f0c4a52-8d1e-4c55-9a57-0d7f8f3c2b11</ID>
      <PublishedDate>2026-03-02T14:00:00Z</PublishedDate>
      <ProductionResponse>
        <ID>5f0c4a52-8d1e-4c55-9a57-0d7f8f3c2b11</ID>
        <ProductionRequestID>4711</ProductionRequestID>
        <StartTime>2026-03-02T06:00:00Z</StartTime>
        <EndTime>2026-03-02T14:00:00Z</EndTime>
        <SegmentResponse>
          <ID>op-10</ID>
          <ProcessSegmentID>op-10</ProcessSegmentID>
          <ActualStartTime>2026-03-02T06:00:00Z</ActualStartTime>
          <ActualEndTime>2026-03-02T14:00:00Z</ActualEndTime>
          <ProductionData>
            <ID>Shift</ID>
            <Value>
              <ValueString>2026-03-02/early</ValueString>
              <DataType>string</DataType>
            </Value>
          </ProductionData>
          <ProductionData>
            <ID>FinalConfirmation</ID>
            <Value>
              <ValueString>true</ValueString>
              <DataType>string</DataType>
            </Value>
          </ProductionData>
          <EquipmentActual>
            <EquipmentID>cnc-07</EquipmentID>
          </EquipmentActual>
          <MaterialActual>
            <MaterialDefinitionID>bracket-a</MaterialDefinitionID>
            <MaterialUse>Produced</MaterialUse>
            <Quantity>
              <QuantityString>118</QuantityString>
              <DataType>Amount</DataType>
              <UnitOfMeasure>pcs</UnitOfMeasure>
              <Key>Good</Key>
            </Quantity>
            <Quantity>
              <QuantityString>3</QuantityString>
              <DataType>Amount</DataType>
              <UnitOfMeasure>pcs</UnitOfMeasure>
              <Key>Scrap</Key>
            </Quantity>
          </MaterialActual>
          <MaterialActual>
            <MaterialDefinitionID>steel-bar</MaterialDefinitionID>
            <MaterialLotID>L-88</MaterialLotID>
            <MaterialUse>Consumed</MaterialUse>
            <Quantity>
              <QuantityString>121.5</QuantityString>
              <DataType>Amount</DataType>
              <UnitOfMeasure>kg</UnitOfMeasure>
            </Quantity>
          </MaterialActual>
          <SegmentState>Completed</SegmentState>
        </SegmentResponse>
        <ResponseState>Completed</ResponseState>
      </ProductionResponse>
    </ProductionPerformance>
  </DataArea>
</SyncProductionPerformance>
"""

GOLDEN_SCHEDULE_V0701 = """<?xml version="1.0" encoding="UTF-8"?>
<SyncOperationsSchedule xmlns="http://www.mesa.org/xml/B2MML" releaseID="7.01">
  <ApplicationArea>
    <Sender>
      <LogicalID>plantos-plant-a</LogicalID>
    </Sender>
    <CreationDateTime>2026-03-02T05:00:00Z</CreationDateTime>
    <BODID>0b8e7a8e-2f7c-4d0e-8a43-3c1f6c9e5d20</BODID>
  </ApplicationArea>
  <DataArea>
    <Sync/>
    <OperationsSchedule>
      <ID>0b8e7a8e-2f7c-4d0e-8a43-3c1f6c9e5d20</ID>
      <PublishedDate>2026-03-02T05:00:00Z</PublishedDate>
      <OperationsType>Production</OperationsType>
      <OperationsRequest>
        <ID>4711</ID>
        <StartTime>2026-03-02T06:00:00Z</StartTime>
        <EndTime>2026-03-02T20:00:00Z</EndTime>
        <OperationsType>Production</OperationsType>
        <Priority>2</Priority>
        <RequestState>Released</RequestState>
        <SegmentRequirement>
          <ID>4711</ID>
          <EarliestStartTime>2026-03-02T06:00:00Z</EarliestStartTime>
          <LatestEndTime>2026-03-02T20:00:00Z</LatestEndTime>
          <ProcessSegmentID>bracket-a</ProcessSegmentID>
          <OperationsDefinitionID>bracket-a</OperationsDefinitionID>
          <OperationsSegmentID>bracket-a</OperationsSegmentID>
          <MaterialRequirement>
            <ID>bracket-a-produced</ID>
            <MaterialDefinitionID>bracket-a</MaterialDefinitionID>
            <MaterialUse>Produced</MaterialUse>
            <Quantity>
              <QuantityString>120</QuantityString>
              <DataType>Amount</DataType>
              <UnitOfMeasure>pcs</UnitOfMeasure>
            </Quantity>
          </MaterialRequirement>
          <SegmentRequirementChild>
            <ID>op-10</ID>
            <EarliestStartTime>2026-03-02T06:00:00Z</EarliestStartTime>
            <LatestEndTime>2026-03-02T10:00:00Z</LatestEndTime>
            <ProcessSegmentID>op-10</ProcessSegmentID>
            <Duration>PT1800S</Duration>
            <OperationsDefinitionID>bracket-a</OperationsDefinitionID>
            <OperationsSegmentID>op-10</OperationsSegmentID>
            <EquipmentRequirement>
              <ID>cnc-07</ID>
              <EquipmentID>cnc-07</EquipmentID>
            </EquipmentRequirement>
          </SegmentRequirementChild>
          <SegmentRequirementChild>
            <ID>op-20</ID>
            <ProcessSegmentID>op-20</ProcessSegmentID>
            <OperationsDefinitionID>bracket-a</OperationsDefinitionID>
            <OperationsSegmentID>op-20</OperationsSegmentID>
          </SegmentRequirementChild>
        </SegmentRequirement>
      </OperationsRequest>
    </OperationsSchedule>
  </DataArea>
</SyncOperationsSchedule>
"""


def encode(kind: MessageKind, version: Version) -> bytes:
    common: dict[str, Any] = {"version": version, "sender": SENDER, "created": t(14)}
    if kind is MessageKind.PERFORMANCE:
        second = PerformanceReport(
            **{
                **REPORT.__dict__,
                "idempotency_key": DOC_ID,
                "final": False,
                "equipment": None,
                "consumed": (),
            }
        )
        return encode_performance([REPORT, second], document_id=DOC_ID, **common)
    if kind is MessageKind.SCHEDULE:
        cancelled = ScheduledOrder("4712", "bracket-b", 5, "pcs", cancelled=True)
        return encode_schedule([ORDER, cancelled], document_id=DOC_ID, **common)
    if kind is MessageKind.MAINTENANCE_SCHEDULE:
        return encode_maintenance_schedule([WORK_ORDER], document_id=DOC_ID, **common)
    if kind is MessageKind.MAINTENANCE_PERFORMANCE:
        progress = MaintenanceReport(**{**REPAIR.__dict__, "completed": False, "labour": ()})
        return encode_maintenance_performance([REPAIR, progress], document_id=DOC_ID, **common)
    return encode_equipment([PLANT], document_id=DOC_ID, **common)


def test_performance_v0600_is_exactly_the_golden_document() -> None:
    document = encode_performance([REPORT], version=Version.V0600, sender=SENDER, created=t(14))
    assert document.decode() == GOLDEN_PERFORMANCE_V0600


def test_schedule_v0701_is_exactly_the_golden_document() -> None:
    document = encode_schedule(
        [ORDER], version=Version.V0701, sender=SENDER, created=t(5), document_id=DOC_ID
    )
    assert document.decode() == GOLDEN_SCHEDULE_V0701


@pytest.mark.parametrize("version", list(Version))
@pytest.mark.parametrize("kind", list(MessageKind))
def test_every_document_validates_against_the_official_xsd(
    shared_data: Path, kind: MessageKind, version: Version
) -> None:
    schema_dir = shared_data / "b2mml"
    document = encode(kind, version)
    schema = etree.XMLSchema(etree.parse(str(schema_path(schema_dir, version, kind))))
    root = etree.fromstring(document)
    assert schema.validate(root), schema.error_log
    assert root.nsmap[None] == version.namespace
    validate_document(document, schema_dir=schema_dir, version=version, kind=kind)


def test_validation_rejects_a_document_missing_a_required_element(shared_data: Path) -> None:
    document = encode(MessageKind.PERFORMANCE, Version.V0701)
    broken = document.replace(b"<ID>op-10</ID>", b"", 1)
    with pytest.raises(SchemaViolationError) as caught:
        validate_document(
            broken,
            schema_dir=shared_data / "b2mml",
            version=Version.V0701,
            kind=MessageKind.PERFORMANCE,
        )
    assert caught.value.problems and caught.value.problems[0].startswith("line ")


def test_a_single_report_document_is_keyed_by_the_report() -> None:
    document = encode_performance([REPORT], version=Version.V0701, sender=SENDER, created=t(14))
    root = etree.fromstring(document)
    ns = {"b": Version.V0701.namespace}
    assert root.findtext("b:ApplicationArea/b:BODID", namespaces=ns) == str(KEY)
    response = root.find("b:DataArea/b:OperationsPerformance/b:OperationsResponse", ns)
    assert response is not None
    assert response.findtext("b:ID", namespaces=ns) == str(KEY)
    quantities = response.findall(".//b:MaterialActual/b:Quantity", ns)
    assert [
        (q.findtext("b:Key", namespaces=ns), q.findtext("b:QuantityString", namespaces=ns))
        for q in quantities
    ] == [("Good", "118"), ("Scrap", "3"), (None, "121.5")]


def test_several_reports_need_a_document_id() -> None:
    with pytest.raises(ValueError, match="need a document_id"):
        encode_performance([REPORT, REPORT], version=Version.V0600, sender=SENDER, created=t(1))
    with pytest.raises(ValueError, match="at least one"):
        encode_performance([], version=Version.V0600, sender=SENDER, created=t(1))


def test_value_forms() -> None:
    assert timestamp(dt.datetime(2026, 3, 2, 7, tzinfo=dt.timezone(dt.timedelta(hours=1)))) == (
        "2026-03-02T06:00:00Z"
    )
    assert number(12.0) == "12"
    assert number(0.1) == "0.1"
    assert number(1e-05) == "0.00001"
    assert number(1.5e20) == "150000000000000000000"
    assert duration(1e-05) == "PT0.00001S"
    assert duration(90) == "PT90S"
    assert duration(0.5) == "PT0.5S"


def test_version_parse_accepts_the_usual_spellings() -> None:
    assert Version.parse("v0600") is Version.V0600
    assert Version.parse("0701") is Version.V0701
    with pytest.raises(ValueError, match="V0600 and V0701"):
        Version.parse("V0401")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"good": -1}, "good must be a finite number >= 0"),
        ({"scrap": float("nan")}, "scrap must be a finite number"),
        ({"start": dt.datetime(2026, 3, 2, 6)}, "start must be timezone-aware"),
        ({"end": t(5)}, "is before start"),
        ({"order_id": " "}, "order_id must be a non-empty string"),
    ],
)
def test_a_report_refuses_impossible_values(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PerformanceReport(**{**REPORT.__dict__, **change})


def test_a_repair_reports_labour_parts_and_failure_codes() -> None:
    document = encode_maintenance_performance(
        [REPAIR], version=Version.V0600, sender=SENDER, created=t(23, 30)
    )
    root = etree.fromstring(document)
    ns = {"b": Version.V0600.namespace}
    seg = root.find(".//b:OperationsResponse/b:SegmentResponse", ns)
    assert seg is not None
    data = {d.findtext("b:ID", namespaces=ns): d.findtext("b:Value/b:ValueString", namespaces=ns)
            for d in seg.findall("b:SegmentData", ns)}  # fmt: skip
    assert data == {"FailureMode": "bearing-wear", "Cause": "lubrication",
                    "Remedy": "replaced spindle bearing"}  # fmt: skip
    hours = [(p.findtext("b:PersonID", namespaces=ns),
              p.findtext("b:Quantity/b:QuantityString", namespaces=ns))
             for p in seg.findall("b:PersonnelActual", ns)]  # fmt: skip
    assert hours == [("m.keller", "1.5"), ("a.roth", "0.75")]
    assert seg.findtext("b:MaterialActual/b:MaterialLotID", namespaces=ns) == "B-311"
    assert seg.findtext("b:SegmentState", namespaces=ns) == "Completed"


def test_equipment_level_must_be_an_isa95_level() -> None:
    with pytest.raises(ValueError, match="ISA-95 equipment level"):
        EquipmentRecord("cnc-07", "CNC 7", "Machine")


@pytest.mark.parametrize("record", [REPORT, ORDER, WORK_ORDER, REPAIR, PLANT])
def test_every_record_round_trips_through_its_json_form(record: object) -> None:
    payload = to_payload(record)
    assert json.loads(json.dumps(payload)) == payload
    assert from_payload(type(record), payload) == record


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"good": "many"}, "PerformanceReport.good: expected a number, got 'many'"),
        ({"good": True}, "PerformanceReport.good: expected a number"),
        ({"final": "yes"}, "PerformanceReport.final: expected true or false"),
        ({"start": "monday"}, "PerformanceReport.start: Invalid isoformat"),
        ({"idempotency_key": "k"}, "PerformanceReport.idempotency_key: badly formed"),
        ({"consumed": {}}, "PerformanceReport.consumed: expected a list"),
        ({"consumed": [{"material": "x"}]}, "MaterialQuantity: quantity is missing"),
        ({"colour": "red"}, "unknown fields \\['colour'\\]"),
        ({"good": -3}, "good must be a finite number >= 0"),
    ],
)
def test_a_wrong_payload_names_the_record_and_field(
    change: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        from_payload(PerformanceReport, {**to_payload(REPORT), **change})


def test_a_missing_payload_field_is_named() -> None:
    payload = to_payload(REPORT)
    del payload["shift"]
    with pytest.raises(ValueError, match="PerformanceReport: shift is missing"):
        from_payload(PerformanceReport, payload)
    with pytest.raises(ValueError, match="expected an object"):
        from_payload(PerformanceReport, [1])
