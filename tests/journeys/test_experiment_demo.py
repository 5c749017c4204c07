"""seed_experiments in a small built demo: one finished experiment with a verdict, one collecting."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, func, select

from siyu.db.engine import session_factory
from siyu.demo.builder import DemoParams, build_demo
from siyu.journeys.experiment_report import experiment_report
from siyu.models import ChatMessage, Experiment, Order, OutboundMessage, Script
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.timeutil import day_start_utc


def test_seed_experiments_in_a_small_demo(engine: Engine) -> None:
    params = DemoParams(customers=1_500, seed=7)
    with session_factory(engine)() as s:
        build_demo(s, params)  # calls seed_experiments
        s.commit()
    with session_factory(engine)() as s:
        finished = s.scalars(select(Experiment).where(Experiment.salt == "demo-welcome")).one()
        collecting = s.scalars(select(Experiment).where(Experiment.salt == "demo-follow-up")).one()
        now = day_start_utc(params.as_of + timedelta(days=1))
        done = experiment_report(s, SYSTEM_ACTOR, finished.id, now)
        later = experiment_report(s, SYSTEM_ACTOR, collecting.id, now + timedelta(days=60))
        demo_touches = s.scalar(
            select(func.count()).where(OutboundMessage.idempotency_key.like("demo-exp:%"))
        )
        assert demo_touches == sum(a.recipients for a in done.arms) + sum(a.recipients for a in later.arms)
        assert s.scalar(select(func.count()).where(ChatMessage.msgid.like("demo-exp-%")))
        assert not s.scalar(select(func.count()).where(Order.source == "demo_exp"))  # no invented orders
        # The finished test: stopped, every recipient mature, a verdict, B (truly better) ahead.
        assert finished.status.value == "stopped"
        assert done.verdict in ("significant", "not_significant")
        assert all(a.mature == a.recipients >= finished.min_sample_per_arm for a in done.arms)
        rate_a, rate_b = done.arms[0].rate.value, done.arms[1].rate.value
        assert rate_a is not None and rate_b is not None and rate_b > rate_a
        # Its arms are an approved script and its variant.
        parent, variant = (s.get(Script, a.script_id) for a in done.arms)
        assert parent is not None and variant is not None and variant.parent_id == parent.id
        # The other one stays short of its plan however long we wait.
        assert collecting.status.value == "running" and later.verdict == "collecting"
        assert all(a.planned < collecting.min_sample_per_arm for a in later.arms)
