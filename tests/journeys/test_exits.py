"""Exit rules end exactly the active enrolments they fire for, on the enrolment's own version."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.journeys import definition_service as service
from siyu.journeys.contract import EnrolRequest
from siyu.journeys.definition_schemas import JourneyCreate
from siyu.journeys.enrolment import enrol
from siyu.journeys.exits import scan_exits
from siyu.models import Customer, JourneyEnrolment, JourneyStepRun
from siyu.models.journeys import EnrolmentStatus, JourneyStatus, StepRunStatus
from siyu.org.permissions import SYSTEM_ACTOR
from tests.journeys.j2_world import T0, build, definition, event


def test_each_exit_rule(session: Session) -> None:
    w = build(session)
    c = w.customers
    raw = definition(w.scripts["approved"])
    raw["exit_rules"] = [
        {"kind": "bought"},
        {"kind": "left_channel"},
        {"kind": "opted_out"},
        {"kind": "tag_added", "tag_id": w.tags[1]},
    ]
    journey, _ = service.create_journey(
        session, SYSTEM_ACTOR, JourneyCreate(code="exits", name="j", definition=raw)
    )
    service.change_status(session, SYSTEM_ACTOR, journey.id, JourneyStatus.active, now=T0)
    enrol(session, journey.id, [EnrolRequest(x, "manual", T0) for x in c[:7]], T0)
    event(session, "ordered", c[0], T0 + timedelta(hours=1))
    event(session, "ordered", c[1], T0 - timedelta(hours=1))  # before entry: no exit
    event(session, "left_channel", c[2], T0 + timedelta(hours=1))
    session.execute(update(Customer).where(Customer.id == c[3]).values(marketing_opt_in=False))
    event(session, "tagged", c[4], T0 + timedelta(hours=1), subject_type="tag", subject_id=w.tags[1])
    event(session, "tagged", c[5], T0 + timedelta(hours=1), subject_type="tag", subject_id=w.tags[0])
    counts = scan_exits(session, T0 + timedelta(hours=2))
    assert counts == {"bought": 1, "left_channel": 1, "opted_out": 1, f"tag_added:{w.tags[1]}": 1}
    rows = session.execute(
        select(JourneyEnrolment.customer_id, JourneyEnrolment.status, JourneyEnrolment.exit_reason)
    ).all()
    exited = {int(cid): reason for cid, status, reason in rows if status is EnrolmentStatus.exited}
    assert exited == {c[0]: "bought", c[2]: "left_channel", c[3]: "opted_out", c[4]: f"tag_added:{w.tags[1]}"}
    # Their pending first steps are skipped; the others' stay pending.
    runs = session.execute(select(JourneyStepRun.customer_id, JourneyStepRun.status)).all()
    assert {int(cid) for cid, s in runs if s is StepRunStatus.skipped} == set(exited)
    assert scan_exits(session, T0 + timedelta(hours=3)) == {}
