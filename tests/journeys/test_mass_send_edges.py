"""Mass sends and caps through the API, the console and the CLI: one committed world, the same figures."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from typer.testing import CliRunner

from siyu.cli import app
from siyu.db.engine import session_factory
from siyu.db.types import utcnow
from siyu.models import AuditLog, FrequencyCap, MassSend, OutboundMessage
from siyu.models.journeys import MassSendStatus
from tests.journeys.send_world import World, build
from tests.web.conftest import MakeAccount, login, make_account, page_token  # noqa: F401  (fixture)


def _world(engine: Engine) -> World:
    with session_factory(engine)() as s:
        w = build(s, customers=6, opted_out=2)
        s.commit()
        return w


def _rows(engine: Engine, mass_id: int) -> dict[str, int]:
    with session_factory(engine)() as s:
        statuses = s.scalars(
            select(OutboundMessage.status).where(
                OutboundMessage.source_type == "mass_send", OutboundMessage.source_id == mass_id
            )
        )
        return dict(Counter(x.value for x in statuses))


def test_api_and_cli(client: TestClient, auth: dict[str, str], engine: Engine, cli_env: str) -> None:
    w = _world(engine)
    body = {
        "name": "会员日",
        "script_id": w.script_id,
        "channel": "loopback",
        "audience_kind": "customers",
        "customer_ids": w.customer_ids + w.opted_out_ids,
    }
    preview = client.post("/api/v1/mass-sends/preview", json=body, headers=auth)
    assert preview.status_code == 200, preview.text
    assert {k: preview.json()[k] for k in ("audience", "opted_out", "capped", "would_send")} == {
        "audience": 8,
        "opted_out": 2,
        "capped": 0,
        "would_send": 6,
    }
    created = client.post("/api/v1/mass-sends", json=body, headers=auth)
    assert created.status_code == 201, created.text
    mass_id = created.json()["id"]
    later = client.post(
        "/api/v1/mass-sends",
        json={**body, "scheduled_at": (utcnow() + timedelta(days=1)).isoformat()},
        headers=auth,
    ).json()["id"]
    runner = CliRunner()
    ran = runner.invoke(app, ["journeys", "mass-send", "run-due"])
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.output.strip().splitlines()[-1]) == {"ran": 1, "errors": 0, "failed": 0}
    detail = client.get(f"/api/v1/mass-sends/{mass_id}", headers=auth).json()
    raw = _rows(engine, mass_id)
    assert raw == {"sent": 6, "opted_out": 2}
    assert {k: v for k, v in detail["results"].items() if v} == raw
    assert detail["status"] == "done" and detail["audience_count"] == 8
    listed = runner.invoke(app, ["journeys", "mass-send", "list"])
    assert f"{mass_id}\tdone" in listed.output and "sent=6" in listed.output
    assert client.post(f"/api/v1/mass-sends/{mass_id}/cancel", headers=auth).status_code == 409
    cancelled = client.post(f"/api/v1/mass-sends/{later}/cancel", headers=auth)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    bad = client.post("/api/v1/mass-sends", json={**body, "script_id": w.draft_script_id}, headers=auth)
    assert bad.status_code == 422 and "approved" in bad.text
    # Caps over the API and the CLI.
    caps = client.get("/api/v1/mass-sends/caps", headers=auth).json()
    assert caps[0]["code"] == "platform" and caps[0]["period"] == "month" and caps[0]["id"] is None
    week = client.put("/api/v1/mass-sends/caps/platform", json={"period": "week"}, headers=auth).json()
    assert week[0]["period"] == "week" and week[0]["current_limit"] == 7
    added = client.post(
        "/api/v1/mass-sends/caps",
        json={"code": "brand", "name": "品牌", "period": "day", "max_touches": 1},
        headers=auth,
    )
    assert added.status_code == 201 and [c["code"] for c in added.json()] == ["platform", "brand"]
    assert (
        client.post(
            "/api/v1/mass-sends/caps",
            json={"code": "platform", "name": "x", "period": "day", "max_touches": 1},
            headers=auth,
        ).status_code
        == 422
    )
    assert runner.invoke(app, ["journeys", "caps", "platform", "day"]).exit_code == 0
    shown = runner.invoke(app, ["journeys", "caps", "list"]).output
    assert "platform\t1/day" in shown and "brand\t1/day" in shown
    with session_factory(engine)() as s:
        actions = set(
            s.scalars(select(AuditLog.action).where(AuditLog.target_type.in_(("mass_send", "frequency_cap"))))
        )
        assert {"mass_send.create", "mass_send.cancel", "caps.platform_mode", "caps.add"} <= actions


def test_console_pages(client: TestClient, make_account: MakeAccount, engine: Engine) -> None:  # noqa: F811
    w = _world(engine)
    make_account("lead", "private_domain_lead")
    assert login(client, "lead").status_code == 303
    token = page_token(client, "/mass-sends/new")
    form = {
        "csrf_token": token,
        "name": "周末活动",
        "script_id": str(w.script_id),
        "channel": "staff_task",
        "audience_kind": "customers",
        "customer_ids": ", ".join(str(c) for c in w.customer_ids + w.opted_out_ids),
    }
    fragment = client.post("/mass-sends/preview", data=form, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert 'data-key="would_send">6<' in fragment.text and 'data-key="opted_out">2<' in fragment.text
    created = client.post("/mass-sends", data=form, follow_redirects=False)
    assert created.status_code == 303, created.text
    mass_id = int(created.headers["location"].rsplit("/", 1)[1])
    from siyu.journeys.mass_send_run import run_mass_sends_job

    with session_factory(engine)() as s:
        run_mass_sends_job(s)
        s.commit()
    page = client.get(f"/mass-sends/{mass_id}")
    assert page.status_code == 200 and "data-chart" in page.text
    raw = _rows(engine, mass_id)
    for status in ("queued", "sent", "confirmed", "capped", "opted_out", "failed"):
        assert re.search(rf'data-key="{status}">{raw.get(status, 0)}<', page.text), status
    assert 'data-key="total">8<' in page.text
    listing = client.get("/mass-sends")
    assert f'data-mass-send="{mass_id}"' in listing.text
    caps_page = client.get("/mass-sends/caps")
    assert caps_page.status_code == 200 and 'id="platform-mode"' in caps_page.text
    token = page_token(client, "/mass-sends/caps")
    saved = client.post(
        "/mass-sends/caps/platform", data={"csrf_token": token, "period": "day"}, follow_redirects=False
    )
    assert saved.status_code == 303
    added = client.post(
        "/mass-sends/caps",
        data={
            "csrf_token": token,
            "code": "wk",
            "name": "每周",
            "period": "week",
            "max_touches": "2",
            "channel": "",
        },
        follow_redirects=False,
    )
    assert added.status_code == 303
    with session_factory(engine)() as s:
        rows = {c.code: (c.period, c.max_touches) for c in s.scalars(select(FrequencyCap))}
    assert rows == {"platform": ("day", None), "wk": ("week", 2)}
    refused = client.post(
        "/mass-sends",
        data={**form, "script_id": str(w.draft_script_id), "csrf_token": token},
        follow_redirects=False,
    )
    assert refused.status_code == 422 and 'id="form-error"' in refused.text
    # A send that failed shows its error and can be scheduled again from its page.
    with session_factory(engine)() as s:
        s.execute(
            update(MassSend)
            .where(MassSend.id == mass_id)
            .values(status=MassSendStatus.failed, attempts=3, last_error="segment 9 not found")
        )
        s.commit()
    failed_page = client.get(f"/mass-sends/{mass_id}")
    assert 'id="mass-error"' in failed_page.text and "segment 9 not found" in failed_page.text
    assert 'id="retry-mass-send"' in failed_page.text
    retried = client.post(
        f"/mass-sends/{mass_id}/retry",
        data={"csrf_token": page_token(client, f"/mass-sends/{mass_id}")},
        follow_redirects=False,
    )
    assert retried.status_code == 303
    with session_factory(engine)() as s:
        again = s.get(MassSend, mass_id)
        assert again is not None and (again.status, again.attempts) == (MassSendStatus.scheduled, 0)
        assert "mass_send.retry" in set(
            s.scalars(select(AuditLog.action).where(AuditLog.target_id == mass_id))
        )


def test_guides_may_not_open_mass_sends(
    client: TestClient,
    make_account: MakeAccount,  # noqa: F811
    engine: Engine,
) -> None:
    make_account("g", "guide")
    assert login(client, "g").status_code == 303
    assert client.get("/mass-sends").status_code == 403
    assert client.get("/mass-sends/caps").status_code == 403
