"""Sign-in, sign-out, lock-out, session lifetime and session fixation."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update

from siyu.db.engine import session_factory
from siyu.db.types import utcnow
from siyu.models import Account, AuditLog, LoginThrottle, WebSession
from siyu.web.services.login import MAX_FAILURES
from siyu.web.services.sessions import session_id
from tests.web.conftest import PASSWORD, MakeAccount, csrf_from, login, page_token


def _count(engine: Engine, model: type) -> int:
    with session_factory(engine)() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def _account(engine: Engine, username: str) -> Account:
    with session_factory(engine)() as s:
        account = s.scalar(select(Account).where(Account.username == username))
        assert account is not None
        return account


def test_anonymous_is_sent_to_login_with_next(client: TestClient) -> None:
    response = client.get("/admin/accounts?x=1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fadmin%2Faccounts%3Fx%3D1"
    page = client.get(response.headers["location"])
    assert 'name="next" value="/admin/accounts?x=1"' in page.text


def test_login_success_lands_on_brand_summary(client: TestClient, make_account: MakeAccount) -> None:
    make_account("alice", "analyst", display_name="Alice Analyst")
    response = login(client, "alice")
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert 'id="customers">0<' in home.text
    assert "Alice Analyst" in home.text
    assert "分析师" in home.text  # role shown, Chinese by default
    assert "全部" in home.text  # data scope shown


def test_login_redirects_to_next(client: TestClient, make_account: MakeAccount) -> None:
    make_account("root")
    response = login(client, "root", next="/admin/accounts?page=2")
    assert response.headers["location"] == "/admin/accounts?page=2"


def test_wrong_password_and_unknown_user_read_the_same(client: TestClient, make_account: MakeAccount) -> None:
    make_account("alice")
    wrong = login(client, "alice", "not-the-password")
    unknown = login(client, "nobody-here", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码错误" in wrong.text
    message = [line for line in wrong.text.splitlines() if "login-error" in line]
    assert message == [line for line in unknown.text.splitlines() if "login-error" in line]
    assert "siyu_session" not in wrong.headers.get("set-cookie", "")


def test_lock_out_after_repeated_failures(
    client: TestClient, engine: Engine, make_account: MakeAccount
) -> None:
    make_account("alice")
    for attempt in range(MAX_FAILURES - 1):
        response = login(client, "alice", f"wrong-{attempt}")
        assert "用户名或密码错误" in response.text
    response = login(client, "alice", "wrong-last")
    assert response.status_code == 401
    assert "登录已锁定至" in response.text
    account = _account(engine, "alice")
    assert account.locked_until is not None
    assert account.locked_until > utcnow() + timedelta(minutes=14)
    # The right password does not open a locked account either.
    response = login(client, "alice", PASSWORD)
    assert response.status_code == 401
    assert "登录已锁定至" in response.text
    with session_factory(engine)() as s:
        actions = list(s.scalars(select(AuditLog.action).where(AuditLog.account_id == account.id)))
    assert actions.count("auth.login_failed") == MAX_FAILURES


def test_lock_expires_and_success_resets_the_counter(
    client: TestClient, engine: Engine, make_account: MakeAccount
) -> None:
    make_account("alice")
    for attempt in range(MAX_FAILURES):
        login(client, "alice", f"wrong-{attempt}")
    with session_factory(engine)() as s:
        s.execute(
            update(Account)
            .where(Account.username == "alice")
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )
        s.commit()
    login(client, "alice", "wrong-again")
    assert _account(engine, "alice").failed_logins == 1
    assert login(client, "alice").status_code == 303
    account = _account(engine, "alice")
    assert account.failed_logins == 0
    assert account.locked_until is None


def test_unknown_usernames_lock_out_too(client: TestClient, engine: Engine) -> None:
    for attempt in range(MAX_FAILURES - 1):
        assert "用户名或密码错误" in login(client, "ghost", f"wrong-{attempt}").text
    assert "登录已锁定至" in login(client, "ghost", "wrong").text
    assert _count(engine, LoginThrottle) == 1


def test_disabled_account_cannot_sign_in(
    client: TestClient, engine: Engine, make_account: MakeAccount
) -> None:
    make_account("alice")
    with session_factory(engine)() as s:
        s.execute(update(Account).where(Account.username == "alice").values(active=False))
        s.commit()
    assert "用户名或密码错误" in login(client, "alice", "wrong-password").text
    response = login(client, "alice")
    assert response.status_code == 401
    assert "此账号已停用" in response.text


def test_logout_kills_the_session(client: TestClient, engine: Engine, make_account: MakeAccount) -> None:
    make_account("alice")
    login(client, "alice")
    stolen = client.cookies["siyu_session"]
    token = page_token(client)
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert _count(engine, WebSession) == 0
    # Replaying the old cookie gets nowhere: the server forgot it.
    client.cookies.set("siyu_session", stolen)
    assert client.get("/", follow_redirects=False).status_code == 303


def test_sign_in_and_sign_out_are_audited(
    client: TestClient, engine: Engine, make_account: MakeAccount
) -> None:
    account = make_account("alice")
    login(client, "alice", "wrong-password")
    login(client, "alice")
    client.post("/logout", data={"csrf_token": page_token(client)}, follow_redirects=False)
    # A second sign-out without a session has nobody to attribute: nothing more is written.
    client.post("/logout", data={"csrf_token": page_token(client, "/login")}, follow_redirects=False)
    with session_factory(engine)() as s:
        rows = s.execute(
            select(AuditLog.action, AuditLog.target_id)
            .where(AuditLog.action.like("auth.%"))
            .order_by(AuditLog.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("auth.login_failed", account.id),
        ("auth.login", account.id),
        ("auth.logout", account.id),
    ]


def _issued(response: object) -> str:
    headers = response.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    value = next(h for h in headers if h.startswith("siyu_session="))
    return value.split(";", 1)[0].split("=", 1)[1]


def test_session_fixation_is_impossible(
    client: TestClient, engine: Engine, make_account: MakeAccount
) -> None:
    make_account("alice")
    planted = "attacker-chosen-session-value"
    client.cookies.set("siyu_session", planted, domain="testserver.local")
    response = login(client, "alice")
    assert client.get("/", follow_redirects=False).status_code == 200
    issued = _issued(response)
    assert issued != planted
    with session_factory(engine)() as s:
        ids = set(s.scalars(select(WebSession.id)))
    assert ids == {session_id(issued)}
    # Signing in again (e.g. as someone else on a shared browser) also ends the old session.
    make_account("bob")
    again = _issued(login(client, "bob"))
    assert again != issued
    with session_factory(engine)() as s:
        assert set(s.scalars(select(WebSession.id))) == {session_id(again)}


def test_session_row_stores_only_a_hash(
    client: TestClient, engine: Engine, make_account: MakeAccount
) -> None:
    make_account("alice")
    login(client, "alice")
    with session_factory(engine)() as s:
        row = s.scalars(select(WebSession)).one()
    assert row.id != client.cookies["siyu_session"]
    assert row.id == session_id(client.cookies["siyu_session"])
    assert row.user_agent == "testclient"


def test_idle_session_expires(client: TestClient, engine: Engine, make_account: MakeAccount) -> None:
    make_account("alice")
    login(client, "alice")
    assert client.get("/", follow_redirects=False).status_code == 200
    with session_factory(engine)() as s:
        s.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
        s.commit()
    assert client.get("/", follow_redirects=False).status_code == 303
    assert _count(engine, WebSession) == 0


def test_signed_in_visitor_skips_the_login_form(client: TestClient, make_account: MakeAccount) -> None:
    make_account("alice")
    login(client, "alice")
    response = client.get("/login?next=/admin/accounts", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/accounts"


def test_login_form_has_a_token(client: TestClient) -> None:
    page = client.get("/login")
    assert csrf_from(page.text) == client.cookies["siyu_csrf"]
