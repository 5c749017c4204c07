"""Lifecycle stages (new, active, sleeping, lost, recalled) by the editable rules: three set-based statements.

Days are brand-local; "within N days" of as_of means on one of the N days as_of − N + 1 … as_of.
Rules, first match wins (P = purchase days from customer_insights, last = last_order_on):
1. new      — first seen (customers.first_seen_at) within new_days and P ≤ 1;
2. recalled — bought within active_days, P ≥ 2, and either was sleeping/lost before this run and the
              last purchase is within recalled_days (the comeback), or was recalled already and the
              comeback was recorded (a change to recalled) within recalled_days;
3. active   — bought within active_days;
4. sleeping — bought within sleeping_days, or never bought and first seen within sleeping_days;
5. lost     — everyone else (never-buyers are measured from first_seen_at, never counted active).
A customer with no customer_insights row, or with purchase_days 0, has never bought.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    and_,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from siyu.insights.contract import LifecycleRules
from siyu.models import Customer, LifecycleStage
from siyu.models.insights import CustomerInsight, LifecycleChange
from siyu.timeutil import day_start_utc


def _since(as_of: date, days: int) -> date:
    """The first of the `days` brand-local days ending on as_of."""
    return as_of - timedelta(days=days - 1)


def stage_expression(as_of: date, rules: LifecycleRules) -> tuple[ColumnElement[Any], Any]:
    """(CASE giving each customer's stage on as_of, the outer-joined 'recently recalled' subquery)."""
    ci = CustomerInsight
    days = func.coalesce(ci.purchase_days, 0)
    bought = and_(days > 0, ci.last_order_on.is_not(None))
    within_active = and_(bought, ci.last_order_on >= _since(as_of, rules.active_days))
    prev = Customer.lifecycle_stage
    # Recall changes recorded in the last recalled_days (the only ones that keep a customer recalled).
    recent = (
        select(LifecycleChange.customer_id.label("cid"))
        .where(
            LifecycleChange.to_stage == LifecycleStage.recalled,
            LifecycleChange.changed_on >= _since(as_of, rules.recalled_days),
            LifecycleChange.changed_on <= as_of,
        )
        .group_by(LifecycleChange.customer_id)
        .subquery("recent_recall")
    )
    comeback = and_(
        prev.in_([LifecycleStage.sleeping, LifecycleStage.lost]),
        ci.last_order_on >= _since(as_of, rules.recalled_days),
    )
    stays = and_(prev == LifecycleStage.recalled, recent.c.cid.is_not(None))
    stage = case(
        (
            and_(Customer.first_seen_at >= day_start_utc(_since(as_of, rules.new_days)), days <= 1),
            literal(LifecycleStage.new.value),
        ),
        (and_(within_active, days >= 2, or_(comeback, stays)), literal(LifecycleStage.recalled.value)),
        (within_active, literal(LifecycleStage.active.value)),
        (
            or_(
                and_(bought, ci.last_order_on >= _since(as_of, rules.sleeping_days)),
                and_(~bought, Customer.first_seen_at >= day_start_utc(_since(as_of, rules.sleeping_days))),
            ),
            literal(LifecycleStage.sleeping.value),
        ),
        else_=literal(LifecycleStage.lost.value),
    )
    return stage, recent


def apply_lifecycle(
    session: Session, run_id: int | None, as_of: date, rules: LifecycleRules
) -> dict[str, int]:
    """Move every live customer to their stage on as_of, recording a LifecycleChange per move; idempotent per day."""
    stage, recent = stage_expression(as_of, rules)
    before = session.scalar(select(func.max(LifecycleChange.id))) or 0
    changes = (
        select(
            Customer.id,
            Customer.lifecycle_stage,
            stage,
            literal(as_of, Date),
            literal(run_id, BigInteger),
        )
        .select_from(Customer)
        .outerjoin(CustomerInsight, CustomerInsight.customer_id == Customer.id)
        .outerjoin(recent, recent.c.cid == Customer.id)
        .where(Customer.merged_into_id.is_(None), stage != Customer.lifecycle_stage)
        .order_by(Customer.id)  # history ids follow customer ids, not the join order of the plan
    )
    session.execute(
        insert(LifecycleChange).from_select(
            ["customer_id", "from_stage", "to_stage", "changed_on", "run_id"], changes
        )
    )
    # The rows just written (ids above `before`; the refresh runs one at a time) carry the new stages.
    lc = LifecycleChange
    session.execute(
        update(Customer)
        .where(Customer.id == lc.customer_id, lc.id > before)
        .values(lifecycle_stage=lc.to_stage),
        execution_options={"synchronize_session": False},
    )
    moved = session.execute(
        select(lc.to_stage, func.count()).where(lc.id > before).group_by(lc.to_stage)
    ).all()
    out = {"changed": sum(int(n) for _, n in moved)}
    for to_stage, n in moved:
        out[f"to_{LifecycleStage(to_stage).value}"] = int(n)
    return out
