"""Putting customers into journeys and taking them out: bulk, idempotent, set-based (callers own the transaction)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from siyu.db.bulk import datetime_adapter, insert_if_absent, insert_rows
from siyu.errors import NotFound
from siyu.journeys.contract import EnrolRequest, JourneyDefinition
from siyu.journeys.schedule import step_due_at
from siyu.models import (
    Customer,
    EnrolmentStatus,
    Journey,
    JourneyEnrolment,
    JourneyStatus,
    JourneyStepRun,
    JourneyVersion,
    StepRunStatus,
)
from siyu.timeutil import brand_zone

ENROLMENTS = cast(Table, JourneyEnrolment.__table__)
STEP_RUNS = cast(Table, JourneyStepRun.__table__)
# Ids per IN-list: far below SQLite's variable limit and PostgreSQL's comfortable plan size.
CHUNK = 2000
STEP_RUN_COLUMNS = ("enrolment_id", "journey_id", "customer_id", "step_index", "due_at", "attempts")

_DEFINITIONS: dict[str, JourneyDefinition] = {}


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    """items in slices of at most size."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def parse_definition(document: Mapping[str, Any]) -> JourneyDefinition:
    """A stored definition, parsed once per distinct document (versions are immutable, parsing is not free)."""
    key = json.dumps(document, sort_keys=True, ensure_ascii=False)
    found = _DEFINITIONS.get(key)
    if found is None:
        if len(_DEFINITIONS) > 512:
            _DEFINITIONS.clear()
        found = _DEFINITIONS[key] = JourneyDefinition.model_validate(document)
    return found


def definitions(session: Session, pairs: set[tuple[int, int]]) -> dict[tuple[int, int], JourneyDefinition]:
    """(journey_id, version) -> parsed definition for every pair asked (one query)."""
    if not pairs:
        return {}
    journey_ids = sorted({j for j, _ in pairs})
    rows = session.execute(
        select(JourneyVersion.journey_id, JourneyVersion.version, JourneyVersion.definition).where(
            JourneyVersion.journey_id.in_(journey_ids)
        )
    )
    return {(j, v): parse_definition(d) for j, v, d in rows if (j, v) in pairs}


def _journey(session: Session, journey_id: int) -> tuple[JourneyStatus, int]:
    row = session.execute(
        select(Journey.status, Journey.current_version).where(Journey.id == journey_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"journey {journey_id} does not exist (enrol)")
    return JourneyStatus(row[0]), int(row[1])


def _existing(
    session: Session, journey_id: int, customer_ids: Sequence[int]
) -> list[tuple[int, str, EnrolmentStatus]]:
    """(customer_id, entry_key, status) of every enrolment these customers have in the journey."""
    out: list[tuple[int, str, EnrolmentStatus]] = []
    e = JourneyEnrolment
    for part in chunks(sorted(set(customer_ids))):
        rows = session.execute(
            select(e.customer_id, e.entry_key, e.status).where(
                e.journey_id == journey_id, e.customer_id.in_(part)
            )
        )
        out += [(int(c), k, EnrolmentStatus(s)) for c, k, s in rows]
    return out


def _customers(session: Session, customer_ids: Sequence[int]) -> dict[int, int | None]:
    """customer_id -> owner staff id, for live (unmerged) customers among customer_ids."""
    out: dict[int, int | None] = {}
    for part in chunks(sorted(set(customer_ids))):
        rows = session.execute(
            select(Customer.id, Customer.owner_staff_id).where(
                Customer.id.in_(part), Customer.merged_into_id.is_(None)
            )
        )
        out.update({int(c): o for c, o in rows})
    return out


def enrol(
    session: Session, journey_id: int, requests: Sequence[EnrolRequest], now: datetime
) -> dict[str, int]:
    """Enrol customers into an active journey on its current version and schedule their first step.

    Idempotent: a request whose (customer, entry_key) is already enrolled counts as `already`. Reentry:
    'never' refuses anyone enrolled before, 'after_exit' anyone with an active enrolment, 'always' nobody
    (within one call a customer enters at most once unless the policy is 'always'). Requests for customers
    that do not exist or were merged away count as `unknown_customer`.
    """
    counts = {"enrolled": 0, "already": 0, "refused_reentry": 0, "not_active": 0, "unknown_customer": 0}
    if not requests:
        return counts
    status, version = _journey(session, journey_id)
    if status != JourneyStatus.active:
        counts["not_active"] = len(requests)
        return counts
    definition = definitions(session, {(journey_id, version)}).get((journey_id, version))
    if definition is None:
        raise NotFound(f"journey {journey_id} has no version {version} (enrol)")
    owners = _customers(session, [r.customer_id for r in requests])
    existing = _existing(session, journey_id, list(owners))
    keys = {(c, k) for c, k, _ in existing}
    blocked: set[int] = set()
    if definition.reentry == "never":
        blocked = {c for c, _, _ in existing}
    elif definition.reentry == "after_exit":
        blocked = {c for c, _, s in existing if s == EnrolmentStatus.active}
    rows: list[dict[str, Any]] = []
    seen: set[tuple[int, str]] = set()
    # Earliest entry first, so a customer asked twice in one call enters on the first trigger.
    for r in sorted(requests, key=lambda r: (r.entered_at, r.customer_id, r.entry_key)):
        pair = (r.customer_id, r.entry_key)
        if r.customer_id not in owners:
            counts["unknown_customer"] += 1
        elif pair in keys or pair in seen:
            counts["already"] += 1
        elif r.customer_id in blocked:
            counts["refused_reentry"] += 1
        else:
            seen.add(pair)
            if definition.reentry != "always":
                blocked.add(r.customer_id)
            rows.append(
                {
                    "journey_id": journey_id,
                    "version": version,
                    "customer_id": r.customer_id,
                    "staff_id": r.staff_id if r.staff_id is not None else owners[r.customer_id],
                    "entry_key": r.entry_key,
                    "status": EnrolmentStatus.active.value,
                    "entered_at": r.entered_at,
                    "steps_done": 0,
                }
            )
    inserted = insert_if_absent(session, ENROLMENTS, rows, ("id", "customer_id", "entered_at"))
    # A concurrent writer may have inserted the same key between our read and our insert.
    counts["already"] += len(rows) - len(inserted)
    counts["enrolled"] = len(inserted)
    first = definition.steps[0]
    zone = brand_zone()
    to_db = datetime_adapter(session)
    step_rows = [
        (
            int(eid),
            journey_id,
            int(cid),
            0,
            to_db(step_due_at(_aware(entered), first.delay, definition.quiet_hours, zone)),
            0,
        )
        for eid, cid, entered in inserted
    ]
    insert_rows(
        session, STEP_RUNS, STEP_RUN_COLUMNS, step_rows, constants={"status": StepRunStatus.pending.value}
    )
    return counts


def _aware(value: Any) -> datetime:
    """A RETURNING datetime as aware UTC (SQLite hands back naive text-parsed values)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return cast(datetime, value)


def exit_enrolments(session: Session, enrolment_ids: Sequence[int], reason: str, now: datetime) -> int:
    """End active enrolments (exit_reason=reason); their pending step runs become skipped. Returns how many."""
    exited: list[int] = []
    for part in chunks(sorted(set(enrolment_ids))):
        exited += [
            int(i)
            for i in session.execute(
                update(JourneyEnrolment)
                .where(JourneyEnrolment.id.in_(part), JourneyEnrolment.status == EnrolmentStatus.active)
                .values(status=EnrolmentStatus.exited, exited_at=now, exit_reason=reason[:48])
                .returning(JourneyEnrolment.id)
                .execution_options(synchronize_session=False)
            ).scalars()
        ]
    skip_pending(session, exited, {"skipped": "exited", "reason": reason}, now)
    return len(exited)


def skip_pending(
    session: Session, enrolment_ids: Sequence[int], detail: dict[str, Any], now: datetime
) -> int:
    """Mark the pending step runs of these enrolments skipped with detail; returns how many."""
    total = 0
    for part in chunks(sorted(set(enrolment_ids))):
        result = session.execute(
            update(JourneyStepRun)
            .where(JourneyStepRun.enrolment_id.in_(part), JourneyStepRun.status == StepRunStatus.pending)
            .values(status=StepRunStatus.skipped, done_at=now, detail=detail)
            .execution_options(synchronize_session=False)
        )
        total += int(getattr(result, "rowcount", 0) or 0)
    return total
