"""Build the whole demo brand into an empty database, deterministically from a seed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.db.base import Base
from siyu.db.types import utcnow
from siyu.demo.accounts import DemoAccount, create_demo_accounts
from siyu.demo.channels import build_memberships, write_groups, write_memberships
from siyu.demo.chats import write_messages
from siyu.demo.commerce import plan_orders, write_orders, write_referrals, write_visits
from siyu.demo.compliance import seed_compliance
from siyu.demo.customers import build_people
from siyu.demo.experiments import seed_experiments
from siyu.demo.journeys import seed_journeys
from siyu.demo.mass_sends import seed_mass_sends
from siyu.demo.org import OrgPlan, build_org
from siyu.demo.profiles import build_profiles
from siyu.demo.purchases import purchase_process
from siyu.demo.scripts import seed_scripts
from siyu.demo.tags import write_tags
from siyu.demo.talent import seed_assessments, seed_org_design
from siyu.demo.tasks import write_tasks
from siyu.demo.timeline import Calendar
from siyu.demo.wecom import seed_channel_codes
from siyu.demo.wecom_stats import seed_behaviour_snapshots
from siyu.demo.writer import Reporter, Writer
from siyu.errors import Conflict, Invalid
from siyu.insights.refresh import refresh_insights
from siyu.models import AuditLog, Customer
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.performance import leaderboard
from siyu.performance.kpi_demo import seed_for_demo
from siyu.reports.rollups import refresh_rollups
from siyu.segments.schemas import SegmentCreate
from siyu.segments.service import create_segment, record_sizes
from siyu.timeutil import day_start_utc

DEFAULT_SEED = 42
DEFAULT_AS_OF = date(2026, 11, 1)
DEFAULT_CUSTOMERS = 50_000
AUDIT_ACTION = "demo.build"
# Tables that make a database "the brand's": the demo refuses to write over any of them.
BRAND_TABLES = ("org_units", "staff", "customers", "orders", "chat_groups", "chat_messages", "tags", "events")
# The big tables whose secondary indexes are built after loading rather than row by row.
BULK_TABLES = (
    "customers", "customer_identities", "channel_memberships", "customer_tags", "orders", "order_lines",
    "store_visits", "chat_messages", "staff_tasks", "events",
)  # fmt: skip
STREAMS = (
    "org",
    "people",
    "purchases",
    "channels",
    "orders",
    "profiles",
    "groups",
    "lines",
    "visits",
    "chats",
    "tasks",
    "tags",
)


@dataclass(frozen=True)
class DemoParams:
    """What to build: how many customers, from which seed, as of which day."""

    customers: int = DEFAULT_CUSTOMERS
    seed: int = DEFAULT_SEED
    as_of: date = DEFAULT_AS_OF

    def check(self) -> None:
        """Reject sizes and dates the generator cannot honour."""
        if not 100 <= self.customers <= 5_000_000:
            raise Invalid(f"--customers {self.customers}: choose between 100 and 5,000,000")
        if not date(2020, 1, 1) <= self.as_of <= date(2028, 12, 31):
            raise Invalid(f"--as-of {self.as_of}: choose a day between 2020-01-01 and 2028-12-31")
        if self.seed < 0:
            raise Invalid(f"--seed {self.seed}: must be zero or positive")


@dataclass
class DemoResult:
    """Row counts per table, the ground-truth violation labels and the accounts created."""

    params: DemoParams
    counts: dict[str, int]
    violations: dict[str, list[str]]
    accounts: list[DemoAccount] = field(default_factory=list)


def existing_rows(session: Session) -> dict[str, int]:
    """Rows already in each brand table (only the non-empty ones)."""
    out: dict[str, int] = {}
    tables = Base.metadata.tables
    for name in BRAND_TABLES:
        count = session.scalar(select(func.count()).select_from(tables[name]))
        if count:
            out[name] = int(count)
    return out


def ensure_empty(session: Session) -> None:
    """Refuse to build over an existing brand: the demo only writes into an empty database."""
    found = existing_rows(session)
    if found:
        listed = ", ".join(f"{name}: {count} rows" for name, count in found.items())
        raise Conflict(
            f"the database is not empty ({listed}); `siyu demo` builds only into an empty database "
            "(use --if-empty to reuse an existing demo, or point SIYU_DATABASE_URL at a new file)"
        )


def build_demo(session: Session, params: DemoParams, reporter: Reporter | None = None) -> DemoResult:
    """Generate and write the demo brand in the caller's transaction (the caller commits)."""
    params.check()
    ensure_empty(session)
    rngs = dict(
        zip(
            STREAMS,
            (np.random.default_rng(s) for s in np.random.SeedSequence(params.seed).spawn(len(STREAMS))),
            strict=True,
        )
    )
    cal = Calendar.build(params.as_of)
    writer = Writer(session, reporter)
    tables = Base.metadata.tables
    # About 2.5 KiB of page cache per customer, between 64 and 512 MiB.
    cache_mib = min(512, max(64, params.customers * 5 // 2048))
    with writer.bulk_load([tables[name] for name in BULK_TABLES], cache_mib):
        n = params.customers
        org = build_org(rngs["org"], cal, OrgPlan.for_customers(n), writer)
        writer.reporter.step("customers and their buying history")
        first_customer = writer.reserve(Customer.__table__, n)  # type: ignore[arg-type]
        people = build_people(rngs["people"], cal, org, n, first_customer)
        buys = purchase_process(rngs["purchases"], cal, people)
        ms = build_memberships(rngs["channels"], cal, org, people, buys)
        plan = plan_orders(rngs["orders"], cal, org, people, buys, ms)
        profiles = build_profiles(rngs["profiles"], cal, org, people, buys, ms, plan.refund, writer)
        group_ids, group_external = write_groups(rngs["groups"], org, ms.groups, writer)
        write_memberships(org, people, ms, group_ids, writer)
        _order_ids, line_order, line_sku = write_orders(rngs["lines"], cal, org, people, buys, plan, writer)
        visits = write_visits(rngs["visits"], cal, org, people, buys, plan, ms, writer)
        write_referrals(org, people, ms, writer)
        violations = write_messages(
            rngs["chats"],
            cal,
            org,
            people,
            ms,
            profiles.archive_consent,
            profiles.external_userid,
            group_ids,
            group_external,
            params.seed,
            writer,
        )
        write_tasks(rngs["tasks"], cal, org, people, ms, profiles.stage, writer)
        write_tags(
            rngs["tags"],
            cal,
            org,
            people,
            buys,
            ms,
            plan.coupon,
            plan.campaign,
            plan.refund,
            plan.refunded_at,
            buys.cust[line_order],
            line_sku,
            buys.paid_at[line_order],
            visits,
            writer,
        )
    writer.reporter.step("accounts")
    accounts = create_demo_accounts(session)
    seed_for_demo(session, params.as_of)  # KPI sets from the articles and a stage history
    # Before the rollups, leaderboard and compliance scan, so their figures include these tasks and replies.
    seed_scripts(session, params.as_of)  # the script library, content packs and the guides' tasks
    seed_experiments(session, params.as_of)  # a finished and a collecting welcome-script A/B test
    counts = dict(sorted(writer.counts.items()))
    counts["accounts"] = len(accounts)
    session.add(
        AuditLog(
            account_id=None,
            action=AUDIT_ACTION,
            target_type=None,
            target_id=None,
            detail={
                "seed": params.seed,
                "customers": params.customers,
                "as_of": params.as_of.isoformat(),
                "violations": {k: len(v) for k, v in violations.items()},
                "counts": counts,
            },
            at=utcnow(),
        )
    )
    session.flush()
    # The overview reads daily rollups: build them in the same transaction, as of the history's end.
    refresh_rollups(session, full=True, now=day_start_utc(params.as_of))
    leaderboard.rebuild(session)  # so the first board is live without replaying the whole event log
    writer.reporter.step("customer insights")  # RFM, CLV, lifecycle stages and warnings as of the last day
    refresh_insights(session, as_of=params.as_of)
    _seed_segments(session, params.as_of)
    seed_assessments(session, params.as_of, params.seed)  # 人才盘点: a closed and an open cycle
    seed_org_design(session, params.as_of)  # the lead's advisor run and a custom role
    seed_compliance(session, params.as_of)  # rules, scripted violations, detection over 30 days, reviews
    seed_journeys(session, params.as_of)  # article templates copied and running on real past events
    seed_mass_sends(session, params.as_of)  # past mass sends with capped / opted-out results, one scheduled
    seed_channel_codes(session)  # 活码 over the demo's own codes, so their funnels show the history
    seed_behaviour_snapshots(session, params.as_of)  # 60 days of WeCom statistics from the demo's own chats
    return DemoResult(params=params, counts=counts, violations=violations, accounts=accounts)


def recorded_params(session: Session) -> DemoParams | None:
    """The parameters of the demo built into this database (from the audit trail), if any."""
    detail = session.scalar(
        select(AuditLog.detail).where(AuditLog.action == AUDIT_ACTION).order_by(AuditLog.id.desc()).limit(1)
    )
    if not detail:
        return None
    return DemoParams(
        customers=int(detail["customers"]),
        seed=int(detail["seed"]),
        as_of=date.fromisoformat(detail["as_of"]),
    )


DEMO_SEGMENTS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (
        "重要挽留 · 可营销",
        "高消费但久未复购、同意营销的客户：一对一召回。",
        {
            "all": [
                {"field": "rfm_segment", "op": "in", "value": ["important_retain"]},
                {"field": "consent", "op": "is", "value": True},
            ]
        },
    ),
    (
        "近30天新客（企微）",
        "最近30天首次出现、现为企微好友的客户：新客SOP。",
        {
            "all": [
                {"field": "first_seen_days", "op": "le", "value": 30},
                {"field": "channel", "op": "member", "value": ["wecom"]},
            ]
        },
    ),
    (
        "高活跃低复购",
        "P(活跃) ≥ 0.7 但近90天未下单：复购提醒。",
        {
            "all": [
                {"field": "p_alive", "op": "ge", "value": 0.7},
                {"not": {"field": "orders_in_window", "op": "ge", "value": 1, "days": 90}},
            ]
        },
    ),
)


def _seed_segments(session: Session, as_of: date) -> None:
    """A few saved segments with a week of daily sizes, so the segment pages have something to show."""
    for name, description, rule in DEMO_SEGMENTS:
        data = SegmentCreate(name=name, description=description, rule={"version": 1, "rule": rule})
        create_segment(session, SYSTEM_ACTOR, data)
    end = day_start_utc(as_of + timedelta(days=1))
    for back in range(6, -1, -1):
        day = as_of - timedelta(days=back)
        record_sizes(session, day, now=end)
