"""Historian backends under the one contract suite. Each new backend adds a factory here."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from plantos.historian.duckdb_store import DuckDBHistorian
from plantos.historian.protocol import Historian, Tier

NS = 1_000_000_000
MINUTE = 60 * NS
HOUR = 3600 * NS

HistorianFactory = Callable[..., Historian]


@pytest.fixture(params=["duckdb"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HistorianFactory]:
    """Opens (and reopens) a historian of one backend on the same storage."""
    opened: list[Historian] = []

    def factory(
        tiers: list[Tier] | None = None,
        raw_retention_ns: int | None = None,
        name: str = "history",
        **options: Any,
    ) -> Historian:
        """Open the store called ``name``; the same name reopens the same data."""
        store = DuckDBHistorian(
            tmp_path / f"{name}.duckdb",
            tiers=[Tier(MINUTE, None), Tier(HOUR, None)] if tiers is None else tiers,
            raw_retention_ns=raw_retention_ns,
            **options,
        )
        opened.append(store)
        return store

    yield factory
    for store in opened:
        with contextlib.suppress(Exception):  # closing twice is fine
            store.close()
