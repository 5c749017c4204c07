"""Writing an order file's orders: match existing ones, settle their customers, bulk-insert the rest."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime
from itertools import chain, repeat
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import CursorResult, bindparam, func, insert, literal, select, update

from siyu.customers.identity import IdentityResolver, Resolution
from siyu.db.bulk import insert_rows, next_ids
from siyu.db.types import UTCDateTime
from siyu.errors import Conflict
from siyu.events import EVENT_COLUMNS, hold_event_write_lock
from siyu.imports.context import Context, chunks, table_of
from siyu.imports.mapping import IDENTITY_FIELDS, ColumnMap
from siyu.imports.orders_shape import (
    AMOUNT,
    CAMPAIGN,
    CHANNEL,
    COUPON,
    DISCOUNT,
    IDENTITY_SLOTS,
    NAME,
    ORDER_NO,
    PAID_AT,
    REFUND,
    REFUNDED_AT,
    STATUS,
    STORE,
    OrderSet,
)
from siyu.imports.people import (
    add_identities,
    bump_first_seen,
    create_customers,
    customer_constants,
    merge_clusters,
)
from siyu.models import AcquisitionSource, Event, Order, OrderLine, OrgUnit, Staff

ORDERS = table_of(Order)
LINES = table_of(OrderLine)
EVENTS = table_of(Event)
_WRITE_CHUNK = 50_000
ExistingOrder = tuple[int, str, int, Any]


def existing_orders(ctx: Context, keys: list[tuple[str, str]]) -> dict[tuple[str, str], ExistingOrder]:
    """(id, status, refund_fen, refunded_at) of the orders already stored, by (source, order_no)."""
    found: dict[tuple[str, str], ExistingOrder] = {}
    c = ORDERS.c
    # A source never imported before has nothing to match: skip the IN-lists (the 1M-row case).
    sources = [
        source
        for source in {key[0] for key in keys}
        if ctx.session.execute(select(c.id).where(c.source == source).limit(1)).first() is not None
    ]
    for source in sources:
        numbers = [number for s, number in keys if s == source]
        for chunk in chunks(numbers):
            rows = ctx.session.execute(
                select(c.id, c.external_no, c.status, c.refund_fen, c.refunded_at).where(
                    c.source == source, c.external_no.in_(chunk)
                )
            )
            for oid, number, status, refund, refunded_at in rows:
                found[(source, number)] = (oid, status, refund, refunded_at)
    return found


def update_refunds(ctx: Context, orders: OrderSet, existing: dict[tuple[str, str], ExistingOrder]) -> None:
    """Count re-imported orders as unchanged, or update their refund state when it moved on."""
    # An order seen before is matched on (source, order_no); only its refund state may change.
    counts, to_db = ctx.outcome.counts, ctx.to_db
    changes: list[dict[str, Any]] = []
    refunds: list[tuple[Any, ...]] = []
    for key, h in zip(orders.keys, orders.headers, strict=True):
        stored = existing.get(key)
        if stored is None:
            continue
        oid, status, refund, _ = stored
        new_refund, new_status = h[REFUND] or 0, h[STATUS] or "paid"
        if new_refund == refund and new_status == status:
            counts.unchanged += 1
            continue
        counts.updated += 1
        changes.append({"oid": oid, "status": new_status, "refund": new_refund, "at": h[REFUNDED_AT]})
        if new_refund > refund:
            data = f'{{"refund_fen": {new_refund - refund}}}'
            refunds.append((to_db(h[REFUNDED_AT] or ctx.now), oid, data))
    if changes:
        c = ORDERS.c
        ctx.session.execute(
            update(ORDERS)
            .where(c.id == bindparam("oid"))
            .values(status=bindparam("status"), refund_fen=bindparam("refund"), refunded_at=bindparam("at")),
            changes,
        )
    if refunds:
        ids = [r[1] for r in refunds]
        owners: dict[int, tuple[int, Any, Any]] = {}
        for chunk in chunks(ids):
            for oid, customer, staff, store in ctx.session.execute(
                select(ORDERS.c.id, ORDERS.c.customer_id, ORDERS.c.staff_id, ORDERS.c.store_id).where(
                    ORDERS.c.id.in_(chunk)
                )
            ):
                owners[oid] = (customer, staff, store)
        insert_events(ctx, "refunded", [(at, *owners[oid], oid, data) for at, oid, data in refunds])


@dataclass
class People:
    """Who each order belongs to: its identity cluster, and per cluster the earliest time and a name."""

    resolution: Resolution
    order_cluster: list[int]
    earliest: list[datetime | None]
    names: list[str | None]


def resolve_customers(ctx: Context, columns: ColumnMap, orders: OrderSet) -> People:
    """Find the customer of every order by its identities and merge customers the file joins."""
    resolver = IdentityResolver()
    headers = orders.headers
    present = [
        (slot, IDENTITY_FIELDS[name]) for slot, name in enumerate(IDENTITY_SLOTS) if name in columns.fields
    ]
    if len(present) == 1:  # the usual file: one identity column (the phone)
        slot, kind = present[0]
        handles = resolver.add_values(kind, [h[slot] for h in headers])
    else:
        add = resolver.add
        handles = [add([(kind, h[slot]) for slot, kind in present if h[slot] is not None]) for h in headers]
    resolution = resolver.resolve(ctx.session)
    ctx.outcome.stats["customers_merged"] = merge_clusters(ctx, resolution)
    order_cluster = list(map(resolution.cluster_of_group.__getitem__, handles))
    size = len(resolution.clusters)
    earliest: list[datetime | None] = [None] * size
    names: list[str | None] = [None] * size
    for index, h in zip(order_cluster, headers, strict=True):
        paid, seen = h[PAID_AT], earliest[index]
        if seen is None or paid < seen:
            earliest[index] = paid
        if names[index] is None and h[NAME] is not None:
            names[index] = h[NAME]
    return People(resolution, order_cluster, earliest, names)


def create_customers_for(ctx: Context, orders: OrderSet, people: People) -> None:
    """Create customers for unknown people, attach new identities and set every order's customer."""
    resolution, earliest = people.resolution, people.earliest
    clusters = resolution.clusters
    fresh = resolution.new_clusters()
    to_db = ctx.to_db
    ids = create_customers(
        ctx,
        ("name", "first_seen_at"),
        [(people.names[i], to_db(earliest[i])) for i in fresh],
        customer_constants(ctx, source=AcquisitionSource.order.value),
    )
    for index, customer_id in zip(fresh, ids, strict=True):
        clusters[index].customer_id = customer_id
    stats = ctx.outcome.stats
    stats["customers_created"] = len(ids)
    stats["identities_added"] = add_identities(ctx, resolution)
    known: dict[int, datetime] = {}
    for index, cluster in enumerate(clusters):
        seen = earliest[index]
        if cluster.existing and cluster.customer_id is not None and seen is not None:
            known[cluster.customer_id] = seen
    bump_first_seen(ctx, known)
    customer_of_cluster = [c.customer_id or 0 for c in clusters]
    orders.customers = list(map(customer_of_cluster.__getitem__, people.order_cluster))


def verify_references(ctx: Context, orders: OrderSet) -> None:
    """Check, inside the write transaction, that the stores and staff the orders name still exist."""
    for table, ids in ((table_of(OrgUnit), orders.store_ids), (table_of(Staff), orders.staff_ids)):
        wanted = sorted({i for i in ids if i is not None})
        found: set[int] = set()
        for chunk in chunks(wanted):
            found.update(ctx.session.execute(select(table.c.id).where(table.c.id.in_(chunk))).scalars())
        if len(found) != len(wanted):
            gone = sorted(set(wanted) - found)
            raise Conflict(
                f"{table.name} {gone[:5]} were deleted while the file was being imported; run it again"
            )


_ORDER_COLUMNS = (
    "id",
    "source",
    "external_no",
    "customer_id",
    "channel",
    "store_id",
    "staff_id",
    "campaign_ref",
    "coupon_ref",
    "amount_fen",
    "discount_fen",
    "refund_fen",
    "status",
    "paid_at",
    "refunded_at",
)
_LINE_COLUMNS = ("order_id", "customer_id", "sku", "name", "quantity", "amount_fen")


def _constant_columns(ctx: Context, columns: ColumnMap) -> dict[str, Any]:
    # Columns the file cannot vary are written once into the SQL instead of bound on every row.
    present = columns.fields
    fixed: dict[str, Any] = {}
    if "order_source" not in present:
        fixed["source"] = ctx.options.order_source
    if "channel" not in present and "store_code" not in present:
        fixed["channel"] = "miniprogram"
    for field, column in (
        ("store_code", "store_id"),
        ("staff_code", "staff_id"),
        ("campaign_ref", "campaign_ref"),
        ("coupon_ref", "coupon_ref"),
    ):
        if field not in present:
            fixed[column] = None
    if "discount" not in present:
        fixed["discount_fen"] = 0
    if not {"refund_amount", "status"} & present.keys():
        fixed.update(refund_fen=0, status="paid", refunded_at=None)
    return fixed


def _column(headers: list[tuple[Any, ...]], slot: int) -> list[Any]:
    return list(map(itemgetter(slot), headers))


def _order_columns(
    ctx: Context, orders: OrderSet, ids: list[int], fixed: dict[str, Any]
) -> dict[str, list[Any]]:
    # Column by column with C-level itemgetter/map: a loop building one tuple per order cost
    # seconds on a million-row file.
    headers, to_db = orders.headers, ctx.to_db
    out: dict[str, list[Any]] = {
        "id": ids,
        "external_no": _column(headers, ORDER_NO),
        "customer_id": orders.customers,
    }
    if "source" not in fixed:
        out["source"] = list(map(itemgetter(0), orders.keys))
    if "channel" not in fixed:
        channel = _column(headers, CHANNEL)
        if None in channel:
            stores = _column(headers, STORE)
            channel = [c or ("store" if s else "miniprogram") for c, s in zip(channel, stores, strict=True)]
        out["channel"] = channel
    if "store_id" not in fixed:
        out["store_id"] = orders.store_ids
    if "staff_id" not in fixed:
        out["staff_id"] = orders.staff_ids
    for column, slot in (("campaign_ref", CAMPAIGN), ("coupon_ref", COUPON)):
        if column not in fixed:
            out[column] = _column(headers, slot)
    out["amount_fen"] = _column(headers, AMOUNT)
    if "discount_fen" not in fixed:
        out["discount_fen"] = [d or 0 for d in _column(headers, DISCOUNT)]
    if "refund_fen" not in fixed:
        out["refund_fen"] = [r or 0 for r in _column(headers, REFUND)]
        out["status"] = [st or "paid" for st in _column(headers, STATUS)]
        out["refunded_at"] = [
            to_db(at) if r else None
            for at, r in zip(_column(headers, REFUNDED_AT), out["refund_fen"], strict=True)
        ]
    out["paid_at"] = list(map(to_db, _column(headers, PAID_AT)))
    return out


def _line_columns(orders: OrderSet, ids: list[int], amounts: list[Any]) -> list[list[Any]]:
    """The order_lines columns of every line part, in order (one product-less part per order at most)."""
    counts = list(map(len, orders.lines))
    parts = list(chain.from_iterable(orders.lines))
    owner = list(chain.from_iterable(repeat(i, n) for i, n in enumerate(counts)))
    skus, names = list(map(itemgetter(1), parts)), list(map(itemgetter(2), parts))
    quantities, line_amounts = list(map(itemgetter(3), parts)), list(map(itemgetter(4), parts))
    del parts
    if None in quantities:
        quantities = [q or 1 for q in quantities]
    if None in line_amounts:  # a single line without an amount takes its order's
        line_amounts = [amounts[o] if a is None else a for a, o in zip(line_amounts, owner, strict=True)]
    if None in skus:
        skus = [sku or (name or "")[:64] for sku, name in zip(skus, names, strict=True)]
    order_ids = list(map(ids.__getitem__, owner))
    customers = list(map(orders.customers.__getitem__, owner))
    return [order_ids, customers, skus, names, quantities, line_amounts]


def write_orders(ctx: Context, columns: ColumnMap, orders: OrderSet) -> None:
    """Insert the new orders with their lines and 'ordered' (and 'refunded') events."""
    session = ctx.session
    total = len(orders)
    ids = next_ids(session, ORDERS, total)
    fixed = _constant_columns(ctx, columns)
    values = _order_columns(ctx, orders, ids, fixed)
    varying = [values[c] for c in _ORDER_COLUMNS if c not in fixed]
    names = [c for c in _ORDER_COLUMNS if c not in fixed]
    with_lines = bool({"sku", "product_name"} & columns.fields.keys())
    lines = _line_columns(orders, ids, values["amount_fen"]) if with_lines else [[]]
    constants = dict(fixed, created_at=ctx.now)
    line_at = written = 0
    for start in range(0, total, _WRITE_CHUNK):
        end = min(total, start + _WRITE_CHUNK)
        rows = list(zip(*(column[start:end] for column in varying), strict=True))
        insert_rows(session, ORDERS, names, rows, constants=constants)
        # Lines are in their orders' id order, so each chunk's lines are one contiguous run.
        line_end = bisect_right(lines[0], ids[end - 1], lo=line_at)
        if with_lines:
            part = zip(*(column[line_at:line_end] for column in lines), strict=True)
            line_rows = [row for row in part if row[2]]  # a row without a product repeats its order
            insert_rows(session, LINES, _LINE_COLUMNS, line_rows)
            written += len(line_rows)
        line_at = line_end
        events_from_orders(ctx, ids[start:end], refunds="refund_fen" not in fixed)
        ctx.progress("writing", end, total)
    ctx.outcome.stats["order_lines"] = written


def events_from_orders(ctx: Context, ids: list[int], *, refunds: bool = True) -> None:
    """Append the 'ordered' (and 'refunded') events of just-inserted orders in set-based SQL."""
    # The events are the orders' own columns: INSERT … SELECT spares a million Python rows.
    session = ctx.session
    hold_event_write_lock(session)
    sqlite = session.get_bind().dialect.name == "sqlite"
    json_object = func.json_object if sqlite else func.json_build_object
    if sqlite and ids and ids[-1] - ids[0] + 1 == len(ids):
        scopes = [ORDERS.c.id.between(ids[0], ids[-1])]  # ids of one writer's transaction: contiguous
    else:
        scopes = [ORDERS.c.id.in_(chunk) for chunk in chunks(ids, 5000)]
    c = ORDERS.c
    now = literal(ctx.now, UTCDateTime())
    columns = list(EVENT_COLUMNS)
    written = 0
    for scope in scopes:
        ordered = select(
            literal("ordered"),
            c.paid_at,
            now,
            c.customer_id,
            c.staff_id,
            c.store_id,
            literal("order"),
            c.id,
            json_object("amount_fen", c.amount_fen, "channel", c.channel),
        ).where(scope)
        refunded = select(
            literal("refunded"),
            c.refunded_at,
            now,
            c.customer_id,
            c.staff_id,
            c.store_id,
            literal("order"),
            c.id,
            json_object("refund_fen", c.refund_fen),
        ).where(scope, c.refund_fen > 0)
        for query in (ordered, refunded) if refunds else (ordered,):
            result = cast(CursorResult[Any], session.execute(insert(EVENTS).from_select(columns, query)))
            written += max(result.rowcount, 0)
    ctx.outcome.stats["events"] = ctx.outcome.stats.get("events", 0) + written


def insert_events(ctx: Context, kind: str, rows: list[tuple[Any, ...]]) -> None:
    """Append order events: (occurred_at in driver form, customer, staff, unit, order id, data JSON)."""
    # The rows siyu.events.record_events writes, with the constant columns inlined: the order
    # path appends up to a million events and per-row binding is most of its cost.
    hold_event_write_lock(ctx.session)
    insert_rows(
        ctx.session,
        EVENTS,
        ("occurred_at", "customer_id", "staff_id", "unit_id", "subject_id", "data"),
        rows,
        constants={"kind": kind, "recorded_at": ctx.now, "subject_type": "order"},
    )
    ctx.outcome.stats["events"] = ctx.outcome.stats.get("events", 0) + len(rows)
