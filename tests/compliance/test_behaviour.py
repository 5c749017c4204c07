"""Behaviour detectors at their boundaries: deletions, negative feedback, after hours, unanswered."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, select
from typer.testing import CliRunner

from siyu.cli import app
from siyu.compliance.behaviour import AFTER_HOURS, NEGATIVE_FEEDBACK, STAFF_DELETED, UNANSWERED, run_behaviour
from siyu.compliance.ingest import ingest_records
from siyu.db.engine import session_factory
from siyu.models import Channel, ChannelMembership, ChatMessage, LeaveReason
from siyu.models.compliance import (
    ComplianceCategory,
    ComplianceCategorySetting,
    Notification,
    SensitiveIncident,
)
from siyu.org.permissions import SYSTEM_ACTOR
from tests.compliance.c4_support import World, count, send, world_fixture  # noqa: F401

DAY = date(2026, 3, 2)


def local(hour: int, minute: int = 0, second: int = 0, day: date = DAY) -> datetime:
    """A Shanghai wall-clock time of day as aware UTC (UTC+8, no DST)."""
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC) - timedelta(hours=8)


def ms_of(moment: datetime) -> int:
    """Epoch milliseconds."""
    return int(moment.timestamp() * 1000)


def _messages(engine: Engine, rows: list[tuple[str, str, str, datetime]]) -> None:
    with session_factory(engine)() as s:
        ingest_records(s, [send(m, a, b, "…", ms_of(t)) for m, a, b, t in rows], SYSTEM_ACTOR, detect=False)
        s.commit()


def _found(engine: Engine, detector: str) -> set[int | None]:
    with session_factory(engine)() as s:
        rows = s.execute(
            select(SensitiveIncident.message_id, SensitiveIncident.rule_key).where(
                SensitiveIncident.detector == detector
            )
        ).all()
        msgids = {r[0]: r[1] for r in s.execute(select(ChatMessage.id, ChatMessage.msgid))}
    return {msgids.get(r[0]) if r[0] is not None else r[1] for r in rows}


def _run(engine: Engine, first: date = DAY) -> dict[str, int]:
    with session_factory(engine)() as s:
        out = run_behaviour(s, first, first, SYSTEM_ACTOR)
        s.commit()
    return out.found


def test_after_hours_boundaries(engine: Engine, world: World) -> None:
    _messages(
        engine,
        [
            ("early", "zhangsan", "wmCust0001", local(8, 59, 59)),
            ("open", "zhangsan", "wmCust0001", local(9)),
            ("late_ok", "zhangsan", "wmCust0001", local(20, 59, 59)),
            ("closed", "zhangsan", "wmCust0001", local(21)),
            ("customer", "wmCust0001", "zhangsan", local(22)),
            ("other_day", "zhangsan", "wmCust0001", local(23, 0, 0, DAY + timedelta(days=1))),
        ],
    )
    found = _run(engine)
    assert _found(engine, AFTER_HOURS) == {"early", "closed"} and found[AFTER_HOURS] == 2
    assert _run(engine)[AFTER_HOURS] == 0  # idempotent


def test_unanswered_boundaries(engine: Engine, world: World) -> None:
    _messages(
        engine,
        [
            ("q1", "wmCust0001", "zhangsan", local(10)),
            ("a1", "zhangsan", "wmCust0001", local(10, 30)),  # exactly the 30-minute SLA: answered
            ("q2", "wmCust0001", "zhangsan", local(11)),
            ("a2", "zhangsan", "wmCust0001", local(11, 30, 1)),  # one second late
            ("q3", "wmCust0001", "zhangsan", local(12)),
            ("q3b", "wmCust0001", "zhangsan", local(12, 1)),  # same wait: not a second incident
            ("a3", "zhangsan", "wmCust0001", local(13)),
            ("q4", "wmCust0001", "zhangsan", local(20, 45)),  # the SLA would end after 21:00: not judged
        ],
    )
    assert _run(engine)[UNANSWERED] == 2
    assert _found(engine, UNANSWERED) == {"q2", "q3"}


def _membership(engine: Engine, world: World, left_at: datetime, reason: LeaveReason, customer: int | None = None) -> int:  # fmt: skip
    with session_factory(engine)() as s:
        row = ChannelMembership(
            customer_id=customer or world.ids["C1"],
            channel=Channel.wecom,
            staff_id=world.ids["G1"],
            joined_at=left_at - timedelta(days=30),
            left_at=left_at,
            leave_reason=reason,
        )
        s.add(row)
        s.commit()
        return row.id


def test_staff_deleted_customer(engine: Engine, world: World) -> None:
    inside = _membership(engine, world, local(23, 59, 59), LeaveReason.staff_deleted_customer)
    _membership(engine, world, local(0, 0, 0, DAY + timedelta(days=1)), LeaveReason.staff_deleted_customer)
    _membership(engine, world, local(12), LeaveReason.customer_deleted_staff)
    assert _run(engine)[STAFF_DELETED] == 1
    assert _found(engine, STAFF_DELETED) == {f"membership:{inside}"}
    assert _run(engine)[STAFF_DELETED] == 0  # idempotent without a message id
    with session_factory(engine)() as s:
        incident = s.scalars(
            select(SensitiveIncident).where(SensitiveIncident.detector == STAFF_DELETED)
        ).one()
        assert (incident.unit_id, incident.category) == (world.ids["S1"], ComplianceCategory.behaviour)
        assert count(s, Notification, Notification.dedupe_key == f"incident:{incident.id}") == 2  # high


def test_negative_feedback_within_hours(engine: Engine, world: World) -> None:
    _messages(
        engine,
        [
            ("s1", "zhangsan", "wmCust0001", local(9, 30, 0, DAY - timedelta(days=1))),
            ("s2", "zhangsan", "wmCust0002", local(9, 30, 0, DAY - timedelta(days=1))),
        ],
    )
    with session_factory(engine)() as s:
        other = s.scalars(select(ChatMessage.customer_id).where(ChatMessage.msgid == "s2")).one()
    _membership(engine, world, local(9, 30), LeaveReason.customer_deleted_staff)  # exactly 24 h after s1
    _membership(
        engine, world, local(9, 30, 1), LeaveReason.customer_deleted_staff, other
    )  # 24 h + 1 s after s2
    assert _run(engine)[NEGATIVE_FEEDBACK] == 1
    assert _found(engine, NEGATIVE_FEEDBACK) == {"s1"}


def test_disabled_category_and_cli(engine: Engine, world: World, cli_env: str) -> None:
    _messages(engine, [("early", "zhangsan", "wmCust0001", local(7))])
    with session_factory(engine)() as s:
        s.add(ComplianceCategorySetting(category=ComplianceCategory.behaviour, enabled=False))
        s.commit()
    assert _run(engine) == {}
    with session_factory(engine)() as s:
        s.execute(ComplianceCategorySetting.__table__.delete())
        s.commit()
    result = CliRunner().invoke(app, ["compliance", "behaviour", "--day", DAY.isoformat()])
    assert result.exit_code == 0, result.output
    assert "after_hours 1" in result.output
