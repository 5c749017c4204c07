"""A batch's step actions, set-based per (action index, kind): touches, tasks, tags, notifications, enrolments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, and_, or_, select, true
from sqlalchemy.orm import Session, aliased

from siyu.db.bulk import copy_rows, datetime_adapter, insert_if_absent
from siyu.errors import Invalid
from siyu.journeys.contract import Action, EnrolRequest, Step, TouchRequest
from siyu.journeys.engine_conditions import Due
from siyu.journeys.engine_sql import ids_in, keys_in
from siyu.journeys.enrolment import chunks, enrol
from siyu.journeys.render import RenderItem, render_many
from siyu.models import (
    Account,
    Customer,
    Journey,
    JourneyEnrolment,
    Notification,
    OrgUnit,
    Staff,
    StaffStatus,
    StaffTask,
    Tag,
    TaskStatus,
)

STAFF_TASKS = cast(Table, StaffTask.__table__)
NOTIFICATIONS = cast(Table, Notification.__table__)
# Who hears about a journey's notify_manager step: the roles that manage a unit (as for incidents).
MANAGER_ROLES = ("admin", "private_domain_lead", "manager")

Results = dict[int, list[dict[str, Any]]]  # run_id -> one result per action, in action order


class Item(NamedTuple):
    """One due run whose conditions hold: its step, journey code and whether touches are marketing."""

    due: Due
    step: Step
    journey_code: str
    marketing: bool


class Context:
    """Per-batch lookups made at most once (customer owners, staff units)."""

    def __init__(self, session: Session, items: Sequence[Item], now: datetime) -> None:
        self.session, self.items, self.now = session, items, now
        self._owners: dict[int, int | None] | None = None
        self._active: set[int] | None = None

    def owners(self) -> dict[int, int | None]:
        """customer_id -> owner staff id for every customer in the batch."""
        if self._owners is None:
            wanted = {i.due.customer_id for i in self.items}
            rows = self.session.execute(
                select(Customer.id, Customer.owner_staff_id).where(ids_in(self.session, Customer.id, wanted))
            )
            self._owners = {int(c): o for c, o in rows}
        return self._owners

    def active_staff(self) -> set[int]:
        """Of the batch's enrolment staff and current owners, those still employed."""
        if self._active is None:
            wanted = {i.due.staff_id for i in self.items if i.due.staff_id is not None}
            wanted |= {o for o in self.owners().values() if o is not None}
            rows = self.session.scalars(
                select(Staff.id).where(
                    ids_in(self.session, Staff.id, wanted), Staff.status == StaffStatus.active
                )
            )
            self._active = {int(x) for x in rows}
        return self._active

    def staff_of(self, due: Due) -> int | None:
        """The enrolment's staff member if still employed, else the customer's current owner if employed.

        A guide who left keeps their enrolments' staff_id; after a handover the customer's owner is the
        successor, who then gets the work. No employed staff: None (the action records no_staff).
        """
        active = self.active_staff()
        for staff in (due.staff_id, self.owners().get(due.customer_id)):
            if staff is not None and staff in active:
                return staff
        return None


def key(due: Due, index: int) -> str:
    """The idempotency key of a run's action: a retried or re-claimed run never acts twice."""
    return f"step:{due.run_id}:{index}"


def run_actions(session: Session, items: Sequence[Item], now: datetime) -> Results:
    """Run every action of every item, action index by action index (a step's order is kept)."""
    results: Results = {i.due.run_id: [] for i in items}
    ctx = Context(session, items, now)
    depth = max((len(i.step.actions) for i in items), default=0)
    for index in range(depth):
        by_kind: dict[str, list[tuple[Item, Action]]] = {}
        for item in items:
            if index < len(item.step.actions):
                action = item.step.actions[index]
                by_kind.setdefault(action.kind, []).append((item, action))
        for kind, pairs in by_kind.items():
            out = _HANDLERS[kind](ctx, index, pairs)
            for (item, _action), result in zip(pairs, out, strict=True):
                results[item.due.run_id].append({"kind": kind, **result})
    return results


def _send(ctx: Context, index: int, pairs: list[tuple[Item, Action]]) -> list[dict[str, Any]]:
    arms: dict[int, dict[int, tuple[int, int]]] = {}
    for exp_id in sorted({a.experiment_id for _, a in pairs if a.experiment_id is not None}):
        try:
            from siyu.journeys.experiment_service import assign_arms
        except ImportError as exc:  # the experiments module is part of the product; without it, refuse loudly
            raise Invalid(
                f"send_script with experiment {exp_id}: experiments are not available ({exc})"
            ) from exc
        customers = sorted({i.due.customer_id for i, a in pairs if a.experiment_id == exp_id})
        arms[exp_id] = assign_arms(ctx.session, exp_id, customers, ctx.now)
    requests: list[TouchRequest] = []
    for item, action in pairs:
        arm_id: int | None = None
        script_id = action.script_id
        if action.experiment_id is not None:
            arm_id, script_id = arms[action.experiment_id][item.due.customer_id]
        assert script_id is not None  # the contract requires script_id or experiment_id
        requests.append(
            TouchRequest(
                idempotency_key=key(item.due, index),
                source_type="journey_step",
                source_id=item.due.run_id,
                channel=action.channel,
                script_id=script_id,
                customer_id=item.due.customer_id,
                staff_id=ctx.staff_of(item.due),
                experiment_arm_id=arm_id,
                is_marketing=item.marketing,
            )
        )
    from siyu.journeys.sending import queue_touches

    summary = queue_touches(ctx.session, requests, ctx.now)
    by_key = {o.idempotency_key: o for o in summary.outcomes}
    out: list[dict[str, Any]] = []
    for r in requests:
        o = by_key.get(r.idempotency_key)
        if o is None:
            out.append({"status": "missing"})
        else:
            out.append({"status": o.status, **({"reason": o.reason} if o.reason else {})})
    return out


def _task(ctx: Context, index: int, pairs: list[tuple[Item, Action]]) -> list[dict[str, Any]]:
    staffed = [(item, action, ctx.staff_of(item.due)) for item, action in pairs]
    bodies: dict[int, str] = {}
    to_render = [(item, action, staff) for item, action, staff in staffed if action.script_id is not None]
    if to_render:
        texts = render_many(
            ctx.session,
            [RenderItem(cast(int, a.script_id), i.due.customer_id, s) for i, a, s in to_render],
        )
        bodies = {i.due.run_id: t for (i, _a, _s), t in zip(to_render, texts, strict=True)}
    rows: list[dict[str, Any]] = []
    for item, action, staff in staffed:
        if staff is None:
            continue
        rows.append(
            {
                "kind": action.task_kind,
                "title": (action.title or item.step.name)[:200],
                "staff_id": staff,
                "customer_id": item.due.customer_id,
                "due_at": ctx.now + timedelta(hours=action.due_hours),
                "status": TaskStatus.open.value,
                "origin": f"journey:{item.journey_code}"[:64],
                "body": bodies.get(item.due.run_id),
                "script_id": action.script_id,
                "idempotency_key": key(item.due, index),
                "created_at": ctx.now,
            }
        )
    created = _insert_tasks(ctx.session, rows)
    out: list[dict[str, Any]] = []
    for item, _action, staff in staffed:
        if staff is None:
            out.append({"status": "no_staff"})
        else:
            out.append({"status": "created" if key(item.due, index) in created else "exists"})
    return out


_TASK_COLUMNS = (
    "kind",
    "title",
    "staff_id",
    "customer_id",
    "due_at",
    "origin",
    "body",
    "script_id",
    "idempotency_key",
    "created_at",
)


def _insert_tasks(session: Session, rows: list[dict[str, Any]]) -> set[str]:
    """Insert the tasks whose key is new; the keys inserted.

    The keys derive from claimed (locked) step runs, so no other worker writes the same key meanwhile:
    a read of the existing keys then a plain bulk insert is safe, and far cheaper than RETURNING.
    """
    if not rows:
        return set()
    keys = [r["idempotency_key"] for r in rows]
    existing = set(
        session.execute(
            select(StaffTask.idempotency_key).where(keys_in(session, StaffTask.idempotency_key, keys))
        ).scalars()
    )
    fresh = [r for r in rows if r["idempotency_key"] not in existing]
    to_db = datetime_adapter(session)
    copy_rows(
        session,
        STAFF_TASKS,
        _TASK_COLUMNS,
        [tuple(to_db(r[c]) if c in ("due_at", "created_at") else r[c] for c in _TASK_COLUMNS) for r in fresh],
        constants={"status": TaskStatus.open.value},
    )
    return {r["idempotency_key"] for r in fresh}


def _existing_tags(session: Session, tag_ids: set[int]) -> set[int]:
    return set(session.execute(select(Tag.id).where(Tag.id.in_(sorted(tag_ids)))).scalars())


def _tags(ctx: Context, pairs: list[tuple[Item, Action]], remove: bool) -> list[dict[str, Any]]:
    from siyu.customers.tags import apply_tags, remove_tags
    from siyu.org.permissions import SYSTEM_ACTOR

    tag_ids = {cast(int, a.tag_id) for _, a in pairs}
    alive = _existing_tags(ctx.session, tag_ids)
    changed: set[tuple[int, int]] = set()
    for tag_id in sorted(alive):
        customers = sorted({i.due.customer_id for i, a in pairs if a.tag_id == tag_id})
        change = (remove_tags if remove else apply_tags)(ctx.session, SYSTEM_ACTOR, customers, [tag_id])
        changed |= {(p.customer_id, p.tag_id) for p in (change.removed if remove else change.added)}
    out: list[dict[str, Any]] = []
    for item, action in pairs:
        tag_id = cast(int, action.tag_id)
        if tag_id not in alive:
            out.append({"status": "tag_missing", "tag_id": tag_id})
        elif (item.due.customer_id, tag_id) in changed:
            out.append({"status": "removed" if remove else "added", "tag_id": tag_id})
        else:
            out.append({"status": "unchanged", "tag_id": tag_id})
    return out


def _add_tag(ctx: Context, index: int, pairs: list[tuple[Item, Action]]) -> list[dict[str, Any]]:
    return _tags(ctx, pairs, remove=False)


def _remove_tag(ctx: Context, index: int, pairs: list[tuple[Item, Action]]) -> list[dict[str, Any]]:
    return _tags(ctx, pairs, remove=True)


def _managers(session: Session, unit_ids: set[int]) -> dict[int, list[int]]:
    """unit_id -> active manager accounts whose data scope holds the unit (all, that unit, or a subtree above)."""
    if not unit_ids:
        return {}
    a = Account
    unit, scope_unit = aliased(OrgUnit), aliased(OrgUnit)
    holds = or_(
        a.data_scope == "all",
        and_(a.data_scope == "unit", a.scope_unit_id == unit.id),
        and_(a.data_scope == "subtree", unit.path.startswith(scope_unit.path)),
    )
    rows = session.execute(
        select(unit.id, a.id)
        .select_from(unit)
        .join(a, true())
        .outerjoin(scope_unit, scope_unit.id == a.scope_unit_id)
        .where(unit.id.in_(sorted(unit_ids)), a.active.is_(True), a.permission_role.in_(MANAGER_ROLES), holds)
    ).all()
    out: dict[int, list[int]] = {}
    for unit_id, account_id in rows:
        out.setdefault(int(unit_id), []).append(int(account_id))
    return out


def _notify(ctx: Context, index: int, pairs: list[tuple[Item, Action]]) -> list[dict[str, Any]]:
    staff_of = {i.due.run_id: ctx.staff_of(i.due) for i, _ in pairs}
    staff_ids = sorted({s for s in staff_of.values() if s is not None})
    units = (
        dict(ctx.session.execute(select(Staff.id, Staff.unit_id).where(Staff.id.in_(staff_ids))).all())
        if staff_ids
        else {}
    )
    managers = _managers(ctx.session, {int(u) for u in units.values()})
    rows: list[dict[str, Any]] = []
    counts: list[int] = []
    for item, action in pairs:
        staff = staff_of[item.due.run_id]
        accounts = managers.get(units.get(staff, -1), []) if staff is not None else []
        counts.append(len(accounts))
        for account_id in accounts:
            rows.append(
                {
                    "account_id": account_id,
                    "kind": "journey",
                    "title": (action.title or item.step.name)[:200],
                    "body": f"旅程 {item.journey_code} · {item.step.name} · 顾客 #{item.due.customer_id}",
                    "link": f"/customers/{item.due.customer_id}",
                    "dedupe_key": key(item.due, index),
                    "created_at": ctx.now,
                }
            )
    insert_if_absent(ctx.session, NOTIFICATIONS, rows, ("id",))
    return [{"status": "notified" if n else "no_manager", "accounts": n} for n in counts]


def _enrol(ctx: Context, index: int, pairs: list[tuple[Item, Action]]) -> list[dict[str, Any]]:
    codes = sorted({cast(str, a.journey_code) for _, a in pairs})
    ids = dict(ctx.session.execute(select(Journey.code, Journey.id).where(Journey.code.in_(codes))).all())
    entered: set[str] = set()
    for code in codes:
        if code in ids:
            requests = [
                EnrolRequest(
                    customer_id=i.due.customer_id,
                    entry_key=key(i.due, index),
                    entered_at=ctx.now,
                    staff_id=i.due.staff_id,
                )
                for i, a in pairs
                if a.journey_code == code
            ]
            enrol(ctx.session, int(ids[code]), requests, ctx.now)
            # Per run: is its entry key in the target now (entered by this or an earlier attempt)?
            e = JourneyEnrolment
            for part in chunks([r.entry_key for r in requests]):
                entered.update(
                    f"{code}|{k}"
                    for k in ctx.session.execute(
                        select(e.entry_key).where(e.journey_id == ids[code], e.entry_key.in_(part))
                    ).scalars()
                )
    out: list[dict[str, Any]] = []
    for item, action in pairs:
        code = cast(str, action.journey_code)
        if code not in ids:
            out.append({"status": "journey_missing", "journey": code})
        elif f"{code}|{key(item.due, index)}" in entered:
            out.append({"status": "enrolled", "journey": code})
        else:
            out.append({"status": "not_enrolled", "journey": code})  # reentry refused or journey not active
    return out


_HANDLERS = {
    "send_script": _send,
    "create_task": _task,
    "add_tag": _add_tag,
    "remove_tag": _remove_tag,
    "notify_manager": _notify,
    "enrol_journey": _enrol,
}
