"""The org advisor on the articles' own cases, edge cases, and properties over any valid answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siyu.errors import Invalid
from siyu.models import AcquisitionSource, BrandStage
from siyu.talent.advisor import (
    FIELDS,
    ROLE_CODES,
    AdvisorAnswers,
    Expertise,
    advise,
    parse_answers,
    reasons_for,
)
from siyu.talent.advisor_citations import CITATIONS, ORIGINALS, RULES, TRADITIONAL_SEEDS, normalise_seed
from siyu.talent.contract import Advice, BuildMode, DomainPurpose, OrgStructure, SalesModel

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
OUTPUT_FIELDS = ("structure", "build_mode", "starting_team", "next_roles", "kpi_emphasis", "traps")


def run(**answers: Any) -> Advice:
    return advise(parse_answers(answers))


def codes(advice: Advice) -> set[str]:
    return {r.code for r in advice.reasons} | {r.code for r in advice.traps}


def team(advice: Advice) -> dict[str, int]:
    return {slot.role_code: slot.headcount for slot in advice.starting_team}


# --- the articles' cases -------------------------------------------------------------------------------


def test_drinks_brand_on_supermarket_shelves_sits_in_marketing_and_is_warned_off_sales() -> None:
    # Seed 004: soft drinks on supermarket and shop shelves, no own stores.
    advice = run(sales_model="distributors", purpose="user_cultivation", member_share=0.05)
    assert advice.structure is OrgStructure.team_in_marketing
    assert advice.build_mode is BuildMode.partner  # nobody in-house has done it (the default)
    assert team(advice) == {
        "private_domain_lead": 1,
        "campaign_planner": 1,
        "copywriter": 1,
        "product_ops": 1,
        "designer": 1,
    }
    assert "guide" not in team(advice) and "store_manager" not in team(advice)
    assert advice.traps[0].code == "trap.sales_harvest"
    assert "structure.distributors" in codes(advice)
    assert "gmv" not in advice.kpi_emphasis  # cultivating users: transactions are not the first concern
    assert advice.next_roles[:3] == ("user_ops", "content_ops", "data_analyst")


def test_shoe_brand_with_thousands_of_own_stores_sits_in_sales_with_guides() -> None:
    # Seed 004: shoes sold in thousands of own stores across the country.
    advice = run(
        sales_model="own_stores",
        purpose="sales_channel",
        store_count=3000,
        guide_count=9000,
        member_share=0.4,
        stage="growth",
        expertise="done",
    )
    assert advice.structure is OrgStructure.team_in_sales
    assert advice.build_mode is BuildMode.in_house
    slots = team(advice)
    assert slots["guide"] == 9000 and slots["store_manager"] == 3000
    assert {"user_ops", "content_ops", "data_analyst", "video_live"} <= set(slots)
    assert "store_visit_rate" in advice.kpi_emphasis and "reply_within_3min_rate" in advice.kpi_emphasis
    assert {"structure.own_stores", "starting_team.stores_and_guides", "trap.stores_cut_off"} <= codes(advice)
    assert "trap.sales_harvest" not in codes(advice)  # selling is the point here
    assert advice.next_roles == ("member_ops", "it_digital")  # 40% members: a member operator next


def test_brand_whose_customers_are_95_percent_members_is_run_by_the_crm_team() -> None:
    # Seed 002: 95% of consumers are members; the next stage's goal includes sales targets.
    advice = run(
        sales_model="mixed",
        purpose="sales_channel",
        store_count=0,
        member_share=0.95,
        expertise="done",
    )
    assert "structure.crm_led" in codes(advice)
    assert advice.structure is OrgStructure.team_in_marketing
    assert advice.build_mode is BuildMode.in_house  # the CRM team has run member programmes before
    assert team(advice)["member_ops"] == 1
    assert {"private_users_member", "retention_rate_30d_member", "repurchase_rate"} <= set(
        advice.kpi_emphasis
    )
    assert "95%" in next(r.text_zh for r in advice.reasons if r.code == "structure.crm_led")
    assert "starting_team.crm_member_ops" in codes(advice)


def test_mini_program_pilot_is_a_virtual_project_group_of_seconded_people() -> None:
    # Seed 004: "先试试水" — one person each from operations, marketing and IT, no hiring drive.
    advice = run(sales_model="own_stores", purpose="sales_channel", store_count=40, pilot=True, has_mall=True)
    assert advice.structure is OrgStructure.virtual_project_team
    assert advice.build_mode is BuildMode.in_house
    assert team(advice) == {"product_ops": 1, "campaign_planner": 1, "it_digital": 1}
    assert advice.next_roles[:3] == ("private_domain_lead", "copywriter", "designer")
    assert {"private_users_miniprogram", "orders"} <= set(advice.kpi_emphasis)
    assert {"structure.pilot", "trap.hire_before_traction", "trap.penalties_in_test"} <= codes(advice)
    pilot = next(r for r in advice.reasons if r.code == "structure.pilot")
    assert "营运部" in pilot.citation.quote and "IT部" in pilot.citation.quote


def test_clothing_brand_chasing_gmv_and_brand_voice_at_once_is_warned() -> None:
    # Seed 002: a clothing brand wanted GMV growth and brand voice within months; the goals held each other back.
    advice = run(
        sales_model="mixed",
        purpose="sales_channel",
        store_count=120,
        guide_count=300,
        gmv_and_brand_at_once=True,
        has_mall=True,
    )
    assert advice.structure is OrgStructure.first_level_digital  # online + offline, stores to activate
    assert "trap.gmv_and_brand" in {t.code for t in advice.traps}
    assert advice.build_mode is BuildMode.partner
    assert "it_digital" in team(advice) and "mall_ops" in advice.next_roles


# --- the structure rules' precedence -------------------------------------------------------------------


def test_important_private_revenue_makes_a_first_level_department_even_during_a_pilot() -> None:
    advice = run(sales_model="distributors", purpose="sales_channel", private_revenue_share=0.35, pilot=True)
    assert advice.structure is OrgStructure.first_level_growth
    assert advice.build_mode is BuildMode.partner
    assert {"structure.revenue_important", "structure.growth_driven"} <= codes(advice)
    assert "35%" in next(r.text_zh for r in advice.reasons if r.code == "structure.revenue_important")


def test_strategic_own_store_brand_gets_a_digital_enablement_department() -> None:
    advice = run(sales_model="own_stores", purpose="sales_channel", store_count=50, strategic=True)
    assert advice.structure is OrgStructure.first_level_digital
    assert {
        "structure.strategic",
        "structure.first_level_reporting",
        "structure.digital_enablement",
    } <= codes(advice)


def test_org_short_of_breadth_and_precision_gets_a_growth_department() -> None:
    advice = run(sales_model="ecommerce", purpose="user_cultivation", org_meets_needs=False)
    assert advice.structure is OrgStructure.first_level_growth
    assert "structure.breadth_precision" in codes(advice)


def test_strategic_pilot_stays_a_pilot_and_says_when_to_upgrade() -> None:
    advice = run(sales_model="ecommerce", purpose="sales_channel", pilot=True, strategic=True)
    assert advice.structure is OrgStructure.virtual_project_team
    assert "structure.pilot_then_first_level" in codes(advice)


def test_ecommerce_defaults_to_marketing() -> None:
    advice = run(sales_model="ecommerce", purpose="sales_channel", stage="steady", member_share=0.5)
    assert advice.structure is OrgStructure.team_in_marketing
    assert advice.next_roles == ()
    assert "next_roles.steady_efficiency" in codes(advice)
    assert {"revenue_per_staff", "high_value_share", "recall_rate", "gmv"} <= set(advice.kpi_emphasis)
    assert {"member_ops", "it_digital", "video_live"} <= set(team(advice))


# --- build mode and traps ------------------------------------------------------------------------------


def test_theory_only_in_house_person_executes_under_the_head_but_is_not_the_operator() -> None:
    advice = run(sales_model="ecommerce", purpose="sales_channel", expertise="knows")
    assert advice.build_mode is BuildMode.in_house
    assert "build_mode.head_leads" in codes(advice)
    assert "trap.theory_only_operator" in {t.code for t in advice.traps}
    done = run(sales_model="ecommerce", purpose="sales_channel", expertise="done")
    assert "trap.theory_only_operator" not in codes(done)


def test_traffic_source_shapes_the_team_and_the_traps() -> None:
    assert team(run(sales_model="ecommerce", purpose="sales_channel", traffic_source="ad"))["ad_buyer"] == 1
    tele = run(sales_model="ecommerce", purpose="sales_channel", traffic_source="telesales")
    assert team(tele)["customer_service"] == 1
    grab = run(sales_model="ecommerce", purpose="sales_channel", traffic_source="intercept")
    assert "trap.intercept_traffic" in {t.code for t in grab.traps}


def test_walls_and_unattended_mall_are_traps() -> None:
    advice = run(
        sales_model="ecommerce",
        purpose="sales_channel",
        stage="growth",
        aligned=False,
        has_mall=True,
        expertise="done",
    )
    assert {"trap.department_walls", "trap.mall_unattended"} <= {t.code for t in advice.traps}
    staffed = run(
        sales_model="ecommerce",
        purpose="sales_channel",
        stage="growth",
        has_mall=True,
        expertise="done",
        current_team={"mall_ops": 1},
    )
    assert "trap.mall_unattended" not in codes(staffed)


def test_no_trap_still_explains_the_traps_field() -> None:
    advice = run(sales_model="ecommerce", purpose="sales_channel", stage="growth", expertise="done")
    assert advice.traps == ()
    assert [r.code for r in reasons_for(advice, "traps")] == ["traps.none"]


def test_online_guides_without_stores_are_in_the_team() -> None:
    advice = run(sales_model="ecommerce", purpose="sales_channel", guide_count=6)
    assert team(advice)["guide"] == 6 and "store_manager" not in team(advice)


def test_in_sales_to_cultivate_users_warns_about_harvesting() -> None:
    advice = run(sales_model="own_stores", purpose="user_cultivation", store_count=8)
    assert advice.structure is OrgStructure.team_in_sales
    assert "trap.sales_harvest" in {t.code for t in advice.traps}


# --- parsing -------------------------------------------------------------------------------------------


def test_parse_accepts_form_strings() -> None:
    answers = parse_answers(
        {
            "sales_model": "own_stores",
            "purpose": "sales_channel",
            "store_count": "12",
            "guide_count": " 30 ",
            "member_share": "0.5",
            "strategic": "on",
            "aligned": "false",
            "stage": "growth",
            "traffic_source": "",
            "current_team": {"guide": "3", "designer": 0},
        }
    )
    assert answers.store_count == 12 and answers.guide_count == 30 and answers.member_share == 0.5
    assert answers.strategic is True and answers.aligned is False and answers.traffic_source is None
    assert dict(answers.current_team) == {"guide": 3}
    assert parse_answers(answers.to_dict()) == answers


@pytest.mark.parametrize(
    ("raw", "field", "fragment"),
    [
        ({"purpose": "sales_channel"}, "sales_model", "required"),
        ({"sales_model": "shops", "purpose": "sales_channel"}, "sales_model", "one of"),
        (
            {"sales_model": "ecommerce", "purpose": "sales_channel", "member_share": 1.5},
            "member_share",
            "between 0 and 1",
        ),
        (
            {"sales_model": "ecommerce", "purpose": "sales_channel", "member_share": "lots"},
            "member_share",
            "number",
        ),
        (
            {"sales_model": "ecommerce", "purpose": "sales_channel", "store_count": -1},
            "store_count",
            "between 0",
        ),
        (
            {"sales_model": "ecommerce", "purpose": "sales_channel", "store_count": 2.5},
            "store_count",
            "whole number",
        ),
        (
            {"sales_model": "ecommerce", "purpose": "sales_channel", "strategic": "maybe"},
            "strategic",
            "true or false",
        ),
        ({"sales_model": "own_stores", "purpose": "sales_channel"}, "store_count", "at least one store"),
        (
            {"sales_model": "ecommerce", "purpose": "sales_channel", "current_team": {"ceo": 1}},
            "current_team.ceo",
            "role code",
        ),
        (
            {"sales_model": "ecommerce", "purpose": "sales_channel", "colour": "red"},
            "colour",
            "not a question",
        ),
        (
            {"sales_model": "ecommerce", "purpose": "sales_channel", "stage": "mature"},
            "stage",
            "launch, growth, steady",
        ),
        (
            {"sales_model": "ecommerce", "purpose": "sales_channel", "store_count": "²"},
            "store_count",
            "whole",
        ),
    ],
)
def test_invalid_answers_name_the_field_value_and_why(raw: dict[str, Any], field: str, fragment: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_answers(raw)
    details = caught.value.details
    assert any(d["field"] == field and fragment in d["reason"] for d in details), details
    assert field in caught.value.message or details[0]["field"] != field


# --- citations -----------------------------------------------------------------------------------------


def test_every_rule_cites_a_known_passage_and_every_citation_is_used() -> None:
    assert {key for key, _zh, _en in RULES.values()} == set(CITATIONS)
    for code, (_key, zh, en) in RULES.items():
        assert zh and en, code


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not beside the checkout")
def test_every_quote_occurs_verbatim_in_its_normalised_seed() -> None:
    try:
        import opencc  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        opencc = None
    by_quote = {c.quote: key for key, c in CITATIONS.items()}
    for key, citation in CITATIONS.items():
        text = normalise_seed((SEEDS / citation.seed).read_text(encoding="utf-8"))
        if citation.seed in TRADITIONAL_SEEDS:
            # The traditional original is verbatim in the seed; OpenCC's t2s of it is the quote.
            assert ORIGINALS[key] in text, key
            if opencc is not None:
                assert opencc.OpenCC("t2s").convert(ORIGINALS[key]) == citation.quote, key
        else:
            assert citation.quote in text, key
        assert "ღ" not in citation.quote and "✿" not in citation.quote
        assert by_quote[citation.quote] == key


# --- properties ----------------------------------------------------------------------------------------

answers_strategy = st.builds(
    AdvisorAnswers,
    sales_model=st.sampled_from(SalesModel),
    purpose=st.sampled_from(DomainPurpose),
    stage=st.sampled_from(BrandStage),
    store_count=st.integers(0, 5000),
    guide_count=st.integers(0, 20000),
    member_share=st.floats(0, 1),
    strategic=st.booleans(),
    pilot=st.booleans(),
    expertise=st.sampled_from(Expertise),
    private_revenue_share=st.floats(0, 1),
    traffic_source=st.none() | st.sampled_from(AcquisitionSource),
    has_mall=st.booleans(),
    gmv_and_brand_at_once=st.booleans(),
    aligned=st.booleans(),
    org_meets_needs=st.booleans(),
    current_team=st.dictionaries(st.sampled_from(ROLE_CODES), st.integers(1, 50), max_size=5),
).filter(lambda a: a.sales_model is not SalesModel.own_stores or a.store_count > 0)


@settings(max_examples=300, deadline=None)
@given(answers_strategy)
def test_advise_never_raises_and_explains_every_field(answers: AdvisorAnswers) -> None:
    advice = advise(answers)
    assert advise(answers) == advice  # deterministic
    for name in OUTPUT_FIELDS:
        assert reasons_for(advice, name), name
    codes_seen = [r.code for r in advice.reasons]
    assert len(codes_seen) == len(set(codes_seen))
    assert all(r.citation.quote for r in (*advice.reasons, *advice.traps))
    slots = [s.role_code for s in advice.starting_team]
    assert len(slots) == len(set(slots)) and set(slots) <= set(ROLE_CODES)
    assert not set(advice.next_roles) & set(slots)
    assert all(s.headcount >= 1 for s in advice.starting_team)
    from siyu.performance.catalog import METRICS

    assert set(advice.kpi_emphasis) <= set(METRICS)
    assert parse_answers(answers.to_dict()) == answers


def test_fields_are_the_questionnaire() -> None:
    assert set(FIELDS) == set(AdvisorAnswers.__dataclass_fields__)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**8) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
known = st.sampled_from([*FIELDS, "colour"])
field_values = st.one_of(
    json_values,
    st.sampled_from([m.value for m in (*SalesModel, *DomainPurpose, *BrandStage, *Expertise)]),
    st.dictionaries(st.sampled_from([*ROLE_CODES, "ceo"]), json_values, max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(known, field_values, max_size=8))
def test_parse_answers_either_parses_or_raises_invalid(raw: dict[str, Any]) -> None:
    try:
        answers = parse_answers(raw)
    except Invalid as exc:
        assert exc.details and all({"field", "value", "reason"} <= set(d) for d in exc.details)
        return
    advise(answers)
