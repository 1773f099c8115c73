"""The commit acknowledgement between a PlantOS core and its edge gateways: topic and payload.

The core's Sparkplug host publishes, per edge node, the highest ``PlantOS/Stream Seq``
of each of the node's scopes (the node itself and each device) whose samples the
historian has committed. The message is retained and sent at QoS 1 on

``plantos/v1/committed/<host_id>/<group_id>/<edge_node_id>``

with a JSON payload ``{"timestamp": <ms>, "committed": {"": <n>, "<device>": <n>}}`` (the
empty key is the node's own metrics). It is cumulative: every number at or below the one
given is committed too, so a lost or late message is covered by the next one, and the
retained copy tells a gateway (or a restarted core) where things stand. The topic is
outside the ``spBv1.0`` namespace, so Sparkplug applications that do not know it ignore
it.

Pure functions, no MQTT: both sides and their tests use them.
"""

from __future__ import annotations

import json

COMMIT_NAMESPACE = "plantos/v1/committed"


def commit_topic(host_id: str, group_id: str, edge_node_id: str) -> str:
    """The topic on which ``host_id`` acknowledges what ``group_id/edge_node_id`` sent."""
    for part in (host_id, group_id, edge_node_id):
        if not part or any(c in part for c in "/+#"):
            raise ValueError(f"a commit topic level must be non-empty without / + #: {part!r}")
    return f"{COMMIT_NAMESPACE}/{host_id}/{group_id}/{edge_node_id}"


def parse_commit_topic(topic: str) -> tuple[str, str, str] | None:
    """``(host_id, group_id, edge_node_id)`` of a commit topic, None for another topic."""
    prefix = COMMIT_NAMESPACE + "/"
    if not topic.startswith(prefix):
        return None
    parts = topic[len(prefix) :].split("/")
    if len(parts) != 3 or not all(parts):
        return None
    return parts[0], parts[1], parts[2]


def encode_commit(committed: dict[str | None, int], *, timestamp_ms: int) -> bytes:
    """The payload for the committed stream numbers of one node's scopes (None: the node)."""
    body = {"" if scope is None else scope: int(n) for scope, n in committed.items()}
    return json.dumps({"timestamp": timestamp_ms, "committed": body}, sort_keys=True).encode()


def decode_commit(payload: bytes) -> dict[str | None, int]:
    """Inverse of :func:`encode_commit`; ValueError naming what is wrong otherwise."""
    try:
        message = json.loads(payload)
    except ValueError as exc:
        raise ValueError(f"commit acknowledgement is not JSON: {exc}") from None
    committed = message.get("committed") if isinstance(message, dict) else None
    if not isinstance(committed, dict):
        raise ValueError(f"commit acknowledgement without a 'committed' mapping: {message!r}")
    out: dict[str | None, int] = {}
    for scope, n in committed.items():
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ValueError(f"commit acknowledgement for {scope!r} is not a count: {n!r}")
        out[scope or None] = n
    return out
