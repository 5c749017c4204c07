"""`siyu talent roles list|show|jd`: thin edges over the role catalog and roles_service."""

from __future__ import annotations

import typer

from siyu.db.engine import unit_of_work

roles_app = typer.Typer(help="The role map (人才全景图).", no_args_is_help=True)


@roles_app.command("list")
def list_command(
    all_roles: bool = typer.Option(False, "--all", help="include deactivated roles"),
) -> None:
    """Print every role in force: code, position, stage from which it is needed, value stages, holders."""
    from siyu.org.permissions import SYSTEM_ACTOR
    from siyu.talent.roles_catalog import catalog
    from siyu.talent.roles_service import holder_counts

    with unit_of_work() as session:
        entries = catalog(session, include_inactive=all_roles)
        counts = holder_counts(session, SYSTEM_ACTOR, [e.code for e in entries])
        for e in entries:
            stages = "/".join(v.value for v in e.value_stages)
            flags = "" if e.active else " [inactive]"
            flags += "" if e.builtin else " [custom]"
            typer.echo(
                f"{e.code:<20} {e.position.value:<10} {e.needed_from.value:<7} {stages:<55} "
                f"{counts.get(e.code, 0):>5}  {e.name_zh} / {e.name_en}{flags}"
            )


@roles_app.command("show")
def show_command(code: str = typer.Argument(..., help="role code, e.g. guide")) -> None:
    """Print one role: definition, duties, competencies, KPI references and holder count."""
    from siyu.org.permissions import SYSTEM_ACTOR
    from siyu.performance.catalog import METRICS
    from siyu.talent.roles_catalog import role_entry
    from siyu.talent.roles_service import holder_counts

    with unit_of_work() as session:
        e = role_entry(session, code)
        held = holder_counts(session, SYSTEM_ACTOR, [code]).get(code, 0)
    typer.echo(
        f"{e.name_zh} / {e.name_en} ({e.code}) — {e.position.value}, needed from {e.needed_from.value}"
    )
    typer.echo(f"value stages: {', '.join(v.value for v in e.value_stages)}")
    typer.echo(
        f"active: {'yes' if e.active else 'no'}; builtin: {'yes' if e.builtin else 'no'}; holders: {held}"
    )
    typer.echo(e.definition_zh)
    typer.echo(e.definition_en)
    typer.echo("duties:")
    for duty in e.duties:
        typer.echo(f"  - {duty}")
    typer.echo("competencies: " + "、".join(e.competencies))
    typer.echo("KPIs: " + ", ".join(f"{c} ({METRICS[c].name_zh})" for c in e.kpi_metric_codes))


@roles_app.command("jd")
def jd_command(
    code: str = typer.Argument(..., help="role code"),
    locale: str = typer.Option("zh", help="zh | en"),
) -> None:
    """Print the job-description draft of a role (with the KPI set in force today, if any)."""
    from siyu.db.types import utcnow
    from siyu.performance import kpi_service
    from siyu.talent.roles_catalog import role_entry
    from siyu.talent.roles_service import job_description
    from siyu.timeutil import local_date

    with unit_of_work() as session:
        entry = role_entry(session, code)
        kpi_set = kpi_service.kpi_set_for(session, code, local_date(utcnow()))
        typer.echo(job_description(entry, kpi_set, locale))
