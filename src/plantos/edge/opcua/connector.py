"""Subscribing to an OPC UA server: the server pushes data changes, PlantOS collects them.

:meth:`OpcUaConnector.connect` opens a session (with the configured security and user),
resolves browse paths, and creates one subscription with a monitored item per tag. The
server's notifications land in a bounded buffer; :meth:`~OpcUaConnector.collect` hands
the buffer over as one batch, or raises when the session has died, so the supervisor
marks the tags bad and calls ``connect`` again, which builds a new session and
subscription. asyncua's own reconnect is switched off: reconnecting is the supervisor's job.

Each sample keeps the server's whole status code as its quality, and its source timestamp
(else the server timestamp, else the clock). A tag the server refuses (unknown NodeId,
browse path without match) gets one sample carrying the server's Bad status code instead
of failing the whole connection. The connector is read-only: it never writes to the server.

A tag with ``sample_rate_hz`` holds a waveform snapshot as one array value: it is expanded
into its samples (at SourceTimestamp + i / rate) in one go, so a snapshot reaches the
pipeline whole or, when the buffer cannot take all of it, not at all (counted as dropped).

A value carrying the Overflow info bit says the server's queue for the item was full and
values before it were discarded. Its status code is kept as its quality like any other
(so a consumer such as the spindle detector can refuse a snapshot with a known gap); the
connector counts such samples (``overflow_samples``) and logs them once per collect.

Notifications are taken from each publish response in one pass (:class:`_Subscription`):
asyncua's handler path starts an asyncio task and builds two objects per data change, which
at ten thousand items a second costs more than turning the values into samples.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

from asyncua import ua
from asyncua.client.client import Client
from asyncua.client.ua_client import UaClientState
from asyncua.client.ua_session import UaSession
from asyncua.common.subscription import Subscription
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.status_codes import StatusCodes
from asyncua.ua.uaerrors import UaStatusCodeError

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.clock import Clock
from plantos.edge.opcua.config import OpcUaSpec, OpcUaTagSpec
from plantos.edge.opcua.diagnose import explain
from plantos.edge.opcua.samples import Buffer, ns_of, split_variant, waveform_values
from plantos.edge.opcua.security import apply_login, env_secret

log = logging.getLogger(__name__)

OVERFLOW_POLICY = "drop_newest"
"""A full buffer keeps what it holds and drops (and counts) new notifications."""
_TRIGGER = {
    "status-value": ua.DataChangeTrigger.StatusValue,
    "status-value-timestamp": ua.DataChangeTrigger.StatusValueTimestamp,
}
METRICS = (
    "notifications",
    "dropped_notifications",
    "rejected",
    "keepalive_failures",
    "overflow_samples",
)


class OpcUaConnector:
    """Connector for one OPC UA server (see the module docstring)."""

    reports_by_exception = True
    """A subscription sends a value when it changes: silence on a live link means unchanged."""

    def __init__(self, spec: OpcUaSpec, tag_ids: Mapping[str, int], *, clock: Clock) -> None:
        missing = [t.tag for t in spec.tags if t.tag not in tag_ids]
        if missing:
            raise ValueError(f"connector {spec.name!r}: no tag id for {missing}")
        self.spec = spec
        self.name = spec.name
        self.interval_s = spec.publishing_interval_s
        self.tag_ids = [tag_ids[t.tag] for t in spec.tags]
        self.clock = clock
        self._buffer = Buffer(spec.buffer_size)
        self._counts = dict.fromkeys(METRICS, 0)
        self._client: Client | None = None
        self._subscription: Subscription | None = None
        self._handles: dict[int, int] = {}
        self._spacing_ns: dict[int, float] = {
            tag_ids[t.tag]: 1e9 / t.sample_rate_hz
            for t in spec.tags
            if t.sample_rate_hz is not None
        }
        """Sample spacing of the tags whose values are waveform arrays."""
        self._overflowed: dict[int, int] = {}
        """Samples with the Overflow bit per tag since the last collect: logged there."""
        self._lost: str | None = None
        self._unsupported_tags: set[int] = set()
        self._heard_at = time.monotonic()
        self._silence_limit_s = spec.keepalive_interval_s + spec.request_timeout_s
        """A live subscription answers at least once a keep-alive (see
        :meth:`_create_subscription`): silence longer than this means a frozen server."""

    async def connect(self) -> None:
        """Open a session, subscribe every tag; raise if the server cannot be reached."""
        await self.close()
        self._lost = None
        client = await self._new_client()
        try:
            await self._open(client)
            self._client = client
            await self._subscribe(client)
        except BaseException:
            await self.close()
            raise

    async def _open(self, client: Client) -> None:
        """Connect; a failure is explained (security policy, certificates) where it can be."""
        spec = self.spec
        try:
            await client.connect()
        except Exception as exc:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), spec.request_timeout_s)
            reason = await explain(
                spec.endpoint, spec.security, exc, timeout_s=spec.request_timeout_s
            )
            if reason is exc:
                raise
            log.error("%s: %s", self.name, reason)
            raise reason from exc

    async def collect(self) -> SampleBatch:
        """Everything received since the last collect; raises once the session is dead
        (what was buffered stays and is handed over after the reconnect)."""
        client = self._client
        if client is None:
            raise ConnectionError(f"{self.name}: not connected")
        if self._lost is not None:
            raise ConnectionError(f"{self.name}: {self._lost}")
        if client.state is not UaClientState.CONNECTED:
            raise ConnectionError(f"{self.name}: session is {client.state.value}")
        silent_s = time.monotonic() - self._heard_at
        if silent_s > self._silence_limit_s:
            raise ConnectionError(
                f"{self.name}: the server stopped answering: nothing for {silent_s:.1f} s "
                f"(keepalive_interval {self.spec.keepalive_interval_s:g} s + request_timeout "
                f"{self.spec.request_timeout_s:g} s)"
            )
        if self._overflowed:
            self._log_overflow()
        return self._buffer.drain()

    def _log_overflow(self) -> None:
        overflowed, self._overflowed = self._overflowed, {}
        names = {tag_id: t.tag for t, tag_id in zip(self.spec.tags, self.tag_ids, strict=True)}
        shown = ", ".join(f"{names[t]} ({n})" for t, n in sorted(overflowed.items())[:3])
        more = f" and {len(overflowed) - 3} more tags" if len(overflowed) > 3 else ""
        log.warning(
            "%s: %d samples came with the Overflow bit (the server's queue was full and "
            "dropped values before them): %s%s; raise queue_size or publish less often",
            self.name,
            sum(overflowed.values()),
            shown,
            more,
        )

    async def close(self) -> None:
        """End the session, and the subscription with it; never raises. Closing the session
        deletes its subscriptions on the server (CloseSession with DeleteSubscriptions) and
        stops the client's publish loop first: deleting the subscription on its own would
        leave publish requests queued at the server, each answered with a fault
        (BadNoSubscription) that both sides log as an error at every shutdown."""
        client = self._client
        self._client, self._subscription = None, None
        self._handles = {}
        timeout_s = self.spec.request_timeout_s
        if client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), timeout_s)

    def metrics(self) -> dict[str, Any]:
        return {
            "monitored_items": len(self._handles),
            "buffered": len(self._buffer),
            "overflow_policy": OVERFLOW_POLICY,
            **self._counts,
        }

    async def _new_client(self) -> Client:
        spec = self.spec
        client = Client(
            spec.endpoint,
            timeout=spec.request_timeout_s,
            watchdog_intervall=spec.keepalive_interval_s,
            auto_reconnect=False,
        )
        client.connection_lost_callback = self._on_connection_lost
        user = spec.user
        await apply_login(
            client,
            spec.security,
            user=user.name if user else None,
            password=env_secret(user.password_env, "user password") if user else None,
        )
        return client

    async def _subscribe(self, client: Client) -> None:
        spec = self.spec
        subscription = await self._create_subscription(client)
        self._subscription = subscription
        node_ids = await self._resolve(client)
        requests: list[ua.MonitoredItemCreateRequest] = []
        handles: list[int] = []
        for handle, (tag, tag_id) in enumerate(zip(spec.tags, self.tag_ids, strict=True), 1):
            node_id = node_ids[handle - 1]
            if isinstance(node_id, ua.StatusCode):
                self._refused(tag_id, node_id, tag)
                continue
            requests.append(self._request(handle, node_id, tag))
            handles.append(handle)
            self._handles[handle] = tag_id  # before creating: the first values may come early
        results = await subscription.create_monitored_items(requests) if requests else []
        for handle, result in zip(handles, results, strict=True):
            if isinstance(result, ua.StatusCode):
                del self._handles[handle]
                self._refused(self.tag_ids[handle - 1], result, spec.tags[handle - 1])

    async def _create_subscription(self, client: Client) -> Subscription:
        """What ``Client.create_subscription`` does, with :class:`_Subscription` in its place."""
        spec = self.spec
        period_ms = spec.publishing_interval_s * 1000
        # an empty publish response at least once per keepalive_interval: proof of life
        keepalive_count = max(1, math.floor(spec.keepalive_interval_s / spec.publishing_interval_s))
        params = ua.CreateSubscriptionParameters(
            RequestedPublishingInterval=period_ms,
            RequestedLifetimeCount=max(10_000, 3 * keepalive_count),
            RequestedMaxKeepAliveCount=keepalive_count,
            MaxNotificationsPerPublish=0,  # no limit: one response carries a whole interval
            PublishingEnabled=True,
            Priority=0,
        )
        subscription = _Subscription(client.uaclient.session, params, self)
        results = await subscription.init()
        self._heard_at = time.monotonic()
        revised = client.get_subscription_revised_params(params, results)
        if revised is not None:
            await subscription.update(revised)
        return subscription

    async def _resolve(self, client: Client) -> list[ua.NodeId | ua.StatusCode]:
        """NodeIds of all tags; browse paths are translated in one request."""
        paths = [t for t in self.spec.tags if t.browse_path is not None]
        translated: dict[str, ua.NodeId | ua.StatusCode] = {}
        if paths:
            root = client.nodes.root
            found = await root.get_children_by_path(
                [t.browse_elements() for t in paths], raise_on_partial_error=False
            )
            for tag, targets in zip(paths, found, strict=True):
                first = targets[0] if targets else None
                translated[tag.tag] = (
                    ua.StatusCode(ua.UInt32(StatusCodes.BadNoMatch))
                    if first is None
                    else first.nodeid
                )
        return [
            ua.NodeId.from_string(t.node) if t.node is not None else translated[t.tag]
            for t in self.spec.tags
        ]

    def _request(
        self, handle: int, node_id: ua.NodeId, tag: OpcUaTagSpec
    ) -> ua.MonitoredItemCreateRequest:
        item = ua.ReadValueId(NodeId=node_id, AttributeId=AttributeIds.Value)
        params = ua.MonitoringParameters(
            ClientHandle=handle,
            SamplingInterval=self.spec.sampling_interval_s * 1000,
            QueueSize=self.spec.queue_size,
            DiscardOldest=True,
        )
        if tag.deadband is not None or tag.trigger != "status-value":
            params.Filter = ua.DataChangeFilter(
                Trigger=_TRIGGER[tag.trigger],
                DeadbandType=ua.DeadbandType.Absolute
                if tag.deadband is not None
                else ua.DeadbandType.None_,
                DeadbandValue=tag.deadband or 0.0,
            )
        return ua.MonitoredItemCreateRequest(
            ItemToMonitor=item,
            MonitoringMode=ua.MonitoringMode.Reporting,
            RequestedParameters=params,
        )

    def _refused(self, tag_id: int, status: ua.StatusCode, tag: OpcUaTagSpec) -> None:
        log.warning("%s: server refused %s: %s", self.name, tag.tag, quality.name(status.value))
        self._buffer.append(tag_id, self.clock.now_ns(), math.nan, status.value)

    def _on_data(self, items: Sequence[ua.MonitoredItemNotification]) -> None:
        """The data changes of one publish response, into the buffer."""
        handles, buffer, counts = self._handles, self._buffer, self._counts
        for item in items:
            tag_id = handles.get(item.ClientHandle)
            if tag_id is None:
                continue
            counts["notifications"] += 1
            dv = item.Value
            ts = dv.SourceTimestamp or dv.ServerTimestamp
            ts_ns = self.clock.now_ns() if ts is None else ns_of(ts)
            code = quality.GOOD if dv.StatusCode is None else dv.StatusCode.value
            raw = dv.Value.Value if dv.Value is not None else None
            if isinstance(raw, list) and tag_id in self._spacing_ns:
                self._on_array(tag_id, ts_ns, raw, code)
                continue
            value, exact = split_variant(raw)
            if value is None:
                counts["rejected"] += 1
                self._unsupported(tag_id, raw)
                value, code = math.nan, StatusCodes.BadTypeMismatch
            if quality.has_overflow(code):
                self._overflow(tag_id, 1)
            if not buffer.append(tag_id, ts_ns, value, code, exact):
                counts["dropped_notifications"] += 1

    def _on_array(self, tag_id: int, ts_ns: int, raw: list[Any], code: int) -> None:
        """One waveform snapshot: all of its samples into the buffer, or none of them."""
        values = waveform_values(raw)
        if values is None:
            self._counts["rejected"] += 1
            self._unsupported(tag_id, raw)
            self._buffer.append(tag_id, ts_ns, math.nan, StatusCodes.BadTypeMismatch)
            return
        if quality.has_overflow(code):
            self._overflow(tag_id, len(values))
        spacing_ns = self._spacing_ns[tag_id]
        stamps = [ts_ns + round(i * spacing_ns) for i in range(len(values))]
        if not self._buffer.extend(tag_id, stamps, values, code):
            self._counts["dropped_notifications"] += 1

    def _overflow(self, tag_id: int, samples: int) -> None:
        self._counts["overflow_samples"] += samples
        self._overflowed[tag_id] = self._overflowed.get(tag_id, 0) + samples

    def _unsupported(self, tag_id: int, raw: object) -> None:
        """Log once per tag that its values cannot be kept: they arrive as Bad samples."""
        if tag_id in self._unsupported_tags:
            return
        self._unsupported_tags.add(tag_id)
        tag = self.spec.tags[self.tag_ids.index(tag_id)].tag
        log.warning(
            "%s: %s sends %s values, which no tag type holds: stored as BadTypeMismatch",
            self.name,
            tag,
            type(raw).__name__,
        )

    def _on_status(self, status: ua.StatusChangeNotification) -> None:
        if not status.Status.is_good() and self._lost is None:
            self._lost = f"subscription ended: {quality.name(status.Status.value)}"

    async def _on_connection_lost(self, exc: Exception) -> None:
        self._counts["keepalive_failures"] += 1
        if isinstance(exc, TimeoutError):
            self._lost = (
                "the server stopped answering: no reply to the keep-alive probe "
                f"(keepalive_interval {self.spec.keepalive_interval_s:g} s)"
            )
        else:
            self._lost = f"connection lost: {_reason(exc)}"


class _Subscription(Subscription):
    """asyncua's subscription handing each publish response to the connector whole.

    asyncua's own ``publish_callback`` fans a response out into one task per data change;
    this one walks the response once, synchronously, in the client's publish loop (which
    acknowledges the response after it returns). Events are not subscribed, so only data
    changes and status changes are expected.
    """

    def __init__(
        self, session: UaSession, params: ua.CreateSubscriptionParameters, sink: OpcUaConnector
    ) -> None:
        super().__init__(session, params)
        self._sink = sink

    async def publish_callback(self, publish_result: ua.PublishResult) -> None:
        self.last_publish_at = self._sink._heard_at = time.monotonic()
        message = publish_result.NotificationMessage
        if message.NotificationData is None:
            return
        self.last_sequence_number = int(message.SequenceNumber)
        for notification in message.NotificationData:
            if isinstance(notification, ua.DataChangeNotification):
                self._sink._on_data(notification.MonitoredItems)
            elif isinstance(notification, ua.StatusChangeNotification):
                self._sink._on_status(notification)


def _reason(exc: BaseException) -> str:
    """An exception as text; a status code error by its name."""
    if isinstance(exc, UaStatusCodeError):
        return quality.name(int(exc.code))
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
