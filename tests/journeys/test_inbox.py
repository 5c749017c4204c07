"""Task inbox: today's and overdue tasks grouped, mark done (events, confirmations), team figures = catalog."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from siyu.errors import Forbidden, NotFound
from siyu.journeys import inbox_service as inbox
from siyu.models import (
    AuditLog,
    Event,
    LeaderboardCounter,
    OutboundMessage,
    SendStatus,
    Staff,
    StaffTask,
    TaskStatus,
)
from siyu.performance.compute import compute_metrics
from siyu.performance.contract import Period
from siyu.performance.leaderboard import apply_new_events, rebuild
from siyu.timeutil import brand_zone, day_range_utc
from tests.journeys.scripts_support import build_world
from tests.talent.roles_support import Org

NOW = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
TODAY = date(2026, 11, 24)


@pytest.fixture()
def org(engine: Engine) -> Org:
    return build_world(engine)


def _staff(session: Session) -> dict[str, int]:
    return {str(c): int(i) for c, i in session.execute(select(Staff.code, Staff.id)).all()}


def _task(session: Session, staff_id: int, kind: str, due: datetime, **kw: object) -> int:
    values = {
        "kind": kind,
        "title": f"{kind} task",
        "staff_id": staff_id,
        "due_at": due,
        "status": TaskStatus.open,
    }
    values.update(kw)
    return int(session.execute(insert(StaffTask).values(**values).returning(StaffTask.id)).scalar_one())


def test_inbox_groups_today_and_overdue(session: Session, org: Org) -> None:
    staff = _staff(session)
    g1 = staff["g1"]
    overdue = _task(session, g1, "recall", NOW - timedelta(days=2))
    later_today = _task(session, g1, "send_message", NOW + timedelta(hours=6), body="王女士您好")
    pack = _task(
        session, g1, "moments_post", NOW + timedelta(hours=9), origin="content-pack", body="今日好物"
    )
    journey = _task(session, g1, "journey_step", NOW - timedelta(hours=1))
    _task(session, g1, "recall", NOW + timedelta(days=1))  # tomorrow: not in today's inbox
    _task(session, g1, "recall", NOW - timedelta(hours=2), status=TaskStatus.done, done_at=NOW)
    _task(session, staff["g2"], "recall", NOW)  # someone else's
    box = inbox.inbox(session, org.actor("guide"), None, NOW)
    groups = {g.key: [t.id for t in g.tasks] for g in box.groups}
    assert groups == {"journey": [journey], "send": [later_today], "recall": [overdue], "pack": [pack]}
    assert [g.key for g in box.groups] == ["journey", "send", "recall", "pack"]
    assert (box.open_today, box.overdue, box.done_today) == (2, 2, 1)
    with pytest.raises(NotFound):
        inbox.inbox(session, org.actor("admin"), None, NOW)  # not linked to a staff member
    assert inbox.inbox(session, org.actor("manager"), g1, NOW).staff_id == g1  # g1 is in r1
    with pytest.raises(NotFound):
        inbox.inbox(session, org.actor("manager"), staff["g3"], NOW)  # s3 is outside r1
    with pytest.raises(NotFound):
        inbox.inbox(session, org.actor("guide"), staff["g2"], NOW)


def test_mark_done_writes_event_evidence_confirmation_and_leaderboard(session: Session, org: Org) -> None:
    staff = _staff(session)
    g1, g2 = staff["g1"], staff["g2"]
    a = _task(session, g1, "send_message", NOW - timedelta(hours=1))
    b = _task(session, g1, "moments_post", NOW + timedelta(hours=1))
    other = _task(session, g2, "recall", NOW)
    session.execute(
        insert(OutboundMessage).values(
            idempotency_key="t:1", channel="staff_task", source_type="manual", staff_id=g1,
            status=SendStatus.queued, task_id=a, created_at=NOW - timedelta(hours=2),
        )
    )  # fmt: skip
    rebuild(session)
    guide = org.actor("guide")
    with pytest.raises(Forbidden):
        inbox.mark_done(session, guide, [a, other], "msg-1", NOW)
    result = inbox.mark_done(session, guide, [a, b], "msg-1", NOW)
    assert (result.done, result.skipped, result.confirmed) == (2, [], 1)
    tasks = {t.id: t for t in session.scalars(select(StaffTask).where(StaffTask.id.in_([a, b])))}
    assert all(t.status == TaskStatus.done and t.evidence == "msg-1" for t in tasks.values())
    events = session.execute(
        select(
            Event.kind, Event.subject_type, Event.subject_id, Event.staff_id, Event.unit_id, Event.data
        ).order_by(Event.id)
    ).all()
    unit = session.scalar(select(Staff.unit_id).where(Staff.id == g1))
    assert [(e.kind, e.subject_type, e.subject_id, e.staff_id, e.unit_id) for e in events] == [
        ("task_done", "staff_task", a, g1, unit),
        ("task_done", "staff_task", b, g1, unit),
    ]
    assert events[1].data == {"task_kind": "moments_post", "proof": "msg-1"}
    assert session.scalar(select(OutboundMessage.status)) == SendStatus.confirmed
    again = inbox.mark_done(session, guide, [a], None, NOW)
    assert (again.done, again.skipped) == (0, [a])
    assert len(session.scalars(select(Event.id)).all()) == 2
    # The manager of r1 may close g2's task (s2 is in r1).
    assert inbox.mark_done(session, org.actor("manager"), [other], None, NOW).done == 1
    assert session.scalar(select(AuditLog.action).where(AuditLog.target_id == other)) == "task.done"
    # The leaderboard's incremental path (events) and its rebuild (raw rows) agree on tasks_done.
    apply_new_events(session)
    incremental = {
        (c.day, c.staff_id): c.value
        for c in session.scalars(select(LeaderboardCounter).where(LeaderboardCounter.metric == "tasks_done"))
    }
    rebuild(session)
    rebuilt = {
        (c.day, c.staff_id): c.value
        for c in session.scalars(select(LeaderboardCounter).where(LeaderboardCounter.metric == "tasks_done"))
    }
    assert incremental == rebuilt == {(TODAY, g1): 2, (TODAY, g2): 1}


def test_team_figures_reconcile_with_catalog_and_brute_force(session: Session, org: Org) -> None:
    staff = _staff(session)
    rng = random.Random(11)
    people = [staff[c] for c in ("sm1", "g1", "g2", "g3", "m1")]
    first, last = TODAY - timedelta(days=6), TODAY
    start, end = day_range_utc(first, last, brand_zone())
    for _ in range(400):
        due = start + timedelta(minutes=rng.randint(-3 * 1440, 10 * 1440))
        status = rng.choice([TaskStatus.open, TaskStatus.done, TaskStatus.done, TaskStatus.cancelled])
        done_at = due + timedelta(minutes=rng.randint(-600, 900)) if status == TaskStatus.done else None
        if rng.random() < 0.02 and done_at is not None:
            done_at = due  # exactly on time
        _task(
            session,
            rng.choice(people),
            rng.choice(["recall", "moments_post"]),
            due,
            status=status,
            done_at=done_at,
        )
    rows = session.execute(
        select(StaffTask.staff_id, StaffTask.status, StaffTask.due_at, StaffTask.done_at)
    ).all()

    def brute(sid: int) -> tuple[int, int, int, int]:
        mine = [r for r in rows if r.staff_id == sid]
        done = sum(1 for r in mine if r.status == TaskStatus.done and start <= r.done_at < end)
        due = [r for r in mine if start <= r.due_at < end and r.status != TaskStatus.cancelled]
        on_time = sum(1 for r in due if r.status == TaskStatus.done and r.done_at <= r.due_at)
        overdue = sum(1 for r in due if r.status == TaskStatus.open and r.due_at < NOW)
        return done, len(due), on_time, overdue

    figures = {f.staff_id: f for f in inbox.team_figures(session, org.actor("admin"), first, last, NOW)}
    catalog = compute_metrics(
        session, ["tasks_done", "task_on_time_rate"], Period.custom(first, last), "staff"
    )
    assert set(figures) == set(people)
    for sid in people:
        f = figures[sid]
        assert (f.done, f.due, f.on_time, f.overdue_open) == brute(sid)
        assert catalog.values["tasks_done"][sid].value == f.done
        rate = catalog.values["task_on_time_rate"][sid]
        assert (rate.numerator, rate.denominator) == (f.on_time, f.due)
        assert rate.value == pytest.approx(f.on_time_rate)
    # The manager of r1 sees r1's staff only (sm1, g1, g2 and m1; not g3 in r2).
    scoped = {f.staff_id for f in inbox.team_figures(session, org.actor("manager"), first, last, NOW)}
    assert scoped == {staff[c] for c in ("sm1", "g1", "g2", "m1")}
    with pytest.raises(Forbidden):
        inbox.team_figures(session, org.actor("guide"), first, last, NOW)
