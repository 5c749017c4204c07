"""Pages served to browsers (the console grows here; today: the brand summary)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.models import ChannelMembership, ChatMessage, Customer, Order, OrgUnit, Staff

templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
router = APIRouter(include_in_schema=False)


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
def home(request: Request) -> HTMLResponse:
    """The brand summary with links to the API."""
    with request.app.state.sessions() as session:
        summary = brand_summary(session)
    return templates.TemplateResponse(request, "home.html", {"summary": summary})
