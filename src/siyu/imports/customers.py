"""Customer files: identities, profile, owner and home store, tags, and channel memberships."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import bindparam, select, update

from siyu.customers.identity import IdentityResolver, normalise_identity
from siyu.db.bulk import insert_rows
from siyu.events import NewEvent, record_events
from siyu.imports import normalise as n
from siyu.imports.context import BatchReader, Context, chunks, staff_by_code, stores_by_code, table_of
from siyu.imports.mapping import IDENTITY_FIELDS, ColumnMap
from siyu.imports.people import (
    CUSTOMERS,
    add_identities,
    bump_first_seen,
    create_customers,
    customer_constants,
    merge_clusters,
)
from siyu.imports.readers import Cell
from siyu.imports.tagging import TagLabel, apply_tags, ensure_tags
from siyu.models import Channel, ChannelMembership

MEMBERSHIPS = table_of(ChannelMembership)
IDENTITY_SLOTS = tuple(IDENTITY_FIELDS)
# Profile fields and the customers column each one sets.
PROFILE = {
    "name": "name",
    "gender": "gender",
    "city": "city",
    "source": "source",
    "source_detail": "source_detail",
    "channel_code": "source_channel_code",
    "ad_campaign": "source_ad_campaign",
    "owner_staff_code": "owner_staff_id",
    "home_store_code": "home_store_id",
    "member_tier": "member_tier",
    "points": "points_balance",
    "marketing_opt_in": "marketing_opt_in",
}
JOINED = {
    "wecom_joined_at": Channel.wecom,
    "member_joined_at": Channel.member,
    "miniprogram_joined_at": Channel.miniprogram,
    "official_account_joined_at": Channel.official_account,
}
FIELDS = (*IDENTITY_SLOTS, *PROFILE, "tags", "first_seen_at", *JOINED)
SLOT = {name: i for i, name in enumerate(FIELDS)}


def parsers(ctx: Context) -> dict[str, Any]:
    """Cell parser of every field of a customer file."""
    text = n.text_parser
    when = n.time_parser(ctx.zone)
    out: dict[str, Any] = {
        name: partial(normalise_identity, kind, region=ctx.region) for name, kind in IDENTITY_FIELDS.items()
    }
    out.update(
        name=text(100),
        gender=n.parse_gender,
        city=text(64),
        source=n.parse_source,
        source_detail=text(200),
        channel_code=text(64),
        ad_campaign=text(100),
        owner_staff_code=text(64),
        home_store_code=text(64),
        member_tier=text(32),
        points=n.parse_count,
        marketing_opt_in=n.parse_flag,
        tags=n.parse_tags,
        first_seen_at=when,
    )
    out.update({name: when for name in JOINED})
    return out


def _read(
    ctx: Context, columns: ColumnMap, rows: Iterator[tuple[int, list[Cell]]], size_hint: int | None
) -> tuple[list[int], list[tuple[Any, ...]], int]:
    reader = BatchReader(FIELDS, columns, parsers(ctx), ctx.report)
    id_slots = [SLOT[name] for name in IDENTITY_SLOTS if name in columns.fields]
    lines: list[int] = []
    records: list[tuple[Any, ...]] = []
    total = 0
    for batch in reader.batches(rows):
        for i, (line, values) in enumerate(zip(batch.lines, batch.rows(), strict=True)):
            if i in batch.bad:
                continue
            if not any(values[s] for s in id_slots):
                ctx.report.add(
                    line,
                    None,
                    None,
                    "no customer identity: give a phone, member_no, unionid, openid or external_userid",
                )
                continue
            lines.append(line)
            records.append(values)
        total += len(batch.lines)
        ctx.progress("reading", total, size_hint)
    return lines, records, total


def _references(
    ctx: Context, columns: ColumnMap, lines: list[int], records: list[tuple[Any, ...]]
) -> list[bool]:
    """Turn staff and store codes into ids in place; returns which records are still valid."""
    ok = [True] * len(records)
    lookups = (
        ("owner_staff_code", staff_by_code),
        ("home_store_code", stores_by_code),
    )
    for field, lookup in lookups:
        if field not in columns.fields:
            continue
        slot = SLOT[field]
        found = lookup(ctx.session, {r[slot] for r in records if r[slot]})
        for i, record in enumerate(records):
            code = record[slot]
            if code is None:
                continue
            target = found[code]
            if isinstance(target, str):
                ctx.report.add(lines[i], columns.headers[columns.fields[field]], code, target)
                ok[i] = False
            else:
                records[i] = (*record[:slot], target, *record[slot + 1 :])
    return ok


def _fold(records: list[tuple[Any, ...]]) -> dict[str, Any]:
    """One person's values from their rows: the last non-empty value of each field wins."""
    out: dict[str, Any] = {}
    for record in records:
        for field in PROFILE:
            value = record[SLOT[field]]
            if value is not None:
                out[PROFILE[field]] = value
    return out


def _earliest(records: list[tuple[Any, ...]]) -> datetime | None:
    times = [r[SLOT[f]] for r in records for f in ("first_seen_at", *JOINED) if r[SLOT[f]] is not None]
    return min(times) if times else None


def run(
    ctx: Context, columns: ColumnMap, rows: Iterator[tuple[int, list[Cell]]], size_hint: int | None
) -> None:
    """Import a customer file into the session (no commit); problems end up in ctx.report."""
    report, counts, session = ctx.report, ctx.outcome.counts, ctx.session
    lines, records, counts.total_rows = _read(ctx, columns, rows, size_hint)
    ok = _references(ctx, columns, lines, records)
    if report:
        keep = [i for i in range(len(records)) if ok[i]]
        lines, records = [lines[i] for i in keep], [records[i] for i in keep]
    counts.rejected = len(report.reasons)
    if report and not ctx.options.skip_invalid:
        return
    ctx.progress("customers", 0, None)
    resolver = IdentityResolver()
    id_slots = [(SLOT[name], IDENTITY_FIELDS[name]) for name in IDENTITY_SLOTS if name in columns.fields]
    handles = [
        resolver.add([(kind, r[slot]) for slot, kind in id_slots if r[slot] is not None]) for r in records
    ]
    resolution = resolver.resolve(session)
    ctx.outcome.stats["customers_merged"] = merge_clusters(ctx, resolution)
    people: dict[int, list[tuple[Any, ...]]] = {}
    for record, handle in zip(records, handles, strict=True):
        people.setdefault(resolution.cluster_of_group[handle], []).append(record)
    clusters = resolution.clusters
    fresh = [i for i in resolution.new_clusters() if i in people]
    _create(ctx, fresh, people, clusters)
    changed = _update_existing(ctx, people, clusters)
    changed |= {customer_id for customer_id, _, _ in resolution.missing_identities()}
    ctx.outcome.stats["identities_added"] = add_identities(ctx, resolution)
    customer_of = {i: clusters[i].customer_id or 0 for i in people}
    changed |= _tags(ctx, people, customer_of)
    changed |= _memberships(ctx, columns, people, customer_of)
    existing = {customer_of[i] for i in people if clusters[i].existing}
    counts.inserted = len(fresh)
    counts.updated = len(existing & changed)
    counts.unchanged = len(existing - changed)


def _create(
    ctx: Context, fresh: list[int], people: dict[int, list[tuple[Any, ...]]], clusters: list[Any]
) -> None:
    columns = ("first_seen_at", *PROFILE.values())
    rows = []
    for index in fresh:
        values = _fold(people[index])
        values.setdefault("source", "organic")
        values.setdefault("points_balance", 0)
        values.setdefault("marketing_opt_in", False)
        seen = _earliest(people[index]) or ctx.now
        rows.append((ctx.to_db(seen), *(values.get(c) for c in PROFILE.values())))
    constants = customer_constants(ctx)
    for column in ("points_balance", "marketing_opt_in"):
        constants.pop(column)
    ids = create_customers(ctx, columns, rows, constants)
    for index, customer_id in zip(fresh, ids, strict=True):
        clusters[index].customer_id = customer_id
    ctx.outcome.stats["customers_created"] = len(ids)


def _update_existing(ctx: Context, people: dict[int, list[tuple[Any, ...]]], clusters: list[Any]) -> set[int]:
    wanted: dict[int, dict[str, Any]] = {}
    earliest: dict[int, datetime] = {}
    for index, records in people.items():
        customer_id = clusters[index].customer_id
        if not clusters[index].existing or customer_id is None:
            continue
        wanted[customer_id] = _fold(records)
        seen = _earliest(records)
        if seen is not None:
            earliest[customer_id] = seen
    changed: set[int] = set()
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    columns = list(PROFILE.values())
    for chunk in chunks(sorted(wanted)):
        rows = ctx.session.execute(
            select(CUSTOMERS.c.id, *(CUSTOMERS.c[c] for c in columns)).where(CUSTOMERS.c.id.in_(chunk))
        )
        for row in rows:
            current = dict(zip(columns, row[1:], strict=True))
            diff = {k: v for k, v in wanted[row[0]].items() if current.get(k) != v}
            if diff:
                changed.add(row[0])
                by_columns.setdefault(tuple(sorted(diff)), []).append({"cid": row[0], **diff})
    for names, params in by_columns.items():
        ctx.session.execute(
            update(CUSTOMERS)
            .where(CUSTOMERS.c.id == bindparam("cid"))
            .values({k: bindparam(k) for k in names}),
            params,
        )
    bump_first_seen(ctx, earliest)
    return changed


def _tags(ctx: Context, people: dict[int, list[tuple[Any, ...]]], customer_of: dict[int, int]) -> set[int]:
    slot = SLOT["tags"]
    wanted: dict[int, set[TagLabel]] = {}
    for index, records in people.items():
        labels = {label for r in records if r[slot] for label in r[slot]}
        if labels:
            wanted[customer_of[index]] = labels
    if not wanted:
        return set()
    tags = ensure_tags(ctx, {label for labels in wanted.values() for label in labels})
    return apply_tags(ctx, wanted, tags)


def _memberships(
    ctx: Context, columns: ColumnMap, people: dict[int, list[tuple[Any, ...]]], customer_of: dict[int, int]
) -> set[int]:
    present = [(SLOT[f], channel) for f, channel in JOINED.items() if f in columns.fields]
    if not present:
        return set()
    owner_slot = SLOT["owner_staff_code"]
    wanted: dict[tuple[int, str, int | None], datetime] = {}
    for index, records in people.items():
        for record in records:
            for slot, channel in present:
                when = record[slot]
                if when is None:
                    continue
                # The owner is the staff member a WeCom contact belongs to; other channels have none.
                staff = record[owner_slot] if channel is Channel.wecom else None
                key = (customer_of[index], channel.value, staff)
                if key not in wanted or when < wanted[key]:
                    wanted[key] = when
    open_spans: set[tuple[int, str, int | None]] = set()
    for chunk in chunks(sorted({k[0] for k in wanted})):
        for cid, channel, staff in ctx.session.execute(
            select(MEMBERSHIPS.c.customer_id, MEMBERSHIPS.c.channel, MEMBERSHIPS.c.staff_id).where(
                MEMBERSHIPS.c.customer_id.in_(chunk), MEMBERSHIPS.c.left_at.is_(None)
            )
        ):
            open_spans.add((cid, str(channel), staff))
    # An open span in the channel (with the same owner for WeCom) means the customer is already there.
    new = sorted((k, at) for k, at in wanted.items() if k not in open_spans)
    insert_rows(
        ctx.session,
        MEMBERSHIPS,
        ("customer_id", "channel", "staff_id", "joined_at"),
        [(cid, channel, staff, ctx.to_db(at)) for (cid, channel, staff), at in new],
    )
    record_events(
        ctx.session,
        [
            NewEvent(
                kind="joined",
                occurred_at=at,
                customer_id=cid,
                staff_id=staff,
                data={"channel": channel, "by": "import"},
            )
            for (cid, channel, staff), at in new
        ],
    )
    ctx.outcome.stats["memberships_added"] = len(new)
    return {k[0] for k, _ in new}
