"""The plant's equipment hierarchy as ERP master data: ``SyncEquipment`` in V0600 and
V0701, each piece with its ISA-95 level and its children nested inside it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from lxml import etree

from plantos.integration.erp.b2mml.model import EquipmentRecord
from plantos.integration.erp.b2mml.versions import Version
from plantos.integration.erp.b2mml.xml import Doc, serialise


def encode_equipment(
    records: Sequence[EquipmentRecord],
    *,
    version: Version,
    sender: str,
    created: datetime,
    document_id: UUID,
) -> bytes:
    """A ``SyncEquipment`` document holding ``records`` (each with its subtree)."""
    if not records:
        raise ValueError("an equipment document needs at least one piece of equipment")
    doc = Doc(version)
    root, data = doc.envelope(
        "Equipment", verb="Sync", sender=sender, created=created, bod_id=document_id
    )
    for record in records:
        _equipment(doc, data, record, "Equipment")
    return serialise(root)


def _equipment(doc: Doc, parent: etree._Element, record: EquipmentRecord, tag: str) -> None:
    node = doc.el(parent, tag)
    doc.el(node, "ID", record.equipment_id)
    if record.description:
        doc.el(node, "Description", record.description)
    if doc.version is Version.V0600:
        # V0600 types EquipmentLevel as a hierarchy scope: the piece and its level.
        level = doc.el(node, "EquipmentLevel")
        doc.el(level, "EquipmentID", record.equipment_id)
        doc.el(level, "EquipmentElementLevel", record.level)
        child_tag = "Equipment"
    else:
        doc.el(node, "EquipmentLevel", record.level)
        child_tag = "EquipmentChild"
    for child in record.children:
        _equipment(doc, node, child, child_tag)
