"""Demo mass sends: two past sends to segments on one day (a brand cap leaves some capped), one scheduled."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.db.bulk import datetime_adapter, insert_rows
from siyu.events import EVENT_COLUMNS
from siyu.journeys.mass_send_run import run_mass_send
from siyu.journeys.mass_send_schemas import MassSendCreate
from siyu.journeys.mass_send_service import SOURCE, create_mass_send
from siyu.models import Event, FrequencyCap, MassSend, OutboundMessage, Script, Segment, Staff, StaffTask
from siyu.models.enums import TaskStatus
from siyu.models.journeys import ScriptApproval, SendStatus
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.segments import repository as segment_repo
from siyu.segments.service import current_rule
from siyu.timeutil import brand_zone

DONE_SHARE = 0.7  # guides send and tick off about 70% of 群发 tasks
FALLBACK_BODY = "{name}您好，{store}本周末会员日全场满299减50，{guide}给您留了试用装，欢迎到店～"


def _local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=brand_zone())


def _script(session: Session, created: datetime) -> int:
    """An approved holiday/product script from the library, or one written here."""
    found = session.scalar(
        select(Script.id)
        .where(Script.approval == ScriptApproval.approved, Script.category.in_(("holiday", "product")))
        .order_by(Script.id)
        .limit(1)
    )
    if found is not None:
        return int(found)
    script = Script(
        title="会员日满减提醒",
        category="product",
        scenario="会员日群发",
        body=FALLBACK_BODY,
        approval=ScriptApproval.approved,
        search_text=FALLBACK_BODY,
        created_at=created,
    )
    session.add(script)
    session.flush()
    return script.id


def _close_tasks(session: Session, mass_id: int, rng: random.Random) -> int:
    """Mark most of a send's tasks done within the day (task_done events, outbound rows confirmed)."""
    rows = session.execute(
        select(
            OutboundMessage.id,
            StaffTask.id,
            StaffTask.staff_id,
            StaffTask.customer_id,
            StaffTask.due_at,
            Staff.unit_id,
        )
        .join(StaffTask, StaffTask.id == OutboundMessage.task_id)
        .join(Staff, Staff.id == StaffTask.staff_id)
        .where(OutboundMessage.source_type == SOURCE, OutboundMessage.source_id == mass_id)
        .order_by(OutboundMessage.id)
    ).all()
    to_db = datetime_adapter(session)
    tasks: list[dict[str, object]] = []
    sends: list[dict[str, object]] = []
    events = []
    for out_id, task_id, staff_id, customer_id, due, unit_id in rows:
        if rng.random() >= DONE_SHARE:
            continue
        done_at = due - timedelta(hours=24) + timedelta(minutes=rng.randint(5, 8 * 60))
        tasks.append({"id": task_id, "status": TaskStatus.done, "done_at": done_at, "evidence": "已发送"})
        sends.append(
            {"id": out_id, "status": SendStatus.confirmed, "sent_at": done_at, "confirmed_at": done_at}
        )
        at = to_db(done_at)
        data = '{"task_kind": "send_message"}'
        events.append(("task_done", at, at, customer_id, staff_id, unit_id, "staff_task", task_id, data))
    if tasks:
        session.execute(update(StaffTask), tasks)  # executemany by primary key
        session.execute(update(OutboundMessage), sends)
    insert_rows(session, Event.__table__, EVENT_COLUMNS, events)  # type: ignore[arg-type]
    return len(events)


def _segment_pair(session: Session, at: datetime) -> tuple[int, int] | None:
    """The largest live segment, and the one overlapping it most that also reaches others (so some get capped)."""
    members: dict[int, set[int]] = {}
    ids = list(session.scalars(select(Segment.id).where(Segment.archived_at.is_(None)).order_by(Segment.id)))
    for segment_id in ids:
        _segment, rule = current_rule(session, segment_id)
        members[segment_id] = set(segment_repo.member_ids(session, rule, SYSTEM_ACTOR, at))
    if not members:
        return None
    first = max(members, key=lambda k: (len(members[k]), -k))
    others = [k for k in members if k != first and members[k] - members[first]]
    if not others:
        return first, first
    second = max(others, key=lambda k: (len(members[k] & members[first]), -k))
    return first, second


def seed_mass_sends(session: Session, as_of: date) -> dict[str, int]:
    """Two sends 20 days ago (the second capped by a 1-a-day brand cap for the overlap), one scheduled."""
    rng = random.Random(f"mass_sends:{as_of.isoformat()}")
    past = as_of - timedelta(days=20)
    setup = _local(past - timedelta(days=10), time(9, 0))
    script_id = _script(session, setup)
    if session.scalar(select(FrequencyCap.id).where(FrequencyCap.code == "brand_daily")) is None:
        session.add(
            FrequencyCap(
                code="brand_daily",
                name="每位顾客每天最多1条营销消息",
                period="day",
                max_touches=1,
                channel=None,
                enabled=True,
                created_at=setup,
            )
        )
    pair = _segment_pair(session, _local(past, time(10, 0)))
    if pair is None:
        return {"mass_sends": 0, "outbound": 0, "tasks_done": 0}
    first, second = pair
    plans = [
        ("会员日满减提醒（上午）", first, _local(past, time(10, 0)), True),
        ("会员日满减提醒（下午补发）", second, _local(past, time(15, 0)), True),
        ("周末新品预告", first, _local(as_of + timedelta(days=2), time(10, 30)), False),
    ]
    counts = {"mass_sends": 0, "outbound": 0, "tasks_done": 0}
    for name, segment_id, when, run in plans:
        created = when - timedelta(days=1)
        data = MassSendCreate(
            name=name, script_id=script_id, audience_kind="segment", segment_id=segment_id, scheduled_at=when
        )
        row = create_mass_send(session, SYSTEM_ACTOR, data, created)
        row.created_at = created
        session.flush()
        counts["mass_sends"] += 1
        if run:
            run_mass_send(session, row.id, when)
            counts["tasks_done"] += _close_tasks(session, row.id, rng)
            stored = session.get(MassSend, row.id)
            counts["outbound"] += stored.audience_count if stored else 0
    session.flush()
    return counts
