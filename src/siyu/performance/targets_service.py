"""Targets: create, change, delete, bulk assignment to a unit's staff, and roll-up of staff targets to a unit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from siyu.audit import audit, audit_many
from siyu.errors import Conflict, Forbidden, Invalid, NotFound
from siyu.models import OrgUnit, PaceCurve, Staff, StaffRole, StaffStatus, Target, TargetSubject
from siyu.org import repository as org_repo
from siyu.org.permissions import Actor
from siyu.performance.catalog import METRICS
from siyu.performance.contract import Period, PeriodKind, Unit
from siyu.performance.target_repository import get_target, readable_targets

DEFAULT_EXCEED_PERCENT = 120
MAX_PERIOD_DAYS = 366
WEEKEND_WEIGHT = 2.0


@dataclass(frozen=True, slots=True)
class TargetTerms:
    """What a target asks for: metric, period, value and tiers (shared by single targets and templates)."""

    metric_code: str
    period: Period
    target_value: float
    exceed_percent: int = DEFAULT_EXCEED_PERCENT
    incentive_note: str | None = None
    new_business: bool = False
    pace_curve: PaceCurve = PaceCurve.linear
    day_weights: list[float] | None = field(default=None)


@dataclass(frozen=True, slots=True)
class BulkResult:
    """What a bulk assignment did."""

    created: int
    skipped: list[str]  # staff codes that already had this target


def make_period(kind: str, first: date, last: date | None = None) -> Period:
    """The period of a kind containing first (custom: first..last)."""
    try:
        chosen = PeriodKind(kind)
    except ValueError:
        raise Invalid(
            f"period kind {kind!r} is not one of {', '.join(k.value for k in PeriodKind)}"
        ) from None
    if chosen is PeriodKind.custom:
        if last is None or last < first:
            raise Invalid(f"custom period: last day {last} must be on or after the first day {first}")
        return Period.custom(first, last)
    return getattr(Period, chosen.value)(first)


def period_of(target: Target) -> Period:
    """A target's period."""
    return Period(PeriodKind(target.period_kind), target.first_day, target.last_day)


def weekend_curve(period: Period) -> list[float]:
    """The default seasonal curve: weekend days weigh WEEKEND_WEIGHT, weekdays 1 (stores sell more at weekends)."""
    days = (period.first + timedelta(days=n) for n in range(period.days))
    return [WEEKEND_WEIGHT if d.weekday() >= 5 else 1.0 for d in days]


def validate_terms(terms: TargetTerms) -> TargetTerms:
    """Check the metric, value, tier threshold and pace weights; returns terms with weights normalised to floats."""
    definition = METRICS.get(terms.metric_code)
    if definition is None:
        raise Invalid(f"target: metric {terms.metric_code!r} is not in the metric catalog")
    if terms.period.days > MAX_PERIOD_DAYS or terms.period.days < 1:
        raise Invalid(f"target: period {terms.period.label} must span 1..{MAX_PERIOD_DAYS} days")
    if not terms.target_value > 0:
        raise Invalid(f"target {terms.metric_code}: value {terms.target_value} must be above 0")
    if definition.unit is Unit.ratio and terms.target_value > 1:
        raise Invalid(f"target {terms.metric_code}: a rate's target is 0..1 (got {terms.target_value})")
    if not 101 <= terms.exceed_percent <= 1000:
        raise Invalid(
            f"target {terms.metric_code}: exceed threshold {terms.exceed_percent}% must be 101..1000"
        )
    weights = terms.day_weights
    if terms.pace_curve is PaceCurve.seasonal and not weights:
        weights = weekend_curve(terms.period)
    if terms.pace_curve is PaceCurve.seasonal:
        if not weights or len(weights) != terms.period.days:
            got = len(weights) if weights else 0
            raise Invalid(
                f"target {terms.metric_code}: a seasonal pace needs one weight per day "
                f"({terms.period.days} for {terms.period.label}), got {got}"
            )
        if any(w < 0 for w in weights) or sum(weights) <= 0:
            raise Invalid(f"target {terms.metric_code}: seasonal weights must be ≥ 0 and not all 0")
        weights = [float(w) for w in weights]
    else:
        weights = None
    return replace(terms, day_weights=weights)


def require_writer(actor: Actor) -> None:
    """Targets are set by admins, the head, managers and operators."""
    if not actor.may_write:
        raise Forbidden(f"targets: role {actor.role.value!r} may not set targets")


def _subject_unit(session: Session, actor: Actor, kind: TargetSubject, subject_id: int) -> int:
    """The unit a subject belongs to, NotFound when it does not exist or is outside the actor's scope."""
    if kind is TargetSubject.staff:
        unit_id = session.scalar(
            select(Staff.unit_id).where(Staff.id == subject_id, org_repo.readable_staff(actor))
        )
    else:
        unit_id = session.scalar(
            select(OrgUnit.id).where(OrgUnit.id == subject_id, org_repo.readable_units(actor))
        )
    if unit_id is None:
        raise NotFound(f"target subject: {kind.value} {subject_id} does not exist")
    return int(unit_id)


def _row(
    terms: TargetTerms, kind: TargetSubject, subject_id: int, unit_id: int, actor: Actor
) -> dict[str, object]:
    return {
        "subject_kind": kind,
        "subject_id": subject_id,
        "unit_id": unit_id,
        "metric_code": terms.metric_code,
        "period_kind": terms.period.kind.value,
        "first_day": terms.period.first,
        "last_day": terms.period.last,
        "target_value": terms.target_value,
        "exceed_percent": terms.exceed_percent,
        "incentive_note": terms.incentive_note or None,
        "new_business": terms.new_business,
        "pace_curve": terms.pace_curve,
        "day_weights": terms.day_weights,
        "created_by_account_id": actor.account_id,
    }


def _exists(
    session: Session, kind: TargetSubject, subject_ids: Sequence[int], terms: TargetTerms
) -> set[int]:
    """Subjects among subject_ids that already have a target for the metric and period (one query)."""
    if not subject_ids:
        return set()
    rows = session.scalars(
        select(Target.subject_id).where(
            Target.subject_kind == kind,
            Target.subject_id.in_(subject_ids),
            Target.metric_code == terms.metric_code,
            Target.first_day == terms.period.first,
            Target.last_day == terms.period.last,
        )
    )
    return set(rows)


def _audit_detail(t: Target) -> dict[str, object]:
    return {
        "subject": f"{t.subject_kind.value}:{t.subject_id}",
        "metric": t.metric_code,
        "period": f"{t.first_day.isoformat()}..{t.last_day.isoformat()}",
        "target_value": t.target_value,
        "exceed_percent": t.exceed_percent,
        "new_business": t.new_business,
        "pace_curve": t.pace_curve.value,
    }


def create_target(session: Session, actor: Actor, kind: str, subject_id: int, terms: TargetTerms) -> Target:
    """Set a target for one staff member or unit (unique per subject, metric and period; audited)."""
    require_writer(actor)
    try:
        subject_kind = TargetSubject(kind)
    except ValueError:
        raise Invalid(f"target: subject kind {kind!r} must be 'staff' or 'unit'") from None
    checked = validate_terms(terms)
    unit_id = _subject_unit(session, actor, subject_kind, subject_id)
    if _exists(session, subject_kind, [subject_id], checked):
        raise Conflict(
            f"target: {kind} {subject_id} already has a {checked.metric_code} target for {checked.period.label}"
        )
    target = Target(**_row(checked, subject_kind, subject_id, unit_id, actor))
    session.add(target)
    session.flush()
    audit(session, actor, "target.create", "target", target.id, _audit_detail(target))
    return target


def _writable(session: Session, actor: Actor, target_id: int) -> Target:
    require_writer(actor)
    target = get_target(session, actor, target_id)
    if target is None:
        raise NotFound(f"target {target_id} does not exist")
    return target


def update_target(session: Session, actor: Actor, target_id: int, terms: TargetTerms) -> Target:
    """Change a target's value, threshold, note, flag and pace (subject, metric and period stay; audited)."""
    target = _writable(session, actor, target_id)
    if terms.metric_code != target.metric_code or terms.period != period_of(target):
        raise Invalid(f"target {target_id}: metric and period cannot change; delete it and create another")
    checked = validate_terms(terms)
    before = _audit_detail(target)
    target.target_value = checked.target_value
    target.exceed_percent = checked.exceed_percent
    target.incentive_note = checked.incentive_note or None
    target.new_business = checked.new_business
    target.pace_curve = checked.pace_curve
    target.day_weights = checked.day_weights
    session.flush()
    audit(
        session,
        actor,
        "target.update",
        "target",
        target.id,
        {"before": before, "after": _audit_detail(target)},
    )
    return target


def delete_target(session: Session, actor: Actor, target_id: int) -> None:
    """Remove a target (audited with what it was)."""
    target = _writable(session, actor, target_id)
    detail = _audit_detail(target)
    session.delete(target)
    session.flush()
    audit(session, actor, "target.delete", "target", target_id, detail)


def assign_to_unit_staff(
    session: Session, actor: Actor, unit_id: int, terms: TargetTerms, role_code: str | None = None
) -> BulkResult:
    """Give every active staff member of the unit (optionally only one role) the same target, in one insert."""
    require_writer(actor)
    checked = validate_terms(terms)
    if org_repo.get_unit(session, actor, unit_id) is None:
        raise NotFound(f"bulk target: org unit {unit_id} does not exist")
    query = select(Staff.id, Staff.code).where(
        Staff.unit_id == unit_id, Staff.status == StaffStatus.active, org_repo.readable_staff(actor)
    )
    if role_code:
        query = query.where(Staff.id.in_(select(StaffRole.staff_id).where(StaffRole.role_code == role_code)))
    staff = session.execute(query.order_by(Staff.code)).all()
    if not staff:
        raise Invalid(
            f"bulk target: org unit {unit_id} has no active staff"
            + (f" with role {role_code}" if role_code else "")
        )
    existing = _exists(session, TargetSubject.staff, [s.id for s in staff], checked)
    rows = [_row(checked, TargetSubject.staff, s.id, unit_id, actor) for s in staff if s.id not in existing]
    if rows:
        session.execute(insert(Target), rows)
        new_ids = session.scalars(
            select(Target.id).where(
                Target.subject_kind == TargetSubject.staff,
                Target.subject_id.in_([r["subject_id"] for r in rows]),
                Target.metric_code == checked.metric_code,
                Target.first_day == checked.period.first,
                Target.last_day == checked.period.last,
            )
        ).all()
        detail = {"unit_id": unit_id, "metric": checked.metric_code, "period": checked.period.label,
                  "target_value": checked.target_value, "role": role_code}  # fmt: skip
        audit_many(session, actor, "target.bulk_create", "target", new_ids, detail)
    return BulkResult(len(rows), [s.code for s in staff if s.id in existing])


@dataclass(frozen=True, slots=True)
class RollupRow:
    """One metric of a unit's roll-up: the unit's own target against the sum of its staff's targets."""

    metric_code: str
    unit_target: float | None
    unit_target_id: int | None
    staff_sum: float
    staff_count: int
    additive: bool  # False: a rate or average — staff targets do not add up, the sum is not shown

    @property
    def gap(self) -> float | None:
        """Staff sum minus the unit target (negative: the staff targets do not cover the unit's)."""
        if self.unit_target is None or not self.additive:
            return None
        return self.staff_sum - self.unit_target


def rollup(session: Session, actor: Actor, unit_id: int, period: Period) -> list[RollupRow]:
    """Per metric: the unit's target vs the sum of staff targets in its subtree for the same period (2 queries)."""
    unit = org_repo.get_unit(session, actor, unit_id)
    if unit is None:
        raise NotFound(f"roll-up: org unit {unit_id} does not exist")
    same_period = (Target.first_day == period.first, Target.last_day == period.last)
    subtree = org_repo.subtree_ids(unit.path)
    staff_rows = session.execute(
        select(Target.metric_code, func.sum(Target.target_value), func.count())
        .where(Target.subject_kind == TargetSubject.staff, Target.unit_id.in_(subtree), *same_period)
        .where(readable_targets(actor))
        .group_by(Target.metric_code)
    ).all()
    unit_rows = session.execute(
        select(Target.metric_code, Target.target_value, Target.id).where(
            Target.subject_kind == TargetSubject.unit, Target.subject_id == unit_id, *same_period
        )
    ).all()
    sums = {code: (float(total or 0), int(n)) for code, total, n in staff_rows}
    own = {code: (float(value), int(tid)) for code, value, tid in unit_rows}
    out = []
    for code in sorted(sums.keys() | own.keys()):
        total, n = sums.get(code, (0.0, 0))
        value, tid = own.get(code, (None, None))
        out.append(RollupRow(code, value, tid, total, n, is_additive(code)))
    return out


def is_additive(code: str) -> bool:
    """Whether the metric's values add up over days and people (counts and money sums, not stocks or rates)."""
    from siyu.performance.compute import SPECS

    spec = SPECS.get(code)
    if spec is None or spec.how not in ("sum", "diff"):
        return False
    # A population is a stock measured over the period, not a flow: it neither accrues day by day nor adds up.
    return not code.startswith("private_users")


def resolve_subject(session: Session, actor: Actor, kind: str, code: str) -> int:
    """The id of a readable staff member or unit given its code (forms use codes, not ids)."""
    if kind == TargetSubject.staff.value:
        found = session.scalar(select(Staff.id).where(Staff.code == code, org_repo.readable_staff(actor)))
    elif kind == TargetSubject.unit.value:
        unit = org_repo.get_unit_by_code(session, actor, code)
        found = unit.id if unit is not None else None
    else:
        raise Invalid(f"target: subject kind {kind!r} must be 'staff' or 'unit'")
    if found is None:
        raise NotFound(f"target subject: {kind} {code!r} does not exist")
    return int(found)
