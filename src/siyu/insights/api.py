"""JSON routes of customer insights under /api/v1/insights (scoped like the console pages)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from siyu.api.deps import ActorDep, SessionDep
from siyu.api.schemas import DOCUMENT_BEARER, ERROR_RESPONSES, MAX_ID, IdPath
from siyu.db.types import utcnow
from siyu.errors import Forbidden, Invalid, NotFound
from siyu.insights import repository as repo
from siyu.insights.schemas import (
    CustomerCardOut,
    MovementOut,
    RfmOut,
    RunOut,
    SettingsIn,
    SettingsOut,
    WarningsOut,
)
from siyu.insights.settings import load_settings, parse_settings, save_settings
from siyu.timeutil import brand_zone, local_date

router = APIRouter(
    prefix="/insights", tags=["insights"], responses=ERROR_RESPONSES, dependencies=DOCUMENT_BEARER
)


@router.get("/runs/latest", response_model=RunOut)
def latest_run(session: SessionDep, _actor: ActorDep) -> RunOut:
    """The newest finished refresh: its day, settings, fitted models and counts."""
    run = repo.latest_run(session)
    if run is None:
        raise NotFound("insights: no refresh has finished yet")
    return RunOut.model_validate(run)


@router.get("/rfm", response_model=RfmOut)
def rfm(session: SessionDep, actor: ActorDep) -> RfmOut:
    """RFM segment sizes of the latest scores within the caller's scope, with the 口径."""
    return repo.rfm_table(session, actor, repo.latest_run(session))


@router.get("/movement", response_model=MovementOut)
def movement(
    session: SessionDep,
    actor: ActorDep,
    from_day: Annotated[date, Query(alias="from", description="a computed day (YYYY-MM-DD)")],
    to_day: Annotated[date, Query(alias="to", description="a computed day (YYYY-MM-DD)")],
) -> MovementOut:
    """Customers by (segment on `from`, segment on `to`), null = not scored that day; scoped."""
    days = set(repo.snapshot_days(session))
    for day, where in ((from_day, "from"), (to_day, "to")):
        if day not in days:
            raise Invalid(f"query parameter '{where}': no RFM snapshot was computed on {day.isoformat()}")
    return repo.movement(session, actor, from_day, to_day)


@router.get("/customers/{customer_id}", response_model=CustomerCardOut)
def customer(customer_id: IdPath, session: SessionDep, actor: ActorDep) -> CustomerCardOut:
    """One customer's scores, lifecycle history and open warning; 404 when unknown or out of scope."""
    return repo.customer_card(session, actor, customer_id)


@router.get("/warnings", response_model=WarningsOut)
def warnings(
    session: SessionDep,
    actor: ActorDep,
    day: Annotated[date | None, Query(description="summary day (default: the newest warning day)")] = None,
    only_day: Annotated[bool, Query(description="list only warnings issued on day")] = False,
    owner_staff_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    status: Annotated[str | None, Query(pattern="^(open|recalled|expired)$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> WarningsOut:
    """Churn warnings of readable customers, the per-owner summary and recall tracking."""
    run = repo.latest_run(session)
    chosen = (
        day
        or repo.latest_warning_day(session, actor)
        or (run.as_of if run else local_date(utcnow(), brand_zone()))
    )
    items, total = repo.warnings(
        session,
        actor,
        day=chosen if only_day else None,
        owner_staff_id=owner_staff_id,
        status=status,
        limit=limit,
        offset=offset,
    )
    return WarningsOut(
        day=chosen,
        items=items,
        total=total,
        owners=repo.owner_summary(session, actor, chosen, owner_staff_id),
        recall=repo.recall_summary(session, actor, chosen, owner_staff_id),
    )


@router.get("/settings", response_model=SettingsOut)
def get_settings(session: SessionDep, _actor: ActorDep) -> SettingsOut:
    """The insights settings in force and their version."""
    version, settings = load_settings(session)
    return SettingsOut(version=version, settings=settings.model_dump(mode="json"))


@router.put("/settings", response_model=SettingsOut)
def put_settings(body: SettingsIn, session: SessionDep, actor: ActorDep) -> SettingsOut:
    """Save a new settings version (admin and operator roles; audited); errors name the field."""
    if actor.role not in repo.SETTINGS_ROLES:
        raise Forbidden(f"role {actor.role.value!r} may not change the insights settings")
    settings = parse_settings(body.settings)
    version = save_settings(session, actor, settings, body.note)
    session.commit()
    return SettingsOut(version=version, settings=settings.model_dump(mode="json"))
