"""A small but real MTConnect agent for tests: a circular buffer of observations with
sequence numbers, served over HTTP (starlette + uvicorn on 127.0.0.1) in a background
thread. It answers ``/probe``, ``/current`` and ``/sample?from=&count=`` with MTConnect 2.0
XML and ``OUT_OF_RANGE`` errors the way the reference agent does."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.server import free_port, wait_until

VERSION = "2.0"
XML_TYPE = "application/xml"


@dataclass(frozen=True)
class Item:
    id: str
    name: str
    category: str  # SAMPLE, EVENT or CONDITION
    type: str
    component: str  # component id
    units: str | None = None
    sub_type: str | None = None


# device mill-1: Axes "base" > Linear "X", Rotary "C"; Controller "controller"
COMPONENTS = {
    "dev": ("Device", "mill-1", None),
    "base": ("Axes", "base", "dev"),
    "x": ("Linear", "X", "base"),
    "c": ("Rotary", "C", "base"),
    "cont": ("Controller", "controller", "dev"),
}
ITEMS = (
    Item("avail", "avail", "EVENT", "AVAILABILITY", "dev"),
    Item("Xact", "Xact", "SAMPLE", "POSITION", "x", "MILLIMETER", "ACTUAL"),
    Item("Sspeed", "Sspeed", "SAMPLE", "ROTARY_VELOCITY", "c", "REVOLUTION/MINUTE", "ACTUAL"),
    Item("exec", "execution", "EVENT", "EXECUTION", "cont"),
    Item("pcount", "partcount", "EVENT", "PART_COUNT", "cont"),
    Item("temp_cond", "temp", "CONDITION", "TEMPERATURE", "cont"),
)
TEXT_ITEMS = (
    Item("program", "program", "EVENT", "PROGRAM", "cont"),
    Item("partid", "partid", "EVENT", "PART_ID", "cont"),
    Item("mode", "mode", "EVENT", "CONTROLLER_MODE", "cont"),
)
"""Events whose values are text; pass ``items=ITEMS + TEXT_ITEMS`` to serve them too."""


@dataclass(frozen=True)
class Obs:
    sequence: int
    item: Item
    ts_ns: int
    value: str  # for conditions: Normal, Warning, Fault or Unavailable


def _iso(ts_ns: int) -> str:
    seconds, ns = divmod(ts_ns, 1_000_000_000)
    return (
        datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{ns // 1000:06d}Z"
    )


class Agent:
    """The buffer and the documents; thread-safe, so tests add observations while it serves."""

    def __init__(self, *, buffer_size: int = 64, items: tuple[Item, ...] = ITEMS) -> None:
        self.buffer_size = buffer_size
        self.items = items
        self._by_id = {i.id: i for i in items}
        self.raw: bytes | None = None  # when set, every request gets these bytes
        self._lock = threading.Lock()
        self._reset(1_700_000_000)

    def _reset(self, instance_id: int) -> None:
        self.instance_id = instance_id
        self._buffer: deque[Obs] = deque(maxlen=self.buffer_size)
        self._latest: dict[str, Obs] = {}
        self._next = 1
        for item in self.items:  # a starting agent reports every item as unavailable
            self._append(item.id, "Unavailable" if item.category == "CONDITION" else "UNAVAILABLE")

    def _append(self, item_id: str, value: str, ts_ns: int | None = None) -> int:
        obs = Obs(self._next, self._by_id[item_id], ts_ns or time.time_ns(), value)
        self._buffer.append(obs)
        self._latest[item_id] = obs
        self._next += 1
        return obs.sequence

    def add(self, item_id: str, value: object, ts_ns: int | None = None) -> int:
        """Record one observation; returns its sequence number."""
        with self._lock:
            return self._append(item_id, str(value), ts_ns)

    def restart(self) -> None:
        """Like a restarted agent: a new instanceId, an empty buffer, sequences from 1."""
        with self._lock:
            self._reset(self.instance_id + 1)

    @property
    def first_sequence(self) -> int:
        with self._lock:
            return self._buffer[0].sequence

    @property
    def next_sequence(self) -> int:
        with self._lock:
            return self._next

    def _header(self, streams: bool, next_sequence: int | None = None) -> str:
        attrs = (
            f'creationTime="{_iso(time.time_ns())}" sender="plantos-test" '
            f'instanceId="{self.instance_id}" version="{VERSION}.0" bufferSize="{self.buffer_size}"'
        )
        if streams:
            first = self._buffer[0].sequence if self._buffer else self._next
            attrs += (
                f' firstSequence="{first}" lastSequence="{self._next - 1}"'
                f' nextSequence="{next_sequence or self._next}"'
            )
        return f"<Header {attrs}/>"

    def probe(self) -> str:
        with self._lock:
            header = self._header(streams=False)

        def component(cid: str) -> str:
            kind, name, _ = COMPONENTS[cid]
            items = "".join(
                f"<DataItem id={quoteattr(i.id)} name={quoteattr(i.name)}"
                f' category="{i.category}" type="{i.type}"'
                + (f" subType={quoteattr(i.sub_type)}" if i.sub_type else "")
                + (f" units={quoteattr(i.units)}" if i.units else "")
                + "/>"
                for i in self.items
                if i.component == cid
            )
            subs = "".join(component(s) for s, (_, _, p) in COMPONENTS.items() if p == cid)
            extra = ' uuid="mill-1-uuid"' if kind == "Device" else ""
            body = (f"<DataItems>{items}</DataItems>" if items else "") + (
                f"<Components>{subs}</Components>" if subs else ""
            )
            return f'<{kind} id="{cid}" name="{name}"{extra}>{body}</{kind}>'

        return (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<MTConnectDevices'
            f' xmlns="urn:mtconnect.org:MTConnectDevices:{VERSION}">'
            f"{header}<Devices>{component('dev')}</Devices></MTConnectDevices>"
        )

    def current(self) -> str:
        with self._lock:
            return self._streams(sorted(self._latest.values(), key=lambda o: o.sequence))

    def sample(self, start: int | None, count: int) -> tuple[int, str]:
        with self._lock:
            first = self._buffer[0].sequence if self._buffer else self._next
            start = first if start is None else start
            if count <= 0 or count > self.buffer_size:
                return 400, self._error(
                    "OUT_OF_RANGE", f"'count' must be between 1 and {self.buffer_size}."
                )
            if start < first:
                return 400, self._error(
                    "OUT_OF_RANGE", f"'from' must be greater than or equal to {first}."
                )
            if start > self._next:
                return 400, self._error(
                    "OUT_OF_RANGE", f"'from' must be less than or equal to {self._next}."
                )
            picked = [o for o in self._buffer if start <= o.sequence < start + count]
            end = min(start + count, self._next)
            return 200, self._streams(picked, next_sequence=end)

    def _streams(self, observations: list[Obs], next_sequence: int | None = None) -> str:
        header = self._header(streams=True, next_sequence=next_sequence)
        by_component: dict[str, dict[str, list[str]]] = {}
        for o in observations:
            groups = by_component.setdefault(o.item.component, {})
            if o.item.category == "CONDITION":
                el = (
                    f'<{o.value} dataItemId="{o.item.id}" timestamp="{_iso(o.ts_ns)}"'
                    f' sequence="{o.sequence}" type="{o.item.type}"/>'
                )
                groups.setdefault("Condition", []).append(el)
                continue
            tag = "".join(w.capitalize() for w in o.item.type.split("_"))
            el = (
                f'<{tag} dataItemId="{o.item.id}" timestamp="{_iso(o.ts_ns)}"'
                f' name="{o.item.name}" sequence="{o.sequence}">{escape(o.value)}</{tag}>'
            )
            groups.setdefault("Samples" if o.item.category == "SAMPLE" else "Events", []).append(el)
        streams = "".join(
            f'<ComponentStream component="{COMPONENTS[cid][0]}" name="{COMPONENTS[cid][1]}"'
            f' componentId="{cid}">'
            + "".join(f"<{k}>{''.join(v)}</{k}>" for k, v in groups.items())
            + "</ComponentStream>"
            for cid, groups in by_component.items()
        )
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<MTConnectStreams'
            f' xmlns:m="urn:mtconnect.org:MTConnectStreams:{VERSION}"'
            f' xmlns="urn:mtconnect.org:MTConnectStreams:{VERSION}">{header}<Streams>'
            f'<DeviceStream name="mill-1" uuid="mill-1-uuid">{streams}</DeviceStream>'
            "</Streams></MTConnectStreams>"
        )

    def _error(self, code: str, message: str) -> str:
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<MTConnectError'
            f' xmlns="urn:mtconnect.org:MTConnectError:{VERSION}">{self._header(streams=False)}'
            f'<Errors><Error errorCode="{code}">{escape(message)}</Error></Errors></MTConnectError>'
        )

    def app(self) -> Starlette:
        def reply(status: int, body: str) -> Response:
            return Response(self.raw if self.raw is not None else body, status, media_type=XML_TYPE)

        async def probe(request: Request) -> Response:
            return reply(200, self.probe())

        async def current(request: Request) -> Response:
            return reply(200, self.current())

        async def sample(request: Request) -> Response:
            try:
                start = request.query_params.get("from")
                count = int(request.query_params.get("count", "100"))
                status, body = self.sample(None if start is None else int(start), count)
            except ValueError:
                status = 400
                with self._lock:
                    body = self._error("INVALID_REQUEST", "'from' and 'count' must be integers.")
            return reply(status, body)

        return Starlette(
            routes=[Route("/probe", probe), Route("/current", current), Route("/sample", sample)]
        )


class AgentServer:
    """Serves an ``Agent`` on a fixed free port; ``stop`` and ``start`` again to play outages."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        config = uvicorn.Config(
            self.agent.app(),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            ws="none",
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="mtconnect-test-agent", daemon=True)
        thread.start()
        wait_until(lambda: server.started or not thread.is_alive(), "the MTConnect agent")
        if not thread.is_alive():
            raise RuntimeError("MTConnect test agent did not start")
        self._server, self._thread = server, thread

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> AgentServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
