"""CSRF protection for every unsafe console request: a session-bound token, or a double-submit cookie before sign-in."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from siyu.config import get_settings
from siyu.web.cookies import PRE_SESSION_CSRF_COOKIE, SESSION_COOKIE

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Bearer-token API calls carry no ambient credentials, so CSRF does not apply to them.
EXEMPT_PREFIXES = ("/api/", "/static/")
# Server-to-server callbacks authenticated by their own signature (WeCom's msg_signature), never by cookies.
EXEMPT_PATHS = frozenset({"/wecom/callback"})
# The sign-in form always carries the pre-session token, even if the browser signed in in another tab.
PRE_SESSION_PATHS = frozenset({"/login"})


def _signature(raw: str) -> str:
    key = get_settings().secret_key.encode()
    return hmac.new(key, b"siyu-pre-session-csrf|" + raw.encode(), hashlib.sha256).hexdigest()[:32]


def new_pre_session_token() -> str:
    """A fresh signed token for the double-submit cookie of anonymous forms."""
    raw = secrets.token_urlsafe(24)
    return f"{raw}.{_signature(raw)}"


def valid_pre_session_token(value: str | None) -> bool:
    """Whether value is a token this server signed."""
    if not value or "." not in value:
        return False
    raw, _dot, signature = value.rpartition(".")
    return hmac.compare_digest(signature, _signature(raw))


def pre_session_token(request: Request) -> tuple[str, bool]:
    """The visitor's pre-session token and whether it is new (so the response must set the cookie)."""
    current = request.cookies.get(PRE_SESSION_CSRF_COOKIE)
    if valid_pre_session_token(current):
        assert current is not None
        return current, False
    return new_pre_session_token(), True


def expected_tokens(request: Request) -> list[str]:
    """Tokens an unsafe request may present: its session's, else (or on /login) the pre-session cookie."""
    from siyu.web.services.sessions import csrf_token_of

    expected: list[str] = []
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        with request.app.state.sessions() as session:
            token = csrf_token_of(session, cookie)
        if token:
            expected.append(token)
    if not expected or request.url.path in PRE_SESSION_PATHS:
        pre = request.cookies.get(PRE_SESSION_CSRF_COOKIE)
        if pre and valid_pre_session_token(pre):
            expected.append(pre)
    return expected


def token_matches(submitted: str | None, expected: list[str]) -> bool:
    """Constant-time comparison of the submitted token with each acceptable one."""
    if not submitted:
        return False
    return any(hmac.compare_digest(submitted.encode(), token.encode()) for token in expected)


def _is_form(content_type: str) -> bool:
    return content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


class CsrfMiddleware:
    """Reject unsafe console requests without a valid token (403) before any route runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope["method"] not in UNSAFE_METHODS
            or path.startswith(EXEMPT_PREFIXES)
            or path in EXEMPT_PATHS
            or path == "/api"
        ):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        request = Request(scope, _replay(body, receive))
        submitted = request.headers.get(CSRF_HEADER)
        if not submitted and _is_form(request.headers.get("content-type", "")):
            async with request.form() as form:
                value = form.get(CSRF_FIELD)
                submitted = value if isinstance(value, str) else None
        expected = await run_in_threadpool(expected_tokens, request)
        if not token_matches(submitted, expected):
            from siyu.web.errors import csrf_rejected

            response = csrf_rejected(request)
            await response(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    # The body was consumed to find the token; hand it to the route again, then defer to the server.
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
