"""Reading production orders from an ERP's schedule: V0600 ``ProductionSchedule`` and
V0701 ``OperationsSchedule``, bare or wrapped in any BOD verb (Sync, Process, Change,
Cancel, ...).

The mapping is the inverse of :mod:`.schedule` and tolerant of the layouts ERPs write:
the product is the first material requirement with use Produced anywhere in the order
(``MaterialProducedRequirement`` in V0600 counts too); the operations are the segment
requirements that name a process segment, in document order, except the order-level one
(a top-level segment that carries the produced material). A ``Cancel`` verb
or a request state Cancelled marks every such order cancelled. Anything PlantOS needs
and does not find is a :class:`MissingFieldError` naming the order and the element.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterator
from datetime import datetime
from pathlib import Path
from xml.etree.ElementTree import Element

from plantos.integration.erp.b2mml.model import ScheduledOperation, ScheduledOrder
from plantos.integration.erp.b2mml.untrusted import parse_untrusted
from plantos.integration.erp.b2mml.validate import validate_document
from plantos.integration.erp.b2mml.versions import MessageKind, Version
from plantos.integration.erp.b2mml.xml import VERBS
from plantos.integration.erp.b2mml.xsd_values import parse_duration_s, parse_timestamp
from plantos.integration.erp.errors import (
    ErpDocumentError,
    MissingFieldError,
    SchemaViolationError,
    UnknownProductError,
    UnsupportedDocumentError,
)

_NOUNS = {Version.V0600: "ProductionSchedule", Version.V0701: "OperationsSchedule"}
_REQUESTS = {Version.V0600: "ProductionRequest", Version.V0701: "OperationsRequest"}
_CHILD_SEGMENTS = ("SegmentRequirement", "SegmentRequirementChild")


def decode_schedule(
    data: bytes, *, schema_dir: Path | None = None, products: Collection[str] | None = None
) -> list[ScheduledOrder]:
    """The orders in a schedule document; with ``schema_dir`` the document must also
    validate against the official XSD of its version, with ``products`` (the plant's
    master data) every order's product must be one of them. Raises an ErpDocumentError
    subclass (nothing is returned half-read)."""
    root = parse_untrusted(data)
    version, verb = _identify(root)
    if schema_dir is not None:
        validate_document(data, schema_dir=schema_dir, version=version, kind=MessageKind.SCHEDULE)
    ns = f"{{{version.namespace}}}"
    schedule = root if verb is None else root.find(f"{ns}DataArea/{ns}{_NOUNS[version]}")
    if schedule is None:
        raise MissingFieldError(f"{root.tag}: no DataArea/{_NOUNS[version]}")
    orders = [
        _order(req, ns, cancel=verb == "Cancel")
        for req in schedule.findall(f"{ns}{_REQUESTS[version]}")
    ]
    counts = Counter(o.erp_order_id for o in orders)
    twice = sorted(order_id for order_id, n in counts.items() if n > 1)
    if twice:
        raise ErpDocumentError(f"orders {twice} appear more than once in the document")
    unknown = [o for o in orders if products is not None and o.product not in products]
    if unknown:
        named = ", ".join(f"{o.product!r} (order {o.erp_order_id})" for o in unknown)
        raise UnknownProductError(f"unknown products: {named}")
    return orders


def _identify(root: Element) -> tuple[Version, str | None]:
    namespace, name = ("", root.tag)
    if root.tag.startswith("{"):
        namespace, _, name = root.tag[1:].partition("}")
    version = next((v for v in Version if v.namespace == namespace), None)
    if version is None:
        raise UnsupportedDocumentError(
            f"namespace {namespace!r} is not B2MML V0600 ({Version.V0600.namespace}) "
            f"or V0701 ({Version.V0701.namespace})"
        )
    noun = _NOUNS[version]
    if name == noun:
        return version, None
    verb = name.removesuffix(noun)
    if verb == name or verb not in VERBS:
        raise UnsupportedDocumentError(
            f"root element {name!r} is not a {version.value} {noun} (bare or with a BOD verb)"
        )
    if root.get("releaseID") is None:
        raise SchemaViolationError([f"{name}: the attribute 'releaseID' is required but missing"])
    return version, verb


def _text(parent: Element, ns: str, name: str) -> str | None:
    node = parent.find(f"{ns}{name}")
    if node is None or node.text is None or not node.text.strip():
        return None
    return node.text.strip()


def _required(parent: Element, ns: str, name: str, where: str) -> str:
    value = _text(parent, ns, name)
    if value is None:
        raise MissingFieldError(f"{where}: {name} is missing or empty")
    return value


def _time(parent: Element, ns: str, name: str, where: str) -> datetime | None:
    text = _text(parent, ns, name)
    return None if text is None else parse_timestamp(text, where=f"{where} {name}")


def _segments(request: Element, ns: str) -> Iterator[tuple[Element, int]]:
    """Every segment requirement below ``request`` in document order, with its depth;
    iterative, so a hostile nesting depth cannot exhaust the interpreter's stack."""
    tags = {f"{ns}{n}" for n in _CHILD_SEGMENTS}
    stack = [(child, 0) for child in reversed(request) if child.tag in tags]
    while stack:
        seg, depth = stack.pop()
        yield seg, depth
        stack.extend((child, depth + 1) for child in reversed(seg) if child.tag in tags)


def _produced(seg: Element, ns: str) -> Element | None:
    for req in seg.findall(f"{ns}MaterialRequirement"):
        if _text(req, ns, "MaterialUse") == "Produced":
            return req
    return seg.find(f"{ns}MaterialProducedRequirement")


def _order(req: Element, ns: str, *, cancel: bool) -> ScheduledOrder:
    order_id = _required(req, ns, "ID", "order request")
    where = f"order {order_id}"
    segments = list(_segments(req, ns))
    produced = next((p for seg, _depth in segments if (p := _produced(seg, ns)) is not None), None)
    if produced is None:
        raise MissingFieldError(f"{where}: no MaterialRequirement with MaterialUse Produced")
    product = _required(produced, ns, "MaterialDefinitionID", f"{where} produced material")
    quantity = produced.find(f"{ns}Quantity")
    if quantity is None:
        raise MissingFieldError(f"{where}: the produced material has no Quantity")
    amount_text = _required(quantity, ns, "QuantityString", f"{where} Quantity")
    try:
        amount = float(amount_text)
    except ValueError:
        raise MissingFieldError(f"{where}: Quantity {amount_text!r} is not a number") from None
    operations = tuple(
        _operation(seg, ns, where)
        for seg, depth in segments
        if _text(seg, ns, "ProcessSegmentID") is not None
        and not (depth == 0 and _produced(seg, ns) is not None)
    )
    state = req.find(f"{ns}RequestState")
    cancelled = cancel or (
        state is not None and "Cancelled" in (state.text, state.get("OtherValue"))
    )
    priority = _text(req, ns, "Priority")
    if priority is not None and re.fullmatch(r"[+-]?[0-9]{1,9}", priority) is None:
        raise MissingFieldError(f"{where}: Priority {priority!r} is not a whole number")
    try:
        return ScheduledOrder(
            erp_order_id=order_id,
            product=product,
            quantity=amount,
            unit=_text(quantity, ns, "UnitOfMeasure") or "",
            release=_time(req, ns, "StartTime", where),
            due=_time(req, ns, "EndTime", where),
            priority=None if priority is None else int(priority),
            operations=operations,
            cancelled=cancelled,
        )
    except ValueError as exc:
        raise MissingFieldError(f"{where}: {exc}") from exc


def _operation(seg: Element, ns: str, where: str) -> ScheduledOperation:
    name = _required(seg, ns, "ProcessSegmentID", f"{where} segment")
    equipment = seg.find(f"{ns}EquipmentRequirement")
    duration = _text(seg, ns, "Duration")
    try:
        return ScheduledOperation(
            operation=name,
            equipment=None if equipment is None else _text(equipment, ns, "EquipmentID"),
            earliest_start=_time(seg, ns, "EarliestStartTime", f"{where} {name}"),
            latest_end=_time(seg, ns, "LatestEndTime", f"{where} {name}"),
            duration_s=None if duration is None else parse_duration_s(duration, where=where),
        )
    except ValueError as exc:
        raise MissingFieldError(f"{where} operation {name}: {exc}") from exc
