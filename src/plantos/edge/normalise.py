"""The gate between sources and the bus: every batch is checked before anyone sees it.

Unknown tag ids and impossible timestamps are rejected; a non-finite value that
claims Good quality is kept but marked ``BadOutOfRange``, and a value that does not fit its
tag's type (text for a number, a fraction for an int, a text beyond its length) is kept but
marked Bad with the reason counted (:mod:`plantos.edge.typegate`). A sample identical in
timestamp, value and quality to the newest one already accepted for its tag is a
restatement, not a new observation: protocols restate current values on every
(re)connect (an OPC UA subscription's initial notification, a Sparkplug birth or
rebirth), and the historian must not store them twice; they are counted as
``restated``. Nothing is dropped silently: every rejection is counted by reason and logged
(at most once per reason every ``log_every_s`` seconds, so a broken source cannot
flood the log).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping

import numpy as np
import numpy.typing as npt

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.core.clock import Clock
from plantos.edge.typegate import TypeGate, text_and_big
from plantos.live.state import LiveState
from plantos.model.plant import TagDef

log = logging.getLogger(__name__)

EARLIEST_NS = 946_684_800 * 1_000_000_000  # 2000-01-01T00:00:00Z
FUTURE_TOLERANCE_NS = 24 * 3600 * 1_000_000_000


LINK_MARKS = np.array(
    [
        quality.BAD_COMMUNICATION_ERROR,
        quality.BAD_NO_COMMUNICATION,
        quality.UNCERTAIN_LAST_USABLE_VALUE,
    ],
    dtype=np.uint32,
)
"""Status codes the platform stamps when it loses a source (the supervisor on a broken
link, the Sparkplug host asking for a rebirth): marks, not observations of the device."""


def _is_link_mark(codes: npt.NDArray[np.uint32]) -> npt.NDArray[np.bool_]:
    return np.isin(codes, LINK_MARKS)


class Normaliser:
    """Validates batches against the set of known tag ids."""

    def __init__(
        self,
        known_ids: np.ndarray,
        *,
        clock: Clock,
        tags: Mapping[int, TagDef] | None = None,
        log_every_s: float = 10.0,
    ) -> None:
        size = int(known_ids.max()) + 1 if len(known_ids) else 1
        self._types = TypeGate(tags or {})
        self._paths = {i: t.path for i, t in (tags or {}).items()}
        self._known = np.zeros(size, dtype=bool)
        self._known[known_ids] = True
        self._newest = LiveState(size)
        """Each tag's newest observation from its device (link-loss marks are none)."""
        self._latest = LiveState(size)
        """Each tag's newest sample passed on, link-loss marks included."""
        self.on_confirmed: Callable[[SampleBatch], None] | None = None
        """Called with the values a device confirmed after a link-loss mark (see
        :meth:`_confirmations`): the platform's live state takes them back."""
        self._clock = clock
        self._log_every_s = log_every_s
        self._last_log: dict[str, float] = {}
        self.rejected: Counter[str] = Counter()
        self.accepted = 0
        self.restated = 0

    def __call__(self, batch: SampleBatch, *, source: str = "unknown") -> SampleBatch:
        if len(batch) == 0:
            return batch
        ids = batch.tag_id
        in_range = (ids >= 0) & (ids < len(self._known))
        known = np.zeros(len(ids), dtype=bool)
        known[in_range] = self._known[ids[in_range]]
        latest = self._clock.now_ns() + FUTURE_TOLERANCE_NS
        ts_ok = (batch.ts >= EARLIEST_NS) & (batch.ts <= latest)
        self._count(~known, "unknown_tag", source)
        self._count(known & ~ts_ok, "bad_timestamp", source)
        keep = known & ts_ok
        if not keep.all():
            batch = batch.select(keep)
        batch, refusals = self._types.check(batch)
        for refusal in refusals:
            self._count(refusal.mask, refusal.reason, source, batch.tag_id)
        claims_good = (batch.quality & np.uint32(quality.BAD)) == 0
        nonfinite = claims_good & ~np.isfinite(batch.value)
        if batch.exact is not None and nonfinite.any():
            nonfinite &= ~text_and_big(batch)[0]  # a text's float is NaN by design
        if nonfinite.any():
            marked = batch.quality.copy()
            marked[nonfinite] = quality.BAD_OUT_OF_RANGE
            batch = batch.with_quality(marked)
            self._count(nonfinite, "nonfinite_marked_bad", source, batch.tag_id)
        confirmed = self._confirmations(batch)
        if confirmed.any():
            again = batch.select(confirmed)
            self._latest.restore(again, LINK_MARKS)  # answered: later repeats are plain
            if self.on_confirmed is not None:
                self.on_confirmed(again)
        restated = self._restated(batch)
        if restated.any():
            self.restated += int(restated.sum())
            batch = batch.select(~restated)
        self.accepted += len(batch)
        self.remember(batch)
        return batch

    def remember(self, batch: SampleBatch) -> None:
        """Take ``batch`` (what the historian stored last, at start-up) as already
        accepted, so a source restating it after a restart does not store it twice."""
        self._latest.update(batch)
        observed = ~_is_link_mark(batch.quality)
        self._newest.update(batch if observed.all() else batch.select(observed))

    def _confirmations(self, batch: SampleBatch) -> npt.NDArray[np.bool_]:
        """Observations a link-loss mark of their tag would hide: stamped no later than
        the mark, and no earlier than the device's newest observation known. The device
        says what it held while the platform had marked it unknown: a restatement (not
        stored again, the historian has it exactly once) or a change the mark interrupted
        (a Sparkplug node's data discarded while its host awaited the rebirth, which the
        births restate). They go to :attr:`on_confirmed` so the live state shows the
        device's value again, older than the mark though it is (a newer sample in the
        same batch still wins there)."""
        ids = batch.tag_id
        held = self._latest.quality[ids]
        after_mark: npt.NDArray[np.bool_] = held != quality.GOOD
        if not after_mark.any():  # a mark is never Good: the steady stream stops here
            return after_mark
        after_mark &= _is_link_mark(held)
        after_mark &= self._latest.ts[ids] >= batch.ts
        after_mark &= batch.ts >= self._newest.ts[ids]
        after_mark &= ~_is_link_mark(batch.quality)
        return after_mark

    def _restated(self, batch: SampleBatch) -> npt.NDArray[np.bool_]:
        """Samples equal in timestamp, value and quality to their tag's newest accepted
        observation. Link-loss marks (:data:`LINK_MARKS`) are not observations: the value
        restated after the link returns is compared with the last one the device sent, not
        with the mark."""
        ids = batch.tag_id
        held = self._newest
        same_value = (batch.value == held.value[ids]) | (
            np.isnan(batch.value) & np.isnan(held.value[ids])
        )
        if batch.exact is None:
            same_value &= ~held.has_exact[ids]
        else:
            same_value &= np.equal(batch.exact, held.exact[ids])
        restated: npt.NDArray[np.bool_] = (
            (batch.ts == held.ts[ids]) & same_value & (batch.quality == held.quality[ids])
        )
        return restated

    def _count(
        self,
        mask: np.ndarray,
        reason: str,
        source: str,
        tag_ids: npt.NDArray[np.int32] | None = None,
    ) -> None:
        n = int(mask.sum())
        if not n:
            return
        self.rejected[reason] += n
        now = time.monotonic()
        if now - self._last_log.get(reason, -1e18) >= self._log_every_s:
            self._last_log[reason] = now
            first = int(tag_ids[mask][0]) if tag_ids is not None else None
            log.warning(
                "%s: %d samples from %s%s (%d in total so far)",
                reason,
                n,
                source,
                f", first of tag {self._paths.get(first, first)}" if first is not None else "",
                self.rejected[reason],
            )

    def metrics(self) -> dict[str, int | dict[str, int]]:
        return {
            "accepted": self.accepted,
            "restated": self.restated,
            "rejected": dict(self.rejected),
        }
