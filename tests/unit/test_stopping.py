"""The stop signals of the long-running commands, with real signals sent to this process:
the first asks for a stop, a second forces it, the previous handlers come back, and a
coroutine run until stopped finishes its ``finally`` and returns normally."""

from __future__ import annotations

import asyncio
import signal

import pytest

from plantos.cli.stopping import StopRequests, run_until_stopped, stop_signals


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_the_first_signal_stops_and_a_second_forces(signum: int) -> None:
    calls: list[str] = []
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    requests = StopRequests(
        on_stop=lambda: calls.append("stop"), on_force=lambda: calls.append("force")
    )
    with stop_signals(requests):
        signal.raise_signal(signum)
        assert calls == ["stop"] and not requests.forced
        signal.raise_signal(signal.SIGINT)
        signal.raise_signal(signal.SIGTERM)
    assert calls == ["stop", "force", "force"] and requests.forced
    assert requests.received == [signum, signal.SIGINT, signal.SIGTERM]
    assert {s: signal.getsignal(s) for s in before} == before


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_coroutine_run_until_stopped_closes_and_returns(signum: int) -> None:
    closed: list[bool] = []

    async def gateway() -> None:
        try:
            signal.raise_signal(signum)
            await asyncio.Event().wait()
        finally:
            closed.append(True)

    run_until_stopped(gateway())
    assert closed == [True]


def test_a_coroutine_that_ends_or_fails_by_itself_is_not_a_stop() -> None:
    async def fails() -> None:
        raise RuntimeError("connector gave up")

    async def cancelled() -> None:
        raise asyncio.CancelledError

    run_until_stopped(asyncio.sleep(0))
    with pytest.raises(RuntimeError, match="gave up"):
        run_until_stopped(fails())
    with pytest.raises(asyncio.CancelledError):
        run_until_stopped(cancelled())
