"""Task inbox console and API: copy buttons without inline script, mark one / bulk done, the team page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select

from siyu.db.engine import session_factory
from siyu.db.types import utcnow
from siyu.models import Staff, StaffTask, TaskStatus
from tests.journeys.scripts_support import build_world
from tests.talent.roles_support import signed_in
from tests.web.conftest import csrf_from


@pytest.fixture()
def world(engine: Engine) -> dict[str, int]:
    """The org plus three open tasks of g1 (one overdue) and one of g3; task ids by name."""
    build_world(engine)
    now = utcnow()
    with session_factory(engine)() as s:
        staff = {str(c): int(i) for c, i in s.execute(select(Staff.code, Staff.id)).all()}
        ids = {}
        for name, who, kind, due, body in [
            ("late", "g1", "recall", now - timedelta(days=1), "李女士，好久不见，店里上新了"),
            ("soon", "g1", "send_message", now + timedelta(minutes=5), "王女士您好，宝宝最近好吗？"),
            ("post", "g1", "moments_post", now + timedelta(minutes=10), None),
            ("far", "g3", "recall", now, "x"),
        ]:
            ids[name] = int(
                s.execute(
                    insert(StaffTask)
                    .values(
                        kind=kind,
                        title=f"任务{name}",
                        staff_id=staff[who],
                        due_at=due,
                        status=TaskStatus.open,
                        body=body,
                    )
                    .returning(StaffTask.id)
                ).scalar_one()
            )
        s.commit()
    return ids


def test_inbox_page_copy_buttons_and_mark_done(
    client: TestClient, engine: Engine, world: dict[str, int]
) -> None:
    signed_in(client, "guide")
    page = client.get("/tasks")
    assert page.status_code == 200
    html = page.text
    assert f'data-copy-target="#task-text-{world["late"]}"' in html
    assert "<script>" not in html and "onclick" not in html  # the copy handler lives in siyu.js
    assert re.search(rf'class="task overdue" data-task="{world["late"]}"', html)
    assert re.search(rf'class="task" data-task="{world["soon"]}"', html)
    assert str(world["far"]) not in re.findall(r'data-task="(\d+)"', html)
    assert "data-copy-target" in client.get("/static/siyu.js").text
    token = csrf_from(html)
    one = client.post(
        "/tasks/done", data={"csrf_token": token, "only": str(world["late"])}, follow_redirects=False
    )
    assert one.status_code == 303 and "done=1" in one.headers["location"]
    bulk = client.post(
        "/tasks/done",
        data={"csrf_token": token, "task_id": [str(world["soon"]), str(world["post"])], "proof": "msg-42"},
        follow_redirects=False,
    )
    assert "done=2" in bulk.headers["location"]
    with session_factory(engine)() as s:
        rows = dict(s.execute(select(StaffTask.id, StaffTask.status)).all())
        assert [rows[world[k]] for k in ("late", "soon", "post", "far")] == [
            TaskStatus.done, TaskStatus.done, TaskStatus.done, TaskStatus.open,
        ]  # fmt: skip
    assert 'id="inbox-empty"' in client.get("/tasks").text
    denied = client.post(
        "/tasks/done", data={"csrf_token": token, "only": str(world["far"])}, follow_redirects=False
    )
    assert denied.status_code == 403
    assert client.get("/tasks/team").status_code == 403


def test_team_page_and_api(client: TestClient, engine: Engine, world: dict[str, int]) -> None:
    from tests.talent.roles_support import Org

    org = Org(engine)
    guide = org.token("guide")
    mine = client.get("/api/v1/tasks", headers=guide).json()
    assert {t["id"] for t in mine["tasks"]} == {world["late"], world["soon"], world["post"]}
    assert mine["overdue"] == 1 and mine["open_today"] == 2
    done = client.post("/api/v1/tasks/done", json={"task_ids": [world["late"]], "proof": "m1"}, headers=guide)
    assert done.json() == {"done": 1, "skipped": [], "confirmed": 0}
    assert (
        client.post("/api/v1/tasks/done", json={"task_ids": [world["far"]]}, headers=guide).status_code == 403
    )
    assert client.get("/api/v1/tasks", headers=org.token("admin")).status_code == 404
    team = client.get("/api/v1/tasks/team", headers=org.token("admin")).json()
    by_name = {r["name"]: r for r in team}
    assert by_name["陈导购"]["done"] == 1 and by_name["卫导购"]["due"] == 1
    signed_in(client, "manager")
    page = client.get("/tasks/team")
    assert page.status_code == 200 and "陈导购" in page.text and "卫导购" not in page.text
    other = client.get("/tasks", params={"staff": by_name["陈导购"]["staff_id"]})
    assert other.status_code == 200 and f'data-task="{world["soon"]}"' in other.text
    assert 'id="inbox-empty"' in client.get("/tasks").text  # the manager's own (m1's) inbox is empty


def test_accounts_without_staff_get_a_page_not_an_error(client: TestClient, world: dict[str, int]) -> None:
    for username in ("admin", "analyst"):
        signed_in(client, username)
        page = client.get("/tasks")
        assert page.status_code == 200 and 'id="no-inbox"' in page.text
        assert client.get("/scripts").status_code == 200
        assert 'href="/tasks"' in page.text and 'href="/scripts"' in page.text  # both in the nav
