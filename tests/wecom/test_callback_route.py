"""/wecom/callback: URL verification, signature/corp/freshness checks, idempotent storage of retries."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from wechatpy.enterprise.crypto import WeChatCrypto

from siyu.app import create_app
from siyu.db.engine import session_factory
from siyu.models.wecom import CallbackStatus, WecomCallbackEvent
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.wecom.callback_api import CALLBACK_PATH
from siyu.wecom.callback_api import router as callback_router
from siyu.wecom.credentials import save_app

CORP = "wwtestcorp"
TOKEN = "CallbackToken1"
AES = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def event_xml(corp: str = CORP, change: str = "del_follow_user", create_time: int = 1700000000) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{corp}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[change_external_contact]]></Event>"
        f"<ChangeType><![CDATA[{change}]]></ChangeType><UserID><![CDATA[nobody]]></UserID>"
        "<ExternalUserID><![CDATA[wmNOBODY]]></ExternalUserID></xml>"
    )


def signed_post(xml: str, ts: int | None = None, nonce: str = "n1") -> tuple[str, bytes]:
    """A POST built by wechatpy (independent of Siyu's crypto): (query string, body)."""
    stamp = str(ts if ts is not None else int(time.time()))
    envelope = WeChatCrypto(TOKEN, AES, CORP).encrypt_message(xml, nonce, stamp)
    sig = re.search(r"<MsgSignature><!\[CDATA\[(\w+)\]\]>", envelope)
    assert sig
    return f"msg_signature={sig.group(1)}&timestamp={stamp}&nonce={nonce}", envelope.encode("utf-8")


@pytest.fixture()
def app_client(engine: Engine) -> Iterator[TestClient]:
    with session_factory(engine)() as s:
        save_app(s, SYSTEM_ACTOR, corp_id=CORP, secret="s3cret", callback_token=TOKEN, aes_key=AES)
        s.commit()
    app = create_app(engine)
    if not any(getattr(r, "path", None) == CALLBACK_PATH for r in app.routes):
        app.include_router(callback_router)  # until the lead mounts it in create_app
    with TestClient(app) as c:
        yield c


def _rows(engine: Engine) -> list[WecomCallbackEvent]:
    with session_factory(engine)() as s:
        return list(s.scalars(select(WecomCallbackEvent)).all())


def test_url_verification_echoes_plaintext(app_client: TestClient) -> None:
    ts, nonce = str(int(time.time())), "99"
    oracle = WeChatCrypto(TOKEN, AES, CORP)
    envelope = oracle.encrypt_message("echo-1234567890", nonce, ts)
    echostr = re.search(r"<Encrypt><!\[CDATA\[(.+?)\]\]>", envelope).group(1)  # type: ignore[union-attr]
    sig = re.search(r"<MsgSignature><!\[CDATA\[(\w+)\]\]>", envelope).group(1)  # type: ignore[union-attr]
    params = {"msg_signature": sig, "timestamp": ts, "nonce": nonce, "echostr": echostr}
    r = app_client.get(CALLBACK_PATH, params=params)
    assert r.status_code == 200
    assert r.content == b"echo-1234567890"  # bare: no quotes, no newline
    bad = app_client.get(CALLBACK_PATH, params={**params, "msg_signature": "0" * 40})
    assert bad.status_code == 403
    assert "signature mismatch" in bad.text


def test_event_is_stored_once_and_processed(app_client: TestClient, engine: Engine) -> None:
    query, body = signed_post(event_xml())
    r = app_client.post(f"{CALLBACK_PATH}?{query}", content=body)
    assert (r.status_code, r.text) == (200, "success")
    # WeCom's retry of the same event (new nonce/timestamp, same event) is a no-op.
    query2, body2 = signed_post(event_xml(), nonce="n2")
    assert app_client.post(f"{CALLBACK_PATH}?{query2}", content=body2).text == "success"
    rows = _rows(engine)
    assert len(rows) == 1
    row = rows[0]
    assert (row.event, row.change_type, row.user_id, row.external_user_id) == (
        "change_external_contact",
        "del_follow_user",
        "nobody",
        "wmNOBODY",
    )
    assert row.payload["FromUserName"] == "sys"
    assert int(row.created_time.timestamp()) == 1700000000
    # The background task ran after the answer: unknown staff/contact → nothing to close, but done.
    assert (row.status, row.attempts) == (CallbackStatus.done, 1)
    # A different event (another CreateTime) is a new row.
    query3, body3 = signed_post(event_xml(create_time=1700000005))
    app_client.post(f"{CALLBACK_PATH}?{query3}", content=body3)
    assert len(_rows(engine)) == 2


def test_rejections_name_the_reason(app_client: TestClient, engine: Engine) -> None:
    query, body = signed_post(event_xml())
    tampered = query.replace("msg_signature=", "msg_signature=0")[: len(query)]
    r = app_client.post(f"{CALLBACK_PATH}?{tampered}", content=body)
    assert r.status_code == 403 and "signature" in r.text
    # Signed and encrypted for our corp, but the event names another corp.
    q2, b2 = signed_post(event_xml(corp="wwOTHER"))
    r = app_client.post(f"{CALLBACK_PATH}?{q2}", content=b2)
    assert r.status_code == 403 and "ToUserName" in r.text
    # A captured request replayed ten minutes later.
    q3, b3 = signed_post(event_xml(), ts=int(time.time()) - 600)
    r = app_client.post(f"{CALLBACK_PATH}?{q3}", content=b3)
    assert r.status_code == 403 and "timestamp" in r.text
    r = app_client.post(f"{CALLBACK_PATH}?{query}", content=b"<xml><nothing/></xml>")
    assert r.status_code == 403 and "Encrypt" in r.text
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(WecomCallbackEvent)) == 0


def test_unconfigured_answers_503(client: TestClient) -> None:
    app = client.app
    if not any(getattr(r, "path", None) == CALLBACK_PATH for r in app.routes):  # type: ignore[attr-defined]
        app.include_router(callback_router)  # type: ignore[attr-defined]
    query, body = signed_post(event_xml())
    r = client.post(f"{CALLBACK_PATH}?{query}", content=body)
    assert r.status_code == 503 and "/wecom/settings" in r.text


def test_oversized_body_is_refused(app_client: TestClient) -> None:
    query, _body = signed_post(event_xml())
    r = app_client.post(f"{CALLBACK_PATH}?{query}", content=b"x" * (256 * 1024 + 1))
    assert r.status_code == 413 and "exceeds" in r.text


def test_csrf_exemption_is_exactly_the_callback_path(app_client: TestClient) -> None:
    query, body = signed_post(event_xml(create_time=1700000100))
    assert app_client.post(f"{CALLBACK_PATH}?{query}", content=body).status_code == 200
    for path in ("/wecom/callbacks", "/wecom/callback/x", "/wecom/handover"):
        r = app_client.post(f"{path}?{query}", content=body)
        assert r.status_code == 403, path  # still CSRF-protected console paths


def test_inbox_page_and_retry(app_client: TestClient, engine: Engine) -> None:
    from siyu.org.accounts import create_account

    with session_factory(engine)() as s:
        create_account(s, username="lead", password="lead-pass-123", role="admin", scope="all")
        s.commit()
    for i in range(3):
        query, body = signed_post(event_xml(create_time=1700000200 + i), nonce=f"i{i}")
        app_client.post(f"{CALLBACK_PATH}?{query}", content=body)
    with session_factory(engine)() as s:  # pretend two of them failed for good
        ids = sorted(s.scalars(select(WecomCallbackEvent.id)))
        for event_id in ids[:2]:
            row = s.get_one(WecomCallbackEvent, event_id)
            row.status, row.attempts, row.error = CallbackStatus.failed, 5, "WecomUnreachable: boom"
        s.commit()
    page = app_client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    app_client.post(
        "/login", data={"username": "lead", "password": "lead-pass-123", "next": "/", "csrf_token": token}
    )
    page = app_client.get("/wecom/callbacks", params={"status": "failed"})
    assert page.status_code == 200, page.text
    assert page.text.count('data-status="failed"') == 2 and "boom" in page.text
    assert 'data-key="failed">failed: 2' in page.text and 'data-key="done">done: 1' in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = app_client.post("/wecom/callbacks/retry-failed", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    with session_factory(engine)() as s:
        rows = s.scalars(select(WecomCallbackEvent).where(WecomCallbackEvent.id.in_(ids[:2]))).all()
        assert {(r.status, r.attempts) for r in rows} == {(CallbackStatus.pending, 0)}
