"""Exit rules: end active enrolments whose customer bought, left, opted out or got a tag (set-based)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from siyu.db.types import utcnow
from siyu.journeys.contract import ExitRule
from siyu.journeys.definition_check import parse_definition
from siyu.journeys.enrolment import exit_enrolments
from siyu.models import Customer, Event, Journey, JourneyEnrolment, JourneyVersion
from siyu.models.journeys import EnrolmentStatus, JourneyStatus

E = JourneyEnrolment


def _after_entry(kind: str, *extra: Any) -> Any:
    # An event of this kind for the enrolled customer after the moment they entered (not the entry event).
    return exists().where(
        Event.kind == kind, Event.customer_id == E.customer_id, Event.occurred_at > E.entered_at, *extra
    )


def rule_clause(rule: ExitRule) -> Any:
    """The WHERE clause on journey_enrolments that holds when the rule fires."""
    if rule.kind == "bought":
        return _after_entry("ordered")
    if rule.kind == "left_channel":
        return _after_entry("left_channel")
    if rule.kind == "tag_added":
        return _after_entry("tagged", Event.subject_type == "tag", Event.subject_id == rule.tag_id)
    # opted_out: the customer's marketing consent is off now.
    return exists().where(Customer.id == E.customer_id, Customer.marketing_opt_in.is_(False))


def _versions(session: Session) -> dict[tuple[int, int], list[ExitRule]]:
    """Exit rules of every (journey, version) that has active enrolments in a running journey."""
    pairs = (
        select(E.journey_id, E.version)
        .join(Journey, Journey.id == E.journey_id)
        .where(E.status == EnrolmentStatus.active, Journey.status != JourneyStatus.archived)
        .distinct()
        .subquery()
    )
    rows = session.execute(
        select(JourneyVersion.journey_id, JourneyVersion.version, JourneyVersion.definition).join(
            pairs,
            and_(pairs.c.journey_id == JourneyVersion.journey_id, pairs.c.version == JourneyVersion.version),
        )
    ).all()
    return {(r.journey_id, r.version): list(parse_definition(r.definition).exit_rules) for r in rows}


def scan_exits(session: Session, now: datetime | None = None) -> dict[str, int]:
    """Exit every active enrolment an exit rule of its own version fires for; {reason: exited}."""
    now = now or utcnow()
    counts: dict[str, int] = defaultdict(int)
    for (journey_id, version), rules in sorted(_versions(session).items()):
        for rule in rules:
            reason = rule.kind if rule.tag_id is None else f"{rule.kind}:{rule.tag_id}"
            ids = list(
                session.scalars(
                    select(E.id).where(
                        E.journey_id == journey_id,
                        E.version == version,
                        E.status == EnrolmentStatus.active,
                        rule_clause(rule),
                    )
                )
            )
            if ids:
                counts[reason] += exit_enrolments(session, ids, reason, now)
    return dict(counts)
