"""ISA-95 B2MML documents in and out of PlantOS: pure encode/decode functions over small
frozen dataclasses (:mod:`.model`), no I/O and no database, so the outbox dispatcher,
the file drop and the tests all use the same codec.

Versions: ``V0600`` (namespace ``http://www.mesa.org/xml/B2MML-V0600``, Production*
messages, still what most ERP connectors speak) and ``V0701`` (namespace
``http://www.mesa.org/xml/B2MML``, where production is ``Operations*`` with
``OperationsType`` Production or Maintenance).

The Business To Manufacturing Markup Language (B2MML) is used courtesy of MESA
International.
"""

from plantos.integration.erp.b2mml.equipment import encode_equipment
from plantos.integration.erp.b2mml.maintenance import encode_maintenance_schedule
from plantos.integration.erp.b2mml.maintenance_performance import encode_maintenance_performance
from plantos.integration.erp.b2mml.model import (
    EquipmentRecord,
    LabourEntry,
    MaintenanceOrder,
    MaintenanceReport,
    MaterialQuantity,
    PerformanceReport,
    ScheduledOperation,
    ScheduledOrder,
)
from plantos.integration.erp.b2mml.performance import encode_performance
from plantos.integration.erp.b2mml.schedule import encode_schedule
from plantos.integration.erp.b2mml.schedule_decode import decode_schedule
from plantos.integration.erp.b2mml.validate import validate_document
from plantos.integration.erp.b2mml.versions import MessageKind, Version

__all__ = [
    "EquipmentRecord",
    "LabourEntry",
    "MaintenanceOrder",
    "MaintenanceReport",
    "MaterialQuantity",
    "MessageKind",
    "PerformanceReport",
    "ScheduledOperation",
    "ScheduledOrder",
    "Version",
    "decode_schedule",
    "encode_equipment",
    "encode_maintenance_performance",
    "encode_maintenance_schedule",
    "encode_performance",
    "encode_schedule",
    "validate_document",
]
