"""Reading incidents within a scope: filtered list, status counts, per-staff table, daily trend, conversation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from siyu.compliance.access import readable_incidents
from siyu.db.types import utcnow
from siyu.errors import Invalid, NotFound
from siyu.models import ChatMessage, Customer, Staff
from siyu.models.compliance import ComplianceCategory, IncidentStatus, SensitiveIncident, Severity
from siyu.org import repository as org_repo
from siyu.org.permissions import Actor
from siyu.reports.repository import bucket_text, local_bucket
from siyu.timeutil import brand_zone, day_range_utc, local_date

SI = SensitiveIncident
DEFAULT_DAYS = 30
MAX_DAYS = 366


@dataclass(frozen=True)
class IncidentFilter:
    """What the list, counts and trend are narrowed to (all optional but the local-day range)."""

    first: date
    last: date
    status: IncidentStatus | None = None
    category: ComplianceCategory | None = None
    severity: Severity | None = None
    staff_id: int | None = None
    unit_id: int | None = None
    detector: str | None = None

    @property
    def days(self) -> list[date]:
        """Every local day of the range."""
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]


def default_range(days: int = DEFAULT_DAYS) -> tuple[date, date]:
    """The last `days` local days, today included."""
    today = local_date(utcnow(), brand_zone())
    return today - timedelta(days=days - 1), today


def make_filter(
    first: date | None = None,
    last: date | None = None,
    **narrow: Any,
) -> IncidentFilter:
    """An IncidentFilter with the default range filled in; refuses reversed or over-long ranges."""
    d_first, d_last = default_range()
    last = last or d_last
    first = first or min(d_first, last)
    if first > last:
        raise Invalid(f"date range: from {first} is after to {last}")
    if (last - first).days >= MAX_DAYS:
        raise Invalid(f"date range: {first} – {last} is longer than {MAX_DAYS} days")
    return IncidentFilter(first=first, last=last, **narrow)


def _where(session: Session, actor: Actor, f: IncidentFilter, *, with_status: bool = True) -> list[Any]:
    start, end = day_range_utc(f.first, f.last, brand_zone())
    clauses: list[ColumnElement[bool]] = [
        readable_incidents(actor),
        SI.occurred_at >= start,
        SI.occurred_at < end,
    ]
    if with_status and f.status is not None:
        clauses.append(SI.status == f.status)
    if f.category is not None:
        clauses.append(SI.category == f.category)
    if f.severity is not None:
        clauses.append(SI.severity == f.severity)
    if f.staff_id is not None:
        clauses.append(SI.staff_id == f.staff_id)
    if f.detector:
        clauses.append(SI.detector == f.detector)
    if f.unit_id is not None:
        unit = org_repo.get_unit(session, actor, f.unit_id)
        if unit is None:
            raise NotFound(f"unit {f.unit_id}: no such org unit in your scope")
        clauses.append(SI.unit_id.in_(org_repo.subtree_ids(unit.path)))
    return clauses


@dataclass
class IncidentRow:
    """One incident as listed (no message text: the detail page shows it, audited)."""

    incident: SensitiveIncident
    staff_name: str | None
    customer_name: str | None


@dataclass
class IncidentPage:
    """A page of the filtered list and the total it comes from."""

    rows: list[IncidentRow]
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        """Number of pages (at least 1)."""
        return max(1, -(-self.total // self.size))


def list_incidents(
    session: Session, actor: Actor, f: IncidentFilter, *, page: int = 1, size: int = 50
) -> IncidentPage:
    """Newest first; one query for the page, one for the total, one each for staff and customer names."""
    where = _where(session, actor, f)
    total = session.scalar(select(func.count()).select_from(SI).where(*where)) or 0
    found = session.scalars(
        select(SI)
        .where(*where)
        .order_by(SI.occurred_at.desc(), SI.id.desc())
        .offset((page - 1) * size)
        .limit(size)
    ).all()
    staff = staff_names(session, {r.staff_id for r in found if r.staff_id is not None})
    customers = customer_names(session, {r.customer_id for r in found if r.customer_id is not None})
    rows = [IncidentRow(r, staff.get(r.staff_id or 0), customers.get(r.customer_id or 0)) for r in found]
    return IncidentPage(rows, total, page, size)


def staff_names(session: Session, ids: set[int]) -> dict[int, str]:
    """Names of staff (one IN query); the ids come from rows already scope-checked."""
    if not ids:
        return {}
    return {i: n for i, n in session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(ids)))}


def customer_names(session: Session, ids: set[int]) -> dict[int, str]:
    """Names of customers (one IN query); unnamed customers show their id."""
    if not ids:
        return {}
    rows = session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids)))
    return {i: n or f"#{i}" for i, n in rows}


def status_counts(session: Session, actor: Actor, f: IncidentFilter) -> dict[IncidentStatus, int]:
    """Incidents per status under the filter (the status filter itself ignored), one grouped query."""
    counts = dict.fromkeys(IncidentStatus, 0)
    rows = session.execute(
        select(SI.status, func.count())
        .where(*_where(session, actor, f, with_status=False))
        .group_by(SI.status)
    )
    for status, n in rows:
        counts[IncidentStatus(status)] = int(n)
    return counts


@dataclass
class StaffCounts:
    """A staff member's incidents by status (staff_id None: incidents not tied to a person)."""

    staff_id: int | None
    name: str
    counts: dict[IncidentStatus, int] = field(default_factory=lambda: dict.fromkeys(IncidentStatus, 0))

    @property
    def total(self) -> int:
        """All statuses together."""
        return sum(self.counts.values())


def per_staff(session: Session, actor: Actor, f: IncidentFilter) -> list[StaffCounts]:
    """Open / confirmed / dismissed per staff member in scope, most incidents first (one grouped query)."""
    rows = session.execute(
        select(SI.staff_id, SI.status, func.count())
        .where(*_where(session, actor, f))
        .group_by(SI.staff_id, SI.status)
    ).all()
    names = staff_names(session, {s for s, _, _ in rows if s is not None})
    table: dict[int | None, StaffCounts] = {}
    for staff_id, status, n in rows:
        entry = table.get(staff_id)
        if entry is None:
            name = names.get(staff_id, f"#{staff_id}") if staff_id is not None else "—"
            entry = table[staff_id] = StaffCounts(staff_id, name)
        entry.counts[IncidentStatus(status)] += int(n)
    return sorted(table.values(), key=lambda e: (-e.total, e.name))


def category_counts(session: Session, actor: Actor, f: IncidentFilter) -> dict[ComplianceCategory, int]:
    """Incidents per category under the filter (one grouped query)."""
    counts = dict.fromkeys(ComplianceCategory, 0)
    rows = session.execute(
        select(SI.category, func.count()).where(*_where(session, actor, f)).group_by(SI.category)
    )
    for category, n in rows:
        counts[ComplianceCategory(category)] = int(n)
    return counts


def trend(session: Session, actor: Actor, f: IncidentFilter) -> dict[ComplianceCategory, list[int]]:
    """Incidents per local day and category (only categories with any), one grouped query in SQL."""
    start, end = day_range_utc(f.first, f.last, brand_zone())
    day = local_bucket(session, SI.occurred_at, "day", brand_zone(), start, end)
    rows = session.execute(
        select(day, SI.category, func.count()).where(*_where(session, actor, f)).group_by(day, SI.category)
    ).all()
    index = {d.isoformat(): i for i, d in enumerate(f.days)}
    series: dict[ComplianceCategory, list[int]] = {}
    for bucket, category, n in rows:
        at = index.get(bucket_text(bucket, "day"))
        if at is None:
            continue
        series.setdefault(ComplianceCategory(category), [0] * len(index))[at] += int(n)
    return {c: series[c] for c in ComplianceCategory if c in series}


def detectors(session: Session, actor: Actor) -> list[str]:
    """Detectors that produced incidents in the actor's scope (for the filter's choices)."""
    rows = session.scalars(
        select(SI.detector).where(readable_incidents(actor)).distinct().order_by(SI.detector)
    )
    return list(rows)


# --- messages ------------------------------------------------------------------------------------


def _same_conversation(message: ChatMessage) -> ColumnElement[bool]:
    M = ChatMessage
    if message.group_id is not None:
        return M.group_id == message.group_id
    return and_(
        M.group_id.is_(None),
        M.staff_id.is_(None) if message.staff_id is None else M.staff_id == message.staff_id,
        M.customer_id.is_(None) if message.customer_id is None else M.customer_id == message.customer_id,
    )


def incident_messages(session: Session, incident: SensitiveIncident) -> list[ChatMessage]:
    """The incident's own message and its extra messages, in time order (one query)."""
    ids = [incident.message_id] if incident.message_id is not None else []
    ids += [int(i) for i in incident.extra_message_ids or []]
    if not ids:
        return []
    found = session.scalars(select(ChatMessage).where(ChatMessage.id.in_(ids)))
    return sorted(found, key=lambda m: (m.sent_at, m.id))


def conversation(
    session: Session, messages: Sequence[ChatMessage], around: int = 3
) -> tuple[list[ChatMessage], list[ChatMessage]]:
    """Up to `around` messages of the same conversation before the first and after the last of messages."""
    if not messages:
        return [], []
    M = ChatMessage
    first, last = messages[0], messages[-1]
    own = {m.id for m in messages}
    before = session.scalars(
        select(M)
        .where(
            _same_conversation(first),
            or_(M.sent_at < first.sent_at, and_(M.sent_at == first.sent_at, M.id < first.id)),
        )
        .order_by(M.sent_at.desc(), M.id.desc())
        .limit(around)
    ).all()
    after = session.scalars(
        select(M)
        .where(
            _same_conversation(last),
            or_(M.sent_at > last.sent_at, and_(M.sent_at == last.sent_at, M.id > last.id)),
        )
        .order_by(M.sent_at, M.id)
        .limit(around)
    ).all()
    return [m for m in reversed(before) if m.id not in own], [m for m in after if m.id not in own]
