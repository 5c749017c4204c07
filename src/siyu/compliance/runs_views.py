"""The re-detection page: runs with a progress bar (polled every 2 s while running) and the start button."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from siyu.compliance import rerun
from siyu.compliance.access import RUNS
from siyu.compliance.review_service import reviewer_names
from siyu.compliance.views import tabs
from siyu.models.compliance import DetectionRun, RunStatus
from siyu.web.auth import SessionDep, Viewer, require_access
from siyu.web.i18n import N_
from siyu.web.render import gettext_for, render

router = APIRouter(include_in_schema=False)
RunsViewer = Annotated[Viewer, Depends(require_access(RUNS))]
PAGE = "compliance/runs.html"
SHOWN = 20
RUN_LABELS = {
    RunStatus.running: N_("Running"),
    RunStatus.succeeded: N_("Finished"),
    RunStatus.failed: N_("Failed"),
}


def percent(run: DetectionRun) -> int:
    """Progress in whole percent (100 once finished)."""
    if run.status is not RunStatus.running:
        return 100
    return min(99, run.processed * 100 // run.total) if run.total else 0


def _context(session: Any, viewer: Viewer) -> dict[str, Any]:
    runs = session.scalars(select(DetectionRun).order_by(DetectionRun.id.desc()).limit(SHOWN)).all()
    starters = reviewer_names(session, {r.started_by_account_id for r in runs if r.started_by_account_id})
    return {
        "tabs": tabs(viewer),
        "tab": "runs",
        "runs": runs,
        "starters": starters,
        "running": any(r.status is RunStatus.running for r in runs),
        "percent": percent,
        "RUN_LABELS": RUN_LABELS,
    }


@router.get("/compliance/runs", response_class=HTMLResponse)
def runs_page(request: Request, session: SessionDep, viewer: RunsViewer) -> HTMLResponse:
    """Recent re-detection runs, newest first."""
    return render(request, PAGE, _context(session, viewer))


@router.get("/compliance/runs/{run_id}/row", response_class=HTMLResponse)
def run_row(request: Request, session: SessionDep, viewer: RunsViewer, run_id: int) -> HTMLResponse:
    """One run's row (what the progress bar polls)."""
    run = rerun.get_run(session, run_id)
    starters = reviewer_names(session, {run.started_by_account_id} if run.started_by_account_id else set())
    context = {"r": run, "starters": starters, "percent": percent, "RUN_LABELS": RUN_LABELS}
    return render(request, "compliance/_run_row.html", context, fragment=None)


@router.post("/compliance/runs", response_class=HTMLResponse)
def start_run(request: Request, session: SessionDep, viewer: RunsViewer) -> HTMLResponse:
    """Start a re-detection over all stored messages (or show the one already running); the worker advances it."""
    run = rerun.start_run(session, viewer.actor)
    session.commit()
    _ = gettext_for(request)
    note = _("Re-detection #%(id)s is running over %(total)s messages.") % {"id": run.id, "total": run.total}
    return render(request, PAGE, _context(session, viewer), fragment="run_table", toasts=[("success", note)])
