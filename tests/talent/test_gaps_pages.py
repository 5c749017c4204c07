"""Gap analysis over a real database: page, API, CLI and service agree with brute-force counts per data scope."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from siyu.cli import app as cli_app
from siyu.db.engine import session_factory
from siyu.db.types import utcnow
from siyu.models import (
    AcquisitionSource,
    BrandStage,
    BrandStageChange,
    Customer,
    LifecycleStage,
    OrgUnit,
    Staff,
    StaffRole,
    StaffStatus,
    StaffTask,
    TaskStatus,
)
from siyu.models.talent import AdvisorRun
from siyu.org.accounts import create_account
from siyu.org.permissions import SYSTEM_ACTOR, Actor, DataScope, PermissionRole
from siyu.org.service import create_staff, create_unit
from siyu.org.tokens import create_token
from siyu.talent.gaps import FindingKind, GapReport, GapThresholds, stage_reached
from siyu.talent.gaps_service import gap_report
from siyu.talent.roles_catalog import catalog
from tests.web.conftest import login

PASSWORD = "gap-pass-2026"
NOW = utcnow()
PAST = NOW - timedelta(days=2)
FUTURE = NOW + timedelta(days=2)
# Lower than the defaults so that the small world trips each rule.
LIMITS = GapThresholds(
    customers_per_guide=20, open_tasks_per_person=40, owner_share_pct=50, min_store_customers=30
)
QUERY = "customers_per_guide=20&open_tasks_per_person=40&owner_share_pct=50&min_store_customers=30"


@dataclass(frozen=True)
class Who:
    """A signed-in account: username, the actor it acts as."""

    username: str
    actor: Actor


def build(s: Session) -> dict[str, Who]:
    """HQ → PD centre, region RE (stores SA, SB), region RW (store SC); staff, customers, tasks, a run."""
    create_unit(s, code="HQ", name="总部", kind="company")
    create_unit(s, code="PD", name="私域中心", kind="department", parent_code="HQ")
    create_unit(s, code="RE", name="华东", kind="region", parent_code="HQ")
    create_unit(s, code="RW", name="华西", kind="region", parent_code="HQ")
    for code, parent in (("SA", "RE"), ("SB", "RE"), ("SC", "RW")):
        create_unit(s, code=code, name=f"{code}店", kind="store", parent_code=parent)
    people = {
        "L1": ("PD", "private_domain_lead"),
        "C1": ("PD", "copywriter"),
        "C2": ("PD", "copywriter"),
        "P1": ("PD", "product_ops"),
        "D1": ("PD", "data_analyst"),  # leaves below
        "RM1": ("RE", "region_manager"),
        "RM2": ("RW", "region_manager"),
        "SM1": ("SA", "store_manager"),
        "SM2": ("SB", "store_manager"),
        "SM3": ("SC", "store_manager"),
        "G1": ("SA", "guide"),
        "G2": ("SA", "guide"),
        "G3": ("SA", "guide"),
        "GX": ("SA", "guide"),  # leaves below
        "G4": ("SB", "guide"),
    }
    staff = {
        code: create_staff(s, code=code, name=f"员工{code}", unit_code=unit, role_codes=[role]).id
        for code, (unit, role) in people.items()
    }
    for code in ("D1", "GX"):
        s.get_one(Staff, staff[code]).status = StaffStatus.left
    stores = {u.code: u.id for u in s.scalars(select(OrgUnit).where(OrgUnit.kind == "store"))}

    def customers(n: int, owner: str | None, store: str, stage: str = "active", merged: bool = False) -> None:
        for _ in range(n):
            c = Customer(
                source=AcquisitionSource.store,
                owner_staff_id=staff[owner] if owner else None,
                home_store_id=stores[store],
                lifecycle_stage=LifecycleStage(stage),
                first_seen_at=PAST,
            )
            s.add(c)
            if merged:
                s.flush()
                c.merged_into_id = c.id  # any id: only "merged or not" matters here

    customers(25, "G1", "SA")
    customers(3, "G1", "SA", stage="lost")
    customers(2, "G1", "SA", merged=True)
    customers(5, "G2", "SA")
    customers(3, "G3", "SA")
    customers(4, "GX", "SA")
    customers(2, None, "SA")
    customers(12, "G4", "SB")
    customers(6, "SM3", "SC", stage="sleeping")

    def tasks(owner: str, n: int, due: object, status: TaskStatus = TaskStatus.open) -> None:
        s.add_all(
            StaffTask(kind="follow_up", title="回访", staff_id=staff[owner], due_at=due, status=status)
            for _ in range(n)
        )

    tasks("G1", 30, PAST)
    tasks("G1", 15, FUTURE)
    tasks("G1", 9, PAST, TaskStatus.done)
    tasks("G2", 2, PAST, TaskStatus.cancelled)
    tasks("G2", 4, FUTURE)
    tasks("C1", 41, FUTURE)
    tasks("GX", 50, PAST)  # a leaver's tasks are nobody's load
    s.add(BrandStageChange(stage=BrandStage.growth, effective_from=date(2020, 1, 1)))
    s.add(
        AdvisorRun(
            answers={},
            result={
                "starting_team": [
                    {"role_code": "copywriter", "headcount": 3},
                    {"role_code": "designer", "headcount": 1},
                ]
            },
        )
    )
    accounts = {
        "admin": ("admin", "all", None, None),
        "lead": ("private_domain_lead", "all", None, "L1"),
        "region": ("manager", "subtree", "RE", "RM1"),
        "store": ("manager", "unit", "SA", "SM1"),
        "guide": ("guide", "self", None, "G1"),
    }
    out = {}
    for username, (role, scope, unit, who) in accounts.items():
        create_account(
            s, username=username, password=PASSWORD, role=role, scope=scope, unit_code=unit, staff_code=who
        )
        unit_row = s.scalar(select(OrgUnit).where(OrgUnit.code == unit)) if unit else None
        out[username] = Who(
            username,
            Actor(
                account_id=None,
                username=username,
                role=PermissionRole(role),
                scope=DataScope(scope),
                staff_id=staff[who] if who else None,
                scope_unit_id=unit_row.id if unit_row else None,
                scope_unit_path=unit_row.path if unit_row else None,
            ),
        )
    s.commit()
    return out


@pytest.fixture()
def world(engine: Engine) -> dict[str, Who]:
    with session_factory(engine)() as s:
        return build(s)


def brute_force(s: Session, actor: Actor) -> dict[str, object]:
    """Totals, holders and per-person loads recomputed in Python from every raw row."""
    units = list(s.scalars(select(OrgUnit)))
    if actor.scope is DataScope.all:
        inside = {u.id for u in units}
    elif actor.scope is DataScope.subtree:
        inside = {u.id for u in units if u.path.startswith(actor.scope_unit_path or "?")}
    else:
        inside = {actor.scope_unit_id or 0}
    active = {
        p.id: p for p in s.scalars(select(Staff)) if p.status is StaffStatus.active and p.unit_id in inside
    }
    roles: dict[int, set[str]] = defaultdict(set)
    for r in s.scalars(select(StaffRole)):
        roles[r.staff_id].add(r.role_code)
    served = [
        c for c in s.scalars(select(Customer)) if c.merged_into_id is None and c.lifecycle_stage != "lost"
    ]
    owned = Counter(c.owner_staff_id for c in served if c.owner_staff_id in active)
    stores = {u.id for u in units if u.kind == "store" and u.id in inside}
    per_store: dict[int, Counter[int | None]] = defaultdict(Counter)
    for c in served:
        if c.home_store_id in stores:
            per_store[c.home_store_id][c.owner_staff_id] += 1
    open_tasks: Counter[int] = Counter()
    overdue: Counter[int] = Counter()
    for t in s.scalars(select(StaffTask)):
        if t.status is TaskStatus.open and t.staff_id in active:
            open_tasks[t.staff_id] += 1
            overdue[t.staff_id] += t.due_at < NOW
    holders = Counter(code for i in active for code in roles[i])
    return {
        "totals": {
            "active_staff": len(active),
            "guides": holders["guide"],
            "stores": len(stores),
            "customers_owned": sum(owned.values()),
            "open_tasks": sum(open_tasks.values()),
            "overdue_tasks": sum(overdue.values()),
        },
        "holders": dict(holders),
        "owned": owned,
        "open": open_tasks,
        "overdue": overdue,
        "per_store": per_store,
    }


def codes(s: Session) -> dict[int, str]:
    return {p.id: p.code for p in s.scalars(select(Staff))}


def signature(report: GapReport) -> set[tuple[str, str, str | None]]:
    return {(f.kind.value, f.subject.code, f.subject.role_code) for f in report.findings}


EXPECTED = {
    # The whole brand: growth roles nobody holds, the starting team, SC without guide, G1 and C1 loaded,
    # the lone lead / product ops / data analyst gone, SB's lone guide and G1's grip on SA.
    # (plus one missing_role per catalog role needed by the growth stage that nobody active holds)
    "all": {
        ("short_headcount", "copywriter", "copywriter"),
        ("short_headcount", "designer", "designer"),
        ("store_role_missing", "SC", "guide"),
        ("overloaded_customers", "G1", None),
        ("overloaded_tasks", "G1", "guide"),
        ("overloaded_tasks", "C1", "copywriter"),
        ("single_holder", "private_domain_lead", "private_domain_lead"),
        ("single_holder", "product_ops", "product_ops"),
        ("single_guide_store", "SB", "guide"),
        ("customer_concentration", "G1", None),
    },
    "region": {
        ("overloaded_customers", "G1", None),
        ("overloaded_tasks", "G1", "guide"),
        ("single_guide_store", "SB", "guide"),
        ("customer_concentration", "G1", None),
    },
    "store": {
        ("overloaded_customers", "G1", None),
        ("overloaded_tasks", "G1", "guide"),
        ("customer_concentration", "G1", None),
    },
}


@pytest.mark.parametrize("username", ["admin", "lead", "region", "store"])
def test_service_matches_brute_force_per_scope(engine: Engine, world: dict[str, Who], username: str) -> None:
    actor = world[username].actor
    with session_factory(engine)() as s:
        report = gap_report(s, actor, LIMITS, now=NOW)
        expected = brute_force(s, actor)
        names = codes(s)
    assert report.totals == expected["totals"]
    assert report.holders == expected["holders"]
    wanted = set(EXPECTED["all" if actor.scope is DataScope.all else username])
    if actor.scope is DataScope.all:
        with session_factory(engine)() as s:
            needed = [r.code for r in catalog(s) if stage_reached(r.needed_from, BrandStage.growth)]
        wanted |= {("missing_role", c, c) for c in needed if c not in expected["holders"]}
        assert ("missing_role", "data_analyst", "data_analyst") in wanted  # D1 left: nobody holds it now
    assert signature(report) == wanted
    for f in report.findings:
        if f.kind is FindingKind.overloaded_customers:
            assert f.numbers["customers"] == expected["owned"][f.subject.id]  # type: ignore[index]
        if f.kind is FindingKind.overloaded_tasks:
            assert f.numbers["open"] == expected["open"][f.subject.id]  # type: ignore[index]
            assert f.numbers["overdue"] == expected["overdue"][f.subject.id]  # type: ignore[index]
        if f.kind is FindingKind.customer_concentration:
            store = expected["per_store"][f.numbers["store_id"]]  # type: ignore[index]
            assert f.numbers["owned"] == store[f.subject.id]
            assert f.numbers["store_customers"] == sum(store.values())
    # G1: 25 served (3 lost and 2 merged left out); SA has 25 + 5 + 3 + 4 (GX, left) + 2 unassigned.
    g1 = next(f for f in report.findings if f.kind is FindingKind.customer_concentration)
    assert (
        names[g1.subject.id or 0] == "G1"
        and g1.numbers["owned"] == 25
        and g1.numbers["store_customers"] == 39
    )


def test_defaults_are_quiet_on_a_small_team(engine: Engine, world: dict[str, Who]) -> None:
    with session_factory(engine)() as s:
        report = gap_report(s, SYSTEM_ACTOR, now=NOW)
    assert not {f.kind for f in report.findings} & {FindingKind.overloaded_customers}
    assert report.thresholds == GapThresholds()


def _page_numbers(html: str) -> tuple[dict[str, int], dict[str, int], list[str]]:
    totals = {k: int(v) for k, v in re.findall(r'data-total="(\w+)">(\d+)<', html)}
    counts = {k: int(v) for k, v in re.findall(r'data-count="(\w+)">(\d+)<', html)}
    kinds = re.findall(r'<tr data-kind="(\w+)"', html)
    return totals, counts, kinds


@pytest.mark.parametrize("username", ["admin", "lead", "region", "store"])
def test_page_and_api_show_the_service_numbers(
    client: TestClient, engine: Engine, world: dict[str, Who], username: str
) -> None:
    with session_factory(engine)() as s:
        report = gap_report(s, world[username].actor, LIMITS, now=NOW)
        expected = brute_force(s, world[username].actor)
        token = create_token(s, username, "tests")
        s.commit()
    assert login(client, username, PASSWORD).status_code == 303
    page = client.get(f"/talent/gaps?{QUERY}")
    assert page.status_code == 200, page.text
    totals, counts, kinds = _page_numbers(page.text)
    assert totals == expected["totals"]
    assert counts == report.counts()
    assert sorted(kinds) == sorted(f.kind.value for f in report.findings)
    if username in ("admin", "lead"):
        assert 'href="/talent/roles/private_domain_lead"' in page.text
    g1 = next(f.subject.id for f in report.findings if f.kind is FindingKind.overloaded_customers)
    assert f'href="/talent/staff/{g1}"' in page.text
    api = client.get(f"/api/v1/talent/gaps?{QUERY}", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200, api.text
    body = api.json()
    assert body["totals"] == expected["totals"]
    assert body["counts"] == report.counts()
    assert {
        (f["kind"], f["subject"]["code"], f["subject"]["role_code"]) for f in body["findings"]
    } == signature(report)


def test_unit_filter_narrows_the_lead_to_a_region(
    client: TestClient, engine: Engine, world: dict[str, Who]
) -> None:
    with session_factory(engine)() as s:
        narrowed = gap_report(s, world["lead"].actor, LIMITS, unit_code="RE", now=NOW)
        with pytest.raises(Exception, match="outside your data scope"):
            gap_report(s, world["store"].actor, LIMITS, unit_code="SB", now=NOW)
        expected = brute_force(s, world["region"].actor)
    assert signature(narrowed) == EXPECTED["region"]
    assert narrowed.totals == expected["totals"]
    assert login(client, "region", PASSWORD).status_code == 303
    assert client.get("/talent/gaps?unit=RW").status_code == 404


def test_guide_gets_403_on_page_and_api(client: TestClient, engine: Engine, world: dict[str, Who]) -> None:
    with session_factory(engine)() as s:
        token = create_token(s, "guide", "tests")
        s.commit()
    assert login(client, "guide", PASSWORD).status_code == 303
    assert client.get("/talent/gaps").status_code == 403
    assert client.get("/api/v1/talent/gaps", headers={"Authorization": f"Bearer {token}"}).status_code == 403


def test_bad_threshold_is_named(client: TestClient, world: dict[str, Who]) -> None:
    assert login(client, "lead", PASSWORD).status_code == 303
    response = client.get("/talent/gaps?owner_share_pct=abc")
    assert response.status_code == 400 or response.status_code == 422
    assert "owner_share_pct" in response.text


def test_cli_json_and_text(cli_env: str, engine: Engine, world: dict[str, Who]) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli_app, ["talent", "gaps", "--format", "json", "--customers-per-guide", "20", "--unit", "SA"]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    with session_factory(engine)() as s:
        expected = brute_force(s, world["store"].actor)
    assert body["totals"] == expected["totals"]
    assert body["brand_wide"] is False
    assert "overloaded_customers" in {f["kind"] for f in body["findings"]}
    text = runner.invoke(cli_app, ["talent", "gaps"])
    assert text.exit_code == 0, text.output
    assert "== missing:" in text.output and "private_domain_lead" in text.output
