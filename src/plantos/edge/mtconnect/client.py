"""Polling an MTConnect agent over HTTP into sample batches, without skipping an observation.

The agent keeps its observations in a circular buffer numbered by sequence. The client
remembers the agent's ``instanceId`` and the next sequence it wants, and pages through
``/sample?from=<next>&count=<count>`` until it has caught up. Three things can break the
chain, and each is handled, counted and logged:

- first contact: ``/current`` gives the latest value of every item and the ``nextSequence``
  to page from;
- an agent restart (a new ``instanceId``, sequences start over): counted in ``restarts``,
  and the client starts again from ``/current``;
- falling behind the buffer (``OUT_OF_RANGE``): the observations that left the buffer are
  gone; their number is added to ``lost_observations`` and the client resumes from the
  agent's ``firstSequence``.

A poll is all or nothing: when the agent cannot be reached, or answers nonsense, ``poll``
raises ``MTConnectError`` and the client's position stays where the last successful poll
left it, so the next poll asks for the same observations again.

Every mapped observation becomes a sample: numbers exact (whole numbers beyond 2**53
included), text as text (:mod:`~plantos.edge.mtconnect.values` says which is which).
``UNAVAILABLE`` becomes a NaN sample with status ``BadNoCommunication`` (0x80310000):
OPC UA defines it as "communication with the data source is defined, but not established,
and there is no last known value available", which is what an MTConnect agent says with
``UNAVAILABLE`` (the agent itself answers, but has no valid value from the device, often
for hours while a machine is off). ``BadCommunicationError`` would blame the link between
PlantOS and the agent, which worked; ``BadWaitingForInitialData`` promises a value that is
merely not there yet, which a switched-off machine will not deliver.

A client that resumes from an earlier one's position (after a reconnect) also restates,
from ``/current``, the latest value of every mapped item that saw no new observation while
the link was down: the supervisor marked those tags Bad when the link dropped, and an
item that changes rarely (a program name, a part id) would otherwise stay Bad until its
next change. The restated values carry their original timestamps, so nothing is new.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from types import TracebackType

import httpx

from plantos.core import quality
from plantos.core.batch import SampleBatch
from plantos.edge.mtconnect.documents import (
    MAX_BYTES,
    DataItemInfo,
    ErrorDocument,
    MTConnectError,
    Observation,
    StreamsDocument,
    parse_probe,
    parse_response,
)
from plantos.edge.mtconnect.values import PROBLEMS, ValueType, device_value

logger = logging.getLogger(__name__)

METRICS = (
    "polls",
    "observations",
    "samples",
    "restarts",
    "lost_observations",
    "non_numeric",
    "unmapped_states",
    "restated",
    "count_reduced",
)


@dataclass(frozen=True, slots=True)
class Position:
    """Where the client reads next: the agent instance and the next sequence number."""

    instance_id: int
    next_sequence: int


@dataclass
class _Poll:
    """What one poll gathers; merged into the client only when the poll succeeds."""

    tag_id: list[int] = field(default_factory=list)
    ts: list[int] = field(default_factory=list)
    value: list[int | float | str | None] = field(default_factory=list)
    quality: list[int] = field(default_factory=list)
    items: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(METRICS, 0))

    def add(self, tag: int, obs: Observation, value: int | float | str | None, code: int) -> None:
        self.tag_id.append(tag)
        self.ts.append(obs.timestamp_ns)
        self.value.append(value)
        self.quality.append(code)
        self.items.add(obs.data_item_id)

    def batch(self) -> SampleBatch:
        return SampleBatch.from_values(self.tag_id, self.ts, self.value, self.quality)


class MTConnectClient:
    """Reads one MTConnect agent; ``mapping`` names the data items to keep (id -> PlantOS tag id).

    ``enums`` turns text values of an item into numbers, e.g.
    ``{"exec": {"ACTIVE": 1, "READY": 0}}``; a state it does not list is delivered as text
    and counted in ``unmapped_states``. ``value_types`` overrides whether an item carries
    numbers or text; a number item that sends text delivers it and counts ``non_numeric``
    (the ingest gate judges it against the tag). Both are logged once per item. One poll
    reads at most ``max_pages`` pages of ``count`` observations, so a fast agent cannot
    keep it busy forever; the next poll goes on from there. Pass ``http`` to share a
    client; otherwise the client owns one and closes it in ``aclose``. ``resume_from``
    continues where an earlier client stopped (after a reconnect), so an outage shorter
    than the agent's buffer loses nothing.
    """

    def __init__(
        self,
        base_url: str,
        *,
        mapping: dict[str, int],
        enums: dict[str, dict[str, int]] | None = None,
        value_types: dict[str, ValueType] | None = None,
        http: httpx.AsyncClient | None = None,
        count: int = 1000,
        max_pages: int = 100,
        max_bytes: int = MAX_BYTES,
        timeout_s: float = 10.0,
        resume_from: Position | None = None,
    ) -> None:
        for name, number in (("count", count), ("max_pages", max_pages), ("max_bytes", max_bytes)):
            if isinstance(number, bool) or not isinstance(number, int) or number < 1:
                raise ValueError(f"{name} must be a positive whole number, got {number!r}")
        self.base_url = base_url.rstrip("/")
        self._mapping = dict(mapping)
        self._enums = {item: dict(states) for item, states in (enums or {}).items()}
        self._value_types = dict(value_types or {})
        self._warned: set[tuple[str, str]] = set()
        self._restate = resume_from is not None
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient(timeout=timeout_s)
        self._count = count
        self._max_pages = max_pages
        self._max_bytes = max_bytes
        self._position: Position | None = resume_from
        self._metrics = dict.fromkeys(METRICS, 0)

    @property
    def position(self) -> Position | None:
        """The agent instance and next sequence; None before the first successful poll."""
        return self._position

    @property
    def metrics(self) -> dict[str, int]:
        return dict(self._metrics)

    async def probe(self) -> list[DataItemInfo]:
        """The data items the agent's devices declare."""
        body, _ = await self._fetch("probe", {})
        return parse_probe(body, max_bytes=self._max_bytes)

    async def poll(self) -> SampleBatch:
        """The samples of mapped items observed since the last poll, in sequence order."""
        self._metrics["polls"] += 1
        acc = _Poll()
        latest = await self._latest() if self._restate and self._position else None
        position = self._position or await self._from_current(acc)
        if latest is not None and latest.header.instance_id != position.instance_id:
            position, latest = await self._restart(acc), None
        for _ in range(self._max_pages):
            params = {"from": position.next_sequence, "count": self._count}
            doc = await self._streams("sample", params)
            if isinstance(doc, ErrorDocument):
                position = await self._recover(doc, position, acc)
            elif doc.header.instance_id != position.instance_id:
                position = await self._restart(acc)
            else:
                position, caught_up = self._take_page(doc, position, acc)
                if caught_up:
                    break
        if latest is not None:
            self._restate_unchanged(latest, acc)
        self._position, self._restate = position, False
        for key, number in acc.counts.items():
            self._metrics[key] += number
        return acc.batch()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> MTConnectClient:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def _take_page(
        self, doc: StreamsDocument, position: Position, acc: _Poll
    ) -> tuple[Position, bool]:
        header = doc.header
        if header.next_sequence < position.next_sequence:
            raise MTConnectError(
                f"The agent at {self.base_url} went back from sequence {position.next_sequence}"
                f" to {header.next_sequence} without a new instanceId."
            )
        for obs in doc.observations:
            if position.next_sequence <= obs.sequence < header.next_sequence:
                self._take(obs, acc)
        caught_up = header.next_sequence > header.last_sequence
        return Position(header.instance_id, header.next_sequence), caught_up

    async def _latest(self) -> StreamsDocument:
        doc = await self._streams("current", {})
        if isinstance(doc, ErrorDocument):
            raise MTConnectError(f"The agent at {self.base_url} refused /current: {doc}")
        return doc

    def _restate_unchanged(self, latest: StreamsDocument, acc: _Poll) -> None:
        """The latest value of every mapped item this poll brought nothing new for."""
        for obs in latest.observations:
            if obs.data_item_id in self._mapping and obs.data_item_id not in acc.items:
                self._take(obs, acc)
                acc.counts["observations"] -= 1
                acc.counts["restated"] += 1

    async def _from_current(self, acc: _Poll) -> Position:
        doc = await self._streams("current", {})
        if isinstance(doc, ErrorDocument):
            raise MTConnectError(f"The agent at {self.base_url} refused /current: {doc}")
        for obs in doc.observations:
            self._take(obs, acc)
        return Position(doc.header.instance_id, doc.header.next_sequence)

    async def _restart(self, acc: _Poll) -> Position:
        acc.counts["restarts"] += 1
        logger.warning("MTConnect agent %s restarted; reading from /current again", self.base_url)
        return await self._from_current(acc)

    async def _recover(self, error: ErrorDocument, position: Position, acc: _Poll) -> Position:
        """After ``OUT_OF_RANGE``, learn the buffer window from ``/current`` and move into it."""
        if not error.has("OUT_OF_RANGE"):
            raise MTConnectError(f"The agent at {self.base_url} refused /sample: {error}")
        current = await self._streams("current", {})
        if isinstance(current, ErrorDocument):
            raise MTConnectError(f"The agent at {self.base_url} refused /current: {current}")
        header = current.header
        wanted = position.next_sequence
        if header.instance_id != position.instance_id or wanted > header.next_sequence:
            return await self._restart(acc)
        if wanted >= header.first_sequence:
            # The sequence is in the buffer, so the page size is what the agent refuses
            # (agents cap ``count`` at their buffer size): ask for smaller pages.
            if self._count == 1:
                raise MTConnectError(
                    f"The agent at {self.base_url} answered {error} for sequence {wanted},"
                    f" which its buffer ({header.first_sequence}..{header.last_sequence}) holds."
                )
            self._count = max(self._count // 2, 1)
            acc.counts["count_reduced"] += 1
            logger.warning(
                "MTConnect agent %s refused the page size; asking for %d observations a page",
                self.base_url,
                self._count,
            )
            return position
        lost = header.first_sequence - wanted
        acc.counts["lost_observations"] += lost
        logger.warning(
            "MTConnect agent %s: %d observations (sequences %d..%d) left its buffer before"
            " they were read; resuming at %d",
            self.base_url,
            lost,
            wanted,
            header.first_sequence - 1,
            header.first_sequence,
        )
        return Position(header.instance_id, header.first_sequence)

    def _take(self, obs: Observation, acc: _Poll) -> None:
        acc.counts["observations"] += 1
        tag = self._mapping.get(obs.data_item_id)
        if tag is None:
            return
        item = obs.data_item_id
        value, problem = device_value(
            obs, states=self._enums.get(item), forced=self._value_types.get(item)
        )
        code = quality.BAD_NO_COMMUNICATION if obs.value is None else quality.GOOD
        acc.add(tag, obs, value, code)
        acc.counts["samples"] += 1
        if problem is not None:
            acc.counts[problem] += 1
            if (item, problem) not in self._warned:
                self._warned.add((item, problem))
                logger.warning(
                    "MTConnect agent %s: data item %s sent %r, %s; delivered as text",
                    self.base_url,
                    item,
                    obs.text,
                    PROBLEMS[problem],
                )

    async def _streams(
        self, endpoint: str, params: dict[str, int]
    ) -> StreamsDocument | ErrorDocument:
        body, status = await self._fetch(endpoint, params)
        try:
            return parse_response(body, max_bytes=self._max_bytes)
        except MTConnectError as exc:
            if status == 200:
                raise
            raise MTConnectError(
                f"The agent at {self.base_url} answered /{endpoint} with HTTP {status}: {exc}"
            ) from exc

    async def _fetch(self, endpoint: str, params: dict[str, int]) -> tuple[bytes, int]:
        """The body (at most ``max_bytes``, read as it streams in) and the HTTP status."""
        url = f"{self.base_url}/{endpoint}"
        try:
            async with self._http.stream("GET", url, params=params) as response:
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self._max_bytes:
                        raise MTConnectError(
                            f"The answer of {url} has more than the {self._max_bytes} bytes"
                            " allowed; refused."
                        )
                    chunks.append(chunk)
                return b"".join(chunks), response.status_code
        except httpx.HTTPError as exc:
            raise MTConnectError(
                f"Cannot read {url} from the MTConnect agent ({type(exc).__name__}: {exc})."
            ) from exc
