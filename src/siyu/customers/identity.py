"""Identities of a person: phone normalisation (E.164), identity resolution and customer merge."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

import phonenumbers
from phonenumbers import PhoneMetadata
from sqlalchemy import Column, Table, and_, bindparam, delete, exists, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from siyu.db.base import Base
from siyu.events import NewEvent, record_events
from siyu.models import Customer, CustomerIdentity, IdentityKind

IdentityKey = tuple[IdentityKind, str]

MAX_IDENTITY_LENGTH = 128
# Separators people type inside phone numbers; removed before parsing.
_PHONE_NOISE = re.compile(r"[\s\-\u2010-\u2015\u2212().·/]+")
_CN_MOBILE_DIGITS = re.compile(r"1[3-9]\d{9}")
_IN_CHUNK = 500
CUSTOMERS = cast(Table, Customer.__table__)
IDENTITIES = cast(Table, CustomerIdentity.__table__)


@lru_cache(maxsize=1)
def _cn_mobile_pattern() -> re.Pattern[str]:
    # phonenumbers' own mobile ranges for CN, so the fast path accepts exactly what the library would.
    metadata = PhoneMetadata.metadata_for_region("CN")
    mobile = metadata.mobile if metadata is not None else None
    if mobile is None or mobile.national_number_pattern is None:
        return re.compile(r"(?!)")  # no metadata: every number takes the slow path
    return re.compile(mobile.national_number_pattern)


def _slow_phone(raw: str, region: str) -> str:
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        raise ValueError("empty phone number")
    text = _PHONE_NOISE.sub("", text)
    if text.startswith("00"):
        text = "+" + text[2:]
    elif region == "CN" and text.startswith("86") and _CN_MOBILE_DIGITS.fullmatch(text[2:]):
        text = "+" + text
    if not re.fullmatch(r"\+?\d+", text):
        raise ValueError(
            "not a phone number: only digits, spaces, dashes, brackets and a leading + are allowed"
        )
    if not 5 <= len(text.lstrip("+")) <= 17:
        raise ValueError("not a phone number: too short" if len(text) < 6 else "not a phone number: too long")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {exc.args[0] if exc.args else exc}") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number for its country")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _cn_mobile_digits(raw: str) -> str | None:
    # '+86 138-1234-5678', '0086…', '86-138…', '１３８…' → '13812345678' (a candidate; the pattern decides).
    text = unicodedata.normalize("NFKC", raw) if not raw.isascii() else raw
    text = _PHONE_NOISE.sub("", text)
    for prefix in ("+86", "0086", "86"):
        if text.startswith(prefix) and len(text) == len(prefix) + 11:
            text = text[len(prefix) :]
            break
    return text if len(text) == 11 and text.isdigit() else None


@lru_cache(maxsize=1 << 20)
def _phone_cached(raw: str, region: str) -> str:
    if region == "CN":
        digits = raw if len(raw) == 11 and raw.isascii() and raw.isdigit() else _cn_mobile_digits(raw)
        if digits is not None and _cn_mobile_pattern().fullmatch(digits):
            return "+86" + digits
    return _slow_phone(raw, region)


def normalise_phone(raw: str, region: str = "CN") -> str:
    """E.164 form of a phone number (+8613812345678); raises ValueError saying why it is not one."""
    # Chinese mobiles skip phonenumbers (tens of µs each) through its own mobile pattern, so the
    # answer is the library's; the memo covers the repeats of big files.
    return _phone_cached(raw.strip(), region)


def mask_phone(e164: str) -> str:
    """138****1234 form of an E.164 number for display."""
    digits = e164[3:] if e164.startswith("+86") else e164.lstrip("+")
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}****{digits[-4:]}"


def normalise_identity(kind: IdentityKind, raw: str, region: str = "CN") -> str:
    """The stored form of an identity value; raises ValueError when it cannot be one."""
    if kind is IdentityKind.phone:
        return normalise_phone(raw, region)
    value = unicodedata.normalize("NFKC", raw).strip() if not raw.isascii() else raw.strip()
    if not value:
        raise ValueError(f"empty {kind.value}")
    if len(value) > MAX_IDENTITY_LENGTH:
        raise ValueError(f"{kind.value} longer than {MAX_IDENTITY_LENGTH} characters")
    if any(ch.isspace() for ch in value):
        raise ValueError(f"{kind.value} contains whitespace")
    return value


# --- resolution -------------------------------------------------------------------------------------


@dataclass(slots=True)
class Cluster:
    """Identities that belong to one person, with the customers they already point at."""

    keys: list[IdentityKey] = field(default_factory=list)
    existing: list[int] = field(default_factory=list)
    customer_id: int | None = None


@dataclass(slots=True)
class Resolution:
    """Outcome of resolving groups of identities against the database."""

    cluster_of_group: list[int]
    clusters: list[Cluster]
    known: dict[IdentityKey, int]

    def new_clusters(self) -> list[int]:
        """Indexes of clusters no existing customer matches (they need a new customer)."""
        return [i for i, c in enumerate(self.clusters) if not c.existing]

    def merges(self) -> list[tuple[int, list[int]]]:
        """(survivor, losers) for every cluster that joins two or more existing customers."""
        out: list[tuple[int, list[int]]] = []
        for cluster in self.clusters:
            if len(cluster.existing) > 1:
                survivor = min(cluster.existing)  # the oldest customer keeps its id
                out.append((survivor, [c for c in cluster.existing if c != survivor]))
        return out

    def missing_identities(self) -> list[tuple[int, IdentityKind, str]]:
        """(customer_id, kind, value) rows still to insert once every cluster has its customer."""
        rows: list[tuple[int, IdentityKind, str]] = []
        known = self.known
        for cluster in self.clusters:
            customer = cluster.customer_id
            assert customer is not None, "assign customers to new clusters first"
            if not cluster.existing:  # a new person: none of its identities is stored yet
                rows.extend((customer, k, v) for k, v in cluster.keys)
            else:
                rows.extend((customer, k, v) for k, v in cluster.keys if (k, v) not in known)
        return rows


class IdentityResolver:
    """Collect groups of identities (one group per input record) and resolve them to customers in bulk.

    Identities linked by any record form one cluster (union-find): one person. Values are kept per
    kind in plain-string dicts; hashing the IdentityKind enum is a Python-level call and showed up
    as the cost of million-row imports.
    """

    def __init__(self) -> None:
        self._nodes: dict[str, dict[str, int]] = {kind.value: {} for kind in IdentityKind}
        self._keys: list[IdentityKey] = []
        self._parent: list[int] = []
        self._groups: list[int] = []

    def _node(self, kind: IdentityKind, value: str) -> int:
        nodes = self._nodes[kind.value]
        node = nodes.get(value)
        if node is None:
            node = nodes[value] = len(self._parent)
            self._parent.append(node)
            self._keys.append((kind, value))
        return node

    def _find(self, node: int) -> int:
        parent = self._parent
        root = node
        while parent[root] != root:
            root = parent[root]
        while parent[node] != root:  # path compression keeps later finds O(1)
            parent[node], node = root, parent[node]
        return root

    def add(self, keys: Sequence[IdentityKey]) -> int:
        """Register the identities of one record (at least one); returns the record's group handle."""
        first = self._node(*keys[0])
        for key in keys[1:]:
            a, b = self._find(first), self._find(self._node(*key))
            if a != b:
                self._parent[max(a, b)] = min(a, b)
        self._groups.append(first)
        return len(self._groups) - 1

    def add_values(self, kind: IdentityKind, values: Iterable[str]) -> list[int]:
        """Register many records that each carry one identity of kind; returns their handles."""
        nodes, parent, keys, groups = self._nodes[kind.value], self._parent, self._keys, self._groups
        start = len(groups)
        for value in values:
            node = nodes.get(value)
            if node is None:
                node = nodes[value] = len(parent)
                parent.append(node)
                keys.append((kind, value))
            groups.append(node)
        return list(range(start, len(groups)))

    def resolve(self, session: Session) -> Resolution:
        """Look every identity up (set-based) and group records into clusters of one person each."""
        known = lookup_identities(session, self._keys)
        find, keys = self._find, self._keys
        cluster_of_root: dict[int, int] = {}
        clusters: list[Cluster] = []
        cluster_of_node: list[int] = []
        for node in range(len(keys)):
            root = find(node)
            index = cluster_of_root.get(root)
            if index is None:
                index = cluster_of_root[root] = len(clusters)
                clusters.append(Cluster())
            cluster_of_node.append(index)
            cluster = clusters[index]
            cluster.keys.append(keys[node])
            if known:
                customer = known.get(keys[node])
                if customer is not None and customer not in cluster.existing:
                    cluster.existing.append(customer)
        for cluster in clusters:
            if cluster.existing:
                cluster.existing.sort()
                cluster.customer_id = cluster.existing[0]
        groups = [cluster_of_node[node] for node in self._groups]
        return Resolution(cluster_of_group=groups, clusters=clusters, known=known)


def lookup_identities(session: Session, keys: Collection[IdentityKey]) -> dict[IdentityKey, int]:
    """Map each known (kind, value) to its customer id with a few set-based queries per kind."""
    by_kind: dict[IdentityKind, list[str]] = {}
    for kind, value in keys:
        by_kind.setdefault(kind, []).append(value)
    found: dict[IdentityKey, int] = {}
    connection = session.connection()
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    table = connection.dialect.identifier_preparer.format_table(IDENTITIES)
    size = connection.exec_driver_sql(f"SELECT COALESCE(MAX(id), 0) FROM {table}").scalar_one()  # noqa: S608
    for kind, values in by_kind.items():
        if size <= len(values) * 2:
            # Asking for about as many values as the table holds: reading the kind whole is cheaper.
            wanted = set(values)
            rows = connection.exec_driver_sql(
                f"SELECT value, customer_id FROM {table} WHERE kind = {marker}",  # noqa: S608
                (kind.value,),
            )
            found.update(((kind, v), c) for v, c in rows if v in wanted)
            continue
        for start in range(0, len(values), _IN_CHUNK):
            chunk = values[start : start + _IN_CHUNK]
            sql = (
                f"SELECT value, customer_id FROM {table} "  # noqa: S608
                f"WHERE kind = {marker} AND value IN ({', '.join([marker] * len(chunk))})"
            )
            found.update(((kind, v), c) for v, c in connection.exec_driver_sql(sql, (kind.value, *chunk)))
    return found


# --- merge ------------------------------------------------------------------------------------------


def _customer_references() -> list[tuple[Table, Column[int]]]:
    refs = []
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == "customers" and fk.column.name == "id":
                if table.name == "customers" and fk.parent.name == "merged_into_id":
                    continue
                refs.append((table, fk.parent))
    return refs


def _unique_sets(table: Table, column: Column[int]) -> list[list[Column[int]]]:
    sets: list[list[Column[int]]] = []
    if column in table.primary_key.columns.values():  # also a one-column key (customer_insights)
        sets.append(list(table.primary_key.columns))
    for constraint in table.constraints:
        cols = list(getattr(constraint, "columns", []))
        if constraint.__class__.__name__ == "UniqueConstraint" and column in cols:
            sets.append(cols)
    for index in table.indexes:
        if index.unique and column in index.columns.values():
            sets.append(list(index.columns))
    if column.unique:
        sets.append([column])
    return sets


def merge_customers(
    session: Session,
    merges: Sequence[tuple[int, Collection[int]]],
    *,
    occurred_at: datetime,
    reason: str,
    staff_id: int | None = None,
) -> int:
    """Fold each loser into its survivor: re-point every row that refers to it, then mark it merged.

    Every table with a foreign key to customers.id is re-pointed, so tables added later are covered
    without touching this function; rows that would break a unique key on the survivor are dropped
    first (the survivor's row wins). Returns how many customers were merged away.
    """
    pairs = [
        {"survivor": survivor, "loser": loser}
        for survivor, losers in merges
        for loser in sorted(set(losers))
        if loser != survivor
    ]
    if not pairs:
        return 0
    session.flush()  # the moves below are Core statements: pending ORM changes must go first
    survivor: BindParameter[int] = bindparam("survivor")
    loser: BindParameter[int] = bindparam("loser")
    for table, column in _customer_references():
        for unique in _unique_sets(table, column):
            twin = table.alias("twin")
            match = and_(
                twin.c[column.name] == survivor,
                *(twin.c[other.name] == other for other in unique if other is not column),
            )
            drop = delete(table).where(column == loser, exists().where(match))
            for pair in pairs:  # one by one: two losers may share a row the survivor lacks
                session.execute(drop, pair)
        session.execute(update(table).where(column == loser).values({column.name: survivor}), pairs)
    _drop_self_references(session, [p["survivor"] for p in pairs])
    _fold_attributes(session, pairs)
    c = CUSTOMERS.c
    # Customers merged earlier into a loser now point straight at the survivor (no chains).
    session.execute(update(CUSTOMERS).where(c.merged_into_id == loser).values(merged_into_id=survivor), pairs)
    session.execute(update(CUSTOMERS).where(c.id == loser).values(merged_into_id=survivor), pairs)
    record_events(
        session,
        [
            NewEvent(
                kind="customer_merged",
                occurred_at=occurred_at,
                customer_id=p["survivor"],
                staff_id=staff_id,
                subject_type="customer",
                subject_id=p["loser"],
                data={"merged_id": p["loser"], "reason": reason},
            )
            for p in pairs
        ],
    )
    session.expire_all()  # rows loaded before the merge still name the losers
    return len(pairs)


def _drop_self_references(session: Session, survivors: Sequence[int]) -> None:
    # A survivor that referred (or was the referrer of) a loser would now refer itself.
    by_table: dict[str, list[Column[int]]] = {}
    tables: dict[str, Table] = {}
    for table, column in _customer_references():
        by_table.setdefault(table.name, []).append(column)
        tables[table.name] = table
    ids = sorted(set(survivors))
    for name, columns in by_table.items():
        table = tables[name]
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start : start + _IN_CHUNK]
            if name == "customers":
                for column in columns:
                    session.execute(
                        update(table)
                        .where(table.c.id.in_(chunk), column == table.c.id)
                        .values({column.name: None})
                    )
            elif len(columns) == 2:
                a, b = columns
                session.execute(delete(table).where(a.in_(chunk), a == b))


_FILL_IF_EMPTY = (
    "name",
    "gender",
    "city",
    "source_detail",
    "source_channel_code",
    "source_ad_campaign",
    "referrer_id",
    "owner_staff_id",
    "home_store_id",
    "member_tier",
)


def _fold_attributes(session: Session, pairs: Sequence[dict[str, int]]) -> None:
    # The survivor keeps its own values; gaps are filled from the loser, the earliest first-seen
    # time wins, points add up (they were earned on two accounts) and consents are kept if given.
    ids = sorted({p["survivor"] for p in pairs} | {p["loser"] for p in pairs})
    table = CUSTOMERS
    rows: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        for row in session.execute(select(table).where(table.c.id.in_(chunk))).mappings():
            rows[row["id"]] = dict(row)
    changes: dict[int, dict[str, Any]] = {}
    for pair in pairs:
        s_id, l_id = pair["survivor"], pair["loser"]
        survivor, loser = rows[s_id], rows[l_id]
        change = changes.setdefault(s_id, {})
        for name in _FILL_IF_EMPTY:
            if survivor[name] is None and loser[name] is not None and loser[name] != s_id:
                survivor[name] = change[name] = loser[name]
        if loser["first_seen_at"] < survivor["first_seen_at"]:
            survivor["first_seen_at"] = change["first_seen_at"] = loser["first_seen_at"]
        if loser["points_balance"]:
            points = (survivor["points_balance"] or 0) + loser["points_balance"]
            survivor["points_balance"] = change["points_balance"] = points
        for flag in ("marketing_opt_in", "chat_archive_consent"):
            if loser[flag] and not survivor[flag]:
                survivor[flag] = change[flag] = True
    for customer_id, change in changes.items():
        if change:
            session.execute(update(table).where(table.c.id == customer_id).values(change))
