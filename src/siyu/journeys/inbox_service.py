"""The task inbox: a guide's open tasks for today and overdue, mark done (events, send confirmation), team figures.

Team figures use the catalog's definitions (performance/metrics_activity.task_facts), so they reconcile:
done = status done with done_at in the period; due = due_at in the period and not cancelled;
on time = due, done and done_at ≤ due_at; on-time rate = on time ÷ due.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from siyu.audit import audit_many
from siyu.db.types import utcnow
from siyu.errors import Forbidden, Invalid, NotFound
from siyu.events import NewEvent, record_events
from siyu.models import Staff, StaffTask, TaskStatus
from siyu.org import repository as org_repo
from siyu.org.permissions import Actor, PermissionRole
from siyu.performance.repository import count_if
from siyu.timeutil import brand_zone, day_range_utc, local_date
from siyu.web.access import access_for
from siyu.web.i18n import N_

# Managers and the head see their data scope's tasks by person; everyone with a staff record has an inbox.
TEAM_VIEW = access_for(
    (
        PermissionRole.admin,
        PermissionRole.private_domain_lead,
        PermissionRole.manager,
        PermissionRole.operator,
    )
)
TASK_DONE = "task_done"
MAX_OPEN = 500
# Inbox groups, in display order: (key, label msgid, task kinds); content-pack tasks group by their origin.
GROUPS: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("journey", N_("Journey steps"), frozenset({"journey_step", "follow_up"})),
    ("send", N_("Messages to send"), frozenset({"send_message"})),
    ("recall", N_("Recalls"), frozenset({"recall"})),
    ("greeting", N_("Greetings"), frozenset({"holiday_greeting", "birthday_greeting", "greeting"})),
    ("pack", N_("Content pack"), frozenset({"forward"})),
    ("moments", N_("Moments posts"), frozenset({"moments_post"})),
    ("other", N_("Other tasks"), frozenset()),
)
PACK_ORIGIN = "content-pack"


def group_of(kind: str, origin: str | None) -> str:
    """The inbox group of a task."""
    if origin == PACK_ORIGIN:
        return "pack"
    for key, _label, kinds in GROUPS:
        if kind in kinds:
            return key
    return "other"


@dataclass
class InboxGroup:
    """One group of the inbox: its tasks, overdue first."""

    key: str
    label: str
    tasks: list[StaffTask] = field(default_factory=list)


@dataclass
class Inbox:
    """A person's open tasks due today or earlier, grouped; counts for the header."""

    staff_id: int
    day: date
    groups: list[InboxGroup]
    open_today: int
    overdue: int
    done_today: int


def inbox_staff_id(session: Session, actor: Actor, staff_id: int | None) -> int:
    """Whose inbox: one's own, or (for team viewers) a staff member in the actor's scope."""
    if staff_id is None or staff_id == actor.staff_id:
        if actor.staff_id is None:
            raise NotFound("this account is not linked to a staff member, so it has no task inbox")
        return actor.staff_id
    if not TEAM_VIEW.allows(actor) or org_repo.get_staff(session, actor, staff_id) is None:
        raise NotFound(f"staff {staff_id} is not in your data scope")
    return staff_id


def inbox(session: Session, actor: Actor, staff_id: int | None, now: datetime | None = None) -> Inbox:
    """Open tasks due before tomorrow (brand-local), grouped by kind; overdue = due before now."""
    at = now or utcnow()
    who = inbox_staff_id(session, actor, staff_id)
    zone = brand_zone()
    today = local_date(at, zone)
    start, end = day_range_utc(today, today, zone)
    t = StaffTask
    tasks = session.scalars(
        select(t)
        .where(t.staff_id == who, t.status == TaskStatus.open, t.due_at < end)
        .order_by(t.due_at, t.id)
        .limit(MAX_OPEN)
    ).all()
    done_today = session.scalar(
        select(func.count()).where(
            t.staff_id == who, t.status == TaskStatus.done, t.done_at >= start, t.done_at < end
        )
    )
    groups = {key: InboxGroup(key, label) for key, label, _ in GROUPS}
    for task in tasks:
        groups[group_of(task.kind, task.origin)].tasks.append(task)
    overdue = sum(1 for task in tasks if task.due_at < at)
    return Inbox(
        who,
        today,
        [g for g in groups.values() if g.tasks],
        len(tasks) - overdue,
        overdue,
        int(done_today or 0),
    )


@dataclass(frozen=True)
class DoneResult:
    """What mark-done changed: tasks closed now, ids already closed (ignored), outbound rows confirmed."""

    done: int
    skipped: list[int]
    confirmed: int


def _may_close(actor: Actor, staff_id: int, in_scope: set[int]) -> bool:
    return staff_id == actor.staff_id or (TEAM_VIEW.allows(actor) and staff_id in in_scope)


def mark_done(
    session: Session,
    actor: Actor,
    task_ids: Sequence[int],
    proof: str | None = None,
    now: datetime | None = None,
) -> DoneResult:
    """Close open tasks (one's own, or in scope for team viewers): done_at, evidence, task_done events, sends confirmed."""
    from siyu.journeys.sending import confirm_for_tasks

    ids = sorted(set(task_ids))
    if not ids:
        raise Invalid("task_ids: give at least one task")
    if len(ids) > MAX_OPEN:
        raise Invalid(f"task_ids: at most {MAX_OPEN} tasks at once")
    evidence = (proof or "").strip() or None
    if evidence is not None and len(evidence) > 500:
        raise Invalid("proof: at most 500 characters (a message id or a short note)")
    at = now or utcnow()
    rows = session.execute(
        select(
            StaffTask.id,
            StaffTask.staff_id,
            StaffTask.status,
            StaffTask.kind,
            StaffTask.customer_id,
            Staff.unit_id,
        )
        .join(Staff, Staff.id == StaffTask.staff_id)
        .where(StaffTask.id.in_(ids))
        .order_by(StaffTask.id)
    ).all()
    found = {r.id for r in rows}
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(f"task(s) {missing} do not exist")
    staff_ids = {r.staff_id for r in rows}
    in_scope = set(
        session.scalars(select(Staff.id).where(Staff.id.in_(staff_ids), org_repo.readable_staff(actor)))
    )
    denied = [r.id for r in rows if not _may_close(actor, r.staff_id, in_scope)]
    if denied:
        raise Forbidden(f"task(s) {denied} belong to someone outside your inbox and scope")
    closing = [r for r in rows if r.status == TaskStatus.open]
    skipped = [r.id for r in rows if r.status != TaskStatus.open]
    if closing:
        closing_ids = [r.id for r in closing]
        values: dict[str, object] = {"status": TaskStatus.done, "done_at": at}
        if evidence is not None:
            values["evidence"] = evidence
        # RETURNING: a concurrent request may have closed some meanwhile; only what this one closed counts.
        closed = set(
            session.scalars(
                update(StaffTask)
                .where(StaffTask.id.in_(closing_ids), StaffTask.status == TaskStatus.open)
                .values(**values)
                .returning(StaffTask.id)
                .execution_options(synchronize_session=False)
            )
        )
        skipped += [r.id for r in closing if r.id not in closed]
        closing = [r for r in closing if r.id in closed]
        closing_ids = [r.id for r in closing]
        record_events(
            session,
            [
                NewEvent(
                    TASK_DONE,
                    at,
                    customer_id=r.customer_id,
                    staff_id=r.staff_id,
                    unit_id=r.unit_id,
                    subject_type="staff_task",
                    subject_id=r.id,
                    data={"task_kind": r.kind, **({"proof": evidence} if evidence else {})},
                )
                for r in closing
            ],
        )
        audit_many(session, actor, "task.done", "staff_task", closing_ids, {"proof": evidence})
    confirmed = confirm_for_tasks(session, [r.id for r in closing], at) if closing else 0
    return DoneResult(len(closing), skipped, int(confirmed or 0))


@dataclass(frozen=True)
class StaffFigures:
    """One person's task figures in a period (definitions as the catalog's tasks_done / task_on_time_rate)."""

    staff_id: int
    name: str
    done: int
    due: int
    on_time: int
    overdue_open: int

    @property
    def on_time_rate(self) -> float | None:
        """on time ÷ due; None when nothing fell due."""
        return self.on_time / self.due if self.due else None


def team_figures(
    session: Session, actor: Actor, first: date, last: date, now: datetime | None = None
) -> list[StaffFigures]:
    """Per staff member in the actor's scope with tasks in first..last (brand-local days), one grouped query."""
    if not TEAM_VIEW.allows(actor):
        raise Forbidden(f"role {actor.role.value!r} may not see the team's tasks")
    if last < first or (last - first) > timedelta(days=92):
        raise Invalid(f"period {first}..{last}: the last day must be on or after the first, within 93 days")
    at = now or utcnow()
    start, end = day_range_utc(first, last, brand_zone())
    t = StaffTask
    done_in = and_(t.status == TaskStatus.done, t.done_at >= start, t.done_at < end)
    due_in = and_(t.due_at >= start, t.due_at < end, t.status != TaskStatus.cancelled)
    on_time = and_(due_in, t.status == TaskStatus.done, t.done_at <= t.due_at)
    overdue = and_(due_in, t.status == TaskStatus.open, t.due_at < at)
    rows = session.execute(
        select(
            t.staff_id, Staff.name, count_if(done_in), count_if(due_in), count_if(on_time), count_if(overdue)
        )
        .join(Staff, Staff.id == t.staff_id)
        .where(
            org_repo.readable_staff(actor),
            or_(and_(t.done_at >= start, t.done_at < end), and_(t.due_at >= start, t.due_at < end)),
        )
        .group_by(t.staff_id, Staff.name)
        .order_by(Staff.name, t.staff_id)
    ).all()
    return [StaffFigures(int(r[0]), str(r[1]), *(int(v or 0) for v in r[2:])) for r in rows]
