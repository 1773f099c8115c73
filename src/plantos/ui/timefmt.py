"""Time for people: local plant time, 24-hour, with the zone (``2026-12-06 16:31:58 CET``).

The API speaks ISO 8601 in UTC; pages speak the time of the plant a thing is in: an
alarm on a mill in Stuttgart in Berlin time, a stop in Chicago in Chicago time, whatever
the zone of the browser. A path's zone is the zone of its site's shift calendar; a
path above the sites (the enterprise) takes the first site's, and a plant without
calendars shows UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from plantos.core.timeunits import NS_PER_S as NS
from plantos.model import Plant

_UTC = ZoneInfo("UTC")


def zone_of(plant: Plant, path: str = "") -> ZoneInfo:
    """The time zone of ``path`` (a node, asset or tag), from its assets' calendar."""
    path = path.strip("/")
    for asset in plant.assets:
        inside = not path or asset == path or asset.startswith(path + "/")
        if inside or path.startswith(asset + "/"):
            calendar = plant.calendar_for(asset)
            if calendar is not None:
                return calendar.tz
    return _UTC


def human_time(ts_ns: int | None, zone: ZoneInfo) -> str:
    """``ts_ns`` in ``zone``, to the second, with the zone's abbreviation; '' for None.

    >>> human_time(1_767_592_800 * NS, ZoneInfo("Europe/Berlin"))
    '2026-01-05 07:00:00 CET'
    """
    if ts_ns is None:
        return ""
    local = datetime.fromtimestamp(ts_ns / NS, tz=UTC).astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M:%S %Z")


def human_age(seconds: float | None) -> str:
    """A span for people, as the pages' script writes ages: ``now``, ``42 s``, ``7 min``,
    ``3 h 5 min``, ``4 d``; '' for None.

    >>> human_age(3 * 3600 + 5 * 60 + 9)
    '3 h 5 min'
    """
    if seconds is None:
        return ""
    s = max(0.0, seconds)
    if s < 1:
        return "now"
    if s < 60:
        return f"{int(s)} s"
    minutes = int(s // 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes // (24 * 60)} d"


def short_asset(path: str | None) -> str:
    """An asset for a narrow column: its site and its own id, as the pages' script
    writes it.

    >>> short_asset("plant-a/machining/line-1/cnc-07")
    'plant-a · cnc-07'
    """
    if not path:
        return ""
    parts = path.split("/")
    return f"{parts[0]} · {parts[-1]}" if len(parts) > 2 else path


def parse_iso_ns(text: str | None) -> int | None:
    """Nanoseconds of an ISO 8601 time as the API writes it (``...Z``); None for None."""
    if not text:
        return None
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * NS)
