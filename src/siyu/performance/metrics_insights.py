"""Insight metrics: RFM high-value share (from rfm_snapshots) and the churn-warning recall rate (churn_warnings)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from siyu.insights.contract import HIGH_VALUE_SEGMENTS
from siyu.models import Customer, Staff
from siyu.models.insights import ChurnWarning, RfmSnapshot
from siyu.performance.repository import Ctx, Facts, count_if, customer_attribution


def rfm_facts(ctx: Ctx) -> Facts:
    """Per customer owner: customers scored on the last computed day ≤ the period's last day, and the high-value ones."""
    snap = RfmSnapshot
    latest = select(func.max(snap.computed_on)).where(snap.computed_on <= ctx.period.last).scalar_subquery()
    owner, staff_key, unit_key = customer_attribution()
    query = (
        select(staff_key, unit_key, func.count(), count_if(snap.rfm_segment.in_(sorted(HIGH_VALUE_SEGMENTS))))
        .select_from(snap)
        .join(Customer, Customer.id == snap.customer_id)
        .outerjoin(owner, owner.id == Customer.owner_staff_id)
        .where(snap.computed_on == latest, Customer.merged_into_id.is_(None))
        .group_by(staff_key, unit_key)
    )
    rows = [(s, u, (int(n or 0), int(h or 0))) for s, u, n, h in ctx.session.execute(query)]
    return Facts(("rfm_scored", "rfm_high_value"), rows)


def warning_facts(ctx: Ctx) -> Facts:
    """Per warning owner: churn warnings issued in the period, and those recalled within their window."""
    cw = ChurnWarning
    owner = aliased(Staff)
    unit_key = func.coalesce(owner.unit_id, cw.home_store_id)
    query = (
        select(cw.owner_staff_id, unit_key, func.count(), count_if(cw.status == "recalled"))
        .select_from(cw)
        .outerjoin(owner, owner.id == cw.owner_staff_id)
        .where(cw.warned_on >= ctx.period.first, cw.warned_on <= ctx.period.last)
        .group_by(cw.owner_staff_id, unit_key)
    )
    rows = [(s, u, (int(n or 0), int(r or 0))) for s, u, n, r in ctx.session.execute(query)]
    return Facts(("warnings_issued", "warnings_recalled"), rows)
