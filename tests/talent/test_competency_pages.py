"""Competency model pages and API: render per role, edit validation naming the path, versions, audit, 403."""

from __future__ import annotations

import html as html_lib
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from siyu.db.engine import session_factory
from siyu.models import AuditLog
from siyu.models.talent import CompetencyModel
from siyu.talent.competency import DEFAULT_DIMENSIONS
from tests.talent.roles_support import Org, build_org, signed_in
from tests.web.conftest import csrf_from


@pytest.fixture()
def org(engine: Engine) -> Org:
    return build_org(engine)


def form_of(dims: Any, **changes: str) -> dict[str, Any]:
    """The edit form's fields for dimensions (as the page renders them), with changes applied."""
    data: dict[str, Any] = {"note": "test"}
    for n, d in enumerate(dims):
        data.update(
            {
                f"code_{n}": d.code,
                f"name_zh_{n}": d.name_zh,
                f"name_en_{n}": d.name_en,
                f"weight_{n}": str(d.weight),
                f"description_{n}": d.description_zh,
                f"metrics_{n}": list(d.evidence_metric_codes),
                **{f"anchor_{n}_{k + 1}": a for k, a in enumerate(d.anchors)},
            }
        )
    data.update(changes)
    return data


def post_edit(client: TestClient, role: str, data: dict[str, Any]) -> Any:
    page = client.get(f"/talent/competencies/{role}/edit")
    assert page.status_code == 200, page.text[:300]
    return client.post(
        f"/talent/competencies/{role}/edit",
        data={**data, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )


def models(engine: Engine, key: str) -> list[tuple[int, list[Any]]]:
    with session_factory(engine)() as s:
        rows = s.execute(
            select(CompetencyModel.version, CompetencyModel.dimensions)
            .where(CompetencyModel.role_key == key)
            .order_by(CompetencyModel.version)
        ).all()
        return [(int(v), list(d)) for v, d in rows]


def audit_rows(engine: Engine) -> list[dict[str, Any]]:
    with session_factory(engine)() as s:
        return [
            dict(d)
            for d in s.scalars(select(AuditLog.detail).where(AuditLog.action == "competency_model.save"))
        ]


def test_overview_renders_default_and_role_models(client: TestClient, org: Org, engine: Engine) -> None:
    page = signed_in(client, "manager").get("/talent/competencies")
    assert page.status_code == 200
    text = html_lib.unescape(page.text)
    assert 'id="model-default"' in page.text and 'id="model-guide"' in page.text  # seeded on first visit
    for d in DEFAULT_DIMENSIONS:
        assert f'data-dimension="{d.code}"' in page.text and d.anchors[4] in text
    assert "任务按时完成率" in text and "30日留存率·全渠道" in text and "首次响应时长" in text
    assert "指标进步占比" in text and "主管判断" in text
    # Roles held by staff without their own model are listed as using the default.
    inheriting = page.text[page.text.index('id="inheriting"') :]
    assert 'data-role="user_ops"' in inheriting and 'data-role="guide"' not in inheriting.split("</p>")[0]
    assert "<script>" not in page.text and "style=" not in page.text
    assert models(engine, "*")[0][0] == 1 and models(engine, "guide")[0][0] == 1


@pytest.mark.parametrize("role", ["default", "guide", "store_manager", "user_ops"])
def test_edit_page_renders_per_role(client: TestClient, org: Org, role: str) -> None:
    page = signed_in(client, "lead").get(f"/talent/competencies/{role}/edit")
    assert page.status_code == 200
    assert 'name="code_4"' in page.text and 'name="code_5"' in page.text  # a blank row for a custom dimension
    assert ('id="inherits"' in page.text) == (role in ("store_manager", "user_ops"))
    if role == "guide":
        assert '<option value="greetings_sent" selected>' in page.text


def test_save_new_version_with_custom_dimension_is_audited(
    client: TestClient, org: Org, engine: Engine
) -> None:
    signed_in(client, "lead")
    dims = DEFAULT_DIMENSIONS
    data = form_of(
        dims,
        weight_0="20",  # user_thinking 25 → 20, the custom dimension takes 5
        code_5="teamwork",
        name_zh_5="团队协作",
        name_en_5="Teamwork",
        weight_5="5",
        metrics_5=["tasks_done"],  # type: ignore[arg-type]
        **{f"anchor_5_{k}": f"协作水平 {k}" for k in range(1, 6)},
    )
    response = post_edit(client, "user_ops", data)
    assert response.status_code == 303, response.text[:500]
    [(version, saved)] = models(engine, "user_ops")
    assert version == 1 and [d["code"] for d in saved][-1] == "teamwork"
    assert {d["code"]: d["weight"] for d in saved}["user_thinking"] == 20
    assert sum(d["weight"] for d in saved) == 100
    # A second save increments the version; the first stays as it was.
    response = post_edit(client, "user_ops", {**data, "remove_5": "1", "weight_0": "25"})
    assert response.status_code == 303
    assert [v for v, _ in models(engine, "user_ops")] == [1, 2]
    assert len(models(engine, "user_ops")[0][1]) == 6 and len(models(engine, "user_ops")[1][1]) == 5
    details = audit_rows(engine)
    assert [(d["role_key"], d["version"]) for d in details] == [("user_ops", 1), ("user_ops", 2)]
    assert details[0]["actor"] == "lead" and ["teamwork", 5] in details[0]["weights"]
    page = client.get("/talent/competencies").text
    assert 'id="model-user_ops" data-role-key="user_ops" data-version="2"' in page
    assert "团队协作" not in html_lib.unescape(page)  # the latest version no longer has it
    history = client.get("/talent/competencies/user_ops/edit").text
    assert 'data-version="1"' in history and "团队协作 5%" in html_lib.unescape(history)


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"weight_2": "30"}, "dimensions: weights sum to 105"),
        ({"weight_2": "abc"}, "dimensions[2].weight"),
        ({"weight_2": "0"}, "dimensions[2].weight"),
        ({"anchor_1_3": "  "}, "dimensions[1].anchors[2]"),
        ({"code_3": "Bad Code"}, "dimensions[3].code"),
        ({"code_3": "execution"}, "dimensions[3].code: 'execution' is already used by dimensions[2]"),
        ({"metrics_4": ["no_such_metric"]}, "dimensions[4].evidence_metric_codes[0]"),
        ({"name_zh_0": ""}, "dimensions[0].name_zh"),
    ],
)
def test_edit_validation_names_the_path(
    client: TestClient, org: Org, engine: Engine, changes: dict[str, Any], path: str
) -> None:
    signed_in(client, "admin")
    response = post_edit(client, "default", form_of(DEFAULT_DIMENSIONS, **changes))
    assert response.status_code == 422
    error = html_lib.unescape(response.text.split('id="form-error">')[1].split("</p>")[0])
    assert path in error
    assert [v for v, _ in models(engine, "*")] == [1]  # nothing saved
    assert audit_rows(engine) == []


@pytest.mark.parametrize("username", ["manager"])
def test_non_editors_read_only_and_403_on_post(
    client: TestClient, org: Org, engine: Engine, username: str
) -> None:
    page = signed_in(client, username).get("/talent/competencies/default/edit")
    assert page.status_code == 200 and 'id="read-only"' in page.text and "<fieldset disabled>" in page.text
    response = client.post(
        "/talent/competencies/default/edit",
        data={**form_of(DEFAULT_DIMENSIONS), "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert [v for v, _ in models(engine, "*")] == [1] and audit_rows(engine) == []


@pytest.mark.parametrize("username", ["guide", "analyst"])
def test_roles_outside_assessments_may_not_open(client: TestClient, org: Org, username: str) -> None:
    assert signed_in(client, username).get("/talent/competencies").status_code == 403
    assert client.get("/talent/competencies/guide/edit").status_code == 403


def test_api_get_and_put(client: TestClient, org: Org, engine: Engine) -> None:
    lead, manager, guide = org.token("lead"), org.token("manager"), org.token("guide")
    got = client.get("/api/v1/talent/competencies/store_manager", headers=manager)
    assert got.status_code == 200
    body = got.json()
    assert body["role_key"] == "*" and body["inherited"] is True and body["version"] == 1
    assert [d["code"] for d in body["dimensions"]] == [d.code for d in DEFAULT_DIMENSIONS]
    assert body["dimensions"][0]["evidence_metrics"][0]["name_zh"] == "30日留存率·全渠道"
    assert client.get("/api/v1/talent/competencies/guide", headers=guide).status_code == 403
    dims = [d.to_dict() for d in DEFAULT_DIMENSIONS]
    dims[0]["weight"], dims[1]["weight"] = 30, 10
    assert (
        client.put(
            "/api/v1/talent/competencies/store_manager", json={"dimensions": dims}, headers=manager
        ).status_code
        == 403
    )
    put = client.put(
        "/api/v1/talent/competencies/store_manager", json={"dimensions": dims, "note": "x"}, headers=lead
    )
    assert put.status_code == 200, put.text
    assert put.json()["role_key"] == "store_manager" and put.json()["inherited"] is False
    assert put.json()["version"] == 1 and put.json()["dimensions"][0]["weight"] == 30
    bad = [*dims[:-1], {**dims[-1], "weight": 20}]
    response = client.put("/api/v1/talent/competencies/store_manager", json={"dimensions": bad}, headers=lead)
    assert response.status_code == 422 and "weights sum to 105" in response.json()["message"]
    dup = [*dims[:-1], {**dims[-1], "code": "learning"}]
    response = client.put("/api/v1/talent/competencies/default", json={"dimensions": dup}, headers=lead)
    assert response.status_code == 422 and response.json()["message"].startswith("dimensions[4].code")
    listed = client.get("/api/v1/talent/competencies", headers=lead).json()
    assert [m["role_key"] for m in listed] == ["*", "guide", "store_manager"]
    versions = client.get("/api/v1/talent/competencies/store_manager/versions", headers=lead).json()
    assert [v["version"] for v in versions] == [1]
    with session_factory(engine)() as s:
        assert (
            s.scalar(
                select(func.count()).select_from(AuditLog).where(AuditLog.action == "competency_model.save")
            )
            == 1
        )
