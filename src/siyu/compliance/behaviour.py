"""Behaviour detectors over a period (set-based SQL): deletions, negative feedback, after-hours, unanswered."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.compliance.incidents_store import notify_high, store_unattached
from siyu.config import get_settings
from siyu.models import ChannelMembership, ChatMessage, Customer, LeaveReason, MessageDirection, Staff
from siyu.models.compliance import ComplianceCategory, ComplianceCategorySetting, Severity
from siyu.org.permissions import Actor
from siyu.performance.contract import Period
from siyu.performance.repository import Ctx, local_second_of_day, make_ctx, plus_seconds
from siyu.performance.settings import DEFAULT_SETTINGS, PerformanceSettings
from siyu.timeutil import brand_zone

# Detector codes (SensitiveIncident.detector) and their default severities.
STAFF_DELETED = "staff_deleted_customer"
NEGATIVE_FEEDBACK = "customer_deleted_staff"
AFTER_HOURS = "after_hours"
UNANSWERED = "unanswered"
SEVERITY = {
    STAFF_DELETED: Severity.high,  # deleting a customer is how private deals and diverted orders end
    NEGATIVE_FEEDBACK: Severity.medium,
    AFTER_HOURS: Severity.low,
    UNANSWERED: Severity.low,
}
_STAFF_SAYS = (MessageDirection.staff_to_customer, MessageDirection.staff_to_group)


@dataclass
class BehaviourOutcome:
    """New incidents per detector for one period."""

    first: date
    last: date
    found: dict[str, int] = field(default_factory=dict)
    notified: int = 0


def _unit() -> Any:
    return func.coalesce(Staff.unit_id, Customer.home_store_id)


def _row(detector: str, occurred_at: Any, staff_id: Any, customer_id: Any, unit_id: Any, **more: Any) -> dict[str, Any]:  # fmt: skip
    return {
        "message_id": None,
        "group_id": None,
        "category": ComplianceCategory.behaviour.value,
        "detector": detector,
        "rule_id": None,
        "rule_key": "",
        "severity": SEVERITY[detector].value,
        "span_start": 0,
        "span_end": 0,
        "matched": None,
        "score": None,
        "occurred_at": occurred_at,
        "staff_id": staff_id,
        "customer_id": customer_id,
        "unit_id": unit_id,
        **more,
    }


def staff_deleted(ctx: Ctx) -> list[dict[str, Any]]:
    """Memberships the staff member ended by deleting the customer within the period."""
    cm = ChannelMembership
    rows = ctx.session.execute(
        select(cm.id, cm.left_at, cm.staff_id, cm.customer_id, _unit())
        .outerjoin(Staff, Staff.id == cm.staff_id)
        .outerjoin(Customer, Customer.id == cm.customer_id)
        .where(
            cm.leave_reason == LeaveReason.staff_deleted_customer,
            cm.left_at >= ctx.start,
            cm.left_at < ctx.end,
        )
    )
    return [_row(STAFF_DELETED, r[1], r[2], r[3], r[4], rule_key=f"membership:{r[0]}") for r in rows]


def negative_feedback(ctx: Ctx, hours: int) -> list[dict[str, Any]]:
    """Customers who deleted the staff member within hours after a staff message (the last one is cited)."""
    cm, m = ChannelMembership, ChatMessage
    rank = func.row_number().over(partition_by=cm.id, order_by=(m.sent_at.desc(), m.id.desc())).label("rank")
    last = (
        select(
            cm.id.label("membership_id"),
            cm.left_at,
            cm.staff_id,
            cm.customer_id,
            m.id.label("message_id"),
            rank,
        )
        .join(
            m,
            and_(
                m.staff_id == cm.staff_id,
                m.customer_id == cm.customer_id,
                m.direction == MessageDirection.staff_to_customer,
                m.sent_at <= cm.left_at,
                plus_seconds(ctx, m.sent_at, hours * 3600) >= cm.left_at,
            ),
        )
        .where(
            cm.leave_reason == LeaveReason.customer_deleted_staff,
            cm.left_at >= ctx.start,
            cm.left_at < ctx.end,
            m.sent_at
            >= ctx.start - timedelta(hours=hours),  # lets the (staff_id, sent_at) index bound the join
        )
        .subquery()
    )
    rows = ctx.session.execute(
        select(
            last.c.membership_id,
            last.c.left_at,
            last.c.staff_id,
            last.c.customer_id,
            last.c.message_id,
            _unit(),
        )
        .outerjoin(Staff, Staff.id == last.c.staff_id)
        .outerjoin(Customer, Customer.id == last.c.customer_id)
        .where(last.c.rank == 1)
    )
    return [
        _row(NEGATIVE_FEEDBACK, r[1], r[2], r[3], r[5], message_id=r[4], rule_key=f"membership:{r[0]}")
        for r in rows
    ]


def _work_seconds(settings: PerformanceSettings) -> tuple[int, int]:
    return (
        settings.work_start.hour * 3600 + settings.work_start.minute * 60,
        settings.work_end.hour * 3600 + settings.work_end.minute * 60,
    )


def after_hours(ctx: Ctx) -> list[dict[str, Any]]:
    """Staff messages sent outside working hours (brand-local, the performance settings' hours)."""
    m = ChatMessage
    start_s, end_s = _work_seconds(ctx.settings)
    second = local_second_of_day(ctx, m.sent_at)
    rows = ctx.session.execute(
        select(m.id, m.sent_at, m.staff_id, m.customer_id, m.group_id, _unit())
        .outerjoin(Staff, Staff.id == m.staff_id)
        .outerjoin(Customer, Customer.id == m.customer_id)
        .where(
            m.direction.in_(_STAFF_SAYS),
            m.sent_at >= ctx.start,
            m.sent_at < ctx.end,
            or_(second < start_s, second >= end_s),
        )
    )
    return [_row(AFTER_HOURS, r[1], r[2], r[3], r[5], message_id=r[0], group_id=r[4]) for r in rows]


def unanswered(ctx: Ctx, sla_minutes: int) -> list[dict[str, Any]]:
    """Customer messages opening a wait in working hours with no staff reply within the SLA.

    Same thread as the first-response metric (1:1 staff–customer pair, next staff message by sent_at, id);
    only the first message of a wait counts, and only when the SLA ends inside working hours.
    """
    m = ChatMessage
    sla = sla_minutes * 60
    pair = (m.staff_id, m.customer_id)
    reply_at = (
        func.min(case((m.direction == MessageDirection.staff_to_customer, m.sent_at)))
        .over(partition_by=pair, order_by=(m.sent_at, m.id), rows=(1, None))
        .label("reply_at")
    )
    previous = func.lag(m.direction).over(partition_by=pair, order_by=(m.sent_at, m.id)).label("previous")
    thread = (
        select(m.id, m.staff_id, m.customer_id, m.direction, m.sent_at, reply_at, previous)
        .where(
            m.staff_id.is_not(None),
            m.customer_id.is_not(None),
            m.direction.in_((MessageDirection.staff_to_customer, MessageDirection.customer_to_staff)),
            m.sent_at >= ctx.start - timedelta(days=1),  # the message before a wait may be the day before
            m.sent_at < ctx.end + timedelta(seconds=sla),
        )
        .subquery()
    )
    start_s, end_s = _work_seconds(ctx.settings)
    second = local_second_of_day(ctx, thread.c.sent_at)
    rows = ctx.session.execute(
        select(thread.c.id, thread.c.sent_at, thread.c.staff_id, thread.c.customer_id, _unit())
        .outerjoin(Staff, Staff.id == thread.c.staff_id)
        .outerjoin(Customer, Customer.id == thread.c.customer_id)
        .where(
            thread.c.direction == MessageDirection.customer_to_staff,
            or_(thread.c.previous.is_(None), thread.c.previous != MessageDirection.customer_to_staff),
            thread.c.sent_at >= ctx.start,
            thread.c.sent_at < ctx.end,
            second >= start_s,
            second + sla <= end_s,
            or_(thread.c.reply_at.is_(None), thread.c.reply_at > plus_seconds(ctx, thread.c.sent_at, sla)),
        )
    )
    return [_row(UNANSWERED, r[1], r[2], r[3], r[4], message_id=r[0]) for r in rows]


def _enabled(session: Session) -> bool:
    setting = session.get(ComplianceCategorySetting, ComplianceCategory.behaviour)
    return setting is None or setting.enabled


def run_behaviour(
    session: Session,
    first: date,
    last: date,
    actor: Actor,
    settings: PerformanceSettings = DEFAULT_SETTINGS,
) -> BehaviourOutcome:
    """Run every behaviour detector over brand-local days first..last; re-running adds nothing (no commit)."""
    out = BehaviourOutcome(first, last)
    if not _enabled(session):
        return out
    app = get_settings()
    ctx = make_ctx(session, Period.custom(first, last), brand_zone(), settings)
    batches = {
        STAFF_DELETED: staff_deleted(ctx),
        NEGATIVE_FEEDBACK: negative_feedback(ctx, app.compliance_negative_feedback_hours),
        AFTER_HOURS: after_hours(ctx),
        UNANSWERED: unanswered(ctx, app.compliance_reply_sla_minutes),
    }
    new_ids: list[int] = []
    for code, rows in batches.items():
        ids = store_unattached(session, rows)
        out.found[code] = len(ids)
        new_ids += ids
    out.notified = notify_high(session, new_ids)
    audit(
        session,
        actor,
        "compliance.behaviour",
        None,
        None,
        {"first": str(first), "last": str(last), **out.found},
    )
    return out
