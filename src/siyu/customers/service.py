"""Customer rules for the API: list filters, the profile (画像) and phone reveals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import phonenumbers
from sqlalchemy.orm import Session

from siyu.api.pagination import after_id, decode_cursor, split_page
from siyu.api.schemas import Page, check_text
from siyu.audit import audit_many
from siyu.config import get_settings
from siyu.customers import repository as repo
from siyu.customers.schemas import (
    CustomerDetail,
    CustomerOut,
    CustomerTagOut,
    IdentityOut,
    MembershipOut,
    OrderSummary,
    OrderTotals,
    StaffRef,
    TagBrief,
)
from siyu.customers.tags import resolve_tag_ref
from siyu.errors import Invalid, NotFound
from siyu.models import AcquisitionSource, Channel, Customer, IdentityKind, LifecycleStage
from siyu.org.permissions import Actor
from siyu.privacy import may_reveal, show_phone

RECENT_ORDERS = 10


@dataclass(frozen=True)
class CustomerQuery:
    """List filters as the API receives them."""

    q: str | None = None
    phone: str | None = None
    tag: str | None = None
    source: AcquisitionSource | None = None
    channel: Channel | None = None
    owner_staff_id: int | None = None
    store_id: int | None = None
    lifecycle_stage: LifecycleStage | None = None


def _invalid(where: str, why: str, value: object) -> Invalid:
    return Invalid(f"{where}: {why}", details=[{"where": where, "why": why, "value": value}])


def parse_phone_filter(raw: str) -> tuple[str | None, str | None]:
    """(full E.164 number, None) or (None, last four digits) from what a user typed."""
    text = check_text(raw, "query.phone")
    compact = "".join(c for c in text if c not in " -()")
    if compact.isdigit() and len(compact) == 4:
        return None, compact
    try:
        parsed = phonenumbers.parse(compact, get_settings().default_country)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_possible_number(parsed):
        raise _invalid("query.phone", "give a full phone number or its last 4 digits", raw)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), None


def _filters(session: Session, query: CustomerQuery) -> repo.CustomerFilters:
    phone, suffix = parse_phone_filter(query.phone) if query.phone else (None, None)
    name = check_text(query.q, "query.q") if query.q else None
    return repo.CustomerFilters(
        name=name or None,
        phone=phone,
        phone_suffix=suffix,
        tag_id=resolve_tag_ref(session, query.tag) if query.tag else None,
        source=query.source,
        channel=query.channel,
        owner_staff_id=query.owner_staff_id,
        store_id=query.store_id,
        lifecycle_stage=query.lifecycle_stage,
    )


def _reveal_audit(session: Session, actor: Actor, customer_ids: Sequence[int]) -> None:
    audit_many(session, actor, "customer.phone.reveal", "customer", customer_ids)


def list_customers(
    session: Session, actor: Actor, query: CustomerQuery, *, cursor: str | None, limit: int, reveal: bool
) -> Page[CustomerOut]:
    """A page of readable customers by id; each revealed phone leaves an audit row."""
    show = may_reveal(actor, reveal)
    rows = repo.list_customers(
        session, actor, _filters(session, query), after_id=after_id(cursor), limit=limit + 1
    )
    items, next_cursor = split_page(rows, limit, lambda c: [c.id])
    ids = [c.id for c in items]
    phones = repo.first_phones(session, ids)
    tags = repo.tags_of(session, ids)
    if show:
        _reveal_audit(session, actor, [i for i in ids if i in phones])
    out = [
        CustomerOut(
            id=c.id,
            name=c.name,
            gender=c.gender,
            city=c.city,
            source=c.source,
            lifecycle_stage=c.lifecycle_stage,
            member_tier=c.member_tier,
            owner_staff_id=c.owner_staff_id,
            home_store_id=c.home_store_id,
            phone=show_phone(phones.get(c.id), show),
            first_seen_at=c.first_seen_at,
            tags=[TagBrief(id=t.id, group=t.group_name, name=t.name) for t in tags[c.id]],
        )
        for c in items
    ]
    return Page[CustomerOut](items=out, next_cursor=next_cursor)


def get_readable(session: Session, actor: Actor, customer_id: int) -> Customer:
    """The customer, or NotFound both when it does not exist and when it is outside the scope."""
    customer = repo.get_customer(session, actor, customer_id)
    if customer is None:
        raise NotFound(f"customer {customer_id} does not exist")
    return customer


def customer_detail(session: Session, actor: Actor, customer_id: int, *, reveal: bool) -> CustomerDetail:
    """The profile of one readable customer; a reveal leaves an audit row."""
    show = may_reveal(actor, reveal)
    c = get_readable(session, actor, customer_id)
    identities = repo.identities(session, c.id)
    phones = [i.value for i in identities if i.kind is IdentityKind.phone]
    if show and phones:
        _reveal_audit(session, actor, [c.id])
    owner_name = repo.staff_names(session, [c.owner_staff_id]) if c.owner_staff_id else {}
    totals = repo.order_totals(session, c.id)
    return CustomerDetail(
        id=c.id,
        name=c.name,
        gender=c.gender,
        city=c.city,
        source=c.source,
        source_detail=c.source_detail,
        source_channel_code=c.source_channel_code,
        lifecycle_stage=c.lifecycle_stage,
        member_tier=c.member_tier,
        points_balance=c.points_balance,
        marketing_opt_in=c.marketing_opt_in,
        first_seen_at=c.first_seen_at,
        merged_into_id=c.merged_into_id,
        owner=StaffRef(id=c.owner_staff_id, name=owner_name[c.owner_staff_id])
        if c.owner_staff_id in owner_name
        else None,
        home_store_id=c.home_store_id,
        phone=show_phone(phones[0], show) if phones else None,
        identities=[
            IdentityOut(
                id=i.id,
                kind=i.kind,
                value=(show_phone(i.value, show) or "") if i.kind is IdentityKind.phone else i.value,
                created_at=i.created_at,
            )
            for i in identities
        ],
        memberships=[
            MembershipOut(
                id=m.id,
                channel=m.channel,
                staff_id=m.staff_id,
                staff_name=staff_name,
                group_id=m.group_id,
                group_name=group_name,
                channel_code=m.channel_code,
                joined_at=m.joined_at,
                left_at=m.left_at,
                leave_reason=m.leave_reason,
            )
            for m, staff_name, group_name in repo.memberships(session, c.id)
        ],
        tags=[
            CustomerTagOut(
                id=t.id,
                group=t.group_name,
                group_id=t.group_id,
                name=t.name,
                applied_by=t.applied_by,
                applied_at=t.applied_at,
            )
            for t in repo.tags_of(session, [c.id])[c.id]
        ],
        recent_orders=[
            OrderSummary.model_validate(o) for o in repo.recent_orders(session, c.id, RECENT_ORDERS)
        ],
        totals=OrderTotals(
            orders=totals.orders,
            amount_fen=int(totals.amount_fen),
            refund_fen=int(totals.refund_fen),
            first_paid_at=totals.first_paid_at,
            last_paid_at=totals.last_paid_at,
        ),
    )


def resolve_filters(session: Session, query: CustomerQuery) -> repo.CustomerFilters:
    """The list filters resolved for the repository (phone normalised, tag resolved), or Invalid."""
    return _filters(session, query)


def _sort_value(customer: Customer, sort: str) -> Any:
    value = getattr(customer, sort)
    if sort == "name":
        return value or ""
    if isinstance(value, datetime):
        return value.isoformat()
    return value.value if isinstance(value, StrEnum) else value


def _sort_after(cursor: str | None, sort: str) -> tuple[Any, int] | None:
    values = decode_cursor(cursor)
    if values is None:
        return None
    if len(values) != 3 or values[0] != sort or not isinstance(values[2], int):
        raise Invalid("query parameter 'cursor' is not a cursor for this sort")
    value = values[1]
    if sort == "first_seen_at":
        try:
            value = datetime.fromisoformat(str(value))
        except ValueError:
            raise Invalid("query parameter 'cursor' is not a cursor this page issued") from None
    enums: dict[str, type[StrEnum]] = {"source": AcquisitionSource, "lifecycle_stage": LifecycleStage}
    if sort in enums:
        try:
            value = enums[sort](value)
        except ValueError:
            raise Invalid("query parameter 'cursor' is not a cursor this page issued") from None
    return value, values[2]


def sorted_page(
    session: Session,
    actor: Actor,
    query: CustomerQuery,
    *,
    sort: str,
    desc: bool,
    cursor: str | None,
    limit: int,
) -> tuple[list[Customer], str | None]:
    """One page of readable customers under a whitelisted sort, and the keyset cursor of the next."""
    if sort not in repo.SORT_COLUMNS:
        raise _invalid("query.sort", f"sort by one of {', '.join(repo.SORT_COLUMNS)}", sort)
    rows = repo.list_customers_sorted(
        session,
        actor,
        _filters(session, query),
        sort=sort,
        desc=desc,
        after=_sort_after(cursor, sort),
        limit=limit + 1,
    )
    return split_page(rows, limit, lambda c: [sort, _sort_value(c, sort), c.id])


def reveal_phones(session: Session, actor: Actor, customer_ids: Sequence[int]) -> dict[int, str]:
    """Full phones of readable customers for an actor who may reveal them; each reveal is audited."""
    may_reveal(actor, True)
    phones = repo.first_phones(session, sorted(repo.readable_ids(session, actor, customer_ids)))
    _reveal_audit(session, actor, sorted(phones))
    return phones
