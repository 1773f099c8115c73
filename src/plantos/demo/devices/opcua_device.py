"""The CNC cell as an OPC UA server: one asyncua server on 127.0.0.1 for every CNC mill.

The address space follows the plant: ``Objects/<site>/<area>/<line>/<asset>/<signal>``,
each variable with the NodeId ``ns=2;s=<tag path>``, so any OPC UA client can browse
the cell or subscribe by NodeId. Every value is written with the sample's simulated
time as SourceTimestamp and quality Good.

A spindle's vibration snapshot (a tag with a ``waveform`` block) is one ``Double[]``
variable, written once per snapshot with the whole burst and its first sample's time as
SourceTimestamp; the sample rate is the plant file's. Written sample by sample, a 4096
sample burst was 4096 queued notifications, and a starved server or client lost or
merged some of them: the snapshot arrived with another shape and a healthy spindle was
flagged. One array value arrives whole or not at all. The simulator may hand out a burst
across two scans, so the device gathers it until it is whole.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import cast

from asyncua import ua
from asyncua.common.node import Node
from asyncua.server.server import Server
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.status_codes import StatusCodes

from plantos.core.batch import SampleBatch
from plantos.demo.devices.layout import OPCUA_NAMESPACE, OPCUA_NS_INDEX, opcua_node_id
from plantos.model import TagDef

log = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_VARIANT = {
    "int": ua.VariantType.Int64,
    "enum": ua.VariantType.Int32,
    "bool": ua.VariantType.Boolean,
}
"""OPC UA types of the plant's tag types; anything else is a Double."""
_YIELD_EVERY = 256
"""asyncua's writes never suspend: give the event loop a turn this often in a long batch."""


class OpcUaDevice:
    """An asyncua server holding one variable per tag in ``tags`` (see the module docstring)."""

    def __init__(self, tags: Sequence[TagDef], tag_ids: dict[str, int], *, port: int) -> None:
        self.endpoint = f"opc.tcp://127.0.0.1:{port}/plantos/demo/"
        self._tags = list(tags)
        self._tag_ids = tag_ids
        self._server: Server | None = None
        self._nodes: dict[int, tuple[ua.NodeId, ua.VariantType]] = {}
        self._snapshots = {
            tag_ids[t.path]: _Snapshot(t.waveform.samples, t.waveform.rate_hz)
            for t in self._tags
            if t.waveform is not None
        }
        self.writes = 0

    async def start(self) -> None:
        """Build the address space and listen (with no tags: nothing to serve, no server);
        raises ``OSError`` if the port is taken."""
        if not self._tags:
            return
        server = Server()
        await server.init()
        server.set_endpoint(self.endpoint)
        server.set_server_name("PlantOS demo CNC cell")
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        ns = await server.register_namespace(OPCUA_NAMESPACE)
        if ns != OPCUA_NS_INDEX:
            raise RuntimeError(f"demo namespace got index {ns}, the connector expects 2")
        folders: dict[str, Node] = {}
        for tag in self._tags:
            parent = await _folder(server, folders, tag.asset)
            kind = _VARIANT.get(tag.dtype, ua.VariantType.Double)
            node_id = ua.NodeId.from_string(opcua_node_id(tag))
            waiting = ua.DataValue(
                StatusCode=ua.StatusCode(ua.UInt32(StatusCodes.BadWaitingForInitialData))
            )
            wf = tag.waveform
            initial = ua.Variant([], kind, is_array=True) if wf is not None else 0.0
            node = await parent.add_variable(
                node_id, ua.QualifiedName(tag.signal, ns), initial, kind
            )
            if wf is not None:  # a one-dimensional array of one snapshot's length
                await node.write_value_rank(ua.ValueRank.OneDimension)
                dims = ua.Variant([wf.samples], ua.VariantType.UInt32)
                await node.write_attribute(AttributeIds.ArrayDimensions, ua.DataValue(dims))
            await server.write_attribute_value(node.nodeid, waiting)
            self._nodes[self._tag_ids[tag.path]] = (node.nodeid, kind)
        await server.start()
        self._server = server

    async def write(self, batch: SampleBatch) -> None:
        """Write each sample of ``batch`` (in order) to its tag's variable; a waveform's
        samples are gathered and written as one array per whole snapshot."""
        server = self._server
        if server is None:
            return
        for i, (tag_id, ts, value) in enumerate(
            zip(batch.tag_id.tolist(), batch.ts.tolist(), batch.value.tolist(), strict=True)
        ):
            target = self._nodes.get(tag_id)
            if target is None:
                continue
            node_id, kind = target
            snapshot = self._snapshots.get(tag_id)
            if snapshot is None:
                await server.write_attribute_value(node_id, _data_value(value, kind, ts))
                self.writes += 1
            else:
                whole = snapshot.add(ts, value)
                if whole is not None:
                    await server.write_attribute_value(node_id, _array_value(*whole))
                    self.writes += 1
            if i % _YIELD_EVERY == _YIELD_EVERY - 1:
                await asyncio.sleep(0)

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            await server.stop()


async def _folder(server: Server, folders: dict[str, Node], path: str) -> Node:
    """The folder for ``path`` (``site/area/line/asset``), created with its parents."""
    if path in folders:
        return folders[path]
    parent_path, _, name = path.rpartition("/")
    parent = await _folder(server, folders, parent_path) if parent_path else server.nodes.objects
    folder = await parent.add_folder(
        ua.NodeId(ua.String(path), ua.Int16(OPCUA_NS_INDEX)),
        ua.QualifiedName(name, OPCUA_NS_INDEX),
    )
    folders[path] = folder
    return folder


class _Snapshot:
    """One waveform's burst being gathered: samples spaced one sample period apart.

    A sample that does not follow on from the previous one starts a new burst (what was
    gathered is dropped: a lone sample, as when the devices are primed with the latest
    value of every tag, is no snapshot)."""

    def __init__(self, samples: int, rate_hz: float) -> None:
        self.samples = samples
        self._max_step_ns = 1.5e9 / rate_hz
        self._start_ns = 0
        self._last_ns = 0
        self._values: list[float] = []

    def add(self, ts_ns: int, value: float) -> tuple[int, list[float]] | None:
        """Gather one sample; the snapshot's start and values once it is whole."""
        if not self._values or not 0 < ts_ns - self._last_ns <= self._max_step_ns:
            self._start_ns, self._values = ts_ns, []
        self._values.append(value)
        self._last_ns = ts_ns
        if len(self._values) < self.samples:
            return None
        whole, self._values = self._values, []
        return self._start_ns, whole


def _source_ts(ts_ns: int) -> ua.DateTime:
    return cast(ua.DateTime, _EPOCH + timedelta(microseconds=ts_ns // 1000))


def _array_value(start_ns: int, values: list[float]) -> ua.DataValue:
    variant = ua.Variant(values, ua.VariantType.Double, is_array=True)
    return ua.DataValue(variant, SourceTimestamp=_source_ts(start_ns))


def _data_value(value: float, kind: ua.VariantType, ts_ns: int) -> ua.DataValue:
    source_ts = _source_ts(ts_ns)
    if not math.isfinite(value):
        code = ua.StatusCode(ua.UInt32(StatusCodes.BadNoData))
        return ua.DataValue(StatusCode=code, SourceTimestamp=source_ts)
    if kind is ua.VariantType.Boolean:
        variant = ua.Variant(value != 0.0, kind)
    elif kind is ua.VariantType.Double:
        variant = ua.Variant(value, kind)
    else:
        variant = ua.Variant(round(value), kind)
    return ua.DataValue(variant, SourceTimestamp=source_ts)
