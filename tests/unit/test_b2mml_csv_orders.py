"""Production orders from a CSV file: read when right, refused as a whole when wrong,
with the expected and missing columns or the row number of each problem."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plantos.integration.erp.b2mml import ScheduledOperation, ScheduledOrder
from plantos.integration.erp.csv_orders import parse_order_csv
from plantos.integration.erp.errors import CsvImportError


def test_one_row_per_operation_builds_one_order() -> None:
    data = (
        "\ufefforder_id,Product,quantity,unit,due,priority,operation,equipment,duration_s\r\n"
        "4711,bracket-a,120,pcs,2026-03-02T20:00:00Z,2,op-10,cnc-07,1800\r\n"
        "4711,bracket-a,120,pcs,2026-03-02T20:00:00Z,2,op-20,,\r\n"
        "\r\n"
        "4712,bracket-b,5.5,kg,2026-03-03 06:00,,,,\r\n"
    ).encode()
    assert parse_order_csv(data) == [
        ScheduledOrder(
            "4711", "bracket-a", 120, "pcs",
            due=dt.datetime(2026, 3, 2, 20, tzinfo=dt.UTC), priority=2,
            operations=(ScheduledOperation("op-10", "cnc-07", duration_s=1800),
                        ScheduledOperation("op-20")),
        ),
        ScheduledOrder("4712", "bracket-b", 5.5, "kg",
                       due=dt.datetime(2026, 3, 3, 6, tzinfo=dt.UTC)),
    ]  # fmt: skip


def test_an_unknown_product_is_a_problem_of_its_row() -> None:
    data = b"order_id,product,quantity,unit\n1,bracket-a,3,pcs\n2,brackt-a,3,pcs\n"
    with pytest.raises(CsvImportError) as caught:
        parse_order_csv(data, products={"bracket-a"})
    assert caught.value.problems == ["row 3: unknown product 'brackt-a'"]


def test_semicolons_from_a_european_spreadsheet_are_read() -> None:
    data = b"order_id;product;quantity;unit\n4711;bracket-a;3;pcs\n"
    assert parse_order_csv(data) == [ScheduledOrder("4711", "bracket-a", 3, "pcs")]


def test_wrong_columns_list_what_is_missing_unknown_and_expected() -> None:
    with pytest.raises(CsvImportError) as caught:
        parse_order_csv(b"order,product,qty,unit\n1,a,2,pcs\n")
    [problem] = caught.value.problems
    assert problem.startswith("row 1 (header):")
    assert "missing columns ['order_id', 'quantity']" in problem
    assert "unknown columns ['order', 'qty']" in problem
    assert "expected ['order_id', 'product', 'quantity', 'unit']" in problem


def test_a_repeated_column_is_refused() -> None:
    with pytest.raises(CsvImportError, match="repeated columns \\['unit'\\]"):
        parse_order_csv(b"order_id,product,quantity,unit,unit\n")


def test_every_bad_row_is_reported_with_its_number_and_nothing_is_imported() -> None:
    data = (
        b"order_id,product,quantity,unit,release,due,priority,operation,equipment\n"
        b"1,a,x,pcs,,,,,\n"  # row 2
        b"2,b,-1,pcs,,,,,\n"  # row 3
        b"3,c,1\n"  # row 4
        b"4,d,1,pcs,2026-03-02T10:00:00Z,2026-03-01T10:00:00Z,,,\n"  # row 5
        b"5,e,1,pcs,,,high,,\n"  # row 6
        b"6,f,1,pcs,,,,,cnc-1\n"  # row 7
        b"7,g,1,pcs,,,,op-1,\n"  # row 8
        b"7,g,2,pcs,,,,op-2,\n"  # row 9
        b",h,1,pcs,,,,,\n"  # row 10
        b"8,i,1,pcs,soon,,,,\n"  # row 11
        b"9,j,1,pcs,,,,,\n"  # row 12: fine
    )
    with pytest.raises(CsvImportError) as caught:
        parse_order_csv(data)
    assert caught.value.problems == [
        "row 2: quantity 'x' is not a number",
        "row 3: order 2: quantity must be a finite number >= 0, got -1.0",
        "row 4: 3 cells, the header has 9",
        "row 5: order 4: due 2026-03-01T10:00:00+00:00 is before release 2026-03-02T10:00:00+00:00",
        "row 6: priority 'high' is not a whole number",
        "row 7: equipment and duration_s need an operation",
        "row 9: order 7 differs from row 8 in ['quantity']",
        "row 10: order_id is empty",
        "row 11: release: 'soon' is not an ISO 8601 date and time",
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"order_id,product,quantity,unit\n", "no orders"),
        (b"\xff\xfeo\x00", "not UTF-8"),
        (b'order_id,product,quantity,unit\n"1,a,1,pcs\n', "row"),
    ],
)
def test_empty_or_undecodable_files_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(CsvImportError, match=message):
        parse_order_csv(data)


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=300)
    | st.text(max_size=200).map(lambda s: ("order_id,product,quantity,unit\n" + s).encode())
)
def test_fuzz_any_file_is_read_or_refused_with_a_reason(data: bytes) -> None:
    try:
        orders = parse_order_csv(data)
    except CsvImportError as exc:
        assert exc.problems
        return
    assert all(isinstance(o, ScheduledOrder) for o in orders)
