"""/api/v1/compliance: scoped list and summary against raw rows, text only for chat readers, audited, review."""

from __future__ import annotations

from collections import Counter

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from siyu.compliance import incidents_query as q
from siyu.compliance.review_service import CHAT_VIEW
from siyu.models import AuditLog
from siyu.models.compliance import IncidentStatus, SensitiveIncident
from siyu.timeutil import brand_zone, local_date
from tests.compliance import review_world as rw
from tests.compliance.review_world import HTML_TEXT

API = "/api/v1/compliance"


@pytest.fixture()
def world(engine: Engine) -> rw.World:
    return rw.build(engine)


def _rows(session: Session, world: rw.World, who: str) -> list[SensitiveIncident]:
    f = q.make_filter()
    found = []
    for r in session.scalars(select(SensitiveIncident)):
        if not f.first <= local_date(r.occurred_at, brand_zone()) <= f.last:
            continue
        if who == "region" and r.unit_id not in {world.units[c] for c in ("R1", "ST1", "ST2")}:
            continue
        if who == "store" and r.unit_id != world.units["ST1"]:
            continue
        found.append(r)
    return found


@pytest.mark.parametrize("who", ["root", "region", "store"])
def test_list_and_summary_match_raw_rows(
    client: TestClient, engine: Engine, session: Session, world: rw.World, who: str
) -> None:
    auth = rw.token(engine, who)
    rows = _rows(session, world, who)
    listed = client.get(f"{API}/incidents", params={"size": 500}, headers=auth)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["total"] == len(rows)
    assert sorted(i["id"] for i in body["items"]) == sorted(r.id for r in rows)
    summary = client.get(f"{API}/summary", headers=auth).json()
    assert summary["by_status"] == {s.value: sum(r.status is s for r in rows) for s in IncidentStatus}
    assert {k: v for k, v in summary["by_category"].items() if v} == dict(
        Counter(r.category.value for r in rows)
    )
    assert {e["staff_id"]: e["total"] for e in summary["by_staff"]} == dict(Counter(r.staff_id for r in rows))
    opened = client.get(f"{API}/incidents", params={"status": "open", "size": 500}, headers=auth).json()
    assert opened["total"] == sum(r.status is IncidentStatus.open for r in rows)


def test_detail_text_for_readers_only_and_audited(
    client: TestClient, engine: Engine, session: Session, world: rw.World
) -> None:
    url = f"{API}/incidents/{world.html_incident}"
    detail = client.get(url, headers=rw.token(engine, "region"))
    assert detail.status_code == 200
    own = [m for m in detail.json()["messages"] if m["own"]]
    assert [m["text"] for m in own] == [HTML_TEXT]
    start, end = own[0]["highlight"][0]
    assert own[0]["text"][start:end] == "傻逼" and detail.json()["matched"] == "傻逼"
    views = list(session.scalars(select(AuditLog).where(AuditLog.action == CHAT_VIEW)))
    assert len(views) == 1
    operator = client.get(url, headers=rw.token(engine, "operator")).json()
    assert operator["messages"] is None and operator["matched"] is None
    session.expire_all()
    assert len(list(session.scalars(select(AuditLog).where(AuditLog.action == CHAT_VIEW)))) == 1
    # Contact findings: the phone is masked in the text and in `matched` unless revealed.
    phone = client.get(f"{API}/incidents/{world.phone_incident}", headers=rw.token(engine, "store")).json()
    assert "138 **** 5678" in phone["messages"][-1]["text"] or any(
        "138 **** 5678" in m["text"] for m in phone["messages"]
    )
    assert phone["matched"] == "138****5678"
    revealed = client.get(
        f"{API}/incidents/{world.phone_incident}",
        params={"reveal": "true"},
        headers=rw.token(engine, "store"),
    ).json()
    assert any("138 1234 5678" in m["text"] for m in revealed["messages"])


def test_roles_refused(client: TestClient, engine: Engine, world: rw.World) -> None:
    analyst = rw.token(engine, "analyst")
    assert client.get(f"{API}/incidents", headers=analyst).status_code == 403
    assert client.get(f"{API}/summary", headers=analyst).status_code == 200
    guide = rw.token(engine, "guide")
    for path in ("/incidents", "/summary", f"/incidents/{world.html_incident}", "/rules"):
        assert client.get(f"{API}{path}", headers=guide).status_code == 403
    store = rw.token(engine, "store")
    outside = [i for i in world.incident_ids if i not in (world.html_incident, world.phone_incident)]
    found = {
        i["id"] for i in client.get(f"{API}/incidents", params={"size": 500}, headers=store).json()["items"]
    }
    hidden = next(i for i in outside if i not in found)
    assert client.get(f"{API}/incidents/{hidden}", headers=store).status_code == 404


def test_review_through_the_api(
    client: TestClient, engine: Engine, session: Session, world: rw.World
) -> None:
    url = f"{API}/incidents/{world.html_incident}/review"
    store = rw.token(engine, "store")
    done = client.post(url, json={"status": "confirmed", "note": "核实"}, headers=store)
    assert done.status_code == 200 and done.json()["status"] == "confirmed"
    assert done.json()["review_note"] == "核实"
    assert client.post(url, json={"status": "dismissed"}, headers=store).status_code == 409
    assert client.post(url, json={"status": "open"}, headers=store).status_code == 403
    assert client.post(url, json={"status": "open"}, headers=rw.token(engine, "lead")).status_code == 200
    assert client.post(url, json={"status": "bogus"}, headers=store).status_code == 422
    assert (
        client.post(url, json={"status": "confirmed"}, headers=rw.token(engine, "operator")).status_code
        == 403
    )


def test_rules_listed(client: TestClient, engine: Engine, world: rw.World) -> None:
    rules = client.get(f"{API}/rules", headers=rw.token(engine, "operator")).json()
    assert [(r["id"], r["terms"]) for r in rules] == [(world.rule_id, ["傻逼"])]
