"""The org advisor (组织诊断): questionnaire answers → structure, build mode, team, KPIs and traps, each with its reason.

Pure rules, no database: every rule is in advisor_citations.RULES with the article passage it comes from.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, TypeVar

from siyu.errors import Invalid
from siyu.models import AcquisitionSource, BrandStage
from siyu.talent.advisor_citations import RULES, cite
from siyu.talent.contract import (
    Advice,
    BuildMode,
    DomainPurpose,
    OrgStructure,
    Reason,
    SalesModel,
    TeamSlot,
)

# Role codes the advisor speaks of (the role catalog's builtin codes).
ROLE_CODES = (
    "private_domain_lead",
    "ad_buyer",
    "user_ops",
    "member_ops",
    "content_ops",
    "copywriter",
    "campaign_planner",
    "data_analyst",
    "product_ops",
    "designer",
    "mall_ops",
    "guide",
    "video_live",
    "store_manager",
    "region_manager",
    "it_digital",
    "customer_service",
)
# Seed 001's minimum starting unit (最小启动单元), in its order.
MINIMUM_UNIT = ("private_domain_lead", "campaign_planner", "copywriter", "product_ops", "designer")
# Seed 004's 小程序专项组: one person each from operations, marketing and IT.
PILOT_TEAM = ("product_ops", "campaign_planner", "it_digital")

# Our reading of the articles' words, stated as numbers so the result is reproducible:
IMPORTANT_REVENUE_SHARE = 0.2  # "成为公司收入非常重要的来源之一" (seed 004)
MEMBER_LED_SHARE = 0.8  # "95%的消费者是会员" → the CRM team runs it (seed 002)
MANY_MEMBERS_SHARE = 0.3  # "进一步成为会员的人也多了" → a member operator (seed 004)
MAX_COUNT = 10_000_000
STAGES = (BrandStage.launch, BrandStage.growth, BrandStage.steady)


class Expertise(StrEnum):
    """Who in-house knows private domain (seed 003: 懂 ≠ 做过)."""

    none = "none"  # nobody
    knows = "knows"  # someone understands it (theory)
    done = "done"  # someone has actually run one


@dataclass(frozen=True)
class AdvisorAnswers:
    """The questionnaire, validated."""

    sales_model: SalesModel
    purpose: DomainPurpose
    stage: BrandStage = BrandStage.launch
    store_count: int = 0
    guide_count: int = 0
    member_share: float = 0.0  # customers who are members, 0..1
    strategic: bool = False
    pilot: bool = False  # "先试试水": exploring with a light project group
    expertise: Expertise = Expertise.none
    private_revenue_share: float = 0.0  # revenue already coming from the private domain, 0..1
    traffic_source: AcquisitionSource | None = None  # where private-domain users mainly come from
    has_mall: bool = False  # a mini-program mall
    gmv_and_brand_at_once: bool = False  # expects GMV growth and brand voice at the same time
    aligned: bool = True  # one top-down understanding of what the private domain is for
    org_meets_needs: bool = True  # the current org copes with the breadth and precision needed
    current_team: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, stored in advisor_runs.answers (parse_answers reads it back)."""
        return {
            "sales_model": self.sales_model.value,
            "purpose": self.purpose.value,
            "stage": self.stage.value,
            "store_count": self.store_count,
            "guide_count": self.guide_count,
            "member_share": self.member_share,
            "strategic": self.strategic,
            "pilot": self.pilot,
            "expertise": self.expertise.value,
            "private_revenue_share": self.private_revenue_share,
            "traffic_source": self.traffic_source.value if self.traffic_source else None,
            "has_mall": self.has_mall,
            "gmv_and_brand_at_once": self.gmv_and_brand_at_once,
            "aligned": self.aligned,
            "org_meets_needs": self.org_meets_needs,
            "current_team": dict(self.current_team),
        }


# --- parsing -----------------------------------------------------------------------------------------

E = TypeVar("E", bound=StrEnum)
_TRUE = {"true", "1", "yes", "on", "y"}
_FALSE = {"false", "0", "no", "off", "n", ""}
FIELDS = tuple(AdvisorAnswers.__dataclass_fields__)
REQUIRED = ("sales_model", "purpose")


class _Errors:
    """Collects every bad field so a form can mark them all at once."""

    def __init__(self) -> None:
        self.details: list[dict[str, str]] = []

    def add(self, name: str, value: Any, why: str) -> None:
        self.details.append({"field": name, "value": repr(value), "reason": why})

    def raise_if_any(self) -> None:
        if self.details:
            first = self.details[0]
            raise Invalid(
                f"advisor answers: field {first['field']!r} = {first['value']}: {first['reason']}",
                details=self.details,
            )


def _enum(kind: type[E], name: str, value: Any, errors: _Errors) -> E | None:
    try:
        return kind(value)
    except ValueError:
        errors.add(name, value, "must be one of " + ", ".join(m.value for m in kind))
        return None


def _int(name: str, value: Any, errors: _Errors) -> int:
    if isinstance(value, str) and value.strip().lstrip("+").isdecimal():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(name, value, "must be a whole number")
        return 0
    if not 0 <= value <= MAX_COUNT:
        errors.add(name, value, f"must be between 0 and {MAX_COUNT:,}")
        return 0
    return value


def _share(name: str, value: Any, errors: _Errors) -> float:
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            errors.add(name, value, "must be a number between 0 and 1 (e.g. 0.95 for 95%)")
            return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        errors.add(name, value, "must be a number between 0 and 1 (e.g. 0.95 for 95%)")
        return 0.0
    if not 0 <= value <= 1:
        errors.add(name, value, "must be between 0 and 1 (a share, e.g. 0.95 for 95%)")
        return 0.0
    return float(value)


def _bool(name: str, value: Any, errors: _Errors) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    errors.add(name, value, "must be true or false")
    return False


def _team(value: Any, errors: _Errors) -> Mapping[str, int]:
    if not isinstance(value, Mapping):
        errors.add("current_team", value, "must be an object of role code → headcount")
        return MappingProxyType({})
    team: dict[str, int] = {}
    for code, count in value.items():
        where = f"current_team.{code}"
        if code not in ROLE_CODES:
            errors.add(where, code, "is not a role code (" + ", ".join(ROLE_CODES) + ")")
            continue
        headcount = _int(where, count, errors)
        if headcount:
            team[code] = headcount
    return MappingProxyType({code: team[code] for code in ROLE_CODES if code in team})


def parse_answers(raw: Mapping[str, Any]) -> AdvisorAnswers:
    """Validated answers; Invalid naming every bad field, its value and why (details: field/value/reason)."""
    errors = _Errors()
    if not isinstance(raw, Mapping):
        errors.add("answers", raw, "must be an object")
        errors.raise_if_any()
    for name in raw:
        if name not in FIELDS:
            errors.add(str(name), raw[name], "is not a question of the advisor (" + ", ".join(FIELDS) + ")")
    for name in REQUIRED:
        if raw.get(name) in (None, ""):
            errors.add(name, raw.get(name), "is required")
    values: dict[str, Any] = {}
    enums: tuple[tuple[str, type[StrEnum]], ...] = (
        ("sales_model", SalesModel),
        ("purpose", DomainPurpose),
        ("stage", BrandStage),
        ("expertise", Expertise),
        ("traffic_source", AcquisitionSource),
    )
    for name, kind in enums:
        if raw.get(name) not in (None, ""):
            values[name] = _enum(kind, name, raw[name], errors)
    for name in ("store_count", "guide_count"):
        if name in raw:
            values[name] = _int(name, raw[name], errors)
    for name in ("member_share", "private_revenue_share"):
        if name in raw:
            values[name] = _share(name, raw[name], errors)
    for name in ("strategic", "pilot", "has_mall", "gmv_and_brand_at_once", "aligned", "org_meets_needs"):
        if name in raw:
            values[name] = _bool(name, raw[name], errors)
    if "current_team" in raw:
        values["current_team"] = _team(raw["current_team"], errors)
    if values.get("sales_model") is SalesModel.own_stores and values.get("store_count", 0) == 0:
        errors.add(
            "store_count", raw.get("store_count", 0), "selling through own stores needs at least one store"
        )
    errors.raise_if_any()
    return AdvisorAnswers(**values)


# --- rules -------------------------------------------------------------------------------------------


class _Trace:
    """The reasons fired so far, each once, texts filled from the answers."""

    def __init__(self, answers: AdvisorAnswers) -> None:
        self.reasons: list[Reason] = []
        self.context = {
            "stores": f"{answers.store_count:,}",
            "guides": f"{answers.guide_count:,}",
            "guide_slots": f"{_guide_slots(answers):,}",
            "members": f"{answers.member_share * 100:.0f}",
            "revenue": f"{answers.private_revenue_share * 100:.0f}",
        }

    def reason(self, code: str) -> Reason:
        key, zh, en = RULES[code]
        return Reason(code, zh.format(**self.context), en.format(**self.context), cite(key))

    def add(self, code: str) -> None:
        if all(r.code != code for r in self.reasons):
            self.reasons.append(self.reason(code))


def _guide_slots(a: AdvisorAnswers) -> int:
    # At least one digital guide per store; more when the business already has more guides.
    return max(a.guide_count, a.store_count)


def _member_led(a: AdvisorAnswers) -> bool:
    return a.member_share >= MEMBER_LED_SHARE


def _first_level(a: AdvisorAnswers, t: _Trace) -> OrgStructure:
    t.add("structure.first_level")
    if a.store_count > 0 and a.sales_model in (SalesModel.own_stores, SalesModel.mixed):
        t.add("structure.digital_enablement")
        return OrgStructure.first_level_digital
    t.add("structure.growth_driven")
    return OrgStructure.first_level_growth


def _structure(a: AdvisorAnswers, t: _Trace) -> OrgStructure:
    if a.private_revenue_share >= IMPORTANT_REVENUE_SHARE:
        t.add("structure.revenue_important")
        return _first_level(a, t)
    if a.pilot:
        t.add("structure.pilot")
        t.add("structure.virtual_team")
        if a.strategic or not a.org_meets_needs:
            t.add("structure.pilot_then_first_level")
        return OrgStructure.virtual_project_team
    if a.strategic:
        t.add("structure.strategic")
        t.add("structure.first_level_reporting")
        return _first_level(a, t)
    if not a.org_meets_needs:
        t.add("structure.breadth_precision")
        return _first_level(a, t)
    if a.sales_model is SalesModel.distributors:
        t.add("structure.distributors")
        return OrgStructure.team_in_marketing
    if a.sales_model is SalesModel.own_stores:
        t.add("structure.own_stores")
        return OrgStructure.team_in_sales
    if a.sales_model is SalesModel.mixed and a.store_count > 0:
        t.add("structure.online_offline")
        return _first_level(a, t)
    t.add("structure.default_marketing")
    return OrgStructure.team_in_marketing


def _build_mode(a: AdvisorAnswers, structure: OrgStructure, t: _Trace) -> BuildMode:
    if structure is OrgStructure.virtual_project_team:
        t.add("build_mode.pilot_seconded")
        return BuildMode.in_house
    if a.expertise is Expertise.none:
        t.add("build_mode.no_expertise")
        t.add("build_mode.core_plus_partner")
        t.add("build_mode.not_an_agency")
        return BuildMode.partner
    t.add("build_mode.head_leads" if a.expertise is Expertise.knows else "build_mode.done_in_house")
    return BuildMode.in_house


def _tier_roles(a: AdvisorAnswers, structure: OrgStructure, stage: BrandStage) -> list[tuple[str, str]]:
    """(role code, rule suffix) a team adds when it reaches stage, in order."""
    has_floor = a.store_count > 0 or a.guide_count > 0
    if stage is BrandStage.launch:
        roles = [(code, "minimum_unit") for code in MINIMUM_UNIT]
        if a.store_count > 0:
            roles.append(("store_manager", "stores_and_guides"))
        if has_floor:
            roles.append(("guide", "stores_and_guides"))
        if _member_led(a):
            roles.append(("member_ops", "crm_member_ops"))
        if a.traffic_source is AcquisitionSource.ad:
            roles.append(("ad_buyer", "ad_traffic"))
        if a.traffic_source is AcquisitionSource.telesales:
            roles.append(("customer_service", "absorb_sales"))
        if structure is OrgStructure.first_level_digital:
            roles.append(("it_digital", "digital_enablement"))
        return roles
    if stage is BrandStage.growth:
        roles = [
            ("user_ops", "growth_roles"),
            ("content_ops", "growth_roles"),
            ("data_analyst", "data_analyst"),
        ]
        if a.has_mall:
            roles.append(("mall_ops", "mall"))
        roles.append(("ad_buyer", "ad_buyer"))
        if a.store_count > 0 or a.sales_model in (SalesModel.ecommerce, SalesModel.mixed):
            roles.append(("video_live", "video_live"))
        return roles
    roles = []
    if a.member_share >= MANY_MEMBERS_SHARE:
        roles.append(("member_ops", "member_ops"))
    roles.append(("it_digital", "it_digital"))
    return roles


def _headcount(a: AdvisorAnswers, code: str) -> int:
    if code == "guide":
        return _guide_slots(a)
    if code == "store_manager":
        return a.store_count
    return 1


def _team_plan(
    a: AdvisorAnswers, structure: OrgStructure, t: _Trace
) -> tuple[tuple[TeamSlot, ...], tuple[str, ...]]:
    """The starting team for the answers' stage and the roles to add at the next one."""
    if structure is OrgStructure.virtual_project_team:
        t.add("starting_team.pilot_trio")
        team = [TeamSlot(code, 1) for code in PILOT_TEAM]
        first = [c for c, _ in _tier_roles(a, OrgStructure.team_in_marketing, BrandStage.launch)]
        t.add("next_roles.after_pilot")
        return tuple(team), tuple(dict.fromkeys(c for c in first if c not in PILOT_TEAM))
    chosen: dict[str, str] = {}
    for stage in STAGES[: STAGES.index(a.stage) + 1]:
        for code, rule in _tier_roles(a, structure, stage):
            if code not in chosen:
                chosen[code] = rule
                t.add(f"starting_team.{rule}")
    team = [TeamSlot(code, _headcount(a, code)) for code in chosen]
    if a.stage is BrandStage.steady:
        t.add("next_roles.steady_efficiency")
        return tuple(team), ()
    next_stage = STAGES[STAGES.index(a.stage) + 1]
    later: list[str] = []
    for code, rule in _tier_roles(a, structure, next_stage):
        if code not in chosen and code not in later:
            later.append(code)
            t.add(f"next_roles.{rule}")
    if not later:
        t.add("next_roles.steady_efficiency")
    return tuple(team), tuple(later)


def _kpis(a: AdvisorAnswers, structure: OrgStructure, t: _Trace) -> tuple[str, ...]:
    codes: list[str] = []
    if structure is OrgStructure.virtual_project_team:
        t.add("kpi_emphasis.pilot")
        codes += ["private_users_miniprogram", "orders", "new_contacts"]
    elif a.stage is BrandStage.launch:
        t.add("kpi_emphasis.launch")
        t.add("kpi_emphasis.retention")
        codes += ["private_users", "new_contacts", "net_growth", "retention_rate_30d", "task_on_time_rate"]
    elif a.stage is BrandStage.growth:
        t.add("kpi_emphasis.growth")
        if a.store_count > 0:
            codes.append("store_visit_rate")
        codes += ["conversion_rate", "referral_rate", "repurchase_rate"]
    else:
        t.add("kpi_emphasis.steady")
        t.add("kpi_emphasis.depth")
        codes += ["revenue_per_staff", "high_value_share", "recall_rate"]
    if _member_led(a):
        t.add("kpi_emphasis.members")
        codes += ["private_users_member", "retention_rate_30d_member", "repurchase_rate"]
    if a.store_count > 0 or a.guide_count > 0:
        t.add("kpi_emphasis.guides")
        codes.append("reply_within_3min_rate")
    if a.gmv_and_brand_at_once and a.stage is BrandStage.launch:
        t.add("kpi_emphasis.users_first")
    elif a.purpose is DomainPurpose.sales_channel:
        t.add("kpi_emphasis.sales_channel")
        codes.append("gmv")
    else:
        t.add("kpi_emphasis.cultivation")
    return tuple(dict.fromkeys(codes))


def _traps(a: AdvisorAnswers, structure: OrgStructure, t: _Trace) -> tuple[Reason, ...]:
    fired: list[str] = []
    in_sales_to_cultivate = (
        structure is OrgStructure.team_in_sales and a.purpose is DomainPurpose.user_cultivation
    )
    if a.sales_model is SalesModel.distributors or in_sales_to_cultivate:
        fired.append("trap.sales_harvest")
    if a.sales_model is SalesModel.own_stores:
        fired.append("trap.stores_cut_off")
    if a.gmv_and_brand_at_once:
        fired.append("trap.gmv_and_brand")
    if not a.aligned:
        fired.append("trap.department_walls")
    if a.stage is BrandStage.launch and a.expertise is not Expertise.done and not a.pilot:
        fired.append("trap.theory_only_operator")
    if a.stage is BrandStage.launch or a.pilot:
        fired.append("trap.penalties_in_test")
    if structure is OrgStructure.virtual_project_team:
        fired.append("trap.hire_before_traction")
    if a.traffic_source is AcquisitionSource.intercept:
        fired.append("trap.intercept_traffic")
    if a.has_mall and a.stage is not BrandStage.launch and not a.current_team.get("mall_ops"):
        fired.append("trap.mall_unattended")
    if not fired:
        t.add("traps.none")
    return tuple(t.reason(code) for code in fired)


def advise(answers: AdvisorAnswers) -> Advice:
    """The recommendation for answers: deterministic, every field explained by reasons citing the articles."""
    t = _Trace(answers)
    structure = _structure(answers, t)
    if _member_led(answers):
        t.add("structure.crm_led")
    build_mode = _build_mode(answers, structure, t)
    team, next_roles = _team_plan(answers, structure, t)
    kpis = _kpis(answers, structure, t)
    traps = _traps(answers, structure, t)
    return Advice(
        structure=structure,
        build_mode=build_mode,
        starting_team=team,
        next_roles=next_roles,
        kpi_emphasis=kpis,
        traps=traps,
        reasons=tuple(t.reasons),
    )


def reasons_for(advice: Advice, field_name: str) -> tuple[Reason, ...]:
    """The reasons explaining one output field (codes are prefixed by the field they explain)."""
    prefix = "traps." if field_name == "traps" else f"{field_name}."
    own = tuple(r for r in advice.reasons if r.code.startswith(prefix))
    return (*advice.traps, *own) if field_name == "traps" else own
