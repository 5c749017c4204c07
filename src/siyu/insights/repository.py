"""Read queries of the insights console and API; every customer-level figure goes through readable(actor)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, select
from sqlalchemy.orm import Session, aliased

from siyu.customers.repository import get_customer, readable, staff_names
from siyu.errors import NotFound
from siyu.insights import service
from siyu.insights.churn import warning_list
from siyu.insights.contract import EIGHT_CLASS, QUINTILE_SEGMENTS
from siyu.insights.schemas import (
    CustomerCardOut,
    CustomerInsightOut,
    DecileRow,
    LifecycleStepOut,
    MovementCell,
    MovementOut,
    OwnerWarnings,
    RecallWindow,
    RfmDefinition,
    RfmOut,
    RfmSegmentRow,
    SizeSeries,
    WarningOut,
)
from siyu.models import Account, Customer, LifecycleStage, Staff
from siyu.models.insights import (
    ChurnWarning,
    CustomerInsight,
    InsightRun,
    InsightSettingsVersion,
    LifecycleChange,
    RfmSegmentSize,
    RfmSnapshot,
)
from siyu.org.permissions import Actor, DataScope, PermissionRole

SEGMENT_ORDER: tuple[str, ...] = (*EIGHT_CLASS.values(), *QUINTILE_SEGMENTS)
RECALL_WINDOWS = (30, 90)
WARNING_STATUSES = ("open", "recalled", "expired")
# Roles that may change the insights settings (brand-wide rules) and refresh by hand.
SETTINGS_ROLES = (PermissionRole.admin, PermissionRole.operator)


def scoped(column: Any, actor: Actor) -> list[ColumnElement[bool]]:
    """Clauses limiting a customer_id column to the actor's readable customers (none for scope all)."""
    if actor.scope is DataScope.all:
        return []
    return [column.in_(select(Customer.id).where(readable(actor)))]


def ordered_segments(codes: Sequence[str | None]) -> list[str]:
    """Segment codes in the console's order (eight-class, then quintile, then unknown codes by name)."""
    known = {c for c in codes if c}
    return [c for c in SEGMENT_ORDER if c in known] + sorted(known - set(SEGMENT_ORDER))


def latest_run(session: Session) -> InsightRun | None:
    """The newest finished refresh: the run whose scores are in the tables."""
    return service.latest_run(session)


def recent_runs(session: Session, limit: int = 10) -> Sequence[InsightRun]:
    """The latest refreshes of any status, newest first."""
    return session.scalars(select(InsightRun).order_by(InsightRun.id.desc()).limit(limit)).all()


def rfm_definition(run: InsightRun | None) -> RfmDefinition | None:
    """The 口径 of a run's RFM figures: its settings copy and the cut values it recorded."""
    if run is None or not run.settings:
        return None
    rfm = run.settings.get("rfm", {})
    figures = run.figures or {}
    cuts = figures.get("rfm_cuts") or figures.get("cuts") or {}
    if not cuts and rfm.get("cut") == "fixed":
        cuts = {
            "recency_days": rfm.get("fixed_recency_days"),
            "frequency": rfm.get("fixed_frequency"),
            "monetary_fen": rfm.get("fixed_monetary_fen"),
        }
    return RfmDefinition(
        scheme=str(rfm.get("scheme", "")),
        window_days=int(rfm.get("window_days", 0)),
        cut=str(rfm.get("cut", "")),
        cuts=dict(cuts),
    )


def rfm_table(session: Session, actor: Actor, run: InsightRun | None) -> RfmOut:
    """Scored customers per RFM segment in scope: count, share, spend, average recency and frequency."""
    ci = CustomerInsight
    rows = session.execute(
        select(
            ci.rfm_segment,
            func.count(),
            func.coalesce(func.sum(ci.monetary_fen), 0),
            func.avg(ci.recency_days),
            func.avg(ci.frequency),
        )
        .where(ci.rfm_segment.is_not(None), *scoped(ci.customer_id, actor))
        .group_by(ci.rfm_segment)
    ).all()
    by_code = {r[0]: r for r in rows}
    scored = sum(int(r[1]) for r in rows)
    segments = [
        RfmSegmentRow(
            segment=code,
            customers=int(by_code[code][1]),
            share=int(by_code[code][1]) / scored if scored else None,
            monetary_fen=int(by_code[code][2]),
            avg_recency_days=None if by_code[code][3] is None else float(by_code[code][3]),
            avg_frequency=None if by_code[code][4] is None else float(by_code[code][4]),
        )
        for code in ordered_segments(list(by_code))
    ]
    return RfmOut(
        run_id=run.id if run else None,
        computed_on=run.as_of if run else None,
        definition=rfm_definition(run),
        scored=scored,
        segments=segments,
    )


def size_series(session: Session, actor: Actor, scheme: str | None) -> SizeSeries:
    """Segment sizes per computed day: brand-wide sizes for scope all, else counted from scoped snapshots."""
    rows: Sequence[Any]
    if actor.scope is DataScope.all:
        size = RfmSegmentSize
        query = select(size.computed_on, size.rfm_segment, size.customers)
        rows = session.execute(query.where(size.scheme == scheme) if scheme else query).all()
    else:
        snap = RfmSnapshot
        rows = session.execute(
            select(snap.computed_on, snap.rfm_segment, func.count())
            .where(*scoped(snap.customer_id, actor))
            .group_by(snap.computed_on, snap.rfm_segment)
        ).all()
    days = sorted({r[0] for r in rows})
    index = {d: i for i, d in enumerate(days)}
    series: dict[str, list[int]] = {code: [0] * len(days) for code in ordered_segments([r[1] for r in rows])}
    for day, code, n in rows:
        series[code][index[day]] += int(n)
    return SizeSeries(days=days, series=series, brand_wide=actor.scope is DataScope.all)


def snapshot_days(session: Session) -> list[date]:
    """Days with per-customer RFM snapshots, newest first (the choices of the movement matrix)."""
    return list(
        session.scalars(select(RfmSnapshot.computed_on).distinct().order_by(RfmSnapshot.computed_on.desc()))
    )


def movement(session: Session, actor: Actor, from_day: date, to_day: date) -> MovementOut:
    """Customers by (segment on from_day, segment on to_day); None = not scored that day. Scoped."""
    a, b = aliased(RfmSnapshot), aliased(RfmSnapshot)
    # No FULL OUTER JOIN on older SQLite: the customers of from_day (left join), then those new on to_day.
    forward = session.execute(
        select(a.rfm_segment, b.rfm_segment, func.count())
        .select_from(a)
        .outerjoin(b, and_(b.customer_id == a.customer_id, b.computed_on == to_day))
        .where(a.computed_on == from_day, *scoped(a.customer_id, actor))
        .group_by(a.rfm_segment, b.rfm_segment)
    ).all()
    entered = session.execute(
        select(literal(None), b.rfm_segment, func.count())
        .select_from(b)
        .outerjoin(a, and_(a.customer_id == b.customer_id, a.computed_on == from_day))
        .where(b.computed_on == to_day, a.customer_id.is_(None), *scoped(b.customer_id, actor))
        .group_by(b.rfm_segment)
    ).all()
    cells = [MovementCell(from_segment=f, to_segment=t, customers=int(n)) for f, t, n in (*forward, *entered)]
    segments: list[str | None] = [
        *ordered_segments([c.from_segment for c in cells] + [c.to_segment for c in cells]),
        None,
    ]
    totals: dict[str, int] = {}
    for cell in cells:
        key = cell.from_segment or ""
        totals[key] = totals.get(key, 0) + cell.customers
    return MovementOut(from_day=from_day, to_day=to_day, segments=segments, cells=cells, row_totals=totals)


def lifecycle_counts(session: Session, actor: Actor) -> dict[str, int]:
    """Readable, unmerged customers per lifecycle stage (the customer list's stage filter counts the same)."""
    rows = session.execute(
        select(Customer.lifecycle_stage, func.count())
        .where(readable(actor), Customer.merged_into_id.is_(None))
        .group_by(Customer.lifecycle_stage)
    ).all()
    counts = {stage.value: 0 for stage in LifecycleStage}
    for stage, n in rows:
        counts[LifecycleStage(stage).value] = int(n)
    return counts


def lifecycle_trend(
    session: Session, actor: Actor, first: date, last: date
) -> tuple[list[date], dict[str, list[int]]]:
    """Customers entering each stage per day in [first, last], from the stage history (scoped)."""
    lc = LifecycleChange
    rows = session.execute(
        select(lc.changed_on, lc.to_stage, func.count())
        .where(lc.changed_on >= first, lc.changed_on <= last, *scoped(lc.customer_id, actor))
        .group_by(lc.changed_on, lc.to_stage)
    ).all()
    days = sorted({r[0] for r in rows})
    index = {d: i for i, d in enumerate(days)}
    series = {stage.value: [0] * len(days) for stage in LifecycleStage}
    for day, stage, n in rows:
        series[LifecycleStage(stage).value][index[day]] += int(n)
    return days, series


def calibration_groups(
    session: Session, actor: Actor, first_after: date | None = None
) -> list[tuple[int, date, int]]:
    """(purchase days, first order day, customers) of scored buyers in scope (first order after first_after)."""
    ci = CustomerInsight
    window = [ci.first_order_on > first_after] if first_after else []
    rows = session.execute(
        select(ci.purchase_days, ci.first_order_on, func.count())
        .where(
            ci.p_alive.is_not(None), ci.first_order_on.is_not(None), *window, *scoped(ci.customer_id, actor)
        )
        .group_by(ci.purchase_days, ci.first_order_on)
    ).all()
    return [(int(p), d, int(n)) for p, d, n in rows if d is not None]


def clv_deciles(session: Session, actor: Actor) -> list[DecileRow]:
    """Customers with a CLV cut into ten equal-count groups by CLV (ties broken by customer id)."""
    ci = CustomerInsight
    tile = func.ntile(10).over(order_by=(ci.clv_fen, ci.customer_id)).label("decile")
    ranked = (
        select(ci.clv_fen.label("clv"), tile)
        .where(ci.clv_fen.is_not(None), *scoped(ci.customer_id, actor))
        .subquery()
    )
    rows = session.execute(
        select(
            ranked.c.decile,
            func.count(),
            func.min(ranked.c.clv),
            func.max(ranked.c.clv),
            func.sum(ranked.c.clv),
        )
        .group_by(ranked.c.decile)
        .order_by(ranked.c.decile)
    ).all()
    return [
        DecileRow(decile=int(d), customers=int(n), min_fen=int(lo), max_fen=int(hi), total_fen=int(total))
        for d, n, lo, hi, total in rows
    ]


def top_clv(session: Session, actor: Actor, limit: int = 20) -> list[tuple[CustomerInsight, str | None]]:
    """The readable customers with the highest CLV, with their names."""
    ci = CustomerInsight
    rows = session.execute(
        select(ci, Customer.name)
        .join(Customer, Customer.id == ci.customer_id)
        .where(ci.clv_fen.is_not(None), readable(actor))
        .order_by(ci.clv_fen.desc(), ci.customer_id)
        .limit(limit)
    ).all()
    return [(r[0], r[1]) for r in rows]


def customer_insight(session: Session, customer_id: int) -> CustomerInsight | None:
    """A customer's latest scores (the caller has checked the customer is readable)."""
    return session.get(CustomerInsight, customer_id)


def lifecycle_history(session: Session, customer_id: int, limit: int = 20) -> Sequence[LifecycleChange]:
    """A customer's latest lifecycle changes, newest first."""
    return session.scalars(
        select(LifecycleChange)
        .where(LifecycleChange.customer_id == customer_id)
        .order_by(LifecycleChange.changed_on.desc(), LifecycleChange.id.desc())
        .limit(limit)
    ).all()


def _warning_filters(
    actor: Actor, day: date | None, owner_staff_id: int | None, status: str | None
) -> list[ColumnElement[bool]]:
    cw = ChurnWarning
    # Like churn.warning_list: merged-away customers' warnings are left out (their rows moved anyway).
    merged = select(Customer.id).where(Customer.merged_into_id.is_not(None))
    clauses = [*scoped(cw.customer_id, actor), cw.customer_id.not_in(merged)]
    if day is not None:
        clauses.append(cw.warned_on == day)
    if owner_staff_id is not None:
        clauses.append(cw.owner_staff_id == owner_staff_id)
    if status:
        clauses.append(cw.status == status)
    return clauses


def warnings(
    session: Session,
    actor: Actor,
    *,
    day: date | None = None,
    owner_staff_id: int | None = None,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[WarningOut], int]:
    """A page of readable warnings (churn.warning_list: newest day, then highest CLV) with names."""
    rows, total = warning_list(
        session, actor, day, owner_staff_id=owner_staff_id, status=status, limit=limit, offset=offset
    )
    ids = {w.customer_id for w in rows}
    found = session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids)))
    names: dict[int, str | None] = {cid: name for cid, name in found}
    owners = staff_names(session, [w.owner_staff_id for w in rows if w.owner_staff_id])
    return [_warning_out(w, names.get(w.customer_id), owners.get(w.owner_staff_id or 0)) for w in rows], total


def _warning_out(w: Any, name: str | None, owner: str | None) -> WarningOut:
    return WarningOut(
        id=w.id,
        customer_id=w.customer_id,
        customer_name=name,
        owner_staff_id=w.owner_staff_id,
        owner_name=owner,
        warned_on=w.warned_on,
        reason=w.reason,
        p_alive=w.p_alive,
        overdue_days=w.overdue_days,
        clv_fen=w.clv_fen,
        status=w.status,
        window_ends_on=w.window_ends_on,
        recalled_on=w.recalled_on,
    )


def open_warning(session: Session, customer_id: int) -> WarningOut | None:
    """The customer's newest open warning (the caller has checked the customer is readable)."""
    w = session.scalars(
        select(ChurnWarning)
        .where(ChurnWarning.customer_id == customer_id, ChurnWarning.status == "open")
        .order_by(ChurnWarning.warned_on.desc(), ChurnWarning.id.desc())
        .limit(1)
    ).first()
    if w is None:
        return None
    owner = staff_names(session, [w.owner_staff_id]) if w.owner_staff_id else {}
    name = session.scalar(select(Customer.name).where(Customer.id == customer_id))
    return _warning_out(w, name, owner.get(w.owner_staff_id or 0))


def owner_summary(
    session: Session, actor: Actor, day: date, owner_staff_id: int | None
) -> list[OwnerWarnings]:
    """Per owner: readable warnings issued on day, and readable warnings still open (any day)."""
    cw = ChurnWarning
    today = func.sum(case((cw.warned_on == day, 1), else_=0))
    still_open = func.sum(case((cw.status == "open", 1), else_=0))
    rows = session.execute(
        select(cw.owner_staff_id, Staff.name, today, still_open)
        .outerjoin(Staff, Staff.id == cw.owner_staff_id)
        .where(*_warning_filters(actor, None, owner_staff_id, None))
        .group_by(cw.owner_staff_id, Staff.name)
    ).all()
    summary = [
        OwnerWarnings(owner_staff_id=o, owner_name=name, warned_today=int(t or 0), open=int(n or 0))
        for o, name, t, n in rows
        if (t or n)
    ]
    return sorted(summary, key=lambda s: (-s.open, -s.warned_today, s.owner_name or ""))


def recall_summary(
    session: Session, actor: Actor, day: date, owner_staff_id: int | None
) -> list[RecallWindow]:
    """Readable warnings issued in the last 30 and 90 days up to day, by what became of them."""
    cw = ChurnWarning
    out = []
    for days in RECALL_WINDOWS:
        first = day - timedelta(days=days - 1)
        rows = session.execute(
            select(cw.status, func.count())
            .where(
                cw.warned_on >= first,
                cw.warned_on <= day,
                *_warning_filters(actor, None, owner_staff_id, None),
            )
            .group_by(cw.status)
        ).all()
        by_status = {s: int(n) for s, n in rows}
        warned = sum(by_status.values())
        recalled = by_status.get("recalled", 0)
        out.append(
            RecallWindow(
                days=days,
                warned=warned,
                recalled=recalled,
                open=by_status.get("open", 0),
                expired=by_status.get("expired", 0),
                rate=recalled / warned if warned else None,
            )
        )
    return out


def latest_warning_day(session: Session, actor: Actor) -> date | None:
    """The newest day with a readable warning."""
    return session.scalar(
        select(func.max(ChurnWarning.warned_on)).where(*scoped(ChurnWarning.customer_id, actor))
    )


def settings_history(session: Session, limit: int = 20) -> list[tuple[InsightSettingsVersion, str | None]]:
    """Saved settings versions (newest first) with the username that saved each."""
    rows = session.execute(
        select(InsightSettingsVersion, Account.username)
        .outerjoin(Account, Account.id == InsightSettingsVersion.created_by_account_id)
        .order_by(InsightSettingsVersion.version.desc())
        .limit(limit)
    ).all()
    return [(r[0], r[1]) for r in rows]


def customer_card(session: Session, actor: Actor, customer_id: int) -> CustomerCardOut:
    """A readable customer's scores, stage history and open warning; NotFound when unknown or out of scope."""
    customer = get_customer(session, actor, customer_id)
    if customer is None:
        raise NotFound(f"customer {customer_id}: no such customer in your data scope")
    scores = customer_insight(session, customer_id)
    return CustomerCardOut(
        customer_id=customer_id,
        lifecycle_stage=LifecycleStage(customer.lifecycle_stage).value,
        scores=CustomerInsightOut.model_validate(scores) if scores else None,
        lifecycle=[
            LifecycleStepOut(
                from_stage=None if c.from_stage is None else LifecycleStage(c.from_stage).value,
                to_stage=LifecycleStage(c.to_stage).value,
                changed_on=c.changed_on,
            )
            for c in lifecycle_history(session, customer_id)
        ],
        open_warning=open_warning(session, customer_id),
    )


def segment_members(
    session: Session, actor: Actor, segment: str, *, after_id: int | None = None, limit: int = 50
) -> tuple[list[tuple[CustomerInsight, str | None]], int]:
    """Readable customers of an RFM segment in id order (keyset after after_id) and how many there are."""
    ci = CustomerInsight
    clauses = [ci.rfm_segment == segment, *scoped(ci.customer_id, actor)]
    total = session.scalar(select(func.count()).select_from(ci).where(*clauses)) or 0
    query = select(ci, Customer.name).join(Customer, Customer.id == ci.customer_id).where(*clauses)
    if after_id is not None:
        query = query.where(ci.customer_id > after_id)
    rows = session.execute(query.order_by(ci.customer_id).limit(limit)).all()
    return [(r[0], r[1]) for r in rows], int(total)
