"""The unit of work of an import, shared by the CLI, the API and the benchmark.

The job row is written in its own transaction first, so a run that fails and rolls back still
leaves its record and error report; on success the job is completed in the import's own
transaction, so counts and data commit together.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.db.types import utcnow
from siyu.errors import SiyuError
from siyu.imports.context import ImportOptions, Progress
from siyu.imports.report import ImportFailed, ImportOutcome
from siyu.imports.service import run_import
from siyu.models import AuditLog, ImportJob, ImportKind, ImportStatus
from siyu.reports.rollups import refresh_rollups


@dataclass
class ImportRun:
    """A finished import: its job record and, when it ran to the end, the outcome."""

    job: ImportJob
    outcome: ImportOutcome | None


def file_sha256(stream: BinaryIO) -> str:
    """Hex SHA-256 of the whole stream (recorded on the job to spot re-imports of one file)."""
    stream.seek(0)
    digest = hashlib.sha256()
    while chunk := stream.read(1 << 20):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


def _side_session(session: Session) -> Session:
    return Session(bind=session.get_bind(), expire_on_commit=False, autoflush=False)


def _open_job(session: Session, kind: ImportKind, filename: str, sha: str, options: ImportOptions) -> int:
    with _side_session(session) as side:
        job = ImportJob(
            kind=kind.value,
            filename=filename[:255],
            file_sha256=sha,
            status=ImportStatus.running.value,
            skip_invalid=options.skip_invalid,
            account_id=options.account_id,
            mapping=options.mapping or None,
        )
        side.add(job)
        side.commit()
        return job.id


def _fill(job: ImportJob, outcome: ImportOutcome) -> None:
    counts = outcome.counts
    job.total_rows = counts.total_rows
    job.inserted = counts.inserted
    job.updated = counts.updated
    job.unchanged = counts.unchanged
    job.rejected = counts.rejected
    job.mapping = outcome.mapping
    job.errors = outcome.report.errors or None


def _fail_job(session: Session, job_id: int, exc: BaseException) -> ImportJob:
    with _side_session(session) as side:
        job = side.get_one(ImportJob, job_id)
        job.status = ImportStatus.failed.value
        job.finished_at = utcnow()
        if isinstance(exc, ImportFailed):
            _fill(job, exc.outcome)
            job.inserted = job.updated = job.unchanged = 0
            job.rejected = exc.outcome.counts.rejected
            job.message = exc.message
        elif isinstance(exc, SiyuError):
            job.errors = exc.details if isinstance(exc.details, list) else None
            job.message = exc.message
        else:
            job.message = f"internal error: {type(exc).__name__}: {exc}"[:2000]
        side.commit()
        return job


def execute_import(
    session: Session,
    kind: ImportKind,
    stream: BinaryIO,
    filename: str,
    options: ImportOptions,
    progress: Progress | None = None,
) -> ImportRun:
    """Run an import as one unit of work and record it as an ImportJob; re-raises on failure."""
    job_id = _open_job(session, kind, filename, file_sha256(stream), options)
    try:
        outcome = run_import(session, kind, stream, filename, options, progress)
        # The overview's rollups take in the new rows in the same transaction (only the dirty days).
        refresh_rollups(session)
        job = session.execute(select(ImportJob).where(ImportJob.id == job_id)).scalar_one()
        _fill(job, outcome)
        job.status = ImportStatus.succeeded.value
        job.message = outcome.message()
        job.finished_at = utcnow()
        # The import is a write like any other: audited in the same transaction as its data.
        session.add(
            AuditLog(
                account_id=options.account_id,
                action=f"import.{kind.value}",
                target_type="import_job",
                target_id=job_id,
                detail={
                    "filename": filename,
                    "inserted": job.inserted,
                    "updated": job.updated,
                    "unchanged": job.unchanged,
                    "rejected": job.rejected,
                },
                at=job.finished_at,
            )
        )
        session.flush()
        session.commit()
    except BaseException as exc:
        session.rollback()
        _fail_job(session, job_id, exc)
        if isinstance(exc, ImportFailed):
            exc.job_id = job_id
        if isinstance(exc, SiyuError):
            exc.message = f"import job {job_id}: {exc.message}"
            exc.args = (exc.message,)
        raise
    return ImportRun(job=job, outcome=outcome)


def get_job(session: Session, job_id: int) -> ImportJob | None:
    """The import job with this id, if any."""
    return session.get(ImportJob, job_id)
