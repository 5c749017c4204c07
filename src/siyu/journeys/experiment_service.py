"""A/B(/n) experiments of script variants: create, start/stop, sticky arm assignment (callers own the transaction)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.db.types import utcnow
from siyu.errors import Conflict, Invalid, NotFound
from siyu.journeys import experiment_repository as repo
from siyu.journeys import experiment_stats as stats
from siyu.journeys.experiment_schemas import ArmOut, ExperimentCreate, ExperimentOut
from siyu.models import Experiment, ExperimentArm, ExperimentStatus, Script, ScriptApproval
from siyu.org.permissions import Actor


def assign_arms(
    session: Session, experiment_id: int, customer_ids: Sequence[int], now: datetime | None = None
) -> dict[int, tuple[int, int]]:
    """customer_id -> (arm_id, script_id) for every customer given; sticky, deterministic, set-based.

    An existing assignment always wins. While the experiment runs, an unassigned customer gets
    the arm picked by repo.pick_arm (SHA-256 of salt + customer id, cut by the weights) and the
    row is inserted if absent (safe when two workers race: both compute the same arm and the
    unique (experiment, customer) keeps one row). When it is not running (draft or stopped),
    unassigned customers get the control arm (the first) and NO row is written, so they never
    count as experiment recipients (outcomes only count assigned customers).
    """
    experiment = repo.get_experiment(session, experiment_id)
    if experiment is None:
        raise NotFound(f"experiment {experiment_id} does not exist (assign_arms)")
    arms = repo.arms_of(session, experiment_id)
    if not arms:
        raise NotFound(f"experiment {experiment_id} has no arms (assign_arms)")
    script_of = {a.id: a.script_id for a in arms}
    wanted = sorted({int(c) for c in customer_ids})
    found = repo.existing_assignments(session, experiment_id, wanted)
    missing = [c for c in wanted if c not in found]
    if missing and experiment.status == ExperimentStatus.running:
        now = now or utcnow()
        order = [(a.id, max(0, a.weight)) for a in arms]
        rows = [
            {
                "experiment_id": experiment_id,
                "customer_id": c,
                "arm_id": repo.pick_arm(experiment.salt, c, order),
                "assigned_at": now,
            }
            for c in missing
        ]
        repo.insert_assignments_if_absent(session, rows)
        found.update(repo.existing_assignments(session, experiment_id, missing))
    control = arms[0].id
    return {c: (found.get(c, control), script_of[found.get(c, control)]) for c in wanted}


def _get(session: Session, experiment_id: int) -> Experiment:
    experiment = repo.get_experiment(session, experiment_id)
    if experiment is None:
        raise NotFound(f"experiment {experiment_id} does not exist")
    return experiment


def create_experiment(session: Session, actor: Actor, data: ExperimentCreate) -> Experiment:
    """Create a draft experiment; arms must be approved scripts; min_sample_per_arm is fixed here, once."""
    ids = [a.script_id for a in data.arms]
    scripts = {s.id: s for s in session.scalars(select(Script).where(Script.id.in_(set(ids))))}
    errors = []
    for i, arm in enumerate(data.arms):
        script = scripts.get(arm.script_id)
        if script is None:
            errors.append({"where": f"arms[{i}].script_id", "why": f"script {arm.script_id} does not exist"})
        elif script.approval != ScriptApproval.approved:
            why = f"script {arm.script_id} is {script.approval.value}, only approved scripts can be tested"
            errors.append({"where": f"arms[{i}].script_id", "why": why})
    if len(set(ids)) != len(ids):
        errors.append({"where": "arms", "why": "each arm needs a different script"})
    if errors:
        raise Invalid(f"experiment {data.name!r}: {errors[0]['where']}: {errors[0]['why']}", details=errors)
    try:
        n = stats.min_sample_per_arm(
            data.baseline_rate, data.mde, data.alpha, data.power, comparisons=len(data.arms) - 1
        )
    except ValueError as exc:
        raise Invalid(f"experiment {data.name!r}: {exc}") from None
    experiment = Experiment(
        name=data.name,
        source_type=data.source_type,
        source_ref=data.source_ref,
        metric=data.metric,
        horizon_hours=data.horizon_hours,
        alpha=data.alpha,
        power=data.power,
        baseline_rate=data.baseline_rate,
        min_detectable_effect=data.mde,
        min_sample_per_arm=n,
        salt=secrets.token_hex(8),
        status=ExperimentStatus.draft,
        created_by_account_id=actor.account_id,
    )
    session.add(experiment)
    session.flush()
    for arm in data.arms:
        session.add(
            ExperimentArm(
                experiment_id=experiment.id, label=arm.label, script_id=arm.script_id, weight=arm.weight
            )
        )
    session.flush()
    families = {scripts[i].parent_id or i for i in ids}
    audit(
        session,
        actor,
        "experiment.create",
        "experiment",
        experiment.id,
        {
            "name": data.name,
            "min_sample_per_arm": n,
            "arms": [a.label for a in data.arms],
            "families": len(families),
        },
    )
    return experiment


def start_experiment(
    session: Session, actor: Actor, experiment_id: int, now: datetime | None = None
) -> Experiment:
    """draft -> running: from now on assign_arms writes sticky assignments."""
    experiment = _get(session, experiment_id)
    if experiment.status != ExperimentStatus.draft:
        raise Conflict(f"experiment {experiment_id} is {experiment.status.value}; only a draft can start")
    experiment.status = ExperimentStatus.running
    experiment.started_at = now or utcnow()
    session.flush()
    audit(session, actor, "experiment.start", "experiment", experiment_id)
    return experiment


def stop_experiment(
    session: Session, actor: Actor, experiment_id: int, now: datetime | None = None
) -> Experiment:
    """running -> stopped: no new assignments; the report keeps counting the recipients already touched."""
    experiment = _get(session, experiment_id)
    if experiment.status != ExperimentStatus.running:
        raise Conflict(
            f"experiment {experiment_id} is {experiment.status.value}; only a running one can stop"
        )
    experiment.status = ExperimentStatus.stopped
    experiment.stopped_at = now or utcnow()
    session.flush()
    audit(session, actor, "experiment.stop", "experiment", experiment_id)
    return experiment


def _out(
    experiment: Experiment, arms: Sequence[ExperimentArm], titles: dict[int, str], assigned: int
) -> ExperimentOut:
    return ExperimentOut(
        id=experiment.id,
        name=experiment.name,
        source_type=experiment.source_type,
        source_ref=experiment.source_ref,
        metric=experiment.metric,
        horizon_hours=experiment.horizon_hours,
        alpha=experiment.alpha,
        power=experiment.power,
        baseline_rate=experiment.baseline_rate,
        min_detectable_effect=experiment.min_detectable_effect,
        min_sample_per_arm=experiment.min_sample_per_arm,
        status=experiment.status,
        started_at=experiment.started_at,
        stopped_at=experiment.stopped_at,
        assigned=assigned,
        arms=[
            ArmOut(
                id=a.id,
                label=a.label,
                script_id=a.script_id,
                script_title=titles.get(a.script_id),
                weight=a.weight,
            )
            for a in arms
        ],
    )


def script_titles(session: Session, script_ids: Sequence[int]) -> dict[int, str]:
    """script_id -> title (one IN query)."""
    if not script_ids:
        return {}
    rows = session.execute(select(Script.id, Script.title).where(Script.id.in_(set(script_ids))))
    return {int(i): str(t) for i, t in rows}


def list_experiments(session: Session, actor: Actor) -> list[ExperimentOut]:
    """Every experiment with its arms and assigned counts within the actor's scope (four queries)."""
    experiments = repo.list_experiments(session)
    ids = [e.id for e in experiments]
    arms = repo.arms_for(session, ids)
    assigned = repo.assigned_per_experiment(session, actor, ids)
    titles = script_titles(session, [a.script_id for group in arms.values() for a in group])
    return [_out(e, arms[e.id], titles, assigned.get(e.id, 0)) for e in experiments]


def experiment_detail(session: Session, actor: Actor, experiment_id: int) -> ExperimentOut:
    """One experiment with its arms and its assigned customers within the actor's scope."""
    experiment = _get(session, experiment_id)
    arms = repo.arms_of(session, experiment_id)
    titles = script_titles(session, [a.script_id for a in arms])
    assigned = repo.assigned_per_experiment(session, actor, [experiment_id]).get(experiment_id, 0)
    return _out(experiment, arms, titles, assigned)
