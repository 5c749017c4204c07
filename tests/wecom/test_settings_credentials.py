"""WeCom credentials: sealed at rest, never echoed, admin only, audited; EncodingAESKey validation."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from siyu.config import get_settings
from siyu.db.engine import session_factory
from siyu.errors import Forbidden, Invalid
from siyu.models import AuditLog
from siyu.models.wecom import OFFICIAL_API_BASE_URL, WecomApp
from siyu.org.accounts import create_account
from siyu.org.permissions import SYSTEM_ACTOR, Actor, DataScope, PermissionRole
from siyu.org.tokens import create_token
from siyu.wecom.credentials import load_app, require_app, save_app, seal, unseal, validate_aes_key

AES = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters
SECRET = "s3cret-app-secret-Value"


@pytest.fixture()
def restore_settings() -> Iterator[None]:
    yield
    get_settings.cache_clear()


def test_seal_roundtrip_fresh_nonce_and_tamper() -> None:
    a, b = seal(SECRET), seal(SECRET)
    assert a != b and SECRET.encode() not in a
    assert unseal(a) == SECRET == unseal(b)
    damaged = a[:-1] + bytes([a[-1] ^ 1])
    with pytest.raises(Invalid, match="cannot unseal"):
        unseal(damaged)
    with pytest.raises(Invalid, match="malformed"):
        unseal(b"\x02" + a[1:])


def test_other_server_key_cannot_unseal(monkeypatch: pytest.MonkeyPatch, restore_settings: None) -> None:
    blob = seal(SECRET)
    monkeypatch.setenv("SIYU_SECRET_KEY", "another-key")
    get_settings.cache_clear()
    with pytest.raises(Invalid, match="SIYU_SECRET_KEY changed"):
        unseal(blob)


@pytest.mark.parametrize(
    ("value", "why"),
    [(AES[:-1], "43 characters"), (AES + "H", "43 characters"), (AES[:-1] + "!", "base64")],
)
def test_aes_key_validation(value: str, why: str) -> None:
    with pytest.raises(Invalid, match=why):
        validate_aes_key(value)
    assert validate_aes_key(f" {AES} ") == AES


def test_save_seals_keeps_blank_and_audits_without_values(session: Session) -> None:
    assert load_app(session) is None
    with pytest.raises(Invalid, match="WeCom is not configured"):
        require_app(session)
    with pytest.raises(Invalid, match="secret is required"):
        save_app(session, SYSTEM_ACTOR, corp_id="ww1", callback_token="tok", aes_key=AES)
    save_app(session, SYSTEM_ACTOR, corp_id="ww1", secret=SECRET, callback_token="tok", aes_key=AES)
    row = session.scalars(select(WecomApp)).one()
    assert SECRET.encode() not in row.secret_sealed and AES.encode() not in row.aes_key_sealed
    assert row.api_base_url == OFFICIAL_API_BASE_URL
    config = require_app(session)
    assert (config.corp_id, config.secret, config.aes_key) == ("ww1", SECRET, AES)
    assert SECRET not in repr(config) and AES not in repr(config)
    # A blank secret keeps the stored one; the base URL can point at a fake server.
    save_app(
        session,
        SYSTEM_ACTOR,
        corp_id="ww1",
        secret="",
        callback_token="tok2",
        api_base_url="http://x/cgi-bin",
    )
    config = require_app(session)
    assert (config.secret, config.callback_token, config.api_base_url) == (SECRET, "tok2", "http://x/cgi-bin")
    assert session.scalar(select(WecomApp.id).where(WecomApp.id != row.id)) is None  # still one row
    trail = session.scalars(select(AuditLog).where(AuditLog.action == "wecom.settings_saved")).all()
    assert len(trail) == 2
    assert all(SECRET not in json.dumps(a.detail) and AES not in json.dumps(a.detail) for a in trail)
    assert trail[1].detail is not None and set(trail[1].detail["changed"]) == {
        "callback_token",
        "api_base_url",
    }


def test_only_admin_may_save(session: Session) -> None:
    lead = Actor(
        account_id=None, username="lead", role=PermissionRole.private_domain_lead, scope=DataScope.all
    )
    with pytest.raises(Forbidden):
        save_app(session, lead, corp_id="ww1", secret=SECRET, callback_token="tok", aes_key=AES)


def _token(engine: Engine, username: str, role: str) -> dict[str, str]:
    with session_factory(engine)() as s:
        create_account(s, username=username, password="pass-word-1", role=role, scope="all")
        token = create_token(s, username, "tests")
        s.commit()
    return {"Authorization": f"Bearer {token}"}


def test_api_never_echoes_secrets_and_is_admin_only(client: TestClient, engine: Engine) -> None:
    admin = _token(engine, "boss", "admin")
    body = {"corp_id": "ww1", "secret": SECRET, "callback_token": "tok", "aes_key": AES}
    bad = client.put("/api/v1/wecom/settings", json={**body, "aes_key": "short"}, headers=admin)
    assert bad.status_code == 422 and "43 characters" in bad.text
    saved = client.put("/api/v1/wecom/settings", json=body, headers=admin)
    assert saved.status_code == 200, saved.text
    assert saved.json()["secret_set"] and saved.json()["aes_key_set"]
    shown = client.get("/api/v1/wecom/settings", headers=admin)
    assert SECRET not in shown.text and AES not in shown.text and shown.json()["corp_id"] == "ww1"
    operator = _token(engine, "op", "operator")
    assert client.get("/api/v1/wecom/settings", headers=operator).status_code == 403
    assert client.put("/api/v1/wecom/settings", json=body, headers=operator).status_code == 403
