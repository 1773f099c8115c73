"""Supervised bus consumers: a failure is logged, counted and restarted; repeated failure
gives up loudly; closing and stopping never wait on a dead consumer."""

from __future__ import annotations

import asyncio
import logging

import pytest

from plantos.bus.memory import MemoryBus
from plantos.bus.pipeline import Pipeline
from plantos.bus.protocol import SAMPLES, Message
from plantos.bus.supervision import RestartPolicy, StageState, each_message
from plantos.core.batch import SampleBatch
from plantos.core.clock import ManualClock

HANG_GUARD_S = 20.0
"""Only a guard against a hang (the test fails instead of blocking); not a speed limit."""


def batch(n: int, t0: int = 0) -> SampleBatch:
    return SampleBatch.of([1] * n, list(range(t0, t0 + n)), [1.0] * n)


def setup(max_failures: int = 3) -> tuple[MemoryBus, Pipeline]:
    policy = RestartPolicy(backoff_initial_s=0.001, backoff_max_s=0.002, max_failures=max_failures)
    return MemoryBus(), Pipeline(clock=ManualClock(0), policy=policy)


def test_a_consumer_that_fails_once_is_restarted_logged_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> None:
        bus, pipeline = setup()
        sub = bus.subscribe(SAMPLES, name="judge", maxsize=4)
        seen: list[int] = []

        async def handler(msg: Message) -> None:
            assert isinstance(msg, SampleBatch)
            if len(msg) == 2:
                raise RuntimeError("bad judgement")
            seen.append(len(msg))

        stage = pipeline.add("judge", each_message(sub, handler), subscription=sub)
        pipeline.start()
        for n in (1, 2, 3):
            await bus.publish(SAMPLES, batch(n))
        await bus.close()
        await asyncio.wait_for(pipeline.join(), HANG_GUARD_S)
        assert seen == [1, 3]
        assert stage.restarts == 1
        assert stage.failures == 1
        assert stage.state is StageState.STOPPED
        assert stage.last_error is not None
        assert "RuntimeError: bad judgement" in stage.last_error
        assert "a batch of 2 samples" in stage.last_error
        assert pipeline.failure is None

    with caplog.at_level(logging.ERROR, logger="plantos.bus.supervision"):
        asyncio.run(main())
    assert any("judge failed" in r.getMessage() for r in caplog.records)


def test_repeated_failure_gives_up_and_tells_the_process() -> None:
    async def main() -> None:
        bus, pipeline = setup(max_failures=3)
        sub = bus.subscribe(SAMPLES, name="broken", maxsize=8)
        told: list[str] = []
        pipeline.on_failure(told.append)

        async def handler(msg: Message) -> None:
            raise ValueError("always")

        stage = pipeline.add("broken", each_message(sub, handler), subscription=sub)
        pipeline.start()
        for n in range(1, 6):
            await bus.publish(SAMPLES, batch(n))
        await asyncio.wait_for(pipeline.failed.wait(), HANG_GUARD_S)
        assert stage.state is StageState.FAILED
        assert stage.failures == 3
        assert not pipeline.ready
        assert len(told) == 1
        assert "broken failed 3 times in a row" in told[0]
        assert pipeline.failure == told[0]

    asyncio.run(main())


def test_close_and_stop_never_wait_on_a_dead_consumer_with_a_full_queue() -> None:
    async def main() -> None:
        bus, pipeline = setup(max_failures=1)
        dead = bus.subscribe(SAMPLES, name="dead", maxsize=2)
        alive = bus.subscribe(SAMPLES, name="alive", maxsize=2)
        got: list[int] = []

        async def fail(msg: Message) -> None:
            raise RuntimeError("dies")

        async def keep(msg: Message) -> None:
            assert isinstance(msg, SampleBatch)
            got.append(len(msg))

        pipeline.add("dead", each_message(dead, fail), subscription=dead)
        pipeline.add("alive", each_message(alive, keep), subscription=alive)
        pipeline.start()
        for n in (1, 2, 3):
            await bus.publish(SAMPLES, batch(n))
        await asyncio.wait_for(pipeline.failed.wait(), HANG_GUARD_S)
        assert dead.depth == 2  # nobody takes these any more: the queue is full
        await asyncio.wait_for(bus.close(), HANG_GUARD_S)
        await asyncio.wait_for(pipeline.stop(timeout_s=5), HANG_GUARD_S)
        assert got == [1, 2, 3]  # the live consumer took everything queued before the end

    asyncio.run(main())


def test_stop_cancels_a_consumer_stuck_past_the_timeout() -> None:
    async def main() -> None:
        bus, pipeline = setup()
        sub = bus.subscribe(SAMPLES, name="stuck", maxsize=2)

        async def stuck(msg: Message) -> None:
            await asyncio.Event().wait()

        stage = pipeline.add("stuck", each_message(sub, stuck), subscription=sub)
        pipeline.start()
        await bus.publish(SAMPLES, batch(1))
        await bus.close()
        await asyncio.wait_for(pipeline.stop(timeout_s=0.05), HANG_GUARD_S)
        assert stage.state is StageState.STOPPED
        assert stage.task is not None
        assert stage.task.cancelled()

    asyncio.run(main())


def test_health_reports_lag_as_depth_and_age_of_the_oldest_message() -> None:
    async def main() -> None:
        bus, pipeline = setup()
        sub = bus.subscribe(SAMPLES, name="slow", maxsize=8)
        release = asyncio.Event()

        async def slow(msg: Message) -> None:
            await release.wait()

        pipeline.add("slow", each_message(sub, slow), subscription=sub)
        pipeline.start()
        for n in (1, 2, 3):
            await bus.publish(SAMPLES, batch(n))
        await asyncio.sleep(0.01)
        [health] = pipeline.health()
        assert health["stage"] == "slow"
        assert health["state"] == "running"
        assert health["lag"]["depth"] == 2  # one is in the handler's hands
        assert health["lag"]["capacity"] == 8
        assert health["lag"]["oldest_age_s"] > 0
        assert pipeline.ready
        release.set()
        await bus.close()
        await asyncio.wait_for(pipeline.join(), HANG_GUARD_S)
        assert pipeline.health()[0]["lag"]["depth"] == 0
        assert pipeline.health()[0]["lag"]["oldest_age_s"] == 0

    asyncio.run(main())


def test_a_second_consumer_of_the_same_name_is_refused() -> None:
    bus, pipeline = setup()
    sub = bus.subscribe(SAMPLES, name="x")

    async def noop(msg: Message) -> None:
        return None

    pipeline.add("x", each_message(sub, noop), subscription=sub)
    with pytest.raises(ValueError, match="already supervised"):
        pipeline.add("x", each_message(sub, noop), subscription=sub)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"backoff_initial_s": 0}, "backoff_initial_s"),
        ({"backoff_initial_s": 2, "backoff_max_s": 1}, "backoff_initial_s"),
        ({"max_failures": 0}, "max_failures"),
    ],
)
def test_restart_policy_refuses_nonsense(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RestartPolicy(**kwargs)  # type: ignore[arg-type]


def test_a_consumer_that_returns_while_the_stream_goes_on_has_failed() -> None:
    async def main() -> None:
        bus, pipeline = setup(max_failures=2)
        sub = bus.subscribe(SAMPLES, name="quitter", maxsize=4)

        async def quit_early() -> None:
            await sub.get()

        stage = pipeline.add("quitter", quit_early, subscription=sub)
        pipeline.start()
        for n in (1, 2, 3):
            await bus.publish(SAMPLES, batch(n))
        await asyncio.wait_for(pipeline.failed.wait(), HANG_GUARD_S)
        assert stage.state is StageState.FAILED
        assert stage.last_error == "RuntimeError: the consumer returned while its stream goes on"

    asyncio.run(main())


def test_a_stage_waiting_out_its_back_off_stops_when_told() -> None:
    async def main() -> None:
        bus = MemoryBus()
        slow = RestartPolicy(backoff_initial_s=60, backoff_max_s=60, max_failures=5)
        pipeline = Pipeline(clock=ManualClock(0), policy=slow)
        sub = bus.subscribe(SAMPLES, name="flaky", maxsize=4)

        async def fail(msg: Message) -> None:
            raise RuntimeError("flaky")

        stage = pipeline.add("flaky", each_message(sub, fail), subscription=sub)
        pipeline.start()
        await bus.publish(SAMPLES, batch(1))
        while stage.state is not StageState.RESTARTING:
            await asyncio.sleep(0.001)
        assert not pipeline.ready
        await asyncio.wait_for(pipeline.stop(timeout_s=0.01), HANG_GUARD_S)
        assert stage.state is StageState.STOPPED

    asyncio.run(main())
