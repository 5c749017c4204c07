"""The 日报: for one business day, each staff member's and the unit's metrics vs the day before and vs target."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from siyu.errors import Invalid, NotFound
from siyu.models import OrgUnit, Staff, StaffStatus
from siyu.org import repository as org_repo
from siyu.org.permissions import Actor, DataScope
from siyu.performance.catalog import metric
from siyu.performance.compute import compute_metrics
from siyu.performance.contract import MetricDef, MetricTable, MetricValue, Period, SubjectKind
from siyu.performance.daily_report_kpi import KpiLookup, kpi_lookup
from siyu.performance.target_progress import Progress
from siyu.timeutil import brand_zone

# Shown when no KPI set applies to the subject.
DEFAULT_CODES = ("gmv", "orders", "avg_order_value", "new_contacts", "tasks_done", "task_on_time_rate")
# Always computed for the side figures: tasks done / overdue (= due − on time) and incidents.
SIDE_CODES = ("tasks_done", "task_on_time_rate", "sensitive_incidents")


@dataclass(frozen=True)
class Line:
    """One metric of one subject: the day, the day before, and the target of the period containing the day."""

    definition: MetricDef
    today: MetricValue | None
    yesterday: MetricValue | None
    target: float | int | None = None
    tier: str | None = None
    running: Progress | None = None  # a week/month target containing the day, measured up to the day

    @property
    def code(self) -> str:
        """The catalog code."""
        return self.definition.code

    @property
    def value(self) -> float | int | None:
        """The day's value: zero for a count or sum with nothing to count, None for an undefined ratio."""
        return _zeroed(self.today, self.definition)

    @property
    def previous(self) -> float | int | None:
        """The day before's value, the same way."""
        return _zeroed(self.yesterday, self.definition)

    @property
    def change(self) -> float | int | None:
        """Day minus day before, when both are defined."""
        now, before = self.value, self.previous
        return None if now is None or before is None else now - before

    @property
    def attainment(self) -> float | None:
        """Value ÷ target, when a positive target exists."""
        now = self.value
        return None if not self.target or now is None else now / self.target


def _zeroed(found: MetricValue | None, definition: MetricDef) -> float | int | None:
    # A subject absent from the table had nothing to count: zero for counts and money, undefined for ratios.
    if found is not None:
        return found.value
    return 0 if definition.unit.value in ("count", "fen") else None


@dataclass(frozen=True)
class SubjectReport:
    """The report of one staff member or one unit."""

    kind: SubjectKind
    subject_id: int
    code: str
    name: str
    unit_name: str
    kpi_set: str | None
    lines: list[Line]
    tasks_done: int
    tasks_overdue: int
    incidents: int | None  # None: no compliance module yet


@dataclass(frozen=True)
class DailyReport:
    """A day's report for a unit (its own figures and each staff member's), or for one staff member."""

    day: date
    unit_id: int
    unit_code: str
    unit_name: str
    unit: SubjectReport | None
    staff: list[SubjectReport] = field(default_factory=list)
    has_kpi_sets: bool = False
    has_targets: bool = False

    @property
    def staff_columns(self) -> list[Line]:
        """One line per metric any staff member's report shows (the staff table's columns), in order."""
        seen: dict[str, Line] = {}
        for subject in self.staff:
            for line in subject.lines:
                seen.setdefault(line.code, line)
        return list(seen.values())


@dataclass(frozen=True)
class DayTables:
    """The four compute_metrics results a report needs: (day, day before) × (staff, unit)."""

    codes: tuple[str, ...]
    staff_today: MetricTable
    staff_before: MetricTable
    unit_today: MetricTable
    unit_before: MetricTable


def compute_day(
    session: Session,
    day: date,
    codes: Sequence[str],
    staff_ids: Sequence[int],
    unit_ids: Sequence[int],
    zone: ZoneInfo | None = None,
) -> DayTables:
    """One compute_metrics call per (period, subject kind), every subject at once."""
    wanted = tuple(dict.fromkeys([*codes, *SIDE_CODES]))
    today, before = Period.day(day), Period.day(day - timedelta(days=1))
    staff_kind, unit_kind = SubjectKind.staff, SubjectKind.unit
    return DayTables(
        wanted,
        compute_metrics(session, wanted, today, staff_kind, subject_ids=staff_ids, zone=zone),
        compute_metrics(session, wanted, before, staff_kind, subject_ids=staff_ids, zone=zone),
        compute_metrics(session, wanted, today, unit_kind, subject_ids=unit_ids, zone=zone),
        compute_metrics(session, wanted, before, unit_kind, subject_ids=unit_ids, zone=zone),
    )


def _subject(
    kind: SubjectKind,
    subject_id: int,
    code: str,
    name: str,
    unit_name: str,
    today: MetricTable,
    before: MetricTable,
    kpis: KpiLookup,
) -> SubjectReport:
    kpi_set, codes = kpis.codes_for(kind, subject_id)
    lines = []
    for c in codes or DEFAULT_CODES:
        target, tier = kpis.target_for(kind, subject_id, c, today.get(c, subject_id))
        running = kpis.running.get(((kind, subject_id), c))
        value, previous = today.get(c, subject_id), before.get(c, subject_id)
        lines.append(Line(metric(c), value, previous, target, tier, running))
    done = today.get("tasks_done", subject_id)
    on_time = today.get("task_on_time_rate", subject_id)
    overdue = 0
    if on_time is not None and on_time.denominator is not None:
        overdue = int(on_time.denominator) - int(on_time.numerator or 0)
    incidents = today.get("sensitive_incidents", subject_id)
    return SubjectReport(
        kind,
        subject_id,
        code,
        name,
        unit_name,
        kpi_set,
        lines,
        int(done.value or 0) if done else 0,
        overdue,
        None if incidents is None or incidents.value is None else int(incidents.value),
    )


def default_unit(session: Session, actor: Actor) -> OrgUnit:
    """The unit a report opens on: the actor's scope unit, their own unit (scope self), else the top unit."""
    query = select(OrgUnit).where(org_repo.readable_units(actor)).order_by(OrgUnit.depth, OrgUnit.path)
    if actor.scope_unit_id is not None:
        query = query.where(OrgUnit.id == actor.scope_unit_id)
    unit = session.scalars(query.limit(1)).first()
    if unit is None:
        raise NotFound(f"account {actor.username!r} may read no org unit, so there is no report to show")
    return unit


def report_subjects(
    session: Session, actor: Actor, day: date, unit_id: int | None, staff_id: int | None
) -> tuple[OrgUnit, list[tuple[int, str, str, str]]]:
    """The unit and the (id, code, name, unit name) of the staff a report covers, within the actor's scope."""
    if staff_id is not None:
        person = org_repo.get_staff(session, actor, staff_id)
        if person is None:
            raise NotFound(f"staff {staff_id} does not exist or is outside your data scope")
        unit = session.get(OrgUnit, person.unit_id)
        assert unit is not None
        return unit, [(person.id, person.code, person.name, unit.name)]
    if unit_id is not None:
        found = org_repo.get_unit(session, actor, unit_id)
        if found is None:
            raise NotFound(f"org unit {unit_id} does not exist or is outside your data scope")
        unit = found
    else:
        unit = default_unit(session, actor)
    rows = session.execute(
        select(Staff.id, Staff.code, Staff.name, OrgUnit.name)
        .join(OrgUnit, OrgUnit.id == Staff.unit_id)
        .where(
            OrgUnit.path.startswith(unit.path, autoescape=True),
            org_repo.readable_staff(actor),
            or_(Staff.status == StaffStatus.active, Staff.left_on >= day),
        )
        .order_by(OrgUnit.path, Staff.code)
    ).all()
    return unit, [(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]


def assemble(
    unit: OrgUnit,
    people: Sequence[tuple[int, str, str, str]],
    day: date,
    tables: DayTables,
    kpis: KpiLookup,
    *,
    with_unit: bool = True,
) -> DailyReport:
    """Build the report from precomputed tables (the CLI computes once for every unit)."""
    unit_report = None
    if with_unit:
        unit_report = _subject(
            SubjectKind.unit,
            unit.id,
            unit.code,
            unit.name,
            unit.name,
            tables.unit_today,
            tables.unit_before,
            kpis,
        )
    staff = [
        _subject(SubjectKind.staff, sid, code, name, uname, tables.staff_today, tables.staff_before, kpis)
        for sid, code, name, uname in people
    ]
    return DailyReport(
        day, unit.id, unit.code, unit.name, unit_report, staff, kpis.has_kpi_sets, kpis.has_targets
    )


def build_daily_report(
    session: Session,
    actor: Actor,
    day: date,
    *,
    unit_id: int | None = None,
    staff_id: int | None = None,
    zone: ZoneInfo | None = None,
) -> DailyReport:
    """The report of a unit (and each of its staff) or of one staff member, within the actor's scope."""
    if staff_id is not None and unit_id is not None:
        raise Invalid("unit and staff: give one of them, not both")
    unit, people = report_subjects(session, actor, day, unit_id, staff_id)
    staff_ids = [p[0] for p in people]
    kpis = kpi_lookup(session, Period.day(day), staff_ids, [unit.id])
    # A self-scoped account reads only its own figures, never its unit's totals.
    with_unit = staff_id is None and actor.scope is not DataScope.self_
    tables = compute_day(
        session, day, kpis.all_codes(DEFAULT_CODES), staff_ids, [unit.id], zone or brand_zone()
    )
    return assemble(unit, people, day, tables, kpis, with_unit=with_unit)
