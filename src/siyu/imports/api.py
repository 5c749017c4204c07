"""JSON routes of the importers under /api/v1/imports: upload (runs synchronously), status, error report."""

from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response
from sqlalchemy import select

from siyu.api.deps import SessionDep, WriterDep
from siyu.api.schemas import DOCUMENT_BEARER, ERROR_RESPONSES, IdPath
from siyu.errors import Forbidden, NotFound
from siyu.imports.context import ImportOptions
from siyu.imports.mapping import parse_map
from siyu.imports.report import ERROR_CAP
from siyu.imports.runner import execute_import, get_job
from siyu.imports.schemas import ImportJobOut, ImportReportOut, RowError
from siyu.models import ImportJob, ImportKind
from siyu.org.permissions import Actor, DataScope

router = APIRouter(
    prefix="/imports", tags=["imports"], responses=ERROR_RESPONSES, dependencies=DOCUMENT_BEARER
)


def _visible_job(session: SessionDep, actor: Actor, job_id: int) -> ImportJob:
    job = get_job(session, job_id)
    # Jobs of other accounts are reported as missing to callers without the whole-brand scope.
    if job is None or (actor.scope is not DataScope.all and job.account_id != actor.account_id):
        raise NotFound(f"import job {job_id} does not exist")
    return job


@router.post("", response_model=ImportJobOut, status_code=201)
def upload(
    session: SessionDep,
    actor: WriterDep,
    kind: Annotated[ImportKind, Form(description="customers, orders or messages")],
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or GBK) or XLSX")],
    mapping: Annotated[
        str | None, Form(alias="map", description="extra header mapping: 'header=field,header=field'")
    ] = None,
    skip_invalid: Annotated[bool, Form(description="import the valid rows, report the rest")] = False,
    ignore_unknown: Annotated[bool, Form(description="skip columns the importer does not know")] = False,
    source: Annotated[
        str | None, Form(max_length=32, description="order source when the file has none")
    ] = None,
) -> ImportJob:
    """Run an import now; all-or-nothing unless skip_invalid. A failed run answers 422 with its job_id."""
    if actor.scope is not DataScope.all:
        raise Forbidden("imports write across the whole brand: they need data scope 'all'")
    options = ImportOptions(
        mapping=parse_map(mapping),
        skip_invalid=skip_invalid,
        ignore_unknown=ignore_unknown,
        account_id=actor.account_id,
    )
    if source:
        options.order_source = source.strip()
    # execute_import is the unit of work of an import: it commits the data with the job record.
    run = execute_import(session, kind, file.file, file.filename or "upload", options)
    return run.job


@router.get("", response_model=list[ImportJobOut])
def list_jobs(
    session: SessionDep,
    actor: WriterDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[int | None, Query(ge=1, description="only jobs with a smaller id (paging)")] = None,
) -> list[ImportJob]:
    """Recent import jobs, newest first."""
    query = select(ImportJob).order_by(ImportJob.id.desc()).limit(limit)
    if before is not None:
        query = query.where(ImportJob.id < before)
    if actor.scope is not DataScope.all:
        query = query.where(ImportJob.account_id == actor.account_id)
    return list(session.execute(query).scalars())


@router.get("/{job_id}", response_model=ImportJobOut)
def job_status(job_id: IdPath, session: SessionDep, actor: WriterDep) -> ImportJob:
    """Status and counts of one import job."""
    return _visible_job(session, actor, job_id)


@router.get(
    "/{job_id}/report", response_model=ImportReportOut, responses={200: {"content": {"text/csv": {}}}}
)
def job_report(
    job_id: IdPath,
    session: SessionDep,
    actor: WriterDep,
    format: Annotated[str, Query(pattern="^(json|csv)$", description="json (default) or csv")] = "json",
) -> ImportReportOut | Response:
    """The error report of an import job: row, column, value and reason of every problem listed."""
    job = _visible_job(session, actor, job_id)
    errors = [RowError.model_validate(e) for e in job.errors or []]
    if format == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["row", "column", "value", "reason"])
        for e in errors:
            writer.writerow(
                [
                    e.row if e.row is not None else "",
                    e.column or "",
                    "" if e.value is None else e.value,
                    e.reason,
                ]
            )
        return Response(
            content="\ufeff" + out.getvalue(),  # the BOM makes Excel read UTF-8
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="import-{job.id}-report.csv"'},
        )
    return ImportReportOut(
        job_id=job.id,
        status=job.status,
        rejected=job.rejected,
        listed=len(errors),
        truncated=len(errors) >= ERROR_CAP,
        message=job.message,
        errors=errors,
    )
