"""The boss's page: GMV per staff (人效) by month, team cost vs private-domain GMV, each unit's tier distribution."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.errors import Forbidden
from siyu.models import OrgUnit
from siyu.org import repository as org_repo
from siyu.org.permissions import Actor, DataScope
from siyu.performance.compute import compute_metrics
from siyu.performance.contract import COMPANY_SUBJECT_ID, MetricValue, Period, SubjectKind
from siyu.performance.daily_report_kpi import tier_distribution
from siyu.reports.repository import gmv_rollups, population, private_gmv_by_month, rollup_population
from siyu.reports.rollups import rollup_state
from siyu.timeutil import brand_zone

CODES = ("gmv", "revenue_per_staff")


@dataclass(frozen=True)
class MonthRow:
    """One local month of the viewer's whole scope."""

    month: str
    gmv_fen: int
    headcount: int
    revenue_per_staff: float | None  # fen per staff
    private_gmv_fen: int
    team_cost_fen: int

    @property
    def private_gmv_per_cost(self) -> float | None:
        """Private-domain GMV earned per fen of team cost."""
        return self.private_gmv_fen / self.team_cost_fen if self.team_cost_fen else None


@dataclass(frozen=True)
class UnitRow:
    """One org unit this month: GMV, headcount, 人效, team cost, staff per target tier (None: no targets)."""

    unit_id: int
    code: str
    name: str
    depth: int
    gmv_fen: int
    headcount: int
    revenue_per_staff: float | None
    team_cost_fen: int
    tiers: dict[str, int] | None


@dataclass(frozen=True)
class BossView:
    """Everything the boss page shows."""

    subject_name: str
    months: list[MonthRow]
    units: list[UnitRow]
    cost_per_staff_fen: int
    has_targets: bool
    private_as_of: datetime | None = None  # set when private GMV came from the overview's rollups


def _month_starts(today: date, count: int) -> list[date]:
    first = today.replace(day=1)
    months = [first]
    for _ in range(count - 1):
        months.insert(0, (months[0] - timedelta(days=1)).replace(day=1))
    return months


def _parts(value: MetricValue | None) -> tuple[int, int, float | None]:
    # revenue_per_staff keeps its parts: numerator = GMV (fen), denominator = headcount.
    if value is None:
        return 0, 0, None
    return (
        int(value.numerator or 0),
        int(value.denominator or 0),
        None if value.value is None else float(value.value),
    )


def _private_gmv(
    session: Session, actor: Actor, path: str | None, zone: ZoneInfo, first: date, last: date
) -> tuple[dict[str, int], datetime | None]:
    """Month → private-domain GMV exactly as the overview computes it (its rollups when built for the zone)."""
    state = rollup_state(session)
    where = rollup_population(actor, path) if state is not None and state.zone == zone.key else None
    if where is not None and state is not None:
        return gmv_rollups(session, where, first, last)[1], state.refreshed_at
    start, end = Period.custom(first, last).utc_range(zone)
    return private_gmv_by_month(session, population(actor, path), zone, start, end), None


def subject_of(session: Session, actor: Actor) -> tuple[SubjectKind, int, str, str | None]:
    """(kind, id, name, unit path) of the viewer's whole scope: the company, or their scope unit."""
    if actor.scope is DataScope.all:
        return SubjectKind.company, COMPANY_SUBJECT_ID, "", None
    if actor.scope_unit_id is None:
        raise Forbidden(f"account {actor.username!r} has no unit scope, so the boss page has nothing to show")
    unit = org_repo.get_unit(session, actor, actor.scope_unit_id)
    if unit is None:
        raise Forbidden(f"account {actor.username!r} may not read its scope unit {actor.scope_unit_id}")
    return SubjectKind.unit, unit.id, unit.name, unit.path


def build_boss(
    session: Session,
    actor: Actor,
    today: date,
    *,
    months: int = 6,
    cost_per_staff_fen: int,
    zone: ZoneInfo | None = None,
) -> BossView:
    """Catalog figures per month for the viewer's scope (one compute_metrics call per month) and per unit."""
    zone = zone or brand_zone()
    kind, subject_id, name, path = subject_of(session, actor)
    starts = _month_starts(today, months)
    private, as_of = _private_gmv(session, actor, path, zone, starts[0], Period.month(starts[-1]).last)
    rows = []
    for start in starts:
        period = Period.month(start)
        table = compute_metrics(session, CODES, period, kind, subject_ids=[subject_id], zone=zone)
        gmv, heads, per_staff = _parts(table.get("revenue_per_staff", subject_id))
        rows.append(
            MonthRow(
                period.label, gmv, heads, per_staff, private.get(period.label, 0), heads * cost_per_staff_fen
            )
        )
    units = session.execute(
        select(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.depth, OrgUnit.path)
        .where(org_repo.readable_units(actor))
        .order_by(OrgUnit.path)
    ).all()
    unit_ids = [int(u[0]) for u in units]
    now = Period.month(starts[-1])
    table = compute_metrics(session, CODES, now, SubjectKind.unit, subject_ids=unit_ids, zone=zone)
    tiers = tier_distribution(session, now, [(int(u[0]), str(u[4])) for u in units], today)
    unit_rows = []
    for unit_id, code, unit_name, depth, _path in units:
        gmv, heads, per_staff = _parts(table.get("revenue_per_staff", unit_id))
        unit_rows.append(
            UnitRow(
                unit_id,
                code,
                unit_name,
                depth,
                gmv,
                heads,
                per_staff,
                heads * cost_per_staff_fen,
                None if tiers is None else tiers.get(unit_id, {}),
            )
        )
    return BossView(name, rows, unit_rows, cost_per_staff_fen, tiers is not None, as_of)
