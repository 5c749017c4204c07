"""`siyu import customers|orders|messages FILE`, plus `siyu import show JOB` for a past run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from siyu.db.engine import session_factory
from siyu.errors import SiyuError
from siyu.imports.context import ImportOptions
from siyu.imports.mapping import parse_map
from siyu.imports.readers import open_path
from siyu.imports.report import ImportFailed, write_rejects
from siyu.imports.runner import execute_import, get_job
from siyu.models import ImportKind

import_app = typer.Typer(
    help="Import CSV/XLSX files (see docs/import.md for the columns).", no_args_is_help=True
)
_SHOWN_ERRORS = 20

MapOption = typer.Option(
    None, "--map", help="Extra header mapping: 'header=field,header=field' ('header=-' skips a column)."
)
SkipOption = typer.Option(
    False, "--skip-invalid", help="Import the valid rows and write the others to a rejects file."
)
IgnoreOption = typer.Option(
    False, "--ignore-unknown", help="Skip columns the importer does not know instead of failing."
)
RejectsOption = typer.Option(
    None, "--rejects", help="Where to write rejected rows (default: FILE.rejects.csv next to FILE)."
)
QuietOption = typer.Option(False, "--quiet", "-q", help="No progress bar.")


@contextmanager
def _progress_bar(enabled: bool) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    console = Console(stderr=True)
    bar = Progress(
        TextColumn("{task.description:<9}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    tasks: dict[str, TaskID] = {}

    def report(phase: str, done: int, total: int | None) -> None:
        task = tasks.get(phase)
        if task is None:
            task = tasks[phase] = bar.add_task(phase, total=total)
        bar.update(task, completed=done, total=total)

    with bar:
        yield report


def _print_errors(details: Any, total: int | None = None) -> None:
    if not isinstance(details, list) or not details:
        return
    err = Console(stderr=True, highlight=False)
    for item in details[:_SHOWN_ERRORS]:
        if isinstance(item, dict):
            where = f"row {item.get('row')}" if item.get("row") is not None else "file"
            column = f", column {item['column']}" if item.get("column") else ""
            value = f", value {item['value']!r}" if item.get("value") is not None else ""
            err.print(f"  {where}{column}{value}: {item.get('reason')}")
    more = (total or len(details)) - min(len(details), _SHOWN_ERRORS)
    if more > 0:
        err.print(f"  … and {more} more (siyu import show <job id>)")


def _run(
    kind: ImportKind,
    path: Path,
    mapping: str | None,
    skip_invalid: bool,
    ignore_unknown: bool,
    rejects: Path | None,
    quiet: bool,
    order_source: str | None = None,
) -> None:
    try:
        options = ImportOptions(
            mapping=parse_map(mapping), skip_invalid=skip_invalid, ignore_unknown=ignore_unknown
        )
        if order_source:
            options.order_source = order_source
        with open_path(path) as stream, session_factory()() as session, _progress_bar(not quiet) as progress:
            run = execute_import(session, kind, stream, path.name, options, progress)
            job, outcome = run.job, run.outcome
            typer.echo(f"import job {job.id} {job.status}: {job.message}")
            if outcome is not None and outcome.report.reasons:
                target = rejects or path.with_name(path.name + ".rejects.csv")
                written = write_rejects(stream, path.name, outcome.report.reasons, target)
                typer.echo(f"{written} rejected row(s) written to {target}")
                _print_errors(outcome.report.errors, outcome.report.total)
    except ImportFailed as exc:
        typer.secho(f"error: {exc.message}", err=True, fg=typer.colors.RED)
        _print_errors(exc.details, exc.outcome.report.total)
        raise typer.Exit(1) from exc
    except SiyuError as exc:
        typer.secho(f"error: {exc.message}", err=True, fg=typer.colors.RED)
        _print_errors(exc.details)
        raise typer.Exit(1) from exc


@import_app.command("customers")
def import_customers(
    file: Path = typer.Argument(..., help="CSV or XLSX file of customers"),
    mapping: str | None = MapOption,
    skip_invalid: bool = SkipOption,
    ignore_unknown: bool = IgnoreOption,
    rejects: Path | None = RejectsOption,
    quiet: bool = QuietOption,
) -> None:
    """Import customers: identities, profile, owner, tags and channel memberships."""
    _run(ImportKind.customers, file, mapping, skip_invalid, ignore_unknown, rejects, quiet)


@import_app.command("orders")
def import_orders(
    file: Path = typer.Argument(..., help="CSV or XLSX file of orders or order lines"),
    mapping: str | None = MapOption,
    skip_invalid: bool = SkipOption,
    ignore_unknown: bool = IgnoreOption,
    rejects: Path | None = RejectsOption,
    quiet: bool = QuietOption,
    source: str | None = typer.Option(
        None, "--source", help="Order source when the file has no source column (default 'import')."
    ),
) -> None:
    """Import orders (one row per order or per line); re-importing a file changes nothing."""
    _run(ImportKind.orders, file, mapping, skip_invalid, ignore_unknown, rejects, quiet, source)


@import_app.command("messages")
def import_messages(
    file: Path = typer.Argument(
        ...,
        help="CSV/XLSX chat archive (msgid, from, tolist, roomid, msgtime, msgtype, content) or archive JSONL",
    ),
    mapping: str | None = MapOption,
    skip_invalid: bool = SkipOption,
    ignore_unknown: bool = IgnoreOption,
    rejects: Path | None = RejectsOption,
    quiet: bool = QuietOption,
) -> None:
    """Import archived chat messages; re-importing a file changes nothing (.jsonl: `siyu compliance ingest`)."""
    if file.suffix.lower() == ".jsonl":
        # Archive-shape JSONL goes through the compliance ingest, which also detects and handles recalls.
        from siyu.compliance.cli import ingest_command

        try:
            ingest_command(file)
        except SiyuError as exc:
            typer.secho(f"error: {exc.message}", err=True, fg=typer.colors.RED)
            raise typer.Exit(1) from exc
        return
    _run(ImportKind.messages, file, mapping, skip_invalid, ignore_unknown, rejects, quiet)


@import_app.command("show")
def show_job(job_id: int = typer.Argument(..., help="import job id")) -> None:
    """Show an import job: status, counts and its error report."""
    with session_factory()() as session:
        job = get_job(session, job_id)
        if job is None:
            typer.secho(f"error: no import job {job_id}", err=True, fg=typer.colors.RED)
            raise typer.Exit(1)
        typer.echo(f"import job {job.id} ({job.kind}, {job.filename}): {job.status}")
        typer.echo(
            f"rows {job.total_rows}: inserted {job.inserted}, updated {job.updated}, "
            f"unchanged {job.unchanged}, rejected {job.rejected}"
        )
        if job.message:
            typer.echo(job.message)
        for item in job.errors or []:
            where = f"row {item.get('row')}" if item.get("row") is not None else "file"
            column = f", column {item['column']}" if item.get("column") else ""
            value = f", value {item['value']!r}" if item.get("value") is not None else ""
            typer.echo(f"  {where}{column}{value}: {item.get('reason')}")
