"""The builder form ⇄ rule document: the rule tree flattened to rows keyed by path ("r", "r.0", "r.0.1")."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from siyu.segments.schemas import (
    BOOL,
    CODES,
    DAYS,
    FEN,
    FIELDS,
    IDS,
    LANGUAGE_VERSION,
    NONE,
    SHARE,
    STRINGS,
)

ROOT = "r"
GROUPS = ("all", "any", "not")
DEFAULT_CONDITION: dict[str, Any] = {"field": "consent", "op": "is", "value": True}
EMPTY_DOCUMENT: dict[str, Any] = {"version": LANGUAGE_VERSION, "rule": {"all": [DEFAULT_CONDITION]}}


@dataclass
class Row:
    """One node of the tree as the editor shows it."""

    key: str
    depth: int
    kind: str  # all / any / not / cond
    field: str = ""
    op: str = ""
    values: list[str] = dc_field(default_factory=list)
    value2: str = ""
    days: str = ""
    first: str = ""
    last: str = ""

    @property
    def value_kind(self) -> str:
        """What the value inputs hold for this field and op (a schemas value kind)."""
        spec = FIELDS.get(self.field)
        return spec.ops.get(self.op, NONE) if spec else NONE

    @property
    def single(self) -> str:
        """The value kind without its _pair suffix."""
        return self.value_kind.removesuffix("_pair")

    @property
    def value(self) -> str:
        """The first value as text."""
        return self.values[0] if self.values else ""

    @property
    def needs_days(self) -> bool:
        """Whether the op takes a days window."""
        return self.op in FIELDS[self.field].days_ops if self.field in FIELDS else False

    @property
    def needs_span(self) -> bool:
        """Whether the op takes from / to dates."""
        return self.op in FIELDS[self.field].span_ops if self.field in FIELDS else False


def _text(value: Any, single: str) -> str:
    if value is None:
        return ""
    if single == FEN and isinstance(value, int):
        return f"{value / 100:g}"  # the form shows yuan; the rule keeps fen
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def rows_of(node: Any, key: str = ROOT, depth: int = 0) -> list[Row]:
    """Flatten a rule node into editor rows, parents before children (unknown shapes become a blank row)."""
    if isinstance(node, dict):
        for kind in GROUPS:
            if kind in node:
                children = [node[kind]] if kind == "not" else node[kind]
                rows = [Row(key, depth, kind)]
                for i, child in enumerate(children if isinstance(children, list) else []):
                    rows += rows_of(child, f"{key}.{i}", depth + 1)
                return rows
        name = str(node.get("field", ""))
        op = str(node.get("op", ""))
        row = Row(key, depth, "cond", name, op, days=_text(node.get("days"), DAYS))
        row.first, row.last = str(node.get("from") or ""), str(node.get("to") or "")
        single = row.single
        value = node.get("value")
        if row.value_kind.endswith("_pair") and isinstance(value, list) and len(value) == 2:
            row.values, row.value2 = [_text(value[0], single)], _text(value[1], single)
        elif isinstance(value, list):
            row.values = [_text(v, single) for v in value]
        elif value is not None:
            row.values = [_text(value, single)]
        return [row]
    return [Row(key, depth, "cond", "consent", "is", ["true"])]


def _number(text: str, single: str) -> Any:
    text = text.strip().replace(",", "")
    try:
        if single == FEN:
            return round(float(text) * 100)
        if single in (SHARE, "number"):
            return float(text)
        return int(text)
    except ValueError:
        return text  # left as typed: the rule check names the path and why


def _value(form: Any, key: str, name: str, op: str) -> dict[str, Any]:
    spec = FIELDS[name]
    kind = spec.ops[op]
    single = kind.removesuffix("_pair")
    raw = [str(v) for v in form.getlist(f"v:{key}") if str(v).strip()]
    out: dict[str, Any] = {}
    if kind == NONE:
        pass
    elif kind == BOOL:
        out["value"] = (raw[0] if raw else "true") == "true"
    elif kind == IDS:
        out["value"] = [int(v) if v.strip().isdigit() else v for v in raw]
    elif kind == CODES:
        out["value"] = raw
    elif kind == STRINGS:
        out["value"] = [p.strip() for v in raw for p in v.split(",") if p.strip()]
    elif kind.endswith("_pair"):
        high = str(form.get(f"v2:{key}") or "")
        out["value"] = [_number(raw[0] if raw else "", single), _number(high, single)]
    else:
        out["value"] = _number(raw[0] if raw else "", single)
    if op in spec.days_ops:
        out["days"] = _number(str(form.get(f"d:{key}") or ""), DAYS)
    if op in spec.span_ops:
        out["from"], out["to"] = str(form.get(f"from:{key}") or ""), str(form.get(f"to:{key}") or "")
    return out


def _node(form: Any, key: str, keys: list[str]) -> dict[str, Any]:
    kind = str(form.get(f"k:{key}") or "cond")
    children = [k for k in keys if k.startswith(key + ".") and "." not in k[len(key) + 1 :]]
    if kind in ("all", "any"):
        return {kind: [_node(form, k, keys) for k in children]}
    if kind == "not":
        return {"not": _node(form, children[0], keys) if children else dict(DEFAULT_CONDITION)}
    name = str(form.get(f"f:{key}") or "")
    if name not in FIELDS:
        return {"field": name}
    op = str(form.get(f"o:{key}") or "")
    if op not in FIELDS[name].ops:
        # The field changed: start from its first op and a neutral value, not the old field's value.
        op = next(iter(FIELDS[name].ops))
        return {"field": name, "op": op, **_fresh(name, op)}
    return {"field": name, "op": op, **_value(form, key, name, op)}


FRESH_VALUES: dict[str, Any] = {BOOL: True, DAYS: 30, "count": 1, FEN: 0, SHARE: 0.5, "number": 1.0}


def _fresh(name: str, op: str) -> dict[str, Any]:
    spec = FIELDS[name]
    kind = spec.ops[op]
    out: dict[str, Any] = {}
    if kind in FRESH_VALUES:
        out["value"] = FRESH_VALUES[kind]
    elif kind in (IDS, CODES, STRINGS):
        out["value"] = []  # the editor asks for a choice (the live count names the missing list)
    if op in spec.days_ops:
        out["days"] = 30
    return out


def document_from_form(form: Any) -> dict[str, Any]:
    """The rule document the builder form describes (not yet checked)."""
    keys = [str(k) for k in form.getlist("node")]
    if ROOT not in keys:
        return dict(EMPTY_DOCUMENT)
    return {"version": LANGUAGE_VERSION, "rule": _node(form, ROOT, keys)}


def _at(node: dict[str, Any], key: str) -> tuple[dict[str, Any] | None, list[Any] | None, int]:
    """The node at key, the list holding it in its parent, and its index there."""
    parts = key.split(".")[1:]
    parent_list: list[Any] | None = None
    index = 0
    current: Any = node
    for part in parts:
        kind = next((k for k in GROUPS if isinstance(current, dict) and k in current), None)
        if kind is None or not part.isdigit():
            return None, None, 0
        index = int(part)
        if kind == "not":
            parent_list = None
            current = current["not"]
            continue
        parent_list = current[kind]
        if index >= len(parent_list):
            return None, None, 0
        current = parent_list[index]
    return current, parent_list, index


def apply_action(document: dict[str, Any], action: str) -> dict[str, Any]:
    """An editor button: add:KEY (condition), group:KEY (all-group), not:KEY, remove:KEY, kind:KEY:all|any."""
    verb, _, key = action.partition(":")
    root = copy.deepcopy(document.get("rule"))  # the caller's document stays as it was
    if not isinstance(root, dict):
        return dict(EMPTY_DOCUMENT)
    wrapper = {"all": [root]}  # so the root itself has a parent list
    target, parent, index = (
        _at(wrapper, "r.0" + key[len(ROOT) :]) if key.startswith(ROOT) else (None, None, 0)
    )
    if target is None:
        return document
    if verb in ("add", "group", "not"):
        new = {
            "add": dict(DEFAULT_CONDITION),
            "group": {"any": [dict(DEFAULT_CONDITION)]},
            "not": {"not": dict(DEFAULT_CONDITION)},
        }[verb]
        kind = next((k for k in ("all", "any") if k in target), None)
        if kind is not None:
            target[kind].append(new)
        elif parent is not None:
            parent.insert(index + 1, new)
    elif verb == "remove" and parent is not None and key != ROOT:
        parent.pop(index)
        if not parent:
            parent.append(dict(DEFAULT_CONDITION))  # a group never ends up empty
    elif verb in ("all", "any"):
        kind = next((k for k in ("all", "any") if k in target), None)
        if kind is not None and kind != verb:
            target[verb] = target.pop(kind)
    return {"version": LANGUAGE_VERSION, "rule": wrapper["all"][0]}


def document_from_json(text: str) -> dict[str, Any]:
    """The document typed in the JSON box (Invalid-free: a bad text gives back a message instead)."""
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("expected an object")
    return value


def pretty(document: dict[str, Any]) -> str:
    """The document as indented JSON for the power-user box."""
    return json.dumps(document, ensure_ascii=False, indent=2)
