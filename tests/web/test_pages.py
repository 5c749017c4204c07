"""The layout, fragments for htmx, navigation, error pages and toasts."""

from __future__ import annotations

from fastapi.testclient import TestClient

from siyu.org.permissions import Actor, DataScope, PermissionRole
from siyu.web.render import environment, nav_entries, register_nav, render_block
from tests.web.conftest import MakeAccount, login


def _actor(role: PermissionRole) -> Actor:
    return Actor(account_id=1, username="x", role=role, scope=DataScope.all)


def test_layout_shows_viewer_nav_and_toast_container(admin_client: TestClient) -> None:
    html = admin_client.get("/").text
    assert 'id="toasts"' in html
    assert 'hx-boost="true"' in html
    assert "Root Admin" in html and "管理员" in html
    assert 'action="/logout"' in html and 'action="/lang"' in html
    assert '<script src="/static/vendor/htmx.min.js"' in html
    assert "cdn" not in html.lower()


def test_nav_lists_only_what_the_role_may_open(client: TestClient, make_account: MakeAccount) -> None:
    make_account("g", "guide")
    login(client, "g")
    html = client.get("/").text
    assert 'href="/admin/accounts"' not in html
    assert {e.key for e in nav_entries(_actor(PermissionRole.guide))} >= {"home"}
    assert "accounts" not in {e.key for e in nav_entries(_actor(PermissionRole.guide))}
    assert "accounts" in {e.key for e in nav_entries(_actor(PermissionRole.admin))}


def test_registered_pages_join_the_nav() -> None:
    register_nav("zz-test", "Home", "/zz-test", order=999, roles=[PermissionRole.analyst])
    try:
        assert "zz-test" in {e.key for e in nav_entries(_actor(PermissionRole.analyst))}
        assert "zz-test" not in {e.key for e in nav_entries(_actor(PermissionRole.guide))}
    finally:
        from siyu.web import render

        render._NAV.pop("zz-test")


def test_htmx_request_gets_the_content_block(admin_client: TestClient) -> None:
    response = admin_client.get("/admin/accounts", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'id="accounts"' in response.text
    assert "HX-Request" in response.headers["vary"]


def test_boosted_navigation_gets_the_whole_page(admin_client: TestClient) -> None:
    response = admin_client.get("/admin/accounts", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in response.text


def test_render_block_renders_one_block() -> None:
    template = environment.get_template("_toasts.html")
    html = render_block(template, "toasts", {"toasts": [("error", "<b>x</b>")], "locale": "en"})
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "toast-error" in html


def test_unknown_page_is_an_html_404(admin_client: TestClient) -> None:
    response = admin_client.get("/no/such/page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "此地址没有页面" in response.text
    assert "Root Admin" in response.text  # the layout still knows who is looking


def test_htmx_error_is_a_toast(admin_client: TestClient) -> None:
    response = admin_client.get("/no/such/page", headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert response.headers["HX-Retarget"] == "#toasts"
    assert "<html" not in response.text and "toast-error" in response.text


def test_htmx_request_after_sign_out_redirects_the_page(client: TestClient) -> None:
    response = client.get(
        "/admin/accounts",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/admin/accounts?q=1"},
        follow_redirects=False,
    )
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login?next=%2Fadmin%2Faccounts%3Fq%3D1"


def test_api_errors_stay_json(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_static_assets_are_local(client: TestClient) -> None:
    assert client.get("/static/siyu.css").status_code == 200
    assert client.get("/static/siyu.js").status_code == 200


def test_only_the_current_page_is_marked_active(admin_client: TestClient) -> None:
    html = admin_client.get("/admin/accounts").text
    assert 'href="/admin/accounts" class="active"' in html
    assert 'href="/" class="active"' not in html
    assert 'href="/" class="active"' in admin_client.get("/").text
