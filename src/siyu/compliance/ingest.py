"""Chat-archive records (WeCom 会话存档 shape) in: idempotent by msgid, recalls, detection in the same transaction."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, exists, func, select, update
from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.compliance.contract import Detector
from siyu.compliance.incidents_store import DetectOutcome, detect_stored
from siyu.imports.context import Context, ImportOptions
from siyu.imports.messages import resolve_senders, write_messages
from siyu.imports.report import ImportOutcome
from siyu.models import ChatMessage
from siyu.models.compliance import ChatRecall
from siyu.org.permissions import Actor

MESSAGES = cast(Table, ChatMessage.__table__)
RECALLS = cast(Table, ChatRecall.__table__)
ACTIONS = ("send", "recall", "switch")
IN_CHUNK = 500
# Largest batch one HTTP call may carry: bigger uploads go through the JSONL file command.
MAX_BATCH = 5000
# Records per transaction (and per detection batch) when a JSONL archive file is ingested.
FILE_BATCH = 2000


@dataclass(frozen=True, slots=True)
class RecordError:
    """Why one record was rejected: its index in the batch (or line - 1 in a file), the field and the reason."""

    index: int
    field: str
    reason: str


@dataclass
class IngestResult:
    """Counts of one ingest call, the per-record errors and what detection found."""

    accepted: int = 0
    duplicate: int = 0
    recalled: int = 0
    switched: int = 0
    rejected: int = 0
    incidents: int = 0
    notified: int = 0
    errors: list[RecordError] = field(default_factory=list)
    message_ids: list[int] = field(default_factory=list)

    def add(self, other: IngestResult) -> None:
        """Fold another batch's result into this one (the file command ingests in batches)."""
        for name in ("accepted", "duplicate", "recalled", "switched", "rejected", "incidents", "notified"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors += other.errors


@dataclass(frozen=True, slots=True)
class _Send:
    index: int
    msgid: str
    sender: str
    receivers: tuple[str, ...]
    room: str | None
    sent_at: datetime
    msg_type: str
    text: str | None
    payload: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class _Recall:
    index: int
    msgid: str
    pre_msgid: str
    at: datetime


class _Bad(Exception):
    def __init__(self, where: str, reason: str) -> None:
        super().__init__(reason)
        self.where, self.reason = where, reason


def _text(record: dict[str, Any], name: str, size: int, *, required: bool = True) -> str | None:
    value = record.get(name)
    if value is None or value == "":
        if required:
            raise _Bad(name, "is missing or empty")
        return None
    if not isinstance(value, str):
        raise _Bad(name, f"must be a string, got {type(value).__name__}")
    if len(value) > size:
        raise _Bad(name, f"is longer than {size} characters")
    return value


def _time(record: dict[str, Any]) -> datetime:
    value = record.get("msgtime")
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Bad("msgtime", "must be an integer (epoch milliseconds)")
    if not 0 < value < 10**14:
        raise _Bad("msgtime", f"{value} is not epoch milliseconds")
    return datetime.fromtimestamp(value / 1000, UTC)


def _pre_msgid(record: dict[str, Any]) -> str:
    body = record.get("revoke")
    value = body.get("pre_msgid") if isinstance(body, dict) else record.get("pre_msgid")
    if not isinstance(value, str) or not value:
        raise _Bad("revoke.pre_msgid", "a recall must name the recalled message (revoke.pre_msgid)")
    return value[:128]


def parse_record(index: int, record: object) -> _Send | _Recall | None:
    """One archive record as a send or a recall; None for a switch record. Raises _Bad naming the field."""
    if not isinstance(record, dict):
        raise _Bad("", "a record must be a JSON object")
    action = record.get("action", "send")
    if action not in ACTIONS:
        raise _Bad("action", f"{action!r} is not one of send, recall, switch")
    if action == "switch":
        return None
    msgid = cast(str, _text(record, "msgid", 128))
    at = _time(record)
    if action == "recall":
        return _Recall(index, msgid, _pre_msgid(record), at)
    sender = cast(str, _text(record, "from", 128))
    msg_type = cast(str, _text(record, "msgtype", 32))
    tolist = record.get("tolist") or []
    if not isinstance(tolist, list) or not all(isinstance(t, str) for t in tolist):
        raise _Bad("tolist", "must be a list of user ids")
    room = _text(record, "roomid", 128, required=False)
    text: str | None = None
    payload: dict[str, Any] | None = None
    body = record.get(msg_type)
    if msg_type == "text":
        if not isinstance(body, dict) or not isinstance(body.get("content"), str):
            raise _Bad("text.content", "a text message needs text.content (a string)")
        text = body["content"]
    else:
        # Other types keep their archive body (link url, card, red packet …) for the pattern detectors.
        payload = body if isinstance(body, dict) else ({"value": body} if body is not None else {})
    receivers = tuple(t.strip() for t in tolist if t.strip())
    return _Send(index, msgid, sender, receivers, room, at, msg_type, text, payload)


def _existing(session: Session, table: Table, column: str, keys: Iterable[str]) -> set[str]:
    wanted = sorted(set(keys))
    found: set[str] = set()
    col = table.c[column]
    for start in range(0, len(wanted), IN_CHUNK):
        found.update(session.execute(select(col).where(col.in_(wanted[start : start + IN_CHUNK]))).scalars())
    return found


def ingest_records(
    session: Session,
    records: Sequence[object],
    actor: Actor,
    *,
    source: str = "api",
    detect: bool = True,
    engine: Detector | None = None,
) -> IngestResult:
    """Store a batch of archive records (no commit): new sends, recalls, then detection over the new sends.

    A bad record is reported (index, field, why) and skipped; the others are stored. Each record is one
    row (a message or a recall), so none is ever half-written.
    """
    result = IngestResult()
    sends: dict[str, _Send] = {}
    recalls: dict[str, _Recall] = {}
    for index, record in enumerate(records):
        try:
            parsed = parse_record(index, record)
        except _Bad as bad:
            result.errors.append(RecordError(index, bad.where, bad.reason))
            continue
        if parsed is None:
            result.switched += 1
        elif parsed.msgid in sends or parsed.msgid in recalls:
            result.duplicate += 1  # the same record twice in one batch
        elif isinstance(parsed, _Recall):
            recalls[parsed.msgid] = parsed
        else:
            sends[parsed.msgid] = parsed
    stored = _existing(session, MESSAGES, "msgid", sends)
    seen_recalls = _existing(session, RECALLS, "msgid", recalls)
    result.duplicate += len(stored) + len(seen_recalls)
    new_sends = {k: v for k, v in sends.items() if k not in stored}
    new_recalls = [r for k, r in recalls.items() if k not in seen_recalls]
    inserted = _write_sends(session, new_sends, result)
    if new_recalls:
        session.execute(
            RECALLS.insert(),
            [{"msgid": r.msgid, "pre_msgid": r.pre_msgid, "recalled_at": r.at} for r in new_recalls],
        )
    result.recalled = len(new_recalls)
    _mark_recalled(session, [*inserted, *(r.pre_msgid for r in new_recalls)])
    ids = _ids_of(session, inserted)
    result.message_ids = ids
    result.accepted = len(ids)
    result.rejected = len(result.errors)
    result.errors.sort(key=lambda e: e.index)
    if detect and ids:
        outcome: DetectOutcome = detect_stored(session, ids, engine)
        result.incidents, result.notified = outcome.incidents, outcome.notified
    audit(
        session,
        actor,
        "compliance.ingest",
        "chat_messages",
        None,
        {
            "source": source,
            "accepted": result.accepted,
            "duplicate": result.duplicate,
            "recalled": result.recalled,
            "switched": result.switched,
            "rejected": result.rejected,
            "incidents": result.incidents,
        },
    )
    return result


def _write_sends(session: Session, sends: dict[str, _Send], result: IngestResult) -> list[str]:
    """Resolve senders with the file importer's rules and insert the messages; returns the msgids written."""
    if not sends:
        return []
    ctx = Context(
        session=session, options=ImportOptions(skip_invalid=True), outcome=ImportOutcome("messages", "ingest")
    )
    by_line = {s.index: s for s in sends.values()}
    new = {
        s.msgid: (s.index, (s.msgid, s.sender, s.receivers, s.room, s.sent_at, s.msg_type, s.text))
        for s in sends.values()
    }
    accepted, customers = resolve_senders(ctx, new, "from")
    for row, reason in ctx.report.reasons.items():
        result.errors.append(RecordError(row, "from", reason.removeprefix("from: ")))
    write_messages(ctx, accepted, customers)
    written = [a[0] for a in accepted]
    payloads = [
        {"m": s.msgid, "p": s.payload} for s in (by_line[new[m][0]] for m in written) if s.payload is not None
    ]
    if payloads:
        session.execute(
            update(MESSAGES).where(MESSAGES.c.msgid == bindparam("m")).values(payload=bindparam("p")),
            payloads,
            execution_options={"synchronize_session": False},
        )
    return written


def _mark_recalled(session: Session, msgids: Sequence[str]) -> None:
    """Set recalled_at of these messages from any recall naming them (recall before or after the original)."""
    first = (
        select(func.min(RECALLS.c.recalled_at))
        .where(RECALLS.c.pre_msgid == MESSAGES.c.msgid)
        .scalar_subquery()
    )
    keys = sorted(set(msgids))
    for start in range(0, len(keys), IN_CHUNK):
        session.execute(
            update(MESSAGES)
            .where(
                and_(
                    MESSAGES.c.msgid.in_(keys[start : start + IN_CHUNK]),
                    MESSAGES.c.recalled_at.is_(None),
                    exists().where(RECALLS.c.pre_msgid == MESSAGES.c.msgid),
                )
            )
            .values(recalled_at=first),
            execution_options={"synchronize_session": False},
        )


def _ids_of(session: Session, msgids: Sequence[str]) -> list[int]:
    ids: list[int] = []
    for start in range(0, len(msgids), IN_CHUNK):
        ids += session.execute(
            select(MESSAGES.c.id).where(MESSAGES.c.msgid.in_(msgids[start : start + IN_CHUNK]))
        ).scalars()
    return sorted(ids)


# Blank and unreadable lines: counted as nothing, but they keep record indexes equal to line numbers - 1.
_PLACEHOLDER: dict[str, Any] = {"action": "switch"}


def read_jsonl(
    path: Path, batch_size: int = FILE_BATCH
) -> Iterator[tuple[int, list[object], list[RecordError]]]:
    """Batches of a JSONL file: (index of the first line, records, lines that are not JSON)."""
    batch: list[object] = []
    bad: list[RecordError] = []
    first = 0
    with path.open("r", encoding="utf-8-sig") as stream:
        for number, line in enumerate(stream):
            if not line.strip():
                batch.append(_PLACEHOLDER)  # keeps indexes equal to line numbers - 1
            else:
                try:
                    batch.append(json.loads(line))
                except ValueError as exc:
                    bad.append(RecordError(number, "", f"not JSON: {exc}"))
                    batch.append(_PLACEHOLDER)
            if len(batch) >= batch_size:
                yield first, batch, bad
                first, batch, bad = number + 1, [], []
    if batch:
        yield first, batch, bad


def ingest_file(session: Session, path: Path, actor: Actor, *, detect: bool = True) -> IngestResult:
    """Ingest a JSONL archive file in batches (no commit); indexes in errors are line numbers - 1."""
    total = IngestResult()
    for first, records, bad in read_jsonl(path):
        part = ingest_records(session, records, actor, source=f"file:{path.name}", detect=detect)
        part.switched -= sum(1 for r in records if r is _PLACEHOLDER)
        part.errors = [RecordError(e.index + first, e.field, e.reason) for e in part.errors] + bad
        part.rejected = len(part.errors)
        total.add(part)
    total.errors.sort(key=lambda e: e.index)
    return total
