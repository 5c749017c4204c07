"""Console pages: the WeCom hub, settings (write-only secrets, connection test on the fake), channel codes."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from fake_wecom.server import FakeServer
from siyu.db.engine import session_factory
from siyu.models import OrgUnit, Staff
from siyu.models.wecom import ChannelCode, WecomApp
from tests.web.conftest import MakeAccount, login, make_account, page_token

__all__ = ["make_account"]  # the console fixture, shared from tests/web

AES = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"


def _admin(client: TestClient, make_account: MakeAccount) -> str:
    make_account("boss", "admin")
    assert login(client, "boss").status_code == 303
    return page_token(client, "/wecom/settings")


def _save(client: TestClient, token: str, fake: FakeServer, **over: str) -> int:
    form = {
        "csrf_token": token,
        "corp_id": fake.corp.corp_id,
        "agent_id": "1000002",
        "secret": fake.corp.secret,
        "callback_token": "tok123",
        "aes_key": AES,
        "api_base_url": fake.base_url,
        "enabled": "on",
        **over,
    }
    return client.post("/wecom/settings", data=form, follow_redirects=False).status_code


def test_settings_page_saves_tests_and_never_echoes(
    client: TestClient, make_account: MakeAccount, engine: Engine, fake_wecom: FakeServer
) -> None:
    token = _admin(client, make_account)
    assert _save(client, token, fake_wecom, aes_key="too-short") == 422
    assert _save(client, token, fake_wecom) == 303
    page = client.get("/wecom/settings").text
    assert fake_wecom.corp.secret not in page and AES not in page and "tok123" in page
    assert '<code id="callback-url">http://testserver/wecom/callback</code>' in page
    fake_wecom.corp.add_staff("u1")
    fake_wecom.corp.add_staff("u2")
    assert (
        client.post("/wecom/settings/test", data={"csrf_token": token}, follow_redirects=False).status_code
        == 303
    )
    with session_factory(engine)() as s:
        row = s.scalars(select(WecomApp)).one()
        assert row.last_test_ok is True and "2" in (row.last_test_message or "")
    assert fake_wecom.corp.call_counts()["gettoken"] >= 1
    # A wrong secret: the test fails with WeCom's answer, stored and shown (not an error page).
    assert _save(client, token, fake_wecom, secret="wrong-secret") == 303
    assert (
        client.post("/wecom/settings/test", data={"csrf_token": token}, follow_redirects=False).status_code
        == 303
    )
    with session_factory(engine)() as s:
        row = s.scalars(select(WecomApp)).one()
        assert row.last_test_ok is False and "40001" in (row.last_test_message or "")
    hub = client.get("/wecom").text
    assert "/wecom/channel-codes" in hub and "40001" in hub
    assert 'href="/wecom"' in hub  # the one nav entry
    assert "企业微信" in hub and "渠道活码" in hub  # Simplified Chinese is the default locale


def test_settings_page_is_admin_only(client: TestClient, make_account: MakeAccount) -> None:
    make_account("op", "operator")
    login(client, "op")
    assert client.get("/wecom/settings").status_code == 403
    assert client.get("/wecom").status_code == 200


def test_channel_code_pages(client: TestClient, make_account: MakeAccount, engine: Engine) -> None:
    with session_factory(engine)() as s:
        store = OrgUnit(kind="store", code="S1", name="静安店", path="/1/", depth=0)
        s.add(store)
        s.flush()
        staff = Staff(code="G1", name="小李", unit_id=store.id, wecom_userid="lee")
        s.add(staff)
        s.commit()
        staff_id, store_id = staff.id, store.id
    make_account("lead", "private_domain_lead")
    login(client, "lead")
    page = client.get("/wecom/channel-codes")
    assert page.status_code == 200 and "小李 (lee)" in page.text
    token = page_token(client, "/wecom/channel-codes")
    form = {
        "csrf_token": token,
        "code": "PARCEL_CARD",
        "name": "包裹卡",
        "staff_ids": str(staff_id),
        "store_id": str(store_id),
    }
    assert client.post("/wecom/channel-codes", data=form, follow_redirects=False).status_code == 303
    again = client.post("/wecom/channel-codes", data=form)
    assert again.status_code == 422 and "already exists" in again.text
    listed = client.get("/wecom/channel-codes").text
    row = re.search(r'<tr data-code="PARCEL_CARD">.*?</tr>', listed, re.S)
    assert row and 'data-key="adds">0<' in row.group(0)
    with session_factory(engine)() as s:
        code = s.scalars(select(ChannelCode)).one()
        assert (code.name, code.store_id, code.staff_ids, code.config_id) == (
            "包裹卡",
            store_id,
            [staff_id],
            None,
        )
    edit = {**form, "name": "包裹卡（新版）"}
    del edit["code"]
    assert (
        client.post(f"/wecom/channel-codes/{code.id}", data=edit, follow_redirects=False).status_code == 303
    )
    assert "包裹卡（新版）" in client.get(f"/wecom/channel-codes/{code.id}").text
    off = client.post(
        f"/wecom/channel-codes/{code.id}/deactivate", data={"csrf_token": token}, follow_redirects=False
    )
    assert off.status_code == 303
    with session_factory(engine)() as s:
        assert s.scalars(select(ChannelCode.active)).one() is False
