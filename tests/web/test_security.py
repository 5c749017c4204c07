"""CSRF, cookie flags, redirects that stay on the site, escaping and security headers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from siyu.web.auth import safe_next
from tests.web.conftest import MakeAccount, csrf_from, login, page_token


def _set_cookie_headers(response: object) -> list[str]:
    return response.headers.get_list("set-cookie")  # type: ignore[attr-defined]


def _cookie(response: object, name: str) -> str:
    found = [h for h in _set_cookie_headers(response) if h.startswith(f"{name}=")]
    assert found, f"no {name} cookie set"
    return found[0].lower()


def test_login_without_csrf_token_is_rejected(client: TestClient, make_account: MakeAccount) -> None:
    make_account("alice")
    client.get("/login")
    response = client.post("/login", data={"username": "alice", "password": "correct-horse-1"})
    assert response.status_code == 403
    assert "表单已过期" in response.text
    assert "siyu_session" not in client.cookies


def test_login_with_wrong_csrf_token_is_rejected(client: TestClient, make_account: MakeAccount) -> None:
    make_account("alice")
    client.get("/login")
    data = {"username": "alice", "password": "correct-horse-1", "csrf_token": "forged"}
    assert client.post("/login", data=data).status_code == 403


def test_login_token_must_match_this_browsers_cookie(client: TestClient, make_account: MakeAccount) -> None:
    make_account("alice")
    token = csrf_from(client.get("/login").text)
    client.cookies.clear()  # an attacker's page has a token but not the victim's cookie
    data = {"username": "alice", "password": "correct-horse-1", "csrf_token": token}
    assert client.post("/login", data=data).status_code == 403


def test_signed_in_forms_need_the_session_token(admin_client: TestClient) -> None:
    missing = admin_client.post("/lang", data={"lang": "en"})
    assert missing.status_code == 403
    wrong = admin_client.post("/logout", data={"csrf_token": "nope"})
    assert wrong.status_code == 403
    # The pre-session token from before sign-in is no longer good enough.
    stale = admin_client.post(
        "/admin/accounts", data={"csrf_token": admin_client.cookies.get("siyu_csrf", "x")}
    )
    assert stale.status_code == 403
    assert admin_client.get("/", follow_redirects=False).status_code == 200  # still signed in


def test_htmx_posts_need_the_header(admin_client: TestClient, make_account: MakeAccount) -> None:
    target = make_account("bob", "guide", scope="all")
    headers = {"HX-Request": "true", "X-CSRF-Token": "forged"}
    response = admin_client.post(f"/admin/accounts/{target.id}/disable", headers=headers)
    assert response.status_code == 403
    assert response.headers["HX-Retarget"] == "#toasts"
    assert response.headers["HX-Reswap"] == "beforeend"
    assert "<html" not in response.text and "toast-error" in response.text
    headers["X-CSRF-Token"] = page_token(admin_client)
    response = admin_client.post(f"/admin/accounts/{target.id}/disable", headers=headers)
    assert response.status_code == 200
    assert response.text.lstrip().startswith(f'<tr id="account-{target.id}"')


def test_the_body_token_names_the_header_too(admin_client: TestClient) -> None:
    page = admin_client.get("/").text
    token = csrf_from(page)
    assert f"hx-headers='{{&#34;X-CSRF-Token&#34;: &#34;{token}&#34;}}'" in page


def test_unknown_paths_reject_unsafe_methods_without_token(client: TestClient) -> None:
    assert client.post("/no-such-page").status_code == 403
    assert client.delete("/admin/accounts/1").status_code == 403


def test_api_is_not_subject_to_csrf(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post("/api/v1/no-such-endpoint", headers=auth)
    assert response.status_code in (404, 405)
    assert response.headers["content-type"].startswith("application/json")


def test_cookie_flags_over_http(client: TestClient, make_account: MakeAccount) -> None:
    make_account("alice")
    page = client.get("/login")
    pre = _cookie(page, "siyu_csrf")
    assert "httponly" in pre and "samesite=lax" in pre and "secure" not in pre
    session = _cookie(login(client, "alice"), "siyu_session")
    assert "httponly" in session
    assert "samesite=lax" in session
    assert "path=/" in session
    assert "secure" not in session


def test_cookie_flags_over_https(https_client: TestClient, make_account: MakeAccount) -> None:
    make_account("alice")
    assert "secure" in _cookie(https_client.get("/login"), "siyu_csrf")
    session = _cookie(login(https_client, "alice"), "siyu_session")
    assert "secure" in session and "httponly" in session and "samesite=lax" in session


def test_forwarded_https_sets_secure(client: TestClient, make_account: MakeAccount) -> None:
    make_account("alice")
    page = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "secure" in _cookie(page, "siyu_csrf")


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/path",
        "/\\evil.example",
        "\\\\evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
        "/ok\r\nSet-Cookie: x=1",
        "evil.example",
        "",
        "/%0d%0a",
    ],
)
def test_next_is_only_ever_a_local_path(client: TestClient, make_account: MakeAccount, target: str) -> None:
    expected = safe_next(target)
    assert expected in ("/", "/%0d%0a")
    make_account("alice")
    response = login(client, "alice", next=target)
    assert response.status_code == 303
    assert response.headers["location"] == expected


def test_local_next_paths_are_kept() -> None:
    assert safe_next("/admin/accounts?x=1#top") == "/admin/accounts?x=1#top"
    assert safe_next("/customers/42") == "/customers/42"


def test_display_names_are_escaped(client: TestClient, make_account: MakeAccount) -> None:
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    make_account("mallory", "admin", display_name=evil)
    login(client, "mallory")
    for path in ("/", "/admin/accounts"):
        html = client.get(path).text
        assert evil not in html
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


def test_username_echo_on_failed_login_is_escaped(client: TestClient) -> None:
    evil = '"><script>alert(1)</script>'
    html = login(client, evil, "whatever-pass").text
    assert "<script>alert(1)</script>" not in html


def test_security_headers_on_pages_not_api(client: TestClient) -> None:
    page = client.get("/login")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    api = client.get("/api/v1/openapi.json")
    assert "content-security-policy" not in api.headers
