"""Fill a script's {variables} for many recipients at once: {name}, {store}, {guide}, {coupon}."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.db.bulk import any_of
from siyu.errors import Invalid
from siyu.models import Customer, OrgUnit, Script, Staff

VARIABLES = ("name", "store", "guide", "coupon")
_VARIABLE = re.compile(r"\{([a-z_]+)\}")
# What a recipient sees when a value is unknown: polite and never a raw "{name}".
FALLBACK = {"name": "您", "store": "门店", "guide": "您的专属顾问", "coupon": ""}


def variables_in(body: str) -> list[str]:
    """The variable names a body uses, in order of first use."""
    seen: list[str] = []
    for name in _VARIABLE.findall(body):
        if name not in seen:
            seen.append(name)
    return seen


def check_body(body: str, where: str = "body") -> None:
    """Invalid when the body uses a variable Siyu does not know."""
    unknown = [v for v in variables_in(body) if v not in VARIABLES]
    if unknown:
        raise Invalid(
            f"{where}: unknown variable(s) {', '.join('{' + v + '}' for v in unknown)}; known: "
            + ", ".join("{" + v + "}" for v in VARIABLES)
        )


def render_body(body: str, values: Mapping[str, str | None]) -> str:
    """The body with every known {variable} replaced (unknown values fall back, never left raw)."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in VARIABLES:
            return match.group(0)
        value = values.get(name)
        return value if value else FALLBACK[name]

    return _VARIABLE.sub(fill, body)


@dataclass(frozen=True, slots=True)
class RenderItem:
    """One text to render: a script for a customer (or a group: customer_id None) sent by staff_id."""

    script_id: int
    customer_id: int | None = None
    staff_id: int | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


def render_many(session: Session, items: Sequence[RenderItem]) -> list[str]:
    """Rendered texts, one per item, with three set-based lookups (scripts, customers+stores, staff)."""
    if not items:
        return []
    script_ids = {i.script_id for i in items}
    bodies = dict(
        session.execute(select(Script.id, Script.body).where(any_of(session, Script.id, script_ids))).all()
    )
    missing = script_ids - bodies.keys()
    if missing:
        raise Invalid(f"script(s) {sorted(missing)} do not exist")
    customer_ids = {i.customer_id for i in items if i.customer_id is not None}
    people: dict[int, tuple[str | None, str | None, int | None]] = {}
    if customer_ids:
        rows = session.execute(
            select(Customer.id, Customer.name, OrgUnit.name, Customer.owner_staff_id)
            .outerjoin(OrgUnit, OrgUnit.id == Customer.home_store_id)
            .where(any_of(session, Customer.id, sorted(customer_ids)))
        )
        people = {cid: (name, store, owner) for cid, name, store, owner in rows}
    staff_ids = {i.staff_id for i in items if i.staff_id is not None}
    staff_ids |= {p[2] for p in people.values() if p[2] is not None}
    staff_names: dict[int, str] = {}
    if staff_ids:
        staff_names = dict(
            session.execute(select(Staff.id, Staff.name).where(any_of(session, Staff.id, staff_ids))).all()
        )
    compiled = {sid: _VARIABLE.split(body) for sid, body in bodies.items()}
    out: list[str] = []
    for item in items:
        name, store, owner = (
            people.get(item.customer_id, (None, None, None)) if item.customer_id else (None, None, None)
        )
        guide_id = item.staff_id if item.staff_id is not None else owner
        values: dict[str, str | None] = {
            "name": name,
            "store": store,
            "guide": staff_names.get(guide_id) if guide_id is not None else None,
            "coupon": None,
        }
        if item.extra:
            values.update(item.extra)
        out.append(_fill(compiled[item.script_id], values))
    return out


def _fill(pieces: list[str], values: Mapping[str, str | None]) -> str:
    # pieces = _VARIABLE.split(body): literal, name, literal, …; same result as render_body, no regex per text.
    parts = [pieces[0]]
    for i in range(1, len(pieces), 2):
        name = pieces[i]
        if name in VARIABLES:
            value = values.get(name)
            parts.append(value if value else FALLBACK[name])
        else:
            parts.append("{" + name + "}")
        parts.append(pieces[i + 1])
    return "".join(parts)
