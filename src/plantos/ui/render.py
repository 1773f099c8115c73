"""Rendering a page: the Jinja2 templates, the context every page shares, and the
security headers every page carries."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from plantos.api.auth import SESSION_COOKIE, csrf_token, platform_of
from plantos.core.clock import WallClock
from plantos.model import Plant
from plantos.ui.timefmt import human_age, human_time, parse_iso_ns, short_asset, zone_of

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")

# Scripts only from our own origin and no inline script; uPlot sizes its parts
# through element styles, hence 'unsafe-inline' for styles only.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def clock_speed(request: Request) -> float | None:
    """How fast platform time runs against the wall, if the clock says (1 for the wall)."""
    clock = platform_of(request).clock
    if isinstance(clock, WallClock):
        return 1.0
    speed = getattr(clock, "speed", None)
    return float(speed) if isinstance(speed, int | float) else None


@cache
def static_version() -> str:
    """A digest of our own static files, appended to their URLs so a new release is not
    hidden behind a browser cache."""
    digest = hashlib.sha256()
    for path in sorted(p for p in STATIC_DIR.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(STATIC_DIR)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


class PlantTime:
    """``when(ts, path)`` in templates: a time (ns or ISO 8601) in the plant time of ``path``
    (the page's subject when omitted)."""

    def __init__(self, plant: Plant, default_path: str) -> None:
        self.plant = plant
        self.default_path = default_path

    def __call__(self, ts: int | str | None, path: str | None = None) -> str:
        ts_ns = parse_iso_ns(ts) if isinstance(ts, str) else ts
        zone = zone_of(self.plant, self.default_path if path is None else path)
        return human_time(ts_ns, zone)


def page(
    request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """Render template ``name`` with the shared context (platform time, who is signed in).
    ``zone_path`` (else ``path``) in ``context`` names the page's subject: times show in
    its plant's zone."""
    platform = platform_of(request)
    identity = getattr(request.state, "identity", None)
    subject = context.get("zone_path") or context.get("path")
    zone_path = subject if isinstance(subject, str) else ""
    shared = {
        "tz": zone_of(platform.plant, zone_path).key,
        "when": PlantTime(platform.plant, zone_path),
        "age": human_age,
        "short_asset": short_asset,
        "enterprise": platform.plant.root.name if identity else None,
        "identity": identity,
        "now_ms": platform.clock.now_ns() // 1_000_000,
        "speed": clock_speed(request),
        "v": static_version(),
        "csrf": csrf_token(request.cookies.get(SESSION_COOKIE, "")) if identity else "",
        "can": identity.may if identity else (lambda permission: False),
    }
    return templates.TemplateResponse(
        request, name, shared | context, status_code=status_code, headers=SECURITY_HEADERS
    )
