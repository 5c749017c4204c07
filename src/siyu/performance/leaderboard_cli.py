"""`siyu leaderboard …` and `siyu report daily`: thin edges over the leaderboard and daily-report services."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from siyu.db.engine import unit_of_work

leaderboard_app = typer.Typer(help="Live leaderboard counters.", no_args_is_help=True)
report_app = typer.Typer(help="Reports written to files.", no_args_is_help=True)


@leaderboard_app.command("rebuild")
def rebuild_command() -> None:
    """Recompute every leaderboard counter from orders, tasks and memberships."""
    from siyu.audit import audit
    from siyu.org.permissions import SYSTEM_ACTOR
    from siyu.performance.leaderboard import rebuild

    with unit_of_work() as session:
        rows = rebuild(session)
        audit(session, SYSTEM_ACTOR, "leaderboard.rebuild", None, None, {"counters": rows})
    typer.echo(f"leaderboard rebuilt: {rows} daily counters")


@leaderboard_app.command("apply")
def apply_command() -> None:
    """Fold the events written since the last run into the counters (the worker does this every 2 s)."""
    from siyu.performance.leaderboard import apply_new_events

    with unit_of_work() as session:
        result = apply_new_events(session)
    typer.echo(
        f"events {result.from_event_id + 1}..{result.to_event_id}: {result.events} read, "
        f"{result.counters_changed} counters changed"
    )


@report_app.command("daily")
def daily_command(
    day: str | None = typer.Option(None, help="business day YYYY-MM-DD (default yesterday, brand-local)"),
    out: Path = typer.Option(Path("reports/daily"), help="directory to write into"),
) -> None:
    """Write the daily report (XLSX + HTML) of every org unit for a business day."""
    from siyu.errors import Invalid
    from siyu.performance.daily_report_export import write_daily_reports

    chosen = None
    if day:
        try:
            chosen = date.fromisoformat(day)
        except ValueError:
            raise Invalid(f"--day: {day!r} is not a date (YYYY-MM-DD)") from None
    with unit_of_work() as session:
        written = write_daily_reports(session, chosen, out)
    for path in written:
        typer.echo(str(path))
    typer.echo(f"{len(written)} files written to {out}")
