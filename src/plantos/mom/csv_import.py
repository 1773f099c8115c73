"""Orders from a CSV file, checked whole before anything is stored.

The header names the columns, in any order: ``id``, ``product``, ``quantity`` and
``due`` are required; ``release``, ``priority`` and ``counting`` may follow. Times are
ISO 8601 (UTC when no offset is given). Any problem, in any row, refuses the whole
file with every problem and its line, so an import is all or nothing.

>>> text = "id,product,quantity,due\\nPO-1,shaft-s,20,2026-01-05T18:00Z\\n"
>>> rows = parse_orders_csv(text, now_ns=0)
>>> rows[0].id, rows[0].quantity
('PO-1', 20)
"""

from __future__ import annotations

import csv
import io
from collections import Counter

from plantos.core.errors import PlantOSError
from plantos.core.timeparse import parse_time_ns
from plantos.mom.domain.commands import NewOrder
from plantos.mom.errors import ImportRejectedError

REQUIRED = ("id", "product", "quantity", "due")
OPTIONAL = ("release", "priority", "counting")
MAX_ROWS = 10_000


def parse_orders_csv(text: str, *, now_ns: int) -> list[NewOrder]:
    """The orders of a CSV text; :class:`ImportRejectedError` listing every problem."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    columns = [c.strip() for c in reader.fieldnames or []]
    problems = []
    missing = [c for c in REQUIRED if c not in columns]
    unknown = [c for c in columns if c not in REQUIRED + OPTIONAL]
    if missing:
        problems.append(f"line 1: missing column(s) {', '.join(missing)}")
    if unknown:
        problems.append(
            f"line 1: unknown column(s) {', '.join(unknown)} "
            f"(known: {', '.join(REQUIRED + OPTIONAL)})"
        )
    if problems:
        raise ImportRejectedError("; ".join(problems))
    reader.fieldnames = columns
    orders: list[NewOrder] = []
    for row in reader:
        line = reader.line_num
        if len(orders) >= MAX_ROWS:
            raise ImportRejectedError(f"more than {MAX_ROWS} orders in one file: split it")
        try:
            orders.append(_order(row, now_ns))
        except (ValueError, TypeError) as exc:
            problems.append(f"line {line}: {exc}")
    if problems:
        raise ImportRejectedError("; ".join(problems))
    if not orders:
        raise ImportRejectedError("the file has a header but no order")
    twice = sorted(i for i, n in Counter(o.id for o in orders).items() if n > 1)
    if twice:
        raise ImportRejectedError(f"order id(s) given twice: {', '.join(twice)}")
    return orders


def _order(row: dict[str, str | None], now_ns: int) -> NewOrder:
    def get(name: str) -> str:
        value = (row.get(name) or "").strip()
        if not value and name in REQUIRED:
            raise ValueError(f"{name} is empty")
        return value

    quantity = get("quantity")
    if not quantity.isdigit() or int(quantity) <= 0:
        raise ValueError(f"quantity must be a positive whole number, not {quantity!r}")
    priority = get("priority") or "1"
    if not priority.isdigit():
        raise ValueError(f"priority must be a whole number, not {priority!r}")
    release = get("release")
    return NewOrder(
        id=get("id"),
        product=get("product"),
        quantity=int(quantity),
        due_ns=_time(get("due"), "due", now_ns),
        release_ns=_time(release, "release", now_ns) if release else None,
        priority=int(priority),
        counting=get("counting") or None,
    )


def _time(text: str, name: str, now_ns: int) -> int:
    try:
        return parse_time_ns(text, now_ns=now_ns)
    except (ValueError, PlantOSError) as exc:
        raise ValueError(f"{name}: {exc}") from None
