"""Customer-side writes every importer needs: merges, new customers, identities, first-seen times."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import bindparam, select, update

from siyu.customers.identity import Resolution, merge_customers
from siyu.db.bulk import insert_rows, next_ids
from siyu.imports.context import Context, chunks, table_of
from siyu.models import Customer, CustomerIdentity, LifecycleStage

CUSTOMERS = table_of(Customer)
IDENTITIES = table_of(CustomerIdentity)


def customer_constants(ctx: Context, **overrides: Any) -> dict[str, Any]:
    """Column values shared by every customer an import creates (unless given per row)."""
    values: dict[str, Any] = {
        "lifecycle_stage": LifecycleStage.new.value,
        "points_balance": 0,
        "marketing_opt_in": False,
        "chat_archive_consent": False,
        "created_at": ctx.now,
    }
    values.update(overrides)
    return values


def merge_clusters(ctx: Context, resolution: Resolution) -> int:
    """Merge the customers each cluster joins (the oldest survives); returns how many were merged away."""
    merges = resolution.merges()
    if not merges:
        return 0
    return merge_customers(ctx.session, merges, occurred_at=ctx.now, reason="import")


def create_customers(
    ctx: Context, columns: Sequence[str], rows: Sequence[Sequence[Any]], constants: Mapping[str, Any]
) -> list[int]:
    """Insert new customers (rows in columns order, times already in driver form); returns their ids."""
    ids = next_ids(ctx.session, CUSTOMERS, len(rows))
    insert_rows(
        ctx.session,
        CUSTOMERS,
        ("id", *columns),
        [(i, *row) for i, row in zip(ids, rows, strict=True)],
        constants=constants,
    )
    return ids


def add_identities(ctx: Context, resolution: Resolution) -> int:
    """Insert the identities no customer had yet, now that every cluster has its customer."""
    rows = [(customer_id, kind.value, value) for customer_id, kind, value in resolution.missing_identities()]
    rows.sort(key=itemgetter(1, 2))  # in unique-key order: the index grows at its end
    insert_rows(
        ctx.session,
        IDENTITIES,
        ("customer_id", "kind", "value"),
        rows,
        constants={"created_at": ctx.now},
    )
    return len(rows)


def bump_first_seen(ctx: Context, earliest: Mapping[int, datetime]) -> int:
    """Move first_seen_at of existing customers back to the earliest time this import knows of them."""
    ids = sorted(earliest)
    stale: list[dict[str, Any]] = []
    for chunk in chunks(ids):
        rows = ctx.session.execute(
            select(CUSTOMERS.c.id, CUSTOMERS.c.first_seen_at).where(CUSTOMERS.c.id.in_(chunk))
        )
        for customer_id, first_seen in rows:
            when = earliest[customer_id]
            if first_seen is None or when < first_seen:
                stale.append({"cid": customer_id, "seen": when})
    if stale:
        ctx.session.execute(
            update(CUSTOMERS)
            .where(CUSTOMERS.c.id == bindparam("cid"))
            .values(first_seen_at=bindparam("seen")),
            stale,
        )
    return len(stale)
