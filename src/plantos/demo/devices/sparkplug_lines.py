"""The assembly lines and the weld line as Sparkplug B edge nodes on an MQTT broker.

One edge node per line (group: the site, edge node: ``<area>-<line>``), each asset of
the line one device, each tag one metric named by its signal. The node reports by
exception with each value's simulated time as the metric timestamp (milliseconds:
enough for tags sampled every second).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

import numpy as np

from plantos.core.batch import SampleBatch
from plantos.core.clock import Clock
from plantos.demo.devices.layout import DeviceLayout, sparkplug_ids
from plantos.edge.mqtt.server import MqttServer
from plantos.edge.sparkplug.codec import DataType
from plantos.edge.sparkplug.node import NodeMetric, SparkplugEdgeNode

log = logging.getLogger(__name__)

RETRY_S = 5.0
_DATATYPE = {"int": DataType.Int64, "enum": DataType.Int32, "bool": DataType.Boolean}
"""Sparkplug types of the plant's tag types; anything else is a Double."""


class SparkplugLines:
    """The edge nodes of every line in ``layout.sparkplug``."""

    def __init__(
        self, layout: DeviceLayout, tag_ids: Mapping[str, int], *, server: MqttServer, clock: Clock
    ) -> None:
        self.nodes: list[tuple[np.ndarray, SparkplugEdgeNode]] = []
        self._tried: dict[str, float] = {}
        for (group, node_id), tags in layout.edge_nodes().items():
            metrics = [
                NodeMetric(
                    tag_ids[t.path],
                    t.signal,
                    _DATATYPE.get(t.dtype, DataType.Double),
                    device=sparkplug_ids(t.asset)[2],
                )
                for t in tags
            ]
            node = SparkplugEdgeNode(
                server=server, group_id=group, edge_node_id=node_id, metrics=metrics, clock=clock
            )
            ids = np.array([m.tag_id for m in metrics], dtype=np.int32)
            self.nodes.append((ids, node))

    async def write(self, batch: SampleBatch) -> None:
        """Publish each node's share of ``batch`` (values that changed: NDATA/DDATA). A node
        that lost its broker drops its share and reconnects, at most every
        :data:`RETRY_S`: the demo's nodes do not store and forward."""
        for ids, node in self.nodes:
            part = batch.select(np.isin(batch.tag_id, ids))
            if not len(part):
                continue
            try:
                if not node.online:
                    await self._reconnect(node)
                await node.publish(part)
            except ConnectionError as exc:
                log.warning("edge node %s: %s", node.edge_node_id, exc)

    async def connect(self) -> None:
        """Connect each node: NDEATH as its Will, then NBIRTH and a DBIRTH per device. A
        host that comes later sees data from nodes it saw no birth of, and asks them
        to rebirth, as Sparkplug has it. A node that cannot reach the broker tries again
        with its next samples."""
        for _ids, node in self.nodes:
            self._tried[node.edge_node_id] = time.monotonic()
            try:
                await node.connect()
            except ConnectionError as exc:
                log.warning("edge node %s: %s", node.edge_node_id, exc)

    async def _reconnect(self, node: SparkplugEdgeNode) -> None:
        now = time.monotonic()
        if now - self._tried.get(node.edge_node_id, -RETRY_S) < RETRY_S:
            raise ConnectionError("offline, waiting to reconnect")
        self._tried[node.edge_node_id] = now
        await node.connect()

    async def close(self) -> None:
        """NDEATH and disconnect, every node."""
        for _ids, node in self.nodes:
            await node.close()
