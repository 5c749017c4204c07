"""Console: /tasks — a guide's inbox (today's and overdue tasks, copy the text, mark done) and /tasks/team."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from siyu.customers.repository import readable
from siyu.db.types import utcnow
from siyu.errors import Invalid, NotFound
from siyu.journeys import inbox_service as inbox
from siyu.models import Customer
from siyu.org.permissions import Actor
from siyu.timeutil import local_date
from siyu.web.access import EVERYONE
from siyu.web.auth import SessionDep, Viewer, ViewerDep, require_access
from siyu.web.i18n import N_
from siyu.web.render import gettext_for, register_nav, render

router = APIRouter(include_in_schema=False)
TeamViewer = Annotated[Viewer, Depends(require_access(inbox.TEAM_VIEW))]
register_nav("tasks", N_("Tasks"), "/tasks", order=15, access=EVERYONE)


def customer_names(session: Session, actor: Actor, ids: Sequence[int]) -> dict[int, str]:
    """Names of the customers the actor may read (one query; others stay unnamed)."""
    if not ids:
        return {}
    rows = session.execute(
        select(Customer.id, Customer.name).where(Customer.id.in_(sorted(set(ids))), readable(actor))
    ).all()
    return {int(i): n or f"#{i}" for i, n in rows}


@router.get("/tasks", response_class=HTMLResponse)
def inbox_page(
    request: Request,
    session: SessionDep,
    viewer: ViewerDep,
    staff: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    """Open tasks due today and overdue ones (highlighted), grouped by kind, with copy and mark-done."""
    now = utcnow()
    box = None
    message = None
    try:
        box = inbox.inbox(session, viewer.actor, staff, now)
    except NotFound as exc:
        message = gettext_for(request)(exc.message)
    ids = [t.customer_id for g in box.groups for t in g.tasks if t.customer_id] if box else []
    context = {
        "box": box,
        "message": message,
        "now": now,
        "names": customer_names(session, viewer.actor, ids),
        "team": inbox.TEAM_VIEW.allows(viewer.actor),
        "own": box is not None and box.staff_id == viewer.actor.staff_id,
    }
    return render(request, "journeys/journeys/inbox.html", context)


@router.post("/tasks/done")
async def done_submit(request: Request, session: SessionDep, viewer: ViewerDep) -> Response:
    """Mark one task (button "only") or every ticked task done, with the optional proof (message id)."""
    form = await request.form()
    only = str(form.get("only", "")).strip()
    raw = [only] if only else [str(v) for v in form.getlist("task_id")]
    if not raw or not all(v.isdigit() for v in raw):
        raise Invalid(N_("Tick at least one task."))
    result = inbox.mark_done(session, viewer.actor, [int(v) for v in raw], str(form.get("proof", "")))
    session.commit()
    back = str(form.get("staff", "")).strip()
    target = f"/tasks?staff={back}" if back.isdigit() else "/tasks"
    return RedirectResponse(f"{target}{'&' if '?' in target else '?'}done={result.done}", status_code=303)


@router.get("/tasks/team", response_class=HTMLResponse)
def team_page(
    request: Request,
    session: SessionDep,
    viewer: TeamViewer,
    first: Annotated[date | None, Query()] = None,
    last: Annotated[date | None, Query()] = None,
) -> HTMLResponse:
    """Per person in scope: done, due, done on time, on-time rate and open overdue in first..last."""
    today = local_date(utcnow())
    last_day = last or today
    first_day = first or last_day - timedelta(days=6)
    rows = inbox.team_figures(session, viewer.actor, first_day, last_day)
    totals = inbox.StaffFigures(
        0,
        "",
        sum(r.done for r in rows),
        sum(r.due for r in rows),
        sum(r.on_time for r in rows),
        sum(r.overdue_open for r in rows),
    )
    context = {"rows": rows, "totals": totals, "first": first_day, "last": last_day}
    return render(request, "journeys/journeys/inbox_team.html", context)
