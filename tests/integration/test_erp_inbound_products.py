"""The inbound products table against real PostgreSQL and MariaDB databases playing the
ERP: PlantOS takes product rows through the master-data check (a new product created,
the same one again unchanged, a changed one updated, a bad row refused with the reason
while the good ones around it go in), and takes the products before the orders, so an
order written after its new product finds it."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from plantos.integration.erp.inbound.poller import InboundTablePoller
from plantos.integration.erp.interface_table import interface_url
from plantos.mom.domain.master import Product
from plantos.mom.service import MomService
from tests.integration.test_erp_inbound_table import insert, order, poll, table_rows
from tests.integration.test_erp_inbound_table import poller as orders_poller

pytestmark = pytest.mark.timeout(120)
PRODUCTS = "erp_products"


def poller(url: str, mom: MomService, **options: Any) -> InboundTablePoller:
    return orders_poller(url, mom, products_table=PRODUCTS, **options)


def add_products(url: str, *rows: dict[str, Any]) -> None:
    engine = sa.create_engine(interface_url(url))
    table = sa.Table(PRODUCTS, sa.MetaData(), autoload_with=engine)
    with engine.begin() as conn:
        for row in rows:  # one by one: seq follows the ERP's order
            conn.execute(table.insert().values(**row))
    engine.dispose()


def product_rows(url: str) -> list[sa.Row[Any]]:
    engine = sa.create_engine(interface_url(url))
    with engine.connect() as conn:
        rows = list(conn.execute(sa.text(f"SELECT * FROM {PRODUCTS} ORDER BY seq")))
    engine.dispose()
    return rows


def product(pid: str, routing: str | None = "shaft", **more: Any) -> dict[str, Any]:
    return {"product_id": pid, "name": f"{pid} (ERP)", "routing": routing, **more}


def test_products_are_created_repeated_updated_and_bad_rows_refused(
    erp_url: str, mom: MomService
) -> None:
    run = poller(erp_url, mom)
    assert poll(run) is not None  # creates both empty tables
    add_products(erp_url,
                 product("flange"),
                 product("gear", routing="gear"),           # no such routing
                 product("   "),                            # no id
                 product("hub", routing=None),              # no routing
                 product("bolt", counting="robot"),         # no such counting
                 product("flange"),                         # the same again
                 product("flange", name="Flange 80", counting="operator"),
                 product("x" * 64, name=""))  # the id is the name  # fmt: skip
    insert(erp_url, order("PO-1", product="flange"))  # written after its product
    result = poll(run)
    assert result is not None
    assert result.products.done == {"created": 2, "unchanged": 1, "updated": 1}
    assert result.products.errors == 4
    assert result.orders.done == {"created": 1} and result.orders.errors == 0
    rows = product_rows(erp_url)
    assert [(r.status, r.outcome) for r in rows] == [
        ("DONE", "created"), ("ERROR", None), ("ERROR", None), ("ERROR", None), ("ERROR", None),
        ("DONE", "unchanged"), ("DONE", "updated"), ("DONE", "created"),
    ]  # fmt: skip
    errors = [r.error_text for r in rows if r.status == "ERROR"]
    assert "product 'gear': unknown routing 'gear'" in errors[0]
    assert errors[1] == "product_id is empty"
    assert errors[2] == "product 'hub': routing must be given"
    assert "counting must be machine, operator, both or empty, not 'robot'" in errors[3]
    assert all(r.processed_at is not None for r in rows)

    products, _ = mom.master()
    assert products["flange"] == Product("flange", "Flange 80", "shaft", "operator")
    assert products["x" * 64].name == "x" * 64
    assert sorted(products) == sorted(["shaft", "flange", "x" * 64])  # nothing of a refused row
    assert mom.order("PO-1").routing == "shaft"  # the new product's routing
    health = run.health()
    assert (health["products_done"], health["products_errors"]) == (4, 4)
    assert (health["done"], health["errors"]) == (1, 0)


def test_orders_wait_while_a_full_batch_of_products_is_being_taken(
    erp_url: str, mom: MomService
) -> None:
    run = poller(erp_url, mom, batch_size=2)
    poll(run)
    add_products(erp_url, product("a"), product("b"), product("c"))
    insert(erp_url, order("PO-C", product="c"))
    first = poll(run)
    assert first is not None and first.products.done == {"created": 2}
    assert first.orders.done == {} and [r.status for r in table_rows(erp_url)] == ["NEW"]
    second = poll(run)
    assert second is not None and second.products.done == {"created": 1}
    assert second.orders.done == {"created": 1}
    assert [(r.status, r.outcome) for r in table_rows(erp_url)] == [("DONE", "created")]
