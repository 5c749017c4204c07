"""A small world for the definition/trigger/exit tests: customers, tags, approved scripts, a segment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from siyu.events import NewEvent, record_events
from siyu.models import (
    AcquisitionSource,
    Channel,
    ChannelMembership,
    Customer,
    Script,
    ScriptApproval,
    Segment,
    SegmentVersion,
    Tag,
    TagGroup,
)

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai


@dataclass
class J2World:
    """Ids of the built rows."""

    customers: list[int]
    tags: list[int]
    scripts: dict[str, int]
    segment_id: int


def add_customers(session: Session, count: int, **values: Any) -> list[int]:
    """count customers in one insert; their ids."""
    before = session.scalar(select(Customer.id).order_by(Customer.id.desc()).limit(1)) or 0
    rows = [
        {
            "name": f"顾客{i}",
            "source": AcquisitionSource.organic,
            "first_seen_at": T0 - timedelta(days=30),
            **values,
        }
        for i in range(count)
    ]
    session.execute(insert(Customer), rows)
    session.flush()
    return list(session.scalars(select(Customer.id).where(Customer.id > before).order_by(Customer.id)))


def build(session: Session) -> J2World:
    """Ten consenting customers, two tags, an approved, a pending script, and a consent segment."""
    customers = add_customers(session, 10, marketing_opt_in=True)
    group = TagGroup(name="兴趣")
    session.add(group)
    session.flush()
    tags = [Tag(group_id=group.id, name=n) for n in ("护肤", "彩妆")]
    session.add_all(tags)
    scripts = {
        "approved": Script(
            title="新客欢迎语", category="welcome", body="你好 {name}", approval=ScriptApproval.approved
        ),
        "pending": Script(
            title="节日问候", category="holiday", body="节日快乐", approval=ScriptApproval.pending
        ),
    }
    session.add_all(scripts.values())
    segment = Segment(name="同意营销")
    session.add(segment)
    session.flush()
    rule = {"version": 1, "rule": {"all": [{"field": "consent", "op": "is", "value": True}]}}
    session.add(SegmentVersion(segment_id=segment.id, version=1, rule=rule, created_at=T0))
    session.flush()
    return J2World(customers, [t.id for t in tags], {k: v.id for k, v in scripts.items()}, segment.id)


def definition(script_id: int, **trigger: Any) -> dict[str, Any]:
    """A two-step definition sending script_id at entry and day 3 10:00."""
    return {
        "trigger": trigger or {"kind": "manual"},
        "steps": [
            {"key": "s0", "name": "欢迎", "actions": [{"kind": "send_script", "script_id": script_id}]},
            {
                "key": "s1",
                "name": "第3天",
                "delay": {"days": 3, "at_local_time": "10:00"},
                "actions": [{"kind": "create_task", "title": "回访"}],
            },
        ],
        "exit_rules": [{"kind": "bought"}],
    }


def join(
    session: Session, customer_id: int, at: datetime, channel: Channel = Channel.wecom, **extra: Any
) -> int:
    """A channel membership and its joined_channel event (as the demo writes them); the event id."""
    m = ChannelMembership(customer_id=customer_id, channel=channel, joined_at=at, **extra)
    session.add(m)
    session.flush()
    event = NewEvent(
        kind="joined_channel",
        occurred_at=at,
        customer_id=customer_id,
        subject_type="channel_membership",
        subject_id=m.id,
    )
    record_events(session, [event])
    return int(m.id)


def event(session: Session, kind: str, customer_id: int, at: datetime, **extra: Any) -> None:
    """Append one event."""
    record_events(session, [NewEvent(kind=kind, occurred_at=at, customer_id=customer_id, **extra)])
