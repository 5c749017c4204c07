"""`siyu journeys run-due`: run the journey engine by hand (one batch, or until nothing is due)."""

from __future__ import annotations

import json

import typer


def run_due_command(
    batch: int = typer.Option(
        2000, "--batch", min=1, max=50_000, help="step runs per batch (one transaction each)"
    ),
    until_empty: bool = typer.Option(False, "--until-empty", help="keep going until no step run is due"),
    budget: float = typer.Option(
        0.0, "--budget", min=0.0, help="with --until-empty: stop after this many seconds (0 = no limit)"
    ),
    worker: str | None = typer.Option(
        None, "--worker", help="name written on finished runs (default host:pid)"
    ),
) -> None:
    """Run due journey steps and print the counts as JSON (claimed = done + skipped + failed + retry)."""
    from siyu.journeys.jobs import run_until_empty

    totals = run_until_empty(
        batch_size=batch,
        budget_seconds=(budget or None) if until_empty else None,
        worker_name=worker,
        max_batches=None if until_empty else 1,
    )
    typer.echo(json.dumps(totals, ensure_ascii=False))


def register(app: typer.Typer) -> None:
    """Add run-due to the `siyu journeys` app."""
    app.command("run-due")(run_due_command)
