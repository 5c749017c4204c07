"""Console: /scripts/packs — compose the pack of a day from approved scripts, publish it to every active guide."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from starlette.responses import Response

from siyu.db.types import utcnow
from siyu.errors import Invalid, SiyuError
from siyu.journeys import content_pack_service as packs
from siyu.journeys.scripts_schemas import CATEGORIES
from siyu.models import ContentPack, Script, ScriptApproval
from siyu.timeutil import local_date
from siyu.web.auth import SessionDep, Viewer, require_access
from siyu.web.render import gettext_for, render

router = APIRouter(include_in_schema=False)
PackViewer = Annotated[Viewer, Depends(require_access(packs.PACK_WRITE))]
ROWS = 6


def _page(
    request: Request, session: SessionDep, day: date, error: str | None = None, status: int = 200
) -> HTMLResponse:
    pack = session.scalar(select(ContentPack).where(ContentPack.day == day))
    chosen = packs.pack_items(session, [pack.id])[pack.id] if pack else []
    rows: list[tuple[int | None, str]] = [(i.script_id, i.task_kind) for i, _ in chosen]
    rows += [(None, "moments_post")] * max(0, ROWS - len(rows))
    recent = packs.recent_packs(session, 14)
    approved = session.scalars(
        select(Script)
        .where(Script.approval == ScriptApproval.approved)
        .order_by(Script.category, Script.title)
        .limit(1000)
    ).all()
    context = {
        "day": day,
        "pack": pack,
        "rows": rows,
        "approved": approved,
        "recent": recent,
        "counts": packs.task_counts(session, [p.id for p in recent]),
        "guides": len(packs.active_guides(session)),
        "items": packs.pack_items(session, sorted({p.id for p in recent} | ({pack.id} if pack else set()))),
        "TASK_KINDS": packs.TASK_KINDS,
        "CATEGORIES": CATEGORIES,
        "form_error": error,
        "due": packs.due_at(day),
    }
    return render(request, "journeys/journeys/content_packs.html", context, status_code=status)


@router.get("/scripts/packs", response_class=HTMLResponse)
def packs_page(
    request: Request,
    session: SessionDep,
    viewer: PackViewer,
    day: Annotated[date | None, Query()] = None,
) -> HTMLResponse:
    """Recent packs with task and done counts, and the compose form of a day (today by default)."""
    return _page(request, session, day or local_date(utcnow()))


@router.post("/scripts/packs")
async def compose_submit(request: Request, session: SessionDep, viewer: PackViewer) -> Response:
    """Save the day's pack (audited); errors come back above the form."""
    form = await request.form()
    raw_day = str(form.get("day", ""))
    try:
        day = date.fromisoformat(raw_day)
    except ValueError:
        return _page(request, session, local_date(utcnow()), f"day: {raw_day!r} is not a date", 422)
    items = []
    scripts = form.getlist("script_id")
    kinds = form.getlist("task_kind")
    try:
        for n, (sid, kind) in enumerate(zip(scripts, kinds, strict=False), start=1):
            if str(sid).strip():
                if not str(sid).isdigit():
                    raise Invalid(f"item {n}: {sid!r} is not a script id")
                items.append(packs.PackItemIn(int(str(sid)), str(kind)))
        packs.compose_pack(
            session, viewer.actor, day, str(form.get("title", "")), str(form.get("note", "")), items
        )
    except SiyuError as exc:
        session.rollback()
        return _page(request, session, day, gettext_for(request)(exc.message), exc.status_code)
    session.commit()
    return RedirectResponse(f"/scripts/packs?day={day.isoformat()}", status_code=303)


@router.post("/scripts/packs/{pack_id:int}/publish")
def publish_submit(session: SessionDep, viewer: PackViewer, pack_id: int) -> Response:
    """Publish: one task per active guide per item (re-publishing adds only missing tasks)."""
    result = packs.publish_pack(session, viewer.actor, pack_id)
    session.commit()
    return RedirectResponse(f"/scripts/packs?day={result.day.isoformat()}", status_code=303)
