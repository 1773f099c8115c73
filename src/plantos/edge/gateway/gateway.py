"""The edge gateway: collects from its connectors in the OT zone, spools every batch on
local disk and forwards it upstream as a Sparkplug B edge node.

Every batch goes through the spool, not only during outages: one path for all data means
the replay after an outage is the code that runs every second, not a rarely exercised
branch, and a gateway killed at any moment restarts with what it had collected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from plantos.core.batch import SampleBatch
from plantos.core.clock import Clock, WallClock
from plantos.edge.config import build_connector, text_tag_ids
from plantos.edge.gateway.config import EdgeConfig
from plantos.edge.gateway.forwarder import Forwarder, Upstream
from plantos.edge.gateway.spool import Spool
from plantos.edge.sparkplug.codec import DataType
from plantos.edge.sparkplug.node import NodeMetric, SparkplugEdgeNode
from plantos.edge.supervisor import Supervisor

log = logging.getLogger(__name__)

DATATYPES = {
    "float": DataType.Double,
    "int": DataType.Int64,
    "uint": DataType.UInt64,
    "bool": DataType.Boolean,
    "enum": DataType.Int32,
    "text": DataType.String,
}
"""The Sparkplug datatype a tag of each plant-model type is published with: Int64 and
UInt64 carry every value of ``int`` and ``uint`` exactly, String the text of ``text``."""


class EdgeGateway:
    def __init__(
        self, config: EdgeConfig, *, clock: Clock | None = None, upstream: Upstream | None = None
    ) -> None:
        self.config = config
        self.clock: Clock = clock or WallClock()
        plant = config.plant
        self.tag_ids = {path: i for i, path in enumerate(plant.tags)}
        paths = list(plant.tags)
        text = text_tag_ids(plant, self.tag_ids)
        connectors = [
            build_connector(s, self.tag_ids, clock=self.clock, text_tags=text)
            for s in config.connectors
        ]
        fed = sorted({int(t) for c in connectors for t in c.tag_ids})
        self.metric_names = {t: paths[t] for t in fed}
        """Upstream, a tag's metric is named by its path: the core maps it by name."""
        up = config.spec.upstream
        self.upstream: Upstream = upstream or SparkplugEdgeNode(
            server=up.mqtt_server(),
            group_id=up.group,
            edge_node_id=up.edge_node,
            metrics=[NodeMetric(t, paths[t], DATATYPES[plant.tags[paths[t]].dtype]) for t in fed],
            clock=self.clock,
            data_qos=up.data_qos,
            report_by_exception=up.report_by_exception,
            primary_host_id=up.primary_host,
            commit_acks=up.commit_ack and up.primary_host is not None,
        )
        spool_spec = config.spec.spool
        self.spool = Spool(
            config.spool_path, max_bytes=int(spool_spec.max_size), durable=spool_spec.durable
        )
        self.forwarder = Forwarder(self.spool, self.upstream)
        self.supervisors = [Supervisor(c, self._store, clock=self.clock) for c in connectors]

    async def _store(self, batch: SampleBatch) -> None:
        await asyncio.to_thread(self.spool.append, batch, now_ns=self.clock.now_ns())
        self.forwarder.wakeup.set()

    async def run(self) -> None:
        """Collect and forward until cancelled; the spool is closed on the way out."""
        try:
            async with asyncio.TaskGroup() as tasks:
                for supervisor in self.supervisors:
                    tasks.create_task(
                        supervisor.run(), name=f"connector {supervisor.connector.name}"
                    )
                tasks.create_task(self.forwarder.run(), name="upstream")
        finally:
            with contextlib.suppress(Exception):
                self.spool.close()

    def metrics(self) -> dict[str, Any]:
        return {
            "gateway": f"{self.config.spec.upstream.group}/{self.config.spec.upstream.edge_node}",
            "connectors": [s.metrics() for s in self.supervisors],
            "upstream": self.forwarder.metrics(),
            "spool": self.spool.metrics(),
        }
