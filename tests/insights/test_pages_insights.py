"""The 用户洞察 console pages: every figure against a brute-force count over the inserted rows, per scope."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from siyu.db.engine import session_factory
from siyu.models import AuditLog
from tests.insights.console_data import (
    AS_OF,
    DAY_BEFORE,
    HISTORY_DAYS,
    MONTH_AGO,
    PASSWORD,
    SEGMENTS,
    Brand,
    build_brand,
)
from tests.web.conftest import login

SCOPES = {"admin": "all", "guide": "g1", "store": "sh01"}


@pytest.fixture()
def brand(engine: Engine) -> Brand:
    return build_brand(engine)


def signed_in(client: TestClient, username: str) -> TestClient:
    assert login(client, username, PASSWORD).status_code == 303
    return client


def section(html: str, element_id: str) -> str:
    """The markup from the element with id to the end of its table (or the next section)."""
    start = html.index(f'id="{element_id}"')
    end = html.find("</table>", start)
    return html[start : end if end != -1 else len(html)]


def row(html: str, attr: str, value: str) -> str:
    """The <tr> with attr="value"."""
    match = re.search(rf'<tr [^>]*{attr}="{re.escape(value)}"[^>]*>(.*?)</tr>', html, re.S)
    assert match, (attr, value)
    return match.group(1)


def key_cell(html: str, key: str) -> str:
    """The text of the cell with data-key=key (links and small print stripped)."""
    match = re.search(rf'data-key="{key}"[^>]*>(.*?)</td>', html, re.S)
    assert match, key
    return re.sub(r"<small>.*?</small>|<[^>]+>", "", match.group(1)).strip()


def test_rfm_table_reconciles_with_the_rows_for_each_scope(client: TestClient, brand: Brand) -> None:
    for username, scope in SCOPES.items():
        client.cookies.clear()
        html = signed_in(client, username).get("/insights").text
        ids = brand.scope_ids(scope)
        mine = [r for r in brand.insights if r["customer_id"] in ids and r["rfm_segment"]]
        table = section(html, "rfm-table")
        by_segment = Counter(r["rfm_segment"] for r in mine)
        assert by_segment, username
        for segment in SEGMENTS:
            if not by_segment[segment]:
                assert f'data-segment="{segment}"' not in table
                continue
            tr = row(table, "data-segment", segment)
            members = [r for r in mine if r["rfm_segment"] == segment]
            assert key_cell(tr, "customers") == str(len(members)), (username, segment)
            money = sum(r["monetary_fen"] for r in members)
            assert f'data-fen="{money}"' in tr
            assert key_cell(tr, "share") == f"{len(members) / len(mine) * 100:.1f}%"
            assert key_cell(tr, "recency") == f"{sum(r['recency_days'] for r in members) / len(members):.1f}"
            assert key_cell(tr, "frequency") == f"{sum(r['frequency'] for r in members) / len(members):.2f}"
            assert f'href="/insights/customers?rfm={segment}"' in tr
        assert key_cell(row(table, "id", "rfm-total"), "customers") == str(len(mine))


def test_the_definition_is_shown_beside_the_numbers(client: TestClient, brand: Brand) -> None:
    html = signed_in(client, "admin").get("/insights").text
    definition = section(html, "rfm-definition")
    assert "365" in definition and "八分类" in definition and "平均值" in definition
    cuts = section(html, "rfm-cuts")
    assert "40.5" in cuts and "2.2" in cuts and "350" in cuts  # 35000 fen = 350 yuan
    assert "2026-03-31" in section(html, "run")


def test_sizes_are_brand_wide_for_scope_all_and_scoped_from_snapshots_otherwise(
    client: TestClient, brand: Brand
) -> None:
    html = signed_in(client, "admin").get("/insights").text
    table = section(html, "sizes-table")
    for day, segment, customers, _money in brand.sizes:
        assert key_cell(row(table, "data-day", day.isoformat()), segment) == str(customers)
    client.cookies.clear()
    html = signed_in(client, "guide").get("/insights").text
    ids = brand.scope_ids("g1")
    table = section(html, "sizes-table")
    counts = Counter((d, seg) for d, cid, seg in brand.snapshots if cid in ids)
    for (day, segment), n in counts.items():
        assert key_cell(row(table, "data-day", day.isoformat()), segment) == str(n)
    assert "whole brand" not in html and "全品牌" not in html
    assert 'id="scope-note"' in html


def _expected_matrix(
    brand: Brand, ids: set[int], first: date, second: date
) -> Counter[tuple[str | None, str | None]]:
    a = {cid: seg for d, cid, seg in brand.snapshots if d == first and cid in ids}
    b = {cid: seg for d, cid, seg in brand.snapshots if d == second and cid in ids}
    return Counter((a.get(cid), b.get(cid)) for cid in set(a) | set(b))


@pytest.mark.parametrize("username", ["admin", "guide", "store"])
def test_movement_matrix_counts_pairs_of_snapshots(client: TestClient, brand: Brand, username: str) -> None:
    signed_in(client, username)
    ids = brand.scope_ids(SCOPES[username])
    for query, (first, second) in [
        ("", (DAY_BEFORE, AS_OF)),
        (f"?from={MONTH_AGO.isoformat()}&to={AS_OF.isoformat()}", (MONTH_AGO, AS_OF)),
    ]:
        html = client.get("/insights" + query).text
        table = section(html, "movement-table")
        assert f'data-from="{first.isoformat()}" data-to="{second.isoformat()}"' in table
        expected = _expected_matrix(brand, ids, first, second)
        shown = {
            (f or None, t or None): int(n)
            for f, body in re.findall(r'<tr data-from="([^"]*)">(.*?)</tr>', table, re.S)
            for t, n in re.findall(r'data-to="([^"]*)" data-n="(\d+)"', body)
        }
        assert {k: v for k, v in shown.items() if v} == dict(expected), (username, query)
        for f in {k[0] for k in expected}:
            total = sum(v for k, v in expected.items() if k[0] == f)
            assert key_cell(row(table, "data-from", f or ""), "total") == str(total)


def test_movement_fragment_and_unknown_day(client: TestClient, brand: Brand) -> None:
    signed_in(client, "admin")
    response = client.get(f"/insights?from={MONTH_AGO.isoformat()}", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.text.strip().startswith('<section class="panel" id="movement">')
    bad = client.get("/insights?from=2020-01-01")
    assert bad.status_code == 422
    assert "2020-01-01" in bad.text


@pytest.mark.parametrize("username", ["admin", "guide", "store"])
def test_lifecycle_counts_and_trend_are_scoped(client: TestClient, brand: Brand, username: str) -> None:
    html = signed_in(client, username).get("/insights").text
    ids = brand.scope_ids(SCOPES[username])
    stages = Counter(c["stage"] for c in brand.customers if c["id"] in ids)
    table = section(html, "lifecycle-table")
    for stage in ("new", "active", "sleeping", "lost", "recalled"):
        assert key_cell(table, stage) == str(stages[stage])
        assert f'href="/customers?stage={stage}"' in table
    assert key_cell(table, "total") == str(len(ids))
    first = AS_OF - timedelta(days=89)
    entries = Counter(
        (c["changed_on"], c["to_stage"].value)
        for c in brand.changes
        if c["customer_id"] in ids and first <= c["changed_on"] <= AS_OF
    )
    trend = section(html, "lifecycle-trend")
    for (day, stage), n in entries.items():
        assert key_cell(row(trend, "data-day", day.isoformat()), stage) == str(n)
    assert len(re.findall(r"<tr data-day=", trend)) == len({d for d, _s in entries})


def test_lifecycle_links_agree_with_the_customer_list(client: TestClient, brand: Brand) -> None:
    html = signed_in(client, "guide").get("/insights").text
    n = int(key_cell(section(html, "lifecycle-table"), "lost"))
    listing = client.get("/customers?stage=lost").text
    assert listing.count('name="customer_ids"') == n


def test_charts_carry_parseable_options(client: TestClient, brand: Brand) -> None:
    for path, count in [("/insights", 3), ("/insights/model", 2)]:
        html = signed_in(client, "admin").get(path).text
        options = re.findall(r'<script type="application/json">(.*?)</script>', html, re.S)
        assert len(options) == count, path
        assert all("series" in json.loads(o) for o in options)
        assert "<script>" not in html


@pytest.mark.parametrize("username", ["admin", "guide"])
def test_model_page_figures(client: TestClient, brand: Brand, username: str) -> None:
    html = signed_in(client, username).get("/insights/model").text
    ids = brand.scope_ids(SCOPES[username])
    mine = [r for r in brand.insights if r["customer_id"] in ids]
    params = section(html, "model-bgnbd")
    assert key_cell(params, "r") == "0.6" and key_cell(params, "alpha") == "40"
    assert key_cell(params, "n") == "30" and key_cell(params, "unique_rows") == "28"
    assert "model-gamma_gamma" in html and "model-pareto_nbd" not in html and "model-calibration" not in html
    assert "99" in section(html, "fit-set") and "200" in section(html, "fit-set")
    calibration = section(html, "calibration-table")
    first_after = AS_OF - timedelta(days=HISTORY_DAYS)
    fit_set = [r for r in mine if r["p_alive"] is not None and r["first_order_on"] > first_after]
    assert len(fit_set) < len(mine)
    repeats = Counter(min(r["purchase_days"] - 1, 7) for r in fit_set)
    for x in range(8):
        assert key_cell(row(calibration, "data-repeat", str(x)), "observed") == str(repeats[x])
    expected = sum(float(e) for e in re.findall(r'data-key="expected">([\d.]+)<', calibration))
    assert abs(expected - sum(repeats.values())) < 0.5  # the probabilities of each customer sum to 1
    deciles = section(html, "clv-deciles")
    clvs = sorted(r["clv_fen"] for r in mine if r["clv_fen"] is not None)
    counts = [int(n) for n in re.findall(r'data-key="customers">(\d+)<', deciles)]
    assert sum(counts) == len(clvs) and max(counts) - min(counts) <= 1
    totals = [int(v) for v in re.findall(r'data-key="total" data-fen="(\d+)"', deciles)]
    assert sum(totals) == sum(clvs)
    top = section(html, "top-clv-table")
    best = max((r for r in mine if r["clv_fen"] is not None), key=lambda r: (r["clv_fen"], -r["customer_id"]))
    first_row = re.search(r'<tr data-customer="(\d+)"', top)
    assert first_row and int(first_row.group(1)) == best["customer_id"]
    shown = {int(i) for i in re.findall(r'<tr data-customer="(\d+)"', top)}
    assert shown <= ids
    assert "+86 138****" in top and "+8613800000" not in html  # masked phones only


@pytest.mark.parametrize("username", ["admin", "guide", "store"])
def test_warning_page_reconciles_per_owner_and_recall(
    client: TestClient, brand: Brand, username: str
) -> None:
    signed_in(client, username)
    ids = brand.scope_ids(SCOPES[username])
    mine = [w for w in brand.warnings if w["customer_id"] in ids]
    day = max(w["warned_on"] for w in mine)
    html = client.get("/insights/warnings").text
    owners = section(html, "owner-table")
    for owner in {w["owner_staff_id"] for w in mine}:
        rows = [w for w in mine if w["owner_staff_id"] == owner]
        today = sum(1 for w in rows if w["warned_on"] == day)
        still_open = sum(1 for w in rows if w["status"] == "open")
        if not (today or still_open):
            continue
        tr = row(owners, "data-owner", str(owner or ""))
        assert key_cell(tr, "today") == str(today) and key_cell(tr, "open") == str(still_open)
    recall = section(html, "recall-table")
    for days in (30, 90):
        window = [w for w in mine if day - timedelta(days=days - 1) <= w["warned_on"] <= day]
        tr = row(recall, "data-days", str(days))
        recalled = sum(1 for w in window if w["status"] == "recalled")
        assert key_cell(tr, "warned") == str(len(window))
        assert key_cell(tr, "recalled") == str(recalled)
        assert key_cell(tr, "open") == str(sum(1 for w in window if w["status"] == "open"))
        assert key_cell(tr, "expired") == str(sum(1 for w in window if w["status"] == "expired"))
        assert key_cell(tr, "rate") == (f"{recalled / len(window) * 100:.1f}%" if window else "—")
    listed = {int(i) for i in re.findall(r'<tr data-warning="(\d+)"', section(html, "warnings-table"))}
    assert listed == {w["id"] for w in mine if w["status"] == "open"}
    every = client.get("/insights/warnings?status=all").text
    assert f'id="warning-total">{len(mine)} ' in every or f">共 {len(mine)} 条<" in every


def test_manager_filters_by_guide_and_guide_has_no_owner_filter(client: TestClient, brand: Brand) -> None:
    signed_in(client, "store")
    g2 = brand.staff["g2"]
    html = client.get(f"/insights/warnings?owner={g2}&status=all").text
    listed = {int(i) for i in re.findall(r'<tr data-warning="(\d+)"', html)}
    ids = brand.scope_ids("sh01")
    assert listed == {
        w["id"] for w in brand.warnings if w["owner_staff_id"] == g2 and w["customer_id"] in ids
    }
    assert 'name="owner"' in html
    fragment = client.get(f"/insights/warnings?owner={g2}&status=all", headers={"HX-Request": "true"}).text
    assert fragment.strip().startswith('<div id="warning-body">') and "<html" not in fragment
    assert set(re.findall(r'<tr data-warning="(\d+)"', fragment)) == {str(i) for i in listed}
    client.cookies.clear()
    assert 'name="owner"' not in signed_in(client, "guide").get("/insights/warnings").text


def test_warning_csv_is_scoped_and_audited(client: TestClient, brand: Brand, engine: Engine) -> None:
    response = signed_in(client, "guide").get("/insights/warnings.csv?status=all")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    lines = response.content.decode("utf-8-sig").strip().splitlines()
    ids = brand.scope_ids("g1")
    assert len(lines) - 1 == sum(1 for w in brand.warnings if w["customer_id"] in ids)
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).where(AuditLog.action == "insights.warnings_export")) == 1


def test_segment_preview_lists_the_scoped_members(client: TestClient, brand: Brand) -> None:
    signed_in(client, "guide")
    ids = brand.scope_ids("g1")
    segment = Counter(
        r["rfm_segment"] for r in brand.insights if r["customer_id"] in ids and r["rfm_segment"]
    )
    code, n = segment.most_common(1)[0]
    html = client.get(f"/insights/customers?rfm={code}").text
    members = {int(i) for i in re.findall(r'<tr data-customer="(\d+)"', html)}
    assert members == {
        r["customer_id"] for r in brand.insights if r["customer_id"] in ids and r["rfm_segment"] == code
    }
    assert len(members) == n and f"{n} 位客户" in html


def test_customer_360_shows_the_insights_card(client: TestClient, brand: Brand) -> None:
    signed_in(client, "admin")
    scored = next(r for r in brand.insights if r["rfm_segment"] and r["p_alive"] is not None)
    html = client.get(f"/customers/{scored['customer_id']}").text
    card = html[html.index('id="insights-card"') :]
    assert f"{scored['p_alive'] * 100:.1f}%" in card
    assert f"R{scored['r_score']} F{scored['f_score']} M{scored['m_score']}" in card
    warned = [
        w for w in brand.warnings if w["customer_id"] == scored["customer_id"] and w["status"] == "open"
    ]
    assert ('id="insight-warning"' in card) == bool(warned)
    unscored = next(c for c in brand.customers if c["id"] not in {r["customer_id"] for r in brand.insights})
    assert "该客户尚无评分" in client.get(f"/customers/{unscored['id']}").text


def test_pages_open_for_every_role_and_settings_only_for_admin_and_operator(
    client: TestClient, brand: Brand
) -> None:
    for username in ("admin", "operator", "analyst", "lead", "guide", "store"):
        client.cookies.clear()
        signed_in(client, username)
        for path in ("/insights", "/insights/model", "/insights/warnings"):
            assert client.get(path).status_code == 200, (username, path)
        allowed = username in ("admin", "operator")
        assert client.get("/insights/settings").status_code == (200 if allowed else 403), username
        assert ('href="/insights/settings"' in client.get("/insights").text) == allowed
