"""Data scope: each repository's readable(actor) filter, at the SQL level and through the API."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from siyu.commerce import repository as commerce_repo
from siyu.customers import repository as customer_repo
from siyu.models import Account, Customer, Order, OrgUnit, Staff
from siyu.org import repository as org_repo
from siyu.org.permissions import Actor, DataScope, PermissionRole
from siyu.org.tokens import actor_for_account
from tests.api.conftest import World, add_customer


def actor(session: Session, username: str) -> Actor:
    account = session.scalar(select(Account).where(Account.username == username))
    assert account is not None
    return actor_for_account(session, account)


def visible(session: Session, who: Actor, w: World) -> dict[str, set[str]]:
    """Which fixture units, staff, customers and orders the actor can read."""
    found = {
        "units": set(session.scalars(select(OrgUnit.id).where(org_repo.readable_units(who)))),
        "staff": set(session.scalars(select(Staff.id).where(org_repo.readable_staff(who)))),
        "customers": set(session.scalars(select(Customer.id).where(customer_repo.readable(who)))),
        "orders": set(session.scalars(select(Order.id).where(commerce_repo.readable(who)))),
    }
    maps = {"units": w.units, "staff": w.staff, "customers": w.customers, "orders": w.orders}
    return {k: {n for n, i in maps[k].items() if i in ids} for k, ids in found.items()}


def test_scope_all_sees_everything(session: Session, world: World) -> None:
    seen = visible(session, actor(session, "admin"), world)
    assert seen["units"] == set(world.units)
    assert seen["customers"] == set(world.customers)
    assert seen["orders"] == set(world.orders)
    assert seen["staff"] == set(world.staff)


def test_scope_subtree(session: Session, world: World) -> None:
    seen = visible(session, actor(session, "lead_east"), world)
    assert seen["units"] == {"east", "sh01", "sh02"}
    assert seen["staff"] == {"g1", "g2", "m1", "g3"}
    # c7's home store is in the north, but the owner works in the east.
    assert seen["customers"] == {"c1", "c2", "c3", "c7"}
    # o4 belongs to a northern customer but was paid in sh01.
    assert seen["orders"] == {"o1", "o2", "o4", "o5"}


def test_scope_unit(session: Session, world: World) -> None:
    seen = visible(session, actor(session, "mgr_sh01"), world)
    assert seen["units"] == {"sh01"}
    assert seen["staff"] == {"g1", "g2", "m1"}
    assert seen["customers"] == {"c1", "c2"}
    assert seen["orders"] == {"o1", "o2", "o4"}


def test_scope_self(session: Session, world: World) -> None:
    seen = visible(session, actor(session, "guide_g1"), world)
    assert seen["units"] == {"sh01"}
    assert seen["staff"] == {"g1"}
    # c5 through a present WeCom membership; c6's membership has ended.
    assert seen["customers"] == {"c1", "c5"}
    assert seen["orders"] == {"o1", "o2"}


@pytest.mark.parametrize(
    "broken",
    [
        Actor(account_id=None, username="x", role=PermissionRole.manager, scope=DataScope.unit),
        Actor(account_id=None, username="x", role=PermissionRole.manager, scope=DataScope.subtree),
        Actor(account_id=None, username="x", role=PermissionRole.guide, scope=DataScope.self_),
    ],
)
def test_scope_missing_its_anchor_sees_nothing(session: Session, world: World, broken: Actor) -> None:
    assert visible(session, broken, world) == {
        "units": set(),
        "staff": set(),
        "customers": set(),
        "orders": set(),
    }


def test_subtree_prefix_does_not_match_sibling_ids(session: Session, world: World) -> None:
    """A path /1/2/ must not match /1/23/: paths end with a slash."""
    from siyu.org.service import create_unit

    for i in range(12):
        create_unit(session, code=f"x{i}", name=f"x{i}", kind="store", parent_code="hq")
    session.flush()
    east_path = session.scalar(select(OrgUnit.path).where(OrgUnit.code == "east"))
    assert east_path is not None
    ids = set(session.scalars(org_repo.subtree_ids(east_path)))
    assert ids == {world.units["east"], world.units["sh01"], world.units["sh02"]}


def count_statements(session: Session, work: Callable[[], object]) -> int:
    """How many SQL statements work() sends."""
    statements: list[str] = []
    bind = session.get_bind()

    def listener(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(bind, "before_cursor_execute", listener)
    try:
        work()
    finally:
        event.remove(bind, "before_cursor_execute", listener)
    return len(statements)


def test_scope_filter_is_part_of_the_one_list_query(session: Session, world: World) -> None:
    guide = actor(session, "guide_g1")
    filters = customer_repo.CustomerFilters()
    n = count_statements(
        session, lambda: customer_repo.list_customers(session, guide, filters, after_id=None, limit=50)
    )
    assert n == 1


@pytest.mark.parametrize("who", ["admin", "lead_east", "mgr_sh01", "guide_g1"])
def test_no_query_per_row(session: Session, world: World, who: str) -> None:
    """A page of 2 and a page of 7 customers cost the same number of statements."""
    from siyu.customers.service import CustomerQuery, list_customers
    from siyu.org.service import list_staff_page

    for i in range(8):
        add_customer(
            session,
            f"客户{i}",
            owner=world.staff["g1"],
            store=world.units["sh01"],
            phone=f"+861380000{i:04d}",
        )
    session.flush()
    me = actor(session, who)
    small = count_statements(
        session, lambda: list_customers(session, me, CustomerQuery(), cursor=None, limit=2, reveal=False)
    )
    large = count_statements(
        session, lambda: list_customers(session, me, CustomerQuery(), cursor=None, limit=7, reveal=False)
    )
    assert small == large
    staff_small = count_statements(
        session, lambda: list_staff_page(session, me, unit=None, role=None, status=None, cursor=None, limit=1)
    )
    staff_large = count_statements(
        session, lambda: list_staff_page(session, me, unit=None, role=None, status=None, cursor=None, limit=5)
    )
    assert staff_small == staff_large


@pytest.mark.parametrize(
    ("who", "path", "key"),
    [
        ("guide_g1", "/api/v1/customers/{}", "c2"),  # a colleague's customer in the same store
        ("guide_g1", "/api/v1/customers/{}", "c6"),  # used to be theirs, membership ended
        ("mgr_sh01", "/api/v1/customers/{}", "c3"),  # another store's customer
        ("lead_east", "/api/v1/customers/{}", "c4"),  # another region's customer
    ],
)
def test_out_of_scope_customer_is_404(
    client: TestClient, world: World, who: str, path: str, key: str
) -> None:
    response = client.get(path.format(world.customers[key]), headers=world.headers[who])
    assert response.status_code == 404
    assert response.json() == {
        "code": "not_found",
        "message": f"customer {world.customers[key]} does not exist",
    }


def test_out_of_scope_and_forged_ids_look_the_same(client: TestClient, world: World) -> None:
    h = world.headers["mgr_sh01"]
    outside = client.get(f"/api/v1/orders/{world.orders['o5']}", headers=h)
    forged = client.get("/api/v1/orders/987654321", headers=h)
    assert outside.status_code == forged.status_code == 404
    assert outside.json()["code"] == forged.json()["code"] == "not_found"
    for path in (
        f"/api/v1/staff/{world.staff['g4']}",
        f"/api/v1/org/units/{world.units['bj01']}",
        f"/api/v1/org/units/{world.units['hq']}",
        "/api/v1/staff/987654321",
    ):
        assert client.get(path, headers=h).status_code == 404, path


def test_lists_are_scoped(client: TestClient, world: World) -> None:
    def ids(path: str, who: str) -> set[int]:
        body = client.get(path, headers=world.headers[who]).json()
        return {item["id"] for item in body["items"]}

    c = world.customers
    assert ids("/api/v1/customers", "guide_g1") == {c["c1"], c["c5"]}
    assert ids("/api/v1/customers", "mgr_sh01") == {c["c1"], c["c2"]}
    assert ids("/api/v1/orders", "mgr_sh01") == {world.orders[k] for k in ("o1", "o2", "o4")}
    assert ids("/api/v1/staff", "lead_east") == {world.staff[k] for k in ("g1", "g2", "m1", "g3")}
    assert ids("/api/v1/org/units", "lead_east") == {world.units[k] for k in ("east", "sh01", "sh02")}
    # A filter naming something outside the scope just finds nothing.
    assert ids(f"/api/v1/customers?store_id={world.units['bj01']}", "mgr_sh01") == set()
