"""User metrics (private users by channel, new contacts, losses, retention): one grouped query per family."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import aliased

from siyu.models import Channel, ChannelMembership, Customer, LeaveReason, Staff
from siyu.performance.repository import Ctx, Facts, count_if, plus_days

M = ChannelMembership
# 1:1 contact channels: adding one is 加粉.
CONTACT_CHANNELS = (Channel.wecom, Channel.wechat_personal)
# Leaving the brand on the customer's own initiative (deleted the staff, left the group).
LOST_REASONS = (LeaveReason.customer_deleted_staff, LeaveReason.left_group)
RETENTION_DAYS = (7, 30, 90)
CHANNELS = tuple(Channel)


def _membership_attribution() -> tuple[Any, Any, Any]:
    """(staff alias, staff key, unit key): the membership's staff else the customer's owner, their unit."""
    who = aliased(Staff)
    staff_key = func.coalesce(M.staff_id, Customer.owner_staff_id)
    return who, staff_key, func.coalesce(who.unit_id, Customer.home_store_id)


def contact_facts(ctx: Ctx) -> Facts:
    """Per membership staff: new 1:1 contacts, ended 1:1 contacts, customers lost (deleted staff / left group)."""
    who, staff_key, unit_key = _membership_attribution()
    joined = and_(M.joined_at >= ctx.start, M.joined_at < ctx.end)
    left = and_(M.left_at >= ctx.start, M.left_at < ctx.end)
    one_to_one = M.channel.in_(CONTACT_CHANNELS)

    query = (
        select(
            staff_key,
            unit_key,
            count_if(and_(joined, one_to_one)),
            count_if(and_(left, one_to_one)),
            count_if(and_(left, M.leave_reason.in_(LOST_REASONS))),
        )
        .select_from(M)
        .join(Customer, Customer.id == M.customer_id)
        .outerjoin(who, who.id == staff_key)
        .where(or_(joined, left))
        .group_by(staff_key, unit_key)
    )
    rows = [(r[0], r[1], tuple(int(v or 0) for v in r[2:])) for r in ctx.session.execute(query)]
    return Facts(("new_contacts", "contacts_ended", "customers_lost"), rows)


def retention_facts(ctx: Ctx) -> Facts:
    """Per membership staff and channel: memberships joined in the period old enough for N days, and those kept."""
    who, staff_key, unit_key = _membership_attribution()
    columns = []
    for days in RETENTION_DAYS:
        mature = M.joined_at <= ctx.as_of - timedelta(days=days)
        kept = or_(M.left_at.is_(None), M.left_at >= plus_days(ctx, M.joined_at, days))
        columns += [
            func.sum(case((mature, 1), else_=0)),
            func.sum(case((and_(mature, kept), 1), else_=0)),
        ]
    query = (
        select(staff_key, unit_key, M.channel, *columns)
        .select_from(M)
        .join(Customer, Customer.id == M.customer_id)
        .outerjoin(who, who.id == staff_key)
        .where(M.joined_at >= ctx.start, M.joined_at < ctx.end)
        .group_by(staff_key, unit_key, M.channel)
    )
    fields = tuple(
        f"{part}_{days}_{ch}" for ch in ("all", *(c.value for c in CHANNELS)) for days in RETENTION_DAYS
        for part in ("cohort", "kept")
    )  # fmt: skip
    index = {name: i for i, name in enumerate(fields)}
    rows: dict[tuple[int | None, int | None], list[int]] = {}
    for r in ctx.session.execute(query):
        row = rows.setdefault((r[0], r[1]), [0] * len(fields))
        for i, days in enumerate(RETENTION_DAYS):
            for j, part in enumerate(("cohort", "kept")):
                value = int(r[3 + 2 * i + j] or 0)
                row[index[f"{part}_{days}_{r[2]}"]] += value
                row[index[f"{part}_{days}_all"]] += value
    return Facts(fields, [(s, u, tuple(v)) for (s, u), v in rows.items()])
