"""Shared set-up of the ingest, behaviour, rerun and retention tests: an org, people, a stand-in engine."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from siyu.compliance.contract import Finding, MessageIn
from siyu.db.engine import session_factory
from siyu.models import Customer, CustomerIdentity, IdentityKind, OrgUnit, OrgUnitKind, Staff
from siyu.models.compliance import ComplianceCategory, Severity
from siyu.org.accounts import create_account
from siyu.org.tokens import create_token

WORD = "加微信"


class StubEngine:
    """Flags WORD in staff text (high) and '私单' anywhere (medium): enough to test storage, not detection."""

    def __init__(self) -> None:
        self.seen: list[list[str]] = []

    def detect(self, messages: Sequence[MessageIn]) -> list[Finding]:
        """Findings in message order."""
        self.seen.append([m.msgid for m in messages])
        out: list[Finding] = []
        for m in messages:
            text = m.text or ""
            at = text.find(WORD)
            if m.from_staff and at >= 0:
                out.append(
                    Finding(
                        m.msgid,
                        ComplianceCategory.contact,
                        "stub",
                        Severity.high,
                        at,
                        at + 3,
                        WORD,
                        rule_key="w",
                    )
                )
            at = text.find("私单")
            if at >= 0:
                out.append(
                    Finding(
                        m.msgid,
                        ComplianceCategory.private_deal,
                        "stub",
                        Severity.medium,
                        at,
                        at + 2,
                        "私单",
                        rule_key="p",
                    )
                )
        return out


@dataclass
class World:
    """Ids of the test org: units, staff, customers, and API tokens by role."""

    ids: dict[str, int]
    tokens: dict[str, str]


@pytest.fixture(name="world")
def world_fixture(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> World:
    """HQ → stores S1, S2; staff zhangsan (S1), lisi (S2); customer wmCust0001 (home S2); accounts."""
    import siyu.compliance.incidents_store as store

    monkeypatch.setattr(store, "get_engine", lambda session: StubEngine())
    ids: dict[str, int] = {}
    with session_factory(engine)() as s:
        hq = OrgUnit(kind=OrgUnitKind.company, code="HQ", name="总部", path="/", depth=0)
        s.add(hq)
        s.flush()
        hq.path = f"/{hq.id}/"
        ids["HQ"] = hq.id
        for code in ("S1", "S2"):
            unit = OrgUnit(kind=OrgUnitKind.store, code=code, name=code, parent_id=hq.id, path="", depth=1)
            s.add(unit)
            s.flush()
            unit.path = f"{hq.path}{unit.id}/"
            ids[code] = unit.id
        for code, unit_code, userid in (("G1", "S1", "zhangsan"), ("G2", "S2", "lisi")):
            staff = Staff(code=code, name=code, unit_id=ids[unit_code], wecom_userid=userid)
            s.add(staff)
            s.flush()
            ids[code] = staff.id
        customer = Customer(
            source="organic", first_seen_at=datetime(2024, 1, 1, tzinfo=UTC), home_store_id=ids["S2"]
        )
        s.add(customer)
        s.flush()
        s.add(
            CustomerIdentity(
                customer_id=customer.id, kind=IdentityKind.wecom_external_userid, value="wmCust0001"
            )
        )
        ids["C1"] = customer.id
        tokens: dict[str, str] = {}
        for name, role, scope, unit in (
            ("feed", "operator", "all", None),
            ("boss", "admin", "all", None),
            ("mgr1", "manager", "unit", "S1"),
            ("mgr2", "manager", "unit", "S2"),
            ("guide", "guide", "all", None),
        ):
            account = create_account(
                s, username=name, password="pass-word-1", role=role, scope=scope, unit_code=unit
            )
            s.flush()
            ids[name] = account.id
            tokens[name] = create_token(s, name, "tests")
        s.commit()
    return World(ids, tokens)


def ms(*parts: int) -> int:
    """Epoch milliseconds of a UTC time."""
    return int(datetime(*parts, tzinfo=UTC).timestamp() * 1000)  # type: ignore[arg-type,misc]


def send(msgid: str, sender: str, to: str, text: str, at: int, **more: Any) -> dict[str, Any]:
    """A 1:1 text record in archive shape."""
    return {"msgid": msgid, "action": "send", "from": sender, "tolist": [to], "roomid": "", "msgtime": at, "msgtype": "text", "text": {"content": text}, **more}  # fmt: skip


def recall(msgid: str, pre: str, at: int) -> dict[str, Any]:
    """A recall record naming the recalled message."""
    return {"msgid": msgid, "action": "recall", "from": "zhangsan", "tolist": ["wmCust0001"], "roomid": "", "msgtime": at, "msgtype": "revoke", "revoke": {"pre_msgid": pre}}  # fmt: skip


def count(session: Session, model: type[Any], *where: Any) -> int:
    """Rows of model matching where."""
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)
