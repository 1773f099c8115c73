"""The time range of a report: one shift of a site's calendar, or one calendar day in the
site's time zone.

A report is about a site, so its shifts and its day come from the site's calendar (the
line's or asset's when the site names none but its assets agree on one). A range that
has not begun is refused; one still running is reported up to now and marked incomplete,
so a production manager can look at the shift in progress.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from plantos.core.errors import QueryError, UnknownTagError
from plantos.core.timeunits import NS_PER_S as NS
from plantos.model.calendar import ShiftCalendar
from plantos.model.plant import Node, Plant

LOOK_BACK_DAYS = 8
"""How far back "the last completed shift" is looked for: a week of shifts and a day."""


class UnknownReportSubjectError(UnknownTagError):
    """A site or shift the plant model does not have: answered 404."""


@dataclass(frozen=True, slots=True)
class ReportRange:
    """``[start_ns, end_ns)`` of a report on ``site``; ``complete`` is false while it runs."""

    kind: str
    site: Node
    name: str
    start_ns: int
    end_ns: int
    calendar: ShiftCalendar | None
    complete: bool = True

    @property
    def timezone(self) -> str:
        return str(self.calendar.tz) if self.calendar is not None else "UTC"


def site_node(plant: Plant, site: str) -> Node:
    """The site named ``site`` (its id or path); 404 naming the known sites."""
    sites = [n for n in plant.iter_nodes() if n.level == "site"]
    for node in sites:
        if site.strip("/") in (node.path, node.id):
            return node
    known = ", ".join(sorted(n.path for n in sites)) or "none"
    raise UnknownReportSubjectError(f"no site {site!r} in the plant model (known: {known})")


def site_calendar(plant: Plant, site: Node) -> ShiftCalendar | None:
    """The site's calendar, else the one calendar all its assets follow, else none."""
    spec = next((s for s in plant.spec.sites if s.id == site.id), None)
    if spec is not None and spec.calendar:
        return plant.calendars[spec.calendar]
    names = {a.calendar for p, a in plant.assets.items() if p.startswith(f"{site.path}/")}
    if len(names) == 1 and (name := names.pop()) is not None:
        return plant.calendars[name]
    return None


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise QueryError(f"date must be a calendar day like 2026-12-05, got {text!r}") from None


def shift_range(
    plant: Plant, site: str, shift: str | None, day: str | None, *, now_ns: int
) -> ReportRange:
    """The shift ``shift`` that starts on ``day`` (local), or without both the last
    shift of the site that has ended by ``now_ns``."""
    node = site_node(plant, site)
    calendar = site_calendar(plant, node)
    if calendar is None:
        raise QueryError(f"site {node.path!r} has no shift calendar: ask for a daily report")
    if shift is None and day is None:
        ended = [
            s
            for s in calendar.shifts_between(now_ns - LOOK_BACK_DAYS * 86_400 * NS, now_ns)
            if s.end_ns <= now_ns
        ]
        if not ended:
            raise QueryError(f"no shift of site {node.path!r} has ended yet")
        last = ended[-1]
        return _shift(node, calendar, last.name, _local_day(calendar, last.start_ns), now_ns)
    if shift is None or day is None:
        raise QueryError("name both the shift and the date, or neither (the last shift)")
    names = [s.name for s in calendar.spec.shifts]
    if shift not in names:
        raise UnknownReportSubjectError(
            f"site {node.path!r} has no shift {shift!r} (its shifts: {', '.join(names)})"
        )
    return _shift(node, calendar, shift, parse_day(day), now_ns)


def _shift(node: Node, calendar: ShiftCalendar, shift: str, day: date, now_ns: int) -> ReportRange:
    begin, end = _day_bounds(day, calendar.tz)
    found = [
        s
        for s in calendar.shifts_between(begin, end)
        if s.name == shift and _local_day(calendar, s.start_ns) == day
    ]
    if not found:
        raise QueryError(f"shift {shift!r} does not run on {day:%A} {day.isoformat()}")
    name, span = f"{day.isoformat()} {shift}", found[0]
    return _bounded("shift", node, name, span.start_ns, span.end_ns, calendar, now_ns)


def day_range(plant: Plant, site: str, day: str | None, *, now_ns: int) -> ReportRange:
    """The calendar day ``day`` in the site's time zone (UTC without a calendar); without
    ``day``, the last whole day before ``now_ns``."""
    node = site_node(plant, site)
    calendar = site_calendar(plant, node)
    tz = calendar.tz if calendar is not None else ZoneInfo("UTC")
    wanted = parse_day(day) if day else _local_day(calendar, now_ns) - timedelta(days=1)
    start_ns, end_ns = _day_bounds(wanted, tz)
    return _bounded("daily", node, wanted.isoformat(), start_ns, end_ns, calendar, now_ns)


def _bounded(
    kind: str,
    node: Node,
    name: str,
    start_ns: int,
    end_ns: int,
    calendar: ShiftCalendar | None,
    now_ns: int,
) -> ReportRange:
    if start_ns >= now_ns:
        raise QueryError(f"{name} has not begun yet: a report covers what happened")
    complete = end_ns <= now_ns
    return ReportRange(kind, node, name, start_ns, min(end_ns, now_ns), calendar, complete)


def _local_day(calendar: ShiftCalendar | None, ts_ns: int) -> date:
    tz = calendar.tz if calendar is not None else UTC
    return datetime.fromtimestamp(ts_ns / NS, tz=UTC).astimezone(tz).date()


def _day_bounds(day: date, tz: ZoneInfo) -> tuple[int, int]:
    """Local midnight to the next one (23 or 25 h on a DST change)."""
    a = datetime.combine(day, time(), tz)
    b = datetime.combine(day + timedelta(days=1), time(), tz)
    return int(a.timestamp()) * NS, int(b.timestamp()) * NS
