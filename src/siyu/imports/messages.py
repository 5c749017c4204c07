"""Chat archive files (会话存档 shape): messages resolved to staff, customers and groups; idempotent on msgid."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select

from siyu.customers.identity import lookup_identities
from siyu.db.bulk import insert_rows
from siyu.imports import normalise as n
from siyu.imports.context import BatchReader, Context, chunks, staff_by_code, table_of
from siyu.imports.mapping import ColumnMap
from siyu.imports.people import IDENTITIES, bump_first_seen, create_customers, customer_constants
from siyu.imports.readers import Cell
from siyu.models import ChatGroup, ChatMessage, IdentityKind, MessageDirection

MESSAGES = table_of(ChatMessage)
GROUPS = table_of(ChatGroup)
FIELDS = ("msgid", "sender", "receivers", "room_id", "sent_at", "msg_type", "text")
MSGID, SENDER, RECEIVERS, ROOM, SENT_AT, MSG_TYPE, TEXT = range(len(FIELDS))
# WeCom external contact ids: wm… (WeChat users) and wo… (WeCom users of other companies).
EXTERNAL_ID = re.compile(r"w[mo][\w-]{6,}")
_SPLIT = re.compile(r"[,;|，；\s]+")


def parse_receivers(raw: Any) -> tuple[str, ...]:
    """A JSON list or a comma/space-separated list of ids."""
    text = str(raw).strip()
    if text.startswith("["):
        try:
            value = json.loads(text)
        except ValueError:
            raise ValueError("not a JSON list of ids") from None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("not a JSON list of ids")
        return tuple(v.strip() for v in value if v.strip())
    return tuple(v for v in _SPLIT.split(text) if v)


def parse_text(raw: Any) -> str | None:
    """Message text; a JSON object (as the archive stores it) gives its 'content'."""
    text = str(raw)
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError:
            return text
        if isinstance(value, dict) and isinstance(value.get("content"), str):
            return str(value["content"])
    return text or None


def parsers(ctx: Context) -> dict[str, Any]:
    """Cell parser of every field of a chat archive file."""
    return {
        "msgid": n.text_parser(128),
        "sender": n.text_parser(128),
        "receivers": parse_receivers,
        "room_id": n.text_parser(128),
        "sent_at": n.time_parser(ctx.zone),
        "msg_type": n.text_parser(32),
        "text": parse_text,
    }


def _read(
    ctx: Context, columns: ColumnMap, rows: Iterator[tuple[int, list[Cell]]], size_hint: int | None
) -> tuple[dict[str, tuple[int, tuple[Any, ...]]], int]:
    report = ctx.report
    reader = BatchReader(FIELDS, columns, parsers(ctx), report)
    headers = {name: columns.headers[i] for name, i in columns.fields.items()}
    messages: dict[str, tuple[int, tuple[Any, ...]]] = {}
    total = 0
    for batch in reader.batches(rows):
        for i, (line, values) in enumerate(zip(batch.lines, batch.rows(), strict=True)):
            if i in batch.bad:
                continue
            empty = next(
                (
                    f
                    for f, s in (("msgid", MSGID), ("sender", SENDER), ("sent_at", SENT_AT))
                    if values[s] is None
                ),
                None,
            )
            if empty is not None:
                report.add(line, headers[empty], None, f"{empty} is empty")
                continue
            seen = messages.get(values[MSGID])
            if seen is None:
                messages[values[MSGID]] = (line, values)
            elif seen[1] != values:
                report.add(
                    line,
                    headers["msgid"],
                    values[MSGID],
                    f"message id also on row {seen[0]} with different content",
                )
            else:
                ctx.outcome.counts.unchanged += 1  # the same message twice in one file
        total += len(batch.lines)
        ctx.progress("reading", total, size_hint)
    return messages, total


def run(
    ctx: Context, columns: ColumnMap, rows: Iterator[tuple[int, list[Cell]]], size_hint: int | None
) -> None:
    """Import a chat archive file into the session (no commit); problems end up in ctx.report."""
    report, counts, session = ctx.report, ctx.outcome.counts, ctx.session
    messages, counts.total_rows = _read(ctx, columns, rows, size_hint)
    ctx.progress("matching", 0, None)
    stored: set[str] = set()
    for chunk in chunks(sorted(messages)):
        stored.update(session.execute(select(MESSAGES.c.msgid).where(MESSAGES.c.msgid.in_(chunk))).scalars())
    counts.unchanged += len(stored)
    new = {k: v for k, v in messages.items() if k not in stored}
    sender_header = columns.headers[columns.fields["sender"]]
    accepted, customers = resolve_senders(ctx, new, sender_header)
    counts.rejected = len(report.reasons)
    if report and not ctx.options.skip_invalid:
        return
    write_messages(ctx, accepted, customers)
    counts.inserted = len(accepted)


Accepted = tuple[str, tuple[Any, ...], MessageDirection, int | None, str | None]


def resolve_senders(
    ctx: Context, new: dict[str, tuple[int, tuple[Any, ...]]], sender_header: str
) -> tuple[list[Accepted], dict[str, int | None]]:
    """Direction, staff and customer (external id) of each new message; unknown senders go to ctx.report.

    new maps msgid → (line, values in FIELDS order); also returns the customer id per external id (None = new).
    Shared by the file importer and the compliance ingest.
    """
    session, report = ctx.session, ctx.report
    participants: set[str] = set()
    for _, values in new.values():
        participants.add(values[SENDER])
        if values[ROOM] is None and values[RECEIVERS]:
            participants.update(values[RECEIVERS])
    staff = {k: v for k, v in staff_by_code(session, participants).items() if isinstance(v, int)}
    # Customers are named by their external id until new ones get their ids, just before writing.
    known = lookup_identities(
        session, [(IdentityKind.wecom_external_userid, x) for x in participants - staff.keys()]
    )
    customers: dict[str, int | None] = {x: c for (_, x), c in known.items()}
    customers.update(
        {x: None for x in participants - staff.keys() - customers.keys() if EXTERNAL_ID.fullmatch(x)}
    )
    accepted: list[Accepted] = []
    for msgid, (line, v) in new.items():
        sender = v[SENDER]
        if sender not in staff and sender not in customers:
            report.add(
                line,
                sender_header,
                sender,
                "unknown sender: not a staff code or WeCom userid, nor an external contact id (wm…/wo…)",
            )
            continue
        if v[ROOM] is not None:
            if sender in staff:
                accepted.append((msgid, v, MessageDirection.staff_to_group, staff[sender], None))
            else:
                accepted.append((msgid, v, MessageDirection.customer_to_group, None, sender))
            continue
        other = next((r for r in v[RECEIVERS] or () if r in staff or r in customers), None)
        if sender in staff and other in customers:
            accepted.append((msgid, v, MessageDirection.staff_to_customer, staff[sender], other))
        elif sender in customers and other in staff:
            accepted.append((msgid, v, MessageDirection.customer_to_staff, staff[other], sender))
        else:  # staff to staff, or nobody we know on the other side
            who = sender if sender in customers else other if other in customers else None
            accepted.append((msgid, v, MessageDirection.other, staff.get(sender), who))
    return accepted, customers


def write_messages(ctx: Context, accepted: list[Accepted], customers: dict[str, int | None]) -> None:
    """Insert the accepted messages, creating the customers and groups they name."""
    session = ctx.session
    customer_ids = _create_customers(ctx, customers, accepted)
    group_ids = _groups(ctx, {v[ROOM] for _, v, _, _, _ in accepted if v[ROOM]})
    to_db = ctx.to_db
    insert_rows(
        session,
        MESSAGES,
        (
            "msgid",
            "sender",
            "receivers",
            "room_id",
            "direction",
            "staff_id",
            "customer_id",
            "group_id",
            "msg_type",
            "text",
            "sent_at",
        ),
        [
            (
                msgid,
                v[SENDER],
                json.dumps(list(v[RECEIVERS]), ensure_ascii=False) if v[RECEIVERS] else None,
                v[ROOM],
                direction.value,
                staff_id,
                customer_ids[who] if who else None,
                group_ids[v[ROOM]] if v[ROOM] else None,
                v[MSG_TYPE] or "text",
                v[TEXT],
                to_db(v[SENT_AT]),
            )
            for msgid, v, direction, staff_id, who in accepted
        ],
    )


def _create_customers(
    ctx: Context,
    customers: dict[str, int | None],
    accepted: list[Accepted],
) -> dict[str, int]:
    """Customer id per external id in the accepted messages, creating customers for new wm…/wo… ids."""
    first: dict[str, datetime] = {}
    for _, v, _, _, who in accepted:
        if who is not None and (who not in first or v[SENT_AT] < first[who]):
            first[who] = v[SENT_AT]
    fresh = sorted(x for x in first if customers[x] is None)
    to_db = ctx.to_db
    created = create_customers(
        ctx,
        ("first_seen_at",),
        [(to_db(first[x]),) for x in fresh],
        customer_constants(ctx, source="organic"),
    )
    insert_rows(
        ctx.session,
        IDENTITIES,
        ("customer_id", "kind", "value"),
        [(cid, IdentityKind.wecom_external_userid.value, x) for x, cid in zip(fresh, created, strict=True)],
        constants={"created_at": ctx.now},
    )
    ctx.outcome.stats["customers_created"] = len(created)
    found = {x: c for x, c in customers.items() if c is not None}
    bump_first_seen(ctx, {found[x]: at for x, at in first.items() if x in found})
    found.update(zip(fresh, created, strict=True))
    return found


def _groups(ctx: Context, rooms: set[str]) -> dict[str, int]:
    """ChatGroup id per room id; rooms not synced yet are created (named after their id)."""
    found: dict[str, int] = {}
    names = sorted(rooms)
    for chunk in chunks(names):
        for gid, external in ctx.session.execute(
            select(GROUPS.c.id, GROUPS.c.external_id).where(GROUPS.c.external_id.in_(chunk))
        ):
            found[external] = gid
    missing = [r for r in names if r not in found]
    if missing:
        ctx.session.execute(
            GROUPS.insert(), [{"external_id": r, "name": r[:200], "created_at": ctx.now} for r in missing]
        )
        for chunk in chunks(missing):
            for gid, external in ctx.session.execute(
                select(GROUPS.c.id, GROUPS.c.external_id).where(GROUPS.c.external_id.in_(chunk))
            ):
                found[external] = gid
        ctx.outcome.stats["groups_created"] = len(missing)
    return found
