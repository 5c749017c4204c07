"""Tags from import files: create missing groups and tags, apply them (applied_by=import), set-based."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import and_, delete, or_, select

from siyu.db.bulk import insert_rows
from siyu.events import NewEvent, record_events
from siyu.imports.context import Context, chunks, table_of
from siyu.models import CustomerTag, Tag, TagAppliedBy, TagGroup

TAG_GROUPS = table_of(TagGroup)
TAGS = table_of(Tag)
CUSTOMER_TAGS = table_of(CustomerTag)
TagLabel = tuple[str, str]


def ensure_tags(ctx: Context, labels: Iterable[TagLabel]) -> dict[TagLabel, tuple[int, int, bool]]:
    """(tag id, group id, group exclusive) per (group, tag) label; missing groups and tags are created."""
    wanted = sorted(set(labels))
    if not wanted:
        return {}
    session = ctx.session
    group_names = sorted({g for g, _ in wanted})
    groups: dict[str, tuple[int, bool]] = {}
    for chunk in chunks(group_names):
        for gid, name, exclusive in session.execute(
            select(TAG_GROUPS.c.id, TAG_GROUPS.c.name, TAG_GROUPS.c.exclusive).where(
                TAG_GROUPS.c.name.in_(chunk)
            )
        ):
            groups[name] = (gid, bool(exclusive))
    missing_groups = [g for g in group_names if g not in groups]
    if missing_groups:
        session.execute(
            TAG_GROUPS.insert(),
            [{"name": g, "exclusive": False, "sort_order": 0, "created_at": ctx.now} for g in missing_groups],
        )
        for gid, name in session.execute(
            select(TAG_GROUPS.c.id, TAG_GROUPS.c.name).where(TAG_GROUPS.c.name.in_(missing_groups))
        ):
            groups[name] = (gid, False)
    found: dict[TagLabel, tuple[int, int, bool]] = {}
    by_group: dict[int, list[str]] = {}
    for g, t in wanted:
        by_group.setdefault(groups[g][0], []).append(t)
    name_of_group = {gid: name for name, (gid, _) in groups.items()}
    for gid, names in by_group.items():
        rows = session.execute(
            select(TAGS.c.id, TAGS.c.name).where(TAGS.c.group_id == gid, TAGS.c.name.in_(names))
        )
        present = {name: tid for tid, name in rows}
        missing = [t for t in names if t not in present]
        if missing:
            ctx.outcome.stats["tags_created"] = ctx.outcome.stats.get("tags_created", 0) + len(missing)
            session.execute(
                TAGS.insert(), [{"group_id": gid, "name": t, "created_at": ctx.now} for t in missing]
            )
            for tid, name in session.execute(
                select(TAGS.c.id, TAGS.c.name).where(TAGS.c.group_id == gid, TAGS.c.name.in_(missing))
            ):
                present[name] = tid
        group_name = name_of_group[gid]
        exclusive = groups[group_name][1]
        for name, tid in present.items():
            found[(group_name, name)] = (tid, gid, exclusive)
    return found


def apply_tags(
    ctx: Context, wanted: Mapping[int, set[TagLabel]], tags: Mapping[TagLabel, tuple[int, int, bool]]
) -> set[int]:
    """Put the tags on the customers (customer id → labels); returns the customers that changed.

    A tag in an exclusive group replaces the customer's other tags of that group, as tagging by
    hand does; every change leaves a 'tagged' or 'untagged' event.
    """
    session = ctx.session
    customer_ids = sorted(wanted)
    current: dict[int, set[int]] = {}
    for chunk in chunks(customer_ids):
        for cid, tid in session.execute(
            select(CUSTOMER_TAGS.c.customer_id, CUSTOMER_TAGS.c.tag_id).where(
                CUSTOMER_TAGS.c.customer_id.in_(chunk)
            )
        ):
            current.setdefault(cid, set()).add(tid)
    group_of_tag = _groups_of(ctx, {t for ts in current.values() for t in ts})
    label_of = {tid: label for label, (tid, _, _) in tags.items()}
    group_of_tag.update({tid: (gid, exclusive) for tid, gid, exclusive in tags.values()})
    added: list[tuple[int, int]] = []
    removed: list[tuple[int, int]] = []
    for cid in customer_ids:
        have = current.get(cid, set())
        for label in sorted(wanted[cid]):
            tid, gid, exclusive = tags[label]
            if tid in have:
                continue
            if exclusive:
                for other in [t for t in have if group_of_tag.get(t, (None, False))[0] == gid]:
                    removed.append((cid, other))
                    have.discard(other)
            added.append((cid, tid))
            have.add(tid)
    if removed:
        for chunk in chunks(removed, 300):
            session.execute(
                delete(CUSTOMER_TAGS).where(
                    or_(
                        *(
                            and_(CUSTOMER_TAGS.c.customer_id == c, CUSTOMER_TAGS.c.tag_id == t)
                            for c, t in chunk
                        )
                    )
                )
            )
    at = ctx.to_db(ctx.now)
    insert_rows(
        session,
        CUSTOMER_TAGS,
        ("customer_id", "tag_id"),
        added,
        constants={"applied_by": TagAppliedBy.import_.value, "applied_by_id": None, "applied_at": at},
    )
    record_events(session, [_event(ctx, "untagged", c, t, label_of, "exclusive_group") for c, t in removed])
    record_events(session, [_event(ctx, "tagged", c, t, label_of, None) for c, t in added])
    ctx.outcome.stats["tags_applied"] = ctx.outcome.stats.get("tags_applied", 0) + len(added)
    return {c for c, _ in added} | {c for c, _ in removed}


def _groups_of(ctx: Context, tag_ids: set[int]) -> dict[int, tuple[int, bool]]:
    out: dict[int, tuple[int, bool]] = {}
    for chunk in chunks(sorted(tag_ids)):
        rows = ctx.session.execute(
            select(TAGS.c.id, TAGS.c.group_id, TAG_GROUPS.c.exclusive)
            .join(TAG_GROUPS, TAG_GROUPS.c.id == TAGS.c.group_id)
            .where(TAGS.c.id.in_(chunk))
        )
        for tid, gid, exclusive in rows:
            out[tid] = (gid, bool(exclusive))
    return out


def _event(
    ctx: Context, kind: str, customer: int, tag: int, labels: Mapping[int, TagLabel], reason: str | None
) -> NewEvent:
    group, name = labels.get(tag, (None, None))
    data: dict[str, Any] = {"tag": name, "group": group, "by": "import"}
    if reason:
        data["reason"] = reason
    return NewEvent(
        kind=kind, occurred_at=ctx.now, customer_id=customer, subject_type="tag", subject_id=tag, data=data
    )
