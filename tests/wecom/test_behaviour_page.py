"""/wecom/behaviour: the figures equal raw snapshot sums, and a store manager sees only their store's staff."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from siyu.db.engine import session_factory
from siyu.models import Staff, WecomBehaviorSnapshot
from siyu.org.accounts import create_account
from tests.performance.test_metrics_wecom import build_brand
from tests.web.conftest import PASSWORD, login

LAST = date(2026, 10, 31)
FIRST = LAST - timedelta(days=29)


def _cells(html: str, staff_id: int) -> dict[str, str]:
    row = re.search(rf'<tr id="staff-{staff_id}".*?</tr>', html, re.S)
    assert row, f"no row for staff {staff_id}"
    cells = dict(re.findall(r'<td data-code="([a-z_]+)">([^<]*)</td>', row.group(0)))
    cells["days"] = re.search(r'data-days="(\d+)"', row.group(0)).group(1)  # type: ignore[union-attr]
    return cells


def _setup(engine: Engine) -> dict[str, int]:
    with session_factory(engine)() as s:
        ids = build_brand(s)
        create_account(s, username="boss", password=PASSWORD, role="admin", scope="all")
        create_account(s, username="st1", password=PASSWORD, role="manager", scope="unit", unit_code="ST1")
        s.commit()
    return ids


def test_page_reconciles_with_raw_rows(client: TestClient, engine: Engine) -> None:
    ids = _setup(engine)
    login(client, "boss")
    page = client.get(f"/wecom/behaviour?last={LAST.isoformat()}")
    assert page.status_code == 200, page.text
    html = page.text
    with session_factory(engine)() as s:
        rows = list(s.scalars(select(WecomBehaviorSnapshot)))
        unlinked = {st.id for st in s.scalars(select(Staff)) if st.wecom_userid is None}
    window = [r for r in rows if FIRST <= r.day <= LAST]
    for code in "ABC":
        mine = [r for r in window if r.staff_id == ids[code]]
        cells = _cells(html, ids[code])
        assert cells["days"] == str(len(mine))
        assert cells["wecom_chats"] == f"{sum(r.chat_cnt for r in mine):,}"
        assert cells["wecom_messages"] == f"{sum(r.message_cnt for r in mine):,}"
        assert cells["wecom_new_contacts"] == f"{sum(r.new_contact_cnt for r in mine):,}"
        assert cells["wecom_negative_feedback"] == f"{sum(r.negative_feedback_cnt for r in mine):,}"
        rated = [r for r in mine if r.chat_cnt and r.reply_percentage is not None]
        rate = sum((r.reply_percentage or 0.0) * r.chat_cnt for r in rated) / sum(r.chat_cnt for r in rated)
        assert cells["wecom_reply_rate"] == f"{rate:.1f}%"
        timed = [r for r in mine if r.chat_cnt and r.avg_reply_time is not None]
        wait = sum((r.avg_reply_time or 0) * 60 * r.chat_cnt for r in timed) / sum(r.chat_cnt for r in timed)
        assert cells["wecom_avg_reply_seconds"] == f"{wait:,.0f}"
    # D has left but has snapshots in the window, so it is listed; E (not linked, no snapshots) is not.
    assert f'id="staff-{ids["D"]}"' in html and f'id="staff-{ids["E"]}"' not in html
    assert ids["E"] in unlinked
    assert f'data-oldest="{min(r.day for r in rows).isoformat()}"' in html
    # The chart: one point per day of the window, the day's sum over all staff, null for a day with no snapshot.
    chart = json.loads(re.search(r'<script type="application/json">(.*?)</script>', html, re.S).group(1))  # type: ignore[union-attr]
    assert len(chart["xAxis"]["data"]) == 30 and chart["xAxis"]["data"][0] == FIRST.isoformat()
    chats = chart["series"][0]["data"]
    for n, value in enumerate(chats):
        day = FIRST + timedelta(days=n)
        that_day = [r.chat_cnt for r in window if r.day == day]
        assert value == (sum(that_day) if that_day else None)
    assert "<script>" not in html  # strict CSP: no inline script


def test_store_manager_sees_only_their_store(client: TestClient, engine: Engine) -> None:
    ids = _setup(engine)
    login(client, "st1")
    page = client.get(f"/wecom/behaviour?last={LAST.isoformat()}")
    assert page.status_code == 200, page.text
    listed = {int(n) for n in re.findall(r'<tr id="staff-(\d+)"', page.text)}
    assert listed == {ids["A"], ids["B"]}
    with session_factory(engine)() as s:
        mine = [
            r
            for r in s.scalars(select(WecomBehaviorSnapshot))
            if r.staff_id in (ids["A"], ids["B"]) and FIRST <= r.day <= LAST
        ]
        oldest = min(
            r.day for r in s.scalars(select(WecomBehaviorSnapshot)) if r.staff_id in (ids["A"], ids["B"])
        )
    chart = json.loads(re.search(r'<script type="application/json">(.*?)</script>', page.text, re.S).group(1))  # type: ignore[union-attr]
    expected = []
    for n in range(30):
        that_day = [r.new_contact_cnt for r in mine if r.day == FIRST + timedelta(days=n)]
        expected.append(sum(that_day) if that_day else None)
    series = {s["name"]: s["data"] for s in chart["series"]}
    assert list(series.values())[2] == expected  # new contacts: only A and B are summed
    assert f'data-oldest="{oldest.isoformat()}"' in page.text


def test_hub_links_the_page(client: TestClient, engine: Engine) -> None:
    _setup(engine)
    login(client, "boss")
    assert 'href="/wecom/behaviour"' in client.get("/wecom").text
