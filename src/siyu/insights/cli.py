"""`siyu insights refresh | runs | settings show | settings set FILE.json`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import typer

from siyu.audit import audit
from siyu.db.engine import unit_of_work
from siyu.errors import Invalid
from siyu.insights.refresh import default_as_of, refresh_insights
from siyu.insights.service import record_failed_run, run_history
from siyu.insights.settings import load_settings, parse_settings, save_settings
from siyu.models.insights import InsightRun
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.timeutil import brand_zone

insights_app = typer.Typer(
    help="Customer insights: RFM, lifetime value, churn warnings.", no_args_is_help=True
)
settings_app = typer.Typer(help="The versioned insights settings.", no_args_is_help=True)
insights_app.add_typer(settings_app, name="settings")


def _day(value: str | None) -> date:
    if value is None:
        from siyu.db.types import utcnow

        return default_as_of(utcnow(), brand_zone())
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"--as-of {value!r} is not a date like 2026-11-01") from None


def run_summary(run: InsightRun) -> list[str]:
    """Lines describing a finished run: customers, models, counts, timings."""
    figures: dict[str, Any] = run.figures or {}
    models: dict[str, Any] = run.models or {}
    lines = [
        f"run {run.id} as of {run.as_of.isoformat()}: {run.status}"
        f" (settings version {run.settings_version if run.settings_version is not None else 'default'})",
        f"customers scored {figures.get('customers', 0):,}, buyers {figures.get('buyers', 0):,}, "
        f"in the RFM window {figures.get('rfm_scored', 0):,}, by the models {figures.get('model_scored', 0):,}",
    ]
    for name in ("bgnbd", "pareto_nbd", "gamma_gamma"):
        fit = models.get(name)
        if not fit:
            continue
        params = ", ".join(
            f"{k}={v:.4g}"
            for k, v in fit.items()
            if k in {"r", "alpha", "a", "b", "s", "beta", "p", "q", "v"}
        )
        extra = (
            f"loglik {fit['loglik']:.1f}, converged {fit.get('converged')}"
            if "loglik" in fit
            else fit.get("error", "")
        )
        lines.append(f"{name}: {params}  ({extra})")
    for key in ("rfm", "lifecycle"):
        counts = figures.get(key) or {}
        lines.append(f"{key}: " + (", ".join(f"{k} {v:,}" for k, v in counts.items()) or "none"))
    lines.append(f"churn warnings opened: {figures.get('warnings_opened', 0):,}")
    timings = figures.get("timings") or {}
    lines.append("seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in timings.items()))
    if run.message:
        lines.append(f"note: {run.message}")
    return lines


@insights_app.command("refresh")
def refresh(
    as_of: str | None = typer.Option(
        None, "--as-of", help="the day the scores describe (default: yesterday)"
    ),
) -> None:
    """Recompute every customer's RFM, model scores, lifecycle stage and churn warnings."""
    day = _day(as_of)
    try:
        with unit_of_work() as session:
            run = refresh_insights(
                session, as_of=day, progress=lambda step: typer.echo(f"… {step}", err=True)
            )
            audit(
                session, SYSTEM_ACTOR, "insights.refresh", "insight_run", run.id, {"as_of": day.isoformat()}
            )
    except Exception as exc:
        with unit_of_work() as session:
            record_failed_run(session, day, f"{type(exc).__name__}: {exc}")
        raise
    for line in run_summary(run):
        typer.echo(line)


@insights_app.command("runs")
def runs(limit: int = typer.Option(20, help="how many runs, newest first")) -> None:
    """List the latest refresh runs."""
    with unit_of_work() as session:
        for run in run_history(session, limit):
            figures = run.figures or {}
            seconds = (figures.get("timings") or {}).get("total")
            typer.echo(
                f"{run.id}\t{run.as_of.isoformat()}\t{run.status}\t{figures.get('customers', '')}\t"
                f"{'' if seconds is None else f'{seconds:.1f}s'}\t{run.message or ''}"
            )


@settings_app.command("show")
def settings_show() -> None:
    """Print the settings in force as JSON."""
    with unit_of_work() as session:
        version, settings = load_settings(session)
    typer.echo(json.dumps({"version": version, "settings": settings.model_dump(mode="json")}, indent=2))


@settings_app.command("set")
def settings_set(
    file: Path = typer.Argument(..., help="a JSON settings document (as printed by `settings show`)"),
    note: str | None = typer.Option(None, help="why the settings change"),
) -> None:
    """Validate FILE.json and save it as the next settings version."""
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise Invalid(f"{file}: cannot read a JSON document ({exc})") from None
    if isinstance(document, dict) and "settings" in document and isinstance(document["settings"], dict):
        document = document["settings"]  # accept the output of `settings show` as is
    if not isinstance(document, dict):
        raise Invalid(f"{file}: the settings must be a JSON object")
    settings = parse_settings(document)
    with unit_of_work() as session:
        version = save_settings(session, SYSTEM_ACTOR, settings, note)
    typer.echo(f"insights settings version {version} saved")
