"""Demo 人才盘点: a closed cycle for the last full quarter with every assessment submitted, and an open current one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

import numpy as np
from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from siyu.models import Account, OrgUnit
from siyu.models.talent import Assessment, AssessmentScore, AssessmentStatus, CycleStatus
from siyu.org.permissions import SYSTEM_ACTOR, Actor
from siyu.org.tokens import actor_for_account
from siyu.talent import cycle_repository as repo
from siyu.talent.assessment_logic import parse_thresholds, score
from siyu.talent.competency import dimensions_of
from siyu.talent.contract import Dimension
from siyu.talent.cycle_service import open_cycle
from siyu.timeutil import day_start_utc

STREAM = 5_005  # mixed into the demo seed so these draws do not shift any other stream
NOISE = 0.7  # per-dimension noise on the 1..5 scale around the evidence-implied score
LENIENT_SHARE = 0.06  # managers who score against their evidence: calibration's outliers
PARTIAL_DRAFTS = 8  # people of the open cycle whose manager has started scoring
LOW = 2.2  # the score the worst evidence implies (the best implies 5)


@dataclass(frozen=True)
class Draft:
    """One draft assessment as the demo reads it back."""

    id: int
    staff_id: int
    unit_id: int
    model_id: int
    evidence: dict[str, Any]


def quarter_of(day: date) -> tuple[date, date]:
    """First and last day of the calendar quarter containing day."""
    first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    following = date(first.year + (first.month + 3 > 12), (first.month + 2) % 12 + 1, 1)
    return first, following - timedelta(days=1)


def last_full_quarter(as_of: date) -> tuple[date, date]:
    """The latest calendar quarter that ends on or before as_of."""
    first, last = quarter_of(as_of)
    return (first, last) if last == as_of else quarter_of(first - timedelta(days=1))


def quarter_name(first: date) -> str:
    """'2026 Q3'."""
    return f"{first.year} Q{(first.month - 1) // 3 + 1}"


def _lead(session: Session) -> tuple[Actor, Account | None]:
    account = session.scalar(select(Account).where(Account.username == "lead"))
    if account is None:
        return SYSTEM_ACTOR, None
    return actor_for_account(session, account), account


def _assessors(session: Session, drafts: Sequence[Draft], lead: Account | None) -> dict[int, int | None]:
    """Assessment id → the deepest manager account whose scope holds the person (never themselves), else the lead.

    The lead's own assessment is the administrator's.
    """
    admin = session.scalar(select(Account.id).where(Account.username == "admin"))
    managers = session.execute(
        select(Account.id, Account.staff_id, Account.data_scope, OrgUnit.id, OrgUnit.path)
        .join(OrgUnit, OrgUnit.id == Account.scope_unit_id)
        .where(Account.permission_role == "manager", Account.active.is_(True))
        .order_by(Account.id)
    ).all()
    paths = repo.unit_paths(session, [d.unit_id for d in drafts])
    out: dict[int, int | None] = {}
    for d in drafts:
        path = paths[d.unit_id][1]
        best: tuple[int, int] | None = None  # (depth of the scope unit, account id)
        for account_id, staff_id, scope, unit_id, scope_path in managers:
            if staff_id == d.staff_id:
                continue
            holds = path.startswith(scope_path) if scope == "subtree" else unit_id == d.unit_id
            if holds and (best is None or len(scope_path) > best[0]):
                best = (len(scope_path), account_id)
        if best is not None:
            out[d.id] = best[1]
        elif lead is not None and lead.staff_id != d.staff_id:
            out[d.id] = lead.id
        else:
            out[d.id] = admin
    return out


def _drafts(session: Session, cycle_id: int) -> list[Draft]:
    rows = session.execute(
        select(Assessment.id, Assessment.staff_id, Assessment.unit_id, Assessment.competency_model_id,
               Assessment.evidence)
        .where(Assessment.cycle_id == cycle_id)
        .order_by(Assessment.id)
    )  # fmt: skip
    return [Draft(int(a), int(s), int(u), int(m), dict(e or {})) for a, s, u, m, e in rows]


def _percentile(items: Sequence[dict[str, Any]]) -> float | None:
    found = [float(i["percentile"]) for i in items if i.get("percentile") is not None]
    return sum(found) / len(found) if found else None


def _scores(rng: np.random.Generator, dims: Sequence[Dimension], evidence: dict[str, Any]) -> dict[str, int]:
    """1..5 per dimension from the evidence percentile (the person's mean where a dimension has none) plus noise."""
    overall = _percentile([i for items in evidence.values() for i in items])
    base = 0.5 if overall is None else overall
    lenient = rng.random() < LENIENT_SHARE
    person = rng.normal(0, 0.35)
    out = {}
    for d in dims:
        p = _percentile(evidence.get(d.code, []))
        p = base if p is None else p
        if lenient:
            p = 1 - p  # scored against the evidence: an outlier for calibration
        # Most people land on 留 (keep), as in a real team: the median percentile maps to about 3.6.
        implied = LOW + (5 - LOW) * p
        out[d.code] = int(np.clip(round(implied + person + rng.normal(0, NOISE)), 1, 5))
    return out


def seed_assessments(session: Session, as_of: date, seed: int) -> dict[str, int]:
    """Write both demo cycles in the caller's transaction; returns row counts."""
    rng = np.random.default_rng([seed, STREAM])
    actor, lead = _lead(session)
    first, last = last_full_quarter(as_of)
    opened_at = day_start_utc(last + timedelta(days=1)) + timedelta(hours=2)
    closed = open_cycle(session, actor, quarter_name(first), first, last, None, now=opened_at)
    drafts = _drafts(session, closed.id)
    models = repo.models_by_id(session, [d.model_id for d in drafts])
    dims = {m: dimensions_of(model) for m, model in models.items()}
    thresholds = parse_thresholds(closed.thresholds)
    assessors = _assessors(session, drafts, lead)
    score_rows: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for n, d in enumerate(drafts):
        given = _scores(rng, dims[d.model_id], d.evidence)
        result = score(dims[d.model_id], given, thresholds)
        score_rows.extend(
            {
                "assessment_id": d.id,
                "dimension_code": code,
                "position": i,
                "score": given[code],
                "comment": None,
            }
            for i, code in enumerate(x.code for x in dims[d.model_id])
        )
        updates.append(
            {
                "aid": d.id,
                "st": AssessmentStatus.submitted.value,
                "ws": result.weighted_score,
                "oc": result.outcome.value,
                "ex": {"zh": result.explanation_zh, "en": result.explanation_en, "notes": list(result.notes)},
                "at": opened_at + timedelta(days=3 + n % 10, minutes=n),
                "by": assessors[d.id],
            }
        )
    _write(session, score_rows, updates)
    closed.status = CycleStatus.closed
    closed.closed_at = opened_at + timedelta(days=20)
    current_first, current_last = quarter_of(as_of)
    current = open_cycle(
        session, actor, quarter_name(current_first), current_first, current_last, None,
        now=day_start_utc(as_of) - timedelta(hours=6), with_evidence=False,
    )  # fmt: skip
    partial = _partial_scores(rng, session, current.id, dims)
    session.flush()
    return {"assessments": len(drafts) * 2, "submitted": len(updates), "partial_drafts": partial}


def _write(session: Session, score_rows: list[dict[str, Any]], updates: list[dict[str, Any]]) -> None:
    if score_rows:
        session.execute(insert(AssessmentScore), score_rows)
    if updates:
        table = cast(Table, Assessment.__table__)
        session.execute(
            update(table)
            .where(table.c.id == bindparam("aid"))
            .values(
                status=bindparam("st"),
                weighted_score=bindparam("ws"),
                outcome=bindparam("oc"),
                explanation=bindparam("ex"),
                submitted_at=bindparam("at"),
                assessor_account_id=bindparam("by"),
            ),
            updates,
        )


def _partial_scores(
    rng: np.random.Generator, session: Session, cycle_id: int, dims: dict[int, tuple[Dimension, ...]]
) -> int:
    """A few drafts of the open cycle with the first two dimensions scored (managers have started)."""
    drafts = _drafts(session, cycle_id)
    if not drafts:
        return 0
    picked = sorted(rng.choice(len(drafts), size=min(PARTIAL_DRAFTS, len(drafts)), replace=False).tolist())
    rows: list[dict[str, Any]] = []
    for index in picked:
        d = drafts[index]
        model_dims = dims.get(d.model_id) or dimensions_of(
            repo.models_by_id(session, [d.model_id])[d.model_id]
        )
        given = _scores(rng, model_dims, d.evidence)
        rows.extend(
            {
                "assessment_id": d.id,
                "dimension_code": x.code,
                "position": i,
                "score": given[x.code],
                "comment": None,
            }
            for i, x in enumerate(model_dims[:2])
        )
    if rows:
        session.execute(insert(AssessmentScore), rows)
    return len(picked)


def seed_org_design(session: Session, as_of: date) -> None:
    """The lead's org-advisor run from the demo brand's own data, and one custom role in the map."""
    from siyu.performance.kpi_service import stage_on
    from siyu.talent.advisor_service import data_facts, run_advisor
    from siyu.talent.roles_service import create_role

    actor, _lead_account = _lead(session)
    facts = data_facts(session, actor, now=day_start_utc(as_of + timedelta(days=1)))
    # A mall-and-stores brand that made the private domain strategic: what the demo's org already looks like.
    answers = {
        **facts.answers(),
        "sales_model": "mixed",
        "purpose": "user_cultivation",
        "stage": stage_on(session, as_of).value,
        "strategic": True,
        "expertise": "done",
        "private_revenue_share": 0.15,
        "traffic_source": "store",
        "has_mall": True,
    }
    run_advisor(session, actor, answers, "演示品牌的组织诊断（问卷中的门店、导购、会员占比取自系统数据）")
    # Seed 001's group-heavy brands run groups with someone dedicated; the map has no such role, so the demo adds it.
    create_role(
        session,
        actor,
        "community_ops",
        {
            "name_zh": "社群运营",
            "name_en": "Community operations",
            "definition_zh": "负责品牌社群的拉新、促活与秩序，按社群 SOP 安排每日内容和活动，先养群再转化。",
            "definition_en": "Grows and animates the brand's customer groups on a daily SOP; warms groups up before selling.",
            "duties": [
                "制定社群 SOP 与每日内容排期",
                "组织群内活动并维护群秩序",
                "跟踪群留存与活跃，清理无效群",
            ],
            "competencies": ["用户思维", "活动策划", "数据复盘"],
            "kpi_metric_codes": ["private_users_group", "retention_rate_30d_group", "conversion_rate"],
            "needed_from": "growth",
            "value_stages": ["retention_conversion"],
            "position": "supporting",
        },
    )
