"""Order rules for the API: business-day date filters in the brand's time zone, pages and detail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from siyu.api.pagination import decode_cursor, split_page
from siyu.api.schemas import Page
from siyu.commerce import repository as repo
from siyu.commerce.schemas import OrderDetail, OrderLineOut, OrderOut
from siyu.config import get_settings
from siyu.errors import Invalid, NotFound
from siyu.models import Order, OrderChannel, OrderStatus
from siyu.org.permissions import Actor


@dataclass(frozen=True)
class OrderQuery:
    """List filters as the API receives them; dates are local calendar days, both inclusive."""

    customer_id: int | None = None
    store_id: int | None = None
    staff_id: int | None = None
    channel: OrderChannel | None = None
    status: OrderStatus | None = None
    paid_from: date | None = None
    paid_to: date | None = None


def day_start(day: date) -> datetime:
    """The UTC instant a business day begins in the brand's time zone."""
    return datetime.combine(day, time.min, tzinfo=get_settings().zone).astimezone(UTC)


def business_day(instant: datetime) -> date:
    """The brand's business day an instant falls on."""
    return instant.astimezone(get_settings().zone).date()


def _filters(query: OrderQuery) -> repo.OrderFilters:
    if query.paid_from and query.paid_to and query.paid_from > query.paid_to:
        why = "paid_from is after paid_to"
        value = {"paid_from": query.paid_from.isoformat(), "paid_to": query.paid_to.isoformat()}
        raise Invalid(
            f"query.paid_from: {why}", details=[{"where": "query.paid_from", "why": why, "value": value}]
        )
    return repo.OrderFilters(
        customer_id=query.customer_id,
        store_id=query.store_id,
        staff_id=query.staff_id,
        channel=query.channel,
        status=query.status,
        paid_from=day_start(query.paid_from) if query.paid_from else None,
        # paid_to is inclusive: stop where the next local day begins (DST-safe, unlike +24h).
        paid_before=day_start(query.paid_to + timedelta(days=1)) if query.paid_to else None,
    )


def _after(cursor: str | None) -> tuple[datetime, int] | None:
    values = decode_cursor(cursor)
    if values is None:
        return None
    try:
        paid_at, order_id = values
        when = datetime.fromisoformat(paid_at)
        if when.tzinfo is None or not isinstance(order_id, int) or isinstance(order_id, bool):
            raise ValueError(cursor)
    except (TypeError, ValueError):
        raise Invalid("query parameter 'cursor' is not a cursor this API issued") from None
    return when, order_id


def _out(order: Order) -> OrderOut:
    return OrderOut(
        id=order.id,
        source=order.source,
        external_no=order.external_no,
        customer_id=order.customer_id,
        channel=order.channel,
        status=order.status,
        store_id=order.store_id,
        staff_id=order.staff_id,
        campaign_ref=order.campaign_ref,
        coupon_ref=order.coupon_ref,
        paid_at=order.paid_at,
        paid_on=business_day(order.paid_at),
        refunded_at=order.refunded_at,
        amount_fen=order.amount_fen,
        discount_fen=order.discount_fen,
        refund_fen=order.refund_fen,
    )


def list_orders(
    session: Session, actor: Actor, query: OrderQuery, *, cursor: str | None, limit: int
) -> Page[OrderOut]:
    """A page of readable orders, latest payment first."""
    rows = repo.list_orders(session, actor, _filters(query), after=_after(cursor), limit=limit + 1)
    items, next_cursor = split_page(rows, limit, lambda o: [o.paid_at.isoformat(), o.id])
    return Page[OrderOut](items=[_out(o) for o in items], next_cursor=next_cursor)


def order_detail(session: Session, actor: Actor, order_id: int) -> OrderDetail:
    """One readable order with its lines."""
    found = repo.get_order(session, actor, order_id)
    if found is None:
        raise NotFound(f"order {order_id} does not exist")
    order, customer_name, store_name, staff_name = found
    return OrderDetail(
        **_out(order).model_dump(include=set(OrderOut.model_fields)),
        customer_name=customer_name,
        store_name=store_name,
        staff_name=staff_name,
        lines=[
            OrderLineOut(
                id=line.id, sku=line.sku, name=line.name, quantity=line.quantity, amount_fen=line.amount_fen
            )
            for line in repo.lines_of(session, order.id)
        ],
    )
