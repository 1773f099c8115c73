"""The operations database goes away while parts are made: the counts read meanwhile
wait and are booked once it is back, every part once, and the samples queue keeps
draining, so the bus is never held; beyond the limit of waiting counts, the oldest are
given up and counted. A real PostgreSQL database whose connections are refused and cut,
then allowed again."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from plantos.bus.protocol import EVENTS, SAMPLES
from plantos.mom import runtime as runtime_module
from plantos.mom.domain.commands import NewOrder
from plantos.mom.store import open_engine
from tests.support.mom_db import PG_ADMIN, fresh_postgres
from tests.support.waiting import until
from tests.unit.test_mom_runtime import M1, NS, T0, build, counter

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def database(migrated_postgres: str) -> Iterator[str]:
    with fresh_postgres(template=migrated_postgres) as url:
        yield url


def outage(name: str, *, down: bool) -> None:
    """Refuse new connections to ``name`` and cut the open ones, or allow them again."""
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(not down).lower()}')
        if down:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )


def through_outage(tmp_path: Path, database: str, *, during: int) -> tuple[int, dict[str, Any]]:
    """Counter batches of one part each: 5 booked, ``during`` while the database is away
    (the queue must keep draining), 5 once it is back; the good total booked and the
    runtime's metrics once nothing waits."""
    engine = open_engine(database)
    runtime, bus, ids, _ = build(tmp_path, engine=engine)
    runtime.service.create_orders([NewOrder("o-1", "paint", 1000, T0 + 3600 * NS, T0)])
    name = database.rsplit("/", 1)[1]
    before, after = 5, 5

    async def run() -> None:
        samples = bus.subscribe(SAMPLES, name="mom", maxsize=4)
        tasks = [
            asyncio.create_task(consume())
            for consume in runtime.stages(samples, bus.subscribe(EVENTS, name="floor")).values()
        ]
        value = 0.0
        for i in range(before):
            await bus.publish(SAMPLES, counter(ids, M1, i, [value]))
            value += 1
        await until(lambda: runtime.metrics().get("parts_booked", 0) == before - 1)
        outage(name, down=True)
        try:
            for i in range(before, before + during):
                await bus.publish(SAMPLES, counter(ids, M1, i, [value]))
                value += 1
                await asyncio.sleep(0.01)
            await until(lambda: runtime.metrics().get("counts_waiting", 0) > 0)
            assert samples.depth <= 4, "the queue drains while the database is away"
        finally:
            outage(name, down=False)
        for i in range(before + during, before + during + after):
            await bus.publish(SAMPLES, counter(ids, M1, i, [value]))
            value += 1
        await until(lambda: runtime.metrics()["counts_waiting"] == 0, timeout=20)
        await bus.close()
        await asyncio.gather(*tasks)

    try:
        asyncio.run(run())
        return runtime.service.order("o-1").good_total, runtime.metrics()
    finally:
        engine.dispose()


def test_counts_made_while_the_database_is_away_are_booked_once_it_is_back(
    tmp_path: Path, database: str
) -> None:
    good, m = through_outage(tmp_path, database, during=30)
    parts = 5 + 30 + 5 - 1  # the first reading is the counter's start
    assert good == parts, "every part booked once"
    assert m["parts_booked"] == parts and m["count_errors"] >= 1
    assert m.get("counts_dropped", 0) == 0


def test_beyond_the_limit_the_oldest_waiting_counts_are_given_up_and_counted(
    tmp_path: Path, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime_module, "UNBOOKED_LIMIT", 10)
    good, m = through_outage(tmp_path, database, during=30)
    dropped = m["counts_dropped"]
    assert dropped >= 20, "at most 10 counts waited"
    assert good == 5 + 30 + 5 - 1 - dropped, "what was not given up is booked, once"
