"""`siyu journeys experiments list|report ID`: the same service functions as the API, as the system account."""

from __future__ import annotations

import typer

from siyu.db.engine import unit_of_work
from siyu.journeys import experiment_service as service
from siyu.journeys.experiment_report import experiment_report
from siyu.org.permissions import SYSTEM_ACTOR

experiments_app = typer.Typer(help="A/B experiments of script variants.", no_args_is_help=True)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


@experiments_app.command("list")
def list_command() -> None:
    """Experiments: id, status, metric, assigned customers, planned sample per arm, name."""
    with unit_of_work() as session:
        for e in service.list_experiments(session, SYSTEM_ACTOR):
            typer.echo(
                f"{e.id}\t{e.status.value}\t{e.metric.value}\tassigned={e.assigned}\t"
                f"n/arm={e.min_sample_per_arm}\t{e.name}"
            )


@experiments_app.command("report")
def report_command(
    experiment_id: int,
    as_json: bool = typer.Option(False, "--json", help="the full report as JSON"),
) -> None:
    """Per-arm recipients, mature, successes, rate with interval, p-value vs control, and the verdict."""
    with unit_of_work() as session:
        report = experiment_report(session, SYSTEM_ACTOR, experiment_id)
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
        return
    e = report.experiment
    typer.echo(
        f"{e.name} ({e.status.value}), metric {e.metric.value}, horizon {e.horizon_hours} h, n/arm {e.min_sample_per_arm}"
    )
    typer.echo("arm\trecipients\tmature\tsuccesses\trate\tinterval\tp\tplanned")
    for a in report.arms:
        interval = f"[{_pct(a.rate.low)}, {_pct(a.rate.high)}]"
        p = "—" if a.p_value is None else f"{a.p_value:.4f}"
        typer.echo(
            f"{a.label}\t{a.recipients}\t{a.mature}\t{a.successes}\t{_pct(a.rate.value)}\t{interval}\t{p}\t"
            f"{a.planned}/{e.min_sample_per_arm}"
        )
    typer.echo(f"verdict: {report.verdict}")
    for r in report.planned_results:
        typer.echo(
            f"  {r['label']} vs control: z={float(r['z']):.3f} p={float(r['p_value']):.4f} holm={float(r['p_adjusted']):.4f}"
        )
