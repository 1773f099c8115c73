"""The shift and daily reports of a site with a known day: every figure checked against
what the schedule of states, parts and orders says (tests/support/report_plant.py),
and the CSV and XLSX forms read back."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from plantos.analytics.config import analytics_spec
from plantos.analytics.oee.reason_store import REASONS_FILE, read_reasons
from plantos.cli.common import open_plant_historian
from plantos.core.clock import ManualClock
from plantos.core.errors import QueryError, UnknownTagError
from plantos.core.timeparse import iso
from plantos.model import load_plant
from plantos.mom.setup import open_service
from plantos.reports import (
    ReportFormat,
    ReportSources,
    build_report,
    day_range,
    filename,
    render,
    shift_range,
)
from tests.support.report_plant import (
    BENCH,
    DAY,
    DOWN,
    EARLY,
    LATE,
    LOCAL_DAY,
    M1,
    M2,
    NOW,
    S,
    overlap,
    parts,
    running,
    write_site,
)

Window = tuple[int, int]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_site(tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def sources(site: Path) -> Iterator[ReportSources]:
    plant = load_plant(site)
    data = site.parent / "data"
    historian = open_plant_historian(plant, data)
    mom = open_service(plant, data_dir=data, clock=ManualClock(NOW))
    try:
        yield ReportSources(
            plant, historian, analytics_spec(plant)[1], read_reasons(data / REASONS_FILE), mom
        )
    finally:
        historian.close()
        mom.engine.dispose()


def report(sources: ReportSources, kind: str, **query: Any) -> dict[str, Any]:
    if kind == "shift":
        rng = shift_range(sources.plant, "site-1", query.get("shift"), query.get("date"),
                          now_ns=NOW)  # fmt: skip
    else:
        rng = day_range(sources.plant, "site-1", query.get("date"), now_ns=NOW)
    return build_report(sources, rng, now_ns=NOW)


def made(asset: str | None, window: Window, *, order: str | None = None) -> tuple[int, int]:
    """Good and scrap the schedule makes in the window (on an asset, or for an order)."""
    picked = [p for p in parts() if window[0] <= p.ts_ns < window[1]]
    if order is not None:
        picked = [p for p in picked if _order_of(p.asset, p.ts_ns) == order]
    elif asset is not None:
        picked = [p for p in picked if p.asset == asset]
    return sum(not p.scrap for p in picked), sum(p.scrap for p in picked)


def _order_of(asset: str, ts_ns: int) -> str:
    if asset == M1:
        return "A"
    m2 = [p.ts_ns for p in parts() if p.asset == M2]
    return "B" if ts_ns <= m2[39] else "C"


def by(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {r[key]: r for r in rows}


def check_assets(got: list[dict[str, Any]], window: Window) -> None:
    assets = by(got, "asset")
    assert set(assets) == {M1, M2, BENCH}
    for asset in (M1, M2):
        a = assets[asset]
        run_s = overlap(running(asset), *window) / S
        down_s = overlap([DOWN], *window) / S if asset == M1 else 0.0
        planned_s = (overlap([EARLY], *window) + overlap([LATE], *window)) / S
        good, scrap = made(asset, window)
        assert (a["good"], a["scrap"]) == (good, scrap)
        assert a["runtime_s"] == run_s and a["downtime_s"] == down_s
        assert a["downtime_by_reason_s"] == ({"jam": down_s} if down_s else {})
        assert a["availability"] == pytest.approx(run_s / planned_s)
        assert a["performance"] == pytest.approx((good + scrap) * 600 / run_s)
        assert a["quality"] == pytest.approx(good / (good + scrap))
        assert a["oee"] == pytest.approx(a["availability"] * a["performance"] * a["quality"])
    assert assets[BENCH]["oee_known"] is False and assets[BENCH]["good"] is None
    assert assets[M1]["oee_known"] is True


def check_orders(got: list[dict[str, Any]], window: Window, expected: dict[str, float]) -> None:
    """``expected``: order to the seconds it ran in the window."""
    orders = by(got, "order")
    assert set(orders) == set(expected)
    for order_id, runtime_s in expected.items():
        line = orders[order_id]
        good, scrap = made(None, window, order=order_id)
        assert (line["good"], line["scrap"]) == (good, scrap), order_id
        assert line["yield"] == pytest.approx(good / (good + scrap))
        assert line["runtime_s"] == runtime_s
        assert line["operations"] == ["mix"]
        assert line["assets"] == [M1 if order_id == "A" else M2]
        to_date = made(None, (0, window[1]), order=order_id)
        assert (line["good_to_date"], line["scrap_to_date"]) == to_date


def test_shift_report_matches_the_schedule(sources: ReportSources) -> None:
    got = report(sources, "shift", shift="early", date=DAY)
    assert (got["report"], got["site"], got["period"]) == ("shift", "site-1", f"{DAY} early")
    assert (got["from"], got["to"]) == (iso(EARLY[0]), iso(EARLY[1]))
    assert got["from_local"] == f"{DAY}T06:00:00+01:00" and got["timezone"] == "Europe/Berlin"
    assert got["complete"] is True
    check_assets(got["assets"], EARLY)
    check_orders(got["orders"], EARLY, {"A": 8 * 3600.0, "B": 8 * 3600.0})
    good, scrap = made(None, EARLY)
    assert (got["totals"]["good"], got["totals"]["scrap"]) == (good, scrap)
    assert [s["shift"] for s in got["shifts"]] == ["early"]


def test_daily_report_has_both_shifts_and_sums_to_the_day(sources: ReportSources) -> None:
    got = report(sources, "daily", date=DAY)
    assert (got["from"], got["to"]) == (iso(LOCAL_DAY[0]), iso(LOCAL_DAY[1]))
    check_assets(got["assets"], LOCAL_DAY)
    b_done = [p.ts_ns for p in parts() if p.asset == M2][39]
    c_start = b_done + 900 * S
    check_orders(
        got["orders"],
        LOCAL_DAY,
        {
            "A": (LOCAL_DAY[1] - EARLY[0]) / S,
            "B": (b_done - EARLY[0]) / S,
            "C": (LOCAL_DAY[1] - c_start) / S,
        },
    )
    early, late = got["shifts"]
    assert (early["shift"], late["shift"]) == ("early", "late")
    late_runs = {"A": 8 * 3600.0, "B": (b_done - LATE[0]) / S, "C": (LATE[1] - c_start) / S}
    check_orders(late["orders"], LATE, late_runs)
    for key in ("good", "scrap"):
        assert early[key] + late[key] == got["totals"][key]
    assert got["totals"]["oee"]["downtime_by_reason_s"] == {"jam": 3600.0}
    assert late["oee"]["downtime_s"] == 0.0


def test_last_completed_shift_and_yesterday(sources: ReportSources) -> None:
    last = shift_range(sources.plant, "site-1", None, None, now_ns=LATE[1] + 60 * S)
    assert (last.name, last.start_ns, last.end_ns) == (f"{DAY} late", *LATE)
    yesterday = day_range(sources.plant, "site-1", None, now_ns=LOCAL_DAY[1] + 3600 * S)
    assert (yesterday.name, yesterday.start_ns) == (DAY, LOCAL_DAY[0])
    running_shift = shift_range(sources.plant, "site-1", "late", DAY, now_ns=LATE[0] + 60 * S)
    assert running_shift.complete is False and running_shift.end_ns == LATE[0] + 60 * S


@pytest.mark.parametrize(
    ("query", "error", "says"),
    [
        (
            {"site": "site-9"},
            UnknownTagError,
            "no site 'site-9' in the plant model (known: site-1)",
        ),
        ({"shift": "night"}, UnknownTagError, "no shift 'night' (its shifts: early, late)"),
        ({"date": "05.12.2026"}, QueryError, "calendar day like 2026-12-05"),
        ({"date": "2025-03-05"}, QueryError, "has not begun yet"),
        ({"shift": None}, QueryError, "name both the shift and the date, or neither"),
    ],
)
def test_bad_requests_say_why(
    sources: ReportSources, query: dict[str, str | None], error: type[Exception], says: str
) -> None:
    ask = {"site": "site-1", "shift": "early", "date": DAY} | query
    with pytest.raises(error) as raised:
        shift_range(sources.plant, ask["site"] or "", ask["shift"], ask["date"], now_ns=NOW)
    assert says in str(raised.value)


def test_csv_rows_carry_the_report(sources: ReportSources) -> None:
    got = report(sources, "daily", date=DAY)
    text = render(got, ReportFormat.csv).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    sections = [r["section"] for r in rows]
    assert sections.count("shift") == 2 and sections.count("total") == 1
    orders = {r["order"]: r for r in rows if r["section"] == "order"}
    assert {k: int(v["good"]) for k, v in orders.items()} == {
        o["order"]: o["good"] for o in got["orders"]
    }
    assert orders["A"]["assets"] == M1 and orders["A"]["operations"] == "mix"
    downtime = [r for r in rows if r["section"] == "downtime"]
    assert [(r["asset"], r["reason"], float(r["downtime_s"])) for r in downtime] == [
        (M1, "jam", 3600.0)
    ]
    assets = {r["asset"]: r for r in rows if r["section"] == "asset"}
    assert float(assets[M1]["availability"]) == pytest.approx(15 / 16)
    assert assets[BENCH]["oee"] == ""
    assert filename(got, ReportFormat.csv) == f"daily-report-site-1-{DAY}.csv"


def test_xlsx_cells_hold_the_figures(sources: ReportSources) -> None:
    got = report(sources, "shift", shift="early", date=DAY)
    book = load_workbook(io.BytesIO(render(got, ReportFormat.xlsx)))
    assert book.sheetnames == ["Summary", "Shifts", "Orders", "Shift orders", "Assets", "Downtime"]
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True)}
    assert summary["period"] == f"{DAY} early" and summary["site"] == "site-1"
    sheet = list(book["Orders"].iter_rows(values_only=True))
    header, lines = sheet[0], [dict(zip(sheet[0], r, strict=True)) for r in sheet[1:]]
    assert "good" in header and "runtime_s" in header
    expected = {order: made(None, EARLY, order=order)[0] for order in ("A", "B")}
    assert {line["order"]: line["good"] for line in lines} == expected
    assert [line["runtime_s"] for line in lines] == [8 * 3600, 8 * 3600]  # numbers, not text
    downtime = list(book["Downtime"].iter_rows(values_only=True))
    assert downtime == [("asset", "reason", "downtime_s"), (M1, "jam", 3600.0)]
    assert filename(got, ReportFormat.xlsx) == f"shift-report-site-1-{DAY}-early.xlsx"
