"""Script library at its edges: the API, the CLI (list/add/approve/import) and the console pages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from siyu.cli import app as cli_app
from siyu.db.engine import session_factory
from siyu.models import Script, ScriptApproval
from tests.journeys.scripts_support import build_world
from tests.talent.roles_support import Org, signed_in
from tests.web.conftest import csrf_from


@pytest.fixture()
def org(engine: Engine) -> Org:
    return build_world(engine)


def test_api_create_search_review_variants_and_preview(client: TestClient, org: Org) -> None:
    op, lead, guide = org.token("operator"), org.token("lead"), org.token("guide")
    body = {
        "title": "節日問候",
        "category": "holiday",
        "body": "{name}，中秋快乐！{store}{guide}敬上",
        "submit": True,
    }
    created = client.post("/api/v1/scripts", json=body, headers=op)
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    assert created.json()["approval"] == "pending"
    assert created.json()["preview"] == "王女士，中秋快乐！静安嘉里店小林敬上"
    assert client.post("/api/v1/scripts", json={**body, "body": "{foo}"}, headers=op).status_code == 422
    assert client.post("/api/v1/scripts", json=body, headers=guide).status_code == 403
    # The guide does not see it before approval; the traditional query finds the simplified title.
    assert client.get("/api/v1/scripts", params={"q": "节日"}, headers=guide).json()["total"] == 0
    review = client.post(f"/api/v1/scripts/{sid}/review", json={"decision": "approve"}, headers=lead)
    assert review.status_code == 200 and review.json()["approval"] == "approved"
    found = client.get("/api/v1/scripts", params={"q": "节日 中秋"}, headers=guide).json()
    assert [i["id"] for i in found["items"]] == [sid]
    variant = client.post(
        "/api/v1/scripts",
        json={**body, "title": "节日问候 B", "parent_id": sid, "variant_label": "B", "submit": False},
        headers=op,
    )
    assert variant.status_code == 201
    family = client.get(f"/api/v1/scripts/{variant.json()['id']}/variants", headers=op).json()
    assert [f["variant_label"] for f in family] == [None, "B"]
    assert (
        len(client.get(f"/api/v1/scripts/{sid}/variants", headers=guide).json()) == 1
    )  # the draft B is hidden
    edited = client.put(f"/api/v1/scripts/{sid}", json={**body, "body": "{name}中秋快乐"}, headers=op)
    assert edited.json()["approval"] == "pending"
    preview = client.post("/api/v1/scripts/preview", json={"body": "Hi {name} {coupon}"}, headers=guide)
    assert preview.json() == {"preview": "Hi 王女士 满199减30券", "variables": ["name", "coupon"]}
    assert client.post(f"/api/v1/scripts/{sid}/retire", headers=op).json()["approval"] == "retired"
    assert client.post(f"/api/v1/scripts/{sid}/bogus", headers=op).status_code == 422


def test_cli_import_list_approve(cli_env: str, engine: Engine, org: Org, tmp_path: Path) -> None:
    runner = CliRunner()
    lines = [
        {"title": "召回一", "category": "recall", "body": "{name}好久不见", "submit": True},
        {"title": "召回二", "category": "recall", "scenario": "沉睡90天", "body": "{name}，{coupon}等你"},
    ]
    good = tmp_path / "scripts.jsonl"
    good.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n\n", encoding="utf-8")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps(lines[0], ensure_ascii=False)
        + "\n"
        + '{"title": "x", "category": "recall", "body": "{bad}"}\n'
    )
    result = runner.invoke(cli_app, ["journeys", "scripts", "import", str(bad)])
    assert result.exit_code != 0 and "bad.jsonl line 2" in str(result.exception)
    with session_factory(engine)() as s:
        assert s.scalars(select(Script)).all() == []  # all or nothing
    result = runner.invoke(cli_app, ["journeys", "scripts", "import", str(good)])
    assert result.exit_code == 0, result.output
    assert "imported 2 script(s), 1 pending review" in result.output
    with session_factory(engine)() as s:
        pending = s.scalars(select(Script).where(Script.approval == ScriptApproval.pending)).one()
    result = runner.invoke(cli_app, ["journeys", "scripts", "approve", str(pending.id), "--note", "fine"])
    assert result.exit_code == 0 and "approved" in result.output
    result = runner.invoke(
        cli_app,
        [
            "journeys",
            "scripts",
            "add",
            "--title",
            "生日",
            "--category",
            "birthday",
            "--body",
            "{name}生日快乐",
        ],
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli_app, ["journeys", "scripts", "list", "--q", "召回", "--format", "json"])
    assert [i["title"] for i in json.loads(result.output)] == ["召回二", "召回一"]


def test_console_search_create_and_approve(client: TestClient, engine: Engine, org: Org) -> None:
    signed_in(client, "operator")
    page = client.get("/scripts/new")
    assert page.status_code == 200
    token = csrf_from(page.text)
    form = {
        "csrf_token": token,
        "title": "朋友圈：秋冬护肤",
        "category": "moments",
        "scenario": "周二内容包",
        "body": "秋冬干燥，{store}新到保湿霜，找{guide}领试用装",
        "attachments": "image | media/autumn.jpg\nlink | https://shop.example.cn/a | 活动详情",
        "parent_id": "",
        "variant_label": "",
        "submit": "1",
    }
    bad = client.post("/scripts/new", data={**form, "body": "{oops}"}, follow_redirects=False)
    assert bad.status_code == 422 and "oops" in bad.text
    made = client.post("/scripts/new", data=form, follow_redirects=False)
    assert made.status_code == 303
    url = made.headers["location"]
    detail = client.get(url)
    assert "静安嘉里店新到保湿霜" in detail.text and "data-copy-target" in detail.text
    assert "approve-script" not in detail.text  # operators do not approve
    listing = client.get("/scripts", params={"q": "護膚"})
    assert "朋友圈：秋冬护肤" in listing.text
    preview = client.post("/scripts/preview", data={"csrf_token": token, "body": "{name} hi"})
    assert "王女士 hi" in preview.text
    signed_in(client, "lead")
    detail = client.get(url)
    assert "approve-script" in detail.text
    token = csrf_from(detail.text)
    done = client.post(f"{url}/approve", data={"csrf_token": token, "note": ""}, follow_redirects=False)
    assert done.status_code == 303
    with session_factory(engine)() as s:
        script = s.get(Script, int(url.rsplit("/", 1)[1]))
        assert script is not None and script.approval == ScriptApproval.approved
        assert [a["kind"] for a in script.attachments or []] == ["image", "link"]
    signed_in(client, "guide")
    page = client.get("/scripts", params={"q": "护肤"})
    assert "朋友圈：秋冬护肤" in page.text and "new-script" not in page.text
    assert client.get("/scripts/new").status_code == 403
