"""The WeCom HTTP layer: access_token handling, client-side limits, bounded retries, call logging, paging."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from siyu.channels.wecom.errors import RETRYABLE_CODES, TokenInvalid, WecomError, WecomUnreachable, error_for
from siyu.channels.wecom.ratelimit import RateLimiter, shared_limiter
from siyu.channels.wecom.schemas import day_to_epoch
from siyu.channels.wecom.tokens import TokenCache, shared_token_cache, token_key
from siyu.models.wecom import OFFICIAL_API_BASE_URL

log = logging.getLogger("siyu.wecom.client")

# WeCom batch sizes (DOC/96316, DOC/96325): userid_list and transfer lists take at most 100 ids.
USERID_BATCH = 100
TRANSFER_BATCH = 100

# Calls that create something: after a timeout or 5xx WeCom may have acted, so a resend could duplicate a
# mass send, a welcome or a transfer. They are retried only when the connection never opened.
WRITE_ONCE_APIS = frozenset(
    {
        "externalcontact/add_msg_template",
        "externalcontact/send_welcome_msg",
        "externalcontact/add_contact_way",
        "externalcontact/add_corp_tag",
        "externalcontact/add_moment_task",
        "externalcontact/transfer_customer",
        "externalcontact/resigned/transfer_customer",
        "externalcontact/remind_groupmsg_send",
    }
)

_SECRET_QUERY = re.compile(r"(access_token|corpsecret)=[^&\s\"']*")


def redact(text: str) -> str:
    """text with access_token / corpsecret query values blanked."""
    return _SECRET_QUERY.sub(r"\1=***", text)


class _RedactUrls(logging.Filter):
    """httpx logs full request URLs at INFO; the token and secret travel in the query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(str(a)) if isinstance(a, str | httpx.URL) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def _install_redaction() -> None:
    for name in ("httpx", "httpcore"):
        target = logging.getLogger(name)
        if not any(isinstance(f, _RedactUrls) for f in target.filters):
            target.addFilter(_RedactUrls())


_install_redaction()

P = TypeVar("P")


def epoch_of(value: int | datetime | date) -> int:
    """Epoch seconds of an int, an aware datetime, or a date (its Beijing midnight)."""
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, date):
        return day_to_epoch(value)
    return int(value)


def chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    """items in consecutive lists of at most size."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


class WecomHttp:
    """Transport of one corp app: tokens via TokenCache, limits via RateLimiter, retries, logging."""

    def __init__(
        self,
        corp_id: str,
        secret: str,
        *,
        base_url: str = OFFICIAL_API_BASE_URL,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        limiter: RateLimiter | None = None,
        tokens: TokenCache | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_retries: int = 3,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
    ) -> None:
        self.corp_id = corp_id
        self._secret = secret
        self.base_url = base_url.rstrip("/")
        self.limiter = limiter if limiter is not None else shared_limiter()
        self.tokens = tokens if tokens is not None else shared_token_cache()
        self.sleep = sleep
        self.max_retries = max(0, max_retries)
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.calls = 0
        self.calls_by_api: Counter[str] = Counter()
        self._count_lock = threading.Lock()  # one client may serve several worker threads
        self._key = token_key(self.base_url, corp_id, secret)
        self._http = httpx.Client(timeout=timeout, transport=transport)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(corp_id={self.corp_id!r}, base_url={self.base_url!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    # --- transport ------------------------------------------------------------------------------

    def _backoff(self, attempt: int) -> float:
        return float(min(self.backoff_cap, self.backoff_base * (2**attempt)))

    def _send(
        self, method: str, api: str, params: dict[str, Any], body: dict[str, Any] | None
    ) -> dict[str, Any]:
        """One HTTP exchange with transport retries; the decoded JSON body (errcode not yet checked)."""
        attempt = 0
        while True:
            self.limiter.acquire(f"{self.corp_id} {api}")
            started = time.perf_counter()
            with self._count_lock:
                self.calls += 1
                self.calls_by_api[api] += 1
            reason: str
            once = False  # True when a resend might repeat a write WeCom already made
            try:
                response = self._http.request(method, f"{self.base_url}/{api}", params=params, json=body)
                ms = (time.perf_counter() - started) * 1000
                if response.status_code >= 500:
                    reason = f"HTTP {response.status_code}"
                    once = api in WRITE_ONCE_APIS
                else:
                    data = response.json()
                    if not isinstance(data, dict):
                        raise ValueError("body is not a JSON object")
                    errcode = int(data.get("errcode") or 0)
                    level = logging.DEBUG if errcode == 0 else logging.WARNING
                    log.log(
                        level,
                        "wecom api=%s errcode=%s ms=%.1f",
                        api,
                        errcode,
                        ms,
                        extra={"wecom_api": api, "errcode": errcode, "ms": round(ms, 1)},
                    )
                    return data
            except httpx.TransportError as exc:
                ms = (time.perf_counter() - started) * 1000
                reason = redact(f"{type(exc).__name__}: {exc}")
                if api in WRITE_ONCE_APIS and not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
                    once = True
            except ValueError as exc:  # json decoding
                ms = (time.perf_counter() - started) * 1000
                reason = f"HTTP {response.status_code} with an undecodable body ({type(exc).__name__})"
            log.warning(
                "wecom api=%s transport failure=%s ms=%.1f attempt=%d",
                api,
                reason,
                ms,
                attempt + 1,
                extra={"wecom_api": api, "errcode": None, "ms": round(ms, 1)},
            )
            if once:
                raise WecomUnreachable(api, f"{reason}; not resent because WeCom may already have acted")
            if attempt >= self.max_retries:
                raise WecomUnreachable(api, reason)
            self.sleep(self._backoff(attempt))
            attempt += 1

    def _fetch_token(self) -> tuple[str, int]:
        attempt = 0
        while True:
            data = self._send("GET", "gettoken", {"corpid": self.corp_id, "corpsecret": self._secret}, None)
            errcode = int(data.get("errcode") or 0)
            if errcode == 0:
                break
            # 45033 is what concurrent gettoken storms get; busy / limited is retried like any call.
            if errcode in RETRYABLE_CODES and attempt < self.max_retries:
                self.sleep(self._backoff(attempt))
                attempt += 1
                continue
            raise error_for(errcode, str(data.get("errmsg", "")), "gettoken")
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise WecomError(0, "gettoken answered without an access_token", "gettoken")
        return token, int(data.get("expires_in") or 7200)

    def get_token(self) -> str:
        """A valid access_token (cached; fetched with gettoken when missing or about to expire)."""
        return self.tokens.get(self._key, self._fetch_token)

    def call(
        self,
        api: str,
        *,
        method: str = "POST",
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Call api (path under the base URL); the answer on errcode 0, else the typed WecomError.

        A rejected token is renewed and the call retried once; busy / over-limit answers are retried with
        bounded exponential backoff (max_retries), never indefinitely.
        """
        attempt = 0
        token_renewed = False
        while True:
            token = self.get_token()
            data = self._send(method, api, {**(params or {}), "access_token": token}, body)
            errcode = int(data.get("errcode") or 0)
            if errcode == 0:
                return data
            error = error_for(errcode, str(data.get("errmsg", "")), api)
            if isinstance(error, TokenInvalid):
                self.tokens.invalidate(self._key, token)
                if token_renewed:
                    raise error
                token_renewed = True
                continue
            if errcode in RETRYABLE_CODES and attempt < self.max_retries:
                self.sleep(self._backoff(attempt))
                attempt += 1
                continue
            raise error

    def _pages(self, fetch: Callable[[str], P], cursor: str = "") -> Iterator[P]:
        """Every page of a cursor API, following next_cursor until it is empty."""
        seen: set[str] = set()
        while True:
            page = fetch(cursor)
            yield page
            cursor = getattr(page, "next_cursor", "")
            if not cursor:
                return
            if cursor in seen:  # a server repeating a cursor would otherwise loop forever
                raise WecomError(0, f"cursor {cursor!r} repeated", "paging")
            seen.add(cursor)
