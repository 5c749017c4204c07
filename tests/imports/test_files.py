"""Reading files and mapping headers: encodings, XLSX, broken files, unknown and missing columns."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from sqlalchemy import Engine, select

from siyu.db.engine import session_factory
from siyu.errors import Invalid
from siyu.imports.mapping import FIELDS, header_key, parse_map, resolve_columns
from siyu.imports.readers import read_table
from siyu.models import ImportJob, ImportKind, Order
from tests.imports.conftest import csv_bytes, run_import, xlsx_bytes

HEADER = ["订单号", "下单时间", "手机号", "实付金额"]
ROW = ["SO1", "2024-03-01 10:00:00", "13812345678", "12.30"]


def _table(data: bytes, name: str = "f.csv") -> tuple[list[str], list[tuple[int, list[object]]]]:
    table = read_table(io.BytesIO(data), name)
    return table.header, list(table.rows)


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (csv_bytes([HEADER, ["SO1", "张三"]]), "utf-8-sig"),
        (b"\xef\xbb\xbf" + csv_bytes([HEADER, ["SO1", "张三"]]), "utf-8-sig"),
        (csv_bytes([HEADER, ["SO1", "张三"]], encoding="gbk"), "gb18030"),
        (csv_bytes([HEADER, ["SO1", "张三"]], encoding="gb18030"), "gb18030"),
        (csv_bytes([HEADER, ["SO1", "张三"]], encoding="utf-16", delimiter="\t"), "utf-16"),
    ],
)
def test_encodings(data: bytes, encoding: str) -> None:
    table = read_table(io.BytesIO(data), "f.csv")
    assert table.encoding == encoding
    assert table.header == HEADER  # no BOM left on the first header
    assert [cells for _, cells in table.rows] == [["SO1", "张三"]]


def test_line_numbers_skip_blank_rows_and_count_multiline_cells() -> None:
    data = b'a,b\n\n1,"two\nlines"\n,\n3,4\n'
    header, rows = _table(data)
    assert header == ["a", "b"]
    assert rows == [(3, ["1", "two\nlines"]), (6, ["3", "4"])]


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (b"", "f.csv", "empty"),
        (b"\n\n , \n", "f.csv", "empty"),
        (b"name\n\xff\xff\xff\n", "f.csv", "cannot decode"),
        (b"a,b\n\x80\x80\xff\n", "f.csv", "cannot decode"),
        (b"PK\x03\x04not really a zip", "f.xlsx", "cannot read the Excel file"),
        (b"order_no,paid_at\n", "f.xlsx", "not"),
    ],
)
def test_broken_files_fail_clearly(data: bytes, name: str, reason: str) -> None:
    with pytest.raises(Invalid, match=reason):
        _table(data, name)


def test_xlsx_cells() -> None:
    data = xlsx_bytes(
        [
            HEADER,
            ["SO1", 45352.5, 13812345678, 1234.5],
            ["SO2", datetime(2024, 3, 1, 10, 0), "138 1234 5678", "1,234.50"],
        ]
    )
    header, rows = _table(data, "orders.xlsx")
    assert header == HEADER
    assert rows[0] == (2, ["SO1", "45352.5", "13812345678", "1234.5"])
    assert rows[1] == (3, ["SO2", datetime(2024, 3, 1, 10, 0), "138 1234 5678", "1,234.50"])


def test_header_keys() -> None:
    assert header_key(" 实付金额（元） ") == "实付金额"
    assert header_key("Order No") == header_key("order-no") == "order_no"
    assert header_key("\ufeffＰｈｏｎｅ") == "phone"


def test_aliases_are_unambiguous() -> None:
    for kind, fields in FIELDS.items():
        seen: dict[str, str] = {}
        for spec in fields:
            for alias in (spec.name, *spec.aliases):
                key = header_key(alias)
                assert seen.setdefault(key, spec.name) == spec.name, f"{kind}: {alias} maps twice"


def test_map_override_and_errors() -> None:
    assert parse_map("客户电话=phone, 备注=-") == {"客户电话": "phone", "备注": "-"}
    columns = resolve_columns(
        ImportKind.orders,
        ["单据", "时间", "客户电话", "金额", "备注"],
        parse_map("单据=order_no,时间=paid_at,客户电话=phone,金额=amount,备注=-"),
        ignore_unknown=False,
    )
    assert columns.fields == {"order_no": 0, "paid_at": 1, "phone": 2, "amount": 3}
    assert columns.ignored == ["备注"]
    with pytest.raises(Invalid, match="not 'header=field'"):
        parse_map("phone")
    with pytest.raises(Invalid) as caught:
        resolve_columns(ImportKind.orders, [*HEADER, "备注", "颜色"], {}, ignore_unknown=False)
    assert caught.value.details == [
        {
            "row": 1,
            "column": "备注, 颜色",
            "value": None,
            "reason": "unknown column(s); map them with --map 'header=field' (or 'header=-' to skip) or use --ignore-unknown",
        }
    ]
    assert resolve_columns(ImportKind.orders, [*HEADER, "备注"], {}, ignore_unknown=True).ignored == ["备注"]
    with pytest.raises(Invalid, match="unknown field 'telephone'"):
        resolve_columns(ImportKind.orders, HEADER, {"手机号": "telephone"}, ignore_unknown=False)
    with pytest.raises(Invalid, match="already maps to field 'phone'"):
        resolve_columns(ImportKind.orders, [*HEADER, "手机"], {}, ignore_unknown=False)


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        (["下单时间", "手机号", "实付金额"], "order_no"),
        (["订单号", "手机号", "实付金额"], "paid_at"),
        (["订单号", "下单时间", "手机号"], "amount"),
        (["订单号", "下单时间", "实付金额"], "phone"),
    ],
)
def test_missing_required_column(header: list[str], missing: str) -> None:
    with pytest.raises(Invalid, match=f"missing required column: {missing}"):
        resolve_columns(ImportKind.orders, header, {}, ignore_unknown=False)


def test_file_errors_are_recorded_on_a_failed_job(engine: Engine) -> None:
    with pytest.raises(Invalid, match=r"import job 1: file\.csv: the file is empty"):
        run_import(engine, "orders", b"")
    with pytest.raises(Invalid, match="unknown column"):
        run_import(engine, "orders", csv_bytes([[*HEADER, "颜色"], [*ROW, "红"]]))
    with pytest.raises(Invalid, match="header but no data rows"):
        run_import(engine, "orders", csv_bytes([HEADER]))
    with session_factory(engine)() as s:
        jobs = s.scalars(select(ImportJob).order_by(ImportJob.id)).all()
        assert [j.status for j in jobs] == ["failed", "failed", "failed"]
        assert jobs[1].errors is not None and jobs[1].errors[0]["column"] == "颜色"
        assert s.scalar(select(Order)) is None


def test_gbk_bom_and_xlsx_files_import(engine: Engine) -> None:
    rows = [HEADER, ["SO1", "2024-03-01 10:00:00", "13812345678", "12.30"]]
    run_import(engine, "orders", csv_bytes(rows, encoding="gbk"), "gbk.csv", order_source="a")
    run_import(engine, "orders", b"\xef\xbb\xbf" + csv_bytes(rows), "bom.csv", order_source="b")
    xlsx = xlsx_bytes([HEADER, ["SO1", 45352.4166666667, 13812345678, 12.3]], number_formats={1: "0.0000"})
    run_import(engine, "orders", xlsx, "serial.xlsx", order_source="c")
    dated = xlsx_bytes(
        [HEADER, ["SO1", datetime(2024, 3, 1, 10, 0), "13812345678", "12.30"]],
        number_formats={1: "yyyy-mm-dd hh:mm"},
    )
    run_import(engine, "orders", dated, "dated.xlsx", order_source="d")
    with session_factory(engine)() as s:
        orders = s.scalars(select(Order).order_by(Order.source)).all()
        assert [(o.source, o.amount_fen, o.paid_at.isoformat()) for o in orders] == [
            (source, 1230, "2024-03-01T02:00:00+00:00") for source in "abcd"
        ]
        assert len({o.customer_id for o in orders}) == 1


def test_docs_list_every_header() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "import.md").read_text(encoding="utf-8")
    for fields in FIELDS.values():
        for spec in fields:
            row = f"| `{spec.name}` | {', '.join(spec.aliases)} |"
            assert row in doc, f"docs/import.md is missing or out of date for {spec.name}"
