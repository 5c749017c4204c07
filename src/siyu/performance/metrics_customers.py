"""Customer-state metrics (private users by channel, population rates, buyers): one pass over memberships."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select

from siyu.models import Channel, ChannelMembership, Customer, Order, Referral, StoreVisit
from siyu.performance.metrics_results import COUNTED
from siyu.performance.repository import Ctx, Facts, count_if, customer_attribution, unindexed

M = ChannelMembership
CHANNELS = tuple(Channel)
FIELDS = (
    "private_users",
    "high_value_users",
    *(f"private_users_{ch.value}" for ch in CHANNELS),
    "population",
    "pop_buyers",
    "pop_visitors",
    "pop_referrers",
    "buyers",
    "repeat_buyers",
)


def customer_state_facts(ctx: Ctx) -> Facts:
    """Per customer owner: private users at the end (by channel), the period's population and its rates, buyers."""
    present = and_(M.joined_at < ctx.end, or_(M.left_at.is_(None), M.left_at >= ctx.end))
    overlap = or_(M.left_at.is_(None), M.left_at >= ctx.start)

    def flag(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.max(case((condition, 1), else_=0))

    # One row per customer with a membership before the end: which channels are present, in the population?
    state = (
        select(
            M.customer_id.label("cid"),
            flag(present).label("present"),
            *(flag(and_(present, M.channel == ch)).label(f"ch_{ch.value}") for ch in CHANNELS),
            flag(overlap).label("pop"),
        )
        .where(M.joined_at < ctx.end)
        .group_by(M.customer_id)
        .subquery()
    )
    # unindexed() keeps SQLite off the customer_id index: reading every visit in customer order to find
    # a month's visitors was 15 times slower than scanning the month and sorting.
    buyers = (
        select(Order.customer_id.label("cid"), func.count().label("n"))
        .where(Order.paid_at >= ctx.start, Order.paid_at < ctx.end, COUNTED)
        .group_by(Order.customer_id)
        .subquery()
    )
    visitors = (
        select(StoreVisit.customer_id.label("cid"))
        .where(StoreVisit.visited_at >= ctx.start, StoreVisit.visited_at < ctx.end)
        .group_by(unindexed(ctx, StoreVisit.customer_id))
        .subquery()
    )
    referrers = (
        select(Referral.referrer_id.label("cid"))
        .where(Referral.referred_at >= ctx.start, Referral.referred_at < ctx.end)
        .group_by(unindexed(ctx, Referral.referrer_id))
        .subquery()
    )
    owner, staff_key, unit_key = customer_attribution()
    in_pop = state.c.pop == 1
    is_present = state.c.present == 1
    query = (
        select(
            staff_key,
            unit_key,
            count_if(is_present),
            count_if(and_(is_present, Customer.member_tier.in_(ctx.settings.high_value_tiers))),
            *(func.sum(state.c[f"ch_{ch.value}"]) for ch in CHANNELS),
            count_if(in_pop),
            count_if(and_(in_pop, buyers.c.cid.is_not(None))),
            count_if(and_(in_pop, visitors.c.cid.is_not(None))),
            count_if(and_(in_pop, referrers.c.cid.is_not(None))),
        )
        .select_from(state)
        .join(Customer, Customer.id == state.c.cid)
        .outerjoin(owner, owner.id == Customer.owner_staff_id)
        .outerjoin(buyers, buyers.c.cid == Customer.id)
        .outerjoin(visitors, visitors.c.cid == Customer.id)
        .outerjoin(referrers, referrers.c.cid == Customer.id)
        .where(Customer.merged_into_id.is_(None))
        .group_by(staff_key, unit_key)
    )
    rows: dict[tuple[int | None, int | None], list[int]] = {}
    width = len(FIELDS)
    for r in ctx.session.execute(query):
        rows[(r[0], r[1])] = [int(v or 0) for v in r[2:]] + [0, 0]
    # Buyers (with or without a membership) for the repurchase rate.
    owner2, staff_key2, unit_key2 = customer_attribution()
    repeat = (
        select(staff_key2, unit_key2, func.count(), count_if(buyers.c.n >= 2))
        .select_from(buyers)
        .join(Customer, Customer.id == buyers.c.cid)
        .outerjoin(owner2, owner2.id == Customer.owner_staff_id)
        .where(Customer.merged_into_id.is_(None))
        .group_by(staff_key2, unit_key2)
    )
    for s, u, n, k in ctx.session.execute(repeat):
        row = rows.setdefault((s, u), [0] * width)
        row[-2], row[-1] = int(n), int(k or 0)
    return Facts(FIELDS, [(s, u, tuple(v)) for (s, u), v in rows.items()])
