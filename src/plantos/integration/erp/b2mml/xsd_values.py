"""Reading XML Schema values PlantOS receives: ``xsd:dateTime`` and ``xsd:duration``,
strictly (a value PlantOS cannot read exactly is an error, never a guess)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from plantos.integration.erp.errors import MissingFieldError

_DURATION = re.compile(
    r"P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?"
)


def parse_timestamp(text: str, *, where: str) -> datetime:
    """An ``xsd:dateTime``; one without a zone is taken as UTC (ERPs often omit it)."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise MissingFieldError(f"{where}: {text!r} is not an ISO 8601 date and time") from None
    return value if value.utcoffset() is not None else value.replace(tzinfo=UTC)


def parse_duration_s(text: str, *, where: str) -> float:
    """An ``xsd:duration`` of days, hours, minutes and seconds, in seconds; years and
    months (whose length varies) are refused."""
    match = _DURATION.fullmatch(text)
    if match is None or text in ("P", "PT") or text.endswith("T"):
        raise MissingFieldError(
            f"{where}: Duration {text!r} is not an xsd:duration in days/hours/minutes/seconds"
        )
    parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    return parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]
