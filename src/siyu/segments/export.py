"""Segment member export (CSV / XLSX): the readable members, in id chunks, phones masked unless allowed, audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.customers import repository as customers_repo
from siyu.customers.export import write_table
from siyu.db.types import utcnow
from siyu.errors import Invalid
from siyu.org.permissions import Actor
from siyu.privacy import show_phone
from siyu.segments import repository as repo
from siyu.segments.schemas import Rule
from siyu.segments.service import current_rule

CHUNK = 1000
HEADER = [
    "id",
    "name",
    "phone",
    "source",
    "lifecycle_stage",
    "member_tier",
    "owner",
    "store",
    "tags",
    "first_seen_at",
]
FORMATS = ("csv", "xlsx")


def member_rows(
    session: Session, actor: Actor, rule: Rule, now: datetime, *, reveal: bool
) -> Iterator[list[Any]]:
    """Rows of the rule's readable members, fetched CHUNK at a time by id keyset (a few queries per chunk)."""
    after: int | None = None
    while True:
        chunk = repo.member_page(session, rule, actor, now, after_id=after, limit=CHUNK)
        if not chunk:
            return
        ids = [c.id for c in chunk]
        phones = customers_repo.first_phones(session, ids)
        tags = customers_repo.tags_of(session, ids)
        staff = customers_repo.staff_names(session, [c.owner_staff_id for c in chunk if c.owner_staff_id])
        units = customers_repo.unit_names(session, [c.home_store_id for c in chunk if c.home_store_id])
        for c in chunk:
            yield [
                c.id,
                c.name or "",
                show_phone(phones.get(c.id), reveal) or "",
                c.source.value,
                c.lifecycle_stage.value,
                c.member_tier or "",
                staff.get(c.owner_staff_id or 0, ""),
                units.get(c.home_store_id or 0, ""),
                "; ".join(f"{t.group_name}:{t.name}" for t in tags[c.id]),
                c.first_seen_at.isoformat(),
            ]
        after = chunk[-1].id
        # Drop the chunk's ORM objects so a large export keeps a flat memory profile.
        session.expunge_all()


def write_export(session: Session, actor: Actor, segment_id: int, fmt: str) -> tuple[IO[bytes], int, str]:
    """Write the segment's members to a spooled file and audit it; returns (file at 0, rows, segment name)."""
    if fmt not in FORMATS:
        raise Invalid(f"fmt: {fmt!r} is not one of {', '.join(FORMATS)}")
    segment, rule = current_rule(session, segment_id)
    name, version = segment.name, segment.current_version
    reveal = actor.may_reveal_phone
    rows = member_rows(session, actor, rule, utcnow(), reveal=reveal)
    out, count = write_table(HEADER, rows, fmt, "members")
    detail = {"format": fmt, "version": version, "rows": count, "phones": "revealed" if reveal else "masked"}
    audit(session, actor, "segment.export", "segment", segment_id, detail)
    return out, count, name
