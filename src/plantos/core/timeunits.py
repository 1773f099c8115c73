"""The spans PlantOS counts time in, defined once.

Every timestamp is int64 nanoseconds since the Unix epoch, UTC, and every duration is
int64 nanoseconds; these constants turn seconds, minutes, hours and days into them.

>>> 90 * MINUTE_NS == HOUR_NS + 30 * MINUTE_NS
True
"""

from __future__ import annotations

NS_PER_US = 1_000
NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000
MINUTE_NS = 60 * NS_PER_S
HOUR_NS = 60 * MINUTE_NS
DAY_NS = 24 * HOUR_NS
WEEK_NS = 7 * DAY_NS
