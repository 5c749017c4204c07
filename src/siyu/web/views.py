"""The console's pages: the router every page module joins, and the landing page (the brand summary)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.models import ChannelMembership, ChatMessage, Customer, Order, OrgUnit, Staff
from siyu.web.account_views import router as account_router
from siyu.web.auth import SessionDep, ViewerDep
from siyu.web.auth_views import router as auth_router
from siyu.web.i18n import N_
from siyu.web.render import register_nav, render

router = APIRouter(include_in_schema=False)
router.include_router(auth_router)
router.include_router(account_router)

register_nav("home", N_("Home"), "/", order=0)


def brand_summary(session: Session) -> dict[str, int]:
    """Head counts of the brand's data, straight from the tables."""
    live_customers = select(func.count()).select_from(Customer).where(Customer.merged_into_id.is_(None))
    present = select(func.count()).select_from(ChannelMembership).where(ChannelMembership.left_at.is_(None))
    return {
        "units": session.scalar(select(func.count()).select_from(OrgUnit)) or 0,
        "staff": session.scalar(select(func.count()).select_from(Staff)) or 0,
        "customers": session.scalar(live_customers) or 0,
        "memberships": session.scalar(present) or 0,
        "orders": session.scalar(select(func.count()).select_from(Order)) or 0,
        "gmv_fen": session.scalar(select(func.coalesce(func.sum(Order.amount_fen - Order.refund_fen), 0)))
        or 0,
        "messages": session.scalar(select(func.count()).select_from(ChatMessage)) or 0,
    }


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, _viewer: ViewerDep) -> HTMLResponse:
    """The landing page after sign-in: the brand summary."""
    return render(request, "home.html", {"summary": brand_summary(session)})
