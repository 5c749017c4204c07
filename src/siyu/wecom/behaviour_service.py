"""The WeCom behaviour page's figures: per staff totals of the stored snapshots over the last N days."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from siyu.models import OrgUnit, Staff, StaffStatus, WecomBehaviorSnapshot
from siyu.org.permissions import Actor
from siyu.org.repository import readable_staff
from siyu.performance.compute import compute_metrics
from siyu.performance.contract import MetricValue, Period, SubjectKind

WINDOW_DAYS = 30
# The page's columns are catalog metrics, so the page and the KPIs share one 口径.
CODES = (
    "wecom_chats",
    "wecom_messages",
    "wecom_reply_rate",
    "wecom_avg_reply_seconds",
    "wecom_negative_feedback",
    "wecom_new_contacts",
)
DAILY = ("chat_cnt", "message_cnt", "negative_feedback_cnt", "new_contact_cnt")


@dataclass(frozen=True, slots=True)
class StaffBehaviour:
    """One staff member's row: catalog values for the window and how many days have a snapshot."""

    staff_id: int
    code: str
    name: str
    unit_name: str
    wecom_userid: str | None
    days_with_snapshot: int
    values: dict[str, MetricValue | None]


@dataclass(slots=True)
class BehaviourReport:
    """The window, the rows, the daily sums over the visible staff (None = no snapshot that day) and retention."""

    first: date
    last: date
    rows: list[StaffBehaviour]
    days: list[date]
    daily: dict[str, list[int | None]] = field(default_factory=dict)
    oldest_day: date | None = None
    newest_day: date | None = None


def behaviour_report(session: Session, actor: Actor, last: date, days: int = WINDOW_DAYS) -> BehaviourReport:
    """Totals per staff the actor may read over the days last − days + 1 .. last (snapshot days, Beijing)."""
    first = last - timedelta(days=days - 1)
    s, b = Staff, WecomBehaviorSnapshot
    in_window = (b.day >= first) & (b.day <= last)
    counted = select(b.staff_id, func.count().label("n")).where(in_window).group_by(b.staff_id).subquery()
    listed = session.execute(
        select(s.id, s.code, s.name, OrgUnit.name, s.wecom_userid, func.coalesce(counted.c.n, 0))
        .join(OrgUnit, OrgUnit.id == s.unit_id)
        .outerjoin(counted, counted.c.staff_id == s.id)
        .where(
            readable_staff(actor),
            # Active members linked to WeCom, and anyone (e.g. since left) with snapshots in the window.
            or_(s.wecom_userid.is_not(None) & (s.status == StaffStatus.active), counted.c.n > 0),
        )
        .order_by(OrgUnit.name, s.code)
    ).all()
    ids = [int(r[0]) for r in listed]
    table = compute_metrics(session, CODES, Period.custom(first, last), SubjectKind.staff, subject_ids=ids)
    rows = [
        StaffBehaviour(
            staff_id=int(r[0]),
            code=r[1],
            name=r[2],
            unit_name=r[3],
            wecom_userid=r[4],
            days_with_snapshot=int(r[5]),
            values={code: table.get(code, int(r[0])) for code in CODES},
        )
        for r in listed
    ]
    report = BehaviourReport(first, last, rows, [first + timedelta(days=n) for n in range(days)])
    visible = select(s.id).where(readable_staff(actor))
    per_day = {
        row[0]: row[1:]
        for row in session.execute(
            select(b.day, *(func.sum(getattr(b, name)) for name in DAILY))
            .where(in_window, b.staff_id.in_(visible))
            .group_by(b.day)
        )
    }
    for index, name in enumerate(DAILY):
        report.daily[name] = [int(per_day[d][index] or 0) if d in per_day else None for d in report.days]
    report.oldest_day, report.newest_day = session.execute(
        select(func.min(b.day), func.max(b.day)).where(b.staff_id.in_(visible))
    ).one()
    return report
