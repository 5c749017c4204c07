"""The role catalog: shipped data validity, overlay by console edits, service validation, audit, holders, JD."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from siyu.errors import Conflict, Forbidden, Invalid, NotFound
from siyu.models import AuditLog, BrandStage, OrgUnit, Staff, StaffRole
from siyu.models.talent import RoleDefinition
from siyu.org.permissions import SYSTEM_ACTOR, Actor, DataScope, PermissionRole
from siyu.performance.catalog import METRICS
from siyu.performance.kpi_service import ItemIn, kpi_set_for, save_kpi_set
from siyu.talent import roles_catalog
from siyu.talent.contract import RolePosition, ValueStage
from siyu.talent.roles_catalog import catalog, overlay, parse_catalog, role_entry, shipped_catalog
from siyu.talent.roles_service import (
    create_role,
    edit_role,
    holder_counts,
    holders,
    job_description,
    reset_role,
    set_active,
)
from tests.talent.roles_support import build_org

ISSUE_ROLES = {
    "private_domain_lead": "私域负责人",
    "ad_buyer": "品牌市场投放",
    "user_ops": "用户运营",
    "member_ops": "会员运营",
    "content_ops": "内容运营",
    "copywriter": "文案策划",
    "campaign_planner": "活动策划",
    "data_analyst": "数据分析",
    "product_ops": "产品运营",
    "designer": "平面设计",
    "mall_ops": "商城运营",
    "guide": "数字导购",
    "video_live": "视频/直播",
    "store_manager": "门店店长",
    "region_manager": "区域经理",
    "it_digital": "数字化/IT 支持",
    "customer_service": "客服",
}
LEAD_ROLES = {
    "private_domain_lead", "ad_buyer", "user_ops", "member_ops", "content_ops",
    "campaign_planner", "data_analyst", "mall_ops", "guide",
}  # fmt: skip
LAUNCH_TEAM = {"private_domain_lead", "campaign_planner", "copywriter", "product_ops", "designer"}
GUIDE = Actor(account_id=None, username="g", role=PermissionRole.guide, scope=DataScope.self_, staff_id=1)


def shipped_doc() -> dict[str, object]:
    """The shipped JSON document (a fresh copy to mutate)."""
    from importlib import resources

    return json.loads(resources.files("siyu.talent").joinpath("roles_data.json").read_text(encoding="utf-8"))


def test_every_issue_role_ships_with_its_chinese_name() -> None:
    by_code = {e.code: e for e in shipped_catalog()}
    assert set(by_code) == set(ISSUE_ROLES)
    for code, name in ISSUE_ROLES.items():
        assert name in by_code[code].name_zh, code
        assert by_code[code].name_en and by_code[code].definition_en, code


def test_shipped_entries_are_complete_and_their_kpis_are_catalog_metrics() -> None:
    for e in shipped_catalog():
        assert 3 <= len(e.duties) <= 6, e.code
        assert 3 <= len(e.competencies) <= 5, e.code
        assert e.kpi_metric_codes, e.code
        assert set(e.kpi_metric_codes) <= set(METRICS), (e.code, set(e.kpi_metric_codes) - set(METRICS))
        assert e.value_stages and e.builtin and e.active
    orders = [e.sort_order for e in shipped_catalog()]
    assert orders == sorted(orders) and len(set(orders)) == len(orders)


def test_nine_lead_roles_and_the_launch_team_of_seed_001() -> None:
    lead = {e.code for e in shipped_catalog() if e.position is RolePosition.lead}
    assert lead == LEAD_ROLES and len(lead) == 9
    launch = {e.code for e in shipped_catalog() if e.needed_from is BrandStage.launch}
    assert launch == LAUNCH_TEAM | {"guide", "store_manager"}
    for v in ValueStage:  # every value-stage column of the map has a lead role
        assert any(v in e.value_stages and e.position is RolePosition.lead for e in shipped_catalog()), v


def test_an_unknown_metric_code_fails_the_load_naming_role_and_code() -> None:
    doc = shipped_doc()
    roles = doc["roles"]
    assert isinstance(roles, list)
    roles[3]["kpi_metric_codes"] = ["gmv", "roi_long_term"]
    with pytest.raises(Invalid) as caught:
        parse_catalog(doc, "test.json")
    assert "'member_ops'" in caught.value.message and "roi_long_term" in caught.value.message
    roles[3]["kpi_metric_codes"] = ["gmv"]
    roles[4]["code"] = "member_ops"
    with pytest.raises(Invalid, match="member_ops appear more than once"):
        parse_catalog(doc, "test.json")


def test_overlay_row_body_wins_custom_rows_add_and_inactive_hides(session: Session) -> None:
    guide = role_entry(session, "guide")
    edited = {**guide.to_dict(), "name_zh": "线上导购", "sort_order": 1}
    custom = {**guide.to_dict(), "code": "ignored", "name_zh": "社群团长", "name_en": "Group leader"}
    session.add_all(
        [
            RoleDefinition(code="guide", body=edited, builtin=True, active=True),
            RoleDefinition(code="group_leader", body=custom, builtin=False, active=True),
            RoleDefinition(
                code="designer", body=role_entry(session, "designer").to_dict(), builtin=True, active=False
            ),
        ]
    )
    session.flush()
    entries = catalog(session)
    codes = [e.code for e in entries]
    assert codes[0] == "guide" and entries[0].name_zh == "线上导购" and entries[0].builtin
    assert "designer" not in codes
    assert "designer" in [e.code for e in catalog(session, include_inactive=True)]
    group_leader = role_entry(session, "group_leader")
    assert (
        group_leader.code == "group_leader"
        and not group_leader.builtin
        and group_leader.name_zh == "社群团长"
    )
    assert not role_entry(session, "designer").active
    assert len(codes) == len(ISSUE_ROLES)  # one hidden, one added
    # The pure overlay of no rows is the shipped catalog.
    assert overlay(shipped_catalog(), []) == list(shipped_catalog())
    with pytest.raises(NotFound, match="'no_such_role'"):
        role_entry(session, "no_such_role")


def test_catalog_is_one_query(engine: Engine, session: Session) -> None:
    from sqlalchemy import event

    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        catalog(session, include_inactive=True)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len([s for s in statements if "role_definitions" in s]) == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name_zh": "  "}, "role 'guide' field 'name_zh': must not be empty"),
        (
            {"kpi_metric_codes": ["gmv", "roi"]},
            "role 'guide' field 'kpi_metric_codes': roi not in the metric catalog",
        ),
        ({"position": "core"}, "role 'guide' field 'position': 'core' is not one of lead, supporting"),
        (
            {"needed_from": "mature"},
            "role 'guide' field 'needed_from': 'mature' is not one of launch, growth, steady",
        ),
        ({"value_stages": ["retention"]}, "role 'guide' field 'value_stages': 'retention' is not one of"),
        ({"value_stages": []}, "role 'guide' field 'value_stages': choose at least one"),
        ({"duties": ["", " "]}, "role 'guide' field 'duties': at least 1 item(s) needed"),
        ({"sort_order": "first"}, "role 'guide' field 'sort_order': 'first' is not a whole number"),
        ({"salary": 1}, "role 'guide': unknown field(s) salary"),
    ],
)
def test_edit_validation_names_role_and_field(
    session: Session, fields: dict[str, object], message: str
) -> None:
    with pytest.raises(Invalid) as caught:
        edit_role(session, SYSTEM_ACTOR, "guide", fields)
    assert message in caught.value.message
    assert session.scalar(select(func.count()).select_from(RoleDefinition)) == 0


def test_edit_deactivate_reset_are_audited_with_before_and_after(session: Session) -> None:
    after = edit_role(session, SYSTEM_ACTOR, "guide", {"name_zh": "线上导购", "kpi_metric_codes": ["gmv"]})
    assert after.name_zh == "线上导购" and after.kpi_metric_codes == ("gmv",) and after.builtin
    assert role_entry(session, "guide") == after
    set_active(session, SYSTEM_ACTOR, "guide", False)
    assert "guide" not in [e.code for e in catalog(session)]
    assert role_entry(session, "guide").name_zh == "线上导购"  # deactivating keeps the edit
    reset = reset_role(session, SYSTEM_ACTOR, "guide")
    assert reset == roles_catalog.shipped_by_code()["guide"] and role_entry(session, "guide").active
    assert session.scalar(select(func.count()).select_from(RoleDefinition)) == 0
    rows = session.scalars(select(AuditLog).order_by(AuditLog.id)).all()
    assert [r.action for r in rows] == ["talent.role.edit", "talent.role.deactivate", "talent.role.reset"]
    details = [r.detail or {} for r in rows]
    first = details[0]
    assert (
        first["code"] == "guide"
        and first["before"]["name_zh"] == "数字导购"
        and first["after"]["name_zh"] == "线上导购"
    )
    assert details[1]["before"]["active"] is True and details[1]["after"]["active"] is False
    assert details[2]["after"]["name_zh"] == "数字导购"


def test_custom_role_code_rules_and_reset_refusal(session: Session) -> None:
    body = {
        "name_zh": "社群团长",
        "name_en": "Group leader",
        "definition_zh": "带动社群活跃的用户代表。",
        "duties": ["维护社群氛围"],
        "competencies": ["亲和力"],
        "kpi_metric_codes": ["retention_rate_7d_group"],
        "needed_from": "growth",
        "value_stages": ["repurchase_fission"],
        "position": "supporting",
    }
    for bad in ("Group", "1abc", "a", "has-dash"):
        with pytest.raises(Invalid, match="role code"):
            create_role(session, SYSTEM_ACTOR, bad, body)
    with pytest.raises(Conflict, match="'guide'"):
        create_role(session, SYSTEM_ACTOR, "guide", body)
    created = create_role(session, SYSTEM_ACTOR, "group_leader", body)
    assert not created.builtin and created.sort_order == 1000
    with pytest.raises(Conflict, match="'group_leader'"):
        create_role(session, SYSTEM_ACTOR, "group_leader", body)
    assert catalog(session)[-1].code == "group_leader"
    with pytest.raises(Invalid, match="custom role has no shipped version"):
        reset_role(session, SYSTEM_ACTOR, "group_leader")
    action = session.scalar(select(AuditLog.action).where(AuditLog.action == "talent.role.create"))
    assert action == "talent.role.create"


def test_only_admin_or_lead_may_write(session: Session) -> None:
    for call in (
        lambda: edit_role(session, GUIDE, "guide", {"name_zh": "x"}),
        lambda: set_active(session, GUIDE, "guide", False),
        lambda: reset_role(session, GUIDE, "guide"),
        lambda: create_role(session, GUIDE, "abc", {}),
    ):
        with pytest.raises(Forbidden, match="may not edit the role map"):
            call()
    assert session.scalar(select(func.count()).select_from(AuditLog)) == 0


def brute_holders(session: Session, scope_path: str | None) -> dict[str, set[str]]:
    """Role → staff codes from the raw rows: active staff, unit path under scope_path (None: all)."""
    out: dict[str, set[str]] = defaultdict(set)
    rows = session.execute(
        select(StaffRole.role_code, Staff.code, Staff.status, OrgUnit.path)
        .join(Staff, Staff.id == StaffRole.staff_id)
        .join(OrgUnit, OrgUnit.id == Staff.unit_id)
    ).all()
    for role, code, status, path in rows:
        if status.value == "active" and (scope_path is None or path.startswith(scope_path)):
            out[role].add(code)
    return out


def test_holders_reconcile_with_staff_roles_in_each_scope(engine: Engine, session: Session) -> None:
    org = build_org(engine)
    codes = [e.code for e in shipped_catalog()]
    r1_path = session.scalar(select(OrgUnit.path).where(OrgUnit.code == "r1"))
    for username, scope_path in (("admin", None), ("lead", None), ("manager", r1_path)):
        actor = org.actor(username)
        found = holders(session, actor, codes)
        expected = brute_holders(session, scope_path)
        counts = holder_counts(session, actor, codes)
        for code in codes:
            assert {h.staff_code for h in found[code]} == expected.get(code, set()), (username, code)
            assert counts[code] == len(expected.get(code, set())), (username, code)
    manager_guides = {h.staff_code for h in holders(session, org.actor("manager"), ["guide"])["guide"]}
    assert manager_guides == {"sm1", "g1", "g2"}  # not g3 (other region), not g4 (left)
    guide_view = holders(session, org.actor("guide"), codes)
    assert {c: [h.staff_code for h in hs] for c, hs in guide_view.items() if hs} == {"guide": ["g1"]}


def test_job_description_lists_duties_competencies_kpis_and_the_set_in_force(session: Session) -> None:
    entry = role_entry(session, "guide")
    text = job_description(entry, None, "zh")
    assert text.startswith("职位：数字导购（Digital store guide）")
    for line in (*entry.duties, *entry.competencies):
        assert line in text
    for code in entry.kpi_metric_codes:
        assert f"- {METRICS[code].name_zh}" in text
    assert "考核指标与权重" not in text
    save_kpi_set(
        session,
        SYSTEM_ACTOR,
        "guide",
        "launch",
        date(2026, 1, 1),
        [ItemIn("gmv", 70), ItemIn("new_contacts", 30)],
    )
    kpi_set = kpi_set_for(session, "guide", date(2026, 2, 1))
    with_set = job_description(entry, kpi_set, "zh")
    assert "当前阶段（启动期）考核指标与权重：\n- GMV 70%\n- 加粉数 30%" in with_set
    english = job_description(entry, kpi_set, "en")
    assert english.startswith("Position: Digital store guide") and "- New contacts 30%" in english
