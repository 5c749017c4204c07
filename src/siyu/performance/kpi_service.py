"""The brand stage (a setting with a history) and versioned KPI sets by role × stage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from siyu.audit import audit
from siyu.errors import Forbidden, Invalid, NotFound
from siyu.models import BrandStage, BrandStageChange, KpiSet, KpiSetItem, StaffRole
from siyu.org.permissions import Actor, PermissionRole
from siyu.performance.catalog import METRICS
from siyu.performance.kpi_seed import HEAD_ROLE, SEED_SETS

DEFAULT_STAGE = BrandStage.launch  # before anyone sets a stage, the brand is starting up
SETTING_ROLES = frozenset({PermissionRole.admin, PermissionRole.private_domain_lead})


@dataclass(frozen=True, slots=True)
class ItemIn:
    """One submitted KPI set item."""

    metric_code: str
    weight: int
    note: str | None = None


def require_setter(actor: Actor, what: str) -> None:
    """Only admins and the head of private domain change stages and KPI sets."""
    if actor.role not in SETTING_ROLES:
        raise Forbidden(
            f"{what}: role {actor.role.value!r} may not change it; admin or private_domain_lead may"
        )


def normalize_role(role_code: str) -> str:
    """A role code as stored: trimmed, with "head" meaning the head of private domain (private_domain_lead)."""
    role = role_code.strip()
    return HEAD_ROLE if role == "head" else role


def parse_stage(value: str, where: str = "stage") -> BrandStage:
    """A BrandStage from text, Invalid naming the choices otherwise."""
    try:
        return BrandStage(value)
    except ValueError:
        choices = ", ".join(s.value for s in BrandStage)
        raise Invalid(f"{where}: {value!r} is not a stage (one of {choices})") from None


# --- stage ---------------------------------------------------------------------------------------------


def stage_history(session: Session) -> Sequence[BrandStageChange]:
    """Every stage change, newest effective date first."""
    return session.scalars(select(BrandStageChange).order_by(BrandStageChange.effective_from.desc())).all()


def stage_on(session: Session, day: date) -> BrandStage:
    """The stage in force on a brand-local day (the launch stage before any entry)."""
    stage = session.scalar(
        select(BrandStageChange.stage)
        .where(BrandStageChange.effective_from <= day)
        .order_by(BrandStageChange.effective_from.desc())
        .limit(1)
    )
    return stage or DEFAULT_STAGE


def set_stage(
    session: Session, actor: Actor, stage: str, effective_from: date, note: str | None
) -> BrandStageChange:
    """Record that the brand is in stage from effective_from on (one entry per day; audited)."""
    require_setter(actor, "brand stage")
    chosen = parse_stage(stage)
    existing = session.scalar(
        select(BrandStageChange).where(BrandStageChange.effective_from == effective_from)
    )
    if existing is not None:
        # Same day twice: the later decision replaces the earlier one, and the audit keeps both.
        existing.stage, existing.note, existing.set_by_account_id = chosen, note, actor.account_id
        change = existing
    else:
        change = BrandStageChange(
            stage=chosen, effective_from=effective_from, note=note, set_by_account_id=actor.account_id
        )
        session.add(change)
    session.flush()
    audit(
        session,
        actor,
        "stage.set",
        "brand_stage_change",
        change.id,
        {"stage": chosen.value, "effective_from": effective_from.isoformat(), "note": note},
    )
    return change


# --- KPI sets ------------------------------------------------------------------------------------------


def known_roles(session: Session) -> list[str]:
    """Role codes held by staff, plus the head role and roles that already have sets, sorted."""
    held = set(session.scalars(select(StaffRole.role_code).distinct()))
    with_sets = set(session.scalars(select(KpiSet.role_code).distinct()))
    return sorted(held | with_sets | {HEAD_ROLE})


def validate_items(items: Sequence[ItemIn]) -> None:
    """Codes must be catalog metrics (each once), weights positive integers summing to 100."""
    if not items:
        raise Invalid("KPI set: no items; add at least one metric with a weight")
    seen: set[str] = set()
    for n, item in enumerate(items, start=1):
        if item.metric_code not in METRICS:
            raise Invalid(f"KPI set item {n}: metric {item.metric_code!r} is not in the metric catalog")
        if item.metric_code in seen:
            raise Invalid(f"KPI set item {n}: metric {item.metric_code!r} appears twice")
        if item.weight <= 0 or item.weight > 100:
            raise Invalid(f"KPI set item {n} ({item.metric_code}): weight {item.weight} must be 1..100")
        seen.add(item.metric_code)
    total = sum(i.weight for i in items)
    if total != 100:
        raise Invalid(f"KPI set: weights sum to {total}, they must sum to 100")


def save_kpi_set(
    session: Session,
    actor: Actor,
    role_code: str,
    stage: str,
    effective_from: date,
    items: Sequence[ItemIn],
    note: str | None = None,
) -> KpiSet:
    """Write a new version of the role × stage set (old versions stay as they were; audited)."""
    require_setter(actor, f"KPI set {role_code}/{stage}")
    chosen = parse_stage(stage)
    role = normalize_role(role_code)
    if not role or len(role) > 48:
        raise Invalid(f"KPI set: role code {role_code!r} must be 1..48 characters")
    validate_items(items)
    latest = session.scalar(
        select(func.max(KpiSet.version)).where(KpiSet.role_code == role, KpiSet.stage == chosen)
    )
    kpi_set = KpiSet(
        role_code=role,
        stage=chosen,
        version=(latest or 0) + 1,
        effective_from=effective_from,
        note=note or None,
        created_by_account_id=actor.account_id,
    )
    kpi_set.items = [
        KpiSetItem(position=n, metric_code=i.metric_code, weight=i.weight, note=i.note or None)
        for n, i in enumerate(items)
    ]
    session.add(kpi_set)
    session.flush()
    audit(
        session,
        actor,
        "kpi_set.save",
        "kpi_set",
        kpi_set.id,
        {
            "role": role,
            "stage": chosen.value,
            "version": kpi_set.version,
            "effective_from": effective_from.isoformat(),
            "items": [[i.metric_code, i.weight] for i in items],
        },
    )
    return kpi_set


def kpi_set_for(
    session: Session, role_code: str, day: date, stage: BrandStage | None = None
) -> KpiSet | None:
    """The version in force on day for the role in the stage of that day (latest effective_from, then version)."""
    chosen = stage or stage_on(session, day)
    return session.scalar(
        select(KpiSet)
        .options(selectinload(KpiSet.items))
        .where(
            KpiSet.role_code == normalize_role(role_code),
            KpiSet.stage == chosen,
            KpiSet.effective_from <= day,
        )
        .order_by(KpiSet.effective_from.desc(), KpiSet.version.desc())
        .limit(1)
    )


def sets_in_force(session: Session, day: date, stage: BrandStage) -> dict[str, KpiSet]:
    """Role code → the version in force on day in stage (one query for all roles)."""
    rows = session.scalars(
        select(KpiSet)
        .options(selectinload(KpiSet.items))
        .where(KpiSet.stage == stage, KpiSet.effective_from <= day)
        .order_by(KpiSet.role_code, KpiSet.effective_from.desc(), KpiSet.version.desc())
    ).all()
    out: dict[str, KpiSet] = {}
    for row in rows:
        out.setdefault(row.role_code, row)
    return out


def versions(session: Session, role_code: str, stage: str) -> Sequence[KpiSet]:
    """Every version of a role × stage set, newest first, items loaded."""
    return session.scalars(
        select(KpiSet)
        .options(selectinload(KpiSet.items))
        .where(KpiSet.role_code == normalize_role(role_code), KpiSet.stage == parse_stage(stage))
        .order_by(KpiSet.version.desc())
    ).all()


def get_version(session: Session, kpi_set_id: int) -> KpiSet:
    """One version with its items, NotFound otherwise."""
    found = session.scalar(select(KpiSet).options(selectinload(KpiSet.items)).where(KpiSet.id == kpi_set_id))
    if found is None:
        raise NotFound(f"KPI set {kpi_set_id} does not exist")
    return found


def install_seed(session: Session, actor: Actor, effective_from: date) -> int:
    """Write the seeded sets for every role × stage that has no version yet; returns how many were written."""
    require_setter(actor, "KPI set seed")
    have = {
        (role, stage) for role, stage in session.execute(select(KpiSet.role_code, KpiSet.stage).distinct())
    }
    written = 0
    for (role, stage), (items, note) in SEED_SETS.items():
        if (role, stage) in have:
            continue
        save_kpi_set(session, actor, role, stage.value, effective_from, [ItemIn(*i) for i in items], note)
        written += 1
    return written
