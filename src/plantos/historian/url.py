"""Choose a historian backend from its URL (``duckdb:///path``)."""

from __future__ import annotations

from pathlib import Path

from plantos.historian.protocol import Historian, Tier

DEFAULT_HISTORIAN_URL = "duckdb:///history.duckdb"
"""Where a plant file without ``historian.url`` keeps its history: in the data directory."""


def resolve_duckdb_path(url: str, data_dir: Path) -> Path:
    """``duckdb:///history.duckdb`` is relative to the data directory;
    ``duckdb:////var/lib/x.duckdb`` is absolute."""
    if not url.startswith("duckdb:///"):
        raise ValueError(f"not a DuckDB historian URL: {url!r} (expected duckdb:///FILE)")
    rest = url.removeprefix("duckdb:///")
    path = Path(rest)
    return path if path.is_absolute() else data_dir / path


def open_historian(
    url: str,
    *,
    data_dir: Path,
    tiers: list[Tier],
    raw_retention_ns: int | None,
    read_only: bool = False,
    memory_limit: str = "512MB",
) -> Historian:
    if url.startswith("duckdb://"):
        from plantos.historian.duckdb_store import DuckDBHistorian

        path = resolve_duckdb_path(url, data_dir)
        return DuckDBHistorian(
            path,
            tiers=tiers,
            raw_retention_ns=raw_retention_ns,
            read_only=read_only,
            memory_limit=memory_limit,
        )
    raise ValueError(f"unsupported historian URL {url!r}: use duckdb:///FILE")
