"""The 导入 page: upload a file, preview its mapping, validate it (a dry run), run it; recent jobs and reports.

The file is re-uploaded with each step (the browser keeps it in the form), so nothing is stored between steps.
"""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.errors import Invalid, NotFound, SiyuError
from siyu.imports.context import ImportOptions
from siyu.imports.mapping import parse_map
from siyu.imports.report import ImportFailed, ImportOutcome
from siyu.imports.runner import execute_import, get_job
from siyu.imports.service import preview, run_import
from siyu.models import ImportJob, ImportKind
from siyu.org.permissions import WRITE_ROLES, DataScope
from siyu.web.access import access_for
from siyu.web.auth import SessionDep, Viewer, require_access
from siyu.web.i18n import N_
from siyu.web.render import register_nav, render

MAX_UPLOAD = 50 << 20
RECENT_JOBS = 20
# Mapping states of the preview; kinds and job statuses go through the `label` filter.
LABELS = {
    "mapped": N_("mapped"),
    "ignored": N_("ignored"),
    "unknown": N_("unknown"),
    "duplicate": N_("duplicate"),
}


# Imports write across the whole brand: a writing role with data scope 'all'.
IMPORT_ACCESS = access_for(
    WRITE_ROLES, [DataScope.all], N_("Imports need a writing role with data scope 'all'.")
)
ImportViewer = Annotated[Viewer, Depends(require_access(IMPORT_ACCESS))]
KindField = Annotated[ImportKind, Form()]
Upload = Annotated[UploadFile, File()]
Flag = Annotated[str, Form(max_length=8)]
MapField = Annotated[str, Form(alias="map", max_length=4000)]

router = APIRouter(include_in_schema=False)
register_nav("imports", N_("Import"), "/imports", order=40, access=IMPORT_ACCESS)


def _jobs(session: Session) -> list[ImportJob]:
    return list(session.execute(select(ImportJob).order_by(ImportJob.id.desc()).limit(RECENT_JOBS)).scalars())


def _page(request: Request, session: Session, result: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    context = {"kinds": list(ImportKind), "labels": LABELS, "jobs": _jobs(session), **result}
    return render(request, "imports/imports.html", context, fragment="import_work", status_code=status_code)


def _options(viewer: Viewer, mapping: str, skip_invalid: str, ignore_unknown: str) -> ImportOptions:
    return ImportOptions(
        mapping=parse_map(mapping),
        skip_invalid=bool(skip_invalid),
        ignore_unknown=bool(ignore_unknown),
        account_id=viewer.account_id,
    )


def _checked(file: UploadFile) -> str:
    if file.size is not None and file.size > MAX_UPLOAD:
        raise Invalid(f"file: larger than {MAX_UPLOAD >> 20} MiB")
    if not file.filename:
        raise Invalid("file: choose a file to import")
    return file.filename


def _failure(step: str, exc: SiyuError) -> dict[str, Any]:
    details = exc.details if isinstance(exc.details, list) else []
    return {"step": step, "ok": False, "message": exc.message, "errors": details}


@router.get("/imports", response_class=HTMLResponse)
def import_page(request: Request, session: SessionDep, _viewer: ImportViewer) -> HTMLResponse:
    """The import form and the recent import jobs."""
    return render(
        request,
        "imports/imports.html",
        {"kinds": list(ImportKind), "labels": LABELS, "jobs": _jobs(session), "step": None},
        fragment="import_body",
    )


@router.post("/imports/preview", response_class=HTMLResponse)
def preview_file(
    request: Request,
    session: SessionDep,
    viewer: ImportViewer,
    kind: KindField,
    file: Upload,
    skip_invalid: Flag = "",
    ignore_unknown: Flag = "",
    mapping: MapField = "",
) -> HTMLResponse:
    """Step 1: the detected encoding, header → field mapping and the first rows; writes nothing."""
    try:
        filename = _checked(file)
        options = _options(viewer, mapping, skip_invalid, ignore_unknown)
        plan = preview(kind, file.file, filename, options)
    except SiyuError as exc:
        return _page(request, session, _failure("preview", exc), 422)
    result = {"step": "preview", "ok": not plan.missing, "kind": kind, "filename": filename, "plan": plan}
    return _page(request, session, result)


def _dry_run(session: Session, kind: ImportKind, file: UploadFile, options: ImportOptions) -> ImportOutcome:
    try:
        return run_import(session, kind, file.file, file.filename or "upload", options)
    except ImportFailed as exc:
        return exc.outcome
    finally:
        session.rollback()  # a validation never keeps anything


@router.post("/imports/validate", response_class=HTMLResponse)
def validate_file(
    request: Request,
    session: SessionDep,
    viewer: ImportViewer,
    kind: KindField,
    file: Upload,
    skip_invalid: Flag = "",
    ignore_unknown: Flag = "",
    mapping: MapField = "",
) -> HTMLResponse:
    """Step 2: a dry run of the whole file that always rolls back, with its error report."""
    try:
        _checked(file)
        outcome = _dry_run(session, kind, file, _options(viewer, mapping, skip_invalid, ignore_unknown))
    except SiyuError as exc:
        return _page(request, session, _failure("validate", exc), 422)
    report = outcome.report
    result = {
        "step": "validate",
        "ok": not report,
        "counts": outcome.counts,
        "message": report.summary() if report else outcome.message(),
        "errors": report.errors,
    }
    return _page(request, session, result, 200 if not report else 422)


@router.post("/imports/run", response_class=HTMLResponse)
def run_file(
    request: Request,
    session: SessionDep,
    viewer: ImportViewer,
    kind: KindField,
    file: Upload,
    skip_invalid: Flag = "",
    ignore_unknown: Flag = "",
    mapping: MapField = "",
) -> HTMLResponse:
    """Step 3: import the file (execute_import owns the transaction) and show the job's counts and report."""
    try:
        filename = _checked(file)
        options = _options(viewer, mapping, skip_invalid, ignore_unknown)
        # execute_import is the unit of work of an import: it commits the data with the job record.
        job = execute_import(session, kind, file.file, filename, options).job
    except ImportFailed as exc:
        failed = get_job(session, exc.job_id) if exc.job_id is not None else None
        if failed is None:
            return _page(request, session, _failure("run", exc), 422)
        return _page(request, session, _job_result(failed), 422)
    except SiyuError as exc:
        return _page(request, session, _failure("run", exc), 422)
    return _page(request, session, _job_result(job))


def _job_result(job: ImportJob) -> dict[str, Any]:
    return {
        "step": "run",
        "ok": job.status == "succeeded",
        "job": job,
        "message": job.message,
        "errors": job.errors or [],
    }


@router.get("/imports/{job_id}/report.csv")
def job_report(session: SessionDep, _viewer: ImportViewer, job_id: int) -> Response:
    """The error report of an import job as CSV (row, column, value, reason)."""
    job = get_job(session, job_id)
    if job is None:
        raise NotFound(f"import job {job_id} does not exist")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "column", "value", "reason"])
    for e in job.errors or []:
        row = e.get("row")
        value = e.get("value")
        writer.writerow(
            [
                "" if row is None else row,
                e.get("column") or "",
                "" if value is None else value,
                e.get("reason") or "",
            ]
        )
    return Response(
        content="\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="import-{job.id}-report.csv"'},
    )
