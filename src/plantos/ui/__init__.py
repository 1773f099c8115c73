"""Server-rendered pages and vendored static assets (no CDN: plants are often air-gapped)."""

from __future__ import annotations

from fastapi import FastAPI


def install_ui(app: FastAPI) -> None:
    """Mount the pages and static files on ``app``."""
