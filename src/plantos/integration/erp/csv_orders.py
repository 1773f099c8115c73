"""Production orders from a CSV file, the way planners export them from a spreadsheet or
an ERP report. All or nothing: every problem in the file is collected, each with its
row number (the header is row 1), and the file is refused as a whole if there is one.

Columns (header names, any order, case-insensitive):

- required: ``order_id``, ``product``, ``quantity``, ``unit``
- optional: ``release``, ``due`` (ISO 8601; without a zone taken as UTC), ``priority``
  (integer), ``operation``, ``equipment``, ``duration_s``

One row per order, or one row per operation of an order: rows with the same
``order_id`` must then agree on the order's fields, and each row's ``operation`` adds
one step in file order. Comma or semicolon separated (the header decides); UTF-8 with or
without a byte-order mark.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from plantos.integration.erp.b2mml.model import ScheduledOperation, ScheduledOrder
from plantos.integration.erp.b2mml.xsd_values import parse_timestamp
from plantos.integration.erp.errors import CsvImportError, ErpDocumentError

REQUIRED_COLUMNS = ("order_id", "product", "quantity", "unit")
OPTIONAL_COLUMNS = ("release", "due", "priority", "operation", "equipment", "duration_s")
_ORDER_FIELDS = ("product", "quantity", "unit", "release", "due", "priority")


@dataclass
class _Draft:
    first_row: int
    fields: dict[str, Any]
    operations: list[ScheduledOperation] = field(default_factory=list)


def parse_order_csv(
    data: bytes, *, products: Collection[str] | None = None
) -> list[ScheduledOrder]:
    """The orders in ``data``, in the order they first appear; raises
    :class:`CsvImportError` listing every problem. With ``products`` (the plant's
    master data), a product not in it is a problem too."""
    header, rows = csv_table(data)
    columns = _check_header(header)
    drafts: dict[str, _Draft] = {}
    problems: list[str] = []
    for line, row in rows:
        _take_row(line, row, columns, drafts, problems, products)
    orders = [_finish(order_id, draft, problems) for order_id, draft in drafts.items()]
    if problems:
        raise CsvImportError(sorted(problems, key=_row_number))
    if not orders:
        raise CsvImportError(["the file has a header but no orders"])
    return [o for o in orders if o is not None]


def csv_table(data: bytes) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header and the non-blank rows, each with its row number, of a CSV file
    PlantOS imports: UTF-8 with or without a byte-order mark, comma or semicolon
    separated (the header decides: a spreadsheet in a comma-decimal locale writes
    semicolons). A file that is not UTF-8, has no header or holds a malformed row raises
    :class:`CsvImportError` (a malformed row once the rows are read)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvImportError([f"the file is not UTF-8 (byte {exc.start})"]) from exc
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if ";" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise CsvImportError([f"row {reader.line_num}: {exc}"]) from exc
    if header is None:
        raise CsvImportError(["the file is empty; expected a header row"])

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for row in reader:
                if any(cell.strip() for cell in row):
                    yield reader.line_num, row
        except csv.Error as exc:
            raise CsvImportError([f"row {reader.line_num}: {exc}"]) from exc

    return header, rows()


def _check_header(header: list[str]) -> list[str]:
    columns = [h.strip().lower() for h in header]
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    unknown = [c for c in columns if c not in known]
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if missing or unknown or duplicated:
        parts = []
        if missing:
            parts.append(f"missing columns {missing}")
        if unknown:
            parts.append(f"unknown columns {unknown}")
        if duplicated:
            parts.append(f"repeated columns {duplicated}")
        raise CsvImportError(
            [
                f"row 1 (header): {'; '.join(parts)}; expected {list(REQUIRED_COLUMNS)} "
                f"and optionally {list(OPTIONAL_COLUMNS)}"
            ]
        )
    return columns


def _take_row(
    number: int, row: list[str], columns: list[str], drafts: dict[str, _Draft],
    problems: list[str], products: Collection[str] | None,
) -> None:  # fmt: skip
    if len(row) != len(columns):
        problems.append(f"row {number}: {len(row)} cells, the header has {len(columns)}")
        return
    cells = {c: v.strip() for c, v in zip(columns, row, strict=True)}
    try:
        fields = _order_fields(cells)
        operation = _operation(cells)
    except (ValueError, ErpDocumentError) as exc:
        problems.append(f"row {number}: {exc}")
        return
    order_id = cells["order_id"]
    if not order_id:
        problems.append(f"row {number}: order_id is empty")
        return
    if products is not None and fields["product"] not in products:
        problems.append(f"row {number}: unknown product {fields['product']!r}")
        return
    draft = drafts.setdefault(order_id, _Draft(number, fields))
    if draft.fields != fields:
        differ = [k for k in _ORDER_FIELDS if draft.fields.get(k) != fields.get(k)]
        problems.append(
            f"row {number}: order {order_id} differs from row {draft.first_row} in {differ}"
        )
    elif operation is not None:
        draft.operations.append(operation)


def _order_fields(cells: dict[str, str]) -> dict[str, Any]:
    for name in REQUIRED_COLUMNS:
        if not cells[name]:
            raise ValueError(f"{name} is empty")
    return {
        "product": cells["product"],
        "quantity": _number(cells["quantity"], "quantity"),
        "unit": cells["unit"],
        "release": _time(cells.get("release", ""), "release"),
        "due": _time(cells.get("due", ""), "due"),
        "priority": _integer(cells["priority"], "priority") if cells.get("priority") else None,
    }


def _integer(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name} {text!r} is not a whole number") from None


def _operation(cells: dict[str, str]) -> ScheduledOperation | None:
    name = cells.get("operation", "")
    if not name:
        if cells.get("equipment") or cells.get("duration_s"):
            raise ValueError("equipment and duration_s need an operation")
        return None
    duration = cells.get("duration_s", "")
    return ScheduledOperation(
        operation=name,
        equipment=cells.get("equipment") or None,
        duration_s=_number(duration, "duration_s") if duration else None,
    )


def _number(text: str, name: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{name} {text!r} is not a number") from None


def _row_number(problem: str) -> int:
    """The N of a problem reading ``row N: ...`` (problems are reported in file order)."""
    return int(problem.split(" ", 2)[1].rstrip(":"))


def _time(text: str, where: str) -> datetime | None:
    return parse_timestamp(text, where=where) if text else None


def _finish(order_id: str, draft: _Draft, problems: list[str]) -> ScheduledOrder | None:
    try:
        return ScheduledOrder(
            erp_order_id=order_id, operations=tuple(draft.operations), **draft.fields
        )
    except ValueError as exc:
        problems.append(f"row {draft.first_row}: order {order_id}: {exc}")
        return None
