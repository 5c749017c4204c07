"""Assessment cycles (人才盘点): open, score, submit, reopen, close, refresh evidence — every write scoped and audited."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.db.types import utcnow
from siyu.errors import Conflict, Forbidden, Invalid, NotFound
from siyu.models import Staff, StaffRole, StaffStatus
from siyu.models.talent import (
    Assessment,
    AssessmentCycle,
    AssessmentScore,
    AssessmentStatus,
    CompetencyModel,
    CycleStatus,
)
from siyu.org.permissions import Actor, PermissionRole
from siyu.talent import cycle_repository as repo
from siyu.talent.assessment_logic import parse_thresholds, score
from siyu.talent.competency import dimensions_of, models_for
from siyu.talent.contract import Dimension, EvidenceItem, OutcomeThresholds, ScoredOutcome
from siyu.talent.evidence import evidence_for

HEADS = frozenset({PermissionRole.admin, PermissionRole.private_domain_lead})
ASSESSORS = HEADS | {PermissionRole.manager}
MAX_SPAN_DAYS = 366
COMMENT_MAX = 2000

EvidenceMap = dict[str, list[dict[str, Any]]]


def require_head(actor: Actor, what: str) -> None:
    """Only the administrator or the private-domain lead may run cycles."""
    if actor.role not in HEADS:
        raise Forbidden(
            f"{what}: only an administrator or the private-domain lead may do this (you are {actor.role.value})"
        )


def thresholds_from(raw: OutcomeThresholds | Mapping[str, Any] | None) -> OutcomeThresholds:
    """The cycle's outcome thresholds: the defaults, a contract value, or a mapping checked by parse_thresholds."""
    if raw is None:
        return OutcomeThresholds()
    if isinstance(raw, OutcomeThresholds):
        return parse_thresholds(raw.to_dict())
    return parse_thresholds(dict(raw))


def check_period(name: str, first_day: date, last_day: date) -> str:
    """The cleaned cycle name, or Invalid naming the bad field."""
    clean = (name or "").strip()
    if not clean or len(clean) > 100:
        raise Invalid(f"cycle name: {name!r} must be 1–100 characters")
    if first_day > last_day:
        raise Invalid(f"cycle {clean!r}: first day {first_day} is after last day {last_day}")
    if (last_day - first_day).days + 1 > MAX_SPAN_DAYS:
        raise Invalid(f"cycle {clean!r}: {first_day}..{last_day} is longer than {MAX_SPAN_DAYS} days")
    return clean


def _candidates(session: Session) -> list[tuple[int, int, str]]:
    """(staff_id, unit_id, role) of every active staff member holding a role; the first role code by name."""
    role = func.min(StaffRole.role_code)
    rows = session.execute(
        select(Staff.id, Staff.unit_id, role)
        .join(StaffRole, StaffRole.staff_id == Staff.id)
        .where(Staff.status == StaffStatus.active)
        .group_by(Staff.id, Staff.unit_id)
        .order_by(Staff.id)
    )
    return [(int(s), int(u), str(r)) for s, u, r in rows]


def _evidence_batches(
    session: Session,
    people: Sequence[tuple[int, int, str]],
    models: Mapping[int, CompetencyModel],
    first_day: date,
    last_day: date,
) -> dict[int, EvidenceMap]:
    """{staff_id: evidence JSON} for (staff_id, model_id, role): one evidence_for call for everyone, not per person."""
    if not people:
        return {}
    dims = {m: dimensions_of(models[m]) for m in sorted({m for _s, m, _r in people})}
    # Every model's dimensions in one call (codes prefixed by model, since two models may share a code with
    # different metrics): the metric families are computed once for the whole cycle (each pass is seconds).
    merged = [replace(d, code=f"{m}:{d.code}") for m, model_dims in dims.items() for d in model_dims]
    roles = {staff_id: role for staff_id, _m, role in people}
    # Peers are grouped by the role copied onto the assessment, so percentiles match the cycle's rows.
    found = evidence_for(session, [s for s, _m, _r in people], first_day, last_day, merged, roles=roles)
    out: dict[int, EvidenceMap] = {}
    for staff_id, model_id, _r in people:
        mine = found.get(staff_id, {})
        out[staff_id] = {
            d.code: [i.to_dict() for i in mine.get(f"{model_id}:{d.code}", ())] for d in dims[model_id]
        }
    return out


def evidence_json(found: Mapping[str, Sequence[EvidenceItem]], dims: Sequence[Dimension]) -> EvidenceMap:
    """The evidence as stored on assessments.evidence: every dimension present, items as dicts."""
    return {d.code: [item.to_dict() for item in found.get(d.code, ())] for d in dims}


def open_cycle(
    session: Session,
    actor: Actor,
    name: str,
    first_day: date,
    last_day: date,
    thresholds: OutcomeThresholds | Mapping[str, Any] | None = None,
    *,
    now: datetime | None = None,
    with_evidence: bool = True,
) -> AssessmentCycle:
    """Open a cycle with one draft assessment per active staff member holding a role, evidence cached (audited).

    with_evidence=False leaves the evidence to refresh_evidence (or to submit, per person): computing it is a
    few metric passes over the whole period, which the demo defers for its open cycle.
    """
    require_head(actor, "open an assessment cycle")
    clean = check_period(name, first_day, last_day)
    cuts = thresholds_from(thresholds)
    if session.scalar(select(AssessmentCycle.id).where(AssessmentCycle.name == clean)) is not None:
        raise Conflict(f"cycle name {clean!r} is already used by another cycle; choose another name")
    at = now or utcnow()
    cycle = AssessmentCycle(
        name=clean,
        first_day=first_day,
        last_day=last_day,
        status=CycleStatus.open,
        thresholds=cuts.to_dict(),
        created_by_account_id=actor.account_id,
        created_at=at,
    )
    session.add(cycle)
    session.flush()
    people = _candidates(session)
    # One model lookup for all distinct roles, never per person.
    model_of_role = models_for(session, {r for _s, _u, r in people})
    models = {m.id: m for m in model_of_role.values()}
    evidence = (
        _evidence_batches(
            session, [(s, model_of_role[r].id, r) for s, _u, r in people], models, first_day, last_day
        )
        if with_evidence
        else {}
    )
    rows = [
        {
            "cycle_id": cycle.id,
            "staff_id": staff_id,
            "unit_id": unit_id,
            "role_code": role,
            "competency_model_id": model_of_role[role].id,
            "status": AssessmentStatus.draft,
            "evidence": evidence.get(staff_id),
            "created_at": at,
        }
        for staff_id, unit_id, role in people
    ]
    if rows:
        session.execute(insert(Assessment), rows)
    audit(
        session,
        actor,
        "talent.cycle.open",
        "assessment_cycle",
        cycle.id,
        {
            "name": clean,
            "first_day": first_day.isoformat(),
            "last_day": last_day.isoformat(),
            "thresholds": cuts.to_dict(),
            "assessments": len(rows),
        },
    )
    return cycle


def refresh_evidence(session: Session, actor: Actor, cycle_id: int) -> int:
    """Recompute the cached evidence of every draft of an open cycle in one batch per model; returns how many."""
    require_head(actor, "refresh evidence")
    cycle = _open_cycle(session, cycle_id, "refresh evidence")
    drafts = session.execute(
        select(
            Assessment.id, Assessment.staff_id, Assessment.competency_model_id, Assessment.role_code
        ).where(Assessment.cycle_id == cycle.id, Assessment.status == AssessmentStatus.draft)
    ).all()
    models = repo.models_by_id(session, [m for _a, _s, m, _r in drafts])
    evidence = _evidence_batches(
        session, [(s, m, r) for _a, s, m, r in drafts], models, cycle.first_day, cycle.last_day
    )
    if drafts:
        table = cast(Table, Assessment.__table__)
        session.execute(
            update(table).where(table.c.id == bindparam("aid")).values(evidence=bindparam("ev")),
            [{"aid": a, "ev": evidence.get(s)} for a, s, _m, _r in drafts],
        )
    audit(
        session, actor, "talent.cycle.refresh_evidence", "assessment_cycle", cycle.id, {"drafts": len(drafts)}
    )
    return len(drafts)


def _open_cycle(session: Session, cycle_id: int, what: str) -> AssessmentCycle:
    cycle = repo.get_cycle(session, cycle_id)
    if cycle is None:
        raise NotFound(f"assessment cycle {cycle_id} does not exist")
    if cycle.status is not CycleStatus.open:
        raise Invalid(f"{what}: cycle {cycle.name!r} is closed; a closed cycle can no longer be changed")
    return cycle


def get_assessment(session: Session, actor: Actor, assessment_id: int) -> Assessment:
    """A readable assessment, or NotFound (out-of-scope ids answer like unknown ones)."""
    found = repo.get_assessment(session, actor, assessment_id)
    if found is None:
        raise NotFound(f"assessment {assessment_id} does not exist")
    return found


def may_score(actor: Actor, assessment: Assessment) -> str | None:
    """Why actor may not score this (readable) assessment, or None when they may."""
    if actor.role not in ASSESSORS:
        return f"role {actor.role.value} may not score assessments (administrator, lead or manager only)"
    if actor.role not in HEADS and actor.staff_id is not None and assessment.staff_id == actor.staff_id:
        return "a manager may not score their own assessment"
    return None


def _for_edit(
    session: Session, actor: Actor, assessment_id: int, what: str
) -> tuple[Assessment, AssessmentCycle]:
    if actor.role not in ASSESSORS:
        raise Forbidden(f"{what}: role {actor.role.value} may not score assessments")
    assessment = get_assessment(session, actor, assessment_id)
    reason = may_score(actor, assessment)
    if reason is not None:
        raise Forbidden(f"{what} of assessment {assessment_id}: {reason}")
    cycle = _open_cycle(session, assessment.cycle_id, f"{what} of assessment {assessment_id}")
    return assessment, cycle


def dimensions_for(session: Session, assessment: Assessment) -> tuple[Dimension, ...]:
    """The dimensions of the competency model version the assessment was opened with."""
    model = session.get(CompetencyModel, assessment.competency_model_id)
    if model is None:
        raise NotFound(f"competency model {assessment.competency_model_id} does not exist")
    return dimensions_of(model)


def _clean_scores(
    assessment_id: int, dims: Sequence[Dimension], scores: Mapping[str, tuple[Any, Any]]
) -> dict[str, tuple[int, str | None]]:
    known = {d.code for d in dims}
    out: dict[str, tuple[int, str | None]] = {}
    for code, (value, comment) in scores.items():
        where = f"assessment {assessment_id}, dimension {code!r}"
        if code not in known:
            raise Invalid(f"{where}: not a dimension of this competency model ({', '.join(sorted(known))})")
        if value is None or value == "":
            continue  # left blank: nothing to save for this dimension yet
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise Invalid(f"{where}: score {value!r} is not a whole number 1–5") from None
        if not 1 <= number <= 5 or str(value).strip() not in (str(number), f"{number}.0"):
            raise Invalid(f"{where}: score {value!r} must be a whole number from 1 to 5")
        text = (str(comment).strip() or None) if comment is not None else None
        if text is not None and len(text) > COMMENT_MAX:
            raise Invalid(f"{where}: the comment is longer than {COMMENT_MAX} characters")
        out[code] = (number, text)
    return out


def save_scores(
    session: Session, actor: Actor, assessment_id: int, scores: Mapping[str, tuple[Any, Any]]
) -> Assessment:
    """Save (or replace) a draft's scores {dimension: (1–5, comment)}; blank scores are skipped (audited)."""
    assessment, _cycle = _for_edit(session, actor, assessment_id, "save scores")
    if assessment.status is not AssessmentStatus.draft:
        raise Invalid(f"save scores of assessment {assessment_id}: it is already submitted; reopen it first")
    dims = dimensions_for(session, assessment)
    clean = _clean_scores(assessment_id, dims, scores)
    position = {d.code: i for i, d in enumerate(dims)}
    if clean:
        session.execute(
            delete(AssessmentScore).where(
                AssessmentScore.assessment_id == assessment_id,
                AssessmentScore.dimension_code.in_(list(clean)),
            )
        )
        session.execute(
            insert(AssessmentScore),
            [
                {
                    "assessment_id": assessment_id,
                    "dimension_code": code,
                    "position": position[code],
                    "score": value,
                    "comment": comment,
                }
                for code, (value, comment) in clean.items()
            ],
        )
    assessment.assessor_account_id = actor.account_id
    audit(
        session,
        actor,
        "talent.assessment.save",
        "assessment",
        assessment_id,
        {"scores": {code: value for code, (value, _c) in clean.items()}},
    )
    session.flush()
    return assessment


def outcome_of(session: Session, assessment: Assessment, thresholds: Mapping[str, Any]) -> ScoredOutcome:
    """score() of the assessment's saved scores; Invalid naming the dimensions still unscored."""
    dims = dimensions_for(session, assessment)
    saved = repo.scores_of(session, [assessment.id])[assessment.id]
    missing = [d.code for d in dims if d.code not in saved]
    if missing:
        raise Invalid(f"submit assessment {assessment.id}: dimensions not scored yet: {', '.join(missing)}")
    return score(dims, {code: row.score for code, row in saved.items()}, parse_thresholds(dict(thresholds)))


def submit(session: Session, actor: Actor, assessment_id: int, *, now: datetime | None = None) -> Assessment:
    """Finalise a draft: every dimension scored → weighted score, outcome and explanation; evidence frozen (audited)."""
    assessment, cycle = _for_edit(session, actor, assessment_id, "submit")
    if assessment.status is not AssessmentStatus.draft:
        raise Invalid(f"submit assessment {assessment_id}: it is already submitted")
    result = outcome_of(session, assessment, cycle.thresholds)
    if assessment.evidence is None:
        # Rows opened before evidence existed get it now, for this one person.
        dims = dimensions_for(session, assessment)
        found = evidence_for(
            session, [assessment.staff_id], cycle.first_day, cycle.last_day, dims,
            roles={assessment.staff_id: assessment.role_code},
        )  # fmt: skip
        assessment.evidence = evidence_json(found.get(assessment.staff_id, {}), dims)
    assessment.status = AssessmentStatus.submitted
    assessment.weighted_score = result.weighted_score
    assessment.outcome = result.outcome
    assessment.explanation = {
        "zh": result.explanation_zh,
        "en": result.explanation_en,
        "notes": list(result.notes),
    }
    assessment.submitted_at = now or utcnow()
    assessment.assessor_account_id = actor.account_id
    audit(
        session,
        actor,
        "talent.assessment.submit",
        "assessment",
        assessment_id,
        {"weighted_score": result.weighted_score, "outcome": result.outcome.value},
    )
    session.flush()
    return assessment


def reopen(session: Session, actor: Actor, assessment_id: int) -> Assessment:
    """Send a submitted assessment back to draft (lead or administrator; open cycle only; audited)."""
    require_head(actor, f"reopen assessment {assessment_id}")
    assessment = get_assessment(session, actor, assessment_id)
    _open_cycle(session, assessment.cycle_id, f"reopen assessment {assessment_id}")
    if assessment.status is not AssessmentStatus.submitted:
        raise Invalid(f"reopen assessment {assessment_id}: it is still a draft")
    before = {
        "weighted_score": assessment.weighted_score,
        "outcome": getattr(assessment.outcome, "value", None),
    }
    assessment.status = AssessmentStatus.draft
    assessment.weighted_score = None
    assessment.outcome = None
    assessment.explanation = None
    assessment.submitted_at = None
    audit(session, actor, "talent.assessment.reopen", "assessment", assessment_id, {"before": before})
    session.flush()
    return assessment


def close_cycle(
    session: Session, actor: Actor, cycle_id: int, *, now: datetime | None = None
) -> AssessmentCycle:
    """Close a cycle: no more scores, submits or reopens; drafts stay unfinished (audited)."""
    require_head(actor, "close an assessment cycle")
    cycle = _open_cycle(session, cycle_id, "close")
    counts = repo.cycle_progress(session, actor, [cycle.id])[cycle.id]
    cycle.status = CycleStatus.closed
    cycle.closed_at = now or utcnow()
    audit(session, actor, "talent.cycle.close", "assessment_cycle", cycle.id, {"counts": counts})
    session.flush()
    return cycle
