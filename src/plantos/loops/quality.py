"""The quality loop: a characteristic out of control or a failed inspection becomes one
nonconformance, the running order or its lot is held where the plant's rules say so,
and quality is told.

On every ``SpcViolation`` (of the monitoring phase) and every failed inspection (a
sample of 0 on a bool tag the ``quality`` section names an inspection), in one
transaction:

1. find the order running on the characteristic's asset (or, while one is held there,
   the order held) and the lot it fills there;
2. open exactly one nonconformance for that characteristic and order, or add the new
   evidence to the one still open (a flood of violations stays one nonconformance);
3. put the order or the lot on hold where the rule for the characteristic holds on this
   finding (its ``hold_target``);
4. queue the notifications: the ``quality`` roles and whatever the routing rules add.

It also keeps the lots (see :mod:`plantos.mom.quality.lots`): an ``OrderStateChanged``
to running opens the order's lot on its asset, to completed or cancelled ends it, and a
new value of a lot-code tag starts a lot with that code.

The events (``NonconformanceOpened``, ``LotHeld``, and later
``NonconformanceDispositioned``, ``LotReleased``, ``LotScrapped``) leave through the
outbox, committed with the change; the loop never publishes on the topics it consumes.
After the commit the notifications' dispatcher is woken. Each reaction records its
wall-clock latency.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from plantos.analytics.spc.events import SpcViolation
from plantos.core.batch import SampleBatch
from plantos.core.quality import is_bad
from plantos.integration.notify import store
from plantos.integration.notify.routing import Notice, Router
from plantos.model.plant import Plant
from plantos.mom.domain.events import OrderStateChanged
from plantos.mom.domain.lot import InvalidLotError, Lot
from plantos.mom.quality import lots
from plantos.mom.quality.nonconformance import Nonconformance
from plantos.mom.quality.service import QualityService, hold, new_nonconformance_id
from plantos.mom.quality.uow import QualityUnitOfWork
from plantos.mom.store.repositories import ConcurrentChangeError

log = logging.getLogger(__name__)
T = TypeVar("T")

BY = "loop:quality"
LOT_STATES = ("running", "completed", "cancelled")
"""The order states that open or end lots."""
REACTIONS_KEPT = 1000
RETRIES = 5
"""Attempts of one reaction whose order or nonconformance changed in another transaction
meanwhile (the counters book to the running order all the time)."""


@dataclass(frozen=True)
class Finding:
    """One reason to doubt the parts: a rule fired, or an inspection failed."""

    characteristic: str
    """The tag path of the characteristic."""
    asset: str
    trigger: str
    ts_ns: int
    evidence: dict[str, Any]
    failed_parts: int = 0


@dataclass
class Reaction:
    """What one finding led to, with wall-clock milliseconds from its arrival."""

    characteristic: str
    trigger: str
    at_ns: int
    nonconformance: str
    opened: bool
    order: str | None
    held: bool
    notifications: int
    stored_ms: float
    lot: str | None = None
    hold_target: str | None = None


@dataclass(frozen=True)
class _Outcome:
    nc: Nonconformance
    opened: bool
    notifications: int


class QualityLoop:
    def __init__(
        self,
        *,
        service: QualityService,
        plant: Plant,
        router: Router,
        inspections: Mapping[int, str],
        counted: Collection[str] = (),
        lot_codes: Mapping[int, str] | None = None,
        notify: Callable[[], None] = lambda: None,
    ) -> None:
        self.service = service
        self.plant = plant
        self.router = router
        self.inspections = dict(inspections)
        """Tag id to tag path of the inspection results."""
        self._ids = np.fromiter(self.inspections, dtype=np.int32, count=len(self.inspections))
        self.lot_codes = dict(lot_codes or {})
        """Tag id to tag path of the lot-code tags."""
        self._code_ids = np.fromiter(self.lot_codes, dtype=np.int32, count=len(self.lot_codes))
        self._last_code: dict[str, str] = {}
        """Per asset, the lot code last taken: a tag repeating its value costs no query."""
        self.counted = frozenset(counted)
        """Inspection tags whose failures the asset's counters book as scrap already: a
        failure there adds evidence but no affected part, so scrap is never booked twice."""
        self.notify = notify
        """Called after notifications were queued: wakes their dispatcher."""
        self.reactions: deque[Reaction] = deque(maxlen=REACTIONS_KEPT)
        self.counters: Counter[str] = Counter()

    async def handle(self, msg: object) -> None:
        """The bus consumer: SPC violations from the events, inspections and lot codes
        from the samples."""
        if isinstance(msg, SpcViolation):
            finding = self._violation(msg)
            if finding is not None:
                await self.react(finding)
        elif isinstance(msg, SampleBatch):
            if len(self._code_ids):
                for asset, code, ts_ns in self._lot_codes(msg):
                    await self._new_code(asset, code, ts_ns)
            if len(self._ids):
                for finding in self._failed_inspections(msg):
                    await self.react(finding)

    async def follow(self, msg: object) -> None:
        """The bus consumer of the lots: an order's start opens its lot, its end ends it.
        A consumer of its own, so waiting for the database here never holds up the
        findings (or, through a full queue, the publishers of events)."""
        if isinstance(msg, OrderStateChanged) and msg.state in LOT_STATES:
            await self._retried(
                lambda uow: lots.follow_order(
                    uow, msg.subject, msg.state, asset=msg.asset, ts_ns=msg.ts_ns, by=BY,
                    coded=self.service.policy.coded,
                )
            )  # fmt: skip
            self.counters["orders_followed"] += 1

    async def _retried(self, work: Callable[[QualityUnitOfWork], T]) -> T:
        """``work`` in one unit of work, again while another transaction changed the
        same order, nonconformance or lot meanwhile."""
        for _ in range(RETRIES - 1):
            try:
                return (await asyncio.to_thread(self.service.change, work))[0]
            except ConcurrentChangeError:  # the order booked parts, or someone disposed
                continue
        return (await asyncio.to_thread(self.service.change, work))[0]

    async def _new_code(self, asset: str, code: str, ts_ns: int) -> None:
        if self._last_code.get(asset) == code:
            return

        def work(uow: QualityUnitOfWork) -> Lot | None:
            current = uow.lots.filling_on(asset)
            if current is not None and current.id == code:
                return None
            running = uow.orders.running_on(asset)
            return lots.open_lot(
                uow, code, asset=asset, order=running.id if running else None, ts_ns=ts_ns,
                by=BY,
            )  # fmt: skip

        try:
            opened = await self._retried(work)
        except InvalidLotError as exc:  # a code used before: the lot stays as it was
            log.warning("lot code on %s refused: %s", asset, exc)
            self.counters["lot_codes_refused"] += 1
            self._last_code[asset] = code
            return
        self._last_code[asset] = code
        if opened is not None:
            self.counters["lots_coded"] += 1

    def _lot_codes(self, batch: SampleBatch) -> Iterator[tuple[str, str, int]]:
        """``(asset, code, ts_ns)`` of each good text sample of a lot-code tag, in time
        order (an empty code is no lot)."""
        if batch.exact is None:
            return
        rows = np.flatnonzero(np.isin(batch.tag_id, self._code_ids) & ~is_bad(batch.quality))
        for i in rows[np.argsort(batch.ts[rows], kind="stable")].tolist():
            code = batch.exact[i]
            if isinstance(code, str) and code.strip():
                path = self.lot_codes[int(batch.tag_id[i])]
                yield self.plant.tags[path].asset, code.strip(), int(batch.ts[i])

    async def react(self, finding: Finding) -> Reaction:
        started = time.perf_counter()
        outcome = await self._retried(lambda uow: self._decide(uow, finding))
        stored = time.perf_counter()
        if outcome.notifications:
            self.notify()
        nc = outcome.nc
        reaction = Reaction(
            characteristic=finding.characteristic, trigger=finding.trigger, at_ns=finding.ts_ns,
            nonconformance=nc.id, opened=outcome.opened, order=nc.order, held=nc.held,
            notifications=outcome.notifications, stored_ms=(stored - started) * 1e3,
            lot=nc.lot, hold_target=nc.hold_target,
        )  # fmt: skip
        self.reactions.append(reaction)
        self.counters["nonconformances_opened" if outcome.opened else "evidence_added"] += 1
        return reaction

    def _decide(self, uow: QualityUnitOfWork, finding: Finding) -> _Outcome:
        """Steps 1 to 4, on one unit of work (blocking: runs in a worker thread)."""
        now_ns = finding.ts_ns
        # 1. the order the parts belong to
        running = uow.orders.running_on(finding.asset)
        order = running.id if running else _held_on(uow, finding.asset)
        lot = lots.lot_of(
            uow, order, finding.asset, ts_ns=now_ns, by=BY, coded=self.service.policy.coded
        )
        # 2. exactly one open nonconformance per characteristic and order
        nc = uow.nonconformances.open_for(finding.characteristic, order)
        opened = nc is None
        if nc is None:
            nc_id = new_nonconformance_id()
            target = self.service.policy.for_characteristic(finding.characteristic).holds(
                finding.trigger
            )
            # 3. hold where the plant's rules say so
            held = _hold(uow, target, order, lot, nc_id=nc_id, ts_ns=now_ns)
            nc = Nonconformance.open(
                id=nc_id, asset=finding.asset, characteristic=finding.characteristic,
                trigger=finding.trigger, opened_ns=now_ns, by=BY, order=order, hold=held,
                hold_target=target or "order", lot=lot.id if lot else None,
            )  # fmt: skip
            uow.nonconformances.add(nc)
        nc.add_evidence(finding.evidence, failed_parts=finding.failed_parts)
        # 4. notifications, in this same transaction (a flood is one message)
        queued = 0
        if opened:
            notice = _notice(nc, self.plant)
            queued = len(
                store.queue(uow.connection, notice, self.router.route(notice), now_ns=now_ns)
            )
        return _Outcome(nc, opened, queued)

    def _violation(self, event: SpcViolation) -> Finding | None:
        tag = self.plant.tags.get(event.subject)
        if tag is None or event.phase != "monitoring":
            self.counters["violations_ignored"] += 1
            return None
        evidence = {
            "at_ns": event.ts_ns, "trigger": "spc_violation", "rule": event.rule,
            "rule_set": event.rule_set, "chart": event.chart, "statistic": event.statistic,
            "values": list(event.point_values), "center": event.center,
            "lcl": event.lcl, "ucl": event.ucl,
        }  # fmt: skip
        return Finding(event.subject, tag.asset, "spc_violation", event.ts_ns, evidence)

    def _failed_inspections(self, batch: SampleBatch) -> Iterator[Finding]:
        """Each good-quality sample of 0 on an inspection tag, in time order: an
        inspection tag reports one sample per inspection, so each 0 is one failed part."""
        rows = np.flatnonzero(
            np.isin(batch.tag_id, self._ids) & (batch.value == 0.0) & ~is_bad(batch.quality)
        )
        for i in rows[np.argsort(batch.ts[rows], kind="stable")].tolist():
            path = self.inspections[int(batch.tag_id[i])]
            ts_ns = int(batch.ts[i])
            counted = path in self.counted
            evidence = {
                "at_ns": ts_ns, "trigger": "failed_inspection", "tag": path,
                "booked_as_scrap": counted,
            }  # fmt: skip
            asset = self.plant.tags[path].asset
            yield Finding(path, asset, "failed_inspection", ts_ns, evidence, int(not counted))

    def metrics(self) -> dict[str, Any]:
        return {**dict(self.counters), "reactions": len(self.reactions)}


def _hold(
    uow: QualityUnitOfWork,
    target: str | None,
    order: str | None,
    lot: Lot | None,
    *,
    nc_id: str,
    ts_ns: int,
) -> bool:
    """Hold ``target`` (the order or its lot); whether it is held for this finding. A lot
    on hold already (by hand, or another characteristic) stays held for that reason."""
    if target == "order" and order is not None:
        return hold(uow, order, ts_ns=ts_ns)
    if target == "lot" and lot is not None and lot.state in ("open", "released", "closed"):
        lot.hold(by=BY, at_ns=ts_ns, reason=f"{nc_id} opened", nonconformance=nc_id)
        return True
    return False


def _held_on(uow: QualityUnitOfWork, asset: str) -> str | None:
    """The order an open nonconformance holds on ``asset``: a finding still concerns it
    while the asset makes nothing else."""
    held = uow.nonconformances.list(states=("open",), asset=asset, held=True, limit=20)
    return next((nc.order for nc in held if nc.hold_target == "order"), None)


def _notice(nc: Nonconformance, plant: Plant) -> Notice:
    asset = plant.assets.get(nc.asset)
    line = nc.asset.rsplit("/", 1)[0] if asset is not None else None
    return Notice(
        asset=nc.asset,
        line=line,
        site=nc.asset.split("/", 1)[0],
        kind="NonconformanceOpened",
        priority=2 if nc.held else 3,
        reference=nc.id,
        title=f"{nc.id} {nc.trigger.replace('_', ' ')} on {nc.characteristic.rsplit('/', 1)[-1]}"
        + (f", {_held_what(nc)} on hold" if nc.held else ""),
        body={
            "nonconformance": nc.id,
            "characteristic": nc.characteristic,
            "trigger": nc.trigger,
            "order": nc.order,
            "lot": nc.lot,
            "hold": nc.held,
            "hold_target": nc.hold_target,
        },
    )


def _held_what(nc: Nonconformance) -> str:
    return f"lot {nc.lot}" if nc.hold_target == "lot" else f"order {nc.order}"
