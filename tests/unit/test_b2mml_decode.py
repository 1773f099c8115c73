"""Reading an ERP's schedule: the orders come out as PlantOS sees them, in either
version, in any encoding, and every hostile or broken document is refused with a
specific error and a reason, never a crash or a half-read result."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plantos.integration.erp.b2mml import (
    ScheduledOperation,
    ScheduledOrder,
    Version,
    decode_schedule,
    encode_schedule,
)
from plantos.integration.erp.errors import (
    ErpDocumentError,
    ForbiddenXmlError,
    MalformedXmlError,
    MissingFieldError,
    SchemaViolationError,
    UnknownProductError,
    UnsupportedDocumentError,
)

V6 = Version.V0600.namespace
V7 = Version.V0701.namespace


def t(hour: int) -> dt.datetime:
    return dt.datetime(2026, 3, 2, hour, tzinfo=dt.UTC)


ORDERS = [
    ScheduledOrder(
        "4711", "bracket-a", 120, "pcs", t(6), t(20), 2,
        (ScheduledOperation("op-10", "cnc-07", t(6), t(10), 1800), ScheduledOperation("op-20")),
    ),
    ScheduledOrder("4712", "bracket-b", 5, "pcs", cancelled=True),
]  # fmt: skip


def document(version: Version) -> bytes:
    return encode_schedule(
        ORDERS, version=version, sender="erp", created=t(5), document_id=UUID(int=1)
    )


@pytest.mark.parametrize("version", list(Version))
def test_schedule_round_trips(version: Version) -> None:
    assert decode_schedule(document(version)) == ORDERS


@pytest.mark.parametrize("version", list(Version))
def test_schedule_validates_when_a_schema_folder_is_configured(
    shared_data: Path, version: Version
) -> None:
    assert decode_schedule(document(version), schema_dir=shared_data / "b2mml") == ORDERS


def test_schema_violation_is_reported_with_its_line(shared_data: Path) -> None:
    broken = document(Version.V0701).replace(b"<Priority>2</Priority>", b"<Prio>2</Prio>")
    with pytest.raises(SchemaViolationError) as caught:
        decode_schedule(broken, schema_dir=shared_data / "b2mml")
    assert "Prio" in str(caught.value)
    assert caught.value.problems[0].startswith("line 21:")


@pytest.mark.parametrize(
    ("declared", "codec", "bom"),
    [
        ("UTF-16", "utf-16", b""),
        ("UTF-16LE", "utf-16-le", b"\xff\xfe"),
        ("UTF-16BE", "utf-16-be", b"\xfe\xff"),
        ("utf-16-le", "utf-16-le", b"\xff\xfe"),
        ("UTF-32", "utf-32", b""),
        ("ISO-8859-1", "iso-8859-1", b""),
        ("windows-1252", "cp1252", b""),
        ("Shift_JIS", "shift_jis", b""),
    ],
)
def test_every_declared_encoding_is_read(declared: str, codec: str, bom: bytes) -> None:
    text = document(Version.V0600).decode().replace('encoding="UTF-8"', f'encoding="{declared}"')
    product = "\u90e8\u54c1-7" if codec == "shift_jis" else "Halterung-\u00e4"
    data = bom + text.replace("bracket-a", product).encode(codec)
    assert decode_schedule(data)[0].product == product


def test_an_encoding_python_does_not_know_is_malformed() -> None:
    data = document(Version.V0600).replace(b'encoding="UTF-8"', b'encoding="klingon-8"')
    with pytest.raises(MalformedXmlError, match="klingon-8"):
        decode_schedule(data)


def test_an_unknown_product_refuses_the_whole_document() -> None:
    with pytest.raises(UnknownProductError, match="'bracket-b' \\(order 4712\\)"):
        decode_schedule(document(Version.V0701), products={"bracket-a"})
    assert decode_schedule(document(Version.V0701), products={"bracket-a", "bracket-b"})


def test_an_order_twice_in_one_document_is_refused() -> None:
    twice = encode_schedule(
        [ORDERS[0], ORDERS[0]], version=Version.V0600, sender="erp", created=t(5),
        document_id=UUID(int=2),
    )  # fmt: skip
    with pytest.raises(ErpDocumentError, match=r"orders \['4711'\] appear more than once"):
        decode_schedule(twice)


def test_a_bare_schedule_without_a_verb_is_read() -> None:
    bare = f"""<OperationsSchedule xmlns="{V7}"><ID>s</ID><OperationsRequest><ID>9</ID>
      <SegmentRequirement><ID>9</ID><ProcessSegmentID>p</ProcessSegmentID>
      <OperationsDefinitionID>p</OperationsDefinitionID><OperationsSegmentID>p</OperationsSegmentID>
      <MaterialRequirement><ID>m</ID><MaterialDefinitionID>p</MaterialDefinitionID>
      <MaterialUse>Produced</MaterialUse><Quantity><QuantityString>3</QuantityString>
      <UnitOfMeasure>kg</UnitOfMeasure></Quantity></MaterialRequirement></SegmentRequirement>
      </OperationsRequest></OperationsSchedule>"""
    assert decode_schedule(bare.encode()) == [ScheduledOrder("9", "p", 3, "kg")]


def test_a_cancel_verb_cancels_every_order() -> None:
    cancel = document(Version.V0600).replace(b"SyncProductionSchedule", b"CancelProductionSchedule")
    cancel = cancel.replace(b"<Sync/>", b"<Cancel/>")
    assert all(o.cancelled for o in decode_schedule(cancel))


def test_a_real_plant_schedule_layout_is_read(shared_data: Path) -> None:
    """A production schedule from a real plant integration (nested segment requirements,
    product as a Produced material requirement), in the V0600 namespace."""
    path = shared_data / "b2mml/examples/v0401-courbon/PRO-20121210181416-27942.xml"
    data = path.read_bytes().replace(b"http://www.wbf.org/xml/B2MML-V0401", V6.encode())
    [order] = decode_schedule(data)
    assert (order.erp_order_id, order.product, order.quantity, order.unit) == (
        "258456", "SO1215", 1.0, "KG",
    )  # fmt: skip
    assert [op.operation for op in order.operations] == ["Weighing", "Contenair"]


def test_the_v0401_namespace_is_named_as_unsupported(shared_data: Path) -> None:
    path = shared_data / "b2mml/examples/v0401-courbon/PRO-20121210181416-27942.xml"
    with pytest.raises(UnsupportedDocumentError, match="B2MML-V0401"):
        decode_schedule(path.read_bytes())


def test_another_message_is_unsupported() -> None:
    with pytest.raises(UnsupportedDocumentError, match="SyncEquipment"):
        decode_schedule(f'<SyncEquipment xmlns="{V6}" releaseID="6.0"/>'.encode())


def test_a_verb_document_without_release_id_is_refused() -> None:
    data = document(Version.V0600).replace(b' releaseID="6.0"', b"")
    with pytest.raises(SchemaViolationError, match="releaseID"):
        decode_schedule(data)


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE s [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<ProductionSchedule xmlns="http://www.mesa.org/xml/B2MML-V0600"><ID>&x;</ID></ProductionSchedule>"""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<ProductionSchedule xmlns="http://www.mesa.org/xml/B2MML-V0600"><ID>&lol3;</ID></ProductionSchedule>"""

DTD_ONLY = b"""<?xml version="1.0"?><!DOCTYPE ProductionSchedule SYSTEM "http://evil.example/x.dtd">
<ProductionSchedule xmlns="http://www.mesa.org/xml/B2MML-V0600"/>"""


@pytest.mark.parametrize(("data", "reason"), [
    (XXE, "refused"), (LAUGHS, "refused"), (DTD_ONLY, "refused"),
])  # fmt: skip
def test_entities_and_dtds_are_refused(data: bytes, reason: str) -> None:
    with pytest.raises(ForbiddenXmlError, match=reason):
        decode_schedule(data)


def test_entities_are_refused_in_utf16_too() -> None:
    with pytest.raises(ForbiddenXmlError):
        decode_schedule(
            LAUGHS.decode()
            .replace('version="1.0"', 'version="1.0" encoding="UTF-16"')
            .encode("utf-16")
        )


def test_malformed_xml_names_the_position() -> None:
    with pytest.raises(MalformedXmlError, match="line 2, column"):
        decode_schedule(b'<ProductionSchedule xmlns="x">\n<ID></Oops></ProductionSchedule>')


def test_text_instead_of_bytes_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="must be bytes"):
        decode_schedule("<x/>")  # type: ignore[arg-type]


@pytest.mark.parametrize(("cut", "message"), [
    (b"<MaterialDefinitionID>bracket-b</MaterialDefinitionID>",
     "order 4712 produced material: MaterialDefinitionID"),
    (b"<MaterialUse>Produced</MaterialUse>", "no MaterialRequirement with MaterialUse Produced"),
    (b"<ID>4711</ID>", "order request: ID is missing"),
    (b"<QuantityString>5</QuantityString>", "order 4712 Quantity: QuantityString is missing"),
])  # fmt: skip
def test_a_missing_required_field_names_the_order_and_element(cut: bytes, message: str) -> None:
    data = document(Version.V0600).replace(cut, b"", 1)
    with pytest.raises(MissingFieldError, match=message):
        decode_schedule(data)


@pytest.mark.parametrize(("old", "new", "message"), [
    (b"<Priority>2</Priority>", b"<Priority>high</Priority>", "Priority 'high'"),
    (b"<QuantityString>120</QuantityString>", b"<QuantityString>many</QuantityString>",
     "'many' is not a number"),
    (b"<QuantityString>120</QuantityString>", b"<QuantityString>-4</QuantityString>",
     "quantity must be"),
    (b"<Duration>PT1800S</Duration>", b"<Duration>P1Y</Duration>", "Duration 'P1Y'"),
    (b"<StartTime>2026-03-02T06:00:00Z</StartTime>", b"<StartTime>tomorrow</StartTime>",
     "'tomorrow' is not an ISO"),
    (b"<EndTime>2026-03-02T20:00:00Z</EndTime>", b"<EndTime>2026-03-01T20:00:00Z</EndTime>",
     "is before release"),
])  # fmt: skip
def test_a_wrong_value_is_a_clear_error(old: bytes, new: bytes, message: str) -> None:
    data = document(Version.V0600).replace(old, new, 1)
    with pytest.raises(MissingFieldError, match=message):
        decode_schedule(data)


def test_hostile_nesting_depth_is_no_crash() -> None:
    depth = 50_000
    inner = b"<SegmentRequirement>" * depth + b"</SegmentRequirement>" * depth
    data = f'<ProductionSchedule xmlns="{V6}"><ProductionRequest><ID>1</ID>'.encode() + inner
    data += b"</ProductionRequest></ProductionSchedule>"
    with pytest.raises(MissingFieldError, match="Produced"):
        decode_schedule(data)


def _decode_or_refuse(data: bytes) -> None:
    try:
        orders = decode_schedule(data)
    except ErpDocumentError:
        return
    assert all(isinstance(o, ScheduledOrder) for o in orders)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_fuzz_arbitrary_bytes_never_crash(data: bytes) -> None:
    _decode_or_refuse(data)


VALID = document(Version.V0600) + b"\n"
VALID7 = document(Version.V0701)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([VALID, VALID7]),
    st.lists(
        st.tuples(st.integers(0, len(VALID7)), st.integers(0, 12), st.binary(max_size=12)),
        max_size=4,
    ),
)
def test_fuzz_mutated_schedules_never_crash(
    base: bytes, edits: list[tuple[int, int, bytes]]
) -> None:
    data = bytearray(base)
    for at, drop, insert in edits:
        data[at : at + drop] = insert
    _decode_or_refuse(bytes(data))


@settings(max_examples=200, deadline=None)
@given(
    st.text(max_size=30),
    st.sampled_from(
        [
            b"4711",
            b"bracket-a",
            b"120",
            b"pcs",
            b"2",
            b"PT1800S",
            b"2026-03-02T06:00:00Z",
            b"op-10",
            b"Produced",
        ]
    ),
)
def test_fuzz_any_field_value_never_crashes(value: str, field: bytes) -> None:
    escaped = value.replace("&", "&amp;").replace("<", "&lt;").encode("utf-8", "surrogatepass")
    _decode_or_refuse(VALID.replace(b">" + field + b"<", b">" + escaped + b"<"))
