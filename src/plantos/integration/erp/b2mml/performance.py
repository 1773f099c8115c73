"""Production performance to the ERP: good and scrap per order, operation and shift.

V0600 writes ``SyncProductionPerformance`` (ProductionResponse per report); V0701 writes
``SyncOperationsPerformance`` with ``OperationsType`` Production. In both, per report:

- the response ``ID`` is the report's idempotency key, and a one-report document's
  ``BODID`` is that key too, so an ERP that de-duplicates on either books it once;
- the order number goes in ``ProductionRequestID`` / ``OperationsRequestID``, the
  operation in ``ProcessSegmentID``;
- one ``MaterialActual`` (use Produced) for the product carries two quantities keyed
  ``Good`` and ``Scrap``; consumed materials follow (use Consumed, with their lot);
- ``Shift`` and ``FinalConfirmation`` (``true``/``false``) travel as ProductionData /
  SegmentData, and the state is Completed for a final confirmation, Running otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from lxml import etree

from plantos.integration.erp.b2mml.model import PerformanceReport
from plantos.integration.erp.b2mml.versions import Version
from plantos.integration.erp.b2mml.xml import Doc, serialise, timestamp


def encode_performance(
    reports: Sequence[PerformanceReport],
    *,
    version: Version,
    sender: str,
    created: datetime,
    document_id: UUID | None = None,
) -> bytes:
    """One B2MML document holding ``reports``. ``document_id`` (the BODID) defaults to the
    key of a single report; a document of several reports must be given its own."""
    if not reports:
        raise ValueError("a performance document needs at least one report")
    if document_id is None:
        if len(reports) != 1:
            raise ValueError(f"{len(reports)} reports in one document need a document_id")
        document_id = reports[0].idempotency_key
    doc = Doc(version)
    if version is Version.V0600:
        root = _v0600(doc, reports, sender=sender, created=created, document_id=document_id)
    else:
        root = _v0701(doc, reports, sender=sender, created=created, document_id=document_id)
    return serialise(root)


def _state(report: PerformanceReport) -> str:
    return "Completed" if report.final else "Running"


def _materials(doc: Doc, parent: etree._Element, r: PerformanceReport, *, ids: bool) -> None:
    produced = doc.el(parent, "MaterialActual")
    if ids:
        doc.el(produced, "ID", f"{r.product}-produced")
    doc.el(produced, "MaterialDefinitionID", r.product)
    doc.el(produced, "MaterialUse", "Produced")
    doc.quantity(produced, r.good, r.unit, key="Good")
    doc.quantity(produced, r.scrap, r.unit, key="Scrap")
    for n, c in enumerate(r.consumed, start=1):
        used = doc.el(parent, "MaterialActual")
        if ids:
            doc.el(used, "ID", f"{c.material}-consumed-{n}")
        doc.el(used, "MaterialDefinitionID", c.material)
        if c.lot is not None:
            doc.el(used, "MaterialLotID", c.lot)
        doc.el(used, "MaterialUse", "Consumed")
        doc.quantity(used, c.quantity, c.unit)


def _v0600(
    doc: Doc, reports: Sequence[PerformanceReport], *, sender: str, created: datetime,
    document_id: UUID,
) -> etree._Element:  # fmt: skip
    root, data = doc.envelope(
        "ProductionPerformance", verb="Sync", sender=sender, created=created, bod_id=document_id
    )
    perf = doc.el(data, "ProductionPerformance")
    doc.el(perf, "ID", str(document_id))
    doc.el(perf, "PublishedDate", timestamp(created))
    for r in reports:
        resp = doc.el(perf, "ProductionResponse")
        doc.el(resp, "ID", str(r.idempotency_key))
        doc.el(resp, "ProductionRequestID", r.order_id)
        doc.el(resp, "StartTime", timestamp(r.start))
        doc.el(resp, "EndTime", timestamp(r.end))
        seg = doc.el(resp, "SegmentResponse")
        doc.el(seg, "ID", r.operation)
        doc.el(seg, "ProcessSegmentID", r.operation)
        doc.el(seg, "ActualStartTime", timestamp(r.start))
        doc.el(seg, "ActualEndTime", timestamp(r.end))
        doc.value(seg, "ProductionData", "Shift", r.shift)
        doc.value(seg, "ProductionData", "FinalConfirmation", str(r.final).lower())
        if r.equipment is not None:
            doc.el(doc.el(seg, "EquipmentActual"), "EquipmentID", r.equipment)
        _materials(doc, seg, r, ids=False)
        doc.el(seg, "SegmentState", _state(r))
        doc.el(resp, "ResponseState", _state(r))
    return root


def _v0701(
    doc: Doc, reports: Sequence[PerformanceReport], *, sender: str, created: datetime,
    document_id: UUID,
) -> etree._Element:  # fmt: skip
    root, data = doc.envelope(
        "OperationsPerformance", verb="Sync", sender=sender, created=created, bod_id=document_id
    )
    perf = doc.el(data, "OperationsPerformance")
    doc.el(perf, "ID", str(document_id))
    doc.el(perf, "PublishedDate", timestamp(created))
    doc.el(perf, "OperationsType", "Production")
    for r in reports:
        resp = doc.el(perf, "OperationsResponse")
        doc.el(resp, "ID", str(r.idempotency_key))
        doc.el(resp, "StartTime", timestamp(r.start))
        doc.el(resp, "EndTime", timestamp(r.end))
        doc.el(resp, "OperationsType", "Production")
        doc.el(resp, "OperationsRequestID", r.order_id)
        doc.el(resp, "ResponseState", _state(r))
        seg = doc.el(resp, "SegmentResponse")
        doc.el(seg, "ID", r.operation)
        doc.el(seg, "ActualStartTime", timestamp(r.start))
        doc.el(seg, "ActualEndTime", timestamp(r.end))
        doc.el(seg, "ProcessSegmentID", r.operation)
        doc.el(seg, "OperationsRequestID", r.order_id)
        doc.el(seg, "SegmentState", _state(r))
        doc.value(seg, "SegmentData", "Shift", r.shift)
        doc.value(seg, "SegmentData", "FinalConfirmation", str(r.final).lower())
        if r.equipment is not None:
            equipment = doc.el(seg, "EquipmentActual")
            doc.el(equipment, "ID", r.equipment)
            doc.el(equipment, "EquipmentID", r.equipment)
        _materials(doc, seg, r, ids=True)
    return root
