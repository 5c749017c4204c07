"""process_due: every action kind, conditions, exits, statuses, version pinning, schedule and failure isolation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.journeys import sending
from siyu.journeys.contract import EnrolRequest, SendSummary, TouchRequest
from siyu.journeys.engine import MAX_ATTEMPTS, process_due
from siyu.journeys.enrolment import enrol, exit_enrolments
from siyu.models import (
    Account,
    CustomerTag,
    EnrolmentStatus,
    Event,
    Journey,
    JourneyEnrolment,
    JourneyStatus,
    JourneyStepRun,
    Notification,
    OutboundMessage,
    StaffTask,
    StepRunStatus,
    Tag,
    TagGroup,
)
from tests.journeys.engine_world import T0, World, build, journey, new_version, steps
from tests.journeys.experiment_world import add_experiment

SEND = {"kind": "send_script", "channel": "loopback", "script_id": 0}
TASK = {"kind": "create_task", "title": "回访", "due_hours": 24}


def _send(w: World) -> dict[str, Any]:
    return {**SEND, "script_id": w.script_id}


def _enrol_all(session: Session, jid: int, w: World, at: datetime = T0) -> None:
    enrol(session, jid, [EnrolRequest(c, "k", at) for c in w.customer_ids], at)


def _runs(session: Session) -> list[JourneyStepRun]:
    session.expire_all()
    return list(session.execute(select(JourneyStepRun).order_by(JourneyStepRun.id)).scalars())


def _count(session: Session, model: Any, *where: Any) -> int:
    return int(session.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


def _tag(session: Session, name: str = "VIP") -> int:
    group = TagGroup(name=f"g-{name}")
    session.add(group)
    session.flush()
    tag = Tag(group_id=group.id, name=name)
    session.add(tag)
    session.flush()
    return tag.id


def test_send_then_task_then_complete(session: Session) -> None:
    w = build(session, customers=3)
    jid = journey(session, steps([_send(w)], [{**TASK, "script_id": w.script_id}]))
    _enrol_all(session, jid, w)
    first = process_due(session, T0, worker_name="w1")
    assert first == {"claimed": 3, "done": 3, "skipped": 0, "failed": 0, "retry": 0}
    keys = set(session.execute(select(OutboundMessage.idempotency_key)).scalars())
    step0 = [r for r in _runs(session) if r.step_index == 0]
    assert keys == {f"step:{r.id}:0" for r in step0}
    assert {r.status for r in step0} == {StepRunStatus.done} and {r.worker for r in step0} == {"w1"}
    assert step0[0].detail == {"actions": [{"kind": "send_script", "status": "sent"}]}
    assert (
        process_due(session, T0 + timedelta(hours=23), worker_name="w1")["claimed"] == 0
    )  # step 1 not yet due
    second = process_due(session, T0 + timedelta(days=1), worker_name="w1")
    assert second["done"] == 3
    tasks = session.execute(select(StaffTask)).scalars().all()
    step1 = [r for r in _runs(session) if r.step_index == 1]
    assert sorted(t.idempotency_key or "" for t in tasks) == sorted(f"step:{r.id}:0" for r in step1)
    assert all(t.staff_id == w.staff_id and t.body and t.body.endswith("我是小王") for t in tasks)
    assert all(t.due_at == T0 + timedelta(days=2) for t in tasks)
    statuses = session.execute(select(JourneyEnrolment.status, JourneyEnrolment.steps_done)).all()
    assert set(statuses) == {(EnrolmentStatus.completed, 2)}
    assert process_due(session, T0 + timedelta(days=9))["claimed"] == 0


def test_conditions_skip_but_journey_goes_on(session: Session) -> None:
    w = build(session, customers=3)
    vip = _tag(session)
    session.add(CustomerTag(customer_id=w.customer_ids[0], tag_id=vip, applied_by="account", applied_at=T0))
    definition = steps([TASK], [TASK])
    definition["steps"][0]["conditions"] = [
        {"kind": "has_tag", "tag_id": vip},
        {"kind": "no_order_since_entry"},
    ]
    jid = journey(session, definition)
    _enrol_all(session, jid, w)
    counts = process_due(session, T0)
    assert counts["done"] == 1 and counts["skipped"] == 2
    skipped = [r for r in _runs(session) if r.status == StepRunStatus.skipped]
    assert {r.customer_id for r in skipped} == set(w.customer_ids[1:])
    assert skipped[0].detail == {"skipped": "condition", "conditions": [f"has_tag:{vip}"]}
    assert _count(session, StaffTask) == 1
    # Skipped or done, everyone's next step is scheduled.
    assert _count(session, JourneyStepRun, JourneyStepRun.step_index == 1) == 3


def test_tags_notify_and_enrol_actions(session: Session) -> None:
    w = build(session, customers=2)
    vip, old = _tag(session, "VIP"), _tag(session, "旧")
    session.add(CustomerTag(customer_id=w.customer_ids[0], tag_id=old, applied_by="account", applied_at=T0))
    manager = Account(
        username="m",
        display_name="店长",
        permission_role="manager",
        data_scope="unit",
        scope_unit_id=w.store_id,
    )
    other = Account(
        username="o", display_name="别店", permission_role="manager", data_scope="unit", scope_unit_id=None
    )
    session.add_all([manager, other])
    target = journey(session, steps([TASK]), code="target")
    actions = [
        {"kind": "add_tag", "tag_id": vip},
        {"kind": "remove_tag", "tag_id": old},
        {"kind": "notify_manager", "title": "请关注"},
        {"kind": "enrol_journey", "journey_code": "target"},
    ]
    jid = journey(session, steps(actions))
    _enrol_all(session, jid, w)
    assert process_due(session, T0)["done"] == 2
    assert set(session.execute(select(CustomerTag.customer_id, CustomerTag.tag_id)).all()) == {
        (c, vip) for c in w.customer_ids
    }
    assert _count(session, Event, Event.kind == "tagged") == 2
    assert _count(session, Event, Event.kind == "untagged") == 1
    notes = session.execute(select(Notification)).scalars().all()
    assert [n.account_id for n in notes] == [manager.id] * 2
    assert _count(session, JourneyEnrolment, JourneyEnrolment.journey_id == target) == 2
    run = next(r for r in _runs(session) if r.journey_id == jid)
    assert run.detail is not None
    assert [a["status"] for a in run.detail["actions"]] in (
        ["added", "removed", "notified", "enrolled"],
        ["added", "unchanged", "notified", "enrolled"],
    )
    # The target's first step is due now and runs in the next batch.
    assert process_due(session, T0)["done"] == 2


def test_experiment_arms_are_sticky(session: Session) -> None:
    w = build(session, customers=6)
    exp_id, arm_ids, _scripts = add_experiment(session)
    jid = journey(session, steps([{"kind": "send_script", "channel": "loopback", "experiment_id": exp_id}]))
    _enrol_all(session, jid, w)
    assert process_due(session, T0)["done"] == 6
    arms = session.execute(select(OutboundMessage.experiment_arm_id)).scalars().all()
    assert len(arms) == 6 and set(arms) <= set(arm_ids)


def test_exited_paused_archived(session: Session) -> None:
    w = build(session, customers=3)
    jid = journey(session, steps([TASK], [TASK]))
    _enrol_all(session, jid, w)
    ids = list(session.execute(select(JourneyEnrolment.id).order_by(JourneyEnrolment.id)).scalars())
    exit_enrolments(session, ids[:1], "bought", T0)
    j = session.get_one(Journey, jid)
    j.status = JourneyStatus.paused
    session.flush()
    assert process_due(session, T0)["claimed"] == 0  # paused: nothing claimed, runs wait
    assert _count(session, JourneyStepRun, JourneyStepRun.status == StepRunStatus.pending) == 2
    j.status = JourneyStatus.archived
    session.flush()
    counts = process_due(session, T0)
    assert counts["skipped"] == 2 and counts["done"] == 0
    session.expire_all()
    assert {e.exit_reason for e in session.execute(select(JourneyEnrolment)).scalars()} == {
        "bought",
        "journey_archived",
    }
    assert _count(session, StaffTask) == 0


def test_version_pinning(session: Session) -> None:
    w = build(session, customers=2)
    vip = _tag(session)
    jid = journey(session, steps([TASK]))
    enrol(session, jid, [EnrolRequest(w.customer_ids[0], "k", T0)], T0)
    new_version(session, jid, steps([{"kind": "add_tag", "tag_id": vip}]))
    enrol(session, jid, [EnrolRequest(w.customer_ids[1], "k", T0)], T0)
    assert process_due(session, T0)["done"] == 2
    assert session.execute(select(StaffTask.customer_id)).scalars().all() == [w.customer_ids[0]]
    assert session.execute(select(CustomerTag.customer_id)).scalars().all() == [w.customer_ids[1]]


def test_next_step_at_local_time_and_quiet_hours(session: Session) -> None:
    w = build(session, customers=1)
    definition = steps([TASK], [TASK], [TASK])
    definition["steps"][1]["delay"] = {"days": 1, "at_local_time": "09:30"}
    definition["steps"][2]["delay"] = {"days": 1, "hours": 13}  # 23:00 local: quiet until 08:00
    definition["quiet_hours"] = {"start": "22:00", "end": "08:00"}
    jid = journey(session, definition)
    _enrol_all(session, jid, w)
    process_due(session, T0)
    run1 = next(r for r in _runs(session) if r.step_index == 1)
    assert run1.due_at == datetime(2026, 3, 3, 1, 30, tzinfo=UTC)
    process_due(session, run1.due_at)
    run2 = next(r for r in _runs(session) if r.step_index == 2)
    assert run2.due_at == datetime(2026, 3, 4, 0, 0, tzinfo=UTC)


def test_one_failing_run_does_not_sink_the_batch(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    w = build(session, customers=5)
    bad = w.customer_ids[2]
    real = sending.queue_touches

    def flaky(s: Session, requests: Sequence[TouchRequest], now: datetime) -> SendSummary:
        if any(r.customer_id == bad for r in requests):
            raise RuntimeError(f"adapter exploded for customer {bad}")
        return real(s, requests, now)

    monkeypatch.setattr(sending, "queue_touches", flaky)
    jid = journey(session, steps([_send(w)], [TASK]))
    _enrol_all(session, jid, w)
    counts = process_due(session, T0)
    assert counts == {"claimed": 5, "done": 4, "skipped": 0, "failed": 0, "retry": 1}
    assert _count(session, OutboundMessage) == 4
    at = T0
    for _attempt in range(2, MAX_ATTEMPTS + 1):
        at += timedelta(hours=1)
        counts = process_due(session, at)
        assert counts["claimed"] == 1
    assert counts["failed"] == 1
    failed = [r for r in _runs(session) if r.status == StepRunStatus.failed]
    assert len(failed) == 1 and failed[0].customer_id == bad and failed[0].attempts == MAX_ATTEMPTS
    assert failed[0].error and "adapter exploded" in failed[0].error
    # The failed step does not strand the customer: the next step is scheduled.
    assert _count(session, JourneyStepRun, JourneyStepRun.step_index == 1) == 5
    assert _count(session, OutboundMessage) == 4


def test_rerun_of_a_done_batch_has_no_duplicates(session: Session) -> None:
    w = build(session, customers=4)
    jid = journey(session, steps([_send(w), TASK]))
    _enrol_all(session, jid, w)
    process_due(session, T0, batch_size=3)
    process_due(session, T0, batch_size=3)
    assert process_due(session, T0)["claimed"] == 0
    assert _count(session, OutboundMessage) == 4 and _count(session, StaffTask) == 4
    assert _count(session, JourneyStepRun, JourneyStepRun.status == StepRunStatus.done) == 4


def test_exit_rule_checked_when_the_step_falls_due(session: Session) -> None:
    w = build(session, customers=3)
    jid = journey(session, steps([TASK], [TASK], exit_rules=[{"kind": "bought"}]))
    _enrol_all(session, jid, w)
    buyer = w.customer_ids[1]
    session.add(
        Event(kind="ordered", occurred_at=T0 + timedelta(minutes=1), recorded_at=T0, customer_id=buyer)
    )
    session.flush()
    counts = process_due(session, T0 + timedelta(minutes=5))
    assert counts["done"] == 2 and counts["skipped"] == 1
    skipped = next(r for r in _runs(session) if r.status == StepRunStatus.skipped)
    assert skipped.customer_id == buyer and skipped.detail == {"skipped": "exited", "reason": "bought"}
    exited = session.execute(
        select(JourneyEnrolment.customer_id).where(JourneyEnrolment.status == EnrolmentStatus.exited)
    ).scalars()
    assert list(exited) == [buyer]
    assert _count(session, StaffTask) == 2
    assert _count(session, JourneyStepRun, JourneyStepRun.step_index == 1) == 2  # no next step for the buyer
