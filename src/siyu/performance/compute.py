"""compute_metrics: the whole catalog for all subjects of a period, one grouped query per metric family."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.errors import Forbidden, Invalid
from siyu.models import OrgUnit, Staff
from siyu.org import repository as org_repo
from siyu.org.permissions import Actor, DataScope
from siyu.performance import (
    metrics_activity,
    metrics_compliance,
    metrics_customers,
    metrics_insights,
    metrics_results,
    metrics_users,
    metrics_wecom,
)
from siyu.performance.catalog import METRICS, metric
from siyu.performance.contract import (
    COMPANY_SUBJECT_ID,
    MetricTable,
    MetricValue,
    Period,
    PeriodKind,
    SubjectKind,
)
from siyu.performance.repository import Ctx, Facts, OrgTree, load_org, make_ctx, roll_up
from siyu.performance.settings import DEFAULT_SETTINGS, PerformanceSettings
from siyu.timeutil import brand_zone

MAX_CUSTOM_DAYS = 366
FAMILIES: dict[str, Callable[[Ctx], Facts]] = {
    "orders": metrics_results.orders_facts,
    "headcount": metrics_results.headcount_facts,
    "customers": metrics_customers.customer_state_facts,
    "recall": metrics_results.recall_facts,
    "contacts": metrics_users.contact_facts,
    "retention": metrics_users.retention_facts,
    "tasks": metrics_activity.task_facts,
    "messages": metrics_activity.message_facts,
    "rfm": metrics_insights.rfm_facts,
    "warnings": metrics_insights.warning_facts,
    "incidents": metrics_compliance.incident_facts,
    "wecom": metrics_wecom.behaviour_facts,
    "wecom_groups": metrics_wecom.group_stat_facts,
}


@dataclass(frozen=True, slots=True)
class Spec:
    """How a metric's value comes from family fields: a sum, a ratio num ÷ den, or a difference num − den."""

    how: str  # "sum" | "ratio" | "diff" | "unavailable"
    num: tuple[str, str] | None = None  # (family, field)
    den: tuple[str, str] | None = None


def _sum(family: str, field: str) -> Spec:
    return Spec("sum", (family, field))


def _ratio(family: str, num: str, den: str, den_family: str | None = None) -> Spec:
    return Spec("ratio", (family, num), (den_family or family, den))


SPECS: dict[str, Spec] = {
    "private_users": _sum("customers", "private_users"),
    **{
        f"private_users_{ch.value}": _sum("customers", f"private_users_{ch.value}")
        for ch in metrics_users.CHANNELS
    },
    "new_contacts": _sum("contacts", "new_contacts"),
    "net_growth": Spec("diff", ("contacts", "new_contacts"), ("contacts", "contacts_ended")),
    "customers_lost": _sum("contacts", "customers_lost"),
    **{
        f"retention_rate_{d}d" + ("" if ch == "all" else f"_{ch}"): _ratio(
            "retention", f"kept_{d}_{ch}", f"cohort_{d}_{ch}"
        )
        for d in metrics_users.RETENTION_DAYS
        for ch in ("all", *(c.value for c in metrics_users.CHANNELS))
    },
    "gmv": _sum("orders", "gmv"),
    "orders": _sum("orders", "orders"),
    "avg_order_value": _ratio("orders", "gmv", "orders"),
    "conversion_rate": _ratio("customers", "pop_buyers", "population"),
    "repurchase_rate": _ratio("customers", "repeat_buyers", "buyers"),
    "store_visit_rate": _ratio("customers", "pop_visitors", "population"),
    "referral_rate": _ratio("customers", "pop_referrers", "population"),
    "recall_rate": _ratio("recall", "recalled", "lost"),
    "high_value_share": _ratio("customers", "high_value_users", "private_users"),
    "revenue_per_staff": _ratio("orders", "gmv", "headcount", den_family="headcount"),
    "rfm_high_value_share": _ratio("rfm", "rfm_high_value", "rfm_scored"),
    "warning_recall_rate": _ratio("warnings", "warnings_recalled", "warnings_issued"),
    "tasks_done": _sum("tasks", "tasks_done"),
    "task_on_time_rate": _ratio("tasks", "tasks_on_time", "tasks_due"),
    "moments_posts": _sum("tasks", "moments_posts"),
    "greetings_sent": _sum("tasks", "greetings_sent"),
    "first_response_seconds": _ratio("messages", "delay_sum", "answered_msgs"),
    "reply_within_3min_rate": _ratio("messages", "fast_replies", "customer_msgs"),
    "unanswered_customers": _sum("messages", "unanswered_customers"),
    "sensitive_incidents": _sum("incidents", "confirmed_incidents"),
    "wecom_new_contacts": _sum("wecom", "wecom_new_contacts"),
    "wecom_negative_feedback": _sum("wecom", "wecom_negative_feedback"),
    "wecom_chats": _sum("wecom", "wecom_chats"),
    "wecom_messages": _sum("wecom", "wecom_messages"),
    "wecom_reply_rate": _ratio("wecom", "wecom_replied_chats", "wecom_rated_chats"),
    "wecom_avg_reply_seconds": _ratio("wecom", "wecom_reply_wait_sum", "wecom_timed_chats"),
    "wecom_group_messages": _sum("wecom_groups", "wecom_group_messages"),
}


def families_of(codes: Sequence[str]) -> list[str]:
    """The families (in FAMILIES order) the codes need."""
    needed = {part[0] for code in codes for part in (SPECS[code].num, SPECS[code].den) if part}
    return [name for name in FAMILIES if name in needed]


def _value(spec: Spec, sums: dict[str, dict[str, dict[int, float | int]]], subject_filter: Collection[int] | None) -> dict[int, MetricValue]:  # fmt: skip
    if spec.how == "unavailable" or spec.num is None:
        return {}
    num = sums[spec.num[0]][spec.num[1]]
    if spec.how == "sum":
        out = {s: MetricValue(v) for s, v in num.items()}
    else:
        assert spec.den is not None
        den = sums[spec.den[0]][spec.den[1]]
        out = {}
        for subject in num.keys() | den.keys():
            n, d = num.get(subject, 0), den.get(subject, 0)
            if spec.how == "diff":
                out[subject] = MetricValue(n - d, n, d)
            else:
                out[subject] = MetricValue(n / d if d else None, n, d)
    if subject_filter is not None:
        out = {s: v for s, v in out.items() if s in subject_filter}
    return out


def compute_facts(session: Session, codes: Sequence[str], period: Period, zone: ZoneInfo, settings: PerformanceSettings) -> dict[str, Facts]:  # fmt: skip
    """Run the family queries the codes need (exposed for the benchmark's per-family timings)."""
    ctx = make_ctx(session, period, zone, settings)
    return {name: FAMILIES[name](ctx) for name in families_of(codes)}


def table_from_facts(
    facts: dict[str, Facts],
    codes: Sequence[str],
    period: Period,
    subject_kind: SubjectKind,
    org: OrgTree,
    subject_ids: Collection[int] | None = None,
) -> MetricTable:
    """Roll family facts up to the subjects and derive every metric's value."""
    sums = {name: roll_up(f, subject_kind, org) for name, f in facts.items()}
    wanted = set(subject_ids) if subject_ids is not None else None
    table = MetricTable(period, subject_kind)
    for code in codes:
        table.values[code] = _value(SPECS[code], sums, wanted)
    return table


def compute_metrics(
    session: Session,
    codes: Sequence[str] | None,
    period: Period,
    subject_kind: SubjectKind,
    *,
    subject_ids: Collection[int] | None = None,
    zone: ZoneInfo | None = None,
    settings: PerformanceSettings | None = None,
) -> MetricTable:
    """Metric code → subject id → value for every subject of the kind (or only subject_ids) in the period."""
    chosen = list(METRICS) if codes is None else [metric(code).code for code in codes]
    facts = compute_facts(session, chosen, period, zone or brand_zone(), settings or DEFAULT_SETTINGS)
    return table_from_facts(facts, chosen, period, SubjectKind(subject_kind), load_org(session), subject_ids)


@dataclass(frozen=True, slots=True)
class Subject:
    """A row of a values table: who the values are about."""

    id: int
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class ScopedValues:
    """Metric values for the subjects an actor may read, with the subjects in display order."""

    table: MetricTable
    subjects: list[Subject]


def make_period(kind: str, day: date, last: date | None = None) -> Period:
    """The period of kind containing day (custom: day..last)."""
    try:
        chosen = PeriodKind(kind)
    except ValueError:
        allowed = ", ".join(k.value for k in PeriodKind)
        raise Invalid(f"period {kind!r} is not one of: {allowed}") from None
    if chosen is PeriodKind.custom:
        if last is None or last < day:
            raise Invalid(f"custom period {day}..{last}: give a last day on or after the first day")
        if (last - day).days > MAX_CUSTOM_DAYS:
            raise Invalid(f"custom period {day}..{last} is longer than {MAX_CUSTOM_DAYS} days")
        return Period.custom(day, last)
    return {
        PeriodKind.day: Period.day,
        PeriodKind.week: Period.week,
        PeriodKind.month: Period.month,
        PeriodKind.quarter: Period.quarter,
    }[chosen](day)


def scoped_values(
    session: Session,
    actor: Actor,
    codes: Sequence[str] | None,
    period: Period,
    subject_kind: SubjectKind | str,
    *,
    settings: PerformanceSettings | None = None,
) -> ScopedValues:
    """compute_metrics limited to the staff / units the actor may read; company values need scope all."""
    try:
        kind = SubjectKind(subject_kind)
    except ValueError:
        allowed = ", ".join(k.value for k in SubjectKind)
        raise Invalid(f"subject {subject_kind!r} is not one of: {allowed}") from None
    subjects = readable_subjects(session, actor, kind)
    table = compute_metrics(
        session, codes, period, kind, subject_ids={s.id for s in subjects}, settings=settings
    )
    return ScopedValues(table, subjects)


def readable_subjects(session: Session, actor: Actor, kind: SubjectKind) -> list[Subject]:
    """Staff (by code) or units (in tree order) the actor may read; the company only with scope all."""
    if kind is SubjectKind.staff:
        rows = session.execute(
            select(Staff.id, Staff.code, Staff.name)
            .where(org_repo.readable_staff(actor))
            .order_by(Staff.code)
        )
        return [Subject(int(i), str(c), str(n)) for i, c, n in rows]
    if kind is SubjectKind.unit:
        if actor.scope is DataScope.self_:
            # A unit's value sums colleagues' customers too, which a self scope may not see.
            return []
        rows = session.execute(
            select(OrgUnit.id, OrgUnit.code, OrgUnit.name)
            .where(org_repo.readable_units(actor))
            .order_by(OrgUnit.path)
        )
        return [Subject(int(i), str(c), str(n)) for i, c, n in rows]
    if actor.scope is not DataScope.all:
        raise Forbidden(
            f"company-wide metric values need data scope 'all'; account {actor.username!r} has {actor.scope.value!r}"
        )
    return [Subject(COMPANY_SUBJECT_ID, "company", "")]
