"""Order queries; data scope for orders is applied here, once, by readable(actor)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Row, and_, or_, select, true
from sqlalchemy.orm import Session

from siyu.customers import repository as customer_repo
from siyu.models import Customer, Order, OrderChannel, OrderLine, OrderStatus, OrgUnit, Staff
from siyu.org import repository as org_repo
from siyu.org.permissions import Actor, DataScope


def readable(actor: Actor) -> ColumnElement[bool]:
    """Filter on Order: readable through its customer, or through its store for unit/subtree scopes."""
    if actor.scope is DataScope.all:
        return true()
    via_customer = Order.customer_id.in_(select(Customer.id).where(customer_repo.readable(actor)))
    units = org_repo.scope_unit_ids(actor)
    if units is not None:
        return or_(Order.store_id.in_(units), via_customer)
    return via_customer


@dataclass(frozen=True)
class OrderFilters:
    """Resolved list filters; paid_from/paid_to are UTC instants, [from, to)."""

    customer_id: int | None = None
    store_id: int | None = None
    staff_id: int | None = None
    channel: OrderChannel | None = None
    status: OrderStatus | None = None
    paid_from: datetime | None = None
    paid_before: datetime | None = None


def list_orders(
    session: Session, actor: Actor, f: OrderFilters, *, after: tuple[datetime, int] | None, limit: int
) -> Sequence[Order]:
    """A page of readable orders, latest payment first (keyset on paid_at, id)."""
    query = select(Order).where(readable(actor))
    if f.customer_id is not None:
        query = query.where(Order.customer_id == f.customer_id)
    if f.store_id is not None:
        query = query.where(Order.store_id == f.store_id)
    if f.staff_id is not None:
        query = query.where(Order.staff_id == f.staff_id)
    if f.channel is not None:
        query = query.where(Order.channel == f.channel)
    if f.status is not None:
        query = query.where(Order.status == f.status)
    if f.paid_from is not None:
        query = query.where(Order.paid_at >= f.paid_from)
    if f.paid_before is not None:
        query = query.where(Order.paid_at < f.paid_before)
    if after is not None:
        paid_at, order_id = after
        # Row-value comparison spelled out: portable, and still uses ix_orders_paid_at.
        query = query.where(or_(Order.paid_at < paid_at, and_(Order.paid_at == paid_at, Order.id < order_id)))
    return session.scalars(query.order_by(Order.paid_at.desc(), Order.id.desc()).limit(limit)).all()


def get_order(
    session: Session, actor: Actor, order_id: int
) -> Row[Order, str | None, str | None, str | None] | None:
    """The order with the names of its customer, store and staff, if the actor may read it."""
    query = (
        select(
            Order,
            Customer.name.label("customer_name"),
            OrgUnit.name.label("store_name"),
            Staff.name.label("staff_name"),
        )
        .join(Customer, Customer.id == Order.customer_id)
        .outerjoin(OrgUnit, OrgUnit.id == Order.store_id)
        .outerjoin(Staff, Staff.id == Order.staff_id)
        .where(Order.id == order_id, readable(actor))
    )
    return session.execute(query).first()


def lines_of(session: Session, order_id: int) -> Sequence[OrderLine]:
    """The lines of an order in entry order."""
    return session.scalars(
        select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.id)
    ).all()
