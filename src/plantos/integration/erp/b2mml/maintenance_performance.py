"""What maintenance did, for the ERP's maintenance module and its costing:
``SyncOperationsPerformance`` with ``OperationsType`` Maintenance, in V0600 and V0701.

Per report one response (``ID`` the idempotency key, ``OperationsRequestID`` the work
order) with one segment response: the kind (corrective, preventive, predictive) as
``ProcessSegmentID``, the actual start and end, ``FailureMode``, ``Cause`` and
``Remedy`` as segment data, each person's hours as ``PersonnelActual`` (unit ``h``), the
asset as ``EquipmentActual`` and each spare part as a consumed ``MaterialActual``. The
state is Completed, or Running for progress on an open work order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from lxml import etree

from plantos.integration.erp.b2mml.model import MaintenanceReport
from plantos.integration.erp.b2mml.versions import Version
from plantos.integration.erp.b2mml.xml import Doc, serialise, timestamp


def encode_maintenance_performance(
    reports: Sequence[MaintenanceReport],
    *,
    version: Version,
    sender: str,
    created: datetime,
    document_id: UUID | None = None,
) -> bytes:
    """One document holding ``reports``; ``document_id`` defaults as for production
    performance (the key of a single report)."""
    if not reports:
        raise ValueError("a maintenance performance document needs at least one report")
    if document_id is None:
        if len(reports) != 1:
            raise ValueError(f"{len(reports)} reports in one document need a document_id")
        document_id = reports[0].idempotency_key
    doc = Doc(version)
    v7 = version is Version.V0701
    root, data = doc.envelope(
        "OperationsPerformance", verb="Sync", sender=sender, created=created, bod_id=document_id
    )
    perf = doc.el(data, "OperationsPerformance")
    doc.el(perf, "ID", str(document_id))
    if v7:
        doc.el(perf, "PublishedDate", timestamp(created))
    doc.el(perf, "OperationsType", "Maintenance")
    if not v7:
        doc.el(perf, "PublishedDate", timestamp(created))
    for report in reports:
        _response(doc, doc.el(perf, "OperationsResponse"), report)
    return serialise(root)


def _response(doc: Doc, resp: etree._Element, r: MaintenanceReport) -> None:
    v7 = doc.version is Version.V0701
    state = "Completed" if r.completed else "Running"
    doc.el(resp, "ID", str(r.idempotency_key))
    if v7:
        doc.el(resp, "StartTime", timestamp(r.start))
        doc.el(resp, "EndTime", timestamp(r.end))
    doc.el(resp, "OperationsType", "Maintenance")
    doc.el(resp, "OperationsRequestID", r.work_order_id)
    if not v7:
        doc.el(resp, "StartTime", timestamp(r.start))
        doc.el(resp, "EndTime", timestamp(r.end))
    doc.el(resp, "ResponseState", state)
    seg = doc.el(resp, "SegmentResponse")
    doc.el(seg, "ID", r.work_order_id)
    if v7:
        doc.el(seg, "ActualStartTime", timestamp(r.start))
        doc.el(seg, "ActualEndTime", timestamp(r.end))
    doc.el(seg, "OperationsType", "Maintenance")
    doc.el(seg, "ProcessSegmentID", r.kind)
    if v7:
        doc.el(seg, "OperationsRequestID", r.work_order_id)
    else:
        doc.el(seg, "ActualStartTime", timestamp(r.start))
        doc.el(seg, "ActualEndTime", timestamp(r.end))
    doc.el(seg, "SegmentState", state)
    for name, value in (("FailureMode", r.failure_mode), ("Cause", r.cause), ("Remedy", r.remedy)):
        if value is not None:
            doc.value(seg, "SegmentData", name, value)
    for entry in r.labour:
        person = doc.el(seg, "PersonnelActual")
        if v7:
            doc.el(person, "ID", entry.person)
        doc.el(person, "PersonID", entry.person)
        doc.quantity(person, entry.hours, "h")
    equipment = doc.el(seg, "EquipmentActual")
    if v7:
        doc.el(equipment, "ID", r.asset)
    doc.el(equipment, "EquipmentID", r.asset)
    for n, part in enumerate(r.parts, start=1):
        used = doc.el(seg, "MaterialActual")
        if v7:
            doc.el(used, "ID", f"{part.material}-part-{n}")
        doc.el(used, "MaterialDefinitionID", part.material)
        if part.lot is not None:
            doc.el(used, "MaterialLotID", part.lot)
        doc.el(used, "MaterialUse", "Consumed")
        doc.quantity(used, part.quantity, part.unit)
