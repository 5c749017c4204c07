"""The experiment report: per-arm recipients, mature, successes, rates with intervals, the verdict."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from siyu.db.types import utcnow
from siyu.journeys import experiment_repository as repo
from siyu.journeys import experiment_stats as stats
from siyu.journeys.experiment_schemas import ArmReport, ExperimentReport, Interval
from siyu.journeys.experiment_service import experiment_detail
from siyu.models import ExperimentMetric
from siyu.org.permissions import Actor, DataScope


def _interval(value: float, low: float, high: float) -> Interval:
    def clean(v: float) -> float | None:
        return None if math.isnan(v) else v

    return Interval(value=clean(value), low=clean(low), high=clean(high))


@dataclass
class _Arm:
    mature: int = 0
    replied: int = 0
    ordered: int = 0
    successes: int = 0
    gmv: int = 0
    gmv_sq: float = 0.0
    planned: int = 0
    planned_successes: int = 0


def _tally(
    recipients: Sequence[repo.Recipient], horizon: timedelta, as_of: datetime, metric: str, planned_n: int
) -> _Arm:
    arm = _Arm()
    for position, r in enumerate(recipients):  # already in touch order
        if r.touched_at + horizon > as_of:
            continue
        replied = r.replied_within(horizon)
        orders = r.orders_within(horizon)
        success = replied if metric == "reply" else bool(orders)
        value = sum(net for _, net in orders)
        arm.mature += 1
        arm.replied += replied
        arm.ordered += bool(orders)
        arm.successes += success
        arm.gmv += value
        arm.gmv_sq += float(value) * float(value)
        if position < planned_n:
            arm.planned += 1
            arm.planned_successes += success
    return arm


def experiment_report(
    session: Session, actor: Actor, experiment_id: int, as_of: datetime | None = None
) -> ExperimentReport:
    """Every arm's figures as of as_of, within the actor's data scope, and the verdict.

    Rates count mature recipients only (touch + horizon <= as_of). The verdict waits until each
    arm's planned sample — its first min_sample_per_arm recipients by touch time — is complete and
    mature, then tests that sample once (pooled z, Holm across arms) at the experiment's alpha.
    """
    as_of = as_of or utcnow()
    if as_of.tzinfo is None:  # a bare timestamp from the API or CLI is read as UTC
        as_of = as_of.replace(tzinfo=UTC)
    detail = experiment_detail(session, actor, experiment_id)
    arms = detail.arms
    horizon = timedelta(hours=detail.horizon_hours)
    verdict_metric = "reply" if detail.metric == ExperimentMetric.reply else "order"
    everyone = repo.recipients(session, actor, experiment_id, [a.id for a in arms])
    assigned = repo.assignment_counts(session, actor, experiment_id)
    by_arm: dict[int, list[repo.Recipient]] = {a.id: [] for a in arms}
    for r in everyone:
        by_arm[r.arm_id].append(r)
    n_min, alpha = detail.min_sample_per_arm, detail.alpha
    tallies = [_tally(by_arm[a.id], horizon, as_of, verdict_metric, n_min) for a in arms]
    control = tallies[0]
    reports = []
    for index, (arm, t) in enumerate(zip(arms, tallies, strict=True)):
        rate = t.successes / t.mature if t.mature else math.nan
        low, high = stats.wilson_interval(t.successes, t.mature, alpha) if t.mature else (math.nan, math.nan)
        gmv = stats.mean_interval(t.mature, t.gmv, t.gmv_sq, alpha)
        diff = gmv_diff = None
        p_value = None
        if index > 0 and t.mature and control.mature:
            d_low, d_high = stats.newcombe_interval(
                t.successes, t.mature, control.successes, control.mature, alpha
            )
            diff = _interval(rate - control.successes / control.mature, d_low, d_high)
            p_value = stats.two_proportion_ztest(
                t.successes, t.mature, control.successes, control.mature
            ).p_value
            w = stats.welch_interval(
                t.mature, t.gmv, t.gmv_sq, control.mature, control.gmv, control.gmv_sq, alpha
            )
            gmv_diff = _interval(w.mean, w.low, w.high)
        reports.append(
            ArmReport(
                arm_id=arm.id,
                label=arm.label,
                script_id=arm.script_id,
                script_title=arm.script_title,
                is_control=index == 0,
                assigned=assigned.get(arm.id, 0),
                recipients=len(by_arm[arm.id]),
                mature=t.mature,
                replied=t.replied,
                ordered=t.ordered,
                successes=t.successes,
                rate=_interval(rate, low, high),
                diff=diff,
                p_value=None if p_value is None or math.isnan(p_value) else p_value,
                gmv_fen=t.gmv,
                gmv_per_recipient=_interval(gmv.mean, gmv.low, gmv.high),
                gmv_diff=gmv_diff,
                planned=t.planned,
                progress=min(1.0, t.planned / n_min) if n_min else 0.0,
            )
        )
    decided = stats.verdict([stats.ArmSample(t.planned, t.planned_successes) for t in tallies], n_min, alpha)
    planned_results: list[dict[str, float | int | str]] = []
    for arm, t, test, adjusted in zip(arms[1:], tallies[1:], decided.tests, decided.adjusted, strict=False):
        planned_results.append(
            {
                "label": arm.label,
                "n": t.planned,
                "successes": t.planned_successes,
                "rate": t.planned_successes / t.planned,
                "control_rate": control.planned_successes / control.planned,
                "z": test.z,
                "p_value": test.p_value,
                "p_adjusted": adjusted,
            }
        )
    return ExperimentReport(
        experiment=detail,
        as_of=as_of,
        scoped=actor.scope is not DataScope.all,
        arms=reports,
        verdict=decided.verdict,
        verdict_metric=verdict_metric,
        planned_results=planned_results,
    )
