"""seed_journeys (wired into build_demo): templates copied, some active with enrolments and run steps."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, func, select

from siyu.db.engine import session_factory
from siyu.demo.builder import DemoParams, build_demo
from siyu.models import Journey, JourneyEnrolment, JourneyStepRun
from siyu.models.journeys import JourneyStatus, StepRunStatus
from siyu.timeutil import day_start_utc


def test_seed_journeys_on_a_small_demo(engine: Engine) -> None:
    params = DemoParams(customers=1_500, seed=7)
    with session_factory(engine)() as s:
        build_demo(s, params)
        s.commit()
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Journey)) == 6
        active = s.scalar(select(func.count()).where(Journey.status == JourneyStatus.active)) or 0
        drafts = s.scalar(select(func.count()).where(Journey.status == JourneyStatus.draft)) or 0
        assert active >= 3 and drafts >= 2
        assert (s.scalar(select(func.count()).select_from(JourneyEnrolment)) or 0) > 0
        assert (s.scalar(select(func.count()).where(JourneyStepRun.status == StepRunStatus.done)) or 0) > 0
        # Enrolments come from the last days' history only (the scan drops older hits).
        earliest = s.scalar(select(func.min(JourneyEnrolment.entered_at)))
        assert earliest is not None and earliest >= day_start_utc(params.as_of - timedelta(days=10))
