"""The 概览 overview page: who may open it, the htmx fragment, and figures that match the service."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from siyu.db.engine import session_factory
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.reports.schemas import OverviewFilters
from siyu.reports.service import build_overview
from tests.reports.dataset import FIRST, LAST, build
from tests.web.conftest import MakeAccount, login

URL = f"/overview?first={FIRST.isoformat()}&last={LAST.isoformat()}"


def _brand(engine: Engine) -> None:
    with session_factory(engine)() as s:
        build(s)
        s.commit()


def _cell(html: str, table: str, key: str) -> str:
    section = html.split(f'id="{table}"', 1)[1]
    match = re.search(rf'data-key="{key}"[^>]*>([^<]*)<', section)
    assert match, (table, key)
    return match.group(1).strip()


def test_lead_sees_the_figures_of_the_service(
    client: TestClient, engine: Engine, make_account: MakeAccount
) -> None:
    _brand(engine)
    make_account("lead", "private_domain_lead")
    assert login(client, "lead").status_code == 303
    response = client.get(URL)
    assert response.status_code == 200, response.text
    html = response.text
    assert "<html" in html and 'href="/overview"' in html
    with session_factory(engine)() as s:
        overview = build_overview(s, SYSTEM_ACTOR, OverviewFilters(FIRST, LAST))
    assert _cell(html, "present-now", "total") == str(overview.present_total)
    assert _cell(html, "present-now", "wecom") == str(overview.present_by_channel["wecom"])
    assert _cell(html, "new-by-source", "total") == str(sum(overview.new_by_source.values()))
    assert f'data-fen="{overview.gmv_total_fen}"' in html
    # Each chart carries a parseable ECharts option (CSP: JSON data, no inline script).
    options = re.findall(r'<script type="application/json">(.*?)</script>', html, re.S)
    assert len(options) == 4
    assert all("series" in json.loads(o) for o in options)


def test_htmx_filter_returns_only_the_fragment(
    client: TestClient, engine: Engine, make_account: MakeAccount
) -> None:
    _brand(engine)
    make_account("ana", "analyst")
    login(client, "ana")
    response = client.get(URL + "&unit=", headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.text.strip()
    assert body.startswith('<div id="overview-body">')
    assert "<html" not in body and "overview-filters" not in body


def test_guide_is_refused(client: TestClient, engine: Engine, make_account: MakeAccount) -> None:
    _brand(engine)
    make_account("g", "guide", scope="self", staff_code="S1")
    login(client, "g")
    assert client.get("/overview").status_code == 403
    assert 'href="/overview"' not in client.get("/").text


def test_region_manager_cannot_filter_to_another_region(
    client: TestClient, engine: Engine, make_account: MakeAccount
) -> None:
    _brand(engine)
    make_account("m", "manager", scope="subtree", unit_code="R1")
    login(client, "m")
    page = client.get(URL)
    assert page.status_code == 200
    assert "Store ST3" not in page.text
    other = re.search(r'<option value="(\d+)"[^>]*>[^<]*Store ST1', page.text)
    assert other
    assert client.get(URL + f"&unit={other.group(1)}").status_code == 200
    assert client.get(URL + "&unit=999999").status_code == 404
    assert client.get("/overview?first=2026-13-01").status_code in (400, 422)


def test_page_speaks_chinese_by_default_and_english_on_request(
    client: TestClient, make_account: MakeAccount
) -> None:
    make_account("lead", "private_domain_lead")
    login(client, "lead")
    zh = client.get("/overview").text
    assert "概览" in zh and "私域占比" in zh and "分渠道留存" in zh
    token = re.search(r'name="csrf_token" value="([^"]+)"', zh)
    assert token
    client.post("/lang", data={"lang": "en", "next": "/overview", "csrf_token": token.group(1)})
    en = client.get("/overview").text
    assert "Private-domain share" in en and "私域占比" not in en
