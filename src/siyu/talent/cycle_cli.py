"""`siyu talent cycles list|open|close|export`: the cycle service as the system account (audited as such)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import typer

from siyu.db.engine import unit_of_work
from siyu.errors import Invalid, NotFound
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.talent import cycle_repository as repo
from siyu.talent import cycle_service as service
from siyu.talent.cycle_export import export_cycle
from siyu.web.i18n import translations

cycles_app = typer.Typer(
    help="Assessment cycles (人才盘点): open, list, close, export.", no_args_is_help=True
)


def _day(value: str, where: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None


@cycles_app.command("list")
def list_command() -> None:
    """Every cycle: id, name, period, status, submitted / total."""
    with unit_of_work() as session:
        cycles = repo.list_cycles(session)
        progress = repo.cycle_progress(session, SYSTEM_ACTOR, [c.id for c in cycles])
        for c in cycles:
            p = progress[c.id]
            typer.echo(
                f"{c.id}\t{c.name}\t{c.first_day}..{c.last_day}\t{c.status.value}\t"
                f"{p['submitted']}/{p['submitted'] + p['draft']} submitted"
            )


@cycles_app.command("open")
def open_command(
    name: str = typer.Option(..., help="cycle name, e.g. '2026 Q3'"),
    first_day: str = typer.Option(..., "--from", help="first day of the evidence period (YYYY-MM-DD)"),
    last_day: str = typer.Option(..., "--to", help="last day of the evidence period (YYYY-MM-DD)"),
    promote_min: float = typer.Option(4.2, help="weighted score from which the outcome is 进 (promote)"),
    keep_min: float = typer.Option(3.4, help="… 留 (keep)"),
    transfer_min: float = typer.Option(2.6, help="… 转 (transfer); below it 退 (exit)"),
) -> None:
    """Open a cycle: one draft per active staff member holding a role, evidence computed."""
    thresholds = {"promote_min": promote_min, "keep_min": keep_min, "transfer_min": transfer_min}
    with unit_of_work() as session:
        cycle = service.open_cycle(
            session, SYSTEM_ACTOR, name, _day(first_day, "--from"), _day(last_day, "--to"), thresholds
        )
        total = repo.cycle_progress(session, SYSTEM_ACTOR, [cycle.id])[cycle.id]["draft"]
        typer.echo(f"cycle {cycle.id} {cycle.name!r}: {total} draft assessments")


@cycles_app.command("close")
def close_command(cycle_id: int) -> None:
    """Close a cycle (no more scoring)."""
    with unit_of_work() as session:
        cycle = service.close_cycle(session, SYSTEM_ACTOR, cycle_id)
        typer.echo(f"cycle {cycle.id} {cycle.name!r} closed")


@cycles_app.command("export")
def export_command(
    cycle_id: int,
    out: Path = typer.Option(..., "--out", help="file to write"),
    fmt: str = typer.Option("csv", "--format", help="csv or xlsx"),
    lang: str = typer.Option("zh", help="language of the labels (zh or en)"),
) -> None:
    """Write a cycle's assessments to a CSV or XLSX file (audited)."""
    with unit_of_work() as session:
        cycle = repo.get_cycle(session, cycle_id)
        if cycle is None:
            raise NotFound(f"assessment cycle {cycle_id} does not exist")
        data, count, _name = export_cycle(
            session,
            SYSTEM_ACTOR,
            cycle,
            repo.RowFilter(),
            fmt,
            translations(lang).gettext,
            repo.role_names(session, lang),
        )
        with data, out.open("wb") as target:
            shutil.copyfileobj(data, target)
    typer.echo(f"{count} rows written to {out}")
