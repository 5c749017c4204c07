"""Tag rules: the brand's tag vocabulary and applying tags to customers within the actor's scope."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.customers import repository as repo
from siyu.customers.schemas import (
    TagChange,
    TagCreate,
    TagGroupCreate,
    TagGroupOut,
    TagGroupUpdate,
    TagOut,
    TagPair,
    TagRename,
)
from siyu.db.types import utcnow
from siyu.errors import Conflict, Forbidden, Invalid, NotFound
from siyu.events import NewEvent, record_events
from siyu.models import Tag, TagGroup
from siyu.org.permissions import Actor, DataScope

# --- vocabulary -------------------------------------------------------------------------------------


def list_groups(session: Session) -> list[TagGroupOut]:
    """Every tag group with its tags."""
    groups = repo.list_groups(session)
    tags = repo.tags_in_groups(session, [g.id for g in groups])
    return [
        TagGroupOut(
            id=g.id,
            name=g.name,
            exclusive=g.exclusive,
            sort_order=g.sort_order,
            tags=[TagOut.model_validate(t) for t in tags[g.id]],
        )
        for g in groups
    ]


def group_out(session: Session, group: TagGroup) -> TagGroupOut:
    """One tag group with its tags."""
    tags = repo.tags_in_groups(session, [group.id])[group.id]
    return TagGroupOut(
        id=group.id,
        name=group.name,
        exclusive=group.exclusive,
        sort_order=group.sort_order,
        tags=[TagOut.model_validate(t) for t in tags],
    )


def _need_scope_all(actor: Actor, what: str) -> None:
    # Deleting vocabulary strips it from every customer, including those outside a narrower scope.
    if actor.scope is not DataScope.all:
        raise Forbidden(f"{what} touches every customer; it needs data scope 'all'")


def _group(session: Session, group_id: int) -> TagGroup:
    group = repo.get_group(session, group_id)
    if group is None:
        raise NotFound(f"tag group {group_id} does not exist")
    return group


def _tag(session: Session, tag_id: int) -> tuple[Tag, TagGroup]:
    found = repo.get_tags(session, [tag_id]).get(tag_id)
    if found is None:
        raise NotFound(f"tag {tag_id} does not exist")
    return found


def create_group(session: Session, actor: Actor, data: TagGroupCreate) -> TagGroup:
    """Add a tag group; names are unique."""
    if repo.group_named(session, data.name) is not None:
        raise Conflict(f"tag group {data.name!r} already exists")
    group = TagGroup(name=data.name, exclusive=data.exclusive, sort_order=data.sort_order)
    session.add(group)
    session.flush()
    audit(session, actor, "tag_group.create", "tag_group", group.id, {"name": group.name})
    return group


def update_group(session: Session, actor: Actor, group_id: int, data: TagGroupUpdate) -> TagGroup:
    """Rename or reorder a tag group."""
    group = _group(session, group_id)
    before = {"name": group.name, "sort_order": group.sort_order}
    if data.name is not None and data.name != group.name:
        if repo.group_named(session, data.name) is not None:
            raise Conflict(f"tag group {data.name!r} already exists")
        group.name = data.name
    if data.sort_order is not None:
        group.sort_order = data.sort_order
    session.flush()
    after = {"name": group.name, "sort_order": group.sort_order}
    audit(session, actor, "tag_group.update", "tag_group", group.id, {"before": before, "after": after})
    return group


def delete_group(session: Session, actor: Actor, group_id: int) -> None:
    """Delete an empty tag group."""
    _need_scope_all(actor, "deleting a tag group")
    group = _group(session, group_id)
    held = repo.count_tags(session, group.id)
    if held:
        raise Conflict(f"tag group {group.name!r} still holds {held} tag(s); delete them first")
    session.delete(group)
    session.flush()
    audit(session, actor, "tag_group.delete", "tag_group", group_id, {"name": group.name})


def create_tag(session: Session, actor: Actor, data: TagCreate) -> Tag:
    """Add a tag to a group; names are unique within a group."""
    group = _group(session, data.group_id)
    if repo.tag_named(session, group.id, data.name) is not None:
        raise Conflict(f"tag {data.name!r} already exists in group {group.name!r}")
    tag = Tag(group_id=group.id, name=data.name)
    session.add(tag)
    session.flush()
    audit(session, actor, "tag.create", "tag", tag.id, {"group": group.name, "name": tag.name})
    return tag


def rename_tag(session: Session, actor: Actor, tag_id: int, data: TagRename) -> Tag:
    """Rename a tag; the new name must be free in its group."""
    tag, group = _tag(session, tag_id)
    old = tag.name
    if data.name != old:
        if repo.tag_named(session, group.id, data.name) is not None:
            raise Conflict(f"tag {data.name!r} already exists in group {group.name!r}")
        tag.name = data.name
        session.flush()
    audit(session, actor, "tag.rename", "tag", tag.id, {"before": old, "after": tag.name})
    return tag


def delete_tag(session: Session, actor: Actor, tag_id: int) -> int:
    """Delete a tag, untagging every customer that carries it (with events); returns how many."""
    _need_scope_all(actor, "deleting a tag")
    tag, group = _tag(session, tag_id)
    removed = repo.delete_customer_tags(session, repo.customers_tagged(session, tag.id), [tag.id])
    _record(session, actor, "untagged", removed, {tag.id: (tag, group)}, reason="tag_deleted")
    session.delete(tag)
    session.flush()
    audit(
        session,
        actor,
        "tag.delete",
        "tag",
        tag_id,
        {"group": group.name, "name": tag.name, "customers": len(removed)},
    )
    return len(removed)


def resolve_tag_ref(session: Session, ref: str) -> int:
    """A tag id from 'ID' or 'group:name', or Invalid naming the filter."""
    ref = ref.strip()
    if ref.isdigit():
        tag_id = int(ref)
        if tag_id in repo.get_tags(session, [tag_id]):
            return tag_id
    elif ":" in ref:
        group_name, _, tag_name = ref.partition(":")
        tag = repo.tag_by_label(session, group_name.strip(), tag_name.strip())
        if tag is not None:
            return tag.id
    why = "no such tag; give a tag id or 'group:name'"
    raise Invalid(f"query.tag: {why}", details=[{"where": "query.tag", "why": why, "value": ref}])


# --- applying tags ------------------------------------------------------------------------------------


def _pairs(pairs: Iterable[tuple[int, int]]) -> list[TagPair]:
    return [TagPair(customer_id=c, tag_id=t) for c, t in sorted(pairs)]


def _record(
    session: Session,
    actor: Actor,
    kind: str,
    pairs: Iterable[tuple[int, int]],
    tags: dict[int, tuple[Tag, TagGroup]],
    reason: str | None = None,
) -> None:
    now = utcnow()
    events = [
        NewEvent(
            kind=kind,
            occurred_at=now,
            customer_id=c,
            staff_id=actor.staff_id,
            subject_type="tag",
            subject_id=t,
            data={
                "tag": tags[t][0].name if t in tags else None,
                "group": tags[t][1].name if t in tags else None,
                "by": "account",
                "account_id": actor.account_id,
                **({"reason": reason} if reason else {}),
            },
        )
        for c, t in sorted(pairs)
    ]
    record_events(session, events)


def _check_targets(
    session: Session, actor: Actor, customer_ids: Sequence[int], tag_ids: Sequence[int]
) -> dict[int, tuple[Tag, TagGroup]]:
    """Every customer must be readable and every tag must exist, or nothing is written."""
    tags = repo.get_tags(session, tag_ids)
    missing_tags = [t for t in tag_ids if t not in tags]
    if missing_tags:
        raise NotFound(
            f"tag {', '.join(map(str, missing_tags))} does not exist",
            details=[{"where": "tag_ids", "why": "not found", "value": t} for t in missing_tags],
        )
    visible = repo.readable_ids(session, actor, customer_ids)
    # Customers outside the scope are reported exactly like customers that do not exist.
    missing = [c for c in customer_ids if c not in visible]
    if missing:
        raise NotFound(
            f"customer {', '.join(map(str, missing))} does not exist",
            details=[{"where": "customer_ids", "why": "not found", "value": c} for c in missing],
        )
    return tags


def apply_tags(
    session: Session, actor: Actor, customer_ids: Sequence[int], tag_ids: Sequence[int]
) -> TagChange:
    """Put tags on customers; existing ones are left alone, and exclusive groups keep one tag each."""
    customer_ids, tag_ids = list(dict.fromkeys(customer_ids)), list(dict.fromkeys(tag_ids))
    tags = _check_targets(session, actor, customer_ids, tag_ids)
    exclusive_groups = [g.id for _t, g in tags.values() if g.exclusive]
    clash = {g for g in exclusive_groups if exclusive_groups.count(g) > 1}
    if clash:
        names = ", ".join(sorted({g.name for _t, g in tags.values() if g.id in clash}))
        why = f"exclusive tag group {names} allows one tag per customer"
        raise Invalid(f"tag_ids: {why}", details=[{"where": "tag_ids", "why": why, "value": tag_ids}])
    wanted = [(c, t) for c in customer_ids for t in tag_ids]
    already = repo.tagged_pairs(session, customer_ids, tag_ids)
    replaced = repo.exclusive_siblings(session, customer_ids, tag_ids)
    removed: set[tuple[int, int]] = set()
    if replaced:
        removed = repo.delete_customer_tags(
            session, sorted({c for c, _ in replaced}), sorted({t for _, t in replaced})
        )
        tags.update(repo.get_tags(session, sorted({t for _, t in removed})))
    todo = [p for p in wanted if p not in already]
    added = repo.insert_customer_tags(session, todo, account_id=actor.account_id, at=utcnow())
    _record(session, actor, "untagged", removed, tags, reason="exclusive_group")
    _record(session, actor, "tagged", added, tags)
    return TagChange(added=_pairs(added), removed=_pairs(removed), unchanged=_pairs(set(wanted) - added))


def remove_tags(
    session: Session, actor: Actor, customer_ids: Sequence[int], tag_ids: Sequence[int]
) -> TagChange:
    """Take tags off customers; removing a tag a customer does not carry is a no-op."""
    customer_ids, tag_ids = list(dict.fromkeys(customer_ids)), list(dict.fromkeys(tag_ids))
    tags = _check_targets(session, actor, customer_ids, tag_ids)
    removed = repo.delete_customer_tags(session, customer_ids, tag_ids)
    _record(session, actor, "untagged", removed, tags)
    wanted = {(c, t) for c in customer_ids for t in tag_ids}
    return TagChange(added=[], removed=_pairs(removed), unchanged=_pairs(wanted - removed))


def tag_customer(
    session: Session, actor: Actor, customer_id: int, tag_ids: Sequence[int], *, remove: bool
) -> TagChange:
    """Apply or remove tags on one customer, audited."""
    change = (remove_tags if remove else apply_tags)(session, actor, [customer_id], tag_ids)
    action = "customer.tags.remove" if remove else "customer.tags.apply"
    audit(session, actor, action, "customer", customer_id, _summary(change, tag_ids=sorted(set(tag_ids))))
    return change


def tag_customers(
    session: Session, actor: Actor, tag_id: int, customer_ids: Sequence[int], *, remove: bool
) -> TagChange:
    """Apply or remove one tag on many customers, audited."""
    change = (remove_tags if remove else apply_tags)(session, actor, customer_ids, [tag_id])
    action = "tag.remove" if remove else "tag.apply"
    audit(session, actor, action, "tag", tag_id, _summary(change, customer_ids=sorted(set(customer_ids))))
    return change


def _summary(change: TagChange, **asked: list[int]) -> dict[str, object]:
    return {
        **asked,
        "added": [[p.customer_id, p.tag_id] for p in change.added],
        "removed": [[p.customer_id, p.tag_id] for p in change.removed],
        "unchanged": len(change.unchanged),
    }


def tag_counts(session: Session) -> dict[int, int]:
    """Customers per tag id (one GROUP BY)."""
    return repo.tag_counts(session)


def merge_tags(session: Session, actor: Actor, source_id: int, target_id: int) -> int:
    """Move every customer from tag source to target (deduplicated), delete source; returns moved count."""
    _need_scope_all(actor, "merging tags")
    if source_id == target_id:
        raise Invalid("target: a tag cannot be merged into itself")
    source, source_group = _tag(session, source_id)
    target, target_group = _tag(session, target_id)
    customers = repo.customers_tagged(session, source.id)
    added = repo.insert_customer_tags(
        session, [(c, target.id) for c in customers], account_id=actor.account_id, at=utcnow()
    )
    removed = repo.delete_customer_tags(session, customers, [source.id])
    tags = {source.id: (source, source_group), target.id: (target, target_group)}
    _record(session, actor, "untagged", removed, tags, reason="tag_merged")
    _record(session, actor, "tagged", added, tags)
    session.delete(source)
    session.flush()
    detail = {"source": source.name, "target": target.name, "customers": len(removed), "added": len(added)}
    audit(session, actor, "tag.merge", "tag", target.id, {"source_id": source_id, **detail})
    return len(removed)
