"""The day's content pack: compose it from approved scripts, publish it as one task per active guide per item."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.config import get_settings
from siyu.db.bulk import datetime_adapter, insert_rows
from siyu.db.types import utcnow
from siyu.errors import Conflict, Forbidden, Invalid, NotFound
from siyu.journeys.render import RenderItem, render_many
from siyu.models import (
    ContentPack,
    ContentPackItem,
    Script,
    ScriptApproval,
    Staff,
    StaffRole,
    StaffStatus,
    StaffTask,
    TaskStatus,
)
from siyu.org.permissions import Actor, PermissionRole
from siyu.timeutil import brand_zone, local_date
from siyu.web.access import access_for
from siyu.web.i18n import N_

# The pack goes to every guide of the brand, so the brand's content roles compose it (not store managers).
PACK_WRITE = access_for(
    (PermissionRole.admin, PermissionRole.private_domain_lead, PermissionRole.operator),
    denied=N_("Only an administrator, the private-domain lead or an operator may manage content packs."),
)
TASK_KINDS: dict[str, str] = {"moments_post": N_("Post to Moments"), "forward": N_("Forward to customers")}
GUIDE_ROLE = "guide"
ORIGIN = "content-pack"
_TASK_COLUMNS = (
    "kind", "title", "staff_id", "due_at", "status", "origin", "body", "script_id", "idempotency_key",
    "created_at",
)  # fmt: skip


@dataclass(frozen=True)
class PackItemIn:
    """One script of a pack and what guides do with it."""

    script_id: int
    task_kind: str = "moments_post"


@dataclass(frozen=True)
class PublishResult:
    """What publishing wrote: tasks created now, tasks that already existed (a re-run), guides and items."""

    pack_id: int
    day: date
    guides: int
    items: int
    created: int
    existing: int

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON and the audit trail."""
        return {**self.__dict__, "day": self.day.isoformat()}


def pack_key(pack_id: int, position: int, staff_id: int) -> str:
    """The idempotency key of one guide's task for one pack item."""
    return f"pack:{pack_id}:{position}:{staff_id}"


def due_at(day: date) -> datetime:
    """When a pack's tasks fall due: the day at SIYU_CONTENT_PACK_DUE_TIME, brand-local."""
    raw = get_settings().content_pack_due_time or "21:00"
    try:
        at = time.fromisoformat(raw)
    except ValueError:
        raise Invalid(f"SIYU_CONTENT_PACK_DUE_TIME: {raw!r} is not HH:MM") from None
    return datetime.combine(day, at, tzinfo=brand_zone())


def compose_pack(
    session: Session, actor: Actor, day: date, title: str, note: str | None, items: Sequence[PackItemIn]
) -> ContentPack:
    """Create or replace the day's pack (approved scripts only); a published pack is fixed."""
    if not PACK_WRITE.allows(actor):
        raise Forbidden(f"role {actor.role.value!r} may not compose content packs")
    title = title.strip()
    if not title or len(title) > 200:
        raise Invalid("title: 1-200 characters")
    if not items:
        raise Invalid(f"content pack {day.isoformat()}: choose at least one script")
    for n, item in enumerate(items, start=1):
        if item.task_kind not in TASK_KINDS:
            raise Invalid(f"item {n}: task_kind {item.task_kind!r} is not one of {', '.join(TASK_KINDS)}")
    ids = {i.script_id for i in items}
    states = dict(session.execute(select(Script.id, Script.approval).where(Script.id.in_(ids))).all())
    for n, item in enumerate(items, start=1):
        state = states.get(item.script_id)
        if state is None:
            raise Invalid(f"item {n}: script {item.script_id} does not exist")
        if state != ScriptApproval.approved:
            raise Invalid(
                f"item {n}: script {item.script_id} is {state.value}; only approved scripts go in a pack"
            )
    pack = session.scalar(select(ContentPack).where(ContentPack.day == day))
    if pack is not None and pack.published_at is not None:
        raise Conflict(f"the content pack of {day.isoformat()} is already published")
    if pack is None:
        pack = ContentPack(day=day, title=title, created_by_account_id=actor.account_id)
        session.add(pack)
    pack.title = title
    pack.note = (note or "").strip() or None
    session.flush()
    session.execute(delete(ContentPackItem).where(ContentPackItem.pack_id == pack.id))
    session.add_all(
        ContentPackItem(pack_id=pack.id, position=n, script_id=i.script_id, task_kind=i.task_kind)
        for n, i in enumerate(items, start=1)
    )
    session.flush()
    audit(
        session,
        actor,
        "content_pack.compose",
        "content_pack",
        pack.id,
        {"day": day.isoformat(), "items": len(items)},
    )
    return pack


def pack_items(session: Session, pack_ids: Sequence[int]) -> dict[int, list[tuple[ContentPackItem, Script]]]:
    """Each pack's items with their scripts, in position order."""
    out: dict[int, list[tuple[ContentPackItem, Script]]] = {p: [] for p in pack_ids}
    if not pack_ids:
        return out
    rows = session.execute(
        select(ContentPackItem, Script)
        .join(Script, Script.id == ContentPackItem.script_id)
        .where(ContentPackItem.pack_id.in_(pack_ids))
        .order_by(ContentPackItem.pack_id, ContentPackItem.position)
    ).all()
    for item, script in rows:
        out[item.pack_id].append((item, script))
    return out


def active_guides(session: Session) -> list[tuple[int, str]]:
    """(id, name) of every active staff member holding the guide role."""
    rows = session.execute(
        select(Staff.id, Staff.name)
        .where(
            Staff.status == StaffStatus.active,
            Staff.id.in_(select(StaffRole.staff_id).where(StaffRole.role_code == GUIDE_ROLE)),
        )
        .order_by(Staff.id)
    ).all()
    return [(int(i), str(n)) for i, n in rows]


def publish_pack(session: Session, actor: Actor, pack_id: int, now: datetime | None = None) -> PublishResult:
    """One StaffTask per active guide per item (text rendered with the guide); re-runs add only missing ones."""
    if not PACK_WRITE.allows(actor):
        raise Forbidden(f"role {actor.role.value!r} may not publish content packs")
    pack = session.get(ContentPack, pack_id)
    if pack is None:
        raise NotFound(f"content pack {pack_id} does not exist")
    at = now or utcnow()
    items = pack_items(session, [pack.id])[pack.id]
    if not items:
        raise Invalid(f"content pack {pack.day.isoformat()} has no items")
    not_approved = [s.id for _, s in items if s.approval != ScriptApproval.approved]
    if not_approved:
        raise Conflict(
            f"content pack {pack.day.isoformat()}: script(s) {not_approved} are no longer approved"
        )
    guides = active_guides(session)
    pairs = [(item, script, staff_id) for item, script in items for staff_id, _name in guides]
    existing = existing_keys(session, [pack_key(pack.id, i.position, s) for i, _, s in pairs])
    wanted = [(i, sc, s) for i, sc, s in pairs if pack_key(pack.id, i.position, s) not in existing]
    texts = render_many(session, [RenderItem(script.id, None, staff_id) for _, script, staff_id in wanted])
    to_db = datetime_adapter(session)
    due, stamp = to_db(due_at(pack.day)), to_db(at)
    rows = [
        (
            item.task_kind,
            f"{pack.title}：{script.title}"[:200],
            staff_id,
            due,
            "open",
            ORIGIN,
            text,
            script.id,
            pack_key(pack.id, item.position, staff_id),
            stamp,
        )
        for (item, script, staff_id), text in zip(wanted, texts, strict=True)
    ]
    insert_rows(session, StaffTask.__table__, _TASK_COLUMNS, rows)  # type: ignore[arg-type]
    if pack.published_at is None:
        pack.published_at = at
        session.flush()
    result = PublishResult(pack.id, pack.day, len(guides), len(items), len(rows), len(existing))
    audit(session, actor, "content_pack.publish", "content_pack", pack.id, result.to_dict())
    return result


def publish_due(session: Session, actor: Actor, now: datetime | None = None) -> PublishResult | None:
    """Publish today's (brand-local) pack if it exists and is not yet published."""
    at = now or utcnow()
    pack = session.scalar(select(ContentPack).where(ContentPack.day == local_date(at, brand_zone())))
    if pack is None or pack.published_at is not None:
        return None
    return publish_pack(session, actor, pack.id, at)


def task_counts(session: Session, pack_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """(tasks, done) per pack, counted from staff_tasks by idempotency key (one query)."""
    out = {p: (0, 0) for p in pack_ids}
    if not pack_ids:
        return out
    rows = session.execute(
        select(StaffTask.idempotency_key, StaffTask.status).where(
            or_(*(StaffTask.idempotency_key.like(f"pack:{p}:%") for p in pack_ids))
        )
    ).all()
    for key, status in rows:
        pack_id = int(str(key).split(":")[1])
        tasks, done = out[pack_id]
        out[pack_id] = (tasks + 1, done + (1 if status == TaskStatus.done else 0))
    return out


def existing_keys(session: Session, keys: Sequence[str]) -> set[str]:
    """Which of keys are already on a task (chunked IN on the unique index)."""
    found: set[str] = set()
    for start in range(0, len(keys), 900):
        chunk = keys[start : start + 900]
        found.update(
            str(k)
            for k in session.scalars(
                select(StaffTask.idempotency_key).where(StaffTask.idempotency_key.in_(chunk))
            )
        )
    return found


def recent_packs(session: Session, limit: int = 30) -> Sequence[ContentPack]:
    """The latest packs, newest day first."""
    return session.scalars(select(ContentPack).order_by(ContentPack.day.desc()).limit(limit)).all()


def publish_job(session: Session) -> Any:
    """Worker job: publish today's pack each morning if it is not published yet."""
    from siyu.org.permissions import SYSTEM_ACTOR

    result = publish_due(session, SYSTEM_ACTOR)
    return None if result is None else result.to_dict()


def register_content_pack_job() -> None:
    """Register journeys.publish_content_pack at SIYU_CONTENT_PACK_PUBLISH_TIME (empty switches it off)."""
    from siyu.worker.jobs import parse_local_time, register_daily_job

    raw = get_settings().content_pack_publish_time
    if raw:
        register_daily_job(
            "journeys.publish_content_pack",
            parse_local_time(raw, "SIYU_CONTENT_PACK_PUBLISH_TIME"),
            publish_job,
        )
