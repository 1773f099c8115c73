"""Roles and the permissions each one holds: the single table PlantOS authorises from.

A permission names one kind of act (``alarms:ack``) rather than a route, so a new route
chooses the permission it needs and every role that should use it already has it. The
table is closed: an unknown role or permission is an error at start, never a silent
"no access" that someone later works around.
"""

from __future__ import annotations

from typing import Final

READ: Final = frozenset(
    {"plant:read", "live:read", "history:read", "alarms:read", "oee:read", "analytics:read"}
)
"""What every signed-in role may look at (within its scope)."""

PERMISSIONS: Final = READ | {
    "alarms:ack",
    "alarms:shelve",
    "oee:reason",
    "orders:write",
    "orders:count",
    "entries:write",
    "masterdata:write",
    "schedule:write",
    "workorders:write",
    "quality:write",
    "system:read",
    "system:write",
    "ot:write",
    "ot:approve",
    "audit:read",
    "users:admin",
    "tokens:admin",
}
"""Every permission a route may ask for. The operations domains (orders and their counts,
products and routings, the schedule, work orders, quality) are named here already, so
their routes only need to use them."""

ROLES: Final[dict[str, frozenset[str]]] = {
    "viewer": READ,
    "operator": READ
    | {"alarms:ack", "alarms:shelve", "oee:reason", "orders:count", "entries:write"},
    "maintenance": READ | {"alarms:ack", "oee:reason", "workorders:write", "entries:write"},
    "quality": READ | {"alarms:ack", "quality:write", "entries:write"},
    "planner": READ | {"orders:write", "orders:count", "schedule:write", "masterdata:write"},
    "engineer": READ
    | {"alarms:ack", "alarms:shelve", "oee:reason", "orders:count", "masterdata:write"}
    | {"entries:write"}
    | {"system:read", "system:write", "ot:write", "ot:approve"},
    "integration": READ | {"system:read", "orders:write", "orders:count"},
    "admin": PERMISSIONS,
}
"""Role to permissions. ``engineer`` may write into OT (through a conduit) and approve
another person's write; ``integration`` is for machines (ERP, SIEM, monitoring)."""


def check_role(role: str) -> str:
    """``role`` if it is one of :data:`ROLES`; :class:`ValueError` naming the choices."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    return role


def check_permission(permission: str) -> str:
    """``permission`` if PlantOS knows it; a typo in a route fails at import, not in use."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")
    return permission


def holds(role: str, permission: str) -> bool:
    return permission in ROLES.get(role, frozenset())
