"""The account administration page: who may open it, and every write it offers (all audited)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from siyu.db.engine import session_factory
from siyu.models import Account, AuditLog, WebSession
from siyu.web.services.login import MAX_FAILURES
from tests.web.conftest import PASSWORD, MakeAccount, login, page_token


def _audit_actions(engine: Engine) -> list[str]:
    with session_factory(engine)() as s:
        return list(s.scalars(select(AuditLog.action).order_by(AuditLog.id)))


def _get(engine: Engine, username: str) -> Account:
    with session_factory(engine)() as s:
        account = s.scalar(select(Account).where(Account.username == username))
        assert account is not None
        return account


def test_admin_sees_the_accounts(admin_client: TestClient, make_account: MakeAccount, store: str) -> None:
    make_account("guide1", "guide", scope="self", staff_code="S1")
    response = admin_client.get("/admin/accounts")
    assert response.status_code == 200
    html = response.text
    assert "guide1" in html and "root" in html
    assert "导购" in html and "本人客户" in html
    assert "上海南京路店" in html  # the scope unit, from the staff member's store
    assert 'href="/admin/accounts"' in html  # in the navigation


@pytest.mark.parametrize("role", ["private_domain_lead", "manager", "operator", "guide", "analyst"])
def test_other_roles_may_not_open_it(client: TestClient, make_account: MakeAccount, role: str) -> None:
    make_account("someone", role)
    login(client, "someone")
    assert client.get("/admin/accounts").status_code == 403
    assert 'href="/admin/accounts"' not in client.get("/").text
    token = page_token(client)
    response = client.post("/admin/accounts/1/unlock", data={"csrf_token": token})
    assert response.status_code == 403


def test_create_account(admin_client: TestClient, engine: Engine, store: str) -> None:
    token = page_token(admin_client, "/admin/accounts")
    form = {
        "csrf_token": token,
        "username": "mgr.east",
        "display_name": "东区经理",
        "password": "long-enough-1",
        "role": "manager",
        "scope": "subtree",
        "unit_code": "R1",
    }
    response = admin_client.post("/admin/accounts", data=form, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/accounts?notice=created"
    page = admin_client.get(response.headers["location"]).text
    assert "账号已创建" in page and "mgr.east" in page
    created = _get(engine, "mgr.east")
    assert (created.permission_role, created.data_scope) == ("manager", "subtree")
    assert "account.create" in _audit_actions(engine)
    admin_client.cookies.clear()
    assert login(admin_client, "mgr.east", "long-enough-1").status_code == 303


def test_create_account_shows_errors_next_to_fields(admin_client: TestClient, engine: Engine) -> None:
    token = page_token(admin_client, "/admin/accounts")
    form = {"csrf_token": token, "username": "root", "password": "short", "role": "guide", "scope": "self"}
    response = admin_client.post("/admin/accounts", data=form)
    assert response.status_code == 422
    html = response.text
    assert 'id="error-username">该用户名已被占用' in html
    assert 'id="error-password">至少 8 个字符' in html
    assert 'id="error-staff_code">' in html
    assert 'value="root"' in html  # what was typed stays in the form
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Account)) == 1


def test_create_form_errors_as_htmx_fragment(admin_client: TestClient) -> None:
    headers = {"HX-Request": "true", "X-CSRF-Token": page_token(admin_client, "/admin/accounts")}
    form = {"username": "x", "password": "long-enough-1", "role": "admin", "scope": "all"}
    response = admin_client.post("/admin/accounts", data=form, headers=headers)
    assert response.status_code == 422
    assert response.text.lstrip().startswith('<section class="panel" id="create-account">')
    assert "<html" not in response.text


def test_disable_ends_sessions_and_enable_restores(
    admin_client: TestClient, engine: Engine, make_account: MakeAccount
) -> None:
    bob = make_account("bob", "guide", scope="all")
    other = TestClient(admin_client.app)
    assert login(other, "bob").status_code == 303
    token = page_token(admin_client, "/admin/accounts")
    response = admin_client.post(
        f"/admin/accounts/{bob.id}/disable", data={"csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303
    assert not _get(engine, "bob").active
    with session_factory(engine)() as s:
        assert (
            s.scalar(select(func.count()).select_from(WebSession).where(WebSession.account_id == bob.id)) == 0
        )
    assert other.get("/", follow_redirects=False).status_code == 303
    admin_client.post(f"/admin/accounts/{bob.id}/enable", data={"csrf_token": token})
    assert _get(engine, "bob").active
    assert login(other, "bob").status_code == 303
    assert _audit_actions(engine)[-3:-1] == ["account.disable", "account.enable"]


def test_admin_cannot_disable_themselves(admin_client: TestClient, engine: Engine) -> None:
    root = _get(engine, "root")
    token = page_token(admin_client, "/admin/accounts")
    response = admin_client.post(f"/admin/accounts/{root.id}/disable", data={"csrf_token": token})
    assert response.status_code == 409
    assert "不能停用自己的账号" in response.text
    htmx = admin_client.post(
        f"/admin/accounts/{root.id}/disable", headers={"HX-Request": "true", "X-CSRF-Token": token}
    )
    assert htmx.status_code == 409
    assert htmx.headers["HX-Retarget"] == "#toasts"
    assert _get(engine, "root").active


def test_unlock(admin_client: TestClient, engine: Engine, make_account: MakeAccount) -> None:
    make_account("bob", "guide", scope="all")
    other = TestClient(admin_client.app)
    for attempt in range(MAX_FAILURES):
        login(other, "bob", f"wrong-{attempt}")
    assert _get(engine, "bob").locked_until is not None
    assert "锁定至" in admin_client.get("/admin/accounts").text
    token = page_token(admin_client, "/admin/accounts")
    bob_id = _get(engine, "bob").id
    response = admin_client.post(
        f"/admin/accounts/{bob_id}/unlock", headers={"HX-Request": "true", "X-CSRF-Token": token}
    )
    assert response.status_code == 200
    assert "账号已解锁" in response.text  # out-of-band toast
    assert 'hx-swap-oob="beforeend"' in response.text
    bob = _get(engine, "bob")
    assert bob.locked_until is None and bob.failed_logins == 0
    assert login(other, "bob").status_code == 303
    assert "account.unlock" in _audit_actions(engine)


def test_reset_password(admin_client: TestClient, engine: Engine, make_account: MakeAccount) -> None:
    bob = make_account("bob", "guide", scope="all")
    other = TestClient(admin_client.app)
    login(other, "bob")
    page = admin_client.get(f"/admin/accounts/{bob.id}/password")
    assert page.status_code == 200 and "bob" in page.text
    token = page_token(admin_client, "/admin/accounts")
    short = admin_client.post(
        f"/admin/accounts/{bob.id}/password", data={"csrf_token": token, "password": "x"}
    )
    assert short.status_code == 422 and 'id="error-password"' in short.text
    response = admin_client.post(
        f"/admin/accounts/{bob.id}/password",
        data={"csrf_token": token, "password": "brand-new-pass"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert other.get("/", follow_redirects=False).status_code == 303  # bob was signed out
    assert login(other, "bob", PASSWORD).status_code == 401
    assert login(other, "bob", "brand-new-pass").status_code == 303
    assert "account.password_reset" in _audit_actions(engine)
    assert admin_client.get("/", follow_redirects=False).status_code == 200  # the admin stays in


def test_unknown_account_is_not_found(admin_client: TestClient) -> None:
    assert admin_client.get("/admin/accounts/999999/password").status_code == 404
    token = page_token(admin_client, "/admin/accounts")
    assert admin_client.post("/admin/accounts/999999/unlock", data={"csrf_token": token}).status_code == 404


def test_create_account_over_htmx_reloads_the_content(admin_client: TestClient, engine: Engine) -> None:
    headers = {"HX-Request": "true", "X-CSRF-Token": page_token(admin_client, "/admin/accounts")}
    form = {"username": "ana", "password": "long-enough-1", "role": "analyst", "scope": "all"}
    response = admin_client.post("/admin/accounts", data=form, headers=headers)
    assert response.status_code == 204
    assert json.loads(response.headers["HX-Location"]) == {
        "path": "/admin/accounts?notice=created",
        "target": "#content",
    }
    follow = admin_client.get("/admin/accounts?notice=created", headers={"HX-Request": "true"})
    assert "<html" not in follow.text and "ana" in follow.text
    assert 'hx-swap-oob="beforeend"' in follow.text and "账号已创建" in follow.text
    assert _get(engine, "ana").permission_role == "analyst"


def test_edit_access_changes_role_scope_and_unit(
    admin_client: TestClient, engine: Engine, make_account: MakeAccount, store: str
) -> None:
    guide = make_account("guide1", "guide", scope="self", staff_code="S1")
    page = admin_client.get(f"/admin/accounts/{guide.id}/edit")
    assert page.status_code == 200
    assert 'value="S1"' in page.text and 'value="ST1"' in page.text  # the current staff and unit
    form = {"csrf_token": page_token(admin_client), "role": "manager", "scope": "subtree", "unit_code": "R1"}
    response = admin_client.post(f"/admin/accounts/{guide.id}/edit", data=form, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/accounts?notice=updated"
    after = _get(engine, "guide1")
    assert (after.permission_role, after.data_scope, after.staff_id) == ("manager", "subtree", None)
    with session_factory(engine)() as s:
        row = s.execute(select(AuditLog).where(AuditLog.action == "account.update")).scalar_one()
    assert row.target_id == guide.id
    assert row.detail is not None
    assert (
        row.detail["from"]["permission_role"] == "guide" and row.detail["to"]["permission_role"] == "manager"
    )
    assert row.detail["to"]["scope_unit_id"] == after.scope_unit_id != guide.scope_unit_id
    assert "权限已更改" in admin_client.get("/admin/accounts?notice=updated").text


def test_edit_rejects_a_unit_scope_without_a_unit(
    admin_client: TestClient, engine: Engine, make_account: MakeAccount
) -> None:
    analyst = make_account("ana", "analyst")
    token = page_token(admin_client)
    form = {"csrf_token": token, "role": "manager", "scope": "unit", "unit_code": "", "staff_code": ""}
    response = admin_client.post(f"/admin/accounts/{analyst.id}/edit", data=form)
    assert response.status_code == 422
    assert 'id="error-unit_code"' in response.text and "需要" in response.text
    form = {"csrf_token": token, "role": "nobody", "scope": "all", "unit_code": "NOPE"}
    response = admin_client.post(f"/admin/accounts/{analyst.id}/edit", data=form)
    assert 'id="error-role"' in response.text and 'id="error-unit_code"' in response.text
    unchanged = _get(engine, "ana")
    assert (unchanged.permission_role, unchanged.data_scope) == ("analyst", "all")
    assert "account.update" not in _audit_actions(engine)


def test_edit_refuses_to_demote_yourself_and_needs_csrf(admin_client: TestClient, engine: Engine) -> None:
    me = _get(engine, "root")
    form = {"csrf_token": page_token(admin_client), "role": "analyst", "scope": "all"}
    response = admin_client.post(f"/admin/accounts/{me.id}/edit", data=form)
    assert response.status_code == 409
    assert _get(engine, "root").permission_role == "admin"
    del form["csrf_token"]
    assert admin_client.post(f"/admin/accounts/{me.id}/edit", data=form).status_code == 403


def test_edit_is_admin_only(client: TestClient, make_account: MakeAccount) -> None:
    target = make_account("ana", "analyst")
    make_account("lead", "private_domain_lead")
    login(client, "lead")
    assert client.get(f"/admin/accounts/{target.id}/edit").status_code == 403
    form = {"csrf_token": page_token(client), "role": "admin", "scope": "all"}
    assert client.post(f"/admin/accounts/{target.id}/edit", data=form).status_code == 403
