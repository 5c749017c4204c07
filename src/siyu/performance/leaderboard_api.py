"""GET /api/v1/leaderboard: the same board as the page, as JSON."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from siyu.api.deps import ActorDep, SessionDep
from siyu.api.schemas import DOCUMENT_BEARER, ERROR_RESPONSES, MAX_ID
from siyu.db.types import utcnow
from siyu.performance.leaderboard_service import build_board, make_period
from siyu.timeutil import local_date

router = APIRouter(responses=ERROR_RESPONSES, dependencies=DOCUMENT_BEARER)


class BoardRowOut(BaseModel):
    """One ranked staff member; money values are fen."""

    rank: int | None
    staff_id: int
    staff_code: str
    staff_name: str
    unit_name: str
    value: float | int | None
    numerator: int | None = None
    denominator: int | None = None


class BoardOut(BaseModel):
    """A leaderboard for a metric, unit subtree and period (brand-local days, inclusive)."""

    metric: str
    period: str
    first: date
    last: date
    unit_id: int | None
    last_event_id: int
    rows: list[BoardRowOut]


@router.get("/leaderboard", response_model=BoardOut, tags=["performance"])
def get_leaderboard(
    session: SessionDep,
    actor: ActorDep,
    metric: Literal["gmv", "orders", "avg_order_value", "new_contacts", "tasks_done"] = "gmv",
    period: Literal["day", "week", "month", "quarter"] = "month",
    day: Annotated[
        date | None, Query(description="a day inside the period (default today, brand-local)")
    ] = None,
    unit_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> BoardOut:
    """Staff of the caller's readable units (optionally one unit's subtree) ranked by metric; ties share a rank."""
    board = build_board(session, actor, metric, make_period(period, day or local_date(utcnow())), unit_id)
    return BoardOut(
        metric=board.metric,
        period=board.period.kind.value,
        first=board.period.first,
        last=board.period.last,
        unit_id=board.unit_id,
        last_event_id=board.last_event_id,
        rows=[BoardRowOut(**asdict(r)) for r in board.rows],
    )
