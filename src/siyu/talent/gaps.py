"""Team gap analysis, pure: facts about the org in scope + thresholds → findings (missing, overloaded, single points)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from statistics import median
from typing import Any

from siyu.models import BrandStage
from siyu.talent.contract import RoleEntry, RolePosition

STAGE_ORDER = (BrandStage.launch, BrandStage.growth, BrandStage.steady)
GUIDE = "guide"
# Roles staffed per store or region; every other role serves the whole brand from the centre, so it is
# judged (missing, single holder) only when the viewer sees the whole brand.
UNIT_ROLES = frozenset({"guide", "store_manager", "region_manager"})
# A unit head is one per unit by design: one holder inside one's own region is not a single point of failure.
UNIT_HEADS = frozenset({"store_manager", "region_manager"})
# Every store needs these roles staffed on the store itself.
STORE_ROLES = ("store_manager", GUIDE)


class Section(StrEnum):
    """The three parts of the report."""

    missing = "missing"
    overloaded = "overloaded"
    single_point = "single_point"


class FindingKind(StrEnum):
    """What a finding is about; tests and the API key on it."""

    missing_role = "missing_role"  # a role the stage needs has no active holder in scope
    store_role_missing = "store_role_missing"  # a store without an active guide / store manager
    short_headcount = "short_headcount"  # fewer holders than the advisor's starting team
    overloaded_customers = "overloaded_customers"  # a guide owns more customers than one person can serve
    overloaded_tasks = "overloaded_tasks"  # more open tasks than one person can clear
    single_holder = "single_holder"  # a role held by exactly one active person in scope
    single_guide_store = "single_guide_store"  # a store with exactly one active guide
    customer_concentration = "customer_concentration"  # one person owns most of a store's customers


SECTION_OF = {
    FindingKind.missing_role: Section.missing,
    FindingKind.store_role_missing: Section.missing,
    FindingKind.short_headcount: Section.missing,
    FindingKind.overloaded_customers: Section.overloaded,
    FindingKind.overloaded_tasks: Section.overloaded,
    FindingKind.single_holder: Section.single_point,
    FindingKind.single_guide_store: Section.single_point,
    FindingKind.customer_concentration: Section.single_point,
}


class Severity(StrEnum):
    """How urgent a finding is."""

    high = "high"
    medium = "medium"
    low = "low"


SEVERITY_RANK = {Severity.high: 0, Severity.medium: 1, Severity.low: 2}


@dataclass(frozen=True)
class GapThresholds:
    """The limits findings fire above; every one can be changed on the page (query) and the CLI (options)."""

    # Customers one guide can serve one-to-one (follow-ups, moments, store invitations); see docs/talent.md.
    customers_per_guide: int = 1500
    # Open tasks: about three working days of a guide's or operator's usual 10-15 tasks a day.
    open_tasks_per_person: int = 40
    # One person owning more than this share of a store's customers is a single point of failure.
    owner_share_pct: int = 50
    # Shares of stores smaller than this are noise (a new store with 8 customers).
    min_store_customers: int = 30

    def to_dict(self) -> dict[str, int]:
        """JSON-ready."""
        return asdict(self)


@dataclass(frozen=True)
class StaffFact:
    """An active staff member in scope, with the role codes held."""

    id: int
    code: str
    name: str
    unit_id: int
    roles: tuple[str, ...]


@dataclass(frozen=True)
class StoreFact:
    """An active store in scope and its not-merged, not-lost customers per owner (None: unassigned)."""

    id: int
    code: str
    name: str
    customers_by_owner: Mapping[int | None, int] = field(default_factory=dict)

    @property
    def customers(self) -> int:
        """All the store's counted customers."""
        return sum(self.customers_by_owner.values())


@dataclass(frozen=True)
class GapFacts:
    """Everything the analysis reads, already restricted to the viewer's scope."""

    stage: BrandStage
    brand_wide: bool  # the scope is the whole brand (scope all, no unit chosen)
    roles: Sequence[RoleEntry]  # the catalog in force (active roles)
    staff: Sequence[StaffFact]
    customers_by_owner: Mapping[int, int]  # staff id → counted customers owned
    open_tasks: Mapping[int, tuple[int, int]]  # staff id → (open, of which overdue)
    stores: Sequence[StoreFact]
    starting_team: Sequence[tuple[str, int]] | None = None  # latest advisor run's (role_code, headcount)
    advisor_run_id: int | None = None


@dataclass(frozen=True)
class Subject:
    """What a finding is about: a role, a staff member or an org unit (optionally with a role)."""

    type: str  # role | staff | unit
    id: int | None
    code: str
    name: str
    role_code: str | None = None


@dataclass(frozen=True)
class Finding:
    """One gap with its numbers, a one-sentence explanation and a suggested action (zh and en)."""

    kind: FindingKind
    severity: Severity
    subject: Subject
    numbers: dict[str, float | int]
    explanation_zh: str
    explanation_en: str
    action_zh: str
    action_en: str

    @property
    def section(self) -> Section:
        """The report section the finding belongs to."""
        return SECTION_OF[self.kind]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        body = asdict(self)
        body["kind"] = self.kind.value
        body["severity"] = self.severity.value
        body["section"] = self.section.value
        return body


@dataclass(frozen=True)
class GapReport:
    """The findings by section plus the totals they were judged against."""

    stage: BrandStage
    brand_wide: bool
    thresholds: GapThresholds
    findings: tuple[Finding, ...]
    totals: dict[str, int]
    holders: dict[str, int]  # role code → active holders in scope
    medians: dict[str, float]
    advisor_run_id: int | None

    def section(self, section: Section) -> list[Finding]:
        """The findings of one section, most severe first."""
        return [f for f in self.findings if f.section is section]

    def counts(self) -> dict[str, int]:
        """Number of findings per section."""
        return {s.value: len(self.section(s)) for s in Section}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for the API and the CLI's --format json."""
        return {
            "stage": self.stage.value,
            "brand_wide": self.brand_wide,
            "thresholds": self.thresholds.to_dict(),
            "counts": self.counts(),
            "totals": self.totals,
            "holders": self.holders,
            "medians": self.medians,
            "advisor_run_id": self.advisor_run_id,
            "findings": [f.to_dict() for f in self.findings],
        }


def stage_reached(needed_from: BrandStage, stage: BrandStage) -> bool:
    """Whether a role needed from needed_from is needed in stage."""
    return STAGE_ORDER.index(needed_from) <= STAGE_ORDER.index(stage)


def _median(values: Sequence[int]) -> float:
    return float(median(values)) if values else 0.0


def _role_subject(code: str, names: Mapping[str, RoleEntry]) -> Subject:
    entry = names.get(code)
    return Subject("role", None, code, f"{entry.name_zh} / {entry.name_en}" if entry else code, code)


def _missing(facts: GapFacts, holders: Mapping[str, int], by_code: Mapping[str, RoleEntry]) -> list[Finding]:
    out: list[Finding] = []
    # Inside a region or store the centre's roles live elsewhere: there only each store's own posts are judged.
    for role in facts.roles if facts.brand_wide else ():
        if not stage_reached(role.needed_from, facts.stage) or holders.get(role.code, 0) > 0:
            continue
        lead = role.position is RolePosition.lead
        out.append(
            Finding(
                FindingKind.missing_role,
                Severity.high if lead else Severity.medium,
                _role_subject(role.code, by_code),
                {"holders": 0},
                f"「{role.name_zh}」从{_STAGE_ZH[role.needed_from]}起就需要，当前范围内没有在岗的人。",
                f"The {role.name_en} role is needed from the {role.needed_from.value} stage on "
                "and no active person holds it in this scope.",
                "招聘或从相邻岗位调配一人承担此岗，先用岗位说明书明确职责与KPI。",
                "Hire or move someone into the role; start from its job description and KPIs.",
            )
        )
    for code, recommended in facts.starting_team or ():
        have = holders.get(code, 0)
        if not facts.brand_wide or have >= recommended:
            continue
        name = by_code[code].name_zh if code in by_code else code
        name_en = by_code[code].name_en if code in by_code else code
        out.append(
            Finding(
                FindingKind.short_headcount,
                Severity.high if have == 0 else Severity.medium,
                _role_subject(code, by_code),
                {"holders": have, "recommended": recommended, "short": recommended - have},
                f"组织诊断建议的起步团队需要 {recommended} 名「{name}」，目前在岗 {have} 名。",
                f"The advisor's starting team has {recommended} × {name_en}; {have} are in post.",
                f"补足 {recommended - have} 人，或在诊断中说明由服务商承担。",
                f"Add {recommended - have}, or record in the advisor that a partner covers it.",
            )
        )
    for store in facts.stores:
        for code in STORE_ROLES:
            if any(s.unit_id == store.id and code in s.roles for s in facts.staff):
                continue
            name = by_code[code].name_zh if code in by_code else code
            out.append(
                Finding(
                    FindingKind.store_role_missing,
                    Severity.high,
                    Subject("unit", store.id, store.code, store.name, code),
                    {"holders": 0, "customers": store.customers},
                    f"门店「{store.name}」没有在岗的「{name}」，{store.customers} 位顾客无人维护。",
                    f"Store {store.name} has no active {code}; its {store.customers} customers have no one to serve them.",
                    "尽快补岗；补岗前把顾客临时交接给同区域的导购。",
                    "Fill the post; until then hand its customers over to guides of the same region.",
                )
            )
    return out


_STAGE_ZH = {BrandStage.launch: "启动期", BrandStage.growth: "中期", BrandStage.steady: "稳定期"}


def _peer_medians(facts: GapFacts, load: Mapping[int, int]) -> dict[str, float]:
    """Median load per role among the active holders in scope (people without any count as zero)."""
    per_role: dict[str, list[int]] = defaultdict(list)
    for s in facts.staff:
        for code in s.roles:
            per_role[code].append(load.get(s.id, 0))
    return {code: _median(values) for code, values in per_role.items()}


def _overloaded(facts: GapFacts, t: GapThresholds) -> tuple[list[Finding], dict[str, float]]:
    out: list[Finding] = []
    guides = [s for s in facts.staff if GUIDE in s.roles]
    guide_median = _median([facts.customers_by_owner.get(s.id, 0) for s in guides])
    for s in guides:
        n = facts.customers_by_owner.get(s.id, 0)
        if n <= t.customers_per_guide:
            continue
        out.append(
            Finding(
                FindingKind.overloaded_customers,
                Severity.high if n > 1.5 * t.customers_per_guide else Severity.medium,
                Subject("staff", s.id, s.code, s.name),
                {"customers": n, "threshold": t.customers_per_guide, "median": guide_median},
                f"{s.name} 名下有 {n} 位顾客，超过一名导购能一对一服务的 {t.customers_per_guide} 位（团队中位数 {guide_median:g}）。",
                f"{s.name} owns {n} customers, above the {t.customers_per_guide} one guide can serve "
                f"one-to-one (team median {guide_median:g}).",
                "把部分顾客交接给负载低的导购，或为该门店增补导购。",
                "Hand some customers over to less loaded guides, or add a guide to the store.",
            )
        )
    open_load = {staff_id: pair[0] for staff_id, pair in facts.open_tasks.items()}
    role_medians = _peer_medians(facts, open_load)
    for s in facts.staff:
        n, overdue = facts.open_tasks.get(s.id, (0, 0))
        if n <= t.open_tasks_per_person:
            continue
        main = min(s.roles) if s.roles else ""
        peers = role_medians.get(main, 0.0)
        out.append(
            Finding(
                FindingKind.overloaded_tasks,
                Severity.high if overdue > t.open_tasks_per_person else Severity.medium,
                Subject("staff", s.id, s.code, s.name, main or None),
                {"open": n, "overdue": overdue, "threshold": t.open_tasks_per_person, "median": peers},
                f"{s.name} 有 {n} 项未完成任务（其中 {overdue} 项已逾期），超过 {t.open_tasks_per_person} 项（同岗位中位数 {peers:g}）。",
                f"{s.name} has {n} open tasks ({overdue} overdue), above {t.open_tasks_per_person} "
                f"(median of the same role {peers:g}).",
                "重新分配任务或精简 SOP，先清理逾期任务。",
                "Reassign tasks or trim the SOP; clear the overdue ones first.",
            )
        )
    medians = {"customers_per_guide": guide_median}
    medians.update({f"open_tasks:{code}": value for code, value in sorted(role_medians.items())})
    return out, medians


def _single_points(
    facts: GapFacts, t: GapThresholds, holders: Mapping[str, int], by_code: Mapping[str, RoleEntry]
) -> list[Finding]:
    out: list[Finding] = []
    staff_by_id = {s.id: s for s in facts.staff}
    for code, n in sorted(holders.items()):
        if n != 1 or code not in by_code:
            continue
        if not facts.brand_wide and (code not in UNIT_ROLES or code in UNIT_HEADS):
            continue
        holder = next(s for s in facts.staff if code in s.roles)
        entry = by_code[code]
        out.append(
            Finding(
                FindingKind.single_holder,
                Severity.high if entry.position is RolePosition.lead else Severity.medium,
                _role_subject(code, by_code),
                {"holders": 1, "holder_staff_id": holder.id},
                f"「{entry.name_zh}」只有 {holder.name} 一人在岗，此人离开或休假时该岗位的工作会停下来。",
                f"Only {holder.name} holds the {entry.name_en} role; the work stops when they leave or are away.",
                "培养一名后备（交叉培训或兼岗），并把关键做法写成 SOP。",
                "Train a backup (cross-training or a second hat) and write the key practices down as SOPs.",
            )
        )
    for store in facts.stores:
        guides = [s for s in facts.staff if s.unit_id == store.id and GUIDE in s.roles]
        if len(guides) == 1:
            out.append(
                Finding(
                    FindingKind.single_guide_store,
                    Severity.medium,
                    Subject("unit", store.id, store.code, store.name, GUIDE),
                    {"guides": 1, "customers": store.customers, "guide_staff_id": guides[0].id},
                    f"门店「{store.name}」只有导购 {guides[0].name} 一人，{store.customers} 位顾客都系于一人。",
                    f"Store {store.name} has one guide, {guides[0].name}; all {store.customers} customers hang on them.",
                    "增补第二名导购，或指定店长为后备对接人。",
                    "Add a second guide, or name the store manager as backup contact.",
                )
            )
        total = store.customers
        if total < t.min_store_customers:
            continue
        for owner, owned in sorted(store.customers_by_owner.items(), key=lambda kv: (kv[0] is None, kv[0])):
            share = 100.0 * owned / total
            if owner is None or owner not in staff_by_id or share <= t.owner_share_pct:
                continue
            person = staff_by_id[owner]
            out.append(
                Finding(
                    FindingKind.customer_concentration,
                    Severity.high if share > (100 + t.owner_share_pct) / 2 else Severity.medium,
                    Subject("staff", person.id, person.code, person.name),
                    {
                        "owned": owned,
                        "store_customers": total,
                        "share_pct": round(share, 1),
                        "threshold_pct": t.owner_share_pct,
                        "store_id": store.id,
                    },
                    f"{person.name} 名下有门店「{store.name}」{share:.0f}% 的顾客（{owned}/{total}），此人离职会带走门店的大部分关系。",
                    f"{person.name} owns {share:.0f}% of store {store.name}'s customers ({owned}/{total}); "
                    "their leaving would take most of the store's relationships.",
                    "让第二名导购共同维护重点顾客，并用企业微信在职继承做好交接准备。",
                    "Have a second guide co-serve key customers and prepare a WeCom handover.",
                )
            )
    return out


def analyse(facts: GapFacts, thresholds: GapThresholds) -> GapReport:
    """The gap report of facts: each finding kind fires strictly above (or, for counts, exactly at) its limit."""
    holders: dict[str, int] = defaultdict(int)
    for s in facts.staff:
        for code in set(s.roles):
            holders[code] += 1
    by_code = {r.code: r for r in facts.roles}
    overloaded, medians = _overloaded(facts, thresholds)
    findings = [
        *_missing(facts, holders, by_code),
        *overloaded,
        *_single_points(facts, thresholds, holders, by_code),
    ]
    findings.sort(
        key=lambda f: (
            list(Section).index(f.section),
            SEVERITY_RANK[f.severity],
            f.kind.value,
            f.subject.code,
        )
    )
    totals = {
        "active_staff": len(facts.staff),
        "guides": sum(1 for s in facts.staff if GUIDE in s.roles),
        "stores": len(facts.stores),
        "customers_owned": sum(facts.customers_by_owner.values()),
        "open_tasks": sum(pair[0] for pair in facts.open_tasks.values()),
        "overdue_tasks": sum(pair[1] for pair in facts.open_tasks.values()),
    }
    return GapReport(
        stage=facts.stage,
        brand_wide=facts.brand_wide,
        thresholds=thresholds,
        findings=tuple(findings),
        totals=totals,
        holders=dict(sorted(holders.items())),
        medians=medians,
        advisor_run_id=facts.advisor_run_id,
    )
