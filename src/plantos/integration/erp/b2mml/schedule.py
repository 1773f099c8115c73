"""Production orders as a schedule: V0600 ``ProductionSchedule`` and V0701
``OperationsSchedule`` (``OperationsType`` Production).

The layout follows what ERP connectors write (and what :mod:`.schedule_decode` reads):
one request per order, its ``ID`` the ERP order number, ``StartTime``/``EndTime`` the
release and due dates; inside it one order-level segment requirement carrying the
product as a ``MaterialRequirement`` with use Produced and the order quantity, and one
child segment requirement per operation (``ProcessSegmentID``, machine as
``EquipmentRequirement``, window and ``Duration``). A cancelled order has the request
state Cancelled (V0701) or Other/``Cancelled`` (V0600, whose list lacks it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from lxml import etree

from plantos.integration.erp.b2mml.model import ScheduledOperation, ScheduledOrder
from plantos.integration.erp.b2mml.versions import Version
from plantos.integration.erp.b2mml.xml import Doc, number, serialise, timestamp


def encode_schedule(
    orders: Sequence[ScheduledOrder],
    *,
    version: Version,
    sender: str,
    created: datetime,
    document_id: UUID,
) -> bytes:
    """A ``SyncProductionSchedule`` (V0600) or ``SyncOperationsSchedule`` (V0701)."""
    if not orders:
        raise ValueError("a schedule document needs at least one order")
    doc = Doc(version)
    noun = "ProductionSchedule" if version is Version.V0600 else "OperationsSchedule"
    request = "ProductionRequest" if version is Version.V0600 else "OperationsRequest"
    root, data = doc.envelope(noun, verb="Sync", sender=sender, created=created, bod_id=document_id)
    schedule = doc.el(data, noun)
    doc.el(schedule, "ID", str(document_id))
    if version is Version.V0701:
        doc.el(schedule, "PublishedDate", timestamp(created))
        doc.el(schedule, "OperationsType", "Production")
    else:
        doc.el(schedule, "PublishedDate", timestamp(created))
    for order in orders:
        _request(doc, doc.el(schedule, request), order)
    return serialise(root)


def _request(doc: Doc, req: etree._Element, order: ScheduledOrder) -> None:
    v7 = doc.version is Version.V0701
    doc.el(req, "ID", order.erp_order_id)
    if order.release is not None:
        doc.el(req, "StartTime", timestamp(order.release))
    if order.due is not None:
        doc.el(req, "EndTime", timestamp(order.due))
    if v7:
        doc.el(req, "OperationsType", "Production")
    if order.priority is not None:
        doc.el(req, "Priority", str(order.priority))
    if v7:
        doc.el(req, "RequestState", "Cancelled" if order.cancelled else "Released")
    top = doc.el(req, "SegmentRequirement")
    doc.el(top, "ID", order.erp_order_id)
    if not v7:
        doc.el(top, "ProcessSegmentID", order.product)
    _window(doc, top, order.release, order.due)
    if v7:
        for name in ("ProcessSegmentID", "OperationsDefinitionID", "OperationsSegmentID"):
            doc.el(top, name, order.product)
    produced = doc.el(top, "MaterialRequirement")
    if v7:
        doc.el(produced, "ID", f"{order.product}-produced")
    doc.el(produced, "MaterialDefinitionID", order.product)
    doc.el(produced, "MaterialUse", "Produced")
    doc.quantity(produced, order.quantity, order.unit)
    for step in order.operations:
        _operation(doc, doc.el(top, "SegmentRequirementChild" if v7 else "SegmentRequirement"),
                   step, product=order.product)  # fmt: skip
    if not v7:
        state = doc.el(req, "RequestState", "Other" if order.cancelled else "Released")
        if order.cancelled:
            state.set("OtherValue", "Cancelled")


def _window(doc: Doc, seg: etree._Element, start: datetime | None, end: datetime | None) -> None:
    if start is not None:
        doc.el(seg, "EarliestStartTime", timestamp(start))
    if end is not None:
        doc.el(seg, "LatestEndTime", timestamp(end))


def _operation(doc: Doc, seg: etree._Element, step: ScheduledOperation, *, product: str) -> None:
    v7 = doc.version is Version.V0701
    doc.el(seg, "ID", step.operation)
    if not v7:
        doc.el(seg, "ProcessSegmentID", step.operation)
    _window(doc, seg, step.earliest_start, step.latest_end)
    if v7:
        doc.el(seg, "ProcessSegmentID", step.operation)
    if step.duration_s is not None:
        doc.el(seg, "Duration", duration(step.duration_s))
    if v7:
        doc.el(seg, "OperationsDefinitionID", product)
        doc.el(seg, "OperationsSegmentID", step.operation)
    if step.equipment is not None:
        equipment = doc.el(seg, "EquipmentRequirement")
        if v7:
            doc.el(equipment, "ID", step.equipment)
        doc.el(equipment, "EquipmentID", step.equipment)


def duration(seconds: float) -> str:
    """An ``xsd:duration`` in seconds (``PT90S``, ``PT0.5S``)."""
    return f"PT{number(seconds)}S"
