"""Experiments end to end: create/start/stop rules, and report figures reconciled with raw rows."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from siyu.errors import Conflict, Invalid
from siyu.journeys import experiment_stats as st
from siyu.journeys.experiment_report import experiment_report
from siyu.journeys.experiment_service import start_experiment, stop_experiment
from siyu.models import AuditLog, ChatMessage, Customer, Order, OutboundMessage, ScriptApproval, SendStatus
from siyu.org.permissions import SYSTEM_ACTOR, Actor, DataScope, PermissionRole
from siyu.org.service import create_staff, create_unit
from tests.journeys.experiment_world import HORIZON, T0, add_scripts, create_welcome, touch_world

TOUCHED = (SendStatus.queued, SendStatus.sent, SendStatus.confirmed)


def test_create_checks_scripts_and_fixes_the_sample_size(session: Session) -> None:
    scripts = add_scripts(session, ["A", "B"])
    exp = create_welcome(session, scripts)
    assert exp.min_sample_per_arm == st.min_sample_per_arm(0.3, 0.25, 0.05, 0.8)
    assert len(exp.salt) == 16 and exp.status.value == "draft"
    drafts = add_scripts(session, ["A", "B"], approval=ScriptApproval.draft)
    with pytest.raises(Invalid, match=r"arms\[0\].script_id: script \d+ is draft"):
        create_welcome(session, drafts)
    with pytest.raises(Invalid, match="does not exist"):
        create_welcome(session, [scripts[0], 999_999])
    start_experiment(session, SYSTEM_ACTOR, exp.id, T0)
    with pytest.raises(Conflict, match="only a draft can start"):
        start_experiment(session, SYSTEM_ACTOR, exp.id, T0)
    stop_experiment(session, SYSTEM_ACTOR, exp.id, T0)
    with pytest.raises(Conflict):
        stop_experiment(session, SYSTEM_ACTOR, exp.id, T0)
    actions = session.scalars(select(AuditLog.action).where(AuditLog.target_id == exp.id)).all()
    assert sorted(actions) == ["experiment.create", "experiment.start", "experiment.stop"]


def test_report_reconciles_with_raw_rows(session: Session) -> None:
    exp, _customers, assigned = touch_world(session)
    as_of = T0 + timedelta(hours=150)
    report = experiment_report(session, SYSTEM_ACTOR, exp.id, as_of)
    horizon = timedelta(hours=HORIZON)
    # Brute force: read every raw row into Python and recount.
    touches = session.execute(
        select(
            OutboundMessage.customer_id,
            OutboundMessage.experiment_arm_id,
            OutboundMessage.status,
            OutboundMessage.created_at,
        )
    ).all()
    chats = session.execute(select(ChatMessage.customer_id, ChatMessage.direction, ChatMessage.sent_at)).all()
    orders = session.execute(
        select(Order.customer_id, Order.amount_fen, Order.refund_fen, Order.paid_at)
    ).all()
    for arm in report.arms:
        first: dict[int, datetime] = {}
        for c, a, status, at in touches:
            if c is not None and a == arm.arm_id and assigned[c][0] == a and status in TOUCHED:
                first[c] = min(at, first.get(c, at))
        mature = {c: t for c, t in first.items() if t + horizon <= as_of}
        replied = {
            c
            for c, d, at in chats
            if c in mature and d == "customer_to_staff" and mature[c] < at <= mature[c] + horizon
        }
        good = [
            (c, amt - ref)
            for c, amt, ref, at in orders
            if c in mature and ref < amt and mature[c] < at <= mature[c] + horizon
        ]
        assert arm.assigned == sum(1 for a, _ in assigned.values() if a == arm.arm_id)
        assert arm.recipients == len(first)
        assert arm.mature == len(mature)
        assert arm.replied == len(replied) == arm.successes
        assert arm.ordered == len({c for c, _ in good})
        assert arm.gmv_fen == sum(v for _, v in good)
        assert arm.rate.value == pytest.approx(len(replied) / len(mature))
        assert arm.gmv_per_recipient.value == pytest.approx(arm.gmv_fen / len(mature))
        planned = sorted(first.items(), key=lambda kv: (kv[1], kv[0]))[: exp.min_sample_per_arm]
        assert arm.planned == sum(1 for c, _ in planned if c in mature)
    assert report.arms[0].diff is None and report.arms[1].diff is not None
    control, treated = report.arms
    z = st.two_proportion_ztest(treated.successes, treated.mature, control.successes, control.mature)
    assert treated.p_value == pytest.approx(z.p_value)


def test_verdict_waits_for_planned_mature_sample(session: Session) -> None:
    exp, _, _ = touch_world(session)
    n = exp.min_sample_per_arm
    early = experiment_report(session, SYSTEM_ACTOR, exp.id, T0 + timedelta(hours=60))
    assert early.verdict == "collecting" and early.planned_results == []
    late = experiment_report(session, SYSTEM_ACTOR, exp.id, T0 + timedelta(days=30))
    assert all(a.recipients >= n for a in late.arms)  # the seeded world has enough recipients
    assert late.verdict in ("significant", "not_significant")
    assert all(a.planned == n for a in late.arms)
    assert late.planned_results and late.planned_results[0]["n"] == n
    # Just before the n-th recipient of the slowest arm matures, there is still no verdict.
    nth = max(sorted(r for r in _touch_times(session, a.arm_id))[n - 1] for a in late.arms)
    before = experiment_report(
        session, SYSTEM_ACTOR, exp.id, nth + timedelta(hours=HORIZON) - timedelta(seconds=1)
    )
    assert before.verdict == "collecting"
    at = experiment_report(session, SYSTEM_ACTOR, exp.id, nth + timedelta(hours=HORIZON))
    assert at.verdict != "collecting"
    count = session.scalar(select(func.count()).select_from(OutboundMessage))
    assert count and count > 200


def _touch_times(session: Session, arm_id: int) -> list[datetime]:
    rows = session.execute(
        select(func.min(OutboundMessage.created_at))
        .where(OutboundMessage.experiment_arm_id == arm_id, OutboundMessage.status != SendStatus.failed)
        .group_by(OutboundMessage.customer_id)
    )
    return [r[0] for r in rows]


def test_a_guide_scope_counts_only_their_own_customers(session: Session) -> None:
    exp, customers, _ = touch_world(session)
    create_unit(session, code="ST1", name="上海店", kind="store")
    staff = create_staff(session, code="S1", name="王导购", unit_code="ST1")
    mine = set(customers[::3])
    session.execute(update(Customer).where(Customer.id.in_(mine)).values(owner_staff_id=staff.id))
    guide = Actor(
        account_id=None, username="g", role=PermissionRole.guide, scope=DataScope.self_, staff_id=staff.id
    )
    as_of = T0 + timedelta(days=30)
    everyone = experiment_report(session, SYSTEM_ACTOR, exp.id, as_of)
    scoped = experiment_report(session, guide, exp.id, as_of)
    assert scoped.scoped and not everyone.scoped
    for wide, narrow in zip(everyone.arms, scoped.arms, strict=True):
        assert 0 < narrow.recipients < wide.recipients
        assert 0 < narrow.assigned < wide.assigned
    assert sum(a.assigned for a in scoped.arms) == len(mine)
    touched = session.scalars(
        select(OutboundMessage.customer_id).where(OutboundMessage.status.in_(TOUCHED)).distinct()
    ).all()
    assert sum(a.recipients for a in scoped.arms) == len(mine & set(touched))
