"""Role map rules: edit, add, deactivate and reset roles (audited, ROLE_MAP_EDIT), holders, job descriptions."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.errors import Conflict, Forbidden, Invalid
from siyu.models import BrandStage, KpiSet, OrgUnit, Staff, StaffRole, StaffStatus
from siyu.models.talent import RoleDefinition
from siyu.org.permissions import Actor
from siyu.org.repository import readable_staff
from siyu.performance.catalog import METRICS
from siyu.talent.access import ROLE_MAP_EDIT
from siyu.talent.contract import RoleEntry, RolePosition, ValueStage
from siyu.talent.roles_catalog import entry_from_dict, role_entry, shipped_by_code

CODE_PATTERN = re.compile(r"[a-z][a-z0-9_]{1,47}")
# Fields a console edit may change; code, builtin and active have their own actions.
EDITABLE = (
    "name_zh",
    "name_en",
    "definition_zh",
    "definition_en",
    "duties",
    "competencies",
    "kpi_metric_codes",
    "needed_from",
    "value_stages",
    "position",
    "sort_order",
)
_REQUIRED_TEXT = ("name_zh", "name_en", "definition_zh")
_MAX_TEXT = 2000
_MAX_ITEMS = 20
TARGET = "role_definition"


@dataclass(frozen=True)
class Holder:
    """A staff member holding a role, as the role page lists them."""

    staff_id: int
    staff_code: str
    name: str
    unit_id: int
    unit_name: str


def require_editor(actor: Actor, what: str) -> None:
    """Only the roles of ROLE_MAP_EDIT (admin, private-domain lead) change the role map."""
    if not ROLE_MAP_EDIT.allows(actor):
        raise Forbidden(
            f"{what}: role {actor.role.value!r} may not edit the role map; admin or private_domain_lead may"
        )


def _choice(value: Any, kind: type[BrandStage] | type[ValueStage] | type[RolePosition], where: str) -> str:
    allowed = [m.value for m in kind]
    if value not in allowed:
        raise Invalid(f"{where}: {value!r} is not one of {', '.join(allowed)}")
    return str(value)


def _items(value: Any, where: str, *, at_least: int) -> list[str]:
    if isinstance(value, str):
        value = value.splitlines()
    if not isinstance(value, list | tuple):
        raise Invalid(f"{where}: expected a list of text lines, got {type(value).__name__}")
    items = [str(v).strip() for v in value if str(v).strip()]
    if len(items) < at_least:
        raise Invalid(f"{where}: at least {at_least} item(s) needed, got {len(items)}")
    if len(items) > _MAX_ITEMS:
        raise Invalid(f"{where}: at most {_MAX_ITEMS} items allowed, got {len(items)}")
    long = [i for i in items if len(i) > _MAX_TEXT]
    if long:
        raise Invalid(f"{where}: an item is longer than {_MAX_TEXT} characters")
    return items


def validate_body(code: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """The normalised body of role `code`; Invalid naming the role, the field and why when a value is wrong."""
    where = f"role {code!r}"
    unknown = sorted(set(body) - set(EDITABLE) - {"code", "builtin", "active"})
    if unknown:
        raise Invalid(f"{where}: unknown field(s) {', '.join(unknown)}; editable: {', '.join(EDITABLE)}")
    out: dict[str, Any] = {"code": code}
    for key in ("name_zh", "name_en", "definition_zh", "definition_en"):
        text = str(body.get(key) or "").strip()
        if key in _REQUIRED_TEXT and not text:
            raise Invalid(f"{where} field {key!r}: must not be empty")
        if len(text) > _MAX_TEXT:
            raise Invalid(f"{where} field {key!r}: longer than {_MAX_TEXT} characters")
        out[key] = text
    out["duties"] = _items(body.get("duties", []), f"{where} field 'duties'", at_least=1)
    out["competencies"] = _items(body.get("competencies", []), f"{where} field 'competencies'", at_least=1)
    kpis = _items(body.get("kpi_metric_codes", []), f"{where} field 'kpi_metric_codes'", at_least=0)
    unknown_kpis = [k for k in kpis if k not in METRICS]
    if unknown_kpis:
        raise Invalid(
            f"{where} field 'kpi_metric_codes': {', '.join(unknown_kpis)} not in the metric catalog "
            "(see /performance/metrics)"
        )
    out["kpi_metric_codes"] = list(dict.fromkeys(kpis))
    out["needed_from"] = _choice(body.get("needed_from"), BrandStage, f"{where} field 'needed_from'")
    stages = body.get("value_stages") or []
    if isinstance(stages, str):
        stages = [stages]
    if not stages:
        raise Invalid(f"{where} field 'value_stages': choose at least one value stage")
    out["value_stages"] = list(
        dict.fromkeys(_choice(v, ValueStage, f"{where} field 'value_stages'") for v in stages)
    )
    out["position"] = _choice(body.get("position"), RolePosition, f"{where} field 'position'")
    order = body.get("sort_order", 100)
    try:
        out["sort_order"] = int(order)
    except (TypeError, ValueError):
        raise Invalid(f"{where} field 'sort_order': {order!r} is not a whole number") from None
    if not 0 <= out["sort_order"] <= 100_000:
        raise Invalid(f"{where} field 'sort_order': must be between 0 and 100000")
    return out


def _row(session: Session, code: str) -> RoleDefinition | None:
    return session.scalars(select(RoleDefinition).where(RoleDefinition.code == code)).one_or_none()


def _save(
    session: Session, actor: Actor, code: str, body: dict[str, Any], *, builtin: bool, active: bool
) -> RoleDefinition:
    row = _row(session, code)
    if row is None:
        row = RoleDefinition(code=code, body=body, builtin=builtin, active=active)
        session.add(row)
    else:
        row.body = body
        row.active = active
    row.updated_by_account_id = actor.account_id
    session.flush()
    return row


def _audit(session: Session, actor: Actor, action: str, row_id: int | None, code: str,
           before: RoleEntry | None, after: RoleEntry | None) -> None:  # fmt: skip
    detail = {
        "code": code,
        "before": before.to_dict() if before else None,
        "after": after.to_dict() if after else None,
    }
    audit(session, actor, action, TARGET, row_id, detail)


def _entry(body: dict[str, Any], code: str, *, builtin: bool, active: bool) -> RoleEntry:
    return entry_from_dict(body, f"role {code!r}", builtin=builtin, active=active)


def edit_role(session: Session, actor: Actor, code: str, fields: Mapping[str, Any]) -> RoleEntry:
    """Change any editable fields of a role (shipped or custom); unspecified fields keep their value. Audited."""
    require_editor(actor, f"edit role {code!r}")
    before = role_entry(session, code)
    merged = {key: value for key, value in before.to_dict().items() if key in EDITABLE}
    merged.update(fields)
    body = validate_body(code, merged)
    after = _entry(body, code, builtin=before.builtin, active=before.active)
    row = _save(session, actor, code, body, builtin=before.builtin, active=before.active)
    _audit(session, actor, "talent.role.edit", row.id, code, before, after)
    return after


def create_role(session: Session, actor: Actor, code: str, fields: Mapping[str, Any]) -> RoleEntry:
    """Add a custom role (code: lower-case letter then letters, digits, _; 2–48 long; unused). Audited."""
    require_editor(actor, f"add role {code!r}")
    code = code.strip()
    if not CODE_PATTERN.fullmatch(code):
        raise Invalid(
            f"role code {code!r}: must start with a lower-case letter and use only a-z, 0-9 and _ (2–48 characters)"
        )
    if code in shipped_by_code() or _row(session, code) is not None:
        raise Conflict(f"role code {code!r}: already used by a role in the catalog; choose another code")
    body = validate_body(code, {"sort_order": 1000, **fields})
    after = _entry(body, code, builtin=False, active=True)
    row = _save(session, actor, code, body, builtin=False, active=True)
    _audit(session, actor, "talent.role.create", row.id, code, None, after)
    return after


def set_active(session: Session, actor: Actor, code: str, active: bool) -> RoleEntry:
    """Deactivate (hide from the map) or reactivate a role; holders keep their role code. Audited."""
    require_editor(actor, f"{'reactivate' if active else 'deactivate'} role {code!r}")
    before = role_entry(session, code)
    body = {key: value for key, value in before.to_dict().items() if key in EDITABLE}
    body["code"] = code
    row = _save(session, actor, code, body, builtin=before.builtin, active=active)
    after = _entry(body, code, builtin=before.builtin, active=active)
    _audit(
        session, actor, f"talent.role.{'reactivate' if active else 'deactivate'}", row.id, code, before, after
    )
    return after


def reset_role(session: Session, actor: Actor, code: str) -> RoleEntry:
    """Put a shipped role back to the shipped version (drops the console edit, active again). Audited."""
    require_editor(actor, f"reset role {code!r}")
    shipped = shipped_by_code().get(code)
    before = role_entry(session, code)
    if shipped is None:
        raise Invalid(
            f"role {code!r}: a custom role has no shipped version to reset to; edit or deactivate it"
        )
    row = _row(session, code)
    if row is not None:
        row_id = row.id
        session.delete(row)
        session.flush()
        _audit(session, actor, "talent.role.reset", row_id, code, before, shipped)
    return shipped


# --- holders ---------------------------------------------------------------------------------------------


def holders(session: Session, actor: Actor, codes: Sequence[str]) -> dict[str, list[Holder]]:
    """Role code → active staff holding it whom the actor may see, by name (one query)."""
    out: dict[str, list[Holder]] = {code: [] for code in codes}
    if not codes:
        return out
    rows = session.execute(
        select(StaffRole.role_code, Staff.id, Staff.code, Staff.name, OrgUnit.id, OrgUnit.name)
        .join(Staff, Staff.id == StaffRole.staff_id)
        .join(OrgUnit, OrgUnit.id == Staff.unit_id)
        .where(
            StaffRole.role_code.in_(list(codes)), Staff.status == StaffStatus.active, readable_staff(actor)
        )
        .order_by(StaffRole.role_code, Staff.name, Staff.id)
    ).all()
    for role_code, staff_id, staff_code, name, unit_id, unit_name in rows:
        out[role_code].append(Holder(staff_id, staff_code, name, unit_id, unit_name))
    return out


def holder_counts(session: Session, actor: Actor, codes: Sequence[str]) -> dict[str, int]:
    """Role code → how many active staff the actor may see hold it (one grouped query)."""
    out = dict.fromkeys(codes, 0)
    if not codes:
        return out
    rows = session.execute(
        select(StaffRole.role_code, func.count())
        .join(Staff, Staff.id == StaffRole.staff_id)
        .where(
            StaffRole.role_code.in_(list(codes)), Staff.status == StaffStatus.active, readable_staff(actor)
        )
        .group_by(StaffRole.role_code)
    ).all()
    for role_code, count in rows:
        out[role_code] = int(count)
    return out


# --- job description -------------------------------------------------------------------------------------

_STAGE_NAMES = {
    BrandStage.launch: ("启动期", "launch"),
    BrandStage.growth: ("中期", "growth"),
    BrandStage.steady: ("稳定期", "steady"),
}
_VALUE_NAMES = {
    ValueStage.acquisition: ("获客引流", "acquisition"),
    ValueStage.retention_conversion: ("留存转化", "retention & conversion"),
    ValueStage.repurchase_fission: ("复购裂变", "repurchase & referral"),
}


def _metric_name(code: str, zh: bool) -> str:
    metric = METRICS.get(code)
    if metric is None:
        return code
    return metric.name_zh if zh else metric.name_en


def job_description(entry: RoleEntry, kpi_set: KpiSet | None, locale: str = "zh") -> str:
    """A plain-text job-description draft (title, definition, duties, competencies, KPIs) for a hiring post."""
    zh = locale.startswith("zh")
    pick = 0 if zh else 1
    stages = ("、" if zh else ", ").join(_VALUE_NAMES[v][pick] for v in entry.value_stages)
    if zh:
        lines = [f"职位：{entry.name_zh}（{entry.name_en}）", "", "岗位定义：", entry.definition_zh, ""]
        lines += [f"服务的价值阶段：{stages}", "", "主要职责："]
    else:
        lines = [f"Position: {entry.name_en} ({entry.name_zh})", "", "About the role:"]
        lines += [entry.definition_en or entry.definition_zh, "", f"Value stages: {stages}", "", "Duties:"]
    lines += [f"{n}. {duty}" for n, duty in enumerate(entry.duties, start=1)]
    lines += ["", "核心能力：" if zh else "Core competencies:"]
    lines += [f"- {c}" for c in entry.competencies]
    if entry.kpi_metric_codes:
        lines += ["", "考核参考指标：" if zh else "Measured on:"]
        lines += [f"- {_metric_name(code, zh)}" for code in entry.kpi_metric_codes]
    if kpi_set is not None and kpi_set.items:
        stage = _STAGE_NAMES[kpi_set.stage][pick]
        title = (
            f"当前阶段（{stage}）考核指标与权重："
            if zh
            else f"KPI set in force ({stage} stage), with weights:"
        )
        lines += ["", title]
        lines += [f"- {_metric_name(i.metric_code, zh)} {i.weight}%" for i in kpi_set.items]
    return "\n".join(lines) + "\n"
