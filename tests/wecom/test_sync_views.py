"""/wecom/sync page and /api/v1/wecom/sync: start a run, see it finish, who may start one."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from fake_wecom.server import FakeServer
from siyu.db.engine import session_factory
from siyu.models import ChannelMembership, OrgUnit, Staff, WecomSyncRun
from siyu.models.enums import OrgUnitKind
from siyu.models.wecom import SyncStatus
from siyu.org.accounts import create_account
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.org.tokens import create_token
from siyu.wecom.credentials import save_app
from tests.web.conftest import PASSWORD, csrf_from, login


def _configure(engine: Engine, fake: FakeServer) -> None:
    fake.corp.seed(staff=2, customers=30, groups=1, seed=9)
    with session_factory(engine)() as s:
        save_app(
            s,
            SYSTEM_ACTOR,
            corp_id=fake.corp.corp_id,
            secret=fake.corp.secret,
            callback_token="tok123",
            aes_key="a" * 43,
            api_base_url=fake.base_url,
        )
        store = OrgUnit(kind=OrgUnitKind.store, code="S1", name="S1", path="/1/", depth=0)
        s.add(store)
        s.flush()
        s.add_all(
            [
                Staff(code=f"G{i}", name=f"导购{i}", unit_id=store.id, wecom_userid=f"staff{i:04d}")
                for i in (1, 2)
            ]
        )
        create_account(s, username="boss", password=PASSWORD, role="admin", scope="all")
        create_account(s, username="op", password=PASSWORD, role="operator", scope="all")
        s.commit()


def test_console_start_runs_in_background_and_shows_progress(
    client: TestClient, engine: Engine, fake_wecom: FakeServer
) -> None:
    _configure(engine, fake_wecom)
    login(client, "boss")
    page = client.get("/wecom/sync")
    assert page.status_code == 200 and 'id="start-full"' in page.text
    response = client.post(
        "/wecom/sync", data={"kind": "full", "csrf_token": csrf_from(page.text)}, follow_redirects=False
    )
    assert response.status_code == 303
    with session_factory(engine)() as s:
        run = s.scalars(select(WecomSyncRun)).one()
        assert run.status is SyncStatus.done and run.kind == "full"
        follows = sum(len(f) for f in fake_wecom.corp.follows_by_user.values())
        assert run.counts["follows"] == follows
        assert len(
            s.scalars(select(ChannelMembership.id).where(ChannelMembership.staff_id.is_not(None))).all()
        ) == (follows)
    page = client.get("/wecom/sync")
    assert f'id="sync-run-{run.id}" data-status="done" data-stage="done"' in page.text
    assert 'hx-trigger="every 2s"' not in page.text  # nothing running: no polling
    fragment = client.get("/wecom/sync/runs", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and fragment.text.lstrip().startswith('<div id="sync-runs"')


def test_operator_sees_runs_but_cannot_start(
    client: TestClient, engine: Engine, fake_wecom: FakeServer
) -> None:
    _configure(engine, fake_wecom)
    login(client, "op")
    page = client.get("/wecom/sync")
    assert page.status_code == 200 and 'id="start-full"' not in page.text
    with session_factory(engine)() as s:
        op_token = create_token(s, "op", "tests")
        boss_token = create_token(s, "boss", "tests")
        s.commit()
    denied = client.post(
        "/api/v1/wecom/sync/runs", json={"kind": "full"}, headers={"Authorization": f"Bearer {op_token}"}
    )
    assert denied.status_code == 403 and "admin" in denied.json()["message"]
    boss = {"Authorization": f"Bearer {boss_token}"}
    started = client.post("/api/v1/wecom/sync/runs", json={"kind": "incremental"}, headers=boss)
    assert started.status_code == 202, started.text
    run = client.get(f"/api/v1/wecom/sync/runs/{started.json()['id']}", headers=boss).json()
    assert run["status"] == "done" and run["kind"] == "incremental" and run["api_calls"] > 0
    assert [r["id"] for r in client.get("/api/v1/wecom/sync/runs", headers=boss).json()] == [run["id"]]
    resume = client.post("/api/v1/wecom/sync/runs", json={"resume": True}, headers=boss)
    assert resume.status_code == 404 and "resume" in resume.json()["message"]
