"""`siyu reports refresh [--full]`: bring the overview's daily rollups up to date."""

from __future__ import annotations

import typer

from siyu.audit import audit
from siyu.db.engine import unit_of_work
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.reports.rollups import refresh_rollups

reports_app = typer.Typer(help="Dashboard rollups.", no_args_is_help=True)


@reports_app.command("refresh")
def refresh(
    full: bool = typer.Option(False, "--full", help="rebuild every day instead of the dirty ones"),
) -> None:
    """Recompute the rollups the overview reads: only the days touched since the last run, or all."""
    with unit_of_work() as session:
        stats = refresh_rollups(session, full=full)
        audit(
            session,
            SYSTEM_ACTOR,
            "reports.refresh",
            detail={"mode": stats.mode, "last_event_id": stats.last_event_id},
        )
    rows = ", ".join(f"{name} {count}" for name, count in stats.rows.items()) or "nothing changed"
    typer.echo(
        f"{stats.mode} refresh: {stats.events} new events, {stats.dirty_customers} dirty customers, "
        f"{stats.dirty_days} days recomputed; rows written: {rows}; {stats.seconds:.2f} s"
    )
