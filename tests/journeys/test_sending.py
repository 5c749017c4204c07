"""queue_touches: idempotency, consent, caps, rendering, adapters, write-back and usage counts."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.channels.loopback import LOOPBACK
from siyu.journeys.contract import TouchRequest
from siyu.journeys.sending import confirm_for_tasks, queue_touches
from siyu.models import OutboundMessage, Script, StaffTask
from tests.journeys.send_world import T0, build


@pytest.fixture(autouse=True)
def _clean_loopback() -> None:
    LOOPBACK.clear()


def _req(key: str, customer_id: int | None, script_id: int, **kw: object) -> TouchRequest:
    return TouchRequest(
        idempotency_key=key,
        source_type="manual",
        source_id=None,
        channel=str(kw.pop("channel", "staff_task")),
        script_id=script_id,
        customer_id=customer_id,
        **kw,  # type: ignore[arg-type]
    )


def _rows(session: Session) -> list[OutboundMessage]:
    return list(session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))


def test_staff_task_channel_writes_tasks_and_confirms(session: Session) -> None:
    w = build(session)
    reqs = [_req(f"k{c}", c, w.script_id) for c in w.customer_ids[:4]]
    summary = queue_touches(session, reqs, T0)
    assert summary.counts == {"queued": 4}
    rows = _rows(session)
    assert [r.status.value for r in rows] == ["queued"] * 4
    tasks = {t.id: t for t in session.scalars(select(StaffTask))}
    assert len(tasks) == 4
    for row in rows:
        task = tasks[row.task_id or 0]
        assert task.idempotency_key == f"out:{row.id}"
        assert task.kind == "send_message" and task.body == row.text and task.script_id == w.script_id
        assert task.staff_id == row.staff_id and task.due_at == T0 + timedelta(hours=24)
    # The text is rendered for the customer, their store and guide.
    assert rows[0].text == "顾客0您好，静安店春季上新，导购0等您"
    # Confirming two tasks confirms exactly the two rows they carry.
    some = [rows[0].task_id or 0, rows[1].task_id or 0]
    assert confirm_for_tasks(session, some, T0 + timedelta(hours=1)) == 2
    session.expire_all()
    statuses = Counter(r.status.value for r in _rows(session))
    assert statuses == {"confirmed": 2, "queued": 2}
    assert confirm_for_tasks(session, some, T0 + timedelta(hours=2)) == 0  # already confirmed


def test_idempotent_and_duplicates_in_batch(session: Session) -> None:
    w = build(session)
    c = w.customer_ids[0]
    first = queue_touches(session, [_req("a", c, w.script_id, channel="loopback")], T0)
    again = queue_touches(
        session,
        [
            _req("a", c, w.script_id, channel="loopback"),
            _req("b", c, w.script_id, channel="loopback"),
            _req("b", c, w.script_id, channel="loopback"),
        ],
        T0,
    )
    assert [o.status for o in again.outcomes] == ["duplicate", "sent", "duplicate"]
    assert again.outcomes[0].outbound_id == first.outcomes[0].outbound_id
    assert again.outcomes[2].outbound_id == again.outcomes[1].outbound_id
    assert session.scalar(select(func.count()).select_from(OutboundMessage)) == 2
    assert len(LOOPBACK.delivered) == 2
    assert session.scalar(select(Script.usage_count).where(Script.id == w.script_id)) == 2


def test_consent_service_and_group_touches(session: Session) -> None:
    w = build(session)
    out = w.opted_out_ids[0]
    summary = queue_touches(
        session,
        [
            _req("m", out, w.script_id, channel="loopback"),
            _req("s", out, w.script_id, channel="loopback", is_marketing=False),
            TouchRequest("g", "manual", None, "staff_task", w.script_id, group_id=w.group_id),
        ],
        T0,
    )
    assert [o.status for o in summary.outcomes] == ["opted_out", "sent", "queued"]
    assert summary.outcomes[0].reason and "consent" in summary.outcomes[0].reason
    rows = {r.idempotency_key: r for r in _rows(session)}
    assert rows["m"].status.value == "opted_out" and rows["m"].text is None
    assert rows["g"].staff_id == w.staff_ids[1]  # the group's owner
    task = session.get(StaffTask, rows["g"].task_id)
    assert task is not None and task.group_id == w.group_id and task.customer_id is None


def test_failures_are_named(session: Session) -> None:
    w = build(session)
    c = w.customer_ids[0]
    LOOPBACK.fail_keys.add("lf")
    summary = queue_touches(
        session,
        [
            _req("d", c, w.draft_script_id, channel="loopback"),
            _req("x", 999_999, w.script_id, channel="loopback"),
            _req("lf", c, w.script_id, channel="loopback"),
        ],
        T0,
    )
    statuses = [(o.status, o.reason) for o in summary.outcomes]
    assert statuses[0][0] == "failed" and "not approved" in (statuses[0][1] or "")
    assert (
        statuses[1] == ("failed", "customer 999999 does not exist")
        and summary.outcomes[1].outbound_id is None
    )
    assert statuses[2][0] == "failed" and "loopback" in (statuses[2][1] or "")
    assert {r.idempotency_key: r.status.value for r in _rows(session)} == {"d": "failed", "lf": "failed"}
    assert session.scalar(select(Script.usage_count).where(Script.id == w.script_id)) == 0
    unknown = queue_touches(session, [_req("n", c, w.script_id, channel="nope")], T0).outcomes[0]
    assert unknown.status == "failed" and unknown.reason == "channel adapter 'nope' is not registered"


def test_counts_reconcile_with_rows_for_a_mixed_batch(session: Session) -> None:
    w = build(session, customers=30, opted_out=5)
    people = w.customer_ids + w.opted_out_ids
    reqs = [_req(f"r{i}:{c}", c, w.script_id, channel="loopback") for i in range(3) for c in people]
    summary = queue_touches(session, reqs, T0)
    rows = Counter(r.status.value for r in _rows(session))
    assert {k: v for k, v in summary.counts.items() if k != "duplicate"} == dict(rows)
    assert rows["opted_out"] == 15 and rows["sent"] == 90
    assert len(LOOPBACK.delivered) == 90


def test_unknown_staff_writes_no_row(session: Session) -> None:
    """outbound_messages.staff_id has no foreign key: a staff id that does not exist fails without a row."""
    w = build(session)
    c = w.customer_ids[0]
    summary = queue_touches(
        session,
        [_req("ghost", c, w.script_id, staff_id=888_888), _req("ok", c, w.script_id, channel="loopback")],
        T0,
    )
    assert [(o.status, o.reason) for o in summary.outcomes] == [
        ("failed", "staff 888888 does not exist"),
        ("sent", None),
    ]
    assert [r.idempotency_key for r in _rows(session)] == ["ok"]
