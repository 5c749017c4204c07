"""Every demo account against a small demo brand: the nav shows only pages that open, and pages show no raw codes."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from siyu.app import create_app
from siyu.db.engine import session_factory
from siyu.demo.accounts import USERNAMES, password_of
from siyu.demo.builder import DemoParams, build_demo
from siyu.models import (
    Account,
    AcquisitionSource,
    Channel,
    ChannelMembership,
    ChatMessage,
    CustomerIdentity,
    IdentityKind,
    LeaveReason,
    LifecycleStage,
    MessageDirection,
    Order,
    OrderStatus,
    StaffTask,
    TaskStatus,
)
from siyu.org.permissions import Actor, DataScope, PermissionRole
from siyu.web.labels import LABELS, label_msgid
from siyu.web.render import _NAV, nav_entries
from tests.conftest import truncate_all
from tests.web.conftest import login

NAV_LINK = re.compile(r'<nav class="nav"[^>]*>(.*?)</nav>', re.S)
HREF = re.compile(r'href="([^"]+)"')


@pytest.fixture(scope="module")
def demo_engine(migrated_engine: Engine) -> Iterator[Engine]:
    """A 300-customer demo brand (with its demo accounts), emptied after the module."""
    truncate_all(migrated_engine)
    with session_factory(migrated_engine)() as session:
        build_demo(session, DemoParams(customers=300, seed=5))
        session.commit()
    yield migrated_engine
    truncate_all(migrated_engine)


def signed_in(engine: Engine, username: str) -> TestClient:
    """A client signed in as a demo account."""
    client = TestClient(create_app(engine))
    assert login(client, username, password_of(username)).status_code == 303
    return client


def nav_links(html: str) -> list[str]:
    """The hrefs of the top navigation."""
    match = NAV_LINK.search(html)
    assert match, "page has no nav"
    return HREF.findall(match.group(1))


@pytest.mark.parametrize("username", USERNAMES)
def test_every_nav_link_opens_for_every_demo_role(demo_engine: Engine, username: str) -> None:
    with signed_in(demo_engine, username) as client:
        links = nav_links(client.get("/").text)
        assert "/" in links and "/customers" in links
        for path in links:
            assert client.get(path).status_code == 200, (username, path)
        # Every registered page the nav leaves out is refused, not merely hidden.
        for entry in _NAV.values():
            if entry.path not in links:
                assert client.get(entry.path).status_code == 403, (username, entry.path)


def test_unit_scope_manager_sees_no_import(demo_engine: Engine) -> None:
    with session_factory(demo_engine)() as session:
        store = session.scalar(select(Account).where(Account.username == "store"))
        assert store is not None and store.permission_role == "manager" and store.data_scope == "unit"
    with signed_in(demo_engine, "store") as client:
        assert "/imports" not in nav_links(client.get("/").text)
        assert client.get("/imports").status_code == 403


def test_nav_entries_follow_role_and_scope() -> None:
    def actor(role: PermissionRole, scope: DataScope) -> Actor:
        return Actor(account_id=1, username="x", role=role, scope=scope)

    keys = {e.key for e in nav_entries(actor(PermissionRole.manager, DataScope.all))}
    assert "imports" in keys
    keys = {e.key for e in nav_entries(actor(PermissionRole.manager, DataScope.unit))}
    assert "imports" not in keys and "customers" in keys
    assert nav_entries(None) == []


TAG = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.S)
# Every code family the customer pages show; none may reach the zh page text untranslated.
SHOWN_CODES = (
    AcquisitionSource,
    Channel,
    IdentityKind,
    LeaveReason,
    LifecycleStage,
    MessageDirection,
    OrderStatus,
    TaskStatus,
)


def page_text(html: str) -> str:
    """What a reader sees: the markup without tags, scripts and attribute values."""
    return html_lib.unescape(TAG.sub(" ", html))


def raw_codes(text: str) -> set[str]:
    """The enum codes that appear as words in text."""
    codes = {member.value for family in SHOWN_CODES for member in family} | set(LABELS["msg_type"])
    # Identifier-like tokens stay whole: "cc-referral-store-01" is a live-code id, not the code "store".
    return set(re.findall(r"[A-Za-z0-9_.@-]+", text)) & codes


def _showcase(engine: Engine) -> list[int]:
    """Customers whose 360 shows each kind of code: refunds, departures, every direction, tasks."""
    with session_factory(engine)() as s:
        picks = [
            s.scalar(select(func.min(Order.customer_id)).where(Order.status == status))
            for status in OrderStatus
        ]
        picks += [
            s.scalar(
                select(func.min(ChannelMembership.customer_id)).where(ChannelMembership.leave_reason == r)
            )
            for r in LeaveReason
        ]
        picks += [
            s.scalar(select(func.min(ChatMessage.customer_id)).where(ChatMessage.direction == d))
            for d in MessageDirection
        ]
        picks.append(s.scalar(select(func.min(StaffTask.customer_id))))
        picks.append(s.scalar(select(func.max(CustomerIdentity.customer_id))))
    return sorted({p for p in picks if p is not None})


def test_customer_pages_show_no_raw_codes_in_chinese(demo_engine: Engine) -> None:
    ids = _showcase(demo_engine)
    assert len(ids) >= 5
    with signed_in(demo_engine, "admin") as client:
        for path in ["/customers", *(f"/customers/{i}" for i in ids)]:
            response = client.get(path)
            assert response.status_code == 200, path
            assert raw_codes(page_text(response.text)) == set(), path
        # The labels are really there: the latest order of a refunded-order customer reads 已退款.
        with session_factory(demo_engine)() as s:
            refunded = s.scalar(
                select(Order.customer_id)
                .where(Order.status == OrderStatus.refunded)
                .order_by(Order.paid_at.desc())
            )
        text = page_text(client.get(f"/customers/{refunded}").text)
        assert "已退款" in text


def test_the_check_catches_a_raw_code() -> None:
    assert raw_codes(page_text("<td>partially_refunded</td><td title='paid'>已支付</td>")) == {
        "partially_refunded"
    }


def test_every_enum_value_has_a_label() -> None:
    for family in SHOWN_CODES:
        for member in family:
            assert label_msgid(member) is not None, member
