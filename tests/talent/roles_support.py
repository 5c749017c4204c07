"""A small org for the role-map tests: two regions, three stores, staff holding roles, accounts per scope."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from siyu.db.engine import session_factory
from siyu.models import Account, Staff, StaffStatus
from siyu.org.accounts import create_account
from siyu.org.permissions import Actor
from siyu.org.service import create_staff, create_unit
from siyu.org.tokens import actor_for_account, create_token
from tests.web.conftest import PASSWORD, login

UNITS = [
    ("hq", "总部", "company", None),
    ("ops", "私域中心", "department", "hq"),
    ("r1", "华东区", "region", "hq"),
    ("s1", "上海一店", "store", "r1"),
    ("s2", "上海二店", "store", "r1"),
    ("r2", "华南区", "region", "hq"),
    ("s3", "广州一店", "store", "r2"),
]
# code, name, unit, roles, active
STAFF = [
    ("p1", "周操盘", "ops", ["private_domain_lead"], True),
    ("u1", "吴用户", "ops", ["user_ops", "data_analyst"], True),
    ("c1", "郑内容", "ops", ["content_ops", "copywriter"], True),
    ("m1", "王区域", "r1", ["region_manager"], True),
    ("sm1", "冯店长", "s1", ["store_manager", "guide"], True),
    ("g1", "陈导购", "s1", ["guide"], True),
    ("g2", "褚导购", "s2", ["guide"], True),
    ("g3", "卫导购", "s3", ["guide"], True),
    ("g4", "蒋离职", "s2", ["guide"], False),
    ("sm3", "沈店长", "s3", ["store_manager"], True),
]
# username, permission role, scope, unit, staff
ACCOUNTS = [
    ("admin", "admin", "all", None, None),
    ("lead", "private_domain_lead", "all", None, "p1"),
    ("manager", "manager", "subtree", "r1", "m1"),
    ("guide", "guide", "self", None, "g1"),
    ("analyst", "analyst", "all", None, None),
]


@dataclass
class Org:
    """The accounts' usernames and the engine the org lives in."""

    engine: Engine

    def actor(self, username: str) -> Actor:
        """The Actor of an account."""
        with session_factory(self.engine)() as s:
            account = s.scalars(select(Account).where(Account.username == username)).one()
            return actor_for_account(s, account)

    def token(self, username: str) -> dict[str, str]:
        """Authorization header of a fresh API token of the account."""
        with session_factory(self.engine)() as s:
            token = create_token(s, username, "tests")
            s.commit()
        return {"Authorization": f"Bearer {token}"}


def build_org(engine: Engine) -> Org:
    """Write the org, staff (one of them left) and accounts; committed."""
    with session_factory(engine)() as s:
        for code, name, kind, parent in UNITS:
            create_unit(s, code=code, name=name, kind=kind, parent_code=parent)
        s.flush()
        for code, name, unit, roles, active in STAFF:
            staff = create_staff(s, code=code, name=name, unit_code=unit, role_codes=roles)
            if not active:
                staff.status = StaffStatus.left
        s.flush()
        for username, role, scope, scope_unit, staff_code in ACCOUNTS:
            create_account(
                s,
                username=username,
                password=PASSWORD,
                role=role,
                scope=scope,
                unit_code=scope_unit,
                staff_code=staff_code,
            )
        s.commit()
    return Org(engine)


def signed_in(client: TestClient, username: str) -> TestClient:
    """The client signed in as username (cookies cleared first)."""
    client.cookies.clear()
    assert login(client, username, PASSWORD).status_code == 303
    return client


def staff_unit_paths(session: Session) -> dict[str, str]:
    """Staff code → unit path, for brute-force scope checks."""
    from siyu.models import OrgUnit

    rows = session.execute(select(Staff.code, OrgUnit.path).join(OrgUnit, OrgUnit.id == Staff.unit_id)).all()
    return {code: path for code, path in rows}
