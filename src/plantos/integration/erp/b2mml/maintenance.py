"""Maintenance work orders to the ERP's maintenance module as an ``OperationsSchedule``
with ``OperationsType`` Maintenance: the form B2MML V0600 and V0701 give maintenance
(MESA's dedicated Maintenance schema exists only in V0401).

One request per work order: ``ID`` the work order, ``Description`` its text,
``Priority``, ``StartTime``/``EndTime`` the planned window; its segment requirement
names the asset as ``EquipmentRequirement``, the kind (corrective, preventive,
predictive) as ``ProcessSegmentID`` and the failure mode as a ``FailureMode`` segment
parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from lxml import etree

from plantos.integration.erp.b2mml.model import MaintenanceOrder
from plantos.integration.erp.b2mml.versions import Version
from plantos.integration.erp.b2mml.xml import Doc, serialise, timestamp


def encode_maintenance_schedule(
    orders: Sequence[MaintenanceOrder],
    *,
    version: Version,
    sender: str,
    created: datetime,
    document_id: UUID,
) -> bytes:
    """A ``SyncOperationsSchedule`` of maintenance requests, in either version."""
    if not orders:
        raise ValueError("a maintenance schedule needs at least one work order")
    doc = Doc(version)
    root, data = doc.envelope(
        "OperationsSchedule", verb="Sync", sender=sender, created=created, bod_id=document_id
    )
    schedule = doc.el(data, "OperationsSchedule")
    doc.el(schedule, "ID", str(document_id))
    if version is Version.V0701:
        doc.el(schedule, "PublishedDate", timestamp(created))
    doc.el(schedule, "OperationsType", "Maintenance")
    if version is Version.V0600:
        doc.el(schedule, "PublishedDate", timestamp(created))
    for order in orders:
        _request(doc, doc.el(schedule, "OperationsRequest"), order)
    return serialise(root)


def _request(doc: Doc, req: etree._Element, wo: MaintenanceOrder) -> None:
    v7 = doc.version is Version.V0701
    doc.el(req, "ID", wo.work_order_id)
    doc.el(req, "Description", wo.description)
    if not v7:
        doc.el(req, "OperationsType", "Maintenance")
    if wo.earliest_start is not None:
        doc.el(req, "StartTime", timestamp(wo.earliest_start))
    if wo.latest_end is not None:
        doc.el(req, "EndTime", timestamp(wo.latest_end))
    if v7:
        doc.el(req, "OperationsType", "Maintenance")
    doc.el(req, "Priority", str(wo.priority))
    doc.el(req, "RequestState", "Released")
    seg = doc.el(req, "SegmentRequirement")
    doc.el(seg, "ID", wo.work_order_id)
    if not v7:
        doc.el(seg, "OperationsType", "Maintenance")
        doc.el(seg, "ProcessSegmentID", wo.kind)
    if wo.earliest_start is not None:
        doc.el(seg, "EarliestStartTime", timestamp(wo.earliest_start))
    if wo.latest_end is not None:
        doc.el(seg, "LatestEndTime", timestamp(wo.latest_end))
    if v7:
        doc.el(seg, "OperationsType", "Maintenance")
        doc.el(seg, "ProcessSegmentID", wo.kind)
        doc.el(seg, "OperationsDefinitionID", wo.kind)
        doc.el(seg, "OperationsSegmentID", wo.kind)
    if wo.failure_mode is not None:
        doc.value(seg, "SegmentParameter", "FailureMode", wo.failure_mode)
    equipment = doc.el(seg, "EquipmentRequirement")
    if v7:
        doc.el(equipment, "ID", wo.asset)
    doc.el(equipment, "EquipmentID", wo.asset)
