"""The live demo's ERP: a reference webhook receiver (:mod:`plantos.integration.erp.receiver`)
on 127.0.0.1, started and stopped with the demo, and the connector that delivers the
plant's ERP messages to it, signed with a secret made for this run. The integrations page
and ``GET /api/v1/erp/connectors`` then show real deliveries, and ``GET`` on the
receiver's URL what it booked.

A connector configured in an ``erp.yaml`` beside the plant file keeps working: the demo's
connector joins it.
"""

from __future__ import annotations

import secrets
from functools import partial

from plantos.app import Platform
from plantos.core.clock import WallClock
from plantos.integration.channels.retry import RetryPolicy
from plantos.integration.channels.webhook import WebhookChannel
from plantos.integration.erp.outbox.dispatcher import Connector
from plantos.integration.erp.outbox.setup import new_dispatcher
from plantos.integration.erp.receiver import ErpWebhookReceiver, ReceiverServer

CONNECTOR = "demo-erp"


class DemoErp:
    """The receiver, bound at once (so the banner can name its URL), and its connector."""

    def __init__(self) -> None:
        secret = secrets.token_bytes(32)
        self.receiver = ErpWebhookReceiver(secret)
        self.server = ReceiverServer(self.receiver.handle, stats=self.receiver.stats)
        self.url = self.server.url
        channel = WebhookChannel(self.url, secret=secret, clock=WallClock(), name=CONNECTOR)
        self.connector = Connector(CONNECTOR, channel, retry=RetryPolicy(initial_s=1.0, max_s=30.0))

    def install(self, platform: Platform) -> None:
        """Serve the receiver while ``platform`` runs and deliver its outbox to it; before
        the platform starts."""
        if platform.erp is not None:
            platform.erp.connectors.append(self.connector)
        else:
            erp = new_dispatcher(
                [self.connector], engine=platform.mom.service.engine, facts=platform.clock
            )
            drain = partial(erp.run, stopping=lambda: platform.bus.closed)
            platform.pipeline.add("erp-outbox", drain, subscription=None, detail=erp.health)
            platform.erp = erp
        platform.add_source(self.server.run())
