"""Competency models (seed 003's five dimensions, editable per role as versions): defaults, validation, service."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.errors import Forbidden, Invalid, NotFound
from siyu.models.talent import CompetencyModel
from siyu.org.permissions import Actor
from siyu.talent.access import COMPETENCY_EDIT
from siyu.talent.contract import Dimension
from siyu.talent.evidence import EVIDENCE_METRICS, KPI_IMPROVEMENT

DEFAULT_KEY = "*"
CODE_RE = re.compile(r"[a-z][a-z0-9_]*\Z")
MAX_CODE, MAX_NAME, MAX_ANCHOR, MAX_DIMENSIONS = 48, 60, 300, 12

# Seed 003 (如何判断运营人员是否勝任): five abilities "为公司人员的进、退、留、转给出一定的参考意见".
# Anchors are ours, written from the article's descriptions; weights are a starting point to edit.
DEFAULT_DIMENSIONS: tuple[Dimension, ...] = (
    Dimension(
        code="user_thinking",
        name_zh="用户运营能力（用户思维）",
        name_en="User thinking",
        weight=25,
        anchors=(
            "以自我为中心：只按自己的想法发内容、推产品，说不清用户为什么买、在什么场景用。",
            "能复述用户画像，但方案仍从产品出发，很少站在用户角度追问需求与顾虑。",
            "能站在用户角度分析购买动机、使用场景和获得感，并据此调整话术和内容。",
            "能按用户的具体情况（如病症、场景）细分人群，设计搭售和让用户愿意参与、邀请同伴的活动。",
            "始终以用户为中心：用用户洞察带动选品、活动和裂变设计，并能带同事建立用户思维。",
        ),
        evidence_metric_codes=(
            "retention_rate_30d",
            "repurchase_rate",
            "first_response_seconds",
            "reply_within_3min_rate",
        ),
        description_zh="用户运营能力的核心是用户思维：以用户为中心而不是以自我为中心，各岗位都应具备。",
    ),
    Dimension(
        code="learning",
        name_zh="自身学习能力",
        name_en="Learning",
        weight=15,
        anchors=(
            "没有主动学习的意愿，公司组织的培训也不参加或敷衍，玩法停留在原地。",
            "被要求时才参加培训，很少把学到的东西用到工作中；只适合基础执行岗位。",
            "积极参加公司组织的运营培训，能把新玩法用到自己的工作中。",
            "每年主动付费学习市场上的运营知识，并在工作中试用、复盘新玩法。",
            "持续主动学习且迭代快，能把新知识沉淀成方法并带动团队一起提升。",
        ),
        evidence_metric_codes=(KPI_IMPROVEMENT,),
        description_zh="私域玩法迭代很快，运营人员要不断提升自己：是否主动付费学习、是否积极参加公司培训。",
    ),
    Dimension(
        code="execution",
        name_zh="工作执行能力",
        name_en="Execution",
        weight=25,
        anchors=(
            "执行拖延、经常迟到，强制要求的细节（如按“日期+姓名+用户阶段”改用户备注）也做不到。",
            "需要反复催促才完成，时间观念弱，细节规范时有遗漏。",
            "能按时完成分配的任务，遵守规范，偶有细节疏漏。",
            "自律、守时，任务按时高质量完成，备注格式等细节检查时基本无误。",
            "高度自律、从不迟到，细节一丝不苟，再好的策略都能不打折扣地落地并主动反馈。",
        ),
        evidence_metric_codes=("task_on_time_rate", "tasks_done"),
        description_zh="运营本来就是动词：执行力强的人自律、时间观念强、注重细节（如按公司格式修改用户微信备注）。",
    ),
    Dimension(
        code="business_analysis",
        name_zh="业务分析能力",
        name_en="Business analysis",
        weight=20,
        anchors=(
            "看不懂数据，说不清业务结果的原因，稀里糊涂。",
            "只能看单一数据或单一角度，结论缺少依据。",
            "能结合业务和数据反馈分析问题，结论基本合理。",
            "能从业务角度、数据反馈、用户行为多个维度综合分析，并提出可执行的改进。",
            "逻辑严密，多维度分析能预判问题并指导团队决策，分析结论被数据验证。",
        ),
        evidence_metric_codes=("gmv", "conversion_rate", "avg_order_value"),
        description_zh="业务分析能力的背后是逻辑思维：能否从业务角度、数据反馈、用户行为等多个维度综合分析。",
    ),
    Dimension(
        code="product_selection",
        name_zh="私域选品能力",
        name_en="Product selection",
        weight=15,
        anchors=(
            "不懂私域选品，把电商或投放的选品逻辑照搬到私域。",
            "知道要选品，但说不清不同阶段、不同场景的选品逻辑。",
            "能按阶段和场景选品，例如冷启动时选认知度高、价格低于心理价、质量好的引流品。",
            "能针对用户人群匹配商品，引流、转化、复购各场景的选品效果稳定。",
            "选品逻辑清晰且可复制，能让引流效果和复购最大化，并带团队形成选品方法。",
        ),
        evidence_metric_codes=("avg_order_value", "repurchase_rate"),
        description_zh="私域不同阶段、不同场景的选品逻辑不同；如冷启动引流品：认知度高、价格低于心理价格、支持一件代发、质量优。",
    ),
)

# Guides' execution shows on their 1:1 work too: greetings and Moments posts are tasks they are given.
GUIDE_ROLE = "guide"
GUIDE_DIMENSIONS: tuple[Dimension, ...] = tuple(
    Dimension(
        d.code, d.name_zh, d.name_en, d.weight, d.anchors,
        (*d.evidence_metric_codes, "greetings_sent", "moments_posts"), d.description_zh,
    )
    if d.code == "execution"
    else d
    for d in DEFAULT_DIMENSIONS
)  # fmt: skip


# --- validation ----------------------------------------------------------------------------------------


def _text(raw: Mapping[str, Any], key: str, where: str, limit: int, required: bool = True) -> str:
    value = raw.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(f"{where}.{key}: {value!r} is not text")
    value = value.strip()
    if required and not value:
        raise Invalid(f"{where}.{key}: empty; give a value")
    if len(value) > limit:
        raise Invalid(f"{where}.{key}: {len(value)} characters, at most {limit}")
    return value


def _weight(value: Any, where: str) -> int:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"{where}.weight: {value!r} is not a whole number")
    if not 1 <= value <= 100:
        raise Invalid(f"{where}.weight: {value} must be a positive whole number up to 100")
    return value


def parse_dimension(raw: Mapping[str, Any], where: str) -> Dimension:
    """One dimension from JSON / form data, Invalid naming the path (e.g. "dimensions[2].weight")."""
    if not isinstance(raw, Mapping):
        raise Invalid(f"{where}: {raw!r} is not an object")
    code = _text(raw, "code", where, MAX_CODE)
    if not CODE_RE.match(code):
        raise Invalid(
            f"{where}.code: {code!r} must be lower-case letters, digits and _ starting with a letter"
        )
    anchors = raw.get("anchors")
    if not isinstance(anchors, (list, tuple)) or len(anchors) != 5:
        raise Invalid(f"{where}.anchors: give exactly 5 anchors (for scores 1..5)")
    texts = []
    for n, anchor in enumerate(anchors):
        if not isinstance(anchor, str) or not anchor.strip():
            raise Invalid(f"{where}.anchors[{n}]: the anchor for score {n + 1} is empty")
        if len(anchor.strip()) > MAX_ANCHOR:
            raise Invalid(f"{where}.anchors[{n}]: {len(anchor.strip())} characters, at most {MAX_ANCHOR}")
        texts.append(anchor.strip())
    metrics = raw.get("evidence_metric_codes") or []
    if not isinstance(metrics, (list, tuple)):
        raise Invalid(f"{where}.evidence_metric_codes: {metrics!r} is not a list of metric codes")
    seen: list[str] = []
    for n, m in enumerate(metrics):
        if not isinstance(m, str) or m.strip() not in EVIDENCE_METRICS:
            raise Invalid(f"{where}.evidence_metric_codes[{n}]: {m!r} is not a metric of the catalog")
        if m.strip() in seen:
            raise Invalid(f"{where}.evidence_metric_codes[{n}]: {m.strip()!r} is listed twice")
        seen.append(m.strip())
    return Dimension(
        code=code,
        name_zh=_text(raw, "name_zh", where, MAX_NAME),
        name_en=_text(raw, "name_en", where, MAX_NAME, required=False) or code,
        weight=_weight(raw.get("weight"), where),
        anchors=(texts[0], texts[1], texts[2], texts[3], texts[4]),
        evidence_metric_codes=tuple(seen),
        description_zh=_text(raw, "description_zh", where, 1000, required=False),
    )


def parse_dimensions(raw: Sequence[Mapping[str, Any] | Dimension]) -> tuple[Dimension, ...]:
    """Dimensions from JSON (or re-checked Dimension objects): codes unique, weights summing to 100."""
    if not isinstance(raw, (list, tuple)) or not raw:
        raise Invalid("dimensions: give at least one dimension")
    if len(raw) > MAX_DIMENSIONS:
        raise Invalid(f"dimensions: {len(raw)} dimensions, at most {MAX_DIMENSIONS}")
    out: list[Dimension] = []
    codes: set[str] = set()
    for n, item in enumerate(raw):
        body = item.to_dict() if isinstance(item, Dimension) else item
        d = parse_dimension(body, f"dimensions[{n}]")
        if d.code in codes:
            raise Invalid(f"dimensions[{n}].code: {d.code!r} is used by another dimension")
        codes.add(d.code)
        out.append(d)
    total = sum(d.weight for d in out)
    if total != 100:
        raise Invalid(f"dimensions: weights sum to {total}, they must sum to 100")
    return tuple(out)


def parse_role_key(role_key: str) -> str:
    """ "*" (the default model) or a role code."""
    key = role_key.strip()
    if key != DEFAULT_KEY and (not CODE_RE.match(key) or len(key) > MAX_CODE):
        raise Invalid(f"competency model: role {role_key!r} is not a role code (a-z, 0-9, _) or '*'")
    return key


# --- service -------------------------------------------------------------------------------------------


def dimensions_of(model: CompetencyModel) -> tuple[Dimension, ...]:
    """The stored dimensions as contract objects (stored rows were validated when saved)."""
    return tuple(
        Dimension(
            code=str(d["code"]),
            name_zh=str(d["name_zh"]),
            name_en=str(d.get("name_en") or d["code"]),
            weight=int(d["weight"]),
            anchors=tuple(str(a) for a in d["anchors"]),  # type: ignore[arg-type]
            evidence_metric_codes=tuple(str(c) for c in d.get("evidence_metric_codes") or ()),
            description_zh=str(d.get("description_zh") or ""),
        )
        for d in model.dimensions
    )


def _seed(session: Session) -> None:
    """Version 1 of the default model (and the guides' variant) when no competency model exists at all."""
    if session.scalar(select(CompetencyModel.id).limit(1)) is not None:
        return
    rows = [
        CompetencyModel(
            role_key=key,
            version=1,
            dimensions=[d.to_dict() for d in dims],
            note="依据《企业如何从0到1搭建私域运营团队》中判断进、退、留、转的五项能力",
        )
        for key, dims in ((DEFAULT_KEY, DEFAULT_DIMENSIONS), (GUIDE_ROLE, GUIDE_DIMENSIONS))
    ]
    try:
        with session.begin_nested():
            session.add_all(rows)
    except IntegrityError:
        # Two first visits at once: the other transaction seeded the same versions; use theirs.
        pass


def _latest(session: Session, keys: Iterable[str]) -> dict[str, CompetencyModel]:
    rows = session.scalars(
        select(CompetencyModel)
        .where(CompetencyModel.role_key.in_(sorted(set(keys))))
        .order_by(CompetencyModel.role_key, CompetencyModel.version.desc())
    ).all()
    out: dict[str, CompetencyModel] = {}
    for row in rows:
        out.setdefault(row.role_key, row)
    return out


def models_for(session: Session, role_codes: Iterable[str]) -> dict[str, CompetencyModel]:
    """Role code → its latest model, else the latest default (seeding the default on first use); one query."""
    codes = set(role_codes)
    _seed(session)
    latest = _latest(session, codes | {DEFAULT_KEY})
    default = latest.get(DEFAULT_KEY)
    out = {}
    for code in codes:
        chosen = latest.get(code) or default
        if chosen is None:
            raise NotFound(f"competency model for role {code!r}: no role model and no default model exists")
        out[code] = chosen
    return out


def model_for(session: Session, role_code: str) -> CompetencyModel:
    """The latest version for the role, else the latest default ("*")."""
    return models_for(session, [role_code])[role_code]


def versions(session: Session, role_key: str) -> list[CompetencyModel]:
    """Every version of one role's model (or "*"), newest first."""
    _seed(session)
    key = parse_role_key(role_key)
    return list(
        session.scalars(
            select(CompetencyModel)
            .where(CompetencyModel.role_key == key)
            .order_by(CompetencyModel.version.desc())
        )
    )


def latest_models(session: Session) -> dict[str, CompetencyModel]:
    """Role key → latest version, for every key that has a model ("*" first)."""
    _seed(session)
    rows = session.scalars(
        select(CompetencyModel).order_by(CompetencyModel.role_key, CompetencyModel.version.desc())
    ).all()
    out: dict[str, CompetencyModel] = {}
    for row in rows:
        out.setdefault(row.role_key, row)
    return dict(sorted(out.items(), key=lambda kv: (kv[0] != DEFAULT_KEY, kv[0])))


def get_model(session: Session, model_id: int) -> CompetencyModel:
    """One stored version by id, NotFound otherwise."""
    found = session.get(CompetencyModel, model_id)
    if found is None:
        raise NotFound(f"competency model {model_id} does not exist")
    return found


def require_editor(actor: Actor, role_key: str) -> None:
    """Only admins and the private-domain lead change competency models."""
    if not COMPETENCY_EDIT.allows(actor):
        raise Forbidden(
            f"competency model {role_key!r}: role {actor.role.value!r} may not edit it; "
            "admin or private_domain_lead may"
        )


def save_model(
    session: Session,
    actor: Actor,
    role_key: str,
    dimensions: Sequence[Dimension | Mapping[str, Any]],
    note: str | None = None,
) -> CompetencyModel:
    """Write a new version of the role's model (older versions and the assessments using them stay; audited)."""
    key = parse_role_key(role_key)
    require_editor(actor, key)
    dims = parse_dimensions(dimensions)
    text = (note or "").strip() or None
    if text is not None and len(text) > 2000:
        raise Invalid(f"competency model {key!r}: note is {len(text)} characters, at most 2000")
    _seed(session)
    latest = session.scalar(select(func.max(CompetencyModel.version)).where(CompetencyModel.role_key == key))
    model = CompetencyModel(
        role_key=key,
        version=(latest or 0) + 1,
        dimensions=[d.to_dict() for d in dims],
        note=text,
        created_by_account_id=actor.account_id,
    )
    session.add(model)
    session.flush()
    audit(
        session,
        actor,
        "competency_model.save",
        "competency_model",
        model.id,
        {
            "role_key": key,
            "version": model.version,
            "weights": [[d.code, d.weight] for d in dims],
            "note": text,
        },
    )
    return model
