"""The WeCom sync page (/wecom/sync): runs with live progress (HTMX polling), start and resume buttons."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from siyu.db.types import utcnow
from siyu.errors import SiyuError
from siyu.models.wecom import SyncStatus
from siyu.org.permissions import PermissionRole
from siyu.web.access import access_for
from siyu.web.auth import SessionDep, Viewer, require_access
from siyu.web.i18n import N_
from siyu.web.render import render
from siyu.wecom import sync_service as service
from siyu.wecom.credentials import load_app

SYNC_ACCESS = access_for(
    (
        PermissionRole.admin,
        PermissionRole.private_domain_lead,
        PermissionRole.manager,
        PermissionRole.operator,
    )
)
SyncViewer = Annotated[Viewer, Depends(require_access(SYNC_ACCESS))]
PAGE = "wecom/wecom/sync.html"

KIND_LABELS = {"full": N_("Full"), "incremental": N_("Incremental"), "behaviour": N_("Statistics")}
STATUS_LABELS = {"running": N_("Running"), "done": N_("Done"), "failed": N_("Failed")}
STAGE_LABELS = {
    "staff": N_("Staff"),
    "tags": N_("Corp tags"),
    "contacts": N_("Customers"),
    "follows": N_("Closing removed follows"),
    "changed_contacts": N_("Changed customers"),
    "groups": N_("Customer groups"),
    "behaviour": N_("Contact statistics"),
    "group_stats": N_("Group statistics"),
    "done": N_("Done"),
}

router = APIRouter(include_in_schema=False)


def _context(session: SessionDep, viewer: Viewer, error: str | None = None) -> dict[str, Any]:
    runs = service.list_runs(session)
    config = load_app(session)
    return {
        "runs": runs,
        "any_running": any(r.status is SyncStatus.running for r in runs),
        "resumable": service.resumable_run(session, utcnow()),
        "configured": config is not None and config.enabled,
        "can_start": viewer.actor.role in service.SYNC_ROLES,
        "error": error,
        "KIND_LABELS": KIND_LABELS,
        "STATUS_LABELS": STATUS_LABELS,
        "STAGE_LABELS": STAGE_LABELS,
    }


@router.get("/wecom/sync", response_class=HTMLResponse)
def sync_page(request: Request, session: SessionDep, viewer: SyncViewer) -> HTMLResponse:
    """The latest runs, their stage, progress, API calls and counts."""
    return render(request, PAGE, _context(session, viewer))


@router.get("/wecom/sync/runs", response_class=HTMLResponse)
def sync_runs_fragment(request: Request, session: SessionDep, viewer: SyncViewer) -> HTMLResponse:
    """The runs table alone (polled every 2 s while a run is going)."""
    return render(request, PAGE, _context(session, viewer), fragment="runs")


@router.post("/wecom/sync", response_model=None)
async def start_sync(
    request: Request, background: BackgroundTasks, session: SessionDep, viewer: SyncViewer
) -> Response:
    """Start a run (kind full/incremental) or resume the interrupted one; it runs after the response."""
    form = await request.form()
    kind = str(form.get("kind") or "incremental")
    try:
        run = service.start_from_console(session, viewer.actor, kind, resume=form.get("resume") == "1")
    except SiyuError as exc:
        session.rollback()
        return render(request, PAGE, _context(session, viewer, exc.message), status_code=exc.status_code)
    session.commit()
    background.add_task(service.run_in_background, request.app.state.sessions, run.id)
    return RedirectResponse("/wecom/sync", status_code=303)
