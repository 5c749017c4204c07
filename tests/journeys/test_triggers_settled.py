"""Event watermarks read only settled ids: an event committed late below the mark is still seen (PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from siyu.db.engine import session_factory
from siyu.events import NewEvent, quiet_event_id, record_events, settled_event_id
from siyu.journeys import definition_service as service
from siyu.journeys.definition_schemas import JourneyCreate
from siyu.journeys.triggers import scan_triggers
from siyu.models import Event, JourneyEnrolment
from siyu.models.journeys import JourneyStatus
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.performance.leaderboard import apply_new_events
from siyu.reports.rollups import refresh_rollups
from tests.journeys.j2_world import T0, build, definition


def _tagged(session: Session, customer_id: int, tag_id: int) -> None:
    record_events(
        session,
        [NewEvent("tagged", T0 + timedelta(minutes=1), customer_id, subject_type="tag", subject_id=tag_id)],
    )


def test_sqlite_or_idle_postgres_settles_at_the_last_event(session: Session) -> None:
    assert settled_event_id(session, 0) == 0 and quiet_event_id(session) == 0
    w = build(session)
    _tagged(session, w.customers[0], w.tags[0])
    session.commit()
    top = session.scalar(select(func.max(Event.id)))
    assert settled_event_id(session, 0) == top == quiet_event_id(session)
    assert settled_event_id(session, 10**9) == 10**9  # never behind the caller's own mark


def test_a_late_commit_below_the_watermark_is_not_skipped(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite commits event ids in order (one writer at a time)")
    factory = session_factory(engine)
    with factory() as setup:
        w = build(setup)
        raw = definition(w.scripts["approved"], kind="tag_added", tag_id=w.tags[0])
        journey, _ = service.create_journey(
            setup, SYSTEM_ACTOR, JourneyCreate(code="tag", name="tag", definition=raw)
        )
        service.change_status(setup, SYSTEM_ACTOR, journey.id, JourneyStatus.active, now=T0)
        before = refresh_rollups(setup, full=True).last_event_id
        setup.commit()
        journey_id = journey.id
        mark = int(setup.scalar(select(func.max(Event.id))) or 0)
    early, late, scanner = factory(), factory(), factory()
    try:
        _tagged(early, w.customers[0], w.tags[0])  # takes the lower id, commits last (a long import)
        _tagged(late, w.customers[1], w.tags[0])
        late.commit()
        # The scanner sees the later event only, and an event writer in flight: nothing moves yet.
        assert scanner.scalar(select(func.count()).select_from(Event).where(Event.kind == "tagged")) == 1
        assert quiet_event_id(scanner) is None and settled_event_id(scanner, mark) == mark
        assert scan_triggers(scanner, T0 + timedelta(minutes=2))["hits"] == 0
        assert apply_new_events(scanner).events == 0
        assert refresh_rollups(scanner).last_event_id == before  # the mark stays; nothing waits
        scanner.commit()
        early.commit()
        counts = scan_triggers(scanner, T0 + timedelta(minutes=3))
        scanner.commit()
        enrolled = scanner.scalars(
            select(JourneyEnrolment.customer_id).where(JourneyEnrolment.journey_id == journey_id)
        )
        assert counts["hits"] == 2 and sorted(enrolled) == sorted(w.customers[:2])
        top = int(scanner.scalar(select(func.max(Event.id))) or 0)
        assert settled_event_id(scanner, mark) == top and refresh_rollups(scanner).last_event_id == top
        assert apply_new_events(scanner).to_event_id == top
        scanner.commit()
        # A writer in flight above every visible id does not hold readers back from what is committed.
        _tagged(early, w.customers[2], w.tags[0])
        assert quiet_event_id(scanner) is None and settled_event_id(scanner, mark) == top
        early.commit()
        assert settled_event_id(scanner, mark) == top + 1
        # With a writer in flight, the gap-free walk goes at most `window` ids per call.
        _tagged(late, w.customers[3], w.tags[0])
        assert quiet_event_id(scanner) is None
        assert settled_event_id(scanner, mark, window=1) == mark + 1
        assert settled_event_id(scanner, mark, window=10**6) == top + 1
    finally:
        for s in (early, late, scanner):
            s.rollback()
            s.close()
