"""The role catalog: the shipped roles (roles_data.json) overlaid by console edits stored in role_definitions."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.errors import Invalid, NotFound
from siyu.models import BrandStage
from siyu.models.talent import RoleDefinition
from siyu.performance.catalog import METRICS
from siyu.talent.contract import RoleEntry, RolePosition, ValueStage

DATA_FILE = "roles_data.json"
_TEXT_FIELDS = ("code", "name_zh", "name_en", "definition_zh", "definition_en")
_LIST_FIELDS = ("duties", "competencies", "kpi_metric_codes")
E = TypeVar("E", BrandStage, RolePosition, ValueStage)


def _enum(kind: type[E], value: Any, where: str) -> E:
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise Invalid(f"{where}: {value!r} is not one of {choices}") from None


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise Invalid(f"{where}: expected a list of strings, got {value!r}")
    return tuple(value)


def entry_from_dict(
    body: dict[str, Any], where: str, *, builtin: bool = True, active: bool = True
) -> RoleEntry:
    """A RoleEntry from its to_dict() form; Invalid naming `where`, the field and why when malformed."""
    for key in (*_TEXT_FIELDS, *_LIST_FIELDS, "needed_from", "value_stages", "position"):
        if key not in body:
            raise Invalid(f"{where}: field {key!r} is missing")
    for key in _TEXT_FIELDS:
        if not isinstance(body[key], str):
            raise Invalid(f"{where}: field {key!r} must be text, got {body[key]!r}")
    code = body["code"]
    kpis = _strings(body["kpi_metric_codes"], f"{where} kpi_metric_codes")
    unknown = [m for m in kpis if m not in METRICS]
    if unknown:
        raise Invalid(
            f"role {code!r} ({where}): KPI metric code(s) {', '.join(unknown)} are not in the metric catalog"
        )
    sort_order = body.get("sort_order", 100)
    if not isinstance(sort_order, int) or isinstance(sort_order, bool):
        raise Invalid(f"{where}: field 'sort_order' must be an integer, got {sort_order!r}")
    return RoleEntry(
        code=code,
        name_zh=body["name_zh"],
        name_en=body["name_en"],
        definition_zh=body["definition_zh"],
        definition_en=body["definition_en"],
        duties=_strings(body["duties"], f"{where} duties"),
        competencies=_strings(body["competencies"], f"{where} competencies"),
        kpi_metric_codes=kpis,
        needed_from=_enum(BrandStage, body["needed_from"], f"{where} needed_from"),
        value_stages=tuple(
            _enum(ValueStage, v, f"{where} value_stages") for v in _strings(body["value_stages"], where)
        ),
        position=_enum(RolePosition, body["position"], f"{where} position"),
        sort_order=sort_order,
        builtin=builtin,
        active=active,
    )


def parse_catalog(doc: dict[str, Any], source: str) -> tuple[RoleEntry, ...]:
    """Validate a catalog document (every metric code known, codes unique) into entries in sort order."""
    roles = doc.get("roles")
    if not isinstance(roles, list) or not roles:
        raise Invalid(f"{source}: 'roles' must be a non-empty list")
    entries = [entry_from_dict(body, f"{source} roles[{i}]") for i, body in enumerate(roles)]
    codes = [e.code for e in entries]
    dupes = sorted({c for c in codes if codes.count(c) > 1})
    if dupes:
        raise Invalid(f"{source}: role code(s) {', '.join(dupes)} appear more than once")
    return tuple(sorted(entries, key=lambda e: (e.sort_order, e.code)))


@cache
def shipped_catalog() -> tuple[RoleEntry, ...]:
    """The roles shipped with the package, validated once per process."""
    text = resources.files("siyu.talent").joinpath(DATA_FILE).read_text(encoding="utf-8")
    return parse_catalog(json.loads(text), DATA_FILE)


@cache
def shipped_by_code() -> dict[str, RoleEntry]:
    """The shipped roles by code."""
    return {e.code: e for e in shipped_catalog()}


def _row_entry(row: RoleDefinition, shipped: bool) -> RoleEntry:
    body = dict(row.body)
    body["code"] = row.code  # the column is the key; the body cannot rename a role
    where = f"role_definitions id {row.id}"
    return entry_from_dict(body, where, builtin=shipped and row.builtin, active=row.active)


def overlay(shipped: tuple[RoleEntry, ...], rows: list[RoleDefinition]) -> list[RoleEntry]:
    """Shipped entries with each row's body in place of the same code (custom rows added), in sort order."""
    by_code: dict[str, RoleEntry] = {e.code: e for e in shipped}
    for row in rows:
        by_code[row.code] = _row_entry(row, row.code in by_code)
    return sorted(by_code.values(), key=lambda e: (e.sort_order, e.code))


def catalog(session: Session, include_inactive: bool = False) -> list[RoleEntry]:
    """The catalog in force: shipped roles overlaid by console edits (one query), inactive ones hidden unless asked."""
    rows = list(session.scalars(select(RoleDefinition)).all())
    entries = overlay(shipped_catalog(), rows)
    return entries if include_inactive else [e for e in entries if e.active]


def role_entry(session: Session, code: str) -> RoleEntry:
    """One role in force (inactive ones included), NotFound naming the code."""
    row = session.scalars(select(RoleDefinition).where(RoleDefinition.code == code)).one_or_none()
    if row is not None:
        return _row_entry(row, row.code in shipped_by_code())
    shipped = shipped_by_code().get(code)
    if shipped is None:
        raise NotFound(f"role {code!r}: no such role in the catalog (shipped or custom)")
    return shipped
