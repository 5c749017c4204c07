"""The send side: consent, frequency caps, outbound rows and the channel adapters, for batches of touches."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from siyu.channels.contract import Delivery, DeliveryResult, adapter_names, get_adapter
from siyu.db.bulk import any_of, copy_rows, datetime_adapter, insert_rows, next_ids
from siyu.journeys.caps import PLATFORM, CapRule, load_caps, used_counts
from siyu.journeys.contract import SendSummary, TouchOutcome, TouchRequest
from siyu.journeys.render import RenderItem, render_many
from siyu.models import ChatGroup, Customer, OutboundMessage, Script, Staff, StaffStatus
from siyu.models.journeys import ScriptApproval, SendStatus
from siyu.timeutil import brand_zone, local_date

_CHUNK = 5000
# Enum .value is a descriptor call: read once here, not per touch in the loops below.
_QUEUED, _SENT, _CONFIRMED = SendStatus.queued.value, SendStatus.sent.value, SendStatus.confirmed.value
_FAILED, _CAPPED, _OPTED_OUT = SendStatus.failed.value, SendStatus.capped.value, SendStatus.opted_out.value
_APPROVED = ScriptApproval.approved.value
# session.info key: a Counter there collects usage_count increments instead of writing them (see queue_touches).
DEFER_USAGE = "siyu.journeys.defer_usage"
_OUT: Table = OutboundMessage.__table__  # type: ignore[assignment]
_COLUMNS = (
    "id",
    "idempotency_key",
    "channel",
    "source_type",
    "source_id",
    "customer_id",
    "group_id",
    "staff_id",
    "script_id",
    "experiment_arm_id",
    "text",
    "is_marketing",
    "status",
    "reason",
    "attachments",
    "task_id",
    "external_id",
    "sent_at",
    "confirmed_at",
)


@dataclass(slots=True)
class _Touch:
    """A request on its way to a row: the resolved staff, the decision and the rendered text."""

    request: TouchRequest
    staff_id: int | None
    status: str
    reason: str | None = None
    outbound_id: int | None = None
    text: str | None = None
    task_id: int | None = None
    external_id: str | None = None
    no_row: bool = False  # the recipient or script does not exist: a row would break a foreign key


def _chunks(values: Sequence[Any]) -> list[Sequence[Any]]:
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]


def _existing_keys(session: Session, keys: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(keys):
        rows = session.execute(
            select(OutboundMessage.idempotency_key, OutboundMessage.id).where(
                any_of(session, OutboundMessage.idempotency_key, chunk)
            )
        ).all()
        found.update({str(key): int(oid) for key, oid in rows})
    return found


def _customers(session: Session, ids: Sequence[int]) -> dict[int, tuple[int | None, bool]]:
    out: dict[int, tuple[int | None, bool]] = {}
    for chunk in _chunks(ids):
        rows = session.execute(
            select(Customer.id, Customer.owner_staff_id, Customer.marketing_opt_in).where(
                any_of(session, Customer.id, chunk)
            )
        ).all()
        out.update({cid: (owner, bool(opt_in)) for cid, owner, opt_in in rows})
    return out


def _group_owners(session: Session, ids: Sequence[int]) -> dict[int, int | None]:
    out: dict[int, int | None] = {}
    for chunk in _chunks(ids):
        rows = session.execute(
            select(ChatGroup.id, ChatGroup.owner_staff_id).where(any_of(session, ChatGroup.id, chunk))
        ).all()
        out.update({gid: owner for gid, owner in rows})
    return out


def _staff(session: Session, ids: set[int]) -> tuple[set[int], set[int]]:
    """Of ids: those that exist, and those still employed (status active)."""
    if not ids:
        return set(), set()
    rows = session.execute(select(Staff.id, Staff.status).where(any_of(session, Staff.id, sorted(ids)))).all()
    active = StaffStatus.active.value
    return {int(i) for i, _ in rows}, {int(i) for i, st in rows if getattr(st, "value", st) == active}


def _scripts(session: Session, ids: Sequence[int]) -> dict[int, tuple[str, list[dict[str, Any]] | None]]:
    rows = session.execute(
        select(Script.id, Script.approval, Script.attachments).where(any_of(session, Script.id, ids))
    ).all()
    return {sid: (ScriptApproval(approval).value, att) for sid, approval, att in rows}


def _admit(touch: _Touch, counts: list[int], caps: list[CapRule], limits: list[int], today: date) -> None:
    """Cap the touch if any applicable cap is used up, else count it against every applicable cap."""
    channel = touch.request.channel
    over = next((i for i, cap in enumerate(caps) if cap.applies_to(channel) and counts[i] >= limits[i]), None)
    if over is not None:
        touch.status, touch.reason = _CAPPED, caps[over].label(today)[:120]
        return
    for i, cap in enumerate(caps):
        if cap.applies_to(channel):
            counts[i] += 1


def _decide(
    session: Session, fresh: list[TouchRequest], caps: list[CapRule], now: datetime
) -> tuple[list[_Touch], dict[int, tuple[str, list[dict[str, Any]] | None]]]:
    """Resolve staff, check script, consent and caps; caps count touches admitted earlier in the batch."""
    customer_ids = sorted({r.customer_id for r in fresh if r.customer_id is not None})
    group_ids = sorted({r.group_id for r in fresh if r.group_id is not None and r.customer_id is None})
    people = _customers(session, customer_ids)
    groups = _group_owners(session, group_ids)
    scripts = _scripts(session, sorted({r.script_id for r in fresh}))
    marketing_ids = [r.customer_id for r in fresh if r.is_marketing and r.customer_id in people]
    used = used_counts(session, marketing_ids, caps, now)
    # WeCom's quota also holds per customer group (DOC/92135); the brand's caps are per customer only.
    platform = [c for c in caps if c.code == PLATFORM]
    group_marketing = [
        r.group_id for r in fresh if r.customer_id is None and r.is_marketing and r.group_id in groups
    ]
    group_used = (
        used_counts(session, group_marketing, platform, now, per_group=True) if group_marketing else {}
    )
    known_staff, employed = _staff(
        session,
        {r.staff_id for r in fresh if r.staff_id is not None}
        | {o for o, _opt in people.values() if o is not None}
        | {o for o in groups.values() if o is not None},
    )
    today = local_date(now, brand_zone())
    limits = [c.limit(today) for c in caps]
    group_limits = [c.limit(today) for c in platform]
    touches: list[_Touch] = []
    for r in fresh:
        if r.customer_id is not None:
            owner, opt_in = people.get(r.customer_id, (None, False))
            exists = r.customer_id in people
        else:
            owner, opt_in = groups.get(r.group_id or -1), True
            exists = r.group_id in groups
        staff = r.staff_id if r.staff_id is not None else owner
        touch = _Touch(r, staff, _QUEUED)
        touches.append(touch)
        script = scripts.get(r.script_id)
        if (
            not exists
            or script is None
            or (r.customer_id is None and r.group_id is None)
            or (staff is not None and staff not in known_staff)
        ):
            # No row: outbound rows only name rows that exist (see OutboundMessage); the outcome says what.
            what = (
                f"script {r.script_id}"
                if script is None
                else f"staff {staff}"
                if staff is not None and staff not in known_staff
                else f"customer {r.customer_id}"
                if r.customer_id is not None
                else f"group {r.group_id}"
                if r.group_id is not None
                else "a recipient (neither customer_id nor group_id given) that"
            )
            touch.status, touch.reason, touch.no_row = _FAILED, f"{what} does not exist", True
            continue
        if staff is not None and staff not in employed:
            # A guide who left cannot send or confirm anything: the customer needs a handover first.
            touch.status, touch.reason = (
                _FAILED,
                f"staff {staff} is not employed (left); hand the customer over",
            )
            continue
        if script[0] != _APPROVED:
            touch.status, touch.reason = (
                _FAILED,
                f"script {r.script_id} is {script[0]}, not approved",
            )
            continue
        if r.customer_id is None and r.group_id is not None and r.is_marketing:
            _admit(
                touch, group_used.setdefault(r.group_id, [0] * len(platform)), platform, group_limits, today
            )
            continue
        if r.customer_id is None or not r.is_marketing:
            continue  # service messages count against no cap
        if not opt_in:
            touch.status, touch.reason = (
                _OPTED_OUT,
                "no marketing consent (marketing_opt_in false)",
            )
            continue
        _admit(touch, used.setdefault(r.customer_id, [0] * len(caps)), caps, limits, today)
    return touches, scripts


def plan_touches(
    session: Session, requests: Sequence[TouchRequest], now: datetime
) -> list[tuple[str, str | None]]:
    """(status, reason) each request would get now (consent, caps, scripts), writing nothing; for previews."""
    touches, _scripts_found = _decide(session, list(requests), load_caps(session), now)
    return [(t.status, t.reason) for t in touches]


def queue_touches(session: Session, requests: Sequence[TouchRequest], now: datetime) -> SendSummary:
    """Apply idempotency, consent and caps to a batch, hand the admitted touches to adapters, write outbound rows.

    Set-based: a handful of queries per batch whatever its size. The adapters get each Delivery with its
    outbound id already reserved; the row itself is inserted (with the adapter's result) right after they
    return, in the same transaction, so adapters must not read outbound_messages for their own batch.
    When session.info[DEFER_USAGE] holds a Counter, the Script.usage_count increments go into it for the
    caller to write with bump_usage just before its commit (the engine does: concurrent workers then hold
    the script row's lock for milliseconds, not for the rest of their batch).
    """
    if not requests:
        return SendSummary(outcomes=(), counts={})
    existing = _existing_keys(session, sorted({r.idempotency_key for r in requests}))
    fresh: list[TouchRequest] = []
    taken: set[str] = set(existing)
    for r in requests:
        if r.idempotency_key not in taken:
            taken.add(r.idempotency_key)
            fresh.append(r)
    caps = load_caps(session)
    touches, scripts = _decide(session, fresh, caps, now)
    known = set(adapter_names())
    for t in touches:
        if t.status == _QUEUED and t.request.channel not in known:
            # One bad channel name must not poison a whole engine batch: the touch fails, naming it.
            t.status, t.reason = (
                _FAILED,
                f"channel adapter {t.request.channel!r} is not registered"[:120],
            )
    queued = [t for t in touches if t.status == _QUEUED]
    texts = render_many(
        session,
        [
            RenderItem(t.request.script_id, t.request.customer_id, t.staff_id, t.request.extra_values)
            for t in queued
        ],
    )
    for t, text in zip(queued, texts, strict=True):
        t.text = text
    written = [t for t in touches if not t.no_row]
    ids = next_ids(session, _OUT, len(written))
    for t, oid in zip(written, ids, strict=True):
        t.outbound_id = oid
    # The adapters run before the rows are inserted, with the ids already reserved, so each row is
    # written once with its final status: an UPDATE per batch would cost as much as the insert again.
    results = {res.outbound_id: res for res in _deliver(session, queued, scripts, now)}
    for t in queued:
        res = results[t.outbound_id or 0]
        t.status, t.task_id, t.external_id = res.status, res.task_id, res.external_id
        t.reason = res.reason[:120] if res.reason else None  # the column's width; adapters may say more
    _insert(session, written, scripts, now)
    used = Counter(t.request.script_id for t in queued if t.status != _FAILED)
    usage = session.info.get(DEFER_USAGE)
    if usage is None:
        bump_usage(session, used)
    else:
        usage.update(used)
    by_key = {t.request.idempotency_key: t for t in touches}
    outcomes: list[TouchOutcome] = []
    seen: set[str] = set()
    for r in requests:
        key = r.idempotency_key
        mine = by_key.get(key)
        if mine is None or key in seen:
            outcomes.append(
                TouchOutcome(key, existing.get(key) if mine is None else mine.outbound_id, "duplicate")
            )
        else:
            seen.add(key)
            outcomes.append(TouchOutcome(key, mine.outbound_id, mine.status, mine.reason))
    return SendSummary(outcomes=tuple(outcomes), counts=dict(Counter(o.status for o in outcomes)))


def _insert(
    session: Session,
    written: list[_Touch],
    scripts: dict[int, tuple[str, list[dict[str, Any]] | None]],
    now: datetime,
) -> None:
    json_of: dict[int, str | None] = {
        sid: (json.dumps(att, ensure_ascii=False) if att else None) for sid, (_, att) in scripts.items()
    }
    is_pg = session.get_bind().dialect.name == "postgresql"
    moment = datetime_adapter(session)(now)
    went = (_SENT, _CONFIRMED)
    rows = []
    for t in written:
        r = t.request
        rows.append(
            (
                t.outbound_id,
                r.idempotency_key,
                r.channel,
                r.source_type,
                r.source_id,
                r.customer_id,
                r.group_id,
                t.staff_id,
                r.script_id,
                r.experiment_arm_id,
                t.text,
                r.is_marketing if is_pg else int(r.is_marketing),
                t.status,
                t.reason,
                json_of.get(r.script_id),
                t.task_id,
                t.external_id,
                moment if t.status in went else None,
                moment if t.status == _CONFIRMED else None,
            )
        )
    _insert_uniform(session, rows, {"created_at": now})


def _insert_uniform(session: Session, rows: list[tuple[Any, ...]], constants: dict[str, Any]) -> None:
    # Binding dominates a bulk insert: a column with one value across the batch (channel, source,
    # status, timestamps… usually) is written once into the SQL instead.
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        copy_rows(session, _OUT, _COLUMNS, rows, constants=constants)  # COPY binds nothing: no narrowing
        return
    fixed = dict(constants)
    keep: list[int] = []
    for i, name in enumerate(_COLUMNS):
        first = rows[0][i]
        if (
            i > 0
            and isinstance(first, (type(None), bool, int, str, datetime))
            and all(r[i] == first for r in rows)
        ):
            fixed[name] = first
        else:
            keep.append(i)
    pick = itemgetter(*keep)
    narrowed = [pick(r) for r in rows] if len(keep) > 1 else [(r[keep[0]],) for r in rows]
    insert_rows(session, _OUT, [_COLUMNS[i] for i in keep], narrowed, constants=fixed)


def _deliver(
    session: Session,
    queued: list[_Touch],
    scripts: dict[int, tuple[str, list[dict[str, Any]] | None]],
    now: datetime,
) -> list[DeliveryResult]:
    by_channel: dict[str, list[Delivery]] = defaultdict(list)
    for t in queued:
        r = t.request
        by_channel[r.channel].append(
            Delivery(
                outbound_id=t.outbound_id or 0,
                idempotency_key=r.idempotency_key,
                customer_id=r.customer_id,
                group_id=r.group_id,
                staff_id=t.staff_id,
                script_id=r.script_id,
                text=t.text or "",
                attachments=tuple(scripts[r.script_id][1] or ()),
                source_type=r.source_type,
                source_id=r.source_id,
            )
        )
    results: list[DeliveryResult] = []
    for channel, deliveries in by_channel.items():
        got = get_adapter(channel).deliver(session, deliveries, now)
        if len(got) != len(deliveries):
            raise RuntimeError(
                f"adapter {channel!r} returned {len(got)} results for {len(deliveries)} deliveries"
            )
        results.extend(got)
    return results


def bump_usage(session: Session, per_script: Counter[int]) -> None:
    """Script.usage_count += n per script (sorted ids, so concurrent writers lock in the same order)."""
    for script_id, n in sorted(per_script.items()):
        if not n:
            continue
        session.execute(
            update(Script).where(Script.id == script_id).values(usage_count=Script.usage_count + n)
        )


def confirm_for_tasks(session: Session, task_ids: Sequence[int], now: datetime) -> int:
    """Confirm the queued/sent outbound rows carried by these staff tasks (the guide marked them done)."""
    ids = sorted(set(task_ids))
    total = 0
    for chunk in _chunks(ids):
        result = session.execute(
            update(OutboundMessage)
            .where(
                any_of(session, OutboundMessage.task_id, chunk),
                OutboundMessage.status.in_((SendStatus.queued, SendStatus.sent)),
            )
            .values(
                status=SendStatus.confirmed,
                confirmed_at=now,
                sent_at=func.coalesce(OutboundMessage.sent_at, now),
            )
            .execution_options(synchronize_session=False)
        )
        total += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return total
