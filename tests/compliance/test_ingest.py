"""Archive ingestion: idempotency, recalls in any order, per-record errors, detection and notifications."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from siyu.cli import app
from siyu.compliance.ingest import ingest_records
from siyu.db.engine import session_factory
from siyu.models import AuditLog, ChatMessage, MessageDirection
from siyu.models.compliance import ChatRecall, Notification, SensitiveIncident
from siyu.org.permissions import SYSTEM_ACTOR
from tests.compliance.c4_support import World, count, ms, recall, send, world_fixture  # noqa: F401

T0 = ms(2026, 3, 2, 2, 0)  # 10:00 in Shanghai


def _batch() -> list[dict[str, object]]:
    return [
        send("m1", "zhangsan", "wmCust0001", "您好，有事可以加微信聊", T0),
        send("m2", "wmCust0001", "zhangsan", "好的", T0 + 60_000),
        send("m3", "zhangsan", "wmCust0001", "我们走私单吧", T0 + 120_000),
        {"msgid": "sw1", "action": "switch", "msgtime": T0, "user": "zhangsan"},
        {
            "msgid": "img1",
            "action": "send",
            "from": "zhangsan",
            "tolist": ["wmCust0001"],
            "roomid": "",
            "msgtime": T0 + 180_000,
            "msgtype": "redpacket",
            "redpacket": {"type": 1, "totalamount": 8800},
        },
    ]


def test_ingest_stores_detects_and_is_idempotent(engine: Engine, world: World) -> None:
    with session_factory(engine)() as s:
        first = ingest_records(s, _batch(), SYSTEM_ACTOR)
        s.commit()
        assert (first.accepted, first.duplicate, first.switched, first.rejected) == (4, 0, 1, 0)
        assert first.incidents == 2
        again = ingest_records(s, _batch(), SYSTEM_ACTOR)
        s.commit()
        assert (again.accepted, again.duplicate, again.switched, again.incidents) == (0, 4, 1, 0)
        assert count(s, ChatMessage) == 4
        assert count(s, SensitiveIncident) == 2
        rows = {m.msgid: m for m in s.scalars(select(ChatMessage))}
        assert rows["m1"].direction == MessageDirection.staff_to_customer
        assert rows["m2"].direction == MessageDirection.customer_to_staff
        assert rows["img1"].payload == {"type": 1, "totalamount": 8800} and rows["img1"].text is None
        incident = s.scalars(select(SensitiveIncident).where(SensitiveIncident.detector == "stub", SensitiveIncident.rule_key == "w")).one()  # fmt: skip
        # The staff member's unit (S1), not the customer's home store (S2); span in the original text.
        assert (incident.unit_id, incident.staff_id, incident.customer_id) == (world.ids["S1"], world.ids["G1"], world.ids["C1"])  # fmt: skip
        assert "您好，有事可以加微信聊"[incident.span_start : incident.span_end] == "加微信"
        assert incident.occurred_at == rows["m1"].sent_at
        assert count(s, AuditLog, AuditLog.action == "compliance.ingest") == 2


def test_high_incident_notifies_managers_in_scope_once(engine: Engine, world: World) -> None:
    with session_factory(engine)() as s:
        ingest_records(s, _batch(), SYSTEM_ACTOR)
        s.commit()
        notified = set(s.scalars(select(Notification.account_id)))
        # admin (all) and the S1 manager; not S2's manager, not the operator; the medium one notifies nobody.
        assert notified == {world.ids["boss"], world.ids["mgr1"]}
        keys = set(s.scalars(select(Notification.dedupe_key)))
        high = s.scalars(select(SensitiveIncident.id).where(SensitiveIncident.severity == "high")).one()
        assert keys == {f"incident:{high}"}


def test_recall_before_and_after_the_original(engine: Engine, world: World) -> None:
    with session_factory(engine)() as s:
        early = ingest_records(s, [recall("r1", "m1", T0 + 30_000)], SYSTEM_ACTOR)
        assert (early.recalled, early.accepted) == (1, 0)
        ingest_records(s, [send("m1", "zhangsan", "wmCust0001", "hi", T0), send("m2", "zhangsan", "wmCust0001", "x", T0)], SYSTEM_ACTOR)  # fmt: skip
        late = ingest_records(
            s, [recall("r2", "m2", T0 + 90_000), recall("r2", "m2", T0 + 90_000)], SYSTEM_ACTOR
        )
        assert (late.recalled, late.duplicate) == (1, 1)
        s.commit()
        rows = {m.msgid: m for m in s.scalars(select(ChatMessage))}
        assert (
            rows["m1"].recalled_at is not None and rows["m1"].recalled_at.timestamp() == (T0 + 30_000) / 1000
        )
        assert (
            rows["m2"].recalled_at is not None and rows["m2"].recalled_at.timestamp() == (T0 + 90_000) / 1000
        )
        assert count(s, ChatRecall) == 2
        again = ingest_records(s, [recall("r1", "m1", T0 + 30_000)], SYSTEM_ACTOR)
        assert (again.recalled, again.duplicate) == (0, 1)


def test_out_of_order_arrival(engine: Engine, world: World) -> None:
    batch = _batch()[:3]
    with session_factory(engine)() as s:
        ingest_records(s, [batch[2]], SYSTEM_ACTOR)
        ingest_records(s, [batch[1], batch[0]], SYSTEM_ACTOR)
        s.commit()
        assert count(s, ChatMessage) == 3
        assert count(s, SensitiveIncident) == 2


def test_bad_records_are_reported_and_do_not_block_good_ones(engine: Engine, world: World) -> None:
    records: list[object] = [
        send("ok1", "zhangsan", "wmCust0001", "好", T0),
        "not an object",
        {**send("b2", "zhangsan", "wmCust0001", "x", T0), "msgtime": "yesterday"},
        {**send("b3", "zhangsan", "wmCust0001", "x", T0), "text": {"body": 1}},
        send("b4", "nobody-we-know", "wmCust0001", "x", T0),
        {**send("b5", "zhangsan", "wmCust0001", "x", T0), "action": "edit"},
        {**send("b6", "zhangsan", "wmCust0001", "x", T0), "tolist": "wmCust0001"},
        {**recall("b7", "m1", T0), "revoke": {}},
        send("ok2", "wmCust0001", "zhangsan", "嗯", T0 + 1),
    ]
    with session_factory(engine)() as s:
        result = ingest_records(s, records, SYSTEM_ACTOR)
        s.commit()
        assert (result.accepted, result.rejected) == (2, 7)
        where = [(e.index, e.field) for e in result.errors]
        assert where == [(1, ""), (2, "msgtime"), (3, "text.content"), (4, "from"), (5, "action"), (6, "tolist"), (7, "revoke.pre_msgid")]  # fmt: skip
        assert "unknown sender" in result.errors[3].reason
        assert set(s.scalars(select(ChatMessage.msgid))) == {"ok1", "ok2"}


def test_http_batch_auth_and_counts(client: TestClient, world: World) -> None:
    url = "/api/v1/compliance/messages"
    assert client.post(url, json=_batch()).status_code == 401
    guide = {"Authorization": f"Bearer {world.tokens['guide']}"}
    assert client.post(url, json=_batch(), headers=guide).status_code == 403
    feed = {"Authorization": f"Bearer {world.tokens['feed']}"}
    body = client.post(url, json=[*_batch(), {"msgid": 5}], headers=feed)
    assert body.status_code == 200, body.text
    out = body.json()
    assert (out["accepted"], out["switched"], out["rejected"], out["incidents"]) == (4, 1, 1, 2)
    assert out["errors"] == [{"index": 5, "field": "msgid", "reason": "must be a string, got int"}]
    again = client.post(url, json=_batch(), headers=feed).json()
    assert (again["accepted"], again["duplicate"]) == (0, 4)
    assert client.post(url, json={"not": "a list"}, headers=feed).status_code == 422


def test_jsonl_through_import_messages(tmp_path: Path, cli_env: str, world: World) -> None:
    lines = [json.dumps(r, ensure_ascii=False) for r in _batch()]
    lines.insert(2, "{broken")
    lines.insert(3, "")
    path = tmp_path / "archive.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["import", "messages", str(path)])
    assert result.exit_code == 0, result.output
    assert "accepted 4, duplicate 0, recalled 0, switch 1, rejected 1" in result.output
    assert "line 3" in result.output
    again = CliRunner().invoke(app, ["compliance", "ingest", str(path)])
    assert "accepted 0, duplicate 4" in again.output
