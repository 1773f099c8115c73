"""The contract every delivery channel keeps, run against each one with its real
receiver: one result per message in the order given, nothing for an empty round, the
same key in the result as in the message, and delivery again after ``close``."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path
from uuid import uuid4

import pytest
from aiosmtpd.controller import Controller

from plantos.core.clock import WallClock
from plantos.edge.mqtt.server import MqttServer
from plantos.integration.channels import Channel, OutboundMessage, Outcome
from plantos.integration.channels.filedrop import FileDropChannel
from plantos.integration.channels.mqtt import MqttChannel
from plantos.integration.channels.renderers import JsonLinesRenderer
from plantos.integration.channels.smtp import SmtpChannel
from plantos.integration.channels.webhook import WebhookChannel
from plantos.integration.channels.webhook_batch import WebhookBatchChannel
from tests.integration.test_channel_smtp import Mailbox
from tests.integration.test_channel_webhook import SECRET, Receiver, serving
from tests.support.certs import make_ca, make_server_certificate
from tests.support.mosquitto import free_port, mosquitto_binary, running_mosquitto

pytestmark = pytest.mark.timeout(60)

NAMES = ["webhook", "webhook-batch", "file-drop", "email", "mqtt"]


@contextmanager
def webhook(tmp_path: Path) -> Iterator[Channel]:
    port = free_port()
    with serving(Receiver(), port):
        yield WebhookChannel(f"http://127.0.0.1:{port}/", secret=SECRET, clock=WallClock())


@contextmanager
def webhook_batch(tmp_path: Path) -> Iterator[Channel]:
    port = free_port()
    with serving(Receiver(), port):
        single = WebhookChannel(
            f"http://127.0.0.1:{port}/", secret=SECRET, clock=WallClock(), name="webhook-batch"
        )
        yield WebhookBatchChannel(single, batch_size=3)


@contextmanager
def file_drop(tmp_path: Path) -> Iterator[Channel]:
    yield FileDropChannel(tmp_path, renderer=JsonLinesRenderer())


@contextmanager
def email(tmp_path: Path) -> Iterator[Channel]:
    ca_file, ca_key, ca_cert = make_ca(tmp_path, "ca")
    cert, key = make_server_certificate(tmp_path, ca_key, ca_cert)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    port = free_port()
    controller = Controller(
        Mailbox(), hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True
    )
    controller.start()
    try:
        yield SmtpChannel(
            "127.0.0.1", port, sender="plantos@plant-a.example",
            recipients=["ops@plant-a.example"], ca_file=ca_file,
        )  # fmt: skip
    finally:
        controller.stop()


@contextmanager
def mqtt(tmp_path: Path) -> Iterator[Channel]:
    if mosquitto_binary() is None:
        pytest.skip("the mosquitto broker is not installed")
    with running_mosquitto(tmp_path) as broker:
        yield MqttChannel(MqttServer(broker.host, broker.port), client_id="plantos-contract")


FACTORIES: dict[str, Callable[[Path], AbstractContextManager[Channel]]] = {
    "webhook": webhook, "webhook-batch": webhook_batch, "file-drop": file_drop,
    "email": email, "mqtt": mqtt,
}  # fmt: skip


def batch(count: int) -> list[OutboundMessage]:
    now = dt.datetime.now(dt.UTC)
    return [
        OutboundMessage(
            uuid4(), "production_performance", {"seq": n}, now, ordering_key=f"o{n % 3}"
        )
        for n in range(count)
    ]


@pytest.fixture(params=NAMES)
def channel(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Channel]:
    with ExitStack() as stack:
        yield stack.enter_context(FACTORIES[request.param](tmp_path))


def test_one_result_per_message_in_the_order_given(channel: Channel) -> None:
    messages = batch(7)

    async def go() -> list[Outcome]:
        try:
            results = await channel.deliver(messages)
        finally:
            await channel.close()
        assert [r.key for r in results] == [m.key for m in messages]
        return [r.outcome for r in results]

    assert asyncio.run(go()) == [Outcome.DELIVERED] * 7


def test_an_empty_round_delivers_nothing(channel: Channel) -> None:
    assert asyncio.run(channel.deliver([])) == []


def test_delivery_works_again_after_close(channel: Channel) -> None:
    async def go() -> list[Outcome]:
        first = await channel.deliver(batch(2))
        await channel.close()
        second = await channel.deliver(batch(2))
        await channel.close()
        await channel.close()  # closing twice is harmless
        return [r.outcome for r in first + second]

    assert asyncio.run(go()) == [Outcome.DELIVERED] * 4
    assert channel.name in NAMES
