"""The analytics stage: every sample batch judged once, in arrival order, by the same
classes that also run offline, and every judgement published as an event.

One subscriber of the bus's sample topic feeds, per batch:

* machine states and live OEE (:class:`~plantos.analytics.oee.LiveOee`), publishing
  ``MachineStateChanged`` and, once a minute of data time, ``OeeUpdated`` per asset;
* the SPC monitors of the configured characteristics (``SpcViolation``, ``StuckSignal``);
* the spindle watches (``AnomalyRaised``/``AnomalyCleared``);
* the alarm list: an anomaly raises its asset's alarm and clears it again; shelving
  expiry and the flood guard run on data time.

:meth:`AnalyticsStage.judge` is synchronous and takes one batch: the stream calls it from
the platform's consumer task, the headless demo and the benchmarks call it directly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np

from plantos.analytics.alarms import AlarmDefinition, AlarmManager, Priority
from plantos.analytics.anomaly.events import AnomalyCleared, AnomalyRaised
from plantos.analytics.config import analytics_spec
from plantos.analytics.oee import LiveOee, ReasonBook
from plantos.analytics.oee.reason_tree import ReasonTree
from plantos.analytics.spc import SpcMonitor
from plantos.analytics.spindles import SpindleWatch, spindle_watches
from plantos.core.batch import SampleBatch
from plantos.core.clock import Clock
from plantos.core.events import Event
from plantos.core.timeunits import NS_PER_S as NS
from plantos.model import Plant

OEE_UPDATE_NS = 60 * NS


def anomaly_alarm_id(asset: str) -> str:
    return f"{asset}/anomaly"


class AnalyticsStage:
    def __init__(
        self,
        plant: Plant,
        tag_ids: Mapping[str, int],
        *,
        clock: Clock,
        reasons: ReasonBook | None = None,
    ) -> None:
        spec, oee_config = analytics_spec(plant)
        self.plant = plant
        self.clock = clock
        self.oee_config = oee_config
        self.oee = LiveOee(plant, oee_config, tag_ids, reasons=reasons)
        self.reason_tree = ReasonTree.of(spec.stop_reasons)
        """The stop reasons operators choose from."""
        self.spc: list[tuple[int, SpcMonitor]] = [
            (tag_ids[c.tag], SpcMonitor.from_spec(c, clock=clock)) for c in spec.spc
        ]
        self.spindles: list[SpindleWatch] = spindle_watches(plant, spec.spindles, tag_ids)
        self.alarms = AlarmManager()
        for watch in self.spindles:
            self.alarms.define(
                AlarmDefinition(
                    anomaly_alarm_id(watch.asset),
                    watch.asset,
                    Priority.HIGH,
                    "spindle vibration departs from its healthy baseline",
                )
            )
        self.events = Counter[str]()
        self.batches = 0
        self._next_oee_ns: int | None = None

    def judge(self, batch: SampleBatch) -> list[Event]:
        """Every judgement one batch causes, as events in a stable order."""
        if not len(batch):
            return []
        self.batches += 1
        newest = int(batch.ts.max())
        events: list[Event] = list(self.oee.feed(batch))
        for tag_id, monitor in self.spc:
            mine = batch.tag_id == tag_id
            if mine.any():
                part = batch.select(mine)
                events += monitor.update(part.ts, part.value, part.quality)
            events += monitor.flush(newest)
        for watch in self.spindles:
            events += self._alarm_for(watch.judge(batch))
        events += self.alarms.tick(newest)
        if self._next_oee_ns is None:
            self._next_oee_ns = newest + OEE_UPDATE_NS
        elif newest >= self._next_oee_ns:
            events += self.oee.updates(newest)
            self._next_oee_ns = newest - newest % OEE_UPDATE_NS + OEE_UPDATE_NS
        for event in events:
            self.events[event.kind] += 1
        return events

    def _alarm_for(self, anomaly_events: list[Event]) -> list[Event]:
        """The anomaly events themselves, each followed by what it does to its alarm."""
        out: list[Event] = []
        for event in anomaly_events:
            out.append(event)
            if isinstance(event, AnomalyRaised):
                out += self.alarms.condition(anomaly_alarm_id(event.subject), True, event.ts_ns)
            elif isinstance(event, AnomalyCleared):
                out += self.alarms.condition(anomaly_alarm_id(event.subject), False, event.ts_ns)
        return out

    def metrics(self) -> dict[str, Any]:
        return {
            "batches": self.batches,
            "events": dict(sorted(self.events.items())),
            "spc_characteristics": len(self.spc),
            "spindles_watched": len(self.spindles),
            "spindles_trained": sum(w.trained for w in self.spindles),
            "alarms": self.alarms.metrics(),
            "spc_skipped_bad": int(np.sum([m.skipped_bad for _, m in self.spc])),
        }
