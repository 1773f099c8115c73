"""Discover the variables of an OPC UA server: what ``plantos browse opcua://...`` shows.

:func:`browse_opcua` opens a session (security None, or a policy with certificates exactly
as the connector uses them; optionally a user name and password), walks the hierarchical
references from the Objects folder down to a given depth and reads, for every variable
found, its data type, current value and status. It follows every hierarchical reference
but HasProperty (Organizes, HasComponent and the subtypes servers define of them),
however deep (``depth`` caps it if given), and stops after ``max_nodes`` nodes; either
limit, when it cuts the walk short, is reported (``truncated``, ``unexpanded``): a plant
server nests its variables five or more levels down (site, area, line, machine, signal),
and a walk that stopped silently at three would hide them.

A variable's properties describe it, they are not signals: the EngineeringUnits and
EURange of an analog item (OPC 10000-8, 5.3.2) are read as the variable's ``unit`` and
``range``, the two things a plant model's tag asks for, and never offered as tags.

It is read-only and returns plain dataclasses; printing is the CLI's job. Each level of
the tree is browsed with concurrent requests on one session, and the attributes and
properties of all variables are read in a few batched calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from asyncua import ua
from asyncua.client.client import Client
from asyncua.common.node import Node
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.object_ids import ObjectIdNames, ObjectIds
from asyncua.ua.uaerrors import UaError

from plantos.core.errors import PlantOSError
from plantos.edge.opcua.config import SecuritySpec
from plantos.edge.opcua.diagnose import explain
from plantos.edge.opcua.security import apply_login

_READ_BATCH = 500
MAX_NODES = 10_000
"""Nodes visited before the walk stops (and says so): the limit on a huge address space."""
_PROPERTIES = ("EngineeringUnits", "EURange")
_HAS_PROPERTY = ua.NodeId(ua.Int32(ObjectIds.HasProperty))


class BrowseError(PlantOSError):
    """The server cannot be reached or browsed."""


@dataclass(frozen=True, slots=True)
class OpcUaVariable:
    """One variable found while browsing."""

    node_id: str
    """``ns=2;s=Spindle.Speed``: what a connector tag's ``node`` takes."""
    browse_path: str
    """``0:Objects/2:CNC07/2:Spindle/2:Speed``: what a tag's ``browse_path`` takes."""
    browse_name: str
    data_type: str
    value: Any
    """The current value as read: a Python scalar, list, or asyncua object."""
    status: str
    """``Good``, or the status code's name when the read failed."""
    depth: int
    """Levels below Objects: a variable directly in Objects has depth 1."""
    unit: str | None = None
    """Its EngineeringUnits property's display name (``mm/s``), if it has one."""
    range: tuple[float, float] | None = None
    """Its EURange property (low, high), if it has one."""


@dataclass(slots=True)
class OpcUaBrowseResult:
    endpoint: str
    depth: int | None
    """The depth limit asked for; None: as deep as the tree goes."""
    variables: list[OpcUaVariable] = field(default_factory=list)
    nodes_visited: int = 0
    truncated: bool = False
    """The walk stopped at ``max_nodes``: there is more below."""
    unexpanded: int = 0
    """Nodes at the ``depth`` limit whose children were not browsed (0: nothing cut off)."""


def opcua_endpoint(url: str) -> str:
    """``opcua://host[:port][/path]`` or ``opc.tcp://...`` as an ``opc.tcp://`` endpoint;
    the port defaults to 4840."""
    match = re.match(r"^(?:opcua|opc\.tcp)://([^/:\s]+|\[[^\]]+\])(?::(\d*))?(/\S*)?$", url)
    if match is None:
        raise ValueError(f"{url!r} is not an OPC UA URL (write e.g. opcua://host:4840)")
    host, port_text, path = match.groups()
    port = int(port_text) if port_text else 4840
    if not 1 <= port <= 65535:
        raise ValueError(f"{url!r}: port must be 1..65535, got {port}")
    return f"opc.tcp://{host}:{port}{path or ''}"


async def browse_opcua(
    endpoint: str,
    *,
    depth: int | None = None,
    max_nodes: int = MAX_NODES,
    user: str | None = None,
    password: str | None = None,
    include_standard: bool = False,
    timeout_s: float = 4.0,
    security: SecuritySpec | None = None,
) -> OpcUaBrowseResult:
    """Every variable below Objects (at most ``depth`` levels down, if given), in browse
    order, visiting at most ``max_nodes`` nodes.

    The standard objects in namespace 0 directly under Objects (``Server`` with its
    diagnostics, ``Aliases``, ``Locations``) are skipped unless ``include_standard``.

    Raises :class:`BrowseError` when the server cannot be reached or refuses the
    session, and ``ValueError`` for a bad endpoint, depth or node limit.
    """
    if depth is not None and depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    if max_nodes < 1:
        raise ValueError(f"max_nodes must be at least 1, got {max_nodes}")
    endpoint = opcua_endpoint(endpoint)
    client = Client(endpoint, timeout=timeout_s)
    try:
        await apply_login(client, security or SecuritySpec(), user=user, password=password)
    except OSError as exc:
        raise BrowseError(f"cannot read a certificate or key: {exc}") from None
    try:
        await asyncio.wait_for(client.connect(), timeout_s * 2)
    except (OSError, TimeoutError, UaError) as exc:
        why = await explain(endpoint, security or SecuritySpec(), exc, timeout_s=timeout_s)
        raise BrowseError(f"cannot connect to {endpoint}: {_reason(why)}") from None
    try:
        return await _walk(client, endpoint, depth, max_nodes, include_standard)
    except (OSError, TimeoutError, UaError) as exc:
        raise BrowseError(f"browsing {endpoint} failed: {_reason(exc)}") from None
    finally:
        # the result (or the error) matters more than a clean goodbye
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.disconnect(), timeout_s)


async def _walk(
    client: Client, endpoint: str, depth: int | None, max_nodes: int, include_standard: bool
) -> OpcUaBrowseResult:
    result = OpcUaBrowseResult(endpoint, depth)
    objects = client.nodes.objects
    seen: set[ua.NodeId] = {objects.nodeid}
    level: list[tuple[Node, str]] = [(objects, "0:Objects")]
    found: list[tuple[Node, str, str, int]] = []  # node, path, browse name, depth
    current = 0
    while level and (depth is None or current < depth) and not result.truncated:
        current += 1
        children = await asyncio.gather(
            *(
                node.get_children_descriptions(refs=ObjectIds.HierarchicalReferences)
                for node, _ in level
            )
        )
        next_level: list[tuple[Node, str]] = []
        for (_, path), refs in zip(level, children, strict=True):
            for ref in refs:
                node_id = ref.NodeId
                standard = current == 1 and node_id.NamespaceIndex == 0
                skip = _is_property(ref.ReferenceTypeId) or (standard and not include_standard)
                if node_id in seen or skip:
                    continue
                if len(seen) >= max_nodes:
                    result.truncated = True
                    break
                seen.add(node_id)
                name = ref.BrowseName
                child_path = f"{path}/{name.NamespaceIndex}:{name.Name}"
                node = client.get_node(node_id)
                if ref.NodeClass == ua.NodeClass.Variable:
                    found.append((node, child_path, name.Name, current))
                if ref.NodeClass in (ua.NodeClass.Object, ua.NodeClass.Variable):
                    next_level.append((node, child_path))
        result.nodes_visited += len(next_level)
        level = next_level
    if depth is not None and current >= depth:
        result.unexpanded = len(level)
    nodes = [node for node, *_ in found]
    values = await _read(client, nodes, AttributeIds.Value)
    types = await _read(client, nodes, AttributeIds.DataType)
    type_names = await _type_names(client, [dv.Value.Value if dv.Value else None for dv in types])
    properties = await _properties(client, nodes)
    for (node, path, name, level_no), value, dtype, props in zip(
        found, values, types, properties, strict=True
    ):
        type_id = dtype.Value.Value if dtype.Value is not None else None
        result.variables.append(
            OpcUaVariable(
                node_id=node.nodeid.to_string(),
                browse_path=path,
                browse_name=name,
                data_type=type_names.get(type_id, "?") if type_id is not None else "?",
                value=value.Value.Value if value.Value is not None else None,
                status=_status(value.StatusCode),
                depth=level_no,
                unit=_unit(props.get("EngineeringUnits")),
                range=_range(props.get("EURange")),
            )
        )
    return result


def _is_property(reference_type: ua.NodeId) -> bool:
    return reference_type.NamespaceIndex == 0 and reference_type.Identifier == ObjectIds.HasProperty


async def _properties(client: Client, nodes: Sequence[Node]) -> list[dict[str, Any]]:
    """The EngineeringUnits and EURange values of each variable, by property name, found
    with batched Browse requests (HasProperty) and one batched read."""
    described = [ua.BrowseDescription() for _ in nodes]
    for desc, node in zip(described, nodes, strict=True):
        desc.NodeId = node.nodeid
        desc.BrowseDirection = ua.BrowseDirection.Forward
        desc.ReferenceTypeId = _HAS_PROPERTY
        desc.IncludeSubtypes = True
        desc.NodeClassMask = ua.NodeClass.Variable
        desc.ResultMask = ua.BrowseResultMask.BrowseName
    wanted: list[tuple[int, str, Node]] = []
    for start in range(0, len(described), _READ_BATCH):
        params = ua.BrowseParameters()
        params.NodesToBrowse = described[start : start + _READ_BATCH]
        for offset, browsed in enumerate(await client.uaclient.browse(params)):
            for ref in browsed.References or []:
                if ref.BrowseName.NamespaceIndex == 0 and ref.BrowseName.Name in _PROPERTIES:
                    wanted.append(
                        (start + offset, ref.BrowseName.Name, client.get_node(ref.NodeId))
                    )
    found: list[dict[str, Any]] = [{} for _ in nodes]
    read = await _read(client, [node for *_, node in wanted], AttributeIds.Value)
    for (index, name, _), dv in zip(wanted, read, strict=True):
        if dv.Value is not None and (dv.StatusCode is None or dv.StatusCode.is_good()):
            found[index][name] = dv.Value.Value
    return found


def _unit(value: Any) -> str | None:
    if isinstance(value, ua.EUInformation) and value.DisplayName and value.DisplayName.Text:
        return str(value.DisplayName.Text)
    return None


def _range(value: Any) -> tuple[float, float] | None:
    if isinstance(value, ua.Range):
        return (float(value.Low), float(value.High))
    return None


async def _read(client: Client, nodes: Sequence[Node], attr: AttributeIds) -> list[ua.DataValue]:
    values: list[ua.DataValue] = []
    for start in range(0, len(nodes), _READ_BATCH):
        values.extend(await client.read_attributes(nodes[start : start + _READ_BATCH], attr))
    return values


async def _type_names(client: Client, type_ids: Sequence[Any]) -> dict[ua.NodeId, str]:
    """Names of data types: standard ones from the table, others read from the server."""
    names: dict[ua.NodeId, str] = {}
    custom: list[ua.NodeId] = []
    for type_id in set(t for t in type_ids if isinstance(t, ua.NodeId)):
        ident = type_id.Identifier
        if type_id.NamespaceIndex == 0 and isinstance(ident, int) and ident in ObjectIdNames:
            names[type_id] = ObjectIdNames[ident]
        else:
            custom.append(type_id)
    if custom:
        nodes = [client.get_node(t) for t in custom]
        for type_id, dv in zip(
            custom, await _read(client, nodes, AttributeIds.BrowseName), strict=True
        ):
            browse_name = dv.Value.Value if dv.Value is not None else None
            names[type_id] = (
                browse_name.Name
                if isinstance(browse_name, ua.QualifiedName)
                else type_id.to_string()
            )
    return names


def _status(code: ua.StatusCode | None) -> str:
    if code is None or code.is_good():
        return "Good"
    return str(code.name)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def signal_name(browse_name: str) -> str:
    """A browse name as a snake_case signal: ``SpindleSpeed 2`` -> ``spindle_speed_2``."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", browse_name)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    text = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()
    return text or "signal"
