"""Segment rules: check, preview, save with versions, archive, members, daily sizes (callers own the transaction)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.customers import repository as customers_repo
from siyu.db.types import utcnow
from siyu.errors import Conflict, Forbidden, Invalid, NotFound
from siyu.models import Customer, Segment
from siyu.org.permissions import SYSTEM_ACTOR, Actor
from siyu.privacy import show_phone
from siyu.segments import repository as repo
from siyu.segments.schemas import (
    Preview,
    Rule,
    SampleCustomer,
    SegmentCreate,
    SegmentDetail,
    SegmentOut,
    SegmentUpdate,
    SizeOut,
    VersionOut,
    canonical,
    parse_rule,
)
from siyu.timeutil import day_start_utc, local_date

SAMPLE = 20
REF_NOUNS = {"tag": "tag", "unit": "org unit", "staff": "staff"}


def check_rule(session: Session, document: Any) -> Rule:
    """Parse a rule document and check that every tag / org unit / staff id it names exists (set-based)."""
    rule = parse_rule(document)
    errors = []
    for kind, paths in rule.refs.items():
        missing = sorted(set(paths) - repo.existing_ids(session, kind, list(paths)))
        errors += [{"where": paths[i], "why": f"{REF_NOUNS[kind]} {i} does not exist"} for i in missing]
    if errors:
        errors.sort(key=lambda e: e["where"])
        raise Invalid(f"{errors[0]['where']}: {errors[0]['why']}", details=errors)
    return rule


def sample_rows(
    session: Session, customers: Sequence[Customer], *, reveal: bool = False
) -> list[SampleCustomer]:
    """Customers as the customer list shows them: masked phone, owner and store names (a few IN queries)."""
    ids = [c.id for c in customers]
    phones = customers_repo.first_phones(session, ids)
    owners = customers_repo.staff_names(session, [c.owner_staff_id for c in customers if c.owner_staff_id])
    stores = customers_repo.unit_names(session, [c.home_store_id for c in customers if c.home_store_id])
    return [
        SampleCustomer(
            id=c.id,
            name=c.name,
            phone=show_phone(phones.get(c.id), reveal),
            source=c.source.value,
            lifecycle_stage=c.lifecycle_stage.value,
            owner=owners.get(c.owner_staff_id) if c.owner_staff_id else None,
            store=stores.get(c.home_store_id) if c.home_store_id else None,
        )
        for c in customers
    ]


def preview(session: Session, actor: Actor, document: Any, now: datetime | None = None) -> Preview:
    """How many customers the rule picks in the actor's scope, and the first SAMPLE of them (phones masked)."""
    now = now or utcnow()
    rule = check_rule(session, document)
    count = repo.count_members(session, rule, actor, now)
    first = repo.member_page(session, rule, actor, now, after_id=None, limit=SAMPLE) if count else []
    return Preview(count=count, sample=sample_rows(session, first), as_of=now)


def _require_writer(actor: Actor) -> None:
    if not actor.may_write:
        raise Forbidden(f"role {actor.role.value!r} may not change segments")


def get_segment(session: Session, segment_id: int) -> Segment:
    """The segment with segment_id, or NotFound."""
    segment = repo.get_segment(session, segment_id)
    if segment is None:
        raise NotFound(f"segment {segment_id} does not exist")
    return segment


def _unique_name(session: Session, name: str, segment_id: int | None) -> str:
    name = name.strip()
    if not name:
        raise Invalid("name: must not be blank")
    other = repo.segment_named(session, name)
    if other is not None and other.id != segment_id:
        raise Conflict(f"name: segment {other.id} is already called {name!r}")
    return name


def create_segment(session: Session, actor: Actor, data: SegmentCreate) -> Segment:
    """Save a new segment with rule version 1 (audited)."""
    _require_writer(actor)
    rule = check_rule(session, data.rule)
    now = utcnow()
    segment = Segment(
        name=_unique_name(session, data.name, None),
        description=data.description,
        current_version=1,
        owner_account_id=actor.account_id,
    )
    session.add(segment)
    session.flush()
    repo.add_version(session, segment.id, 1, rule.document, data.note, actor, now)
    audit(session, actor, "segment.create", "segment", segment.id, {"name": segment.name, "version": 1})
    return segment


def update_segment(session: Session, actor: Actor, segment_id: int, data: SegmentUpdate) -> Segment:
    """Rename / describe a segment; a changed rule becomes a new version (audited)."""
    _require_writer(actor)
    segment = get_segment(session, segment_id)
    if segment.archived_at is not None:
        raise Conflict(f"segment {segment_id} is archived; archived segments are not edited")
    changed: dict[str, Any] = {}
    if data.name is not None and data.name.strip() != segment.name:
        segment.name = _unique_name(session, data.name, segment.id)
        changed["name"] = segment.name
    if data.description is not None and data.description != segment.description:
        segment.description = data.description or None
        changed["description"] = True
    if data.rule is not None:
        rule = check_rule(session, data.rule)
        current = repo.current_versions(session, [segment.id])[segment.id]
        if canonical(rule.document) != canonical(current.rule):
            segment.current_version += 1
            repo.add_version(
                session, segment.id, segment.current_version, rule.document, data.note, actor, utcnow()
            )
            changed["version"] = segment.current_version
    if changed:
        session.flush()
        audit(session, actor, "segment.update", "segment", segment.id, changed)
    return segment


def archive_segment(session: Session, actor: Actor, segment_id: int) -> Segment:
    """Archive a segment: it leaves the list and stops getting daily sizes (audited)."""
    _require_writer(actor)
    segment = get_segment(session, segment_id)
    if segment.archived_at is None:
        segment.archived_at = utcnow()
        session.flush()
        audit(session, actor, "segment.archive", "segment", segment.id, {"name": segment.name})
    return segment


def _size(row: Any) -> SizeOut | None:
    return None if row is None else SizeOut(day=row.day, version=row.version, customers=row.customers)


def list_segments(session: Session, *, archived: bool = False) -> list[SegmentOut]:
    """Saved segments with their current rule and latest recorded size (three queries)."""
    segments = repo.list_segments(session, archived=archived)
    ids = [s.id for s in segments]
    rules = repo.current_versions(session, ids)
    sizes = repo.latest_sizes(session, ids)
    return [_out(s, rules[s.id].rule, sizes.get(s.id)) for s in segments]


def _out(segment: Segment, rule: dict[str, Any], size: Any) -> SegmentOut:
    return SegmentOut(
        id=segment.id,
        name=segment.name,
        description=segment.description,
        current_version=segment.current_version,
        rule=rule,
        archived_at=segment.archived_at,
        created_at=segment.created_at,
        last_size=_size(size),
    )


def segment_detail(session: Session, segment_id: int, history_days: int = 90) -> SegmentDetail:
    """A segment with every version and its recorded sizes over the last history_days."""
    segment = get_segment(session, segment_id)
    versions = repo.versions(session, segment.id)
    sizes = repo.size_history(session, [segment.id], local_date(utcnow()) - timedelta(days=history_days))[
        segment.id
    ]
    base = _out(segment, versions[0].rule, sizes[-1] if sizes else None)
    return SegmentDetail(
        **base.model_dump(),
        versions=[
            VersionOut(
                version=v.version,
                rule=v.rule,
                note=v.note,
                created_at=v.created_at,
                created_by_account_id=v.created_by_account_id,
            )
            for v in versions
        ],
        sizes=[SizeOut(day=s.day, version=s.version, customers=s.customers) for s in sizes],
    )


def current_rule(session: Session, segment_id: int) -> tuple[Segment, Rule]:
    """A segment and its current rule, parsed (a stored rule is re-checked: tags may have gone since)."""
    segment = get_segment(session, segment_id)
    document = repo.current_versions(session, [segment.id])[segment.id].rule
    return segment, parse_rule(document)


def members(
    session: Session,
    actor: Actor,
    segment_id: int,
    *,
    after_id: int | None,
    limit: int,
    now: datetime | None = None,
) -> tuple[list[SampleCustomer], int | None]:
    """A keyset page of the segment's readable members and the id to continue after (None at the end)."""
    _segment, rule = current_rule(session, segment_id)
    rows = repo.member_page(session, rule, actor, now or utcnow(), after_id=after_id, limit=limit + 1)
    page = list(rows[:limit])
    next_after = page[-1].id if len(rows) > limit and page else None
    return sample_rows(session, page), next_after


@dataclass(frozen=True)
class SizeRun:
    """What record_sizes did."""

    day: date
    sizes: dict[int, int]
    seconds: float


def record_sizes(session: Session, day: date | None = None, now: datetime | None = None) -> SizeRun:
    """Count every live segment brand-wide as of the end of a brand-local day (default: today, up to now)."""
    started = time.perf_counter()
    now = now or utcnow()
    day = day or local_date(now)
    # The day's end, or now when the day is still running: facts after that moment are not seen.
    as_of = min(now, day_start_utc(day + timedelta(days=1)) - timedelta(microseconds=1))
    segments = repo.list_segments(session, archived=False)
    rules = repo.current_versions(session, [s.id for s in segments])
    sizes: dict[int, int] = {}
    rows = []
    for segment in segments:
        # One count per segment: each rule is its own query (never a query per customer).
        rule = parse_rule(rules[segment.id].rule)
        sizes[segment.id] = repo.count_members(session, rule, SYSTEM_ACTOR, as_of)
        rows.append(
            {
                "segment_id": segment.id,
                "day": day,
                "version": segment.current_version,
                "customers": sizes[segment.id],
                "computed_at": now,
            }
        )
    repo.replace_sizes(session, day, rows)
    return SizeRun(day, sizes, time.perf_counter() - started)
