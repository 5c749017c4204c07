"""Chinese by default, English on request; every message in the code has a Chinese translation."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from siyu.db.engine import session_factory
from siyu.models import Account, AuditLog
from siyu.web.catalog_tools import extract, missing
from siyu.web.i18n import negotiate, translations
from tests.web.conftest import MakeAccount, csrf_from, login, page_token


def test_every_message_has_a_chinese_translation() -> None:
    found = extract()
    assert "Wrong username or password." in found  # Python
    assert "Sign in to Siyu" in found  # templates
    assert missing("zh") == [], "run `python -m siyu.web.catalog_tools` and translate the new msgids"


def test_catalogs_translate() -> None:
    assert translations("zh").gettext("Sign in") == "登录"
    assert translations("en").gettext("Sign in") == "Sign in"
    assert translations("fr").gettext("Sign in") == "登录"  # unsupported → default


def test_accept_language_negotiation() -> None:
    assert negotiate(None) == "zh"
    assert negotiate("en-US,en;q=0.9") == "en"
    assert negotiate("fr-FR, en;q=0.5, zh-CN;q=0.8") == "zh"
    assert negotiate("zh-Hans-CN") == "zh"
    assert negotiate("de, fr") == "zh"
    assert negotiate("en;q=0, zh;q=0.1") == "zh"


def test_anonymous_pages_follow_accept_language(client: TestClient) -> None:
    assert "登录私域运营平台" in client.get("/login").text
    english = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Sign in to Siyu" in english.text
    assert '<html lang="en">' in english.text


def test_switch_language_anonymously(client: TestClient) -> None:
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/lang", data={"lang": "en", "next": "/login", "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert client.cookies["siyu_lang"] == "en"
    assert "Sign in to Siyu" in client.get("/login").text


def test_switch_language_signed_in_is_remembered(
    client: TestClient, engine: Engine, make_account: MakeAccount
) -> None:
    make_account("alice", "admin", display_name="Alice")
    login(client, "alice")
    assert "品牌概况" in client.get("/").text
    token = page_token(client)
    client.post("/lang", data={"lang": "en", "next": "/", "csrf_token": token})
    home = client.get("/").text
    assert "Brand summary" in home and "Administrator" in home
    with session_factory(engine)() as s:
        assert s.scalar(select(Account.locale).where(Account.username == "alice")) == "en"
        assert "account.locale" in set(s.scalars(select(AuditLog.action)))
    # A new browser without the cookie still gets the account's language after sign-in.
    fresh = TestClient(client.app)
    login(fresh, "alice")
    assert "Brand summary" in fresh.get("/").text


def test_unsupported_language_is_refused(client: TestClient) -> None:
    token = csrf_from(client.get("/login").text)
    response = client.post("/lang", data={"lang": "xx", "csrf_token": token})
    assert response.status_code == 422
    assert "不支持该语言" in response.text
