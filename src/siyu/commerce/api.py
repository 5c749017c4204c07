"""JSON routes for orders under /api/v1."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from siyu.api.deps import ActorDep, SessionDep
from siyu.api.schemas import DOCUMENT_BEARER, ERROR_RESPONSES, MAX_ID, CursorQuery, IdPath, LimitQuery, Page
from siyu.commerce import service
from siyu.commerce.schemas import OrderDetail, OrderOut
from siyu.models import OrderChannel, OrderStatus

router = APIRouter(responses=ERROR_RESPONSES, dependencies=DOCUMENT_BEARER)
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
DayQuery = Annotated[date | None, Query(description="local calendar day in the brand's time zone, inclusive")]


@router.get("/orders", response_model=Page[OrderOut], tags=["orders"])
def list_orders(
    session: SessionDep,
    actor: ActorDep,
    customer_id: IdQuery = None,
    store_id: IdQuery = None,
    staff_id: IdQuery = None,
    channel: OrderChannel | None = None,
    status: OrderStatus | None = None,
    paid_from: DayQuery = None,
    paid_to: DayQuery = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> Page[OrderOut]:
    """Orders the caller may see, latest payment first."""
    query = service.OrderQuery(
        customer_id=customer_id,
        store_id=store_id,
        staff_id=staff_id,
        channel=channel,
        status=status,
        paid_from=paid_from,
        paid_to=paid_to,
    )
    return service.list_orders(session, actor, query, cursor=cursor, limit=limit)


@router.get("/orders/{order_id}", response_model=OrderDetail, tags=["orders"])
def get_order(order_id: IdPath, session: SessionDep, actor: ActorDep) -> OrderDetail:
    """One order with its lines."""
    return service.order_detail(session, actor, order_id)
