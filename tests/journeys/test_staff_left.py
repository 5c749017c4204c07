"""Work never goes to a guide who has left: the engine hands it to the current owner, sending refuses it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.journeys.contract import EnrolRequest, TouchRequest
from siyu.journeys.engine import process_due
from siyu.journeys.enrolment import enrol
from siyu.journeys.sending import queue_touches
from siyu.models import Customer, OutboundMessage, Staff, StaffStatus, StaffTask
from tests.journeys import engine_world, send_world


def _leave(session: Session, staff_id: int) -> None:
    session.execute(update(Staff).where(Staff.id == staff_id).values(status=StaffStatus.left))


def test_sending_refuses_a_touch_whose_sender_has_left(session: Session) -> None:
    w = send_world.build(session, customers=4, opted_out=0)
    gone, stays = w.staff_ids
    _leave(session, gone)
    requests = [
        TouchRequest(f"k{c}", "manual", None, "staff_task", w.script_id, customer_id=c)
        for c in w.customer_ids
    ]
    summary = queue_touches(session, requests, send_world.T0)
    owners: dict[int, int | None] = {
        c: o for c, o in session.execute(select(Customer.id, Customer.owner_staff_id))
    }
    by_key = {o.idempotency_key: o for o in summary.outcomes}
    for c in w.customer_ids:
        outcome = by_key[f"k{c}"]
        if owners[c] == gone:
            assert outcome.status == "failed" and outcome.reason and f"staff {gone}" in outcome.reason
        else:
            assert outcome.status == "queued"
    # No task was made for the departed guide; the others each got one.
    task_staff = list(session.scalars(select(StaffTask.staff_id)))
    assert gone not in task_staff and task_staff.count(stays) == list(owners.values()).count(stays)
    failed = session.scalars(select(OutboundMessage).where(OutboundMessage.status == "failed")).all()
    assert {r.staff_id for r in failed} == {gone}


def test_engine_gives_the_work_to_the_successor_after_a_handover(session: Session) -> None:
    w = engine_world.build(session, customers=3)
    task = {"kind": "create_task", "title": "回访", "script_id": w.script_id}
    jid = engine_world.journey(session, engine_world.steps([task]))
    enrol(session, jid, [EnrolRequest(c, "k", engine_world.T0) for c in w.customer_ids], engine_world.T0)
    # The guide leaves after the customers entered; two of them were handed over to a successor.
    successor = Staff(code="G2", name="小李", unit_id=w.store_id)
    session.add(successor)
    session.flush()
    _leave(session, w.staff_id)
    handed = w.customer_ids[:2]
    session.execute(update(Customer).where(Customer.id.in_(handed)).values(owner_staff_id=successor.id))
    counts = process_due(session, engine_world.T0 + timedelta(minutes=1), worker_name="w1")
    assert counts["done"] == 3
    tasks: dict[int | None, int] = {
        c: s for c, s in session.execute(select(StaffTask.customer_id, StaffTask.staff_id))
    }
    assert tasks == {c: successor.id for c in handed}  # the third customer has nobody employed: no task
    assert all(body and body.endswith("我是小李") for body in session.scalars(select(StaffTask.body)))
