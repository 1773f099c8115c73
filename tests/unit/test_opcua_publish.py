"""The OPC UA connector's publish path without a server: one publish response with many
data changes becomes samples in one pass, with the same rules as one change at a time
(unknown handles ignored, text and big integers exact, values no tag holds Bad and
counted, a full buffer drops and counts, a bad subscription status ends the session)."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime
from typing import Any

from asyncua import ua

from plantos.core import quality
from plantos.core.clock import ManualClock
from plantos.edge.opcua import OpcUaConnector, OpcUaSpec
from plantos.edge.opcua.connector import _Subscription
from plantos.edge.opcua.samples import split_variant

T0 = datetime(2026, 1, 5, 6, 0, 0, 123456, tzinfo=UTC)
T0_NS = 1_767_592_800_123_456_000
NOW_NS = 1_800_000_000_000_000_000


def connector(buffer_size: int = 100) -> OpcUaConnector:
    spec = OpcUaSpec.model_validate(
        {
            "kind": "opcua",
            "name": "unit",
            "endpoint": "opc.tcp://127.0.0.1:4840",
            "buffer_size": buffer_size,
            "tags": [{"tag": f"t{i}", "node": f"ns=2;i={i}"} for i in range(1, 4)],
        }
    )
    conn = OpcUaConnector(spec, {f"t{i}": 10 + i for i in range(1, 4)}, clock=ManualClock(NOW_NS))
    conn._handles = {1: 11, 2: 12, 3: 13}  # as _subscribe leaves them
    return conn


def change(handle: int, value: Any, **fields: Any) -> ua.MonitoredItemNotification:
    return ua.MonitoredItemNotification(
        ClientHandle=handle, Value=ua.DataValue(ua.Variant(value), **fields)
    )


def publish(conn: OpcUaConnector, *notifications: Any) -> None:
    params = ua.CreateSubscriptionParameters(RequestedPublishingInterval=1000)
    subscription = _Subscription(None, params, conn)  # type: ignore[arg-type]
    result = ua.PublishResult(
        NotificationMessage=ua.NotificationMessage(
            SequenceNumber=7, NotificationData=list(notifications)
        )
    )
    asyncio.run(subscription.publish_callback(result))
    assert subscription.last_sequence_number == 7


def test_one_response_with_many_changes_becomes_samples() -> None:
    conn = connector()
    bad = ua.StatusCode(ua.StatusCodes.BadSensorFailure)
    items = [
        change(1, 1.5, SourceTimestamp=T0),
        change(2, 7, ServerTimestamp=T0),
        change(3, True),
        change(1, None, StatusCode=bad, SourceTimestamp=T0),
        change(2, "text"),
        change(3, ua.Variant(2**64 - 1, ua.VariantType.UInt64)),
        change(3, [1.0, 2.0]),
        change(99, 5.0),
    ]
    publish(conn, ua.DataChangeNotification(MonitoredItems=items))
    batch = asyncio.run(drain(conn))
    assert batch.tag_id.tolist() == [11, 12, 13, 11, 12, 13, 13]
    assert batch.ts.tolist() == [T0_NS, T0_NS, NOW_NS, T0_NS, NOW_NS, NOW_NS, NOW_NS]
    assert batch.value.tolist()[:3] == [1.5, 7.0, 1.0]
    assert math.isnan(batch.value[3]) and math.isnan(batch.value[4])
    assert batch.value[5] == float(2**64)
    assert batch.exact is not None
    assert batch.exact.tolist() == [None, None, None, None, "text", 2**64 - 1, None]
    mismatch = ua.StatusCodes.BadTypeMismatch
    assert batch.quality.tolist() == [quality.GOOD] * 3 + [bad.value] + [quality.GOOD] * 2 + [
        mismatch
    ]
    metrics = conn.metrics()
    assert (metrics["notifications"], metrics["rejected"]) == (7, 1)


def test_plain_numbers_build_no_exact_column() -> None:
    conn = connector()
    publish(conn, ua.DataChangeNotification(MonitoredItems=[change(1, 2.5), change(2, 2**53)]))
    batch = asyncio.run(drain(conn))
    assert batch.exact is None
    assert batch.value.tolist() == [2.5, float(2**53)]


def test_variant_values_split_into_value_and_exact() -> None:
    naive = datetime(2026, 1, 5, 6, 0)
    cases = [
        (None, (None, None)),
        (True, (1.0, None)),
        (-(2**53) - 1, (float(-(2**53) - 1), -(2**53) - 1)),
        (ua.LocalizedText("Roughing", "en"), (None, "Roughing")),
        (ua.LocalizedText(None), (None, "")),
        (naive, (None, "2026-01-05T06:00:00+00:00")),
    ]
    for raw, (value, exact) in cases:
        got_value, got_exact = split_variant(raw)
        assert got_exact == exact, raw
        assert math.isnan(got_value) if value is None else got_value == value, raw
    assert split_variant(b"\x00") == (None, None)  # a ByteString: no tag type holds it


def test_full_buffer_drops_and_counts() -> None:
    conn = connector(buffer_size=2)
    items = [change(1, float(v)) for v in range(5)]
    publish(conn, ua.DataChangeNotification(MonitoredItems=items))
    assert conn.metrics()["dropped_notifications"] == 3
    assert asyncio.run(drain(conn)).value.tolist() == [0.0, 1.0]


def test_bad_status_change_ends_the_session() -> None:
    conn = connector()
    status = ua.StatusChangeNotification(Status=ua.StatusCode(ua.StatusCodes.BadTimeout))
    publish(conn, status)
    assert conn._lost == "subscription ended: BadTimeout"


async def drain(conn: OpcUaConnector) -> Any:
    return conn._buffer.drain()
