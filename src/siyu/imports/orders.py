"""Order files: one row per order or per order line; customers resolved by identity; idempotent.

Orders are held in parallel lists rather than an object each: a million-row file makes several
hundred thousand orders, and every per-order allocation and attribute hop shows in the run time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import partial
from typing import Any

from siyu.customers.identity import normalise_identity
from siyu.db.bulk import deferred_indexes, suspend_foreign_keys
from siyu.imports import normalise as n
from siyu.imports.context import BatchReader, Context, staff_by_code, stores_by_code
from siyu.imports.mapping import IDENTITY_FIELDS, ColumnMap
from siyu.imports.order_writes import (
    EVENTS,
    LINES,
    ORDERS,
    create_customers_for,
    existing_orders,
    resolve_customers,
    update_refunds,
    verify_references,
    write_orders,
)
from siyu.imports.orders_shape import (
    AMOUNT,
    FIELDS,
    HEADER_FIELDS,
    IDENTITY_SLOTS,
    N_HEADER,
    ORDER_NO,
    PAID_AT,
    REFUND,
    REFUNDED_AT,
    SOURCE,
    STAFF,
    STATUS,
    STORE,
    OrderSet,
)
from siyu.imports.people import CUSTOMERS, IDENTITIES
from siyu.imports.readers import Cell


def parsers(ctx: Context) -> dict[str, Any]:
    """Cell parser of every field of an order file."""
    text = n.text_parser
    out: dict[str, Any] = {
        name: partial(normalise_identity, kind, region=ctx.region) for name, kind in IDENTITY_FIELDS.items()
    }
    when = n.time_parser(ctx.zone)
    out.update(
        order_no=text(64),
        paid_at=when,
        amount=n.parse_amount_fen,
        discount=n.parse_amount_fen,
        refund_amount=n.parse_amount_fen,
        refunded_at=when,
        status=n.parse_order_status,
        channel=n.parse_order_channel,
        store_code=text(64),
        staff_code=text(64),
        campaign_ref=text(64),
        coupon_ref=text(64),
        order_source=text(32),
        name=text(100),
        sku=text(64),
        product_name=text(200),
        quantity=n.parse_quantity,
        line_amount=n.parse_amount_fen,
    )
    return out


def _show(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat(" ")
    return "" if value is None else str(value)


def _gather(
    ctx: Context, columns: ColumnMap, rows: Iterator[tuple[int, list[Cell]]], size_hint: int | None
) -> tuple[OrderSet, set[str], int]:
    report = ctx.report
    repeating = [f for f in FIELDS if f not in ("order_no", "paid_at", "refunded_at")]
    reader = BatchReader(FIELDS, columns, parsers(ctx), report, repeating=repeating)
    field_header = {name: columns.headers[i] for name, i in columns.fields.items()}
    default_source = ctx.options.order_source
    orders = OrderSet()
    headers, lines = orders.headers, orders.lines
    broken: set[str] = set()  # order numbers with a bad row: all their rows are rejected
    required = [(ORDER_NO, "order_no"), (PAID_AT, "paid_at")]
    need_amount = "amount" in columns.fields
    if need_amount:
        required.append((AMOUNT, "amount"))
    id_slots = [FIELDS.index(name) for name in IDENTITY_SLOTS if name in columns.fields]
    single_source = "order_source" not in columns.fields
    index: dict[Any, int] = {}
    total = 0
    for batch in reader.batches(rows):
        bad, cols = batch.bad, batch.columns
        broken.update(cols[ORDER_NO][i] or "" for i in bad)
        identified = (
            cols[id_slots[0]]
            if len(id_slots) == 1
            else list(map(any, zip(*(cols[s] for s in id_slots), strict=True)))
        )
        parts = zip(batch.lines, *cols[N_HEADER:], strict=True)
        # One source (no source column): order numbers alone are the keys, no tuple per row.
        keys = (
            cols[ORDER_NO]
            if single_source
            else [(s or default_source, n) for s, n in zip(cols[SOURCE], cols[ORDER_NO], strict=True)]
        )
        rows_of = zip(batch.rows(0, N_HEADER), parts, keys, strict=True)
        clean = (
            not bad
            and None not in cols[ORDER_NO]
            and None not in cols[PAID_AT]
            and (not need_amount or None not in cols[AMOUNT])
            and all(identified)
        )
        if clean:  # the usual batch: nothing to check row by row, only grouping
            for header, part, key in rows_of:
                at = index.get(key)
                if at is None:
                    index[key] = len(headers)
                    headers.append(header)
                    lines.append([part])
                elif headers[at] == header:
                    lines[at].append(part)
                else:
                    _disagree(ctx, field_header, headers[at], lines[at][0][0], header, part[0], broken)
            total += len(batch.lines)
            ctx.progress("reading", total, size_hint)
            continue
        for i, (header, part, key) in enumerate(rows_of):
            if i in bad:
                continue
            number = header[ORDER_NO]
            if number is None or header[PAID_AT] is None or (need_amount and header[AMOUNT] is None):
                name = next(name for slot, name in required if header[slot] is None)
                report.add(part[0], field_header[name], None, f"{name} is empty")
                broken.add(number or "")
                continue
            if not identified[i]:
                report.add(
                    part[0],
                    None,
                    None,
                    "no customer identity: give a phone, member_no, unionid, openid or external_userid",
                )
                broken.add(number)
                continue
            at = index.get(key)
            if at is None:
                index[key] = len(headers)
                headers.append(header)
                lines.append([part])
            elif headers[at] == header:
                lines[at].append(part)
            else:
                _disagree(ctx, field_header, headers[at], lines[at][0][0], header, part[0], broken)
        total += len(batch.lines)
        ctx.progress("reading", total, size_hint)
    orders.keys = [(default_source, n) for n in index] if single_source else list(index)
    return orders, broken, total


def _disagree(
    ctx: Context,
    field_header: dict[str, str],
    first: tuple[Any, ...],
    first_line: int,
    header: tuple[Any, ...],
    line: int,
    broken: set[str],
) -> None:
    """Report a row whose order-level values differ from the order's first row."""
    slot = next(s for s in range(N_HEADER) if first[s] != header[s])
    name = HEADER_FIELDS[slot]
    ctx.report.add(
        line,
        field_header.get(name, name),
        header[slot],
        f"order {header[ORDER_NO]} has {_show(first[slot])!r} on row {first_line} but "
        f"{_show(header[slot])!r} here; rows of one order must agree",
    )
    broken.add(header[ORDER_NO])


def _complete(
    header: tuple[Any, ...], lines: list[tuple[Any, ...]], with_lines: bool
) -> tuple[Any, ...] | str:
    """The header with amount, refund and status settled from the lines, or the reason it is invalid."""
    h = list(header)
    if with_lines:
        amounts = [line[4] for line in lines]
        if h[AMOUNT] is None:
            if None in amounts:
                return "line amount missing and no order amount given"
            h[AMOUNT] = sum(amounts)
        elif len(lines) > 1 and None in amounts:
            return "line amount missing on a multi-line order"
    amount, refund, status = h[AMOUNT], h[REFUND], h[STATUS]
    if refund is None:
        if status == "partially_refunded":
            return "status partially_refunded needs a refund amount"
        refund = amount if status == "refunded" else 0
    if refund > amount:
        return f"refund {n.format_fen(refund)} is more than the amount {n.format_fen(amount)}"
    derived = "paid" if refund == 0 else "refunded" if refund == amount else "partially_refunded"
    if status is not None and status != derived:
        return f"status {status} does not match refund {n.format_fen(refund)} of {n.format_fen(amount)}"
    h[REFUND], h[STATUS] = refund, derived
    if refund and h[REFUNDED_AT] is None:
        h[REFUNDED_AT] = h[PAID_AT]
    return tuple(h)


def _validate(ctx: Context, columns: ColumnMap, orders: OrderSet, broken: set[str]) -> None:
    # Most orders need nothing settled (amount given, no refund): only the others are rebuilt.
    report, headers, lines = ctx.report, orders.headers, orders.lines
    no_header = columns.headers[columns.fields["order_no"]]
    with_lines = bool({"sku", "product_name"} & columns.fields.keys())
    for i, h in enumerate(headers):
        if (
            h[AMOUNT] is not None
            and h[REFUND] is None
            and h[STATUS] is None
            and (not with_lines or len(lines[i]) == 1 or all(line[4] is not None for line in lines[i]))
        ):
            continue
        settled = _complete(h, lines[i], with_lines)
        if isinstance(settled, str):
            report.add(lines[i][0][0], no_header, h[ORDER_NO], settled)
            broken.add(h[ORDER_NO])
        else:
            headers[i] = settled
    stores = stores_by_code(ctx.session, {h[STORE] for h in headers if h[STORE]})
    staff = staff_by_code(ctx.session, {h[STAFF] for h in headers if h[STAFF]})
    orders.store_ids = [stores[h[STORE]] if h[STORE] else None for h in headers]
    orders.staff_ids = [staff[h[STAFF]] if h[STAFF] else None for h in headers]
    for field, slot, ids in (
        ("store_code", STORE, orders.store_ids),
        ("staff_code", STAFF, orders.staff_ids),
    ):
        if any(isinstance(v, str) for v in ids):
            for i, found in enumerate(ids):
                if isinstance(found, str):
                    report.add(
                        lines[i][0][0], columns.headers[columns.fields[field]], headers[i][slot], found
                    )
                    broken.add(headers[i][ORDER_NO])


def run(
    ctx: Context, columns: ColumnMap, rows: Iterator[tuple[int, list[Cell]]], size_hint: int | None
) -> None:
    """Import an order file into the session (no commit); problems end up in ctx.report."""
    report, counts = ctx.report, ctx.outcome.counts
    orders, broken, counts.total_rows = _gather(ctx, columns, rows, size_hint)
    ctx.progress("checking", 0, None)
    _validate(ctx, columns, orders, broken)
    if broken:
        alive = []
        for i, (_source, number) in enumerate(orders.keys):
            if number in broken:
                for line in orders.lines[i]:
                    report.reject(line[0], f"another row of order {number} is invalid")
            else:
                alive.append(i)
        orders.keep(alive)
    counts.rejected = len(report.reasons)
    if report and not ctx.options.skip_invalid:
        return
    ctx.progress("matching", 0, None)
    existing = existing_orders(ctx, orders.keys)
    if existing:
        update_refunds(ctx, orders, existing)
        orders.keep([i for i, key in enumerate(orders.keys) if key not in existing])
    counts.inserted = len(orders.keys)
    ctx.progress("customers", 0, None)
    # A large load skips SQLite's row-by-row foreign-key checks: every id below is created here or
    # was just looked up, and verify_references re-checks stores and staff under the write lock.
    suspend_foreign_keys(ctx.session, len(orders.keys))
    people = resolve_customers(ctx, columns, orders)
    with deferred_indexes(ctx.session, (CUSTOMERS, IDENTITIES, ORDERS, LINES, EVENTS), len(orders.keys)):
        create_customers_for(ctx, orders, people)
        verify_references(ctx, orders)
        write_orders(ctx, columns, orders)
