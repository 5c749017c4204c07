"""The segment rule language (JSON, version 1): parsed into typed nodes, every error named by its JSON path."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from siyu.errors import Invalid
from siyu.insights.contract import EIGHT_CLASS, QUINTILE_SEGMENTS
from siyu.models import AcquisitionSource, Channel, LifecycleStage, OrderChannel

LANGUAGE_VERSION = 1
MAX_DEPTH = 6  # groups nested inside groups
MAX_NODES = 200
MAX_LIST = 500
MAX_DAYS = 3650
RFM_SEGMENTS: tuple[str, ...] = (*EIGHT_CLASS.values(), *QUINTILE_SEGMENTS)

# Value kinds: what `value` must hold for a (field, op).
IDS, CODES, STRINGS, NONE = "ids", "codes", "strings", "none"
DAYS, DAYS_PAIR, COUNT, COUNT_PAIR = "days", "days_pair", "count", "count_pair"
FEN, FEN_PAIR, SHARE, SHARE_PAIR, NUMBER, NUMBER_PAIR, BOOL = (
    "fen",
    "fen_pair",
    "share",
    "share_pair",
    "number",
    "number_pair",
    "bool",
)
RANGE_OPS = ("ge", "le", "between")


@dataclass(frozen=True)
class FieldSpec:
    """What one field accepts: op → value kind, extra keys per op, allowed codes, and which ids it names."""

    ops: Mapping[str, str]
    codes: tuple[str, ...] = ()
    refs: str | None = None  # "tag" / "unit" / "staff": ids checked against the database
    days_ops: tuple[str, ...] = ()  # ops that also need "days"
    span_ops: tuple[str, ...] = ()  # ops that also need "from" and "to" (brand-local dates)


def _range(single: str, pair: str, *extra: tuple[str, str]) -> dict[str, str]:
    return {"ge": single, "le": single, "between": pair, **dict(extra)}


FIELDS: dict[str, FieldSpec] = {
    "tag": FieldSpec({"any": IDS, "all": IDS, "none": IDS}, refs="tag"),
    "channel": FieldSpec(
        {"member": CODES, "not_member": CODES, "joined_within": CODES, "joined_between": CODES},
        codes=tuple(Channel),
        days_ops=("joined_within",),
        span_ops=("joined_between",),
    ),
    "source": FieldSpec({"in": CODES, "not_in": CODES}, codes=tuple(AcquisitionSource)),
    "store": FieldSpec({"in": IDS, "not_in": IDS}, refs="unit"),
    "unit": FieldSpec({"in": IDS, "not_in": IDS}, refs="unit"),
    "owner_staff": FieldSpec({"in": IDS, "not_in": IDS, "none": NONE, "some": NONE}, refs="staff"),
    "lifecycle_stage": FieldSpec({"in": CODES, "not_in": CODES}, codes=tuple(LifecycleStage)),
    "member_tier": FieldSpec({"in": STRINGS, "not_in": STRINGS, "none": NONE}),
    "last_order_days": FieldSpec(_range(DAYS, DAYS_PAIR, ("never", NONE))),
    "orders_in_window": FieldSpec(_range(COUNT, COUNT_PAIR), days_ops=RANGE_OPS),
    "spend_in_window": FieldSpec(_range(FEN, FEN_PAIR), days_ops=RANGE_OPS),
    "order_channel": FieldSpec({"in": CODES}, codes=tuple(OrderChannel), days_ops=("in",)),
    "rfm_segment": FieldSpec({"in": CODES, "not_in": CODES}, codes=RFM_SEGMENTS),
    "clv_fen": FieldSpec(_range(FEN, FEN_PAIR)),
    "p_alive": FieldSpec(_range(SHARE, SHARE_PAIR)),
    "expected_purchases": FieldSpec(_range(NUMBER, NUMBER_PAIR)),
    "last_contact_days": FieldSpec(_range(DAYS, DAYS_PAIR, ("never", NONE))),
    "consent": FieldSpec({"is": BOOL}),
    "first_seen_days": FieldSpec(_range(DAYS, DAYS_PAIR)),
}


@dataclass(frozen=True)
class Condition:
    """One test on a customer; value is already of the kind its (field, op) needs."""

    field: str
    op: str
    value: Any = None
    days: int | None = None
    first: date | None = None
    last: date | None = None
    path: str = ""


@dataclass(frozen=True)
class Group:
    """all: every child holds; any: at least one does."""

    kind: Literal["all", "any"]
    children: tuple[Node, ...]
    path: str = ""


@dataclass(frozen=True)
class Not:
    """The child does not hold."""

    child: Node
    path: str = ""


Node = Condition | Group | Not


@dataclass(frozen=True)
class Rule:
    """A parsed rule document: the language version and the root node (the JSON stays for storage)."""

    root: Node
    document: dict[str, Any]
    refs: dict[str, dict[int, str]] = field(default_factory=dict)  # kind → id → path that names it first


class _Errors:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, where: str, why: str) -> None:
        if len(self.items) < 50:
            self.items.append({"where": where, "why": why})


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return (isinstance(v, int | float)) and not isinstance(v, bool)


def _check_value(kind: str, value: Any, spec: FieldSpec, where: str, errors: _Errors) -> Any:
    """The value converted to its kind, or None after recording why it is wrong."""
    if kind == NONE:
        if value is not None:
            errors.add(where, "expected no value for this op")
        return None
    if kind == BOOL:
        if not isinstance(value, bool):
            errors.add(where, "expected true or false")
        return value
    if kind in (IDS, CODES, STRINGS):
        noun = {IDS: f"{spec.refs} ids", CODES: "codes", STRINGS: "strings"}[kind]
        if not isinstance(value, list) or not value:
            errors.add(where, f"expected a list of {noun}")
            return None
        if len(value) > MAX_LIST:
            errors.add(where, f"at most {MAX_LIST} items, got {len(value)}")
            return None
        if kind == IDS and not all(_is_int(v) and 1 <= v < 2**63 for v in value):
            errors.add(where, f"expected a list of {noun}")
            return None
        if kind == CODES:
            bad = [v for v in value if v not in spec.codes]
            if bad:
                errors.add(where, f"{bad[0]!r} is not one of {', '.join(spec.codes)}")
                return None
        if kind == STRINGS and not all(isinstance(v, str) and 0 < len(v) <= 32 for v in value):
            errors.add(where, "expected a list of non-empty strings of at most 32 characters")
            return None
        return tuple(dict.fromkeys(value))
    single = kind.removesuffix("_pair")
    if kind.endswith("_pair"):
        if not isinstance(value, list) or len(value) != 2:
            errors.add(where, "expected [low, high]")
            return None
        low = _check_value(single, value[0], spec, f"{where}[0]", errors)
        high = _check_value(single, value[1], spec, f"{where}[1]", errors)
        if low is None or high is None:
            return None
        if low > high:
            errors.add(where, f"low {low} is above high {high}")
            return None
        return (low, high)
    if single in (DAYS, COUNT, FEN):
        limit = {DAYS: MAX_DAYS, COUNT: 1_000_000, FEN: 10**15}[single]
        if not _is_int(value) or not 0 <= value <= limit:
            errors.add(where, f"expected a whole number from 0 to {limit}")
            return None
        return value
    if single == SHARE:
        if not _is_number(value) or not 0 <= value <= 1:
            errors.add(where, "expected a number from 0 to 1")
            return None
        return float(value)
    if not _is_number(value) or not 0 <= value <= 1e9:
        errors.add(where, "expected a number ≥ 0")
        return None
    return float(value)


def _date(value: Any, where: str, errors: _Errors) -> date | None:
    if not isinstance(value, str):
        errors.add(where, "expected a date YYYY-MM-DD")
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.add(where, f"{value!r} is not a date YYYY-MM-DD")
        return None


class _Parser:
    def __init__(self) -> None:
        self.errors = _Errors()
        self.nodes = 0
        self.refs: dict[str, dict[int, str]] = {"tag": {}, "unit": {}, "staff": {}}

    def node(self, raw: Any, path: str, depth: int) -> Node | None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            if self.nodes == MAX_NODES + 1:
                self.errors.add(path, f"a rule may hold at most {MAX_NODES} nodes")
            return None
        if not isinstance(raw, dict):
            self.errors.add(path, "expected an object: a group (all / any / not) or a condition (field, op)")
            return None
        groups = [k for k in ("all", "any", "not") if k in raw]
        if groups:
            if len(raw) != 1:
                others = sorted(k for k in raw if k != groups[0])
                self.errors.add(path, f"a group holds only {groups[0]!r}; unexpected {', '.join(others)}")
                return None
            if depth >= MAX_DEPTH:
                self.errors.add(path, f"groups nest at most {MAX_DEPTH} deep")
                return None
            key = groups[0]
            if key == "not":
                child = self.node(raw["not"], f"{path}.not", depth + 1)
                return Not(child, path) if child is not None else None
            items = raw[key]
            if not isinstance(items, list) or not items:
                self.errors.add(f"{path}.{key}", "expected a non-empty list of conditions or groups")
                return None
            children = [self.node(item, f"{path}.{key}[{i}]", depth + 1) for i, item in enumerate(items)]
            if any(c is None for c in children):
                return None
            return Group(key, tuple(c for c in children if c is not None), path)  # type: ignore[arg-type]
        return self.condition(raw, path)

    def condition(self, raw: dict[str, Any], path: str) -> Condition | None:
        name = raw.get("field")
        if not isinstance(name, str) or name not in FIELDS:
            why = "missing 'field' (or all / any / not)" if name is None else f"unknown field {name!r}"
            self.errors.add(
                f"{path}.field" if name is not None else path, f"{why}; fields: {', '.join(FIELDS)}"
            )
            return None
        spec = FIELDS[name]
        op = raw.get("op")
        if not isinstance(op, str) or op not in spec.ops:
            self.errors.add(f"{path}.op", f"unknown op {op!r} for {name}; ops: {', '.join(spec.ops)}")
            return None
        allowed = {"field", "op", "value"}
        if op in spec.days_ops:
            allowed.add("days")
        if op in spec.span_ops:
            allowed |= {"from", "to"}
        unknown = sorted(set(raw) - allowed)
        if unknown:
            self.errors.add(f"{path}.{unknown[0]}", f"unexpected key for {name} {op}")
            return None
        value = _check_value(spec.ops[op], raw.get("value"), spec, f"{path}.value", self.errors)
        days = None
        if op in spec.days_ops:
            days = raw.get("days")
            if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
                self.errors.add(f"{path}.days", f"expected a whole number of days from 1 to {MAX_DAYS}")
                return None
        first = last = None
        if op in spec.span_ops:
            first = _date(raw.get("from"), f"{path}.from", self.errors)
            last = _date(raw.get("to"), f"{path}.to", self.errors)
            if first and last and first > last:
                self.errors.add(f"{path}.to", f"{last} is before {first}")
                return None
        if spec.ops[op] != NONE and value is None:
            return None
        if spec.refs and spec.ops[op] == IDS:
            for v in value:
                self.refs[spec.refs].setdefault(v, f"{path}.value")
        return Condition(name, op, value, days, first, last, path)


def parse_rule(document: Any) -> Rule:
    """Check a rule document ({"version": 1, "rule": node}); raises Invalid naming every bad node's path."""
    errors: list[dict[str, str]]
    if not isinstance(document, dict):
        raise Invalid('rule document: expected an object {"version": 1, "rule": …}')
    unknown = sorted(set(document) - {"version", "rule"})
    if document.get("version") != LANGUAGE_VERSION:
        errors = [{"where": "version", "why": f"expected {LANGUAGE_VERSION}"}]
    elif unknown:
        errors = [{"where": unknown[0], "why": "unexpected key; a rule document holds version and rule"}]
    elif "rule" not in document:
        errors = [{"where": "rule", "why": "missing"}]
    else:
        parser = _Parser()
        root = parser.node(document["rule"], "rule", 0)
        if root is not None and not parser.errors.items:
            refs = {k: v for k, v in parser.refs.items() if v}
            return Rule(root, {"version": LANGUAGE_VERSION, "rule": document["rule"]}, refs)
        errors = parser.errors.items
    first = errors[0]
    raise Invalid(f"{first['where']}: {first['why']}", details=errors)


def canonical(document: Mapping[str, Any]) -> str:
    """A stable text of a rule document (to tell whether a rule changed)."""
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


# --- API shapes --------------------------------------------------------------------------------------


class RuleIn(BaseModel):
    """A rule to count or preview."""

    model_config = ConfigDict(extra="forbid")

    rule: dict[str, Any] = Field(description='a rule document: {"version": 1, "rule": {...}}')


class SegmentCreate(BaseModel):
    """A new segment and its first rule version."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(None, max_length=2000)
    rule: dict[str, Any]
    note: str | None = Field(None, max_length=500)


class SegmentUpdate(BaseModel):
    """Changes to a segment; a changed rule makes a new version."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = Field(None, max_length=2000)
    rule: dict[str, Any] | None = None
    note: str | None = Field(None, max_length=500)


class SampleCustomer(BaseModel):
    """A customer as the customer list shows them (phone masked)."""

    id: int
    name: str | None
    phone: str | None
    source: str
    lifecycle_stage: str
    owner: str | None
    store: str | None


class Preview(BaseModel):
    """How many readable customers a rule selects, and the first of them."""

    count: int
    sample: list[SampleCustomer]
    as_of: datetime


class VersionOut(BaseModel):
    """One rule version of a segment."""

    version: int
    rule: dict[str, Any]
    note: str | None
    created_at: datetime
    created_by_account_id: int | None


class SizeOut(BaseModel):
    """A segment's recorded brand-wide size on a day."""

    day: date
    version: int
    customers: int


class SegmentOut(BaseModel):
    """A saved segment with its current rule and its latest recorded size."""

    id: int
    name: str
    description: str | None
    current_version: int
    rule: dict[str, Any]
    archived_at: datetime | None
    created_at: datetime
    last_size: SizeOut | None


class SegmentDetail(SegmentOut):
    """A segment with every version and its size history."""

    versions: list[VersionOut]
    sizes: list[SizeOut]
