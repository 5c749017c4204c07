"""Competency models: the seed-003 defaults, validation naming the path, versions per role, fallback, access."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from siyu.errors import Forbidden, Invalid
from siyu.models import AuditLog
from siyu.models.talent import CompetencyModel
from siyu.org.permissions import SYSTEM_ACTOR, Actor, DataScope, PermissionRole
from siyu.performance.catalog import METRICS
from siyu.talent import competency
from siyu.talent.competency import DEFAULT_DIMENSIONS, GUIDE_DIMENSIONS, parse_dimensions
from siyu.talent.evidence import EVIDENCE_METRICS, KPI_IMPROVEMENT

LEAD = Actor(None, "lead", PermissionRole.private_domain_lead, DataScope.all)
MANAGER = Actor(None, "boss", PermissionRole.manager, DataScope.subtree)


def bodies() -> list[dict[str, Any]]:
    return [d.to_dict() for d in DEFAULT_DIMENSIONS]


def test_defaults_follow_seed_003() -> None:
    codes = [d.code for d in DEFAULT_DIMENSIONS]
    assert codes == ["user_thinking", "learning", "execution", "business_analysis", "product_selection"]
    assert sum(d.weight for d in DEFAULT_DIMENSIONS) == 100 == sum(d.weight for d in GUIDE_DIMENSIONS)
    assert all(len(d.anchors) == 5 and all(a.strip() for a in d.anchors) for d in DEFAULT_DIMENSIONS)
    by_code = {d.code: d for d in DEFAULT_DIMENSIONS}
    assert by_code["execution"].evidence_metric_codes == ("task_on_time_rate", "tasks_done")
    assert set(by_code["user_thinking"].evidence_metric_codes) == {
        "retention_rate_30d", "repurchase_rate", "first_response_seconds", "reply_within_3min_rate",
    }  # fmt: skip
    assert by_code["business_analysis"].evidence_metric_codes == ("gmv", "conversion_rate", "avg_order_value")
    assert by_code["product_selection"].evidence_metric_codes == ("avg_order_value", "repurchase_rate")
    assert by_code["learning"].evidence_metric_codes == (KPI_IMPROVEMENT,)
    guide_exec = {d.code: d for d in GUIDE_DIMENSIONS}["execution"].evidence_metric_codes
    assert {"greetings_sent", "moments_posts"} <= set(guide_exec)
    for d in (*DEFAULT_DIMENSIONS, *GUIDE_DIMENSIONS):
        assert all(c in METRICS or c == KPI_IMPROVEMENT for c in d.evidence_metric_codes)
    # The execution anchors speak of the article's details (renaming contacts to the required format).
    assert "日期+姓名+用户阶段" in by_code["execution"].anchors[0]
    assert parse_dimensions(DEFAULT_DIMENSIONS) == DEFAULT_DIMENSIONS
    assert KPI_IMPROVEMENT in EVIDENCE_METRICS


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: b[2].update(weight=0), "dimensions[2].weight: 0 must be a positive whole number"),
        (lambda b: b[2].update(weight=-5), "dimensions[2].weight"),
        (lambda b: b[2].update(weight=2.5), "dimensions[2].weight: 2.5 is not a whole number"),
        (lambda b: b[2].update(weight=True), "dimensions[2].weight: True is not a whole number"),
        (lambda b: b[1].update(weight=20), "dimensions: weights sum to 105"),
        (lambda b: b[3].update(code="Business"), "dimensions[3].code: 'Business' must be lower-case"),
        (lambda b: b[3].update(code="9x"), "dimensions[3].code"),
        (lambda b: b[4].update(code="learning"), "dimensions[4].code: 'learning' is used by another"),
        (lambda b: b[0].update(anchors=["a", "b", "c", "d"]), "dimensions[0].anchors: give exactly 5"),
        (lambda b: b[0]["anchors"].__setitem__(3, " "), "dimensions[0].anchors[3]: the anchor for score 4"),
        (
            lambda b: b[1].update(evidence_metric_codes=["gmv", "nope"]),
            "dimensions[1].evidence_metric_codes[1]",
        ),
        (lambda b: b[1].update(evidence_metric_codes=["gmv", "gmv"]), "'gmv' is listed twice"),
        (lambda b: b[1].update(name_zh=""), "dimensions[1].name_zh: empty"),
        (lambda b: b.clear(), "dimensions: give at least one dimension"),
    ],
)
def test_validation_names_the_path(change: Any, message: str) -> None:
    raw = bodies()
    change(raw)
    with pytest.raises(Invalid) as caught:
        parse_dimensions(raw)
    assert message in caught.value.message


def test_custom_dimension_and_weights_accepted() -> None:
    raw = bodies()
    raw[0]["weight"] = 15
    raw.append({"code": "teamwork", "name_zh": "团队协作", "weight": 10, "anchors": list("12345")})
    dims = parse_dimensions(raw)
    assert (
        dims[-1].code == "teamwork"
        and dims[-1].name_en == "teamwork"
        and dims[-1].evidence_metric_codes == ()
    )


def test_model_for_seeds_once_and_falls_back(session: Session) -> None:
    assert session.scalar(select(func.count()).select_from(CompetencyModel)) == 0
    default = competency.model_for(session, "user_ops")
    assert (default.role_key, default.version) == ("*", 1)
    assert competency.dimensions_of(default) == DEFAULT_DIMENSIONS
    guide = competency.model_for(session, "guide")
    assert guide.role_key == "guide" and competency.dimensions_of(guide) == GUIDE_DIMENSIONS
    competency.model_for(session, "store_manager")
    assert session.scalar(select(func.count()).select_from(CompetencyModel)) == 2  # seeded once


def test_save_model_versions_audit_and_access(session: Session) -> None:
    raw = bodies()
    raw[0]["weight"], raw[1]["weight"] = 30, 10
    with pytest.raises(Forbidden, match="may not edit"):
        competency.save_model(session, MANAGER, "user_ops", raw, "no")
    first = competency.save_model(session, LEAD, "user_ops", raw, "更重用户思维")
    second = competency.save_model(session, SYSTEM_ACTOR, "user_ops", bodies(), None)
    assert (first.version, second.version) == (1, 2)
    assert competency.model_for(session, "user_ops").id == second.id
    assert [m.version for m in competency.versions(session, "user_ops")] == [2, 1]
    assert competency.dimensions_of(first)[0].weight == 30  # older versions stay as they were
    default_v2 = competency.save_model(session, LEAD, "*", bodies(), "")
    assert default_v2.version == 2 and competency.model_for(session, "data_analyst").id == default_v2.id
    details = session.scalars(select(AuditLog.detail).where(AuditLog.action == "competency_model.save")).all()
    assert [(d["role_key"], d["version"]) for d in details] == [("user_ops", 1), ("user_ops", 2), ("*", 2)]
    with pytest.raises(Invalid, match="not a role code"):
        competency.save_model(session, LEAD, "Bad Role", bodies(), None)


def test_models_for_many_roles_is_one_query(session: Session) -> None:
    competency.model_for(session, "guide")  # seed first
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        found = competency.models_for(session, ["guide", "user_ops", "store_manager", "designer"])
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert {k: v.role_key for k, v in found.items()} == {
        "guide": "guide", "user_ops": "*", "store_manager": "*", "designer": "*",
    }  # fmt: skip
    assert len(statements) == 2  # the seed check and one select of the latest versions
