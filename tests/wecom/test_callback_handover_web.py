"""Handover through the REST API and the console pages, against the fake WeCom."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from fake_wecom.server import FakeServer
from siyu.app import create_app
from siyu.channels.wecom.client import WecomClient
from siyu.db.engine import session_factory
from siyu.models import AuditLog, HandoverTransfer, OrgUnit, Staff
from siyu.models.enums import OrgUnitKind
from siyu.models.wecom import TransferStatus
from siyu.org.accounts import create_account
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.org.tokens import create_token
from siyu.wecom.contacts import upsert_contacts
from siyu.wecom.credentials import save_app
from siyu.wecom.handover_views import router as handover_views

DAY = 86400
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture()
def world(engine: Engine, fake_wecom: FakeServer) -> dict[str, int]:
    corp = fake_wecom.corp
    for u in ("u1", "u2"):
        corp.add_staff(u)
    for i in range(3):
        corp.add_contact(f"客户{i}", external_userid=f"wm{i}")
        corp.add_follow("u1", f"wm{i}")
    out: dict[str, int] = {}
    with session_factory(engine)() as s:
        save_app(
            s,
            SYSTEM_ACTOR,
            corp_id=corp.corp_id,
            secret=corp.secret,
            callback_token="Tok1",
            aes_key="abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
            api_base_url=fake_wecom.base_url,
        )
        store = OrgUnit(kind=OrgUnitKind.store, code="S1", name="S1", path="/1/", depth=0)
        s.add(store)
        s.flush()
        for u in ("u1", "u2"):
            st = Staff(code=u, name="导购" + u, unit_id=store.id, wecom_userid=u)
            s.add(st)
            s.flush()
            out[u] = st.id
        with WecomClient(corp.corp_id, corp.secret, base_url=fake_wecom.base_url) as c:
            rows = [r for i in range(3) for r in c.get_external_contact(f"wm{i}").rows()]
        result = upsert_contacts(s, rows, datetime.now(UTC))
        out.update(result.customer_ids_by_external)
        create_account(s, username="boss", password="boss-pass-123", role="admin", scope="all")
        s.commit()
        TOKENS["boss"] = create_token(s, "boss", "tests")
        s.commit()
    return out


TOKENS: dict[str, str] = {}  # filled by the world fixture


@pytest.fixture()
def web(engine: Engine) -> Iterator[TestClient]:
    app = create_app(engine)
    if not any(getattr(r, "path", None) == "/wecom/handover" for r in app.routes):
        app.include_router(handover_views)  # until the lead mounts it
    with TestClient(app) as c:
        yield c


def test_api_flow(web: TestClient, world: dict[str, int], fake_wecom: FakeServer, engine: Engine) -> None:
    auth = {"Authorization": f"Bearer {TOKENS['boss']}"}
    r = web.get("/api/v1/wecom/handover/candidates", params={"staff_id": world["u1"]}, headers=auth)
    assert r.status_code == 200, r.text
    assert sorted(c["customer_id"] for c in r.json()) == sorted(world[f"wm{i}"] for i in range(3))
    body = {
        "kind": "onjob",
        "handover_staff_id": world["u1"],
        "takeover_staff_id": world["u2"],
        "customer_ids": [world["wm0"], world["wm1"]],
    }
    r = web.post("/api/v1/wecom/handover/batches", json=body, headers=auth)
    assert r.status_code == 201, r.text
    batch = r.json()
    assert batch["counts"]["requested"] == 2 and batch["total"] == 2 and len(batch["transfers"]) == 2
    fake_wecom.corp.advance(DAY + 60)
    r = web.post("/api/v1/wecom/handover/poll", headers=auth)
    assert r.status_code == 200 and r.json()["moved"] == 2 and r.json()["by_status"] == {"done": 2}
    with session_factory(engine)() as s:
        actions = list(s.scalars(select(AuditLog.action).where(AuditLog.action.like("wecom.handover.%"))))
        assert sorted(actions) == ["wecom.handover.poll", "wecom.handover.start"]
    listed = web.get("/api/v1/wecom/handover/batches", headers=auth).json()
    assert [b["counts"]["done"] for b in listed] == [2]
    # Not a customer of u1 any more: a second handover of wm0 from u1 is refused with a clear message.
    r = web.post(
        "/api/v1/wecom/handover/batches", json={**body, "customer_ids": [world["wm0"]]}, headers=auth
    )
    assert r.status_code == 422 and "not WeCom customers" in r.json()["message"]


def test_console_flow(web: TestClient, world: dict[str, int], engine: Engine) -> None:
    page = web.get("/login")
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    web.post(
        "/login", data={"username": "boss", "password": "boss-pass-123", "next": "/", "csrf_token": token}
    )
    page = web.get("/wecom/handover", params={"staff_id": world["u1"]})
    assert page.status_code == 200, page.text
    assert page.text.count('name="customer_ids"') == 3
    csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    r = web.post(
        "/wecom/handover",
        data={
            "csrf_token": csrf,
            "handover_staff_id": str(world["u1"]),
            "takeover_staff_id": str(world["u2"]),
            "kind": "onjob",
            "customer_ids": [str(world["wm2"])],
            "message": "",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    detail = web.get(r.headers["location"])
    assert detail.status_code == 200 and 'data-status="requested"' in detail.text
    with session_factory(engine)() as s:
        (t,) = s.scalars(select(HandoverTransfer)).all()
        assert (t.customer_id, t.status) == (world["wm2"], TransferStatus.requested)
    # Same member as takeover: the form re-renders with the reason.
    bad = web.post(
        "/wecom/handover",
        data={
            "csrf_token": csrf,
            "handover_staff_id": str(world["u1"]),
            "takeover_staff_id": str(world["u1"]),
            "kind": "onjob",
            "customer_ids": [str(world["wm1"])],
        },
    )
    assert bad.status_code == 422 and "form-error" in bad.text


def test_cli_handover_and_callbacks(
    cli_env: str, world: dict[str, int], fake_wecom: FakeServer, engine: Engine
) -> None:
    from typer.testing import CliRunner

    from siyu.cli import app

    runner = CliRunner()
    r = runner.invoke(app, ["wecom", "handover", "candidates", str(world["u1"])])
    assert r.exit_code == 0, r.output
    assert r.stdout.count("\n") == 3
    r = runner.invoke(
        app, ["wecom", "handover", "start", "--from", str(world["u1"]), "--to", str(world["u2"])]
    )
    assert r.exit_code == 0, r.output
    assert "3 requested, 0 blocked, 0 failed" in r.stdout
    fake_wecom.corp.advance(DAY + 60)
    r = runner.invoke(app, ["wecom", "handover", "poll"])
    assert r.exit_code == 0 and "3 moved" in r.stdout, r.output
    r = runner.invoke(app, ["wecom", "handover", "list"])
    assert "done=3" in r.stdout
    r = runner.invoke(app, ["wecom", "callbacks", "--process"])
    assert r.exit_code == 0 and "pending=0" in r.stdout, r.output
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(HandoverTransfer)) == 3
