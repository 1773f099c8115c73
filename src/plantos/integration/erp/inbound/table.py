"""The inbound interface table: the ERP writes production orders as rows into a table
in its own database (PostgreSQL or MariaDB/MySQL) and PlantOS polls it, the mirror of
the outbound table (:mod:`plantos.integration.erp.interface_table`).

The table (PlantOS creates it when configured to; default name ``plantos_inbound``)::

    seq           increasing in the order the ERP wrote the rows: PlantOS reads by it
    order_id      the ERP's order number (PlantOS's order id)
    action        RELEASE (a new order, or the order as it stands now) or CANCEL
    product, quantity, unit, release_at, due_at, priority   the order (UTC times)
    status        NEW (written by the ERP), then DONE or ERROR (set by PlantOS)
    outcome       for DONE: created, updated, cancelled or unchanged (a duplicate)
    error_text    for ERROR: why PlantOS refused the row
    created_at, processed_at

This module knows the table's shape and how a row reads as an order; the poller
(:mod:`.poller`) does the work.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from plantos.integration.erp.b2mml.model import ScheduledOrder
from plantos.integration.erp.inbound.orders import to_erp_order
from plantos.integration.erp.interface_table import TIMESTAMP
from plantos.mom.domain.commands import NewOrder
from plantos.mom.errors import InvalidOrderError
from plantos.mom.order_sync import ErpOrder

NEW, DONE, ERROR = "NEW", "DONE", "ERROR"
RELEASE, CANCEL = "RELEASE", "CANCEL"


def inbound_table(name: str) -> sa.Table:
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False, server_default=RELEASE),
        sa.Column("product", sa.String(64)),
        sa.Column("quantity", sa.Numeric(18, 3)),
        sa.Column("unit", sa.String(16)),
        sa.Column("release_at", TIMESTAMP),
        sa.Column("due_at", TIMESTAMP),
        sa.Column("priority", sa.Integer),
        sa.Column("status", sa.String(16), nullable=False, server_default=NEW),
        sa.Column("outcome", sa.String(16)),
        sa.Column("error_text", sa.Text),
        sa.Column("created_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
        sa.Column("processed_at", TIMESTAMP),
        sa.Index(f"ix_{name}_status", "status", "seq"),
    )


def row_order(row: sa.Row[Any], *, source: str) -> ErpOrder:
    """The order one row states; :class:`InvalidOrderError` (or ``ValueError``) says
    what is wrong with it."""
    data = row._mapping
    order_id = (data["order_id"] or "").strip()
    action = (data["action"] or RELEASE).strip().upper()
    if action not in (RELEASE, CANCEL):
        raise InvalidOrderError(f"action must be {RELEASE} or {CANCEL}, not {action!r}")
    if action == CANCEL:
        if not order_id:
            raise InvalidOrderError("order_id is empty")
        return ErpOrder(NewOrder(order_id, data["product"] or "", 1, 0), cancel=True,
                        source=source)  # fmt: skip
    missing = [c for c in ("order_id", "product", "quantity", "due_at") if data[c] in (None, "")]
    if missing:
        raise InvalidOrderError(f"{', '.join(missing)} must be given for {RELEASE}")
    quantity = data["quantity"]
    try:
        scheduled = _scheduled(data, order_id, quantity)
    except ValueError as exc:
        raise InvalidOrderError(f"order {order_id}: {exc}") from None
    return to_erp_order(scheduled, source=source)


def _scheduled(data: Any, order_id: str, quantity: Any) -> ScheduledOrder:
    return ScheduledOrder(
        erp_order_id=order_id,
        product=str(data["product"]).strip(),
        quantity=float(quantity) if isinstance(quantity, Decimal | int | float) else quantity,
        unit=(data["unit"] or "pcs").strip(),
        release=_aware(data["release_at"]),
        due=_aware(data["due_at"]),
        priority=data["priority"],
    )


def _aware(value: datetime | None) -> datetime | None:
    """The table's times are UTC without a zone in every database."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
