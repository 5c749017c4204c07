"""Pure gap analysis: every finding kind fires just above its limit and stays quiet at it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from siyu.models import BrandStage
from siyu.talent.contract import RoleEntry, RolePosition, ValueStage
from siyu.talent.gaps import (
    FindingKind,
    GapFacts,
    GapReport,
    GapThresholds,
    Section,
    StaffFact,
    StoreFact,
    analyse,
    stage_reached,
)

T = GapThresholds(
    customers_per_guide=100, open_tasks_per_person=10, owner_share_pct=50, min_store_customers=10
)


def role(code: str, needed_from: BrandStage = BrandStage.launch, lead: bool = True) -> RoleEntry:
    return RoleEntry(
        code=code,
        name_zh=f"{code}岗",
        name_en=code.title(),
        definition_zh="",
        definition_en="",
        duties=(),
        competencies=(),
        kpi_metric_codes=(),
        needed_from=needed_from,
        value_stages=(ValueStage.acquisition,),
        position=RolePosition.lead if lead else RolePosition.supporting,
    )


ROLES = (
    role("private_domain_lead"),
    role("copywriter", lead=False),
    role("mall_ops", BrandStage.growth),
    role("member_ops", BrandStage.steady),
    role("guide"),
    role("store_manager", lead=False),
)


def staff(i: int, unit: int, *roles: str) -> StaffFact:
    return StaffFact(i, f"S{i}", f"员工{i}", unit, roles)


def base_facts(**changes: object) -> GapFacts:
    """A brand in growth: one store (id 100) with a manager and two guides; two copywriters; one lead."""
    facts = GapFacts(
        stage=BrandStage.growth,
        brand_wide=True,
        roles=ROLES,
        staff=[
            staff(1, 1, "private_domain_lead"),
            staff(2, 1, "copywriter"),
            staff(3, 1, "copywriter"),
            staff(4, 1, "mall_ops"),
            staff(5, 1, "mall_ops"),
            staff(10, 100, "store_manager"),
            staff(11, 100, "guide"),
            staff(12, 100, "guide"),
        ],
        customers_by_owner={11: 40, 12: 40},
        open_tasks={11: (5, 1), 12: (3, 0)},
        stores=[StoreFact(100, "ST1", "一号店", {11: 40, 12: 40})],
    )
    return replace(facts, **changes)  # type: ignore[arg-type]


def kinds(report: GapReport) -> list[FindingKind]:
    return [f.kind for f in report.findings]


def test_a_healthy_team_has_only_the_lead_as_single_point() -> None:
    report = analyse(base_facts(), T)
    assert [(f.kind, f.subject.code) for f in report.findings] == [
        (FindingKind.single_holder, "private_domain_lead"),
        (FindingKind.single_holder, "store_manager"),
    ]
    assert report.totals == {
        "active_staff": 8,
        "guides": 2,
        "stores": 1,
        "customers_owned": 80,
        "open_tasks": 8,
        "overdue_tasks": 1,
    }
    assert report.counts() == {"missing": 0, "overloaded": 0, "single_point": 2}


def test_stage_order() -> None:
    assert stage_reached(BrandStage.launch, BrandStage.growth)
    assert stage_reached(BrandStage.growth, BrandStage.growth)
    assert not stage_reached(BrandStage.steady, BrandStage.growth)


def test_missing_role_fires_for_roles_needed_by_the_current_stage_only() -> None:
    without_mall = base_facts(staff=[s for s in base_facts().staff if "mall_ops" not in s.roles])
    report = analyse(without_mall, T)
    missing = [f.subject.code for f in report.section(Section.missing)]
    # member_ops (steady) is not needed yet; mall_ops (growth) is.
    assert missing == ["mall_ops"]
    assert report.section(Section.missing)[0].severity.value == "high"
    steady = analyse(replace(without_mall, stage=BrandStage.steady), T)
    assert sorted(f.subject.code for f in steady.section(Section.missing)) == ["mall_ops", "member_ops"]
    launch = analyse(replace(without_mall, stage=BrandStage.launch), T)
    assert launch.section(Section.missing) == []


def test_brand_wide_roles_are_not_judged_inside_a_unit() -> None:
    store_only = [s for s in base_facts().staff if s.unit_id == 100]
    report = analyse(base_facts(staff=store_only, brand_wide=False), T)
    assert report.section(Section.missing) == []
    # store_manager is one per store by design; guides are two: nothing single.
    assert report.section(Section.single_point) == []


def test_short_headcount_against_the_advisor_starting_team() -> None:
    at = analyse(base_facts(starting_team=[("copywriter", 2)], advisor_run_id=7), T)
    assert FindingKind.short_headcount not in kinds(at)
    assert at.advisor_run_id == 7
    short = analyse(base_facts(starting_team=[("copywriter", 3), ("designer", 1)]), T)
    found = {f.subject.code: f.numbers for f in short.findings if f.kind is FindingKind.short_headcount}
    assert found == {
        "copywriter": {"holders": 2, "recommended": 3, "short": 1},
        "designer": {"holders": 0, "recommended": 1, "short": 1},
    }
    # Inside a unit the brand's starting team is not compared.
    inside = analyse(base_facts(starting_team=[("copywriter", 3)], brand_wide=False), T)
    assert FindingKind.short_headcount not in kinds(inside)


def test_store_without_guide_or_manager() -> None:
    no_guides = [s for s in base_facts().staff if "guide" not in s.roles]
    report = analyse(base_facts(staff=no_guides, brand_wide=False), T)
    found = [(f.kind, f.subject.code, f.subject.role_code) for f in report.section(Section.missing)]
    assert found == [(FindingKind.store_role_missing, "ST1", "guide")]


def test_overloaded_customers_fires_above_the_threshold_not_at_it() -> None:
    at = analyse(base_facts(customers_by_owner={11: 100, 12: 40}), T)
    assert FindingKind.overloaded_customers not in kinds(at)
    above = analyse(base_facts(customers_by_owner={11: 101, 12: 40}), T)
    (finding,) = [f for f in above.findings if f.kind is FindingKind.overloaded_customers]
    assert finding.subject.id == 11
    assert finding.numbers == {"customers": 101, "threshold": 100, "median": 70.5}
    assert finding.severity.value == "medium"
    assert "101" in finding.explanation_zh and "101" in finding.explanation_en
    far = analyse(base_facts(customers_by_owner={11: 151, 12: 40}), T)
    assert [f.severity.value for f in far.findings if f.kind is FindingKind.overloaded_customers] == ["high"]


def test_overloaded_tasks_with_the_median_of_the_same_role() -> None:
    at = analyse(base_facts(open_tasks={11: (10, 0)}), T)
    assert FindingKind.overloaded_tasks not in kinds(at)
    above = analyse(base_facts(open_tasks={11: (11, 2), 12: (4, 0)}), T)
    (finding,) = [f for f in above.findings if f.kind is FindingKind.overloaded_tasks]
    assert finding.numbers == {"open": 11, "overdue": 2, "threshold": 10, "median": 7.5}
    assert finding.subject.role_code == "guide"


def test_single_guide_store_fires_at_exactly_one_guide() -> None:
    one_guide = [s for s in base_facts().staff if s.id != 12]
    report = analyse(base_facts(staff=one_guide, brand_wide=False), T)
    found = [f.kind for f in report.section(Section.single_point)]
    # One guide in the store and, inside the unit, one guide role holder.
    assert sorted(found) == [FindingKind.single_guide_store, FindingKind.single_holder]
    two = analyse(base_facts(brand_wide=False), T)
    assert FindingKind.single_guide_store not in kinds(two)


def test_customer_concentration_fires_above_the_share_and_only_in_big_enough_stores() -> None:
    at = analyse(base_facts(stores=[StoreFact(100, "ST1", "一号店", {11: 10, 12: 10})]), T)
    assert FindingKind.customer_concentration not in kinds(at)  # 50% is not above 50%
    above = base_facts(stores=[StoreFact(100, "ST1", "一号店", {11: 11, 12: 9})])
    (finding,) = [f for f in analyse(above, T).findings if f.kind is FindingKind.customer_concentration]
    assert finding.numbers["share_pct"] == 55.0 and finding.numbers["owned"] == 11
    small = base_facts(stores=[StoreFact(100, "ST1", "一号店", {11: 8, 12: 1})])
    assert FindingKind.customer_concentration not in kinds(analyse(small, T))
    # Unassigned customers count in the total but are nobody's concentration.
    unassigned = base_facts(stores=[StoreFact(100, "ST1", "一号店", {None: 30, 11: 5})])
    assert FindingKind.customer_concentration not in kinds(analyse(unassigned, T))


@pytest.mark.parametrize("section", list(Section))
def test_every_finding_is_explained_in_both_languages(section: Section) -> None:
    facts = base_facts(
        staff=[s for s in base_facts().staff if s.id not in (5, 12)] + [staff(13, 1, "copywriter")],
        customers_by_owner={11: 500},
        open_tasks={11: (50, 20)},
        stores=[StoreFact(100, "ST1", "一号店", {11: 90, None: 10})],
        starting_team=[("copywriter", 4)],
    )
    report = analyse(facts, T)
    assert report.section(section)
    for f in report.findings:
        assert f.explanation_zh and f.explanation_en and f.action_zh and f.action_en
        assert f.to_dict()["section"] == f.section.value
