"""A report as JSON, CSV or XLSX: the same figures in the form each reader wants.

JSON is the report mapping itself. CSV is one flat table an ERP loader or a spreadsheet
reads with one header: a ``section`` column says what a row is (``total``, ``shift``,
``order``, ``shift_order``, ``asset``, ``downtime``), so sums are taken within one
section. XLSX has a sheet per section with typed cells (numbers stay numbers).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

from openpyxl import Workbook

COLUMNS = (
    "section", "shift", "from", "to", "order", "product", "state", "asset", "reason",
    "operations", "assets", "good", "scrap", "yield", "runtime_s", "downtime_s",
    "availability", "performance", "quality", "oee",
)  # fmt: skip
"""The CSV columns; a row leaves empty what its section does not have."""

RATIOS = ("availability", "performance", "quality", "oee")


class ReportFormat(StrEnum):
    json = "json"
    csv = "csv"
    xlsx = "xlsx"

    @property
    def media_type(self) -> str:
        return {
            "json": "application/json",
            "csv": "text/csv; charset=utf-8",
            "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }[self.value]


def render(report: dict[str, Any], fmt: ReportFormat) -> bytes:
    if fmt is ReportFormat.json:
        return json.dumps(report, indent=2).encode()
    if fmt is ReportFormat.csv:
        return to_csv(report).encode()
    return to_xlsx(report)


def filename(report: dict[str, Any], fmt: ReportFormat) -> str:
    """``shift-report-plant-a-2026-12-05-first.csv``: what it is, in a safe file name."""
    stem = f"{report['report']}-report-{report['site']}-{report['period']}"
    return f"{re.sub(r'[^A-Za-z0-9._-]+', '-', stem).strip('-')}.{fmt.value}"


def rows(report: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every row of the flat table, as a mapping of :data:`COLUMNS` it fills."""
    span = {"from": report["from"], "to": report["to"]}
    yield {"section": "total", **span, **_made(report["totals"])}
    for shift in report["shifts"]:
        yield {"section": "shift", "shift": shift["shift"], "from": shift["from"],
               "to": shift["to"], **_made(shift)}  # fmt: skip
    for line in report["orders"]:
        yield {"section": "order", **span, **_order(line)}
    for shift in report["shifts"]:
        for line in shift["orders"]:
            yield {"section": "shift_order", "shift": shift["shift"], "from": shift["from"],
                   "to": shift["to"], **_order(line)}  # fmt: skip
    for asset in report["assets"]:
        yield {"section": "asset", **span, "asset": asset["asset"], **_oee(asset)}
    for asset in report["assets"]:
        for reason, seconds in asset["downtime_by_reason_s"].items():
            yield {"section": "downtime", **span, "asset": asset["asset"], "reason": reason,
                   "downtime_s": seconds}  # fmt: skip


def _made(part: dict[str, Any]) -> dict[str, Any]:
    oee = part["oee"] or {}
    return {"good": part["good"], "scrap": part["scrap"], "yield": part["yield"],
            "runtime_s": part["runtime_s"], "downtime_s": oee.get("downtime_s"),
            **{k: oee.get(k) for k in RATIOS}}  # fmt: skip


def _order(line: dict[str, Any]) -> dict[str, Any]:
    keep = ("order", "product", "state", "good", "scrap", "yield", "runtime_s")
    return {k: line[k] for k in keep} | {
        "operations": " ".join(line["operations"]),
        "assets": " ".join(line["assets"]),
    }


def _oee(asset: dict[str, Any]) -> dict[str, Any]:
    keep = ("good", "scrap", "runtime_s", "downtime_s", *RATIOS)
    return {k: asset[k] for k in keep}


def to_csv(report: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows(report):
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buffer.getvalue()


_MADE = ("good", "scrap", "yield", "runtime_s", "downtime_s", *RATIOS)
_ORDER = ("order", "product", "state", "operations", "assets", "good", "scrap", "yield",
          "runtime_s")  # fmt: skip
SHEETS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Shifts": (("total", "shift"), ("section", "shift", "from", "to", *_MADE)),
    "Orders": (("order",), ("from", "to", *_ORDER)),
    "Shift orders": (("shift_order",), ("shift", "from", "to", *_ORDER)),
    "Assets": (("asset",), ("asset", "good", "scrap", "runtime_s", "downtime_s", *RATIOS)),
    "Downtime": (("downtime",), ("asset", "reason", "downtime_s")),
}
"""Sheet name to the sections it holds and its columns."""


def to_xlsx(report: dict[str, Any]) -> bytes:
    """A workbook: a summary sheet naming the report, then one sheet per section."""
    book = Workbook()
    summary = book.active
    summary.title = "Summary"
    for key in ("report", "site", "site_name", "period", "from_local", "to_local", "timezone",
                "complete", "generated"):  # fmt: skip
        summary.append([key, report[key]])
    table = list(rows(report))
    for title, (sections, columns) in SHEETS.items():
        sheet = book.create_sheet(title)
        sheet.append(list(columns))
        for row in (r for r in table if r["section"] in sections):
            sheet.append([row.get(c) for c in columns])
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
