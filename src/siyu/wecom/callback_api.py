"""The WeCom callback endpoint: URL verification and signed, encrypted events stored before they are answered.

No login and no CSRF token: the msg_signature over the body (keyed by the callback token) is the
authentication. Slow work runs after the answer (a background task, and the worker as a safety net).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import cast

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy import Table
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from siyu.api.deps import SessionDep
from siyu.channels.wecom.crypto import CallbackCryptoError, WecomCrypto
from siyu.channels.wecom.events import CallbackEvent, parse_envelope, parse_event
from siyu.db.bulk import insert_if_absent
from siyu.errors import SiyuError
from siyu.models.wecom import CallbackStatus, WecomCallbackEvent
from siyu.wecom.credentials import WecomAppConfig, load_app

log = logging.getLogger(__name__)

CALLBACK_PATH = "/wecom/callback"
MAX_SKEW_SECONDS = 300  # older (or further in the future) signed timestamps are replays
MAX_BODY_BYTES = 256 * 1024

router = APIRouter(include_in_schema=False)


def _reject(status: int, message: str) -> PlainTextResponse:
    log.warning("wecom callback rejected: %s", message)
    return PlainTextResponse(message, status_code=status)


def _crypto(session: Session) -> tuple[WecomAppConfig, WecomCrypto] | str:
    try:
        config = load_app(session)
    except SiyuError as exc:
        return str(exc)
    if config is None or not config.enabled:
        return "WeCom callback: no enabled WeCom app is configured on /wecom/settings"
    try:
        return config, WecomCrypto(config.callback_token, config.aes_key, config.corp_id)
    except CallbackCryptoError as exc:
        return str(exc)


def _fresh(timestamp: str, now: float) -> str | None:
    try:
        sent = int(timestamp)
    except ValueError:
        return f"WeCom callback: timestamp {timestamp!r} is not a number"
    if abs(now - sent) > MAX_SKEW_SECONDS:
        return f"WeCom callback: timestamp {sent} is {int(now - sent)} s from server time (limit {MAX_SKEW_SECONDS} s)"
    return None


@router.get(CALLBACK_PATH, response_class=PlainTextResponse)
def verify_callback_url(
    session: SessionDep, msg_signature: str = "", timestamp: str = "", nonce: str = "", echostr: str = ""
) -> PlainTextResponse:
    """URL verification: answer the decrypted echostr as bare text (no quotes, no newline)."""
    setup = _crypto(session)
    if isinstance(setup, str):
        return _reject(503, setup)
    _config, crypto = setup
    try:
        echo = crypto.verify_url(msg_signature, timestamp, nonce, echostr)
    except CallbackCryptoError as exc:
        return _reject(403, f"WeCom callback URL verification failed: {exc}")
    return PlainTextResponse(echo)


def event_row(event: CallbackEvent, received_at: datetime) -> dict[str, object]:
    """The inbox row for one decrypted event."""
    return {
        "dedupe_key": event.dedupe_key(),
        "event": (event.event or event.msg_type or "unknown")[:48],
        "change_type": event.change_type,
        "user_id": event.user_id,
        "external_user_id": event.external_user_id,
        "chat_id": event.chat_id,
        "state": event.state,
        "welcome_code": event.welcome_code,
        "payload": event.raw,
        "created_time": datetime.fromtimestamp(event.create_time, UTC),
        "received_at": received_at,
        "status": CallbackStatus.pending,
        "attempts": 0,
    }


def store_event(session: Session, event: CallbackEvent, received_at: datetime) -> int | None:
    """Insert the event unless its dedupe key is already stored; the new row's id, or None for a retry."""
    inserted = insert_if_absent(
        session, cast(Table, WecomCallbackEvent.__table__), [event_row(event, received_at)], returning=["id"]
    )
    return int(inserted[0][0]) if inserted else None


def _process_in_background(sessions: sessionmaker[Session], event_id: int) -> None:
    # Imported here: the route must not pay for the orchestration imports on every cold start.
    from siyu.wecom.callback_service import process_one

    with sessions() as session:
        try:
            process_one(session, event_id, datetime.now(UTC))
            session.commit()
        except Exception:  # the worker's process_pending retries it; never break the response
            session.rollback()
            log.exception("wecom callback %s: background processing failed", event_id)


@router.post(CALLBACK_PATH, response_class=PlainTextResponse)
async def receive_callback(
    request: Request,
    background: BackgroundTasks,
    msg_signature: str = "",
    timestamp: str = "",
    nonce: str = "",
) -> PlainTextResponse:
    """Verify, decrypt, check the corp and freshness, store idempotently, answer "success"."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:  # refuse before reading it
        return _reject(413, f"WeCom callback: body of {declared} bytes exceeds {MAX_BODY_BYTES}")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return _reject(413, f"WeCom callback: body of {len(body)} bytes exceeds {MAX_BODY_BYTES}")
    status, message, event_id = await run_in_threadpool(
        _accept, request.app.state.sessions, body, msg_signature, timestamp, nonce
    )
    if status != 200:
        return _reject(status, message)
    if event_id is not None:
        background.add_task(_process_in_background, request.app.state.sessions, event_id)
    return PlainTextResponse("success")


def _accept(
    sessions: sessionmaker[Session], body: bytes, msg_signature: str, timestamp: str, nonce: str
) -> tuple[int, str, int | None]:
    """The blocking part of a POST: (HTTP status, message, new event id or None for a retry)."""
    with sessions() as session:
        setup = _crypto(session)
        if isinstance(setup, str):
            return 503, setup, None
        config, crypto = setup
        stale = _fresh(timestamp, time.time())
        if stale:
            return 403, stale, None
        try:
            envelope = parse_envelope(body)
            event = parse_event(crypto.decrypt(msg_signature, timestamp, nonce, envelope.encrypt))
        except CallbackCryptoError as exc:
            return 403, f"WeCom callback rejected: {exc}", None
        if event.to_user != config.corp_id:
            return 403, f"WeCom callback: ToUserName {event.to_user!r} is not the configured corp id", None
        event_id = store_event(session, event, datetime.now(UTC))
        session.commit()
        return 200, "success", event_id
