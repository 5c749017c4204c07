"""`siyu compliance`: ingestion, re-detection, behaviour detectors and retention from the command line."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from siyu.db.engine import session_factory
from siyu.errors import Invalid
from siyu.org.permissions import SYSTEM_ACTOR

compliance_app = typer.Typer(help="Chat compliance: ingest, detect, review and purge.", no_args_is_help=True)
_SHOWN_ERRORS = 20


def ingest_command(path: Path, detect: bool = True) -> None:
    """Ingest a JSONL chat-archive file and print counts and the first errors (shared with `siyu import messages`)."""
    from siyu.compliance.ingest import ingest_file

    if not path.is_file():
        raise Invalid(f"{path}: no such file")
    with session_factory()() as session:
        result = ingest_file(session, path, SYSTEM_ACTOR, detect=detect)
        session.commit()
    typer.echo(
        f"accepted {result.accepted}, duplicate {result.duplicate}, recalled {result.recalled}, "
        f"switch {result.switched}, rejected {result.rejected}; new incidents {result.incidents}"
    )
    err = Console(stderr=True, highlight=False)
    for e in result.errors[:_SHOWN_ERRORS]:
        err.print(f"  line {e.index + 1}, {e.field or 'record'}: {e.reason}")
    if len(result.errors) > _SHOWN_ERRORS:
        err.print(f"  … and {len(result.errors) - _SHOWN_ERRORS} more")


@compliance_app.command("ingest")
def ingest(
    file: Path = typer.Argument(..., help="JSONL file, one archive record per line (msgid, action, from, …)"),
    no_detect: bool = typer.Option(False, "--no-detect", help="store only; detect later with `rerun`"),
) -> None:
    """Ingest chat-archive records; idempotent by msgid; detection runs in the same transaction."""
    ingest_command(file, detect=not no_detect)


@compliance_app.command("rerun")
def rerun(
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
    chunk: int = typer.Option(5000, help="messages per committed chunk"),
) -> None:
    """Re-run detection over every stored message (resumes a run in progress), with a progress bar."""
    from siyu.compliance.incidents_store import get_engine
    from siyu.compliance.rerun import advance, fail, start_run

    with session_factory()() as session:
        run = start_run(session, SYSTEM_ACTOR)
        session.commit()
        engine = get_engine(session)
        bar = Progress(
            TextColumn("detecting"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
            disable=quiet,
        )
        with bar:
            task = bar.add_task("detect", total=run.total, completed=run.processed)
            try:
                while not advance(session, run, engine, chunk):
                    session.commit()
                    bar.update(task, completed=run.processed, total=run.total)
            except Exception as exc:
                session.rollback()
                fail(session, run, f"{type(exc).__name__}: {exc}")
                session.commit()
                raise
            session.commit()
        typer.echo(f"detection run {run.id}: {run.processed} messages, {run.incidents_found} new incidents")


@compliance_app.command("behaviour")
def behaviour(
    day: str | None = typer.Option(None, "--day", help="brand-local day YYYY-MM-DD (default yesterday)"),
    last: str | None = typer.Option(None, "--last", help="last day of a span starting at --day"),
) -> None:
    """Run the behaviour detectors (deletions, negative feedback, after hours, unanswered) over a day."""
    from siyu.compliance.behaviour import run_behaviour
    from siyu.db.types import utcnow
    from siyu.timeutil import brand_zone, local_date

    try:
        first = date.fromisoformat(day) if day else local_date(utcnow(), brand_zone()) - timedelta(days=1)
        final = date.fromisoformat(last) if last else first
    except ValueError as exc:
        raise Invalid(f"--day/--last: {exc}") from None
    with session_factory()() as session:
        out = run_behaviour(session, first, final, SYSTEM_ACTOR)
        session.commit()
    found = ", ".join(f"{k} {v}" for k, v in out.found.items()) or "behaviour category disabled"
    typer.echo(f"{first}..{final}: new incidents {found}")


@compliance_app.command("purge")
def purge(dry_run: bool = typer.Option(False, "--dry-run", help="count only, change nothing")) -> None:
    """Blank chat text older than SIYU_CHAT_RETENTION_DAYS (rows stay for metrics); audited."""
    from siyu.compliance.retention import purge as run_purge

    with session_factory()() as session:
        out = run_purge(session, SYSTEM_ACTOR, dry_run=dry_run)
        session.commit()
    if out.cutoff is None:
        typer.echo("retention is off (SIYU_CHAT_RETENTION_DAYS=0): nothing purged")
        return
    verb = "would blank" if dry_run else "blanked"
    typer.echo(
        f"{verb} {out.messages} message(s) and {out.incidents} incident text(s) before {out.cutoff:%Y-%m-%d %H:%M} UTC"
    )


# Other compliance modules register their commands onto compliance_app with one import line each below.
from siyu.compliance import rules_cli  # noqa: E402, F401  (C2: `siyu compliance rules …`)
