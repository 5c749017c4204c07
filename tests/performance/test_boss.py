"""The boss's page: 人效 and GMV equal the catalog, team cost = headcount × setting, private GMV by brute force."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from siyu.config import get_settings
from siyu.db.engine import session_factory
from siyu.models import ChannelMembership, Order, OrgUnit
from siyu.org.permissions import SYSTEM_ACTOR, Actor, DataScope, PermissionRole
from siyu.performance.boss import build_boss
from siyu.performance.compute import compute_metrics
from siyu.performance.contract import COMPANY_SUBJECT_ID, Period, SubjectKind
from tests.performance.test_leaderboard_world import DAY, ZONE, World, build
from tests.web.conftest import MakeAccount, login, make_account  # noqa: F401  (fixture)

COST = 1_000_000


@pytest.fixture()
def world(session: Session) -> World:
    w = build(session)
    session.commit()
    return w


def private_gmv(session: Session) -> dict[str, int]:
    """Local month → net GMV of orders whose customer had a present membership at payment (brute force)."""
    spans = defaultdict(list)
    for m in session.scalars(select(ChannelMembership)):
        spans[m.customer_id].append((m.joined_at, m.left_at))
    out: dict[str, int] = defaultdict(int)
    for o in session.scalars(select(Order)):
        if any(j <= o.paid_at and (left is None or left > o.paid_at) for j, left in spans[o.customer_id]):
            out[o.paid_at.astimezone(ZONE).strftime("%Y-%m")] += o.amount_fen - o.refund_fen
    return out


def test_months_equal_the_catalog_and_cost_is_headcount_times_setting(session: Session, world: World) -> None:
    view = build_boss(session, SYSTEM_ACTOR, DAY, months=3, cost_per_staff_fen=COST, zone=ZONE)
    assert [m.month for m in view.months] == ["2026-03", "2026-04", "2026-05"]
    brute = private_gmv(session)
    for row in view.months:
        period = Period.month(date.fromisoformat(row.month + "-01"))
        table = compute_metrics(session, ["gmv", "revenue_per_staff"], period, SubjectKind.company, zone=ZONE)
        gmv = table.get("gmv", COMPANY_SUBJECT_ID)
        per_staff = table.get("revenue_per_staff", COMPANY_SUBJECT_ID)
        assert row.gmv_fen == (gmv.value if gmv else 0)
        assert row.headcount == (per_staff.denominator if per_staff else 0)
        assert row.revenue_per_staff == (per_staff.value if per_staff else None)
        assert row.team_cost_fen == row.headcount * COST
        assert row.private_gmv_fen == brute.get(row.month, 0)
    assert view.months[-1].gmv_fen > 0 and view.months[-1].headcount == 5
    assert not view.has_targets and all(u.tiers is None for u in view.units)


def test_a_region_lead_sees_their_region(session: Session, world: World) -> None:
    path = session.scalar(select(OrgUnit.path).where(OrgUnit.id == world.units["R1"]))
    lead = Actor(
        None,
        "lead",
        PermissionRole.private_domain_lead,
        DataScope.subtree,
        scope_unit_id=world.units["R1"],
        scope_unit_path=path,
    )
    view = build_boss(session, lead, DAY, months=2, cost_per_staff_fen=COST, zone=ZONE)
    assert view.subject_name == "Unit R1"
    table = compute_metrics(
        session, ["gmv"], Period.month(DAY), SubjectKind.unit, subject_ids=[world.units["R1"]], zone=ZONE
    )
    value = table.get("gmv", world.units["R1"])
    assert view.months[-1].gmv_fen == (value.value if value else 0)
    assert {u.code for u in view.units} == {"R1", "ST1", "ST2"}


def test_page_for_admin_and_refused_to_a_guide(
    client: TestClient,
    engine: Engine,
    make_account: MakeAccount,  # noqa: F811
) -> None:
    with session_factory(engine)() as s:
        build(s)
        s.commit()
        view = build_boss(
            s, SYSTEM_ACTOR, DAY, cost_per_staff_fen=get_settings().staff_monthly_cost_fen, zone=ZONE
        )
    make_account("boss", "admin")
    make_account("g", "guide", scope="self", staff_code="A")
    assert login(client, "boss").status_code == 303
    page = client.get("/performance/boss?month=2026-05")
    assert page.status_code == 200, page.text
    html = page.text
    for row in view.months:
        section = html.split(f'data-month="{row.month}"', 1)[1]
        assert re.search(rf'data-key="gmv" data-fen="{row.gmv_fen}"', section)
        assert re.search(rf'data-key="cost" data-fen="{row.team_cost_fen}"', section)
        assert re.search(rf'data-key="private" data-fen="{row.private_gmv_fen}"', section)
    options = re.findall(r'<script type="application/json">(.*?)</script>', html, re.S)
    assert len(options) == 2 and all("series" in json.loads(o) for o in options)
    assert 'id="no-targets"' in html
    assert client.get("/performance/boss?month=May").status_code == 422
    client.post(
        "/logout", headers={"X-CSRF-Token": re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)}
    )  # type: ignore[union-attr]
    assert login(client, "g").status_code == 303
    assert client.get("/performance/boss").status_code == 403


def test_tier_distribution_counts_each_staff_member_at_their_lowest_tier(
    session: Session, world: World
) -> None:
    from siyu.performance.targets_service import TargetTerms, create_target

    month = Period.month(DAY)
    table = compute_metrics(
        session,
        ["gmv", "tasks_done"],
        month,
        SubjectKind.staff,
        subject_ids=list(world.staff.values()),
        zone=ZONE,
    )

    def actual(code: str, staff: str) -> float:
        value = table.get(code, world.staff[staff])
        return float(value.value or 0) if value else 0.0

    # A: gmv target half of actual (exceeded) and tasks target far above (below) → below.
    # B: gmv target equal to actual → achieved. C: gmv target a third of actual → exceeded.
    goals = [("A", "gmv", actual("gmv", "A") / 2), ("A", "tasks_done", actual("tasks_done", "A") * 10 + 10)]
    goals += [("B", "gmv", actual("gmv", "B")), ("C", "gmv", actual("gmv", "C") / 3)]
    for staff, code, value in goals:
        assert value > 0, (staff, code)
        create_target(session, SYSTEM_ACTOR, "staff", world.staff[staff], TargetTerms(code, month, value))
    session.flush()
    view = build_boss(session, SYSTEM_ACTOR, DAY, months=1, cost_per_staff_fen=COST, zone=ZONE)
    assert view.has_targets
    tiers = {u.code: u.tiers for u in view.units}
    assert tiers["ST1"] == {"below": 1, "achieved": 1}
    assert tiers["ST2"] == {"exceeded": 1}
    assert tiers["R1"] == {"below": 1, "achieved": 1, "exceeded": 1} and tiers["C"] == tiers["R1"]
    assert tiers["ST3"] == {}


def test_private_gmv_read_from_the_overview_rollups_is_the_same(session: Session, world: World) -> None:
    from siyu.reports.rollups import refresh_rollups

    refresh_rollups(session)
    session.flush()
    view = build_boss(session, SYSTEM_ACTOR, DAY, months=3, cost_per_staff_fen=COST, zone=ZONE)
    assert view.private_as_of is not None
    brute = private_gmv(session)
    assert [row.private_gmv_fen for row in view.months] == [brute.get(row.month, 0) for row in view.months]
    assert any(row.private_gmv_fen for row in view.months)
