"""Brand stage history and versioned KPI sets: seeds use catalog codes, validation names the bad item, versions."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.errors import Forbidden, Invalid
from siyu.models import AuditLog, BrandStage, KpiSet, KpiSetItem
from siyu.org.permissions import SYSTEM_ACTOR, Actor, DataScope, PermissionRole
from siyu.performance.catalog import METRICS
from siyu.performance.kpi_seed import HEAD_ROLE, ROI_NOTE, SEED_SETS, seeded_codes
from siyu.performance.kpi_service import (
    ItemIn,
    install_seed,
    kpi_set_for,
    save_kpi_set,
    set_stage,
    stage_on,
    validate_items,
)

GUIDE_ACTOR = Actor(
    account_id=None, username="g", role=PermissionRole.guide, scope=DataScope.self_, staff_id=1
)


def test_every_seeded_code_is_in_the_catalog_and_weights_sum_to_100() -> None:
    assert seeded_codes() <= set(METRICS), seeded_codes() - set(METRICS)
    for key, (items, _note) in SEED_SETS.items():
        assert sum(w for _c, w, _n in items) == 100, key
        validate_items([ItemIn(c, w, n) for c, w, n in items])
    # Every stage has a head set, and the head's sets say that ROI waits for ads.
    for stage in BrandStage:
        items, note = SEED_SETS[(HEAD_ROLE, stage)]
        assert note == ROI_NOTE
        assert {"private_users", "gmv"} <= {c for c, _w, _n in items}
    growth = {c for c, _w, _n in SEED_SETS[("guide", BrandStage.growth)][0]}
    assert {"store_visit_rate", "conversion_rate", "referral_rate"} <= growth
    assert "revenue_per_staff" in {c for c, _w, _n in SEED_SETS[("store_manager", BrandStage.steady)][0]}


def test_install_seed_writes_each_role_stage_once(session: Session) -> None:
    assert install_seed(session, SYSTEM_ACTOR, date(2026, 1, 1)) == len(SEED_SETS)
    assert install_seed(session, SYSTEM_ACTOR, date(2026, 1, 1)) == 0
    assert session.scalar(select(func.count()).select_from(KpiSet)) == len(SEED_SETS)
    expected_items = sum(len(items) for items, _n in SEED_SETS.values())
    assert session.scalar(select(func.count()).select_from(KpiSetItem)) == expected_items


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (
            [ItemIn("gmv", 60), ItemIn("no_such_metric", 40)],
            "item 2: metric 'no_such_metric' is not in the metric catalog",
        ),
        ([ItemIn("gmv", 60), ItemIn("orders", 30)], "weights sum to 90"),
        ([ItemIn("gmv", 50), ItemIn("gmv", 50)], "item 2: metric 'gmv' appears twice"),
        ([ItemIn("gmv", 0), ItemIn("orders", 100)], "item 1 (gmv): weight 0"),
        ([], "no items"),
    ],
)
def test_validation_names_the_bad_item(session: Session, items: list[ItemIn], message: str) -> None:
    with pytest.raises(Invalid) as caught:
        save_kpi_set(session, SYSTEM_ACTOR, "guide", "launch", date(2026, 1, 1), items)
    assert message in caught.value.message
    assert session.scalar(select(func.count()).select_from(KpiSet)) == 0


def test_only_admin_or_head_changes_sets_and_stage(session: Session) -> None:
    with pytest.raises(Forbidden):
        save_kpi_set(session, GUIDE_ACTOR, "guide", "launch", date(2026, 1, 1), [ItemIn("gmv", 100)])
    with pytest.raises(Forbidden):
        set_stage(session, GUIDE_ACTOR, "growth", date(2026, 1, 1), None)
    with pytest.raises(Invalid, match="'middle' is not a stage"):
        set_stage(session, SYSTEM_ACTOR, "middle", date(2026, 1, 1), None)


def test_stage_history_decides_the_stage_of_each_day(session: Session) -> None:
    assert stage_on(session, date(2026, 1, 1)) is BrandStage.launch  # nothing set yet
    set_stage(session, SYSTEM_ACTOR, "growth", date(2026, 3, 1), "results now")
    set_stage(session, SYSTEM_ACTOR, "steady", date(2026, 9, 1), None)
    assert stage_on(session, date(2026, 2, 28)) is BrandStage.launch
    assert stage_on(session, date(2026, 3, 1)) is BrandStage.growth
    assert stage_on(session, date(2026, 8, 31)) is BrandStage.growth
    assert stage_on(session, date(2026, 9, 1)) is BrandStage.steady
    actions = session.scalars(select(AuditLog.action).where(AuditLog.action == "stage.set")).all()
    assert len(actions) == 2


def test_a_period_is_scored_by_the_version_in_force_then(session: Session) -> None:
    v1 = save_kpi_set(session, SYSTEM_ACTOR, "guide", "growth", date(2026, 1, 1), [ItemIn("gmv", 100)])
    v2 = save_kpi_set(
        session, SYSTEM_ACTOR, "guide", "growth", date(2026, 4, 1), [ItemIn("gmv", 70), ItemIn("orders", 30)]
    )
    assert (v1.version, v2.version) == (1, 2)
    set_stage(session, SYSTEM_ACTOR, "growth", date(2026, 1, 1), None)
    feb = kpi_set_for(session, "guide", date(2026, 2, 1))
    apr = kpi_set_for(session, "guide", date(2026, 4, 1))
    assert feb is not None and feb.id == v1.id and [i.metric_code for i in feb.items] == ["gmv"]
    assert apr is not None and apr.id == v2.id and [i.weight for i in apr.items] == [70, 30]
    # Version 1 was not touched by writing version 2.
    assert session.scalars(select(KpiSetItem.weight).where(KpiSetItem.kpi_set_id == v1.id)).all() == [100]
    # "head" is the head of private domain's role code as stored.
    head = save_kpi_set(
        session, SYSTEM_ACTOR, "head", "growth", date(2026, 1, 1), [ItemIn("private_users", 100)]
    )
    assert head.role_code == HEAD_ROLE
    in_force = kpi_set_for(session, "head", date(2026, 2, 1))
    assert in_force is not None and in_force.id == head.id
    # Before any version, and in a stage without a set, nothing is in force.
    assert kpi_set_for(session, "guide", date(2025, 12, 31)) is None
    assert kpi_set_for(session, "guide", date(2026, 5, 1), BrandStage.steady) is None


def test_api_stage_and_kpi_sets(client: TestClient, auth: dict[str, str]) -> None:
    r = client.post("/api/v1/stage", json={"stage": "growth", "effective_from": "2026-03-01"}, headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["stage"] == "growth"
    r = client.get("/api/v1/stage", params={"day": "2026-02-01"}, headers=auth)
    assert r.json()["stage"] == "launch" and len(r.json()["history"]) == 1
    bad = {"role_code": "guide", "stage": "growth", "effective_from": "2026-03-01",
           "items": [{"metric_code": "gmv", "weight": 50}, {"metric_code": "bogus", "weight": 50}]}  # fmt: skip
    r = client.post("/api/v1/kpi-sets", json=bad, headers=auth)
    assert r.status_code == 422 and "bogus" in r.json()["message"]
    good = {
        **bad,
        "items": [{"metric_code": "gmv", "weight": 50}, {"metric_code": "conversion_rate", "weight": 50}],
    }
    r = client.post("/api/v1/kpi-sets", json=good, headers=auth)
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 1
    r = client.get("/api/v1/kpi-sets", params={"day": "2026-03-05"}, headers=auth)
    assert [s["role_code"] for s in r.json()] == ["guide"]
    r = client.get("/api/v1/kpi-sets/guide/growth", headers=auth)
    assert [v["version"] for v in r.json()] == [1]
