"""A small brand with insight rows written directly, for the console and API tests (brute-force expectations)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from siyu.db.engine import session_factory
from siyu.insights.contract import EIGHT_CLASS, InsightSettings
from siyu.models import (
    AcquisitionSource,
    Channel,
    ChannelMembership,
    Customer,
    CustomerIdentity,
    IdentityKind,
    LifecycleStage,
)
from siyu.models.insights import (
    ChurnWarning,
    CustomerInsight,
    InsightRun,
    LifecycleChange,
    RfmSegmentSize,
    RfmSnapshot,
)
from siyu.org.accounts import create_account
from siyu.org.service import create_staff, create_unit

PASSWORD = "correct-horse-1"
AS_OF = date(2026, 3, 31)
DAY_BEFORE = date(2026, 3, 30)
MONTH_AGO = date(2026, 2, 28)
SNAPSHOT_DAYS = (MONTH_AGO, DAY_BEFORE, AS_OF)
SEGMENTS = list(EIGHT_CLASS.values())
T0 = datetime(2025, 1, 1, 2, 0, tzinfo=UTC)
HISTORY_DAYS = 200  # the run's calibration set: first purchase within this many days
BGNBD = {
    "r": 0.6,
    "alpha": 40.0,
    "a": 0.8,
    "b": 2.5,
    "loglik": -1234.5,
    "n": 30,
    "unique_rows": 28,
    "converged": True,
}


@dataclass
class Brand:
    """What was inserted, as plain values the tests count over."""

    units: dict[str, int] = field(default_factory=dict)
    staff: dict[str, int] = field(default_factory=dict)
    customers: list[dict[str, Any]] = field(default_factory=list)
    insights: list[dict[str, Any]] = field(default_factory=list)
    snapshots: list[tuple[date, int, str]] = field(default_factory=list)
    sizes: list[tuple[date, str, int, int]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    run_id: int = 0

    def scope_ids(self, who: str) -> set[int]:
        """Customer ids readable by an account: all, guide g1 (owned or present with), manager of sh01."""
        if who == "all":
            return {c["id"] for c in self.customers}
        if who == "g1":
            return {c["id"] for c in self.customers if c["owner"] == self.staff["g1"] or c["present_g1"]}
        if who == "sh01":
            sh01_staff = {self.staff["g1"], self.staff["g2"]}
            return {
                c["id"]
                for c in self.customers
                if c["store"] == self.units["sh01"] or c["owner"] in sh01_staff
            }
        raise ValueError(who)


def build_brand(engine: Engine, seed: int = 7, customers: int = 60) -> Brand:
    """Org, accounts, customers and one finished insights run with its rows; committed."""
    rng = random.Random(seed)
    b = Brand()
    with session_factory(engine)() as s:
        for code, name, kind, parent in [
            ("east", "华东区", "region", None),
            ("sh01", "上海一店", "store", "east"),
            ("sh02", "上海二店", "store", "east"),
        ]:
            b.units[code] = create_unit(s, code=code, name=name, kind=kind, parent_code=parent).id
        for code, home in [("g1", "sh01"), ("g2", "sh01"), ("m1", "sh01"), ("g3", "sh02")]:
            b.staff[code] = create_staff(s, code=code, name=f"导购{code}", unit_code=home).id
        accounts: list[tuple[str, str, str, str | None, str | None]] = [
            ("admin", "admin", "all", None, None),
            ("operator", "operator", "all", None, None),
            ("analyst", "analyst", "all", None, None),
            ("lead", "private_domain_lead", "all", None, None),
            ("guide", "guide", "self", "g1", None),
            ("store", "manager", "unit", "m1", "sh01"),
        ]
        for username, role, scope, staff, unit in accounts:
            create_account(
                s,
                username=username,
                password=PASSWORD,
                role=role,
                scope=scope,
                staff_code=staff,
                unit_code=unit,
            )
        owners = [b.staff["g1"], b.staff["g2"], b.staff["g3"], None]
        stores = [b.units["sh01"], b.units["sh02"], None]
        for i in range(customers):
            owner = rng.choice(owners)
            store = rng.choice(stores)
            stage = rng.choice(list(LifecycleStage))
            c = Customer(
                name=f"顾客{i:02d}",
                source=AcquisitionSource.store,
                owner_staff_id=owner,
                home_store_id=store,
                lifecycle_stage=stage,
                first_seen_at=T0,
            )
            s.add(c)
            s.flush()
            s.add(CustomerIdentity(customer_id=c.id, kind=IdentityKind.phone, value=f"+86138{i:08d}"))
            present = owner != b.staff["g1"] and rng.random() < 0.15
            if present:
                s.add(
                    ChannelMembership(
                        customer_id=c.id, channel=Channel.wecom, staff_id=b.staff["g1"], joined_at=T0
                    )
                )
            b.customers.append(
                {"id": c.id, "owner": owner, "store": store, "stage": stage.value, "present_g1": present}
            )
        s.flush()
        settings = InsightSettings().model_dump(mode="json")
        run = InsightRun(
            as_of=AS_OF,
            status="done",
            settings_version=None,
            settings=settings,
            models={
                "calibration": {"history_days": HISTORY_DAYS, "customers": 99, "repeat_buyers": 50},
                "bgnbd": BGNBD,
                "pareto_nbd": None,
                "gamma_gamma": {"p": 6.0, "q": 3.5, "v": 15.0, "converged": True},
            },
            figures={
                "rfm_cuts": {
                    "scheme": "eight_class",
                    "recency_days": 40.5,
                    "frequency": 2.2,
                    "monetary_fen": 35000.0,
                }
            },
            started_at=datetime(2026, 4, 1, 1, 0, tzinfo=UTC),
            finished_at=datetime(2026, 4, 1, 1, 5, tzinfo=UTC),
        )
        s.add(run)
        s.flush()
        b.run_id = run.id
        _insights(s, b, rng)
        s.commit()
    return b


def _insights(s: Any, b: Brand, rng: random.Random) -> None:
    for c in b.customers:
        cid = c["id"]
        if rng.random() < 0.8:
            purchase_days = rng.randint(1, 9)
            first = AS_OF - timedelta(days=rng.randint(0, 300))
            segment = rng.choice(SEGMENTS) if rng.random() < 0.9 else None
            row = {
                "customer_id": cid,
                "purchase_days": purchase_days,
                "first_order_on": first,
                "last_order_on": AS_OF - timedelta(days=rng.randint(0, (AS_OF - first).days)),
                "recency_days": rng.randint(0, 300),
                "frequency": rng.randint(0, 8),
                "monetary_fen": rng.randint(0, 900_00),
                "r_score": rng.randint(0, 1),
                "f_score": rng.randint(0, 1),
                "m_score": rng.randint(0, 1),
                "rfm_segment": segment,
                "p_alive": round(rng.random(), 4),
                "expected_purchases": round(rng.random() * 3, 3),
                "expected_value_fen": rng.randint(1000, 50000),
                "clv_fen": rng.randint(0, 200_000) if rng.random() < 0.9 else None,
                "expected_gap_days": 30.0,
                "overdue_days": rng.randint(0, 40),
                "churn_risk": rng.random() < 0.3,
            }
            s.add(CustomerInsight(run_id=b.run_id, computed_on=AS_OF, **row))
            b.insights.append(row)
            if segment:
                b.snapshots.append((AS_OF, cid, segment))
        for day in (MONTH_AGO, DAY_BEFORE):
            if rng.random() < 0.7:
                b.snapshots.append((day, cid, rng.choice(SEGMENTS)))
        for k in range(rng.randint(0, 3)):
            frm = rng.choice([None, *LifecycleStage])
            to = rng.choice(list(LifecycleStage))
            change = {
                "customer_id": cid,
                "from_stage": frm,
                "to_stage": to,
                "changed_on": AS_OF - timedelta(days=k * 17),
            }
            s.add(LifecycleChange(run_id=b.run_id, **change))
            b.changes.append(change)
        if rng.random() < 0.5:
            warned = AS_OF - timedelta(days=rng.choice([0, 0, 5, 20, 45, 80, 120]))
            status = rng.choice(["open", "open", "recalled", "expired"])
            w = {
                "customer_id": cid,
                "owner_staff_id": c["owner"],
                "home_store_id": c["store"],
                "warned_on": warned,
                "reason": rng.choice(["p_alive", "overdue", "both"]),
                "p_alive": round(rng.random() * 0.3, 4),
                "overdue_days": rng.randint(1, 60),
                "clv_fen": rng.randint(0, 90_000),
                "status": status,
                "window_ends_on": warned + timedelta(days=30),
                "recalled_on": warned + timedelta(days=3) if status == "recalled" else None,
                "run_id": b.run_id,
            }
            row_w = ChurnWarning(**w)
            s.add(row_w)
            s.flush()
            b.warnings.append({**w, "id": row_w.id})
    s.add_all(RfmSnapshot(computed_on=d, customer_id=cid, rfm_segment=seg) for d, cid, seg in b.snapshots)
    # Brand-wide sizes as the refresh records them (here: counted from the snapshots).
    for day in SNAPSHOT_DAYS:
        for seg in SEGMENTS:
            ids = [cid for d, cid, sg in b.snapshots if d == day and sg == seg]
            if ids:
                money = sum(r["monetary_fen"] for r in b.insights if r["customer_id"] in ids)
                b.sizes.append((day, seg, len(ids), money))
                s.add(
                    RfmSegmentSize(
                        computed_on=day,
                        scheme="eight_class",
                        rfm_segment=seg,
                        customers=len(ids),
                        monetary_fen=money,
                    )
                )
    s.flush()
