"""A dispatcher process for the kill test: drains the outbox of the operations database
at argv[1] to the webhook receiver on port argv[2] until it is killed."""

from __future__ import annotations

import asyncio
import sys

from sqlalchemy import Engine

from plantos.core.clock import WallClock
from plantos.integration.channels.retry import RetryPolicy
from plantos.integration.channels.webhook import WebhookChannel
from plantos.integration.erp.outbox.dispatcher import Connector, OutboxDispatcher
from plantos.integration.erp.outbox.store import DeliveryStore
from plantos.mom.store.engine import open_engine
from tests.support.erp_receiver import SECRET


def dispatcher(
    engine: Engine, port: int, *, batch_size: int = 100, poll_interval_s: float = 0.05
) -> OutboxDispatcher:
    clock = WallClock()
    channel = WebhookChannel(
        f"http://127.0.0.1:{port}/erp", secret=SECRET, clock=clock, name="erp", max_in_flight=4
    )
    connector = Connector(
        "erp", channel, retry=RetryPolicy(initial_s=0.05, max_s=0.2), batch_size=batch_size
    )
    store = DeliveryStore(engine, clock=clock)
    return OutboxDispatcher(store, [connector], poll_interval_s=poll_interval_s)


if __name__ == "__main__":
    asyncio.run(dispatcher(open_engine(sys.argv[1]), int(sys.argv[2]), batch_size=4).run())
