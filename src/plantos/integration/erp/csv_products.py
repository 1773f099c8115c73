"""Products (master data) from a CSV file, as an ERP report or a spreadsheet exports
them. All or nothing, like the order file (:mod:`.csv_orders`): every problem is
collected with its row number (the header is row 1) and the file is refused as a whole
if there is one.

Columns (header names, any order, case-insensitive): ``product_id``, ``name``,
``routing`` and optionally ``counting`` (machine, operator or both; empty: the plant's
default). One row per product; comma or semicolon separated (the header decides);
UTF-8 with or without a byte-order mark. Each row is held to the limits of the inbound
products table (:func:`~.products_import.product_of`).
"""

from __future__ import annotations

from collections.abc import Collection

from plantos.integration.erp.csv_orders import csv_table
from plantos.integration.erp.errors import CsvImportError
from plantos.integration.erp.products_import import product_of, unknown_routing
from plantos.mom.domain.master import Product
from plantos.mom.errors import MasterDataError

REQUIRED_COLUMNS = ("product_id", "name", "routing")
OPTIONAL_COLUMNS = ("counting",)


def parse_product_csv(data: bytes, *, routings: Collection[str] | None = None) -> list[Product]:
    """The products in ``data``, in file order; raises :class:`CsvImportError` listing
    every problem. With ``routings`` (the plant's), a routing not in it is a problem too."""
    header, rows = csv_table(data)
    columns = _check_header(header)
    products: dict[str, tuple[int, Product]] = {}
    problems: list[str] = []
    for line, row in rows:
        _take_row(line, row, columns, products, problems, routings)
    if problems:
        raise CsvImportError(problems)
    if not products:
        raise CsvImportError(["the file has a header but no products"])
    return [product for _, product in products.values()]


def _check_header(header: list[str]) -> list[str]:
    columns = [h.strip().lower() for h in header]
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    unknown = [c for c in columns if c not in known]
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    parts = []
    if missing:
        parts.append(f"missing columns {missing}")
    if unknown:
        parts.append(f"unknown columns {unknown}")
    if duplicated:
        parts.append(f"repeated columns {duplicated}")
    if parts:
        raise CsvImportError(
            [
                f"row 1 (header): {'; '.join(parts)}; expected {list(REQUIRED_COLUMNS)} "
                f"and optionally {list(OPTIONAL_COLUMNS)}"
            ]
        )
    return columns


def _take_row(
    number: int, row: list[str], columns: list[str], products: dict[str, tuple[int, Product]],
    problems: list[str], routings: Collection[str] | None,
) -> None:  # fmt: skip
    if len(row) != len(columns):
        problems.append(f"row {number}: {len(row)} cells, the header has {len(columns)}")
        return
    cells = dict(zip(columns, row, strict=True))
    try:
        product = product_of(
            cells["product_id"], cells["name"], cells["routing"], cells.get("counting")
        )
    except MasterDataError as exc:
        problems.append(f"row {number}: {exc}")
        return
    why = unknown_routing(product, routings)
    if why is not None:
        problems.append(f"row {number}: {why}")
    elif product.id in products:
        problems.append(
            f"row {number}: product {product.id!r} is already in row {products[product.id][0]}"
        )
    else:
        products[product.id] = (number, product)
