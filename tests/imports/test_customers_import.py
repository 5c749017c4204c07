"""Customer imports: profiles, owners, tags, memberships, updates and merges."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select

from siyu.db.engine import session_factory
from siyu.imports.report import ImportFailed
from siyu.models import (
    AcquisitionSource,
    Channel,
    ChannelMembership,
    Customer,
    CustomerIdentity,
    CustomerTag,
    Event,
    Tag,
    TagAppliedBy,
    TagGroup,
)
from tests.imports.conftest import count, csv_bytes, run_import

HEADER = [
    "手机号",
    "会员号",
    "姓名",
    "性别",
    "城市",
    "来源",
    "渠道码",
    "归属导购",
    "门店",
    "会员等级",
    "积分",
    "营销授权",
    "标签",
    "添加时间",
    "入会时间",
]


def _file(*rows: list[str]) -> bytes:
    return csv_bytes([HEADER, *rows])


def test_customers_with_profile_tags_and_memberships(engine: Engine, org: dict[str, int]) -> None:
    data = _file(
        [
            "13812345678",
            "M001",
            "张三",
            "男",
            "上海",
            "门店",
            "QR-1",
            "G001",
            "S001",
            "金卡",
            "1,200",
            "是",
            "肤质:干性;VIP",
            "2024-03-01 10:00",
            "2023-05-01",
        ],
        [
            "13900001111",
            "",
            "李四",
            "女",
            "",
            "广告",
            "",
            "lisi",
            "",
            "",
            "",
            "否",
            "a,b",
            "2024-03-02 09:00",
            "",
        ],
    )
    run = run_import(engine, "customers", data, "customers.csv")
    assert (run.job.inserted, run.job.updated, run.job.unchanged) == (2, 0, 0)
    with session_factory(engine)() as s:
        zhang = s.get_one(Customer, 1)
        assert (zhang.name, zhang.gender, zhang.city, zhang.source) == (
            "张三",
            "male",
            "上海",
            AcquisitionSource.store,
        )
        assert (zhang.source_channel_code, zhang.owner_staff_id, zhang.home_store_id) == (
            "QR-1",
            org["G001"],
            org["S001"],
        )
        assert (zhang.member_tier, zhang.points_balance, zhang.marketing_opt_in) == ("金卡", 1200, True)
        assert zhang.first_seen_at == datetime(2023, 4, 30, 16, 0, tzinfo=UTC)  # the earliest time known
        li = s.get_one(Customer, 2)
        assert li.owner_staff_id == org["G002"] and li.source == AcquisitionSource.ad
        identities = s.execute(
            select(CustomerIdentity.customer_id, CustomerIdentity.kind, CustomerIdentity.value)
        ).all()
        assert sorted(identities) == [
            (1, "member_no", "M001"),
            (1, "phone", "+8613812345678"),
            (2, "phone", "+8613900001111"),
        ]
        tags = {
            (g, t)
            for g, t in s.execute(select(TagGroup.name, Tag.name).join(Tag, Tag.group_id == TagGroup.id))
        }
        assert tags == {("肤质", "干性"), ("导入", "VIP"), ("导入", "a"), ("导入", "b")}
        assert count(s, CustomerTag, CustomerTag.applied_by == TagAppliedBy.import_) == 4
        spans = s.execute(
            select(ChannelMembership.customer_id, ChannelMembership.channel, ChannelMembership.staff_id)
        ).all()
        assert sorted(spans) == [
            (1, Channel.member, None),
            (1, Channel.wecom, org["G001"]),
            (2, Channel.wecom, org["G002"]),
        ]
        assert count(s, Event, Event.kind == "joined") == 3
        assert count(s, Event, Event.kind == "tagged") == 4


def test_reimport_updates_only_what_changed(engine: Engine, org: dict[str, int]) -> None:
    first = _file(
        ["13812345678", "", "张三", "", "", "", "", "G001", "", "", "", "", "VIP", "2024-03-01 10:00", ""]
    )
    run_import(engine, "customers", first)
    same = run_import(engine, "customers", first)
    assert (same.job.inserted, same.job.updated, same.job.unchanged) == (0, 0, 1)
    changed = _file(
        [
            "138-1234-5678",
            "M9",
            "张三丰",
            "",
            "",
            "",
            "",
            "G001",
            "",
            "",
            "",
            "",
            "VIP;新客",
            "2024-03-01 10:00",
            "",
        ]
    )
    again = run_import(engine, "customers", changed)
    assert (again.job.inserted, again.job.updated, again.job.unchanged) == (0, 1, 0)
    with session_factory(engine)() as s:
        assert count(s, Customer) == 1
        assert s.get_one(Customer, 1).name == "张三丰"
        assert count(s, CustomerIdentity) == 2
        assert count(s, CustomerTag) == 2
        assert count(s, ChannelMembership) == 1  # the open WeCom span was already there


def test_rows_of_one_person_and_merges(engine: Engine, org: dict[str, int]) -> None:
    run_import(
        engine, "customers", _file(["13812345678", "", "甲", "", "", "", "", "", "", "", "", "", "", "", ""])
    )
    run_import(engine, "customers", _file(["", "M5", "", "", "北京", "", "", "", "", "", "", "", "", "", ""]))
    data = _file(
        ["13812345678", "M5", "", "", "", "", "", "", "", "", "", "", "", "", ""],
        ["13700000000", "M5", "", "", "", "", "", "", "", "", "", "", "", "", ""],
    )
    run = run_import(engine, "customers", data)
    assert run.outcome is not None and run.outcome.stats["customers_merged"] == 1
    with session_factory(engine)() as s:
        alive = s.scalars(select(Customer).where(Customer.merged_into_id.is_(None))).all()
        assert [(c.id, c.name, c.city) for c in alive] == [(1, "甲", "北京")]
        assert set(s.scalars(select(CustomerIdentity.customer_id))) == {1}
        assert count(s, CustomerIdentity) == 3


def test_exclusive_tag_groups_replace(engine: Engine, org: dict[str, int]) -> None:
    with session_factory(engine)() as s:
        s.add(TagGroup(name="等级", exclusive=True))
        s.commit()
    row = ["13812345678", "", "", "", "", "", "", "", "", "", "", "", "等级:银", "", ""]
    run_import(engine, "customers", _file(row))
    row[12] = "等级:金"
    run_import(engine, "customers", _file(row))
    with session_factory(engine)() as s:
        names = s.scalars(select(Tag.name).join(CustomerTag, CustomerTag.tag_id == Tag.id)).all()
        assert names == ["金"]
        untagged = s.scalars(select(Event).where(Event.kind == "untagged")).one()
        assert untagged.data is not None and untagged.data["reason"] == "exclusive_group"


def test_bad_customer_rows(engine: Engine, org: dict[str, int]) -> None:
    data = _file(
        ["", "", "无名", "", "", "", "", "", "", "", "", "", "", "", ""],
        ["13812345678", "", "", "未说", "", "火星", "", "G404", "S999", "", "-3", "也许", "", "", ""],
    )
    with pytest.raises(ImportFailed) as caught:
        run_import(engine, "customers", data)
    found = {(e["row"], e["column"]) for e in caught.value.details}
    assert found == {(2, None), (3, "性别"), (3, "来源"), (3, "积分"), (3, "营销授权")}
    fixed = _file(["13812345678", "", "", "", "", "", "", "G404", "S999", "", "", "", "", "", ""])
    with pytest.raises(ImportFailed) as caught:
        run_import(engine, "customers", fixed)
    assert [e["reason"] for e in caught.value.details] == [
        "no staff member with code or WeCom userid 'G404'",
        "no store with code 'S999'",
    ]
    with session_factory(engine)() as s:
        assert count(s, Customer) == 0
