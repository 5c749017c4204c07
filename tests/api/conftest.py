"""A small brand for API tests: two regions, three stores, guides, customers, orders and one token per role."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from siyu.db.engine import session_factory
from siyu.models import (
    AcquisitionSource,
    Channel,
    ChannelMembership,
    Customer,
    CustomerIdentity,
    IdentityKind,
    LeaveReason,
    Order,
    OrderChannel,
    OrderLine,
    OrderStatus,
)
from siyu.org.accounts import create_account
from siyu.org.service import create_staff, create_unit
from siyu.org.tokens import create_token

T0 = datetime(2024, 1, 10, 2, 0, tzinfo=UTC)


@dataclass
class World:
    """Ids of what the fixture built, and an Authorization header per account."""

    units: dict[str, int] = field(default_factory=dict)
    staff: dict[str, int] = field(default_factory=dict)
    customers: dict[str, int] = field(default_factory=dict)
    orders: dict[str, int] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)


def add_customer(
    session: Session,
    name: str,
    *,
    owner: int | None = None,
    store: int | None = None,
    phone: str | None = None,
    source: AcquisitionSource = AcquisitionSource.store,
) -> Customer:
    """Insert a customer (and a phone identity) directly."""
    customer = Customer(name=name, source=source, owner_staff_id=owner, home_store_id=store, first_seen_at=T0)
    session.add(customer)
    session.flush()
    if phone:
        session.add(CustomerIdentity(customer_id=customer.id, kind=IdentityKind.phone, value=phone))
        session.flush()
    return customer


def add_order(
    session: Session,
    no: str,
    customer_id: int,
    *,
    paid_at: datetime,
    amount_fen: int,
    store: int | None = None,
    staff: int | None = None,
    channel: OrderChannel = OrderChannel.store,
    refund_fen: int = 0,
) -> Order:
    """Insert an order with one line directly."""
    order = Order(
        source="test",
        external_no=no,
        customer_id=customer_id,
        channel=channel,
        store_id=store,
        staff_id=staff,
        amount_fen=amount_fen,
        discount_fen=0,
        refund_fen=refund_fen,
        status=OrderStatus.partially_refunded if refund_fen else OrderStatus.paid,
        paid_at=paid_at,
    )
    session.add(order)
    session.flush()
    session.add(
        OrderLine(
            order_id=order.id,
            customer_id=customer_id,
            sku=f"SKU-{no}",
            name="面霜",
            quantity=1,
            amount_fen=amount_fen,
        )
    )
    session.flush()
    return order


def token_headers(session: Session, username: str, **account: str) -> dict[str, str]:
    """Create an account and return the Authorization header of a fresh token."""
    create_account(session, username=username, password="pass-word-1", **account)
    return {"Authorization": f"Bearer {create_token(session, username, 'tests')}"}


@pytest.fixture()
def world(engine: Engine, auth: dict[str, str]) -> World:
    """Build the brand once per test (tables are emptied after each test)."""
    w = World()
    w.headers["admin"] = auth
    with session_factory(engine)() as s:
        for code, name, kind, parent in [
            ("hq", "总部", "company", None),
            ("east", "华东区", "region", "hq"),
            ("north", "华北区", "region", "hq"),
            ("sh01", "上海一店", "store", "east"),
            ("sh02", "上海二店", "store", "east"),
            ("bj01", "北京一店", "store", "north"),
        ]:
            w.units[code] = create_unit(s, code=code, name=name, kind=kind, parent_code=parent).id
        for code, unit, roles in [
            ("g1", "sh01", ["guide"]),
            ("g2", "sh01", ["guide"]),
            ("m1", "sh01", ["store_manager", "guide"]),
            ("g3", "sh02", ["guide"]),
            ("g4", "bj01", ["guide"]),
        ]:
            w.staff[code] = create_staff(
                s, code=code, name=f"导购{code}", unit_code=unit, role_codes=roles
            ).id
        st, un = w.staff, w.units
        w.customers["c1"] = add_customer(
            s, "张三", owner=st["g1"], store=un["sh01"], phone="+8613812341234"
        ).id
        w.customers["c2"] = add_customer(
            s, "李四", owner=st["g2"], store=un["sh01"], phone="+8613900005678"
        ).id
        w.customers["c3"] = add_customer(s, "王五", owner=st["g3"], store=un["sh02"]).id
        w.customers["c4"] = add_customer(s, "赵六", owner=st["g4"], store=un["bj01"]).id
        # c5: nobody owns them, but g1 is present with them on WeCom (scope self sees them).
        w.customers["c5"] = add_customer(s, "孙七", phone="+8613700001111").id
        # c6: g1 used to be their contact but was deleted (scope self no longer sees them).
        w.customers["c6"] = add_customer(s, "周八", owner=st["g4"], store=un["bj01"]).id
        # c7: home store in the north, owner in the east (subtree east sees them through the owner).
        w.customers["c7"] = add_customer(s, "吴九", owner=st["g3"], store=un["bj01"]).id
        s.add_all(
            [
                ChannelMembership(
                    customer_id=w.customers["c5"], channel=Channel.wecom, staff_id=st["g1"], joined_at=T0
                ),
                ChannelMembership(
                    customer_id=w.customers["c6"],
                    channel=Channel.wecom,
                    staff_id=st["g1"],
                    joined_at=T0,
                    left_at=T0 + timedelta(days=3),
                    leave_reason=LeaveReason.customer_deleted_staff,
                ),
                ChannelMembership(
                    customer_id=w.customers["c1"], channel=Channel.wecom, staff_id=st["g1"], joined_at=T0
                ),
            ]
        )
        cs = w.customers
        # 2024-03-01T16:30Z is 2024-03-02 00:30 in Shanghai; 15:59Z is still 2024-03-01 23:59 there.
        w.orders["o1"] = add_order(
            s,
            "o1",
            cs["c1"],
            paid_at=datetime(2024, 3, 1, 16, 30, tzinfo=UTC),
            amount_fen=12345,
            store=un["sh01"],
        ).id
        w.orders["o2"] = add_order(
            s,
            "o2",
            cs["c1"],
            paid_at=datetime(2024, 3, 1, 15, 59, tzinfo=UTC),
            amount_fen=5000,
            store=un["sh01"],
            staff=st["g1"],
            refund_fen=1000,
        ).id
        w.orders["o3"] = add_order(
            s,
            "o3",
            cs["c4"],
            paid_at=datetime(2024, 3, 5, 4, 0, tzinfo=UTC),
            amount_fen=800,
            store=un["bj01"],
            channel=OrderChannel.miniprogram,
        ).id
        # c4 lives in Beijing but bought in sh01: the sh01 manager sees the order through the store.
        w.orders["o4"] = add_order(
            s,
            "o4",
            cs["c4"],
            paid_at=datetime(2024, 3, 31, 15, 59, tzinfo=UTC),
            amount_fen=900,
            store=un["sh01"],
        ).id
        w.orders["o5"] = add_order(
            s,
            "o5",
            cs["c3"],
            paid_at=datetime(2024, 4, 1, 2, 0, tzinfo=UTC),
            amount_fen=700,
            store=un["sh02"],
        ).id
        w.headers["lead_east"] = token_headers(
            s, "lead_east", role="private_domain_lead", scope="subtree", unit_code="east"
        )
        w.headers["mgr_sh01"] = token_headers(s, "mgr_sh01", role="manager", scope="unit", staff_code="m1")
        w.headers["guide_g1"] = token_headers(s, "guide_g1", role="guide", scope="self", staff_code="g1")
        w.headers["operator_g1"] = token_headers(
            s, "operator_g1", role="operator", scope="self", staff_code="g1"
        )
        w.headers["analyst"] = token_headers(s, "analyst", role="analyst", scope="all")
        s.commit()
    return w
