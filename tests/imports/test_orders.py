"""Order imports: lines, money, time zones, idempotency, references, merges and the error report."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, func, select

from siyu.db.engine import session_factory
from siyu.imports.report import ImportFailed
from siyu.models import (
    AcquisitionSource,
    Customer,
    CustomerIdentity,
    Event,
    IdentityKind,
    ImportJob,
    Order,
    OrderLine,
)
from siyu.timeutil import day_range_utc, local_date
from tests.imports.conftest import count, csv_bytes, run_import

LINES_HEADER = [
    "订单号",
    "下单时间",
    "手机号",
    "姓名",
    "实付金额",
    "渠道",
    "门店",
    "导购",
    "商品编码",
    "商品名称",
    "数量",
    "商品金额",
]


def _lines() -> bytes:
    return csv_bytes(
        [
            LINES_HEADER,
            [
                "SO1",
                "2024-03-01 23:30:00",
                "138 1234 5678",
                "张三",
                "1,234.50",
                "门店",
                "S001",
                "G001",
                "A1",
                "面霜",
                "1",
                "1000.00",
            ],
            [
                "SO1",
                "2024-03-01 23:30:00",
                "138 1234 5678",
                "张三",
                "1,234.50",
                "门店",
                "S001",
                "G001",
                "B2",
                "精华",
                "2",
                "234.50",
            ],
            [
                "SO2",
                "2024/2/1 10:00",
                "+86 13812345678",
                "",
                "¥19.99",
                "小程序",
                "",
                "zhangsan",
                "A1",
                "面霜",
                "1",
                "",
            ],
            [
                "SO3",
                "2024-03-05 09:00",
                "13900001111",
                "李四",
                "0.29",
                "直播",
                "",
                "",
                "C3",
                "口红",
                "1",
                "0.29",
            ],
        ]
    )


def test_order_lines_money_customers_and_events(engine: Engine, org: dict[str, int]) -> None:
    run = run_import(engine, "orders", _lines(), "orders.csv")
    assert run.job.status == "succeeded"
    assert (run.job.total_rows, run.job.inserted, run.job.updated, run.job.unchanged) == (4, 3, 0, 0)
    with session_factory(engine)() as s:
        orders = {o.external_no: o for o in s.scalars(select(Order))}
        assert {k: o.amount_fen for k, o in orders.items()} == {"SO1": 123450, "SO2": 1999, "SO3": 29}
        assert orders["SO1"].channel == "store" and orders["SO1"].store_id == org["S001"]
        assert orders["SO1"].staff_id == org["G001"] == orders["SO2"].staff_id  # by code and by WeCom userid
        assert orders["SO3"].channel == "live" and orders["SO3"].store_id is None
        assert all(o.source == "import" and o.status == "paid" and o.refund_fen == 0 for o in orders.values())
        lines = s.execute(
            select(OrderLine.order_id, OrderLine.sku, OrderLine.quantity, OrderLine.amount_fen)
        ).all()
        assert sorted((o, sku, q, a) for o, sku, q, a in lines) == sorted(
            [
                (orders["SO1"].id, "A1", 1, 100000),
                (orders["SO1"].id, "B2", 2, 23450),
                (orders["SO2"].id, "A1", 1, 1999),  # a single line without an amount takes the order's
                (orders["SO3"].id, "C3", 1, 29),
            ]
        )
        zhang = s.scalars(
            select(Customer)
            .join(CustomerIdentity, CustomerIdentity.customer_id == Customer.id)
            .where(CustomerIdentity.value == "+8613812345678")
        ).one()
        assert orders["SO1"].customer_id == orders["SO2"].customer_id == zhang.id
        assert zhang.name == "张三" and zhang.source == AcquisitionSource.order
        assert zhang.first_seen_at == datetime(2024, 2, 1, 2, 0, tzinfo=UTC)  # the earliest order
        assert count(s, Customer) == 2
        events = s.scalars(select(Event).where(Event.kind == "ordered")).all()
        assert len(events) == 3
        first = next(e for e in events if e.subject_id == orders["SO1"].id)
        assert (first.customer_id, first.staff_id, first.unit_id, first.subject_type) == (
            zhang.id,
            org["G001"],
            org["S001"],
            "order",
        )
        assert first.occurred_at == orders["SO1"].paid_at
        assert first.data == {"amount_fen": 123450, "channel": "store"}


def test_time_zone_day_cut(engine: Engine, org: dict[str, int]) -> None:
    run_import(engine, "orders", _lines())
    with session_factory(engine)() as s:
        order = s.scalars(select(Order).where(Order.external_no == "SO1")).one()
        # 23:30 in Shanghai on March 1st is stored as 15:30 UTC and counts on March 1st local.
        assert order.paid_at == datetime(2024, 3, 1, 15, 30, tzinfo=UTC)
        assert local_date(order.paid_at) == date(2024, 3, 1)
        start, end = day_range_utc(date(2024, 3, 1), date(2024, 3, 1))
        assert s.scalar(select(func.count()).where(Order.paid_at >= start, Order.paid_at < end)) == 1
        start, end = day_range_utc(date(2024, 3, 2), date(2024, 3, 2))
        assert s.scalar(select(func.count()).where(Order.paid_at >= start, Order.paid_at < end)) == 0


def test_reimport_changes_nothing(engine: Engine, org: dict[str, int]) -> None:
    run_import(engine, "orders", _lines())
    with session_factory(engine)() as s:
        before = [count(s, m) for m in (Order, OrderLine, Event, Customer, CustomerIdentity)]
    again = run_import(engine, "orders", _lines())
    assert (again.job.inserted, again.job.updated, again.job.unchanged, again.job.rejected) == (0, 0, 3, 0)
    with session_factory(engine)() as s:
        assert [count(s, m) for m in (Order, OrderLine, Event, Customer, CustomerIdentity)] == before
        assert count(s, ImportJob) == 2


def test_a_refund_on_reimport_updates_the_order(engine: Engine, org: dict[str, int]) -> None:
    header = ["订单号", "下单时间", "手机号", "实付金额", "订单状态", "退款金额", "退款时间"]
    run_import(
        engine,
        "orders",
        csv_bytes([header, ["SO1", "2024-03-01 10:00", "13812345678", "100", "已支付", "", ""]]),
    )
    later = csv_bytes(
        [header, ["SO1", "2024-03-01 10:00", "13812345678", "100", "部分退款", "30", "2024-03-03 12:00"]]
    )
    run = run_import(engine, "orders", later)
    assert (run.job.inserted, run.job.updated, run.job.unchanged) == (0, 1, 0)
    with session_factory(engine)() as s:
        order = s.scalars(select(Order)).one()
        assert (order.status, order.refund_fen) == ("partially_refunded", 3000)
        assert order.refunded_at == datetime(2024, 3, 3, 4, 0, tzinfo=UTC)
        refund = s.scalars(select(Event).where(Event.kind == "refunded")).one()
        assert refund.subject_id == order.id and refund.customer_id == order.customer_id
        assert refund.data == {"refund_fen": 3000}


def test_refund_rules(engine: Engine, org: dict[str, int]) -> None:
    header = ["订单号", "下单时间", "手机号", "实付金额", "订单状态", "退款金额"]
    rows = [
        header,
        ["R1", "2024-03-01 10:00", "13812345678", "100", "已退款", ""],  # full refund implied
        ["R2", "2024-03-01 10:00", "13812345678", "100", "", "100"],  # status derived
        ["R3", "2024-03-01 10:00", "13812345678", "100", "已支付", "5"],  # contradiction
        ["R4", "2024-03-01 10:00", "13812345678", "100", "", "101"],  # refund above amount
    ]
    with pytest.raises(ImportFailed) as caught:
        run_import(engine, "orders", csv_bytes(rows))
    reasons = {e["row"]: e["reason"] for e in caught.value.details}
    assert reasons[4] == "status paid does not match refund 5.00 of 100.00"
    assert reasons[5] == "refund 101.00 is more than the amount 100.00"
    run = run_import(engine, "orders", csv_bytes(rows[:3]))
    assert run.job.inserted == 2
    with session_factory(engine)() as s:
        assert sorted(s.execute(select(Order.external_no, Order.status, Order.refund_fen)).all()) == [
            ("R1", "refunded", 10000),
            ("R2", "refunded", 10000),
        ]
        assert count(s, Event, Event.kind == "refunded") == 2


def test_every_bad_input_is_reported_and_nothing_is_written(engine: Engine, org: dict[str, int]) -> None:
    rows = [
        ["订单号", "下单时间", "手机号", "实付金额", "门店"],
        ["SO1", "2024-03-01 10:00", "13812345678", "12.30", "S001"],
        ["SO2", "2024-03-01 10:00", "12345", "12.30", ""],
        ["SO3", "2024-03-01 10:00", "13812345678", "12.345", ""],
        ["SO4", "2024-02-30 10:00", "13812345678", "abc", ""],
        ["", "2024-03-01 10:00", "13812345678", "1", ""],
        ["SO6", "2024-03-01 10:00", "", "1", ""],
        ["SO7", "2024-03-01 10:00", "13812345678", "-1", "S999"],
        ["SO8", "2024-03-01 10:00", "13812345678", "1", "R1"],
    ]
    with pytest.raises(ImportFailed) as caught:
        run_import(engine, "orders", csv_bytes(rows))
    error = caught.value
    found = {(e["row"], e["column"]): (e["value"], e["reason"]) for e in error.details}
    assert found[(3, "手机号")] == ("12345", "not a valid phone number for its country")
    assert found[(4, "实付金额")][1].startswith("more than 2 decimal places")
    assert found[(5, "下单时间")][1].startswith("not a real date-time")
    assert found[(5, "实付金额")][1].startswith("not an amount")
    assert found[(6, "订单号")] == (None, "order_no is empty")
    assert found[(7, None)][1].startswith("no customer identity")
    assert found[(8, "实付金额")] == ("-1", "negative amount")
    assert found[(9, "门店")] == ("R1", "org unit 'R1' is a region, not a store")
    assert error.outcome.report.total == len(error.details) == 8
    assert error.to_dict()["job_id"] == error.job_id == 1
    with session_factory(engine)() as s:
        assert count(s, Order) == count(s, Customer) == count(s, Event) == 0
        job = s.get_one(ImportJob, 1)
        assert job.status == "failed" and job.inserted == 0 and job.rejected == 7
        assert job.errors == error.details
        assert "8 problem(s) on 7 row(s)" in (job.message or "")


def test_unknown_store_is_reported(engine: Engine, org: dict[str, int]) -> None:
    rows = [
        ["订单号", "下单时间", "手机号", "实付金额", "门店", "导购"],
        ["SO1", "2024-03-01 10:00", "13812345678", "1", "S999", "G404"],
    ]
    with pytest.raises(ImportFailed) as caught:
        run_import(engine, "orders", csv_bytes(rows))
    assert [(e["column"], e["value"], e["reason"]) for e in caught.value.details] == [
        ("门店", "S999", "no store with code 'S999'"),
        ("导购", "G404", "no staff member with code or WeCom userid 'G404'"),
    ]


def test_rows_of_one_order_must_agree(engine: Engine, org: dict[str, int]) -> None:
    rows = [
        ["订单号", "下单时间", "手机号", "实付金额", "商品编码", "商品金额"],
        ["SO1", "2024-03-01 10:00", "13812345678", "30", "A", "10"],
        ["SO1", "2024-03-01 10:00", "13812345678", "30", "B", "20"],
        ["SO1", "2024-03-01 11:00", "13812345678", "30", "C", "0"],
    ]
    with pytest.raises(ImportFailed) as caught:
        run_import(engine, "orders", csv_bytes(rows))
    (error,) = caught.value.details
    assert (error["row"], error["column"], error["value"]) == (4, "下单时间", "2024-03-01 03:00:00+00:00")
    assert "on row 2" in error["reason"] and "rows of one order must agree" in error["reason"]


def test_order_total_from_lines_and_multi_line_checks(engine: Engine, org: dict[str, int]) -> None:
    rows = [
        ["订单号", "下单时间", "手机号", "商品编码", "商品金额"],
        ["SO1", "2024-03-01 10:00", "13812345678", "A", "10.10"],
        ["SO1", "2024-03-01 10:00", "13812345678", "B", "20.20"],
        ["SO2", "2024-03-01 10:00", "13812345678", "A", ""],
    ]
    with pytest.raises(ImportFailed, match="1 problem"):
        run_import(engine, "orders", csv_bytes(rows))
    run = run_import(engine, "orders", csv_bytes(rows[:3]))
    assert run.job.inserted == 1
    with session_factory(engine)() as s:
        assert s.scalars(select(Order.amount_fen)).one() == 3030


def test_skip_invalid_writes_whole_valid_orders_only(engine: Engine, org: dict[str, int]) -> None:
    rows = [
        ["订单号", "下单时间", "手机号", "实付金额", "商品编码"],
        ["SO1", "2024-03-01 10:00", "13812345678", "10", "A"],
        ["SO2", "2024-03-01 10:00", "13812345678", "10", "A"],
        ["SO2", "2024-03-01 10:00", "13812345678", "xx", "B"],
        ["SO3", "2024-03-01 10:00", "13900001111", "5", "A"],
    ]
    run = run_import(engine, "orders", csv_bytes(rows), skip_invalid=True)
    assert run.job.status == "succeeded"
    assert (run.job.total_rows, run.job.inserted, run.job.rejected) == (4, 2, 2)
    assert run.outcome is not None
    assert run.outcome.report.reasons == {
        4: "实付金额: not an amount (expected yuan such as 1,234.50)",
        3: "another row of order SO2 is invalid",
    }
    with session_factory(engine)() as s:
        assert sorted(s.scalars(select(Order.external_no))) == ["SO1", "SO3"]
        assert count(s, OrderLine) == 2


def test_an_order_row_can_merge_two_customers(engine: Engine, org: dict[str, int]) -> None:
    run_import(
        engine,
        "orders",
        csv_bytes(
            [["订单号", "下单时间", "手机号", "实付金额"], ["A1", "2024-01-01 10:00", "13812345678", "1"]]
        ),
    )
    run_import(
        engine,
        "orders",
        csv_bytes([["订单号", "下单时间", "会员号", "实付金额"], ["B1", "2023-12-01 10:00", "M77", "2"]]),
    )
    linking = csv_bytes(
        [
            ["订单号", "下单时间", "手机号", "会员号", "实付金额"],
            ["C1", "2024-02-01 10:00", "13812345678", "M77", "3"],
        ]
    )
    run = run_import(engine, "orders", linking)
    assert run.outcome is not None and run.outcome.stats["customers_merged"] == 1
    with session_factory(engine)() as s:
        live = s.scalars(select(Customer).where(Customer.merged_into_id.is_(None))).all()
        assert len(live) == 1
        survivor = live[0]
        assert survivor.id == 1  # the older customer keeps its id
        assert survivor.first_seen_at == datetime(2023, 12, 1, 2, 0, tzinfo=UTC)
        assert set(s.scalars(select(Order.customer_id))) == {survivor.id}
        assert set(s.scalars(select(CustomerIdentity.customer_id))) == {survivor.id}
        assert count(s, CustomerIdentity, CustomerIdentity.kind == IdentityKind.member_no) == 1
        assert count(s, Event, Event.kind == "customer_merged") == 1
        assert set(s.scalars(select(Event.customer_id))) == {survivor.id}


def test_per_order_files_and_existing_customers(engine: Engine, org: dict[str, int]) -> None:
    with session_factory(engine)() as s:
        s.add(Customer(source=AcquisitionSource.telesales, first_seen_at=datetime(2024, 6, 1, tzinfo=UTC)))
        s.flush()
        s.add(CustomerIdentity(customer_id=1, kind=IdentityKind.phone, value="+8613812345678"))
        s.commit()
    rows = [
        ["order_no", "paid_at", "phone", "amount", "source"],
        ["X1", "2024-03-01T10:00:00+08:00", "13812345678", "8", "youzan"],
    ]
    run = run_import(engine, "orders", csv_bytes(rows))
    assert run.outcome is not None and run.outcome.stats["customers_created"] == 0
    with session_factory(engine)() as s:
        order = s.scalars(select(Order)).one()
        assert (order.source, order.customer_id) == ("youzan", 1)
        assert count(s, OrderLine) == 0
        customer = s.get_one(Customer, 1)
        assert customer.source == AcquisitionSource.telesales
        assert customer.first_seen_at == datetime(2024, 3, 1, 2, 0, tzinfo=UTC)  # moved back to the order
