"""The compliance console: who sees what, numbers against raw rows, audited chat views, escaping, review, bell."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from siyu.compliance import incidents_query as q
from siyu.compliance.review_service import CHAT_REVEAL, CHAT_VIEW, REVIEW_ACTION
from siyu.db.engine import session_factory
from siyu.db.types import utcnow
from siyu.models import AuditLog, ChatMessage
from siyu.models.compliance import (
    DetectionRun,
    IncidentStatus,
    Notification,
    RunStatus,
    SensitiveIncident,
    SensitiveRule,
    WhitelistPhrase,
)
from siyu.timeutil import brand_zone, local_date
from tests.compliance import review_world as rw
from tests.web.conftest import csrf_from, login


@pytest.fixture()
def world(engine: Engine) -> rw.World:
    return rw.build(engine)


def sign_in(client: TestClient, who: str) -> None:
    assert login(client, who, rw.PASSWORD).status_code == 303


def _audits(session: Session, action: str) -> list[AuditLog]:
    session.expire_all()
    return list(session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


def _cells(html: str, table_id: str) -> dict[str, int]:
    table = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    return {k: int(v) for k, v in re.findall(r'data-status="(\w+)">(\d+)<', table)}


def test_guide_is_refused_and_has_no_nav_entry(client: TestClient, world: rw.World) -> None:
    sign_in(client, "guide")
    assert client.get("/compliance").status_code == 403
    assert client.get(f"/compliance/incidents/{world.html_incident}").status_code == 403
    assert 'href="/compliance"' not in client.get("/").text


@pytest.mark.parametrize("who", ["root", "region", "store"])
def test_status_counts_and_staff_table_match_raw_rows(
    client: TestClient, engine: Engine, session: Session, world: rw.World, who: str
) -> None:
    sign_in(client, who)
    page = client.get("/compliance")
    assert page.status_code == 200
    f = q.make_filter()
    rows = [
        r
        for r in session.scalars(select(SensitiveIncident))
        if f.first <= local_date(r.occurred_at, brand_zone()) <= f.last
        and (
            who == "root"
            or (who == "store" and r.unit_id == world.units["ST1"])
            or (who == "region" and r.unit_id in {world.units[c] for c in ("R1", "ST1", "ST2")})
        )
    ]
    counts = _cells(page.text, "status-counts")
    assert counts == {
        **{s.value: sum(r.status is s for r in rows) for s in IncidentStatus},
        "total": len(rows),
    }
    table = page.text.split('id="staff-counts"', 1)[1].split("</table>", 1)[0]
    per_staff = Counter(str(r.staff_id) for r in rows)
    shown = {
        staff: int(total)
        for staff, total in re.findall(r'data-staff="(\w+)">.*?data-status="total">(\d+)<', table, re.S)
    }
    assert shown == dict(per_staff)
    assert f'<small data-total="{len(rows)}">' in page.text
    assert "data-chart" in page.text


def test_filters_and_paging(client: TestClient, session: Session, world: rw.World) -> None:
    sign_in(client, "root")
    g2 = world.staff["G2"]
    page = client.get(f"/compliance?staff={g2}&status=open")
    want = session.scalar(
        select(func.count())
        .select_from(SensitiveIncident)
        .where(SensitiveIncident.staff_id == g2, SensitiveIncident.status == IncidentStatus.open)
    )
    assert f'<small data-total="{want}">' in page.text
    assert client.get("/compliance?status=bogus").status_code == 422
    second = client.get("/compliance?page=2")
    assert second.status_code == 200 and 'id="pager"' in second.text


def test_analyst_sees_counts_but_no_rows_or_text(
    client: TestClient, session: Session, world: rw.World
) -> None:
    sign_in(client, "analyst")
    page = client.get("/compliance")
    assert page.status_code == 200 and 'id="status-counts"' in page.text
    assert 'id="incident-list"' not in page.text and "傻逼" not in page.text
    assert client.get(f"/compliance/incidents/{world.html_incident}").status_code == 403
    assert _audits(session, CHAT_VIEW) == []


def test_operator_sees_incident_but_not_text(client: TestClient, session: Session, world: rw.World) -> None:
    sign_in(client, "operator")
    page = client.get(f"/compliance/incidents/{world.html_incident}")
    assert page.status_code == 200
    assert "傻逼" not in page.text and "这个" not in page.text
    assert _audits(session, CHAT_VIEW) == []
    assert 'name="status" value="confirmed"' not in page.text


def test_detail_highlights_the_original_span_escapes_html_and_audits_once(
    client: TestClient, session: Session, world: rw.World
) -> None:
    sign_in(client, "store")
    page = client.get(f"/compliance/incidents/{world.html_incident}")
    assert page.status_code == 200
    assert "<mark>傻逼</mark>" in page.text
    assert '<b onclick="x()">' not in page.text
    assert "&lt;b onclick=&#34;x()&#34;&gt;你&lt;/b&gt;这个<mark>傻逼</mark>&amp;客户" in page.text
    assert "我的快递呢" in page.text and "抱歉刚才说错了" in page.text and "别的客户的消息" not in page.text
    views = _audits(session, CHAT_VIEW)
    assert len(views) == 1
    incident = session.get(SensitiveIncident, world.html_incident)
    assert incident is not None and views[0].target_id == incident.message_id
    client.get(f"/compliance/incidents/{world.html_incident}")
    assert len(_audits(session, CHAT_VIEW)) == 2


def test_phone_is_masked_until_revealed(client: TestClient, session: Session, world: rw.World) -> None:
    sign_in(client, "store")
    page = client.get(f"/compliance/incidents/{world.phone_incident}")
    assert "<mark>138 **** 5678</mark>" in page.text and "1234" not in page.text.split('id="chat"')[1]
    shown = client.post(
        f"/compliance/incidents/{world.phone_incident}/reveal",
        data={"csrf_token": csrf_from(page.text)},
        headers={"HX-Request": "true"},
    )
    assert shown.status_code == 200 and "<mark>138 1234 5678</mark>" in shown.text
    assert len(_audits(session, CHAT_REVEAL)) == 1 and len(_audits(session, CHAT_VIEW)) == 2


def test_review_through_the_page_then_reopen_and_whitelist(
    client: TestClient, engine: Engine, session: Session, world: rw.World
) -> None:
    sign_in(client, "store")
    url = f"/compliance/incidents/{world.html_incident}"
    token = csrf_from(client.get(url).text)
    done = client.post(
        f"{url}/review",
        data={"status": "dismissed", "note": "玩笑", "csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert done.status_code == 200 and 'data-status="dismissed"' in done.text
    # Store managers may not reopen, nor change the whitelist.
    assert client.post(f"{url}/review", data={"status": "open", "csrf_token": token}).status_code == 403
    assert client.post(f"{url}/whitelist", data={"csrf_token": token}).status_code == 403
    client.post("/logout", data={"csrf_token": token})

    sign_in(client, "lead")
    page = client.get(url)
    assert 'id="whitelist-button"' in page.text
    token = csrf_from(page.text)
    added = client.post(f"{url}/whitelist", data={"csrf_token": token}, headers={"HX-Request": "true"})
    assert added.status_code == 200 and 'id="whitelisted"' in added.text
    session.expire_all()
    assert (
        session.scalar(
            select(func.count()).select_from(WhitelistPhrase).where(WhitelistPhrase.phrase == "傻逼")
        )
        == 1
    )
    again = client.post(f"{url}/review", data={"status": "open", "note": "重新看", "csrf_token": token})
    assert again.status_code == 200
    incident = session.get(SensitiveIncident, world.html_incident)
    assert incident is not None and incident.status is IncidentStatus.open
    assert [(a.detail or {})["to"] for a in _audits(session, REVIEW_ACTION)] == ["dismissed", "open"]


def test_bell_counts_unread_rows_and_marking_read(
    client: TestClient, engine: Engine, session: Session, world: rw.World
) -> None:
    store_id, root_id = rw.account_id(engine, "store"), rw.account_id(engine, "root")
    with session_factory(engine)() as s:
        for n in range(5):
            s.add(Notification(account_id=store_id, kind="incident", title=f"高风险 {n}", dedupe_key=f"k{n}",
                               link=f"/compliance/incidents/{world.html_incident}"))  # fmt: skip
        s.add(
            Notification(
                account_id=store_id, kind="incident", title="old", dedupe_key="old", read_at=utcnow()
            )
        )
        s.add(Notification(account_id=root_id, kind="incident", title="not yours", dedupe_key="x"))
        s.commit()

    def unread() -> int:
        return (
            session.scalar(
                select(func.count())
                .select_from(Notification)
                .where(Notification.account_id == store_id, Notification.read_at.is_(None))
            )
            or 0
        )

    sign_in(client, "store")
    home = client.get("/")
    assert 'hx-get="/notifications/bell"' in home.text
    assert f'data-unread="{unread()}"' in client.get("/notifications/bell").text and unread() == 5
    page = client.get("/notifications")
    assert "not yours" not in page.text and page.text.count('data-read="false"') == 5
    first = session.scalars(
        select(Notification.id)
        .where(Notification.account_id == store_id, Notification.read_at.is_(None))
        .order_by(Notification.id)
    ).first()
    opened = client.post(
        f"/notifications/{first}/read", data={"csrf_token": csrf_from(page.text)}, follow_redirects=False
    )
    assert opened.status_code == 303
    session.expire_all()
    assert unread() == 4 and 'data-unread="4"' in client.get("/notifications/bell").text
    root_note = session.scalars(select(Notification.id).where(Notification.account_id == root_id)).one()
    assert (
        client.post(f"/notifications/{root_note}/read", data={"csrf_token": csrf_from(page.text)}).status_code
        == 404
    )
    client.post("/notifications/read-all", data={"csrf_token": csrf_from(page.text)})
    session.expire_all()
    assert unread() == 0 and 'data-unread="0"' in client.get("/notifications/bell").text


def test_rules_page_toggles_persist(client: TestClient, session: Session, world: rw.World) -> None:
    sign_in(client, "lead")
    page = client.get("/compliance/rules")
    assert page.status_code == 200 and f'data-rule="{world.rule_id}" data-enabled="true"' in page.text
    token = csrf_from(page.text)
    off = client.post(
        f"/compliance/rules/{world.rule_id}/enabled", data={"enabled": "0", "csrf_token": token}
    )
    assert off.status_code == 200
    session.expire_all()
    rule = session.get(SensitiveRule, world.rule_id)
    assert rule is not None and rule.enabled is False
    assert f'data-rule="{world.rule_id}" data-enabled="false"' in client.get("/compliance/rules").text
    cat = client.post(
        "/compliance/rules/categories/competitor", data={"severity": "high", "csrf_token": token}
    )
    assert cat.status_code == 200
    assert (
        'data-category="competitor" data-enabled="false" data-severity="high"'
        in client.get("/compliance/rules").text
    )
    created = client.post(
        "/compliance/rules",
        data={
            "category": "private_deal",
            "name": "私下交易",
            "terms": "私下转账\n加我私人",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    assert "私下转账" in client.get("/compliance/rules").text
    bad = client.post(
        "/compliance/rules", data={"category": "abuse", "name": "", "terms": "", "csrf_token": token}
    )
    assert bad.status_code == 422 and 'id="form-error"' in bad.text
    export = client.get("/compliance/rules/export.csv")
    assert export.status_code == 200 and "私下转账" in export.text


def test_rules_read_only_for_operator_and_runs_for_lead(client: TestClient, world: rw.World) -> None:
    sign_in(client, "operator")
    page = client.get("/compliance/rules")
    assert page.status_code == 200 and "/enabled" not in page.text
    token = csrf_from(page.text)
    assert (
        client.post(
            f"/compliance/rules/{world.rule_id}/enabled", data={"enabled": "0", "csrf_token": token}
        ).status_code
        == 403
    )
    assert client.get("/compliance/runs").status_code == 403


def test_rules_import_shows_row_errors_then_imports(
    client: TestClient, session: Session, world: rw.World
) -> None:
    sign_in(client, "lead")
    token = csrf_from(client.get("/compliance/rules").text)
    bad = "category,name,terms\nabuse,粗口,滚|闭嘴\nbogus,坏行,词\n".encode()
    failed = client.post(
        "/compliance/rules-import",
        data={"csrf_token": token},
        files={"file": ("rules.csv", bad, "text/csv")},
        headers={"HX-Request": "true"},
    )
    assert failed.status_code == 422 and 'id="import-errors"' in failed.text and "bogus" in failed.text
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(SensitiveRule)) == 1  # all rows or none
    good = "category,name,terms\nabuse,粗口,滚|闭嘴\n".encode()
    done = client.post(
        "/compliance/rules-import",
        data={"csrf_token": token},
        files={"file": ("rules.csv", good, "text/csv")},
        headers={"HX-Request": "true"},
    )
    assert done.status_code == 200 and 'id="import-note"' in done.text
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(SensitiveRule)) == 2


def test_runs_page_starts_a_run_and_polls_its_row(
    client: TestClient, session: Session, world: rw.World
) -> None:
    sign_in(client, "lead")
    page = client.get("/compliance/runs")
    assert page.status_code == 200 and 'id="start-run"' in page.text
    started = client.post(
        "/compliance/runs", data={"csrf_token": csrf_from(page.text)}, headers={"HX-Request": "true"}
    )
    assert started.status_code == 200
    session.expire_all()
    run = session.scalars(select(DetectionRun)).one()
    messages = session.scalar(select(func.count()).select_from(ChatMessage))
    assert run.status is RunStatus.running and run.total == messages
    assert f'hx-get="/compliance/runs/{run.id}/row" hx-trigger="every 2s"' in started.text
    assert 'id="start-run"' not in started.text  # one run at a time
    run.processed = run.total // 2
    session.commit()
    row = client.get(f"/compliance/runs/{run.id}/row")
    assert f'value="{run.processed * 100 // run.total}"' in row.text and 'hx-trigger="every 2s"' in row.text
    run.status = RunStatus.succeeded
    session.commit()
    row = client.get(f"/compliance/runs/{run.id}/row")
    assert 'value="100"' in row.text and "hx-trigger" not in row.text
