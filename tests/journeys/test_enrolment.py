"""enrol / exit_enrolments: idempotent entry keys, reentry policies, first step due, set-based exits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.journeys.contract import EnrolRequest
from siyu.journeys.enrolment import enrol, exit_enrolments
from siyu.models import EnrolmentStatus, JourneyEnrolment, JourneyStatus, JourneyStepRun, StepRunStatus
from tests.journeys.engine_world import T0, build, journey, new_version, steps

TASK = [{"kind": "create_task", "title": "跟进"}]


def _req(customer_id: int, key: str = "k", at: datetime = T0) -> EnrolRequest:
    return EnrolRequest(customer_id=customer_id, entry_key=key, entered_at=at)


def _count(session: Session, *where: object) -> int:
    return int(session.execute(select(func.count()).select_from(JourneyEnrolment).where(*where)).scalar_one())


def test_enrol_is_idempotent_and_writes_step_zero(session: Session) -> None:
    w = build(session, customers=3)
    jid = journey(session, steps(TASK, TASK))
    first = enrol(session, jid, [_req(c) for c in w.customer_ids], T0)
    again = enrol(session, jid, [_req(c) for c in w.customer_ids] + [_req(w.customer_ids[0])], T0)
    assert first["enrolled"] == 3 and first["already"] == 0
    assert again["enrolled"] == 0 and again["already"] == 4
    assert _count(session) == 3
    runs = session.execute(select(JourneyStepRun)).scalars().all()
    assert len(runs) == 3
    assert {r.step_index for r in runs} == {0}
    assert all(r.status == StepRunStatus.pending and r.due_at == T0 for r in runs)
    # The owner at entry is stored.
    staff = set(session.execute(select(JourneyEnrolment.staff_id)).scalars())
    assert staff == {w.staff_id}


def test_unknown_customer_and_inactive_journey(session: Session) -> None:
    w = build(session, customers=1)
    jid = journey(session, steps(TASK))
    draft = journey(session, steps(TASK), code="draft", status=JourneyStatus.draft)
    assert enrol(session, jid, [_req(999_999)], T0)["unknown_customer"] == 1
    assert enrol(session, draft, [_req(w.customer_ids[0])], T0)["not_active"] == 1
    assert _count(session) == 0


def test_reentry_policies(session: Session) -> None:
    w = build(session, customers=1)
    c = w.customer_ids[0]
    never = journey(session, steps(TASK, reentry="never"), code="never")
    after = journey(session, steps(TASK, reentry="after_exit"), code="after")
    always = journey(session, steps(TASK, reentry="always"), code="always")
    for jid in (never, after, always):
        # Two triggers for the same customer in one call: only 'always' lets both in.
        enrol(session, jid, [_req(c, "a"), _req(c, "b", T0 + timedelta(minutes=1))], T0)
    assert _count(session, JourneyEnrolment.journey_id == never) == 1
    assert _count(session, JourneyEnrolment.journey_id == after) == 1
    assert _count(session, JourneyEnrolment.journey_id == always) == 2
    # While active, a new key is refused by never and after_exit.
    assert enrol(session, after, [_req(c, "c")], T0)["refused_reentry"] == 1
    ids = session.execute(
        select(JourneyEnrolment.id).where(JourneyEnrolment.journey_id.in_([never, after]))
    ).scalars()
    assert exit_enrolments(session, list(ids), "bought", T0) == 2
    # After exit: after_exit lets the customer back in, never does not.
    assert enrol(session, after, [_req(c, "c")], T0)["enrolled"] == 1
    assert enrol(session, never, [_req(c, "c")], T0)["refused_reentry"] == 1


def test_version_is_pinned_at_entry(session: Session) -> None:
    w = build(session, customers=2)
    jid = journey(session, steps(TASK))
    enrol(session, jid, [_req(w.customer_ids[0])], T0)
    new_version(session, jid, steps(TASK, TASK))
    enrol(session, jid, [_req(w.customer_ids[1])], T0)
    versions = dict(session.execute(select(JourneyEnrolment.customer_id, JourneyEnrolment.version)).all())
    assert versions == {w.customer_ids[0]: 1, w.customer_ids[1]: 2}


def test_first_step_due_respects_delay_and_quiet_hours(session: Session) -> None:
    w = build(session, customers=1)
    definition = steps(TASK)
    definition["steps"][0]["delay"] = {"hours": 13}  # 10:00 + 13h = 23:00 local: quiet until 08:00
    definition["quiet_hours"] = {"start": "22:00", "end": "08:00"}
    jid = journey(session, definition)
    enrol(session, jid, [_req(w.customer_ids[0])], T0)
    due = session.execute(select(JourneyStepRun.due_at)).scalar_one()
    assert due == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)  # 08:00 Shanghai next day


def test_exit_skips_pending_runs_and_is_set_based(session: Session) -> None:
    w = build(session, customers=4)
    jid = journey(session, steps(TASK, TASK))
    enrol(session, jid, [_req(c) for c in w.customer_ids], T0)
    ids = list(session.execute(select(JourneyEnrolment.id).order_by(JourneyEnrolment.id)).scalars())
    assert exit_enrolments(session, ids[:2], "left_channel", T0) == 2
    assert exit_enrolments(session, ids[:2], "left_channel", T0) == 0  # already exited
    session.expire_all()
    rows = session.execute(
        select(JourneyEnrolment.id, JourneyEnrolment.status, JourneyEnrolment.exit_reason)
    ).all()
    assert (
        sorted((s, r) for i, s, r in rows if i in ids[:2]) == [(EnrolmentStatus.exited, "left_channel")] * 2
    )
    runs = session.execute(select(JourneyStepRun.enrolment_id, JourneyStepRun.status)).all()
    assert {s for e, s in runs if e in ids[:2]} == {StepRunStatus.skipped}
    assert {s for e, s in runs if e not in ids[:2]} == {StepRunStatus.pending}
