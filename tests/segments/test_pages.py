"""Console pages: list, builder editing and live preview, save as versions, export, and who may open them."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from siyu.db.engine import session_factory
from siyu.db.types import utcnow
from siyu.models import Segment, SegmentVersion
from siyu.segments import service
from siyu.timeutil import local_date
from tests.segments.brute import Brute
from tests.segments.world import World
from tests.web.conftest import MakeAccount, login, page_token


def _form(token: str, **extra: str) -> dict[str, str | list[str]]:
    base: dict[str, str | list[str]] = {
        "csrf_token": token,
        "node": ["r", "r.0"],
        "k:r": "all",
        "f:r.0": "consent",
        "o:r.0": "is",
        "v:r.0": "true",
    }
    return {**base, **extra}


def test_builder_edits_previews_saves_and_exports(
    client: TestClient, make_account: MakeAccount, world: World, engine: Engine
) -> None:
    make_account("ops", "operator")
    assert login(client, "ops").status_code == 303
    listing = client.get("/segments")
    assert listing.status_code == 200 and 'href="/segments"' in listing.text
    token = page_token(client, "/segments/new")
    hx = {"HX-Request": "true"}

    preview = client.post("/segments/builder/preview", data=_form(token), headers=hx)
    assert preview.status_code == 200
    rule = {"version": 1, "rule": {"all": [{"field": "consent", "op": "is", "value": True}]}}
    expected = len(Brute(world, utcnow()).ids(rule))
    assert re.search(r'id="preview-count">(\d+)<', preview.text).group(1) == str(expected)  # type: ignore[union-attr]
    assert "+86 138****" in preview.text

    bad = client.post(
        "/segments/builder/preview",
        data=_form(token, **{"f:r.0": "p_alive", "o:r.0": "ge", "v:r.0": "7"}),
        headers=hx,
    )
    assert "rule.all[0].value" in bad.text and "from 0 to 1" in bad.text

    added = client.post("/segments/builder/editor", data=_form(token, action="group:r"), headers=hx)
    assert added.status_code == 200
    assert added.headers["HX-Trigger"] == "rule-changed"
    assert 'data-key="r.1"' in added.text and 'data-key="r.1.0"' in added.text
    as_json = client.post(
        "/segments/builder/editor",
        data={
            "csrf_token": token,
            "action": "json",
            "rule_json": '{"version": 1, "rule": {"not": {"field": "last_order_days", "op": "never"}}}',
        },
        headers=hx,
    )
    assert 'name="k:r" value="not"' in as_json.text and 'value="last_order_days" selected' in as_json.text

    saved = client.post("/segments/save", data=_form(token, name="同意营销"), follow_redirects=False)
    assert saved.status_code == 303
    with session_factory(engine)() as s:
        segment = s.scalars(select(Segment)).one()
    page = client.get(f"/segments/{segment.id}")
    assert page.status_code == 200 and "同意营销" in page.text and 'data-version="1"' in page.text
    # the editor shows the saved rule, not a blank condition
    assert 'name="k:r" value="all"' in page.text and 'option value="consent" selected' in page.text
    again = client.post(
        "/segments/save",
        data=_form(token, name="同意营销", segment_id=str(segment.id), **{"v:r.0": "false"}),
        headers=hx,
    )
    assert again.status_code == 204 and again.headers["HX-Redirect"] == f"/segments/{segment.id}"
    with session_factory(engine)() as s:
        versions = s.scalars(select(SegmentVersion.version).order_by(SegmentVersion.version)).all()
        assert versions == [1, 2]
        service.record_sizes(s, local_date(utcnow()) - timedelta(days=1))
        s.commit()
    assert "data-chart" in client.get("/segments").text
    exported = client.get(f"/segments/{segment.id}/export?fmt=csv")
    assert exported.status_code == 200 and exported.text.count("\n") >= 2


def test_guides_may_not_open_segments_and_analysts_may_not_save(
    client: TestClient, make_account: MakeAccount, world: World
) -> None:
    make_account("g1", "guide", scope="self", staff_code="S1")
    assert login(client, "g1").status_code == 303
    assert client.get("/segments").status_code == 403
    assert 'href="/segments"' not in client.get("/customers").text
    client.cookies.clear()
    make_account("an", "analyst")
    assert login(client, "an").status_code == 303
    token = page_token(client, "/segments/new")
    assert "save-segment" not in client.get("/segments/new").text
    refused = client.post("/segments/save", data=_form(token, name="x"), follow_redirects=False)
    assert refused.status_code == 403
