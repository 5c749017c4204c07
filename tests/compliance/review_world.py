"""A small world for the review console: org, staff, customers, chat messages and incidents written as rows."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from siyu.db.engine import session_factory
from siyu.db.types import utcnow
from siyu.models import Account, AcquisitionSource, ChatMessage, Customer, MessageDirection
from siyu.models.compliance import (
    ComplianceCategory,
    IncidentStatus,
    SensitiveIncident,
    SensitiveRule,
    Severity,
)
from siyu.org.accounts import create_account
from siyu.org.permissions import Actor
from siyu.org.service import create_staff, create_unit
from siyu.org.tokens import actor_for_account, create_token

PASSWORD = "review-pass-2026"
# username, role, scope, scope unit, staff
ACCOUNTS = (
    ("root", "admin", "all", None, None),
    ("lead", "private_domain_lead", "all", None, None),
    ("region", "manager", "subtree", "R1", "RM1"),
    ("store", "manager", "unit", "ST1", "SM1"),
    ("operator", "operator", "all", None, None),
    ("analyst", "analyst", "all", None, None),
    ("guide", "guide", "self", None, "G1"),
)
STAFF = (
    ("RM1", "区经理", "R1"),
    ("SM1", "店长", "ST1"),
    ("G1", "导购一", "ST1"),
    ("G2", "导购二", "ST2"),
    ("G3", "导购三", "ST3"),
)
HTML_TEXT = '<b onclick="x()">你</b>这个傻逼&客户 "别烦我"'
HTML_SPAN = (HTML_TEXT.index("傻逼"), HTML_TEXT.index("傻逼") + 2)
PHONE_TEXT = "加我微信吧 138 1234 5678 私聊"
PHONE_SPAN = (PHONE_TEXT.index("138"), PHONE_TEXT.index("5678") + 4)


@dataclass
class World:
    """Ids by code, and the special incidents the tests look at."""

    units: dict[str, int]
    staff: dict[str, int]
    customers: dict[str, int]
    html_incident: int = 0
    phone_incident: int = 0
    rule_id: int = 0
    incident_ids: list[int] = field(default_factory=list)


def _message(s: Session, n: int, staff_id: int, customer_id: int, text: str, at: datetime) -> ChatMessage:
    m = ChatMessage(
        msgid=f"m{n}",
        sender=f"staff{staff_id}",
        receivers=f"cust{customer_id}",
        direction=MessageDirection.staff_to_customer,
        staff_id=staff_id,
        customer_id=customer_id,
        msg_type="text",
        text=text,
        sent_at=at,
    )
    s.add(m)
    return m


def build(engine: Engine, incidents: int = 120, seed: int = 8) -> World:
    """Write the world and commit; incidents spread over 20 days, 3 stores, every category and status."""
    rnd = random.Random(seed)
    now = utcnow().replace(microsecond=0)
    with session_factory(engine)() as s:
        units = {}
        for code, kind, parent in (
            ("HQ", "company", None),
            ("R1", "region", "HQ"),
            ("ST1", "store", "R1"),
            ("ST2", "store", "R1"),
            ("R2", "region", "HQ"),
            ("ST3", "store", "R2"),
        ):
            units[code] = create_unit(s, code=code, name=f"单位{code}", kind=kind, parent_code=parent).id
        staff = {code: create_staff(s, code=code, name=name, unit_code=unit).id for code, name, unit in STAFF}
        staff_unit = {staff[code]: units[unit] for code, _, unit in STAFF}
        customers = {}
        for i, code in enumerate(("C1", "C2", "C3")):
            c = Customer(
                name=f"客户{i + 1}", source=AcquisitionSource.store, first_seen_at=now - timedelta(days=90)
            )
            s.add(c)
            s.flush()
            customers[code] = c.id
        rule = SensitiveRule(
            category=ComplianceCategory.abuse, name="辱骂", terms=["傻逼"], severity=Severity.high
        )
        s.add(rule)
        for username, role, scope, unit, member in ACCOUNTS:
            create_account(s, username=username, password=PASSWORD, role=role, scope=scope,
                           unit_code=unit, staff_code=member)  # fmt: skip
        s.flush()
        world = World(units=units, staff=staff, customers=customers, rule_id=rule.id)
        cats, sevs, stats = list(ComplianceCategory), list(Severity), list(IncidentStatus)
        staff_ids = list(staff.values())
        for n in range(incidents):
            staff_id = rnd.choice(staff_ids)
            at = now - timedelta(
                days=rnd.randint(0, 19), hours=4 + rnd.randint(0, 19), minutes=rnd.randint(0, 59)
            )
            m = _message(s, n, staff_id, rnd.choice(list(customers.values())), f"消息{n} 你好", at)
            s.flush()
            # A few incidents lost their unit (the staff member had none): only "all" scopes see them.
            unit_id = None if n % 17 == 5 else staff_unit[staff_id]
            incident = SensitiveIncident(
                message_id=m.id, staff_id=staff_id, customer_id=m.customer_id, unit_id=unit_id,
                category=rnd.choice(cats), detector=rnd.choice(("keyword", "phone", "classifier")),
                rule_key=str(n % 5), severity=rnd.choice(sevs), span_start=0, span_end=2, matched="消息",
                occurred_at=at, status=rnd.choice(stats),
            )  # fmt: skip
            s.add(incident)
            s.flush()
            world.incident_ids.append(incident.id)
        g1, st1 = staff["G1"], units["ST1"]
        base = now - timedelta(hours=3)
        # Conversation around the abusive message: two before, one after, and one in another chat.
        _message(s, 1000, g1, customers["C1"], "您好，请问有什么可以帮您", base - timedelta(minutes=5))
        _message(s, 1001, g1, customers["C1"], "我的快递呢", base - timedelta(minutes=4))
        bad = _message(s, 1002, g1, customers["C1"], HTML_TEXT, base)
        _message(s, 1003, g1, customers["C1"], "抱歉刚才说错了", base + timedelta(minutes=1))
        _message(s, 1004, g1, customers["C2"], "别的客户的消息", base)
        phone = _message(s, 1005, g1, customers["C2"], PHONE_TEXT, base + timedelta(minutes=2))
        s.flush()
        html = SensitiveIncident(
            message_id=bad.id, staff_id=g1, customer_id=customers["C1"], unit_id=st1,
            category=ComplianceCategory.abuse, detector="keyword", rule_id=rule.id, rule_key=str(rule.id),
            severity=Severity.high, span_start=HTML_SPAN[0], span_end=HTML_SPAN[1], matched="傻逼",
            occurred_at=base,
        )  # fmt: skip
        contact = SensitiveIncident(
            message_id=phone.id, staff_id=g1, customer_id=customers["C2"], unit_id=st1,
            category=ComplianceCategory.contact, detector="phone", rule_key="phone",
            severity=Severity.high, span_start=PHONE_SPAN[0], span_end=PHONE_SPAN[1], matched="13812345678",
            occurred_at=base + timedelta(minutes=2),
        )  # fmt: skip
        s.add_all([html, contact])
        s.flush()
        world.html_incident, world.phone_incident = html.id, contact.id
        world.incident_ids += [html.id, contact.id]
        s.commit()
        return world


def actor(engine: Engine, username: str) -> Actor:
    """The Actor of a world account."""
    with session_factory(engine)() as s:
        account = s.scalars(select(Account).where(Account.username == username)).one()
        return actor_for_account(s, account)


def account_id(engine: Engine, username: str) -> int:
    """The account id of a username."""
    with session_factory(engine)() as s:
        return s.scalars(select(Account.id).where(Account.username == username)).one()


def token(engine: Engine, username: str) -> dict[str, str]:
    """An API Authorization header for a world account."""
    with session_factory(engine)() as s:
        value = create_token(s, username, "tests")
        s.commit()
    return {"Authorization": f"Bearer {value}"}
