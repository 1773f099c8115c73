"""The outbox dispatcher against a real webhook receiver that honours idempotency keys,
on SQLite and PostgreSQL: an outage fills the outbox and every message then takes
effect exactly once, in order per order; a refused message goes to the dead letters
alone and comes back by replay; a dispatcher killed with SIGKILL loses nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from plantos.core.clock import ManualClock, WallClock
from plantos.core.events import PartsCounted
from plantos.integration.erp.outbox.dispatcher import OutboxDispatcher
from plantos.integration.erp.outbox.store import DeliveryStore
from plantos.mom.store.engine import open_engine, resolve_url
from plantos.mom.store.migrate import upgrade
from plantos.mom.store.uow import SqlUnitOfWork
from tests.support.erp_dispatch_child import dispatcher
from tests.support.erp_receiver import ErpReceiver, serving
from tests.support.mom_db import mom_database
from tests.support.mosquitto import free_port
from tests.support.waiting import until

pytestmark = pytest.mark.timeout(90)
REPO = Path(__file__).resolve().parents[2]
ORDERS = 3
PER_ORDER = 8


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with mom_database(request.param, tmp_path) as url:
        resolved = resolve_url(url, data_dir=tmp_path)
        engine = open_engine(resolved)
        try:
            upgrade(engine)
            write_production(engine)
        finally:
            engine.dispose()
        yield resolved


@pytest.fixture
def engine(database: str) -> Iterator[sa.Engine]:
    engine = open_engine(database)
    yield engine
    engine.dispose()


def write_production(engine: sa.Engine, *, expect_total: int = ORDERS * PER_ORDER) -> None:
    """Counts for three orders; each commit books two counts of one order at one instant,
    so their order comes from the outbox's insertion order, not from the time."""
    clock = ManualClock(1_700_000_000 * 10**9)
    for n in range(0, PER_ORDER, 2):
        for order in range(ORDERS):
            with SqlUnitOfWork(engine, clock=clock) as uow:
                for good in (n, n + 1):
                    uow.record(PartsCounted(ts_ns=0, subject=f"40{order}", good=good, scrap=0))
                uow.commit()
    assert count_outbox(engine) == expect_total


def count_outbox(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM mom_outbox")).scalar_one())


def status(run: OutboxDispatcher) -> dict[str, object]:
    return run.store.status("erp")


def in_order(receiver: ErpReceiver) -> None:
    assert len(receiver.sequence) == ORDERS
    for order, goods in receiver.sequence.items():
        assert goods == sorted(goods), order


def test_after_an_outage_every_message_takes_effect_once_in_order(
    database: str, engine: sa.Engine
) -> None:
    receiver, port = ErpReceiver(), free_port()
    run = dispatcher(engine, port)
    total = ORDERS * PER_ORDER

    async def scenario() -> None:
        task = asyncio.create_task(run.run())
        await until(lambda: run.connectors[0].counts["retried"] >= ORDERS * 2, timeout=20)
        down = await asyncio.to_thread(status, run)
        assert down["pending"] == total and down["delivered"] == 0
        assert "cannot reach" in str(down["last_error"])
        with serving(receiver, port):
            await until(lambda: len(receiver.effects) == total, timeout=30)
            await until(lambda: status(run)["delivered"] == total, timeout=10)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())
    assert len(receiver.effects) == total
    in_order(receiver)
    assert status(run)["pending"] == 0 and status(run)["lag_s"] == 0.0


def test_a_refused_message_is_dead_lettered_alone_and_replayed(
    database: str, engine: sa.Engine
) -> None:
    receiver, port = ErpReceiver(), free_port()
    receiver.refuse = lambda env: "unknown order 401" if env["payload"]["good"] == 3 else None
    run = dispatcher(engine, port)
    total = ORDERS * PER_ORDER

    async def drain(expected: int) -> None:
        task = asyncio.create_task(run.run())
        await until(lambda: len(receiver.effects) == expected, timeout=30)
        await until(lambda: status(run)["pending"] == 0, timeout=10)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    with serving(receiver, port):
        asyncio.run(drain(total - ORDERS))
        dead = run.store.dead_letters("erp")
        assert sorted(d.ordering_key for d in dead) == ["400", "401", "402"]
        assert {d.error for d in dead} == {"HTTP 400: unknown order 401"}
        assert all(d.payload["good"] == 3 and d.attempts == 1 for d in dead)
        assert status(run)["dead"] == ORDERS
        receiver.refuse = lambda env: None  # the ERP's master data was corrected
        assert run.store.replay("erp", keys=[dead[0].key]) == 1
        asyncio.run(drain(total - ORDERS + 1))
        assert run.store.replay("erp") == ORDERS - 1
        asyncio.run(drain(total))
    assert status(run)["dead"] == 0 and status(run)["delivered"] == total


def test_a_dispatcher_killed_mid_delivery_loses_nothing_and_books_nothing_twice(
    database: str, engine: sa.Engine
) -> None:
    receiver, port = ErpReceiver(), free_port()
    receiver.delay_s = 0.05
    total = ORDERS * PER_ORDER
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{REPO}"}
    with serving(receiver, port):
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.support.erp_dispatch_child", database, str(port)],
            cwd=REPO, env=env,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while len(receiver.effects) < total // 3 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert len(receiver.effects) >= total // 3, "the child delivered nothing"
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(10)
        assert len(receiver.effects) < total, "killed too late to test anything"
        run = dispatcher(engine, port)

        async def resume() -> None:
            task = asyncio.create_task(run.run())
            await until(lambda: status(run)["delivered"] == total, timeout=30)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

        asyncio.run(resume())
    assert len(receiver.effects) == total
    in_order(receiver)


def test_an_order_the_receiver_keeps_failing_does_not_stall_the_others(
    database: str, engine: sa.Engine
) -> None:
    receiver, port = ErpReceiver(), free_port()
    receiver.answer_status = 503
    receiver.refuse = lambda env: "busy" if env["ordering_key"] == "401" else None
    run = dispatcher(engine, port, batch_size=4)  # smaller than one order's backlog

    async def scenario() -> None:
        task = asyncio.create_task(run.run())
        # the receiver books a message before the dispatcher records its answer: wait for both
        await until(lambda: len(receiver.effects) == (ORDERS - 1) * PER_ORDER, timeout=30)
        await until(lambda: status(run)["pending"] == PER_ORDER, timeout=30)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    with serving(receiver, port):
        asyncio.run(scenario())
    assert set(receiver.sequence) == {"400", "402"}
    in_order_each = [goods == sorted(goods) for goods in receiver.sequence.values()]
    assert all(in_order_each)
    state = status(run)
    assert state["pending"] == PER_ORDER and state["dead"] == 0
    assert state["last_error"] == "HTTP 503: busy"
    assert len(set(receiver.refused)) == 1  # only the order's first message was tried


def test_messages_written_later_are_enrolled_once(database: str, engine: sa.Engine) -> None:
    store = DeliveryStore(engine, clock=WallClock())
    assert store.enrol("erp") == ORDERS * PER_ORDER
    assert store.enrol("erp") == 0
    write_production(engine, expect_total=2 * ORDERS * PER_ORDER)
    assert store.enrol("erp") == ORDERS * PER_ORDER
    assert store.enrol("erp", kinds=frozenset({"PartsCounted"})) == 0
    assert store.enrol("other", kinds=frozenset({"OrderReleased"})) == 0
    assert store.status("erp")["pending"] == 2 * ORDERS * PER_ORDER


def test_lag_is_the_age_of_the_oldest_pending_fact_on_the_plants_clock(
    database: str, engine: sa.Engine
) -> None:
    # the plant's clock (simulated, as in the live demo) stamped the outbox far from
    # the wall clock the deliveries follow: the lag is taken on the plant's clock
    facts = ManualClock((1_700_000_000 + 90) * 10**9)
    store = DeliveryStore(engine, clock=WallClock(), facts=facts)
    store.enrol("erp")
    state = store.status("erp")
    assert state["lag_s"] == 90.0
    assert state["last_delivered_at"] is None and state["last_delivered_age_s"] is None


def test_a_commit_with_outbox_rows_wakes_the_dispatcher_at_once(
    database: str, engine: sa.Engine
) -> None:
    """The dispatcher polls once a minute here: what is delivered within the test's bounded
    wait came because the commit woke it, not because it polled."""
    receiver, port = ErpReceiver(), free_port()
    run = dispatcher(engine, port, poll_interval_s=60.0)
    run.wake_on_commits(engine)
    total = ORDERS * PER_ORDER

    async def scenario() -> None:
        with serving(receiver, port):
            task = asyncio.create_task(run.run())
            await until(lambda: len(receiver.effects) == total, timeout=20)
            await asyncio.sleep(0.2)  # the dispatcher is waiting for news now
            await asyncio.to_thread(write_production, engine, expect_total=2 * total)
            await until(lambda: len(receiver.effects) == 2 * total, timeout=20)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())
