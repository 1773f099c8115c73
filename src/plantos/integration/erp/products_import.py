"""Products (master data) from an ERP file, B2MML or CSV: each product is checked by the
very rules the inbound products table applies to a row, and a whole file is stored all
or none through the same apply step (:func:`~.inbound.products.apply_product`).

All or none: before anything is stored, the file's products are checked together with
the stored master data (:func:`~plantos.mom.domain.master.master_problems`, the check
every master-data edit passes); a product's check only concerns its own routing, so
once the whole set passes, each product stored in turn passes too.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from plantos.integration.erp.errors import ErpDocumentError
from plantos.integration.erp.inbound.products import ProductOutcome, apply_product, row_product
from plantos.mom.domain.master import Product, master_problems
from plantos.mom.errors import MasterDataError

if TYPE_CHECKING:
    import sqlalchemy as sa

    from plantos.mom.service import MomService


class UnknownRoutingError(ErpDocumentError):
    """A product names a routing the plant's master data does not have."""


@dataclass(frozen=True)
class _Cells:
    """A file's product in the shape :func:`row_product` reads of a table row (its
    mapping), so a file and the table are held to one set of limits."""

    _mapping: Mapping[str, str | None]


def product_of(
    product_id: str | None, name: str | None, routing: str | None, counting: str | None = None
) -> Product:
    """The product these fields state; :class:`MasterDataError` says what is wrong (an
    empty id or routing, a field too long, a counting that is not one of the three)."""
    cells = {"product_id": product_id, "name": name, "routing": routing, "counting": counting}
    return row_product(cast("sa.Row[Any]", _Cells(cells)))


def import_products(service: MomService, products: Sequence[Product]) -> dict[str, ProductOutcome]:
    """Store a whole file's products, all or none; per product ``created``, ``updated``
    or ``unchanged``. :class:`MasterDataError` names every contradiction (nothing stored)."""
    known, routings = service.master()
    problems = master_problems({**known, **{p.id: p for p in products}}, routings, service.assets)
    if problems:
        raise MasterDataError("; ".join(problems))
    return {p.id: apply_product(service, p) for p in products}


def outcome_counts(outcomes: Mapping[str, ProductOutcome]) -> dict[str, int]:
    """How many products were created, updated and unchanged (all three, zeros too)."""
    values = list(outcomes.values())
    return {o: values.count(o) for o in ("created", "updated", "unchanged")}


def unknown_routing(product: Product, routings: Collection[str] | None) -> str | None:
    """Why ``product`` cannot be taken when its routing is not one of ``routings`` (the
    plant's; None: not checked here), in the words the master-data check uses."""
    if routings is None or product.routing in routings:
        return None
    return f"product {product.id!r}: unknown routing {product.routing!r}"
