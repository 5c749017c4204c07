"""Objective evidence beside each competency score: catalog metrics per person and their same-role percentile."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.errors import Invalid
from siyu.models import Staff, StaffRole, StaffStatus
from siyu.performance.catalog import METRICS
from siyu.performance.compute import MAX_CUSTOM_DAYS, SPECS, compute_metrics
from siyu.performance.contract import (
    Direction,
    MetricDef,
    MetricGroup,
    MetricTable,
    Period,
    SubjectKind,
    Unit,
)
from siyu.performance.settings import PerformanceSettings
from siyu.talent.assessment_logic import percentiles
from siyu.talent.contract import Dimension, EvidenceItem

# Derived evidence for 自身学习能力: the article's signs (paid courses, joining training) are not in the data,
# so the only honest figure is whether the person's own numbers moved forward. A proxy, labelled as one.
KPI_IMPROVEMENT = "kpi_improvement_share"
IMPROVEMENT_DEF = MetricDef(
    code=KPI_IMPROVEMENT,
    group=MetricGroup.activity,
    name_zh="指标进步占比",
    name_en="Share of metrics improved",
    definition_zh=(
        "该员工在本模型其他维度的证据指标中，较上一等长统计期（紧接在本期之前、天数相同）严格变好（按指标方向）"
        "的指标数 ÷ 两期都有值的指标数；无可比指标时无值。这是学习能力的代理指标，主要仍靠主管判断。"
    ),
    definition_en=(
        "Of the person's evidence metrics on the model's other dimensions, those strictly better (by the metric's "
        "direction) than in the previous period of equal length (the same number of days just before) ÷ those "
        "with a value in both periods; undefined when none compare. A proxy for learning; mainly manager judgement."
    ),
    formula="metrics improved vs previous equal period ÷ metrics defined in both periods",
    unit=Unit.ratio,
    direction=Direction.higher,
    subjects=frozenset({SubjectKind.staff}),
    reads=("the dimensions' evidence metrics, this period and the previous one",),
)
# Every code a dimension may list as evidence: the metric catalog plus the derived figure above.
EVIDENCE_METRICS: dict[str, MetricDef] = {**METRICS, KPI_IMPROVEMENT: IMPROVEMENT_DEF}
Evidence = dict[int, dict[str, list[EvidenceItem]]]


def previous_period(first_day: date, last_day: date) -> tuple[date, date]:
    """The period of equal length just before [first_day, last_day]."""
    length = (last_day - first_day).days + 1
    return first_day - timedelta(days=length), first_day - timedelta(days=1)


def metric_value(table: MetricTable, code: str, staff_id: int) -> float | None:
    """A staff member's value: absent counts are 0 (nothing happened), absent ratios undefined."""
    found = table.get(code, staff_id)
    if found is not None:
        return None if found.value is None else float(found.value)
    return 0.0 if SPECS[code].how in ("sum", "diff") else None


def _better(code: str, now: float, before: float) -> bool:
    return now < before if METRICS[code].direction is Direction.lower else now > before


def improvement_share(
    current: MetricTable, previous: MetricTable, codes: Sequence[str], staff_id: int
) -> float | None:
    """Share of codes strictly better now than in the previous period, among those defined in both."""
    compared = improved = 0
    for code in codes:
        now, before = metric_value(current, code, staff_id), metric_value(previous, code, staff_id)
        if now is None or before is None:
            continue
        compared += 1
        improved += _better(code, now, before)
    return improved / compared if compared else None


def staff_roles(
    session: Session, staff_ids: Collection[int], roles: Mapping[int, str] | None = None
) -> dict[int, str | None]:
    """Each person's role for peer grouping: the given one, else the first role code they hold (sorted)."""
    chosen: dict[int, str | None] = {sid: (roles or {}).get(sid) for sid in staff_ids}
    missing = [sid for sid, role in chosen.items() if role is None]
    if missing:
        rows = session.execute(
            select(StaffRole.staff_id, StaffRole.role_code)
            .where(StaffRole.staff_id.in_(missing))
            .order_by(StaffRole.staff_id, StaffRole.role_code)
        )
        for sid, role in rows:
            if chosen[sid] is None:
                chosen[sid] = str(role)
    return chosen


def peer_groups(session: Session, roles: Collection[str]) -> dict[str, set[int]]:
    """Role → the active staff holding it, company-wide (one query for all roles)."""
    wanted = sorted(set(roles))
    groups: dict[str, set[int]] = {r: set() for r in wanted}
    if wanted:
        rows = session.execute(
            select(StaffRole.role_code, StaffRole.staff_id)
            .join(Staff, Staff.id == StaffRole.staff_id)
            .where(StaffRole.role_code.in_(wanted), Staff.status == StaffStatus.active)
        )
        for role, sid in rows:
            groups[str(role)].add(int(sid))
    return groups


def _check_period(first_day: date, last_day: date) -> None:
    if last_day < first_day:
        raise Invalid(f"evidence period {first_day}..{last_day}: the last day is before the first day")
    if (last_day - first_day).days + 1 > MAX_CUSTOM_DAYS:
        raise Invalid(f"evidence period {first_day}..{last_day}: longer than {MAX_CUSTOM_DAYS} days")


def evidence_for(
    session: Session,
    staff_ids: Sequence[int],
    first_day: date,
    last_day: date,
    dimensions: Sequence[Dimension],
    *,
    roles: Mapping[int, str] | None = None,
    zone: ZoneInfo | None = None,
    settings: PerformanceSettings | None = None,
) -> Evidence:
    """Staff id → dimension code → evidence items over [first_day, last_day], percentiles among same-role peers.

    One compute_metrics call for the whole batch (and one more for the previous period when a dimension uses
    the improvement share). roles: staff id → role code to group peers by (default: first role held).
    """
    _check_period(first_day, last_day)
    people = staff_roles(session, set(staff_ids), roles)
    groups = peer_groups(session, {r for r in people.values() if r is not None})
    subjects = set(people) | {sid for members in groups.values() for sid in members}
    catalog_codes = list(
        dict.fromkeys(c for d in dimensions for c in d.evidence_metric_codes if c in METRICS)
    )
    unknown = [c for d in dimensions for c in d.evidence_metric_codes if c not in EVIDENCE_METRICS]
    if unknown:
        raise Invalid(f"evidence: metric {unknown[0]!r} is not in the metric catalog")
    wants_improvement = any(KPI_IMPROVEMENT in d.evidence_metric_codes for d in dimensions)

    def table(first: date, last: date) -> MetricTable:
        return compute_metrics(
            session, catalog_codes, Period.custom(first, last), SubjectKind.staff,
            subject_ids=subjects, zone=zone, settings=settings,
        )  # fmt: skip

    current = table(first_day, last_day) if catalog_codes else None

    values: dict[str, dict[int, float | None]] = {}
    for code in catalog_codes:
        assert current is not None
        values[code] = {sid: metric_value(current, code, sid) for sid in subjects}
    if wants_improvement:
        if current is None:
            values[KPI_IMPROVEMENT] = dict.fromkeys(subjects)
        else:
            previous = table(*previous_period(first_day, last_day))
            values[KPI_IMPROVEMENT] = {
                sid: improvement_share(current, previous, catalog_codes, sid) for sid in subjects
            }

    # Ranked once per role among its active holders; a person outside that set (e.g. one who has left)
    # is ranked among those holders plus themselves, so nobody's percentile depends on the batch.
    ranked: dict[tuple[str, str], dict[int, float | None]] = {}
    for group_role, members in groups.items():
        for code, by_staff in values.items():
            higher = EVIDENCE_METRICS[code].direction is Direction.higher
            ranked[(group_role, code)] = percentiles({sid: by_staff.get(sid) for sid in members}, higher)

    out: Evidence = {}
    for sid in staff_ids:
        role = people[sid]
        per_dim: dict[str, list[EvidenceItem]] = {}
        for d in dimensions:
            items = []
            for code in d.evidence_metric_codes:
                by_staff = values[code]
                value = by_staff.get(sid)
                if role is None:
                    items.append(EvidenceItem(code, value, None, 0))
                    continue
                members = groups[role]
                if sid in members:
                    pct = ranked[(role, code)].get(sid)
                else:
                    members = members | {sid}
                    higher = EVIDENCE_METRICS[code].direction is Direction.higher
                    pct = percentiles({m: by_staff.get(m) for m in members}, higher)[sid]
                defined = sum(1 for m in members if by_staff.get(m) is not None)
                items.append(EvidenceItem(code, value, pct, defined))
            per_dim[d.code] = items
        out[sid] = per_dim
    return out


def evidence_percentile(by_dimension: Mapping[str, Sequence[EvidenceItem]]) -> float | None:
    """Mean of a person's defined evidence percentiles across dimensions (calibration's evidence figure)."""
    found = [i.percentile for items in by_dimension.values() for i in items if i.percentile is not None]
    return sum(found) / len(found) if found else None
