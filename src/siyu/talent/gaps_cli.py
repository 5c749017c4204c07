"""`siyu talent gaps`: the gap report of the whole brand (or one unit's subtree) as text or JSON."""

from __future__ import annotations

import json

import typer

from siyu.talent.gaps import GapThresholds

_DEFAULTS = GapThresholds()


def gaps_command(
    unit: str | None = typer.Option(None, "--unit", help="org unit code: only its subtree"),
    output: str = typer.Option("text", "--format", help="text or json"),
    customers_per_guide: int = typer.Option(
        _DEFAULTS.customers_per_guide, help="customers one guide can serve one-to-one"
    ),
    open_tasks_per_person: int = typer.Option(
        _DEFAULTS.open_tasks_per_person, help="open tasks one person can carry"
    ),
    owner_share_pct: int = typer.Option(
        _DEFAULTS.owner_share_pct,
        help="one person's share of a store's customers (%) above which it is a risk",
    ),
    min_store_customers: int = typer.Option(
        _DEFAULTS.min_store_customers, help="judge shares only in stores with at least this many customers"
    ),
) -> None:
    """Roles missing for the current stage, overloaded people and single points of failure."""
    from siyu.db.engine import unit_of_work
    from siyu.errors import Invalid
    from siyu.org.permissions import SYSTEM_ACTOR
    from siyu.talent.gaps_service import gap_report, thresholds_from

    if output not in ("text", "json"):
        raise Invalid(f"--format: {output!r} is not one of text, json")
    thresholds = thresholds_from(
        {
            "customers_per_guide": customers_per_guide,
            "open_tasks_per_person": open_tasks_per_person,
            "owner_share_pct": owner_share_pct,
            "min_store_customers": min_store_customers,
        }
    )
    with unit_of_work() as session:
        report = gap_report(session, SYSTEM_ACTOR, thresholds, unit)
    if output == "json":
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return
    totals = ", ".join(f"{k} {v}" for k, v in report.totals.items())
    typer.echo(
        f"stage {report.stage.value}; {'whole brand' if report.brand_wide else 'unit ' + str(unit)}; {totals}"
    )
    for section, n in report.counts().items():
        typer.echo(f"\n== {section}: {n}")
        for f in report.findings:
            if f.section.value == section:
                numbers = " ".join(f"{k}={v}" for k, v in f.numbers.items())
                typer.echo(f"[{f.severity.value}] {f.kind.value} {f.subject.type}:{f.subject.code} {numbers}")
                typer.echo(f"    {f.explanation_zh}")
                typer.echo(f"    → {f.action_zh}")
