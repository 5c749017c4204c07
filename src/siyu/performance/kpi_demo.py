"""The demo brand's KPI data: seeded sets, a stage history, and a month's GMV targets for every store and its guides."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.models import (
    BrandStage,
    BrandStageChange,
    KpiSet,
    OrgUnit,
    OrgUnitKind,
    Staff,
    StaffRole,
    StaffStatus,
    Target,
)
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.performance.compute import compute_metrics
from siyu.performance.contract import Period, SubjectKind
from siyu.performance.kpi_service import install_seed, set_stage
from siyu.performance.targets_service import TargetTerms, assign_to_unit_staff, create_target
from siyu.timeutil import day_start_utc

GROWTH_ASK = 1.1  # a month's target = the month before's average guide GMV of the store + 10 %


def seed_for_demo(session: Session, as_of: date) -> int:
    """Seeded sets from 2020 on; launch a year before as_of, growth for the last 120 days; store GMV targets."""
    written = install_seed(session, SYSTEM_ACTOR, date(2020, 1, 1))
    set_stage(session, SYSTEM_ACTOR, BrandStage.launch.value, as_of - timedelta(days=365), "演示：私域启动")
    set_stage(session, SYSTEM_ACTOR, BrandStage.growth.value, as_of - timedelta(days=120), "演示：进入中期")
    month = Period.month(
        as_of - timedelta(days=1)
    )  # as_of is the last day with history: its month, or the one before
    last_month = Period.month(month.first - timedelta(days=1))
    gmv = compute_metrics(session, ["gmv"], last_month, SubjectKind.staff).values["gmv"]
    guides = session.execute(
        select(Staff.id, Staff.unit_id)
        .join(OrgUnit, OrgUnit.id == Staff.unit_id)
        .where(OrgUnit.kind == OrgUnitKind.store, Staff.status == StaffStatus.active)
        .where(Staff.id.in_(select(StaffRole.staff_id).where(StaffRole.role_code == "guide")))
    ).all()
    by_store: dict[int, list[float]] = defaultdict(list)
    for staff_id, unit_id in guides:
        value = gmv.get(staff_id)
        by_store[unit_id].append(float(value.value or 0) if value else 0.0)
    for store_id, values in sorted(by_store.items()):
        each = round(sum(values) / len(values) * GROWTH_ASK / 10_000) * 10_000  # whole hundreds of yuan
        if each <= 0:
            continue
        terms = TargetTerms("gmv", month, each, incentive_note="达成奖 300 元，超额达成奖 800 元")
        assign_to_unit_staff(session, SYSTEM_ACTOR, store_id, terms, "guide")
        create_target(session, SYSTEM_ACTOR, "unit", store_id, TargetTerms("gmv", month, each * len(values)))
    # Stamp the rows at the history's end, not the wall clock, so the same seed gives the same database.
    stamp = day_start_utc(as_of)
    for model in (BrandStageChange, KpiSet, Target):
        session.execute(update(model).values(created_at=stamp))
    return written
