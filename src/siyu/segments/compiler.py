"""Compile a parsed rule to one SQL select of customer ids: IN / NOT IN subqueries, never Python per customer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, not_, or_, select, true
from sqlalchemy.orm import aliased

from siyu.customers.repository import readable
from siyu.models import (
    ChannelMembership,
    ChatMessage,
    Customer,
    CustomerInsight,
    CustomerTag,
    MessageDirection,
    Order,
    OrgUnit,
)
from siyu.org.permissions import Actor
from siyu.segments.schemas import Condition, Group, Node, Not, Rule
from siyu.timeutil import day_start_utc, local_date

# Chat messages that count as contact: one-to-one, either direction (group broadcasts do not).
CONTACT_DIRECTIONS = (MessageDirection.staff_to_customer, MessageDirection.customer_to_staff)


@dataclass(frozen=True)
class Clock:
    """`now` and the brand-local day it falls on; facts after now are not seen."""

    now: datetime

    @property
    def today(self) -> date:
        """The brand-local day of now."""
        return local_date(self.now)

    def day_start(self, days_ago: int) -> datetime:
        """The UTC start of the local day days_ago days before today."""
        return day_start_utc(self.today - timedelta(days=days_ago))


def _ids_in(query: Select[Any]) -> ColumnElement[bool]:
    return Customer.id.in_(query)


def _ids_not_in(query: Select[Any]) -> ColumnElement[bool]:
    # customer_id of every subquery is NOT NULL, so NOT IN never meets the NULL trap.
    return Customer.id.not_in(query)


def _nullable_in(column: Any, values: Any) -> ColumnElement[bool]:
    # IS NOT NULL first: then the test is false (not NULL) for a missing value, and NOT(...) of it is true.
    return and_(column.is_not(None), column.in_(values))


def _range(column: Any, op: str, value: Any) -> ColumnElement[bool]:
    if op == "ge":
        return column >= value
    if op == "le":
        return column <= value
    low, high = value
    return and_(column >= low, column <= high)


def _range_holds(op: str, value: Any, x: float) -> bool:
    if op == "ge":
        return bool(x >= value)
    if op == "le":
        return bool(x <= value)
    return bool(value[0] <= x <= value[1])


def _days_ago(column: Any, op: str, value: Any, clock: Clock) -> ColumnElement[bool]:
    """`local days from column's day to today` compared by op: as UTC bounds on column itself."""
    low, high = (value, None) if op == "ge" else (None, value) if op == "le" else value
    clauses = []
    if high is not None:  # at most `high` days ago: on or after the start of that day
        clauses.append(column >= clock.day_start(high))
    if low is not None:  # at least `low` days ago: before the start of the day after
        clauses.append(column < clock.day_start(low - 1))
    return and_(*clauses)


def _counted_orders(clock: Clock) -> list[ColumnElement[bool]]:
    return [Order.refund_fen < Order.amount_fen, Order.paid_at <= clock.now]


def _window(column: Any, days: int, clock: Clock) -> list[ColumnElement[bool]]:
    # "the last N days" = the N local days ending today, today included.
    return [column >= clock.day_start(days - 1), column <= clock.now]


def _last_fact(
    column: Any, customer: Any, where: list[Any], c: Condition, clock: Clock
) -> ColumnElement[bool]:
    """last_order_days / last_contact_days: the latest fact's day compared with today."""
    facts = select(customer).where(*where)
    if c.op == "never":
        return _ids_not_in(facts)
    if c.op == "le":  # some fact on or after that day is enough: an indexed range, no grouping
        return _ids_in(facts.where(column >= clock.day_start(c.value)))
    latest = select(customer).where(*where).group_by(customer)
    return _ids_in(latest.having(_days_ago(func.max(column), c.op, c.value, clock)))


def _aggregate(measure: Any, where: list[Any], c: Condition) -> ColumnElement[bool]:
    """orders_in_window / spend_in_window: customers without orders have 0, which may itself match."""
    grouped = select(Order.customer_id).where(*where).group_by(Order.customer_id)
    if _range_holds(c.op, c.value, 0):
        return _ids_not_in(grouped.having(not_(_range(measure, c.op, c.value))))
    return _ids_in(grouped.having(_range(measure, c.op, c.value)))


def _insight(column: Any, c: Condition) -> ColumnElement[bool]:
    return _ids_in(select(CustomerInsight.customer_id).where(_range(column, c.op, c.value)))


def _tag(c: Condition, clock: Clock) -> ColumnElement[bool]:
    tagged = select(CustomerTag.customer_id).where(CustomerTag.tag_id.in_(c.value))
    if c.op == "any":
        return _ids_in(tagged)
    if c.op == "none":
        return _ids_not_in(tagged)
    every = tagged.group_by(CustomerTag.customer_id).having(func.count() == len(c.value))
    return _ids_in(every)


def _channel(c: Condition, clock: Clock) -> ColumnElement[bool]:
    m = ChannelMembership
    spans = select(m.customer_id).where(m.channel.in_(c.value), m.joined_at <= clock.now)
    if c.op in ("member", "not_member"):
        present = spans.where(or_(m.left_at.is_(None), m.left_at > clock.now))
        return _ids_in(present) if c.op == "member" else _ids_not_in(present)
    if c.op == "joined_within":
        assert c.days is not None
        return _ids_in(spans.where(*_window(m.joined_at, c.days, clock)))
    assert c.first is not None and c.last is not None
    between = spans.where(
        m.joined_at >= day_start_utc(c.first), m.joined_at < day_start_utc(c.last + timedelta(days=1))
    )
    return _ids_in(between)


def _source(c: Condition, clock: Clock) -> ColumnElement[bool]:
    found = Customer.source.in_(c.value)
    return found if c.op == "in" else not_(found)


def _store(c: Condition, clock: Clock) -> ColumnElement[bool]:
    found = _nullable_in(Customer.home_store_id, c.value)
    return found if c.op == "in" else not_(found)


def _unit(c: Condition, clock: Clock) -> ColumnElement[bool]:
    top, below = aliased(OrgUnit), aliased(OrgUnit)
    subtree = (
        select(below.id)
        .join(top, below.path.startswith(top.path))  # the materialised path: a prefix is a subtree
        .where(top.id.in_(c.value))
    )
    found = _nullable_in(Customer.home_store_id, subtree)
    return found if c.op == "in" else not_(found)


def _owner(c: Condition, clock: Clock) -> ColumnElement[bool]:
    if c.op == "none":
        return Customer.owner_staff_id.is_(None)
    if c.op == "some":
        return Customer.owner_staff_id.is_not(None)
    found = _nullable_in(Customer.owner_staff_id, c.value)
    return found if c.op == "in" else not_(found)


def _stage(c: Condition, clock: Clock) -> ColumnElement[bool]:
    found = Customer.lifecycle_stage.in_(c.value)
    return found if c.op == "in" else not_(found)


def _tier(c: Condition, clock: Clock) -> ColumnElement[bool]:
    if c.op == "none":
        return Customer.member_tier.is_(None)
    found = _nullable_in(Customer.member_tier, c.value)
    return found if c.op == "in" else not_(found)


def _last_order(c: Condition, clock: Clock) -> ColumnElement[bool]:
    return _last_fact(Order.paid_at, Order.customer_id, _counted_orders(clock), c, clock)


def _orders_in_window(c: Condition, clock: Clock) -> ColumnElement[bool]:
    assert c.days is not None
    where = [*_counted_orders(clock), *_window(Order.paid_at, c.days, clock)]
    return _aggregate(func.count(Order.id), where, c)


def _spend_in_window(c: Condition, clock: Clock) -> ColumnElement[bool]:
    assert c.days is not None
    where = [*_counted_orders(clock), *_window(Order.paid_at, c.days, clock)]
    return _aggregate(func.sum(Order.amount_fen - Order.refund_fen), where, c)


def _order_channel(c: Condition, clock: Clock) -> ColumnElement[bool]:
    assert c.days is not None
    where = [*_counted_orders(clock), *_window(Order.paid_at, c.days, clock), Order.channel.in_(c.value)]
    return _ids_in(select(Order.customer_id).where(*where))


def _rfm(c: Condition, clock: Clock) -> ColumnElement[bool]:
    scored = select(CustomerInsight.customer_id).where(CustomerInsight.rfm_segment.in_(c.value))
    return _ids_in(scored) if c.op == "in" else _ids_not_in(scored)


def _last_contact(c: Condition, clock: Clock) -> ColumnElement[bool]:
    where = [
        ChatMessage.customer_id.is_not(None),
        ChatMessage.direction.in_(CONTACT_DIRECTIONS),
        ChatMessage.sent_at <= clock.now,
    ]
    return _last_fact(ChatMessage.sent_at, ChatMessage.customer_id, where, c, clock)


def _consent(c: Condition, clock: Clock) -> ColumnElement[bool]:
    return Customer.marketing_opt_in.is_(True) if c.value else Customer.marketing_opt_in.is_(False)


def _first_seen(c: Condition, clock: Clock) -> ColumnElement[bool]:
    return _days_ago(Customer.first_seen_at, c.op, c.value, clock)


COMPILERS: dict[str, Callable[[Condition, Clock], ColumnElement[bool]]] = {
    "tag": _tag,
    "channel": _channel,
    "source": _source,
    "store": _store,
    "unit": _unit,
    "owner_staff": _owner,
    "lifecycle_stage": _stage,
    "member_tier": _tier,
    "last_order_days": _last_order,
    "orders_in_window": _orders_in_window,
    "spend_in_window": _spend_in_window,
    "order_channel": _order_channel,
    "rfm_segment": _rfm,
    "clv_fen": lambda c, clock: _insight(CustomerInsight.clv_fen, c),
    "p_alive": lambda c, clock: _insight(CustomerInsight.p_alive, c),
    "expected_purchases": lambda c, clock: _insight(CustomerInsight.expected_purchases, c),
    "last_contact_days": _last_contact,
    "consent": _consent,
    "first_seen_days": _first_seen,
}


def node_clause(node: Node, clock: Clock) -> ColumnElement[bool]:
    """The SQL test on Customer for one node of the rule tree."""
    if isinstance(node, Group):
        parts = [node_clause(child, clock) for child in node.children]
        if node.kind == "all":
            return and_(true(), *parts)
        return or_(false(), *parts)
    if isinstance(node, Not):
        return not_(node_clause(node.child, clock))
    return COMPILERS[node.field](node, clock)


def member_filter(rule: Rule, actor: Actor, now: datetime) -> list[ColumnElement[bool]]:
    """WHERE clauses on Customer: the rule, the actor's data scope, and live (unmerged) customers only."""
    return [Customer.merged_into_id.is_(None), readable(actor), node_clause(rule.root, Clock(now))]


def compile_ids(rule: Rule, actor: Actor, now: datetime) -> Select[int]:
    """One select of the ids of the customers the rule picks among those the actor may read."""
    return select(Customer.id).where(*member_filter(rule, actor, now))


def compile_count(rule: Rule, actor: Actor, now: datetime) -> Select[int]:
    """One select of how many customers the rule picks among those the actor may read."""
    return select(func.count(Customer.id)).where(*member_filter(rule, actor, now))
