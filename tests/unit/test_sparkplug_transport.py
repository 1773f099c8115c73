"""The Sparkplug host's transport holds messages while its handler is not ready (the
hand-over is full) and hands them over, in order and none lost, once it is."""

from __future__ import annotations

import asyncio
import threading
import time

import paho.mqtt.client as mqtt

from plantos.edge.sparkplug.transport import BATCH_BYTES, Transport


def message(topic: str, payload: bytes) -> mqtt.MQTTMessage:
    msg = mqtt.MQTTMessage(topic=topic.encode())
    msg.payload = payload
    return msg


def test_messages_wait_while_the_handler_is_not_ready_and_all_arrive_in_order() -> None:
    handled: list[tuple[str, bytes]] = []
    ready = threading.Event()
    got_all = threading.Event()
    size = 16 * 1024
    count = 2 * BATCH_BYTES // size + 8  # more than two batches' worth

    def handle(client: object, batch: list[tuple[str, bytes]]) -> None:
        handled.extend(batch)
        if len(handled) == count:
            got_all.set()

    transport = Transport(
        name="t",
        handle=handle,  # type: ignore[arg-type]
        max_queued_bytes=64 * 1024 * 1024,
        linger_s=0.001,
        on_error=lambda text: None,
        ready=ready.is_set,
    )
    transport.start(None)  # type: ignore[arg-type]
    try:
        sent = [(f"t/{i}", bytes([i % 256]) * size) for i in range(count)]
        assert sum(len(p) for _, p in sent) > 2 * BATCH_BYTES
        for topic, payload in sent:
            transport.on_message(None, None, message(topic, payload))  # type: ignore[arg-type]
        time.sleep(0.1)  # the worker would have handled them by now, were it ready
        assert handled == []
        ready.set()
        assert got_all.wait(10)
        assert handled == sent
        assert transport.messages == count and transport.messages_dropped == 0
    finally:
        asyncio.run(transport.stop(join_timeout_s=5))


def test_a_flowing_stream_is_handled_by_the_receiving_thread_a_quiet_one_by_the_worker() -> None:
    """Once due, the queue is handled by the thread that receives the next message (no
    thread switch while messages flow); what a stream that went quiet leaves behind is
    handled by the worker."""
    threads: list[str] = []
    done = threading.Event()

    def handle(client: object, batch: list[tuple[str, bytes]]) -> None:
        threads.extend(threading.current_thread().name for _ in batch)
        done.set()

    def transport(linger_s: float) -> Transport:
        return Transport(
            name="t",
            handle=handle,
            max_queued_bytes=1024 * 1024,
            linger_s=linger_s,
            on_error=lambda text: None,
        )

    flowing = transport(0.0)  # every message is due at once
    flowing.start(None)  # type: ignore[arg-type]
    try:
        for i in range(5):
            flowing.on_message(None, None, message(f"t/{i}", b"x"))  # type: ignore[arg-type]
        assert threads == [threading.current_thread().name] * 5
    finally:
        asyncio.run(flowing.stop(join_timeout_s=5))
    threads.clear()
    done.clear()
    quiet = transport(0.01)
    quiet.start(None)  # type: ignore[arg-type]
    try:
        quiet.on_message(None, None, message("t/0", b"x"))  # type: ignore[arg-type]
        assert done.wait(10)
        assert threads == ["t-worker"]
    finally:
        asyncio.run(quiet.stop(join_timeout_s=5))
