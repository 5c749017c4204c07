"""The shared shapes of the talent domain: role entries, advisor answers and advice, competency dimensions, outcomes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from siyu.models import BrandStage
from siyu.models.talent import AssessmentOutcome

# --- Role map (人才全景图) ---------------------------------------------------------------------------------


class ValueStage(StrEnum):
    """The three value stages a role serves (获客引流 / 留存转化 / 复购裂变)."""

    acquisition = "acquisition"
    retention_conversion = "retention_conversion"
    repurchase_fission = "repurchase_fission"


class RolePosition(StrEnum):
    """A lead role (主导岗位) drives the operation; a supporting one (协同岗位) links and speeds it up."""

    lead = "lead"
    supporting = "supporting"


@dataclass(frozen=True)
class RoleEntry:
    """One role of the catalog: what it is, does, needs and is measured on."""

    code: str
    name_zh: str
    name_en: str
    definition_zh: str
    definition_en: str
    duties: tuple[str, ...]  # zh, one sentence each
    competencies: tuple[str, ...]  # zh, core competencies
    kpi_metric_codes: tuple[str, ...]  # codes from siyu.performance.catalog.METRICS
    needed_from: BrandStage  # the programme stage from which a team needs the role
    value_stages: tuple[ValueStage, ...]
    position: RolePosition
    sort_order: int = 100
    builtin: bool = True
    active: bool = True

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (enums as their values, tuples as lists)."""
        body = asdict(self)
        body["needed_from"] = self.needed_from.value
        body["value_stages"] = [v.value for v in self.value_stages]
        body["position"] = self.position.value
        for key in ("duties", "competencies", "kpi_metric_codes"):
            body[key] = list(body[key])
        return body


# --- Org advisor (组织诊断) -------------------------------------------------------------------------------


class SalesModel(StrEnum):
    """How the business mainly sells."""

    distributors = "distributors"  # through others' shelves: supermarkets, shops, distributors
    own_stores = "own_stores"  # through its own stores and guides
    ecommerce = "ecommerce"  # through online shops
    mixed = "mixed"


class DomainPurpose(StrEnum):
    """What the private domain is for (seed 002)."""

    sales_channel = "sales_channel"
    user_cultivation = "user_cultivation"


class OrgStructure(StrEnum):
    """Where the private-domain team sits (seed 004's 组织全景图 and seed 000)."""

    virtual_project_team = "virtual_project_team"  # drawn from marketing / e-commerce / IT, project-based
    team_in_marketing = "team_in_marketing"
    team_in_sales = "team_in_sales"
    first_level_growth = "first_level_growth"  # first-level department, user middle-platform, growth-driven
    first_level_digital = "first_level_digital"  # first-level department, digital-enablement type


class BuildMode(StrEnum):
    """Build the team in-house, or keep core people and bring in a service partner (seed 002)."""

    in_house = "in_house"
    partner = "partner"  # core people in-house, operations with a service partner


@dataclass(frozen=True)
class Citation:
    """The article passage a reason comes from."""

    seed: str  # file name under ../shared/seeds, e.g. "004_f005529eb8f2fdb8.txt"
    quote: str  # a short passage, verbatim (simplified Chinese)


@dataclass(frozen=True)
class Reason:
    """One step of the advisor's reasoning, in both languages, with its source."""

    code: str  # stable id of the rule that fired, tests assert on it
    text_zh: str
    text_en: str
    citation: Citation


@dataclass(frozen=True)
class TeamSlot:
    """A role and how many people the recommendation puts on it."""

    role_code: str
    headcount: int


@dataclass(frozen=True)
class Advice:
    """The advisor's recommendation: every field is explained by reasons."""

    structure: OrgStructure
    build_mode: BuildMode
    starting_team: tuple[TeamSlot, ...]
    next_roles: tuple[str, ...]  # role codes to add at the next stage
    kpi_emphasis: tuple[str, ...]  # metric codes from the catalog
    traps: tuple[Reason, ...]
    reasons: tuple[Reason, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, stored in advisor_runs.result."""
        return {
            "structure": self.structure.value,
            "build_mode": self.build_mode.value,
            "starting_team": [asdict(s) for s in self.starting_team],
            "next_roles": list(self.next_roles),
            "kpi_emphasis": list(self.kpi_emphasis),
            "traps": [asdict(r) for r in self.traps],
            "reasons": [asdict(r) for r in self.reasons],
        }


# --- Assessments (人才盘点) ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dimension:
    """A competency dimension: weight (the model's weights sum to 100), anchors for scores 1..5, evidence metrics."""

    code: str
    name_zh: str
    name_en: str
    weight: int
    anchors: tuple[str, str, str, str, str]  # zh behavioural anchor for score 1, 2, 3, 4, 5
    evidence_metric_codes: tuple[str, ...] = ()  # catalog metrics shown beside the score
    description_zh: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, stored in competency_models.dimensions."""
        body = asdict(self)
        body["anchors"] = list(self.anchors)
        body["evidence_metric_codes"] = list(self.evidence_metric_codes)
        return body


@dataclass(frozen=True)
class OutcomeThresholds:
    """Weighted score (1..5) cuts: ≥ promote_min → 进, ≥ keep_min → 留, ≥ transfer_min → 转, else 退."""

    promote_min: float = 4.2
    keep_min: float = 3.4
    transfer_min: float = 2.6

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, stored in assessment_cycles.thresholds."""
        return asdict(self)


@dataclass(frozen=True)
class EvidenceItem:
    """One metric's value for the person over the cycle, and where it sits among peers of the same role."""

    metric_code: str
    value: float | None  # catalog unit (fen, 0..1, count, seconds); None when undefined
    percentile: float | None  # 0..1 among same-role peers, direction-adjusted (1 = best); None without peers
    peers: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, stored in assessments.evidence."""
        return asdict(self)


@dataclass(frozen=True)
class ScoredOutcome:
    """The pure result of scoring: weighted score, outcome and the explanation in both languages."""

    weighted_score: float
    outcome: AssessmentOutcome
    explanation_zh: str
    explanation_en: str
    notes: tuple[str, ...] = field(default=())
