"""The inbound products table: the ERP writes its products (master data) as rows beside
the order rows, and PlantOS takes them the way the REST master-data API takes
``PUT /api/v1/mom/products/{id}``: an id, a name, the routing that makes the product
(already known to PlantOS) and how its parts are counted.

The table (PlantOS creates it when configured to; ``products_table`` in ``erp.yaml``)::

    seq           increasing in the order the ERP wrote the rows: PlantOS reads by it
    product_id    the product's id (at most 64 characters)
    name          shown in PlantOS (at most 200 characters; the id when empty)
    routing       the id of a routing PlantOS has (at most 64 characters)
    counting      machine, operator or both; empty: the plant's default
    status        NEW (written by the ERP), then DONE or ERROR (set by PlantOS)
    outcome       for DONE: created, updated or unchanged (the same product again)
    error_text    for ERROR: why PlantOS refused the row
    created_at, processed_at

A row is checked against the master-data rules as a whole (the routing must exist, and
the edit may not contradict the rest of the master data), exactly as the API checks an
edit; a product stated again with other fields replaces the stored one.
"""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa

from plantos.integration.erp.inbound.table import NEW
from plantos.integration.erp.interface_table import TIMESTAMP
from plantos.mom.domain.master import Product
from plantos.mom.errors import MasterDataError
from plantos.mom.service import MomService

COUNTING = ("machine", "operator", "both")
MAX_ID, MAX_NAME = 64, 200
ProductOutcome = Literal["created", "updated", "unchanged"]


def inbound_products_table(name: str) -> sa.Table:
    return sa.Table(
        name,
        sa.MetaData(),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("product_id", sa.String(MAX_ID), nullable=False),
        sa.Column("name", sa.String(MAX_NAME)),
        sa.Column("routing", sa.String(MAX_ID)),
        sa.Column("counting", sa.String(16)),
        sa.Column("status", sa.String(16), nullable=False, server_default=NEW),
        sa.Column("outcome", sa.String(16)),
        sa.Column("error_text", sa.Text),
        sa.Column("created_at", TIMESTAMP, nullable=False, server_default=sa.func.now()),
        sa.Column("processed_at", TIMESTAMP),
        sa.Index(f"ix_{name}_status", "status", "seq"),
    )


def row_product(row: sa.Row[Any]) -> Product:
    """The product one row states; :class:`MasterDataError` says what is wrong with it
    (the same limits as the master-data API)."""
    data = row._mapping
    product_id = (data["product_id"] or "").strip()
    if not product_id:
        raise MasterDataError("product_id is empty")
    routing = (data["routing"] or "").strip()
    if not routing:
        raise MasterDataError(f"product {product_id!r}: routing must be given")
    name = (data["name"] or "").strip() or product_id
    counting = (data["counting"] or "").strip().lower() or None
    if counting is not None and counting not in COUNTING:
        raise MasterDataError(
            f"product {product_id!r}: counting must be {', '.join(COUNTING)} or empty, "
            f"not {data['counting']!r}"
        )
    for field, value, limit in (("product_id", product_id, MAX_ID), ("name", name, MAX_NAME),
                                ("routing", routing, MAX_ID)):  # fmt: skip
        if len(value) > limit:
            raise MasterDataError(f"{field} {value[:20]!r}... is longer than {limit} characters")
    return Product(product_id, name, routing, counting)


def apply_product(service: MomService, product: Product) -> ProductOutcome:
    """Store ``product`` through the master-data check (:class:`MasterDataError` naming
    every contradiction, nothing stored then); what happened."""
    known, _ = service.master()
    before = known.get(product.id)
    if before == product:
        return "unchanged"
    service.put_master(product=product)
    return "created" if before is None else "updated"
