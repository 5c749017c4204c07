"""Result metrics (GMV, orders, conversion, repurchase, visits, referrals, recall, 人效): one grouped query per family."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import aliased

from siyu.models import Customer, Order, Staff, StaffStatus
from siyu.performance.repository import Ctx, Facts, customer_attribution
from siyu.performance.settings import HeadcountSource

NET_FEN = Order.amount_fen - Order.refund_fen
# An order counts unless it was refunded in full.
COUNTED = Order.refund_fen < Order.amount_fen


def orders_facts(ctx: Ctx) -> Facts:
    """gmv and orders per (order's staff else customer's owner, that staff's unit else store / home store)."""
    seller = aliased(Staff)
    staff_key = func.coalesce(Order.staff_id, Customer.owner_staff_id)
    unit_key = func.coalesce(seller.unit_id, Order.store_id, Customer.home_store_id)
    query = (
        select(
            staff_key,
            unit_key,
            func.sum(NET_FEN),
            func.sum(case((COUNTED, 1), else_=0)),
        )
        .select_from(Order)
        .join(Customer, Customer.id == Order.customer_id)
        .outerjoin(seller, seller.id == staff_key)
        .where(Order.paid_at >= ctx.start, Order.paid_at < ctx.end)
        .group_by(staff_key, unit_key)
    )
    rows = [(s, u, (int(g or 0), int(n or 0))) for s, u, g, n in ctx.session.execute(query)]
    return Facts(("gmv", "orders"), rows)


def headcount_facts(ctx: Ctx) -> Facts:
    """One row per staff member counted as headcount in the period (see HeadcountSource)."""
    query = select(Staff.id, Staff.unit_id)
    if ctx.settings.headcount is HeadcountSource.active_now:
        query = query.where(Staff.status == StaffStatus.active)
    else:
        query = query.where(
            or_(Staff.hired_on.is_(None), Staff.hired_on <= ctx.period.last),
            or_(Staff.left_on.is_(None), Staff.left_on >= ctx.period.first),
        )
    return Facts(("headcount",), [(s, u, (1,)) for s, u in ctx.session.execute(query)])


def recall_facts(ctx: Ctx) -> Facts:
    """Per customer owner: customers lost at the period's start and how many of them bought in the period."""
    cutoff = ctx.start - timedelta(days=ctx.settings.lost_after_days)
    # Any order (refunded or not) counts as the last contact, so this reads only the (customer, paid_at) index.
    lost = (
        select(Order.customer_id.label("cid"))
        .where(Order.paid_at < ctx.start)
        .group_by(Order.customer_id)
        .having(func.max(Order.paid_at) < cutoff)
        .subquery()
    )
    buyers = (
        select(Order.customer_id.label("cid"))
        .where(Order.paid_at >= ctx.start, Order.paid_at < ctx.end, COUNTED)
        .distinct()
        .subquery()
    )
    owner, staff_key, unit_key = customer_attribution()
    query = (
        select(staff_key, unit_key, func.count(), func.count(buyers.c.cid))
        .select_from(lost)
        .join(Customer, Customer.id == lost.c.cid)
        .outerjoin(owner, owner.id == Customer.owner_staff_id)
        .outerjoin(buyers, buyers.c.cid == lost.c.cid)
        .where(Customer.merged_into_id.is_(None))
        .group_by(staff_key, unit_key)
    )
    rows = [(s, u, (int(n or 0), int(r or 0))) for s, u, n, r in ctx.session.execute(query)]
    return Facts(("lost", "recalled"), rows)
