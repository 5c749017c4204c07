"""WeCom contacts into Siyu's customer model: customers, identities, memberships, tags (set-based)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, cast

from sqlalchemy import Table, delete, insert, select, tuple_, update
from sqlalchemy.orm import Session

from siyu.customers.identity import normalise_phone
from siyu.db.bulk import any_of, insert_if_absent, insert_returning_ids
from siyu.events import NewEvent, record_events
from siyu.models import (
    ChannelCode,
    ChannelMembership,
    Customer,
    CustomerIdentity,
    CustomerTag,
    Staff,
    Tag,
    TagGroup,
)
from siyu.models.enums import AcquisitionSource, Channel, IdentityKind, LeaveReason, TagAppliedBy

if TYPE_CHECKING:
    from siyu.channels.wecom.schemas import ContactWithFollow

Source = Literal["sync", "callback"]

_GENDERS = {1: "male", 2: "female", 0: "unknown"}


@dataclass(slots=True)
class ContactUpsertResult:
    """What one upsert changed; ids let callers (onboarding, sync counts) act on exactly these rows."""

    customer_ids_by_external: dict[str, int] = field(default_factory=dict)
    new_customer_ids: list[int] = field(default_factory=list)
    new_membership_ids: list[int] = field(default_factory=list)
    # (customer_id, staff_id) -> open membership id, for every follow in the input with a known staff.
    membership_ids: dict[tuple[int, int], int] = field(default_factory=dict)
    phones_added: int = 0
    phones_conflicting: list[tuple[str, int, int]] = field(default_factory=list)  # (phone, ours, owner)
    unionid_conflicts: list[tuple[str, int, int]] = field(default_factory=list)  # (unionid, ours, owner)
    unknown_userids: list[str] = field(default_factory=list)  # follows of members not linked to a Staff
    memberships_updated: int = 0
    tags_added: int = 0
    tags_removed: int = 0


@dataclass(frozen=True, slots=True)
class _Follow:
    """One (customer, member) follow relation read off a ContactWithFollow."""

    external_userid: str
    name: str | None
    gender: str | None
    unionid: str | None
    userid: str
    remark: str | None
    createtime: int | None
    add_way: int | None
    state: str | None
    tag_ids: tuple[str, ...]
    mobiles: tuple[str, ...]


def _opt(obj: Any, name: str) -> Any:
    # Schema fields WeCom may omit; models ignore unknown fields so attribute presence varies.
    return getattr(obj, name, None)


def _follow_tag_ids(info: Any) -> tuple[str, ...]:
    # batch/get_by_user gives tag_id[]; externalcontact/get gives tags[{tag_id, type}] (type 1 = corp tag).
    ids = _opt(info, "tag_id")
    if ids:
        return tuple(str(t) for t in ids)
    tags = _opt(info, "tags") or ()
    out = []
    for t in tags:
        tag_id = t.get("tag_id") if isinstance(t, dict) else _opt(t, "tag_id")
        kind = t.get("type") if isinstance(t, dict) else _opt(t, "type")
        if tag_id and kind in (None, 1):
            out.append(str(tag_id))
    return tuple(out)


def _follows(rows: Sequence[ContactWithFollow]) -> list[_Follow]:
    """Flatten and deduplicate (last row of a pair wins, as WeCom's newest answer)."""
    out: dict[tuple[str, str], _Follow] = {}
    for row in rows:
        c, f = row.external_contact, row.follow_info
        gender = _opt(c, "gender")
        out[(c.external_userid, f.userid)] = _Follow(
            external_userid=c.external_userid,
            name=(_opt(c, "name") or None),
            gender=_GENDERS.get(gender) if isinstance(gender, int) else None,
            unionid=(_opt(c, "unionid") or None),
            userid=f.userid,
            remark=((_opt(f, "remark") or "")[:100] or None),
            createtime=_opt(f, "createtime"),
            add_way=_opt(f, "add_way"),
            state=((_opt(f, "state") or "")[:64] or None),
            tag_ids=_follow_tag_ids(f),
            mobiles=tuple(m for m in (_opt(f, "remark_mobiles") or ()) if m),
        )
    return list(out.values())


def epoch(ts: int | None, default: datetime) -> datetime:
    """An aware UTC datetime from WeCom's epoch seconds (0/None = default)."""
    return datetime.fromtimestamp(ts, UTC) if ts else default


def staff_by_userid(session: Session, userids: Iterable[str]) -> dict[str, tuple[int, int]]:
    """wecom_userid -> (staff id, unit id), one query."""
    wanted = sorted(set(userids))
    if not wanted:
        return {}
    rows = session.execute(
        select(Staff.wecom_userid, Staff.id, Staff.unit_id).where(any_of(session, Staff.wecom_userid, wanted))
    )
    return {u: (s, unit) for u, s, unit in rows if u is not None}


def identities_of(session: Session, kind: IdentityKind, values: Iterable[str]) -> dict[str, int]:
    """value -> customer id for one identity kind, one query."""
    wanted = sorted(set(values))
    if not wanted:
        return {}
    rows = session.execute(
        select(CustomerIdentity.value, CustomerIdentity.customer_id).where(
            CustomerIdentity.kind == kind, any_of(session, CustomerIdentity.value, wanted)
        )
    )
    return {v: c for v, c in rows}


def _codes(session: Session, states: Iterable[str]) -> dict[str, ChannelCode]:
    wanted = sorted(set(states))
    if not wanted:
        return {}
    found = session.scalars(select(ChannelCode).where(any_of(session, ChannelCode.code, wanted)))
    return {c.code: c for c in found}


def _source_of(code: ChannelCode | None) -> AcquisitionSource:
    if code is None:
        return AcquisitionSource.organic
    if code.ad_campaign:
        return AcquisitionSource.ad
    return AcquisitionSource.store if code.store_id else AcquisitionSource.organic


def _create_customers(
    session: Session,
    follows: list[_Follow],
    missing: list[str],
    staff: dict[str, tuple[int, int]],
    now: datetime,
) -> dict[str, int]:
    """Insert one customer per unknown external userid, attributed from its earliest follow."""
    first: dict[str, _Follow] = {}
    for f in sorted(follows, key=lambda f: (f.createtime or 0, f.userid)):
        if f.external_userid in missing:
            first.setdefault(f.external_userid, f)
    codes = _codes(session, (f.state for f in first.values() if f.state))
    values = []
    for ext in missing:
        f = first[ext]
        code = codes.get(f.state) if f.state else None
        staff_id = staff.get(f.userid, (None, None))[0]
        values.append(
            {
                "name": (f.name or "")[:100] or None,
                "gender": f.gender,
                "source": _source_of(code),
                "source_detail": code.source_detail if code else None,
                "source_channel_code": code.code if code else None,
                "source_ad_campaign": code.ad_campaign if code else None,
                "home_store_id": code.store_id if code else None,
                "owner_staff_id": staff_id,
                "first_seen_at": epoch(f.createtime, now),
                "created_at": now,
            }
        )
    ids = insert_returning_ids(session, cast(Table, Customer.__table__), values)
    new = dict(zip(missing, ids, strict=True))
    session.execute(
        insert(cast(Table, CustomerIdentity.__table__)),
        [
            {
                "customer_id": cid,
                "kind": IdentityKind.wecom_external_userid,
                "value": ext,
                "created_at": now,
            }
            for ext, cid in new.items()
        ],
    )
    return new


def _add_identities(
    session: Session,
    kind: IdentityKind,
    wanted: dict[str, int],
    now: datetime,
) -> tuple[int, list[tuple[str, int, int]]]:
    """Attach value -> customer identities; values owned by another customer are returned, not moved."""
    owners = identities_of(session, kind, wanted)
    conflicts = [(v, c, owners[v]) for v, c in sorted(wanted.items()) if v in owners and owners[v] != c]
    todo = [
        {"customer_id": c, "kind": kind, "value": v, "created_at": now}
        for v, c in sorted(wanted.items())
        if v not in owners
    ]
    added = insert_if_absent(session, cast(Table, CustomerIdentity.__table__), todo, ["value"])
    return len(added), conflicts


def _phones(follows: list[_Follow], customer_of: dict[str, int]) -> tuple[dict[str, int], list[str]]:
    """phone -> customer from remark_mobiles; a phone typed for two customers in one batch goes to neither."""
    by_phone: dict[str, set[int]] = {}
    for f in follows:
        for raw in f.mobiles:
            try:
                phone = normalise_phone(raw)
            except ValueError:
                continue  # staff-typed free text; an invalid number is not an identity
            by_phone.setdefault(phone, set()).add(customer_of[f.external_userid])
    clean = {p: next(iter(c)) for p, c in by_phone.items() if len(c) == 1}
    return clean, sorted(p for p, c in by_phone.items() if len(c) > 1)


def _memberships(
    session: Session,
    follows: list[_Follow],
    customer_of: dict[str, int],
    staff: dict[str, tuple[int, int]],
    now: datetime,
    result: ContactUpsertResult,
    source: Source,
) -> None:
    """One open wecom membership per (customer, staff): insert missing ones, refresh changed remarks."""
    m = ChannelMembership
    customer_ids = sorted(set(customer_of.values()))
    open_rows = session.execute(
        select(m.id, m.customer_id, m.staff_id, m.remark, m.add_way, m.channel_code).where(
            m.channel == Channel.wecom,
            m.left_at.is_(None),
            m.staff_id.is_not(None),
            any_of(session, m.customer_id, customer_ids),
        )
    ).all()
    existing = {(r.customer_id, r.staff_id): r for r in open_rows}
    inserts: list[dict[str, Any]] = []
    keys: list[tuple[int, int, _Follow]] = []
    updates: list[dict[str, Any]] = []
    for f in follows:
        if f.userid not in staff:
            continue
        key = (customer_of[f.external_userid], staff[f.userid][0])
        row = existing.get(key)
        if row is not None:
            result.membership_ids[key] = row.id
            changed = {
                k: v
                for k, v, old in (
                    ("remark", f.remark, row.remark),
                    ("add_way", f.add_way, row.add_way),
                    ("channel_code", f.state, row.channel_code),
                )
                if v is not None and v != old
            }
            if changed:
                updates.append({"id": row.id, **changed})
            continue
        keys.append((*key, f))
        inserts.append(
            {
                "customer_id": key[0],
                "channel": Channel.wecom,
                "staff_id": key[1],
                "joined_at": epoch(f.createtime, now),
                "channel_code": f.state,
                "add_way": f.add_way,
                "remark": f.remark,
            }
        )
    for part in _chunks(updates, 500):
        # Rows differ in which columns changed: group them so each executemany has one shape.
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for u in part:
            shapes.setdefault(tuple(sorted(u)), []).append(u)
        for rows in shapes.values():
            session.execute(update(m), rows)
    result.memberships_updated += len(updates)
    if not inserts:
        return
    ids = insert_returning_ids(session, cast(Table, m.__table__), inserts)
    events = []
    for mid, (cid, sid, f) in zip(ids, keys, strict=True):
        result.membership_ids[(cid, sid)] = mid
        result.new_membership_ids.append(mid)
        events.append(
            NewEvent(
                kind="joined_channel",
                occurred_at=epoch(f.createtime, now),
                customer_id=cid,
                staff_id=sid,
                unit_id=staff[f.userid][1],
                subject_type="channel_membership",
                subject_id=mid,
                data={"channel": "wecom", "channel_code": f.state, "add_way": f.add_way, "via": source},
            )
        )
    record_events(session, events)


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def linked_tags(session: Session, wecom_ids: Iterable[str] | None = None) -> dict[str, tuple[int, str, str]]:
    """wecom_tag_id -> (tag id, tag name, group name) for tags linked to corp tags (all, or the given ids)."""
    q = select(Tag.wecom_tag_id, Tag.id, Tag.name, TagGroup.name).join(TagGroup, TagGroup.id == Tag.group_id)
    if wecom_ids is not None:
        wanted = sorted(set(wecom_ids))
        if not wanted:
            return {}
        q = q.where(any_of(session, Tag.wecom_tag_id, wanted))
    else:
        q = q.where(Tag.wecom_tag_id.is_not(None))
    return {w: (t, n, g) for w, t, n, g in session.execute(q) if w is not None}


def _tags(
    session: Session,
    follows: list[_Follow],
    customer_of: dict[str, int],
    staff: dict[str, tuple[int, int]],
    now: datetime,
    result: ContactUpsertResult,
    *,
    replace: bool,
) -> None:
    """Corp tags on the follows -> CustomerTag rows (+ tagged/untagged events marked by=wecom)."""
    linked = linked_tags(session, None if replace else (t for f in follows for t in f.tag_ids))
    want: dict[tuple[int, int], int | None] = {}  # (customer, tag) -> staff who tagged
    for f in follows:
        sid = staff.get(f.userid, (None, None))[0]
        for w in f.tag_ids:
            if w in linked:
                want.setdefault((customer_of[f.external_userid], linked[w][0]), sid)
    by_tag = {t: (n, g) for t, n, g in linked.values()}
    events: list[NewEvent] = []
    if want:
        rows = [
            {
                "customer_id": c,
                "tag_id": t,
                "applied_by": TagAppliedBy.system,
                "applied_by_id": s,
                "applied_at": now,
            }
            for (c, t), s in sorted(want.items())
        ]
        added = insert_if_absent(session, cast(Table, CustomerTag.__table__), rows, ["customer_id", "tag_id"])
        result.tags_added += len(added)
        events += [_tag_event("tagged", c, t, want[(c, t)], by_tag, now) for c, t in added]
    if replace and linked:
        # Only when the rows hold every follow of their customers (externalcontact/get): otherwise a
        # tag another member put on would be dropped.
        customers = sorted(set(customer_of.values()))
        have = session.execute(
            select(CustomerTag.customer_id, CustomerTag.tag_id).where(
                any_of(session, CustomerTag.customer_id, customers),
                any_of(session, CustomerTag.tag_id, sorted(by_tag)),
            )
        ).all()
        gone = [(c, t) for c, t in have if (c, t) not in want]  # few: one customer's tags
        if gone:
            session.execute(
                delete(CustomerTag)
                .where(tuple_(CustomerTag.customer_id, CustomerTag.tag_id).in_(gone))
                .execution_options(synchronize_session=False)
            )
        result.tags_removed += len(gone)
        events += [_tag_event("untagged", c, t, None, by_tag, now) for c, t in gone]
    record_events(session, events)


def _tag_event(
    kind: str,
    customer_id: int,
    tag_id: int,
    staff_id: int | None,
    names: dict[int, tuple[str, str]],
    now: datetime,
) -> NewEvent:
    name, group = names.get(tag_id, (None, None))
    # by=wecom: the tag push job skips these, so a tag never echoes back to WeCom.
    return NewEvent(
        kind=kind,
        occurred_at=now,
        customer_id=customer_id,
        staff_id=staff_id,
        subject_type="tag",
        subject_id=tag_id,
        data={"tag": name, "group": group, "by": "wecom"},
    )


def upsert_contacts(
    session: Session,
    rows: Sequence[ContactWithFollow],
    now: datetime,
    *,
    source: Source = "sync",
    replace_tags: bool = False,
) -> ContactUpsertResult:
    """Bring WeCom contacts + follow relations into customers, identities, memberships and tags.

    Set-based: a fixed number of statements per call, whatever the number of rows. source (sync | callback)
    is kept on the joined_channel events as data.via. replace_tags: the rows
    hold every follow of their customers (a callback's externalcontact/get), so WeCom-linked tags missing
    from all of them are removed; a sync page holds only some follows and only adds.
    """
    result = ContactUpsertResult()
    follows = _follows(rows)
    if not follows:
        return result
    staff = staff_by_userid(session, (f.userid for f in follows))
    result.unknown_userids = sorted({f.userid for f in follows if f.userid not in staff})
    externals = list(dict.fromkeys(f.external_userid for f in follows))
    customer_of = identities_of(session, IdentityKind.wecom_external_userid, externals)
    # A contact seen first elsewhere (mini program, official account) is matched by unionid.
    unionid_of = {f.external_userid: f.unionid for f in follows if f.unionid}
    by_unionid = identities_of(session, IdentityKind.unionid, unionid_of.values())
    matched = {e: by_unionid[u] for e, u in unionid_of.items() if e not in customer_of and u in by_unionid}
    if matched:
        session.execute(
            insert(cast(Table, CustomerIdentity.__table__)),
            [
                {"customer_id": c, "kind": IdentityKind.wecom_external_userid, "value": e, "created_at": now}
                for e, c in sorted(matched.items())
            ],
        )
        customer_of.update(matched)
    missing = [e for e in externals if e not in customer_of]
    if missing:
        new = _create_customers(session, follows, missing, staff, now)
        customer_of.update(new)
        result.new_customer_ids = sorted(new.values())
    result.customer_ids_by_external = {e: customer_of[e] for e in externals}
    _, result.unionid_conflicts = _add_identities(
        session, IdentityKind.unionid, {u: customer_of[e] for e, u in unionid_of.items()}, now
    )
    phones, ambiguous = _phones(follows, customer_of)
    result.phones_added, result.phones_conflicting = _add_identities(session, IdentityKind.phone, phones, now)
    result.phones_conflicting += [(p, 0, 0) for p in ambiguous]
    _memberships(session, follows, customer_of, staff, now, result, source)
    _tags(session, follows, customer_of, staff, now, result, replace=replace_tags)
    return result


def close_memberships(session: Session, ids: Sequence[int], reason: LeaveReason, at: datetime) -> list[int]:
    """End open memberships (one UPDATE), with a left_channel event each; returns the ids really closed."""
    if not ids:
        return []
    m = ChannelMembership
    rows = session.execute(
        select(m.id, m.customer_id, m.staff_id, m.channel, Staff.unit_id)
        .outerjoin(Staff, Staff.id == m.staff_id)
        .where(any_of(session, m.id, sorted(set(ids))), m.left_at.is_(None))
    ).all()
    if not rows:
        return []
    closed = [r.id for r in rows]
    session.execute(
        update(m)
        .where(any_of(session, m.id, closed), m.left_at.is_(None))
        .values(left_at=at, leave_reason=reason)
        .execution_options(synchronize_session=False)
    )
    record_events(
        session,
        [
            NewEvent(
                kind="left_channel",
                occurred_at=at,
                customer_id=r.customer_id,
                staff_id=r.staff_id,
                unit_id=r.unit_id,
                subject_type="channel_membership",
                subject_id=r.id,
                data={"channel": r.channel.value, "reason": reason.value},
            )
            for r in rows
        ],
    )
    return sorted(closed)


def close_follow(
    session: Session, userid: str, external_userid: str, reason: LeaveReason, at: datetime
) -> list[int]:
    """End the open wecom membership(s) between a member and a contact; returns the membership ids."""
    staff = staff_by_userid(session, [userid])
    customer = identities_of(session, IdentityKind.wecom_external_userid, [external_userid])
    if userid not in staff or external_userid not in customer:
        return []
    m = ChannelMembership
    ids = session.scalars(
        select(m.id).where(
            m.channel == Channel.wecom,
            m.left_at.is_(None),
            m.staff_id == staff[userid][0],
            m.customer_id == customer[external_userid],
        )
    ).all()
    return close_memberships(session, list(ids), reason, at)
