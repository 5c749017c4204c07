"""Role map console pages: map columns and holder counts per scope, role page, JD, edit / new / deactivate / reset."""

from __future__ import annotations

import html as html_lib
import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update

from siyu.db.engine import session_factory
from siyu.models import Account, AuditLog, OrgUnit
from siyu.models.talent import RoleDefinition
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.performance.catalog import METRICS
from siyu.performance.kpi_service import ItemIn, save_kpi_set
from siyu.talent.contract import RolePosition, ValueStage
from siyu.talent.roles_catalog import shipped_by_code, shipped_catalog
from tests.talent.roles_support import Org, build_org, signed_in
from tests.talent.test_roles_catalog import brute_holders
from tests.web.conftest import csrf_from

DEMO_ROLES = [
    "private_domain_lead", "user_ops", "member_ops", "content_ops", "copywriter", "designer", "campaign_planner",
    "data_analyst", "product_ops", "ad_buyer", "region_manager", "store_manager", "guide",
]  # fmt: skip


@pytest.fixture()
def org(engine: Engine) -> Org:
    return build_org(engine)


def element(page: str, element_id: str, closing: str) -> str:
    """The markup from the element with id to its closing tag."""
    start = page.index(f'id="{element_id}"')
    return page[start : page.index(closing, start)]


def list_counts(page: str) -> dict[str, int]:
    """Role code → holder count of the #role-list table."""
    table = element(page, "role-list", "</table>")
    rows = re.findall(r'<tr data-role="([a-z0-9_]+)">.*?<td data-key="holders">(\d+)</td>', table, re.S)
    return {code: int(n) for code, n in rows}


def test_map_columns_follow_value_stages_and_counts_reconcile_per_scope(
    client: TestClient, org: Org, engine: Engine
) -> None:
    with session_factory(engine)() as s:
        r1_path = s.scalar(select(OrgUnit.path).where(OrgUnit.code == "r1"))
        expected = {"admin": brute_holders(s, None), "manager": brute_holders(s, r1_path)}
    for username, brute in expected.items():
        page = signed_in(client, username).get("/talent/roles").text
        counts = list_counts(page)
        assert set(counts) == {e.code for e in shipped_catalog()}
        for code, n in counts.items():
            assert n == len(brute.get(code, set())), (username, code)
    page = signed_in(client, "admin").get("/talent/roles").text
    grid = element(page, "role-map", "</table>")
    for v in ValueStage:
        column = grid.split(f'data-column="{v.value}"')[1].split("</td>")[0]
        codes = re.findall(r'data-role="([a-z0-9_]+)" data-position="(\w+)"', column)
        expected_codes = [e.code for e in shipped_catalog() if v in e.value_stages]
        assert sorted(c for c, _p in codes) == sorted(expected_codes), v
        positions = [p for _c, p in codes]
        assert positions == sorted(positions, key=lambda p: p != RolePosition.lead.value), v  # lead first
    assert "获客引流" in page and "主导岗位" in page  # zh labels by default


def test_map_filters_by_value_stage_and_programme_stage(client: TestClient, org: Org) -> None:
    signed_in(client, "guide")
    page = client.get("/talent/roles", params={"value": "acquisition"}).text
    grid = element(page, "role-map", "</table>")
    assert 'data-column="acquisition"' in grid and 'data-column="repurchase_fission"' not in grid
    launch = client.get("/talent/roles", params={"stage": "launch"}).text
    launch_codes = set(list_counts(launch))
    assert launch_codes == {e.code for e in shipped_catalog() if e.needed_from.value == "launch"}
    assert client.get("/talent/roles", params={"stage": "middle"}).status_code == 422


@pytest.mark.parametrize("code", DEMO_ROLES)
def test_role_page_renders_for_each_demo_role(client: TestClient, org: Org, code: str) -> None:
    page = signed_in(client, "analyst").get(f"/talent/roles/{code}")
    assert page.status_code == 200, page.text
    entry = shipped_by_code()[code]
    text = html_lib.unescape(page.text)
    assert entry.name_zh in text and entry.definition_zh in text
    for duty in entry.duties:
        assert duty in text
    kpis = element(page.text, "role-kpis", "</ul>")
    assert re.findall(r'data-metric="(\w+)"', kpis) == list(entry.kpi_metric_codes)
    assert all(f"/performance/metrics#metric-{m}" in kpis for m in entry.kpi_metric_codes)
    jd = html_lib.unescape(element(page.text, "role-jd", "</textarea>"))
    assert "readonly" in jd and entry.duties[0] in jd and METRICS[entry.kpi_metric_codes[0]].name_zh in jd
    assert 'id="role-actions"' not in page.text  # analysts read only


def test_role_page_lists_holders_in_scope_and_the_kpi_set_in_force(
    client: TestClient, org: Org, engine: Engine
) -> None:
    with session_factory(engine)() as s:
        save_kpi_set(
            s,
            SYSTEM_ACTOR,
            "guide",
            "launch",
            date(2020, 1, 1),
            [ItemIn("gmv", 60), ItemIn("new_contacts", 40)],
        )
        s.commit()
    page = signed_in(client, "manager").get("/talent/roles/guide").text
    table = element(page, "role-holders", "</table>")
    assert len(re.findall(r"data-staff=", table)) == 3
    assert (
        "陈导购" in table
        and "褚导购" in table
        and "冯店长" in table
        and "卫导购" not in table
        and "蒋离职" not in table
    )
    kpi = element(page, "role-kpi-set", "</table>")
    assert re.findall(r'data-metric="(\w+)"><td>[^<]+</td><td>(\d+)%', kpi) == [
        ("gmv", "60"),
        ("new_contacts", "40"),
    ]
    assert "GMV 60%" in html_lib.unescape(element(page, "role-jd", "</textarea>"))
    admin_page = signed_in(client, "admin").get("/talent/roles/guide").text
    assert len(re.findall(r"data-staff=", element(admin_page, "role-holders", "</table>"))) == 4


def test_guide_reads_but_cannot_edit(client: TestClient, org: Org, engine: Engine) -> None:
    signed_in(client, "guide")
    page = client.get("/talent/roles/guide")
    assert (
        page.status_code == 200
        and 'id="role-actions"' not in page.text
        and 'id="role-new"' not in client.get("/talent/roles").text
    )
    token = csrf_from(page.text)
    assert client.get("/talent/roles/guide/edit").status_code == 403
    assert client.get("/talent/roles/new").status_code == 403
    response = client.post(
        "/talent/roles/guide/deactivate", data={"csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 403
    response = client.post(
        "/talent/roles/guide/edit", data={"csrf_token": token, "name_zh": "x"}, follow_redirects=False
    )
    assert response.status_code == 403
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(RoleDefinition)) == 0


def form_of(entry_code: str, **changes: object) -> dict[str, object]:
    """The edit form's fields for a shipped role, with changes."""
    e = shipped_by_code()[entry_code]
    data: dict[str, object] = {
        "name_zh": e.name_zh,
        "name_en": e.name_en,
        "definition_zh": e.definition_zh,
        "definition_en": e.definition_en,
        "duties": "\n".join(e.duties),
        "competencies": "\n".join(e.competencies),
        "kpi_metric_codes": list(e.kpi_metric_codes),
        "needed_from": e.needed_from.value,
        "value_stages": [v.value for v in e.value_stages],
        "position": e.position.value,
        "sort_order": str(e.sort_order),
    }
    data.update(changes)
    return data


def test_lead_edits_deactivates_and_resets_through_the_forms(
    client: TestClient, org: Org, engine: Engine
) -> None:
    signed_in(client, "lead")
    form = client.get("/talent/roles/designer/edit")
    assert form.status_code == 200 and 'name="duties"' in form.text
    token = csrf_from(form.text)
    bad = client.post(
        "/talent/roles/designer/edit", data={**form_of("designer", name_zh=""), "csrf_token": token}
    )
    assert bad.status_code == 422 and "name_zh" in bad.text and 'id="form-error"' in bad.text
    bad = client.post(
        "/talent/roles/designer/edit",
        data={**form_of("designer", kpi_metric_codes=["gmv", "nope"]), "csrf_token": token},
    )
    assert bad.status_code == 422 and "nope" in bad.text
    ok = client.post(
        "/talent/roles/designer/edit",
        data={**form_of("designer", name_zh="视觉美编", duties="出海报\n做长图"), "csrf_token": token},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/talent/roles/designer"
    page = client.get("/talent/roles/designer").text
    assert "视觉美编" in page and "<li>做长图</li>" in page
    token = csrf_from(page)
    assert (
        client.post(
            "/talent/roles/designer/deactivate", data={"csrf_token": token}, follow_redirects=False
        ).status_code
        == 303
    )
    assert 'data-role="designer"' not in element(client.get("/talent/roles").text, "role-list", "</table>")
    assert 'data-role="designer"' in client.get("/talent/roles", params={"inactive": "true"}).text
    assert (
        client.post(
            "/talent/roles/designer/reset", data={"csrf_token": token}, follow_redirects=False
        ).status_code
        == 303
    )
    page = client.get("/talent/roles/designer").text
    assert shipped_by_code()["designer"].name_zh in page and "视觉美编" not in page
    with session_factory(engine)() as s:
        actions = s.scalars(
            select(AuditLog.action).where(AuditLog.action.like("talent.role.%")).order_by(AuditLog.id)
        ).all()
    assert actions == ["talent.role.edit", "talent.role.deactivate", "talent.role.reset"]


def test_admin_adds_a_custom_role(client: TestClient, org: Org) -> None:
    signed_in(client, "admin")
    token = csrf_from(client.get("/talent/roles/new").text)
    data = {
        **form_of("guide", name_zh="社群团长", name_en="Group leader", position="supporting"),
        "csrf_token": token,
    }
    clash = client.post("/talent/roles/new", data={**data, "code": "guide"})
    assert clash.status_code == 409 and "guide" in clash.text
    created = client.post("/talent/roles/new", data={**data, "code": "group_leader"}, follow_redirects=False)
    assert created.status_code == 303 and created.headers["location"] == "/talent/roles/group_leader"
    page = client.get("/talent/roles/group_leader").text
    assert "社群团长" in page and 'action="/talent/roles/group_leader/reset"' not in page
    assert 'data-role="group_leader"' in element(client.get("/talent/roles").text, "role-list", "</table>")


def test_english_locale_shows_english_names(client: TestClient, org: Org, engine: Engine) -> None:
    with session_factory(engine)() as s:
        s.execute(update(Account).where(Account.username == "analyst").values(locale="en"))
        s.commit()
    page = signed_in(client, "analyst").get("/talent/roles").text
    assert "Lead role" in page and "Digital store guide" in page and "Acquisition</th>" in page
    detail = signed_in(client, "analyst").get("/talent/roles/guide").text
    assert "Position: Digital store guide" in html_lib.unescape(detail)
