"""Mass sends: validation, preview after consent and caps, the worker job, reconciled counts, reruns, cancel."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from siyu.channels.loopback import LOOPBACK
from siyu.errors import Conflict, Invalid
from siyu.journeys.contract import TouchRequest
from siyu.journeys.mass_send_run import preview, run_mass_sends_job
from siyu.journeys.mass_send_schemas import MassSendCreate
from siyu.journeys.mass_send_service import (
    cancel_mass_send,
    create_mass_send,
    mass_send_detail,
    retry_mass_send,
)
from siyu.journeys.sending import confirm_for_tasks, queue_touches
from siyu.models import (
    Account,
    AuditLog,
    FrequencyCap,
    MassSend,
    Notification,
    OutboundMessage,
    SegmentVersion,
    StaffTask,
)
from siyu.models.journeys import MassSendStatus
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.segments import service as segments
from siyu.segments.schemas import SegmentCreate
from tests.journeys.send_world import T0, World, build


@pytest.fixture(autouse=True)
def _clean_loopback() -> None:
    LOOPBACK.clear()


def _segment(session: Session, w: World) -> int:
    rule = {"version": 1, "rule": {"field": "store", "op": "in", "value": [w.store_id]}}
    return segments.create_segment(session, SYSTEM_ACTOR, SegmentCreate(name="静安店顾客", rule=rule)).id


def _rows(session: Session, mass_id: int) -> Counter[str]:
    statuses = session.scalars(
        select(OutboundMessage.status).where(
            OutboundMessage.source_type == "mass_send", OutboundMessage.source_id == mass_id
        )
    )
    return Counter(s.value for s in statuses)


def test_create_checks_script_audience_and_scope(session: Session) -> None:
    w = build(session)
    with pytest.raises(Invalid, match="draft"):
        create_mass_send(
            session,
            SYSTEM_ACTOR,
            MassSendCreate(
                name="x", script_id=w.draft_script_id, audience_kind="customers", customer_ids=[1]
            ),
            T0,
        )
    with pytest.raises(ValidationError, match="segment_id"):
        MassSendCreate(name="x", script_id=w.script_id, audience_kind="segment")
    with pytest.raises(Invalid, match="group"):
        create_mass_send(
            session,
            SYSTEM_ACTOR,
            MassSendCreate(name="x", script_id=w.script_id, audience_kind="groups", group_ids=[987654]),
            T0,
        )
    with pytest.raises(Invalid, match="channel"):
        create_mass_send(
            session,
            SYSTEM_ACTOR,
            MassSendCreate(
                name="x", script_id=w.script_id, channel="fax", audience_kind="groups", group_ids=[w.group_id]
            ),
            T0,
        )


def test_segment_send_preview_run_and_reconcile(session: Session) -> None:
    w = build(session, customers=10, opted_out=2)
    session.add(FrequencyCap(code="platform", name="WeCom", period="day"))
    session.flush()
    capped = w.customer_ids[3]
    queue_touches(
        session, [TouchRequest("earlier", "manual", None, "loopback", w.script_id, customer_id=capped)], T0
    )
    data = MassSendCreate(
        name="春季上新", script_id=w.script_id, audience_kind="segment", segment_id=_segment(session, w)
    )
    p = preview(session, SYSTEM_ACTOR, data, T0)
    assert (p.audience, p.opted_out, p.capped, p.failed, p.would_send) == (12, 2, 1, 0, 9)
    assert len(p.sample) == 12 and {r.status for r in p.sample} == {"queued", "opted_out", "capped"}
    assert session.scalar(select(func.count()).select_from(OutboundMessage)) == 1  # the preview wrote nothing
    mass = create_mass_send(session, SYSTEM_ACTOR, data, T0 + timedelta(minutes=5))
    assert run_mass_sends_job(session, T0) == {"ran": 0, "errors": 0, "failed": 0}  # not due yet
    assert run_mass_sends_job(session, T0 + timedelta(minutes=5)) == {"ran": 1, "errors": 0, "failed": 0}
    detail = mass_send_detail(session, mass.id)
    rows = _rows(session, mass.id)
    assert detail.results.model_dump() == {
        s: rows.get(s, 0) for s in ("queued", "sent", "confirmed", "capped", "opted_out", "failed")
    }
    assert (rows["queued"], rows["capped"], rows["opted_out"]) == (p.would_send, p.capped, p.opted_out)
    stored = session.get(MassSend, mass.id)
    assert stored is not None and stored.status == MassSendStatus.done
    assert (stored.audience_count, stored.queued_count, stored.capped_count, stored.opted_out_count) == (
        12,
        9,
        1,
        2,
    )
    # Each queued touch is one task for the customer's owner; confirming some shows up as confirmed.
    tasks = list(session.scalars(select(StaffTask.id).where(StaffTask.kind == "send_message")))
    assert len(tasks) == 9
    confirm_for_tasks(session, tasks[:4], T0 + timedelta(hours=1))
    assert mass_send_detail(session, mass.id).results.confirmed == 4
    # A rerun (e.g. after a crash left it scheduled) sends nobody twice.
    session.execute(update(MassSend).where(MassSend.id == mass.id).values(status=MassSendStatus.scheduled))
    assert run_mass_sends_job(session, T0 + timedelta(minutes=6)) == {"ran": 1, "errors": 0, "failed": 0}
    assert sum(_rows(session, mass.id).values()) == 12
    assert session.scalar(select(func.count()).select_from(StaffTask)) == 9


def test_groups_loopback_and_cancel(session: Session) -> None:
    w = build(session)
    data = MassSendCreate(
        name="群公告",
        script_id=w.script_id,
        channel="loopback",
        audience_kind="groups",
        group_ids=[w.group_id],
    )
    p = preview(session, SYSTEM_ACTOR, data, T0)
    assert (p.audience, p.would_send) == (1, 1) and p.sample[0].name == "会员群"
    mass = create_mass_send(session, SYSTEM_ACTOR, data, T0)
    later = create_mass_send(
        session, SYSTEM_ACTOR, data.model_copy(update={"scheduled_at": T0 + timedelta(days=1)}), T0
    )
    assert run_mass_sends_job(session, T0 + timedelta(hours=1))["ran"] == 1
    assert _rows(session, mass.id) == {"sent": 1}
    assert LOOPBACK.delivered[0].group_id == w.group_id
    cancel_mass_send(session, SYSTEM_ACTOR, later.id)
    assert run_mass_sends_job(session, T0 + timedelta(days=2))["ran"] == 0
    with pytest.raises(Conflict, match="done"):
        cancel_mass_send(session, SYSTEM_ACTOR, mass.id)


def test_customer_list_and_experiment_arms(session: Session) -> None:
    from tests.journeys.experiment_world import add_experiment

    w = build(session, customers=40, opted_out=0)
    exp_id, arm_ids, script_ids = add_experiment(session)
    data = MassSendCreate(
        name="AB",
        script_id=script_ids[0],
        channel="loopback",
        audience_kind="customers",
        customer_ids=w.customer_ids,
        experiment_id=exp_id,
    )
    mass = create_mass_send(session, SYSTEM_ACTOR, data, T0)
    run_mass_sends_job(session, T0)
    rows = session.execute(
        select(OutboundMessage.experiment_arm_id, OutboundMessage.script_id).where(
            OutboundMessage.source_id == mass.id
        )
    ).all()
    assert len(rows) == 40
    arms = Counter(a for a, _ in rows)
    assert set(arms) == set(arm_ids) and all(n > 5 for n in arms.values())
    assert all(dict(zip(arm_ids, script_ids, strict=True))[a or 0] == s for a, s in rows)


def test_audience_is_bounded_by_the_creators_scope(session: Session) -> None:
    from siyu.org.permissions import Actor, DataScope, PermissionRole

    w = build(session, customers=10, opted_out=0)
    guide0 = Actor(
        account_id=None,
        username="op",
        role=PermissionRole.operator,
        scope=DataScope.self_,
        staff_id=w.staff_ids[0],
    )
    data = MassSendCreate(
        name="x", script_id=w.script_id, audience_kind="segment", segment_id=_segment(session, w)
    )
    assert preview(session, guide0, data, T0).audience == 5  # only the customers guide 0 owns
    assert preview(session, SYSTEM_ACTOR, data, T0).audience == 10
    listed = data.model_copy(
        update={"audience_kind": "customers", "customer_ids": w.customer_ids, "segment_id": None}
    )
    with pytest.raises(Invalid, match="outside your data scope"):
        preview(session, guide0, listed, T0)
    none = queue_touches(session, [TouchRequest("n", "manual", None, "loopback", w.script_id)], T0)
    assert none.outcomes[0].status == "failed" and "neither customer_id nor group_id" in (
        none.outcomes[0].reason or ""
    )


def test_a_send_that_cannot_run_is_retried_then_failed_with_its_error(session: Session) -> None:
    w = build(session, customers=3)
    segment_id = _segment(session, w)
    mass = create_mass_send(
        session,
        SYSTEM_ACTOR,
        MassSendCreate(name="坏规则", script_id=w.script_id, audience_kind="segment", segment_id=segment_id),
        T0,
    )
    account = Account(username="planner", display_name="planner", permission_role="admin", data_scope="all")
    session.add(account)
    session.flush()
    session.get(MassSend, mass.id).created_by_account_id = account.id  # type: ignore[union-attr]
    session.commit()
    # The stored rule no longer parses (a field this version does not know): every run raises Invalid.
    session.execute(
        update(SegmentVersion)
        .where(SegmentVersion.segment_id == segment_id)
        .values(rule={"version": 1, "rule": {"field": "no_such_field", "op": "in", "value": [1]}})
    )
    session.commit()
    assert run_mass_sends_job(session, T0) == {"ran": 0, "errors": 1, "failed": 0}
    row = session.get(MassSend, mass.id)
    assert row is not None
    session.refresh(row)
    assert (row.status, row.attempts, row.retry_at) == (
        MassSendStatus.scheduled,
        1,
        T0 + timedelta(minutes=5),
    )
    assert row.last_error is not None and "no_such_field" in row.last_error
    # Not due again before its retry time; the second failure waits 10 minutes, the third gives up.
    assert run_mass_sends_job(session, T0 + timedelta(minutes=4)) == {"ran": 0, "errors": 0, "failed": 0}
    assert run_mass_sends_job(session, T0 + timedelta(minutes=5)) == {"ran": 0, "errors": 1, "failed": 0}
    session.refresh(row)
    assert (row.attempts, row.retry_at) == (2, T0 + timedelta(minutes=15))
    assert run_mass_sends_job(session, T0 + timedelta(minutes=15)) == {"ran": 0, "errors": 1, "failed": 1}
    session.refresh(row)
    assert (row.status, row.attempts, row.retry_at) == (MassSendStatus.failed, 3, None)
    assert run_mass_sends_job(session, T0 + timedelta(hours=1)) == {"ran": 0, "errors": 0, "failed": 0}
    assert session.scalar(select(func.count()).select_from(OutboundMessage)) == 0  # nothing half-sent
    actions = list(session.scalars(select(AuditLog.action).where(AuditLog.target_id == mass.id)))
    assert "mass_send.failed" in actions
    assert mass_send_detail(session, mass.id).last_error == row.last_error
    notes = session.execute(select(Notification.account_id, Notification.link, Notification.body)).all()
    assert notes == [(account.id, f"/mass-sends/{mass.id}", row.last_error)]
    # Only a failed send can be scheduled again; then it is due at once with fresh attempts.
    other = create_mass_send(
        session,
        SYSTEM_ACTOR,
        MassSendCreate(
            name="x", script_id=w.script_id, audience_kind="customers", customer_ids=w.customer_ids
        ),
        T0 + timedelta(days=1),
    )
    with pytest.raises(Conflict, match="only a failed one"):
        retry_mass_send(session, SYSTEM_ACTOR, other.id, T0)
    session.execute(
        update(SegmentVersion)
        .where(SegmentVersion.segment_id == segment_id)
        .values(rule={"version": 1, "rule": {"field": "store", "op": "in", "value": [w.store_id]}})
    )
    retry_mass_send(session, SYSTEM_ACTOR, mass.id, T0 + timedelta(hours=2))
    session.commit()
    assert run_mass_sends_job(session, T0 + timedelta(hours=2)) == {"ran": 1, "errors": 0, "failed": 0}
    session.refresh(row)
    assert (row.status, row.attempts) == (MassSendStatus.done, 0)
    assert _rows(session, mass.id) == Counter({"queued": 3, "opted_out": 2})
