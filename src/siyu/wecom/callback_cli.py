"""`siyu wecom callbacks`: inbox counts, and processing pending callbacks now (the worker does it every 30 s)."""

from __future__ import annotations

import typer


def callbacks_command(
    process: bool = typer.Option(
        False, "--process", help="process pending events now, ignoring the grace period"
    ),
    limit: int = typer.Option(500, "--limit"),
) -> None:
    """Print how many stored callbacks are pending/done/failed/ignored; optionally process pending ones."""
    from datetime import timedelta

    from siyu.db.engine import unit_of_work
    from siyu.db.types import utcnow
    from siyu.wecom.callback_service import WORKER_GRACE, inbox_counts, process_pending

    with unit_of_work() as session:
        if process:
            counts = process_pending(session, utcnow() + WORKER_GRACE + timedelta(seconds=1), limit)
            typer.echo(" ".join(f"{k}={v}" for k, v in counts.items()))
        typer.echo(" ".join(f"{k}={v}" for k, v in inbox_counts(session).items()))


def register(app: typer.Typer) -> None:
    """Add `callbacks` to the `siyu wecom` app."""
    app.command("callbacks")(callbacks_command)
