"""A small org for the assessment-cycle tests: two regions, three stores, a central team, staff and accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from siyu.db.engine import session_factory
from siyu.models import Account, Staff, StaffStatus
from siyu.org.accounts import create_account
from siyu.org.permissions import Actor
from siyu.org.service import create_staff, create_unit
from siyu.org.tokens import actor_for_account
from tests.web.conftest import PASSWORD

FIRST, LAST = date(2026, 7, 1), date(2026, 9, 30)
# code, name, unit, roles
STAFF = (
    ("RM1", "区经理甲", "R1", ("region_manager",)),
    ("SM1", "店长甲", "ST1", ("store_manager",)),
    ("G1", "导购一", "ST1", ("guide",)),
    ("G2", "导购二", "ST1", ("guide",)),
    ("G3", "导购三", "ST2", ("guide",)),
    ("SM3", "店长丙", "ST3", ("store_manager",)),
    ("G4", "导购四", "ST3", ("guide",)),
    ("U1", "用户运营一", "PD", ("user_ops", "member_ops")),
    ("X1", "无岗位", "ST1", ()),
    ("L1", "已离职", "ST2", ("guide",)),
)
ASSESSED = ("RM1", "SM1", "G1", "G2", "G3", "SM3", "G4", "U1")  # active and holding a role
R1_SUBTREE = ("RM1", "SM1", "G1", "G2", "G3")
ST1_UNIT = ("SM1", "G1", "G2")


@dataclass
class World:
    """Staff ids by code and account usernames."""

    staff: dict[str, int]
    units: dict[str, int]


def build(engine: Engine) -> World:
    """Write the org, staff and accounts (admin root, lead, region, store, guide) and commit."""
    with session_factory(engine)() as s:
        units = {}
        for code, name, kind, parent in (
            ("HQ", "总部", "company", None),
            ("R1", "华东大区", "region", "HQ"),
            ("ST1", "南京路店", "store", "R1"),
            ("ST2", "淮海路店", "store", "R1"),
            ("R2", "华南大区", "region", "HQ"),
            ("ST3", "天河店", "store", "R2"),
            ("PD", "私域中心", "department", "HQ"),
        ):
            units[code] = create_unit(s, code=code, name=name, kind=kind, parent_code=parent).id
        staff = {}
        for code, name, unit, roles in STAFF:
            staff[code] = create_staff(s, code=code, name=name, unit_code=unit, role_codes=roles).id
        s.execute(
            update(Staff).where(Staff.code == "L1").values(status=StaffStatus.left, left_on=date(2026, 6, 1))
        )
        for username, role, scope, scope_unit, member in (
            ("root", "admin", "all", None, None),
            ("lead", "private_domain_lead", "all", None, "U1"),
            ("region", "manager", "subtree", "R1", "RM1"),
            ("store", "manager", "unit", "ST1", "SM1"),
            ("guide", "guide", "self", None, "G1"),
            ("analyst", "analyst", "all", None, None),
        ):
            create_account(s, username=username, password=PASSWORD, role=role, scope=scope,
                           unit_code=scope_unit, staff_code=member)  # fmt: skip
        s.commit()
        return World(staff=staff, units=units)


def account_id(engine: Engine, username: str) -> int:
    """The id of an account."""
    with session_factory(engine)() as s:
        found = s.scalar(select(Account.id).where(Account.username == username))
        assert found is not None
        return int(found)


def actor(session: Session, username: str) -> Actor:
    """The Actor of an account, as the console builds it."""
    account = session.scalar(select(Account).where(Account.username == username))
    assert account is not None
    return actor_for_account(session, account)
