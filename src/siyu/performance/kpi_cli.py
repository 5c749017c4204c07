"""`siyu kpi seed|show|stage` and `siyu targets assign|list`: thin edges over the KPI and target services."""

from __future__ import annotations

from datetime import date

import typer

from siyu.db.engine import unit_of_work
from siyu.errors import Invalid

kpi_app = typer.Typer(help="KPI sets by role × stage, and the brand stage.", no_args_is_help=True)
targets_app = typer.Typer(help="Targets with tiers.", no_args_is_help=True)


def _day(value: str | None, where: str) -> date:
    from siyu.db.types import utcnow
    from siyu.timeutil import local_date

    if not value:
        return local_date(utcnow())
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None


@kpi_app.command("seed")
def seed_command(
    effective_from: str = typer.Option("2020-01-01", help="first day the seeded versions are in force"),
) -> None:
    """Install the KPI sets taken from the articles for every role × stage that has none yet."""
    from siyu.org.permissions import SYSTEM_ACTOR
    from siyu.performance.kpi_service import install_seed

    with unit_of_work() as session:
        written = install_seed(session, SYSTEM_ACTOR, _day(effective_from, "--effective-from"))
    typer.echo(f"KPI sets seeded: {written} new versions")


@kpi_app.command("show")
def show_command(
    day: str | None = typer.Option(None, help="YYYY-MM-DD (default today, brand-local)"),
) -> None:
    """Print the stage on a day and every role's KPI set in force then."""
    from siyu.performance.kpi_service import sets_in_force, stage_on

    chosen = _day(day, "--day")
    with unit_of_work() as session:
        stage = stage_on(session, chosen)
        typer.echo(f"{chosen.isoformat()}: stage {stage.value}")
        for role, kpi_set in sets_in_force(session, chosen, stage).items():
            items = ", ".join(f"{i.metric_code} {i.weight}%" for i in kpi_set.items)
            typer.echo(f"  {role} v{kpi_set.version} (from {kpi_set.effective_from.isoformat()}): {items}")


@kpi_app.command("stage")
def stage_command(
    stage: str = typer.Argument(..., help="launch | growth | steady"),
    effective_from: str | None = typer.Option(None, help="YYYY-MM-DD (default today)"),
    note: str | None = typer.Option(None),
) -> None:
    """Record a stage change (audited as the system account)."""
    from siyu.org.permissions import SYSTEM_ACTOR
    from siyu.performance.kpi_service import set_stage

    day = _day(effective_from, "--effective-from")
    with unit_of_work() as session:
        set_stage(session, SYSTEM_ACTOR, stage, day, note)
    typer.echo(f"stage {stage} from {day.isoformat()}")


@targets_app.command("assign")
def assign_command(
    unit: str = typer.Option(..., help="org unit code"),
    metric: str = typer.Option(..., help="catalog metric code"),
    value: float = typer.Option(..., help="target in the metric's unit (fen for money, 0..1 for rates)"),
    period: str = typer.Option("month", help="day | week | month | quarter"),
    day: str | None = typer.Option(None, help="a day inside the period (default today)"),
    exceed: int = typer.Option(120, help="exceeded at ≥ this % of the target"),
    role: str | None = typer.Option(None, help="only staff with this role code"),
    new_business: bool = typer.Option(False, help="no penalty when not reached"),
) -> None:
    """Give every active staff member of a unit the same target (existing ones are kept)."""
    from siyu.org import repository as org_repo
    from siyu.org.permissions import SYSTEM_ACTOR
    from siyu.performance.targets_service import TargetTerms, assign_to_unit_staff, make_period

    terms = TargetTerms(metric, make_period(period, _day(day, "--day")), value, exceed, None, new_business)
    with unit_of_work() as session:
        found = org_repo.get_unit_by_code(session, SYSTEM_ACTOR, unit)
        if found is None:
            raise Invalid(f"--unit: org unit {unit!r} does not exist")
        result = assign_to_unit_staff(session, SYSTEM_ACTOR, found.id, terms, role)
    typer.echo(f"{result.created} targets created, {len(result.skipped)} staff already had one")


@targets_app.command("list")
def list_command(
    day: str | None = typer.Option(None, help="targets of the month containing this day"),
) -> None:
    """Print every target of a month with actual, %, expected-by-today and tier."""
    from siyu.org.permissions import SYSTEM_ACTOR
    from siyu.performance.contract import Period
    from siyu.performance.target_progress import progress_many
    from siyu.performance.target_repository import TargetFilter, list_targets

    today = _day(None, "today")
    month = Period.month(_day(day, "--day"))
    with unit_of_work() as session:
        targets = list_targets(session, SYSTEM_ACTOR, TargetFilter(month.first, month.last), limit=100_000)
        for p in progress_many(session, targets, today):
            t = p.target
            pct = "—" if p.percent is None else f"{p.percent:.1f}%"
            typer.echo(
                f"{t.id}\t{t.subject_kind.value}:{t.subject_id}\t{t.metric_code}\t{t.first_day}..{t.last_day}\t"
                f"target {t.target_value:.12g}\tactual {p.actual}\t{pct}\texpected {p.expected:.2f}\t"
                f"{p.tier.value if p.tier else '—'}"
            )
