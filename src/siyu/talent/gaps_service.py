"""Gap analysis for an actor: narrow the scope to a unit if asked, gather the facts, analyse; shared by every edge."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from siyu.db.types import utcnow
from siyu.errors import Invalid, NotFound
from siyu.org import repository as org_repo
from siyu.org.permissions import Actor, DataScope
from siyu.performance.kpi_service import stage_on
from siyu.talent import gaps_repository as repo
from siyu.talent.gaps import GapFacts, GapReport, GapThresholds, analyse
from siyu.talent.roles_catalog import catalog
from siyu.timeutil import local_date

# Upper bounds keep a typo (an extra zero) from silently hiding every finding.
THRESHOLD_LIMITS = {
    "customers_per_guide": (1, 100_000),
    "open_tasks_per_person": (1, 10_000),
    "owner_share_pct": (1, 99),
    "min_store_customers": (0, 1_000_000),
}


def thresholds_from(values: dict[str, Any]) -> GapThresholds:
    """GapThresholds from optional overrides (None or '' keeps the default); Invalid names the bad one."""
    chosen: dict[str, int] = {}
    for f in fields(GapThresholds):
        raw = values.get(f.name)
        if raw is None or raw == "":
            continue
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise Invalid(f"gap threshold {f.name}: {raw!r} is not a whole number") from None
        low, high = THRESHOLD_LIMITS[f.name]
        if not low <= value <= high:
            raise Invalid(f"gap threshold {f.name}: {value} is outside {low}..{high}")
        chosen[f.name] = value
    return GapThresholds(**chosen)


def scoped_actor(session: Session, actor: Actor, unit_code: str | None) -> Actor:
    """actor, narrowed to the subtree of unit_code when given (it must be readable: 404 otherwise)."""
    if not unit_code:
        return actor
    unit = org_repo.get_unit_by_code(session, actor, unit_code)
    if unit is None:
        raise NotFound(f"gap analysis: org unit {unit_code!r} does not exist or is outside your data scope")
    if actor.scope is DataScope.unit:
        return actor  # a unit scope reads only its own unit, which is the one chosen
    return replace(actor, scope=DataScope.subtree, scope_unit_id=unit.id, scope_unit_path=unit.path)


def gather(session: Session, actor: Actor, now: datetime) -> GapFacts:
    """The facts of the actor's scope (eight queries, none per person)."""
    brand_wide = actor.scope is DataScope.all
    run_id, team = repo.latest_starting_team(session) if brand_wide else (None, None)
    return GapFacts(
        stage=stage_on(session, local_date(now)),
        brand_wide=brand_wide,
        roles=catalog(session),
        staff=repo.active_staff(session, actor),
        customers_by_owner=repo.customers_by_owner(session, actor),
        open_tasks=repo.open_tasks(session, actor, now),
        stores=repo.stores(session, actor),
        starting_team=team,
        advisor_run_id=run_id,
    )


def gap_report(
    session: Session,
    actor: Actor,
    thresholds: GapThresholds | None = None,
    unit_code: str | None = None,
    now: datetime | None = None,
) -> GapReport:
    """The gap report of what actor may see (optionally one unit's subtree)."""
    scoped = scoped_actor(session, actor, unit_code)
    return analyse(gather(session, scoped, now or utcnow()), thresholds or GapThresholds())
