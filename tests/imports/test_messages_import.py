"""Chat archive imports: who spoke to whom, groups, new contacts, idempotency."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select

from siyu.db.engine import session_factory
from siyu.imports.report import ImportFailed
from siyu.models import ChatGroup, ChatMessage, Customer, CustomerIdentity, IdentityKind, MessageDirection
from tests.imports.conftest import count, csv_bytes, run_import

HEADER = ["msgid", "from", "tolist", "roomid", "msgtime", "msgtype", "content"]


def _archive() -> bytes:
    return csv_bytes(
        [
            HEADER,
            [
                "m1",
                "zhangsan",
                '["wmCustomer01"]',
                "",
                "1709280000000",
                "text",
                '{"content": "您好，欢迎光临"}',
            ],
            ["m2", "wmCustomer01", "zhangsan", "", "2024-03-01 16:01:00", "text", "你好"],
            ["m3", "G002", '["wmCustomer01","zhangsan"]', "wrRoom1", "1709280120000", "image", ""],
            ["m4", "wmCustomer02", '["zhangsan"]', "wrRoom1", "1709280180000", "text", "多少钱"],
            ["m5", "zhangsan", "lisi", "", "1709280240000", "text", "内部"],
            ["m2", "wmCustomer01", "zhangsan", "", "2024-03-01 16:01:00", "text", "你好"],
        ]
    )


def test_messages_are_resolved(engine: Engine, org: dict[str, int]) -> None:
    with session_factory(engine)() as s:
        s.add(Customer(source="organic", first_seen_at=datetime(2024, 5, 1, tzinfo=UTC)))
        s.flush()
        s.add(CustomerIdentity(customer_id=1, kind=IdentityKind.wecom_external_userid, value="wmCustomer01"))
        s.commit()
    run = run_import(engine, "messages", _archive(), "archive.csv")
    assert (run.job.total_rows, run.job.inserted, run.job.unchanged) == (6, 5, 1)
    with session_factory(engine)() as s:
        by_id = {m.msgid: m for m in s.scalars(select(ChatMessage))}
        m1, m2, m3, m4, m5 = (by_id[f"m{i}"] for i in range(1, 6))
        assert (m1.direction, m1.staff_id, m1.customer_id, m1.text) == (
            MessageDirection.staff_to_customer,
            org["G001"],
            1,
            "您好，欢迎光临",
        )
        assert m1.sent_at == datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
        assert (m2.direction, m2.staff_id, m2.customer_id) == (
            MessageDirection.customer_to_staff,
            org["G001"],
            1,
        )
        assert m2.sent_at == datetime(2024, 3, 1, 8, 1, tzinfo=UTC)
        group = s.scalars(select(ChatGroup)).one()
        assert (group.external_id, group.name) == ("wrRoom1", "wrRoom1")
        assert (m3.direction, m3.staff_id, m3.group_id, m3.msg_type) == (
            MessageDirection.staff_to_group,
            org["G002"],
            group.id,
            "image",
        )
        assert json.loads(m3.receivers or "") == ["wmCustomer01", "zhangsan"]
        assert m4.direction == MessageDirection.customer_to_group and m4.group_id == group.id
        newcomer = s.get_one(Customer, m4.customer_id)
        assert newcomer.first_seen_at == datetime(2024, 3, 1, 8, 3, tzinfo=UTC)
        assert (m5.direction, m5.staff_id, m5.customer_id) == (MessageDirection.other, org["G001"], None)
        # The known contact was first seen on May 1st; the archive shows it earlier.
        assert s.get_one(Customer, 1).first_seen_at == datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    again = run_import(engine, "messages", _archive(), "archive.csv")
    assert (again.job.inserted, again.job.unchanged) == (0, 6)
    with session_factory(engine)() as s:
        assert count(s, ChatMessage) == 5 and count(s, Customer) == 2 and count(s, ChatGroup) == 1


def test_bad_messages(engine: Engine, org: dict[str, int]) -> None:
    data = csv_bytes(
        [
            HEADER,
            ["m1", "stranger", "zhangsan", "", "1709280000000", "text", "?"],
            ["m2", "zhangsan", "wmCustomer01", "", "not a time", "text", "?"],
            ["m3", "zhangsan", "[broken", "", "1709280000000", "text", "?"],
            ["m4", "zhangsan", "wmCustomer01", "", "1709280000000", "text", "a"],
            ["m4", "zhangsan", "wmCustomer01", "", "1709280000000", "text", "b"],
        ]
    )
    with pytest.raises(ImportFailed) as caught:
        run_import(engine, "messages", data)
    found = {e["row"]: (e["column"], e["reason"]) for e in caught.value.details}
    assert found[2][0] == "from" and found[2][1].startswith("unknown sender")
    assert found[3][0] == "msgtime"
    assert found[4] == ("tolist", "not a JSON list of ids")
    assert found[6] == ("msgid", "message id also on row 5 with different content")
    run = run_import(engine, "messages", data, skip_invalid=True)
    assert (run.job.inserted, run.job.rejected) == (1, 4)
    with session_factory(engine)() as s:
        assert s.scalars(select(ChatMessage.msgid)).all() == ["m4"]
