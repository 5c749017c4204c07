"""Which metrics and targets a daily report shows (the subject's KPI set and targets), and tiers per unit."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from siyu.models import OrgUnit, Staff, StaffRole, Target, TargetSubject
from siyu.performance.catalog import metric
from siyu.performance.contract import MetricValue, Period, SubjectKind
from siyu.performance.kpi_seed import HEAD_ROLE
from siyu.performance.kpi_service import sets_in_force, stage_on
from siyu.performance.target_progress import Progress, Tier, progress_many, tier_of
from siyu.performance.targets_service import is_additive

Subject = tuple[SubjectKind, int]
TIER_ORDER = (Tier.below, Tier.achieved, Tier.exceeded)


@dataclass
class KpiLookup:
    """KPI set codes and targets per subject, loaded once for every subject of a report."""

    sets: dict[Subject, tuple[str, list[str]]] = field(default_factory=dict)  # subject → (set label, codes)
    targets: dict[tuple[Subject, str], Target] = field(default_factory=dict)
    # Longer targets (week, month…) containing the day: progress up to the day, against their pace.
    running: dict[tuple[Subject, str], Progress] = field(default_factory=dict)
    has_kpi_sets: bool = False
    has_targets: bool = False

    def codes_for(self, kind: SubjectKind, subject_id: int) -> tuple[str | None, list[str] | None]:
        """(KPI set label, its metric codes), or (None, None) when no set applies (the default list is shown)."""
        found = self.sets.get((kind, subject_id))
        return (None, None) if found is None else found

    def target_for(
        self, kind: SubjectKind, subject_id: int, code: str, value: MetricValue | None
    ) -> tuple[float | int | None, str | None]:
        """(target, tier reached by value) of the subject's metric for the day, or (None, None) when none is set."""
        target = self.targets.get(((kind, subject_id), code))
        if target is None:
            return None, None
        actual = value.value if value is not None else (0 if is_additive(code) else None)
        wanted = float(target.target_value)
        if actual is None or not wanted:
            return wanted, None
        return wanted, tier_of(float(actual), wanted, target.exceed_percent, metric(code).direction).value

    def all_codes(self, default: Sequence[str]) -> list[str]:
        """Every code some subject's report shows."""
        codes = list(default)
        for _, set_codes in self.sets.values():
            codes += [c for c in set_codes if c not in codes]
        return codes


def kpi_lookup(
    session: Session, period: Period, staff_ids: Sequence[int], unit_ids: Sequence[int]
) -> KpiLookup:
    """Each staff member's KPI set in force on the day (role × stage, as a KPI score picks it) and the targets of the period."""
    lookup = KpiLookup()
    day = period.first
    in_force = sets_in_force(session, day, stage_on(session, day))
    roles: dict[int, list[str]] = defaultdict(list)
    for staff_id, role in session.execute(
        select(StaffRole.staff_id, StaffRole.role_code).where(StaffRole.staff_id.in_(list(staff_ids)))
    ):
        roles[int(staff_id)].append(str(role))
    for staff_id in staff_ids:
        for role in sorted(roles.get(staff_id, [])) or [HEAD_ROLE]:
            kpi_set = in_force.get(role)
            if kpi_set is not None:
                codes = [item.metric_code for item in kpi_set.items]
                lookup.sets[(SubjectKind.staff, staff_id)] = (f"{role} v{kpi_set.version}", codes)
                break
    targets = session.scalars(
        select(Target).where(
            Target.first_day <= period.first,
            Target.last_day >= period.last,
            or_(
                and_(Target.subject_kind == TargetSubject.staff, Target.subject_id.in_(list(staff_ids))),
                and_(Target.subject_kind == TargetSubject.unit, Target.subject_id.in_(list(unit_ids))),
            ),
        )
    ).all()
    longer = []
    for t in targets:
        key = ((SubjectKind(t.subject_kind.value), t.subject_id), t.metric_code)
        if t.first_day == period.first and t.last_day == period.last:
            lookup.targets[key] = t
        else:
            longer.append(t)
    # The shortest running target wins (a week's before a month's); one batch for all of them.
    for progress in sorted(progress_many(session, longer, day), key=lambda p: -p.days):
        t = progress.target
        lookup.running[((SubjectKind(t.subject_kind.value), t.subject_id), t.metric_code)] = progress
    lookup.has_kpi_sets = bool(lookup.sets)
    lookup.has_targets = bool(lookup.targets or lookup.running)
    return lookup


def tier_distribution(
    session: Session, period: Period, units: Sequence[tuple[int, str]], today: date
) -> dict[int, dict[str, int]] | None:
    """Unit id → tier → staff of its subtree with targets for the period, each at their lowest tier; None without targets."""
    targets = session.scalars(
        select(Target).where(
            Target.subject_kind == TargetSubject.staff,
            Target.first_day == period.first,
            Target.last_day == period.last,
        )
    ).all()
    if not targets:
        return None
    # A staff member is only as far as their weakest target: "met" means every target met.
    lowest: dict[int, Tier] = {}
    for progress in progress_many(session, targets, today):
        if progress.tier is None:
            continue
        staff_id = progress.target.subject_id
        current = lowest.get(staff_id)
        if current is None or TIER_ORDER.index(progress.tier) < TIER_ORDER.index(current):
            lowest[staff_id] = progress.tier
    paths = dict(
        session.execute(
            select(Staff.id, OrgUnit.path)
            .join(OrgUnit, OrgUnit.id == Staff.unit_id)
            .where(Staff.id.in_(list(lowest)))
        ).all()
    )
    out: dict[int, dict[str, int]] = {unit_id: {} for unit_id, _ in units}
    for unit_id, path in units:
        counts = out[unit_id]
        for staff_id, tier in lowest.items():
            if str(paths.get(staff_id, "")).startswith(path):
                counts[tier.value] = counts.get(tier.value, 0) + 1
    return out
