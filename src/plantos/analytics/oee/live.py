"""Live OEE: the current shift of every asset, updated batch by batch.

The bus stage feeds every sample batch to :meth:`LiveOee.feed` (state changes
come back as events to publish) and asks :meth:`LiveOee.current` or
:meth:`LiveOee.updates` whenever the UI or the API wants figures. Tracking
keeps a bounded past (``keep``), so reports of the previous shift or day are
answered from memory, and older ones from the historian
(:mod:`plantos.analytics.oee.historical`) with the same code and result.
"""

from __future__ import annotations

from collections.abc import Mapping

from plantos.analytics.oee.compute import Stop, asset_totals, stops
from plantos.analytics.oee.config import OeeSpec
from plantos.analytics.oee.events import OeeUpdated
from plantos.analytics.oee.periods import Period, current_shift
from plantos.analytics.oee.records import Reason, ReasonBook
from plantos.analytics.oee.replay import replay
from plantos.analytics.oee.rollup import OeeReport, plant_report, rollup
from plantos.analytics.oee.tracking import PlantTracker
from plantos.core.batch import SampleBatch
from plantos.core.events import MachineStateChanged
from plantos.core.timeunits import HOUR_NS
from plantos.historian.protocol import Historian
from plantos.model.plant import Plant


class LiveOee:
    """State tracking and OEE for a running plant; ``keep_ns`` bounds what memory holds."""

    def __init__(
        self,
        plant: Plant,
        config: OeeSpec,
        tag_ids: Mapping[str, int],
        *,
        reasons: ReasonBook | None = None,
        keep_ns: int = 48 * HOUR_NS,
    ) -> None:
        if keep_ns < HOUR_NS:
            raise ValueError(f"keep at least an hour of state history, got {keep_ns} ns")
        self.plant = plant
        self.tracker = PlantTracker(plant, config, tag_ids)
        self.reasons = reasons if reasons is not None else ReasonBook()
        self.keep_ns = keep_ns
        self._forgot_at: int | None = None

    def feed(self, batch: SampleBatch) -> list[MachineStateChanged]:
        """Track one batch; return the machine state changes it revealed."""
        events = self.tracker.feed(batch)
        if len(batch):
            newest = int(batch.ts.max())
            if self._forgot_at is None:
                self._forgot_at = newest
            elif newest - self._forgot_at > HOUR_NS:
                self.tracker.forget(newest - self.keep_ns)
                self._forgot_at = newest
        return events

    def warm_up(self, historian: Historian, now_ns: int) -> None:
        """Rebuild what tracking knew before a restart from the historian: every asset's
        current shift so far, its stops with the starts (and so the reasons) they had.
        Call it before the first :meth:`feed`: samples older than those fed are late."""
        starts = [
            current_shift(self.plant.calendar_for(path), now_ns).start_ns
            for path in self.tracker.trackers
        ]
        if starts:
            replay(historian, self.tracker, min(starts), now_ns)

    def assign_reason(
        self, asset: str, start_ns: int, reason: str, *, by: str = "", note: str = ""
    ) -> Reason:
        """Give a downtime interval its reason code (the operator's explanation), in the
        name of ``by``; return it with when it was given."""
        if asset not in self.tracker.trackers:
            raise ValueError(f"no OEE tracking for asset {asset!r}")
        return self.reasons.assign_reason(asset, start_ns, reason, by=by, note=note)

    def stops(self, asset: str, start_ns: int, end_ns: int) -> list[Stop]:
        """The downtime of one asset over ``[start_ns, end_ns)`` from what memory holds,
        newest first, each with its reason or ``unassigned``."""
        tracker = self.tracker.trackers.get(asset)
        if tracker is None:
            raise ValueError(f"no OEE tracking for asset {asset!r}")
        calendar = self.plant.calendar_for(asset)
        return stops(tracker.history(end_ns), calendar, start_ns, end_ns, reasons=self.reasons)

    def report(self, start_ns: int, end_ns: int) -> OeeReport:
        """OEE of every asset and node over ``[start_ns, end_ns)``, from what memory holds."""
        histories = {p: t.history(end_ns) for p, t in self.tracker.trackers.items()}
        return plant_report(self.plant, histories, start_ns, end_ns, reasons=self.reasons)

    def current(self, now_ns: int) -> tuple[dict[str, Period], OeeReport]:
        """Each asset's current shift and its OEE so far; nodes sum their assets' shifts."""
        shifts: dict[str, Period] = {}
        totals = {}
        for path, tracker in self.tracker.trackers.items():
            calendar = self.plant.calendar_for(path)
            shift = current_shift(calendar, now_ns)
            shifts[path] = shift
            totals[path] = asset_totals(
                tracker.history(now_ns), calendar, shift.start_ns, now_ns, reasons=self.reasons
            )
        start = min((s.start_ns for s in shifts.values()), default=now_ns)
        return shifts, OeeReport(start, now_ns, totals, rollup(self.plant, totals))

    def updates(self, now_ns: int) -> list[OeeUpdated]:
        """One :class:`OeeUpdated` per asset for its current shift, to publish on the bus."""
        shifts, report = self.current(now_ns)
        return [
            OeeUpdated(
                ts_ns=now_ns,
                subject=path,
                shift=shifts[path].name,
                shift_start_ns=shifts[path].start_ns,
                availability=t.availability,
                performance=t.performance,
                quality=t.quality,
                oee=t.oee,
                planned_s=t.planned_ns / 1e9,
                run_s=t.run_ns / 1e9,
                total=t.total,
                good=t.good,
                micro_stops=t.micro_stops,
            )
            for path, t in report.assets.items()
        ]
