"""Progress of targets (actual from the catalog, %, pace, tier) and a person's weighted KPI score.

Achievement % for a higher-is-better metric is actual ÷ target × 100. For a lower-is-better metric
(response time, unanswered customers…) it is 100 × (2 − actual ÷ target), floored at 0: on target is
100 %, 20 % under target is 120 %, double the target is 0 % — continuous, and defined when actual is 0.
Tiers compare exactly (no rounding): below < 100 % ≤ achieved < exceed_percent ≤ exceeded.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.models import KpiSet, PaceCurve, StaffRole, Target, TargetSubject
from siyu.performance.catalog import METRICS
from siyu.performance.compute import compute_metrics
from siyu.performance.contract import Direction, MetricDef, Period, SubjectKind
from siyu.performance.kpi_seed import HEAD_ROLE
from siyu.performance.kpi_service import kpi_set_for
from siyu.performance.settings import PerformanceSettings
from siyu.performance.targets_service import is_additive, period_of

SCORE_CAP_PERCENT = (
    150  # one item's achievement counts at most 150 % in a score, so one metric can't carry it
)


class Tier(StrEnum):
    """The three tiers of the articles: 未达成 / 达成 / 超额达成."""

    below = "below"
    achieved = "achieved"
    exceeded = "exceeded"


def achievement_percent(actual: float, target: float, direction: Direction) -> float:
    """Achievement % of actual against target (see the module docstring for lower-is-better metrics)."""
    if direction is Direction.lower:
        return max(0.0, 100.0 * (2.0 - actual / target))
    return 100.0 * actual / target


def tier_of(actual: float, target: float, exceed_percent: int, direction: Direction) -> Tier:
    """The tier reached, compared in exact arithmetic on actual and target rather than a rounded %."""
    if direction is Direction.lower:
        # percent ≥ p  ⇔  2 − a/t ≥ p/100  ⇔  100·a ≤ (200 − p)·t
        reached = lambda p: 100 * actual <= (200 - p) * target  # noqa: E731
    else:
        reached = lambda p: 100 * actual >= p * target  # noqa: E731
    if reached(exceed_percent):
        return Tier.exceeded
    return Tier.achieved if reached(100) else Tier.below


def elapsed_days(period: Period, today: date) -> int:
    """Days of the period up to and including today (0 before it starts, all of them after it ends)."""
    return max(0, min(period.days, (today - period.first).days + 1))


def expected_by(target: Target, period: Period, today: date) -> float:
    """Where the value should be by the end of today: a share of the target for additive metrics, else the target."""
    if not is_additive(target.metric_code):
        return float(target.target_value)  # a rate or stock is expected at its target level all along
    done = elapsed_days(period, today)
    if target.pace_curve is PaceCurve.seasonal and target.day_weights:
        weights = [float(w) for w in target.day_weights]
        return float(target.target_value) * sum(weights[:done]) / sum(weights)
    return float(target.target_value) * done / period.days


def to_date(period: Period, today: date) -> Period:
    """The part of period up to and including today (the whole period before it starts or after it ends)."""
    # A report for a past day must not count what happened after it.
    if period.first <= today < period.last:
        return Period.custom(period.first, today)
    return period


@dataclass(frozen=True, slots=True)
class Progress:
    """A target with its actual (the catalog's value), achievement, pace and tier."""

    target: Target
    metric: MetricDef
    actual: float | int | None  # None: undefined in the catalog (e.g. a rate with no denominator)
    percent: float | None
    expected: float
    pace_percent: float | None  # achievement of actual against the expected value by today
    elapsed: int
    days: int
    tier: Tier | None

    @property
    def penalised(self) -> bool:
        """Below target and not flagged as new business (the articles advise no penalties for new business)."""
        return self.tier is Tier.below and not self.target.new_business

    @property
    def bar_percent(self) -> int:
        """Width of the progress bar, 0..100."""
        return 0 if self.percent is None else int(min(100.0, self.percent))


def progress_many(
    session: Session,
    targets: Sequence[Target],
    today: date,
    *,
    zone: ZoneInfo | None = None,
    settings: PerformanceSettings | None = None,
) -> list[Progress]:
    """Progress of every target, with ONE compute_metrics call per (period, subject kind) batch."""
    batches: dict[tuple[Period, TargetSubject], list[Target]] = defaultdict(list)
    for t in targets:
        batches[(to_date(period_of(t), today), t.subject_kind)].append(t)
    actuals: dict[int, float | int | None] = {}
    for (period, kind), batch in batches.items():
        codes = sorted({t.metric_code for t in batch})
        table = compute_metrics(
            session, codes, period, SubjectKind(kind.value),
            subject_ids={t.subject_id for t in batch}, zone=zone, settings=settings,
        )  # fmt: skip
        for t in batch:
            value = table.get(t.metric_code, t.subject_id)
            # The catalog leaves out subjects with nothing to count: a sum is then 0, a rate undefined.
            actuals[t.id] = value.value if value is not None else (0 if is_additive(t.metric_code) else None)
    out = []
    for t in targets:
        period, definition, actual = period_of(t), METRICS[t.metric_code], actuals[t.id]
        target_value = float(t.target_value)
        expected = expected_by(t, period, today)
        percent = pace = None
        tier = None
        if actual is not None:
            percent = achievement_percent(float(actual), target_value, definition.direction)
            tier = tier_of(float(actual), target_value, t.exceed_percent, definition.direction)
            if expected > 0:
                pace = achievement_percent(float(actual), expected, definition.direction)
        elapsed = elapsed_days(period, today)
        out.append(Progress(t, definition, actual, percent, expected, pace, elapsed, period.days, tier))
    return out


@dataclass(frozen=True, slots=True)
class ScoreItem:
    """One KPI-set item in a person's score."""

    metric_code: str
    weight: int
    progress: Progress | None  # None: no target for this metric and period

    @property
    def counted_percent(self) -> float | None:
        """Achievement % as counted in the score (capped at SCORE_CAP_PERCENT)."""
        if self.progress is None or self.progress.percent is None:
            return None
        return min(self.progress.percent, float(SCORE_CAP_PERCENT))


@dataclass(frozen=True, slots=True)
class Score:
    """A person's KPI score for a period under the set in force on the period's first day."""

    staff_id: int
    period: Period
    role_code: str | None
    kpi_set: KpiSet | None
    items: list[ScoreItem]

    @property
    def covered_weight(self) -> int:
        """Weight of the items that have a target and a defined actual."""
        return sum(i.weight for i in self.items if i.counted_percent is not None)

    @property
    def value(self) -> float | None:
        """Σ weight × capped achievement ÷ covered weight: items without a target are left out, not scored 0."""
        covered = self.covered_weight
        if not covered:
            return None
        return sum(i.weight * (i.counted_percent or 0.0) for i in self.items) / covered


def staff_score(
    session: Session, staff_id: int, period: Period, today: date, role_code: str | None = None
) -> Score:
    """Score a staff member: the KPI set in force on period.first for their role × the stage then, × their targets."""
    roles = sorted(session.scalars(select(StaffRole.role_code).where(StaffRole.staff_id == staff_id)))
    candidates = [role_code] if role_code else (roles or [HEAD_ROLE])
    chosen_role, kpi_set = None, None
    for role in candidates:
        kpi_set = kpi_set_for(session, role, period.first)
        if kpi_set is not None:
            chosen_role = role
            break
    if kpi_set is None:
        return Score(staff_id, period, candidates[0], None, [])
    targets = session.scalars(
        select(Target).where(
            Target.subject_kind == TargetSubject.staff,
            Target.subject_id == staff_id,
            Target.first_day == period.first,
            Target.last_day == period.last,
            Target.metric_code.in_([i.metric_code for i in kpi_set.items]),
        )
    ).all()
    by_code = {p.target.metric_code: p for p in progress_many(session, targets, today)}
    items = [ScoreItem(i.metric_code, i.weight, by_code.get(i.metric_code)) for i in kpi_set.items]
    return Score(staff_id, period, chosen_role, kpi_set, items)
