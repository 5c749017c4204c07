"""The fake's API table, its error type and argument helpers shared by the handler modules."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fake_wecom.corp import FakeCorp

Args = dict[str, Any]
Handler = Callable[["FakeCorp", Args, float], dict[str, Any]]

HANDLERS: dict[str, Handler] = {}

ERRMSG = {
    -1: "system busy",
    40001: "invalid credential (secret)",
    40003: "invalid userid",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40050: "invalid chatid",
    40058: "invalid parameter",
    40068: "invalid tagid",
    40071: "tag name already exists",
    40096: "invalid external userid",
    40128: "customer transferred too often (2 per 90 days)",
    41001: "access_token missing",
    41048: "no customer can receive the message",
    41051: "welcome_code used or expired",
    42001: "access_token expired",
    45009: "api freq out of limit",
    45033: "api concurrent out of limit",
    48002: "api forbidden",
    60011: "no privilege to access/modify contact/party/agent",
    60020: "not allow to access from your ip",
    81017: "number of requested items exceeds the limit",
    84061: "not external contact",
}


class FakeError(Exception):
    """An API error the fake answers as {"errcode", "errmsg"} with HTTP 200, like WeCom."""

    def __init__(self, errcode: int, detail: str = "") -> None:
        base = ERRMSG.get(errcode, "error")
        super().__init__(f"{base}: {detail}" if detail else base)
        self.errcode = errcode
        self.errmsg = f"{base}, {detail}" if detail else base


def api(path: str) -> Callable[[Handler], Handler]:
    """Register a handler for /cgi-bin/<path>."""

    def register(fn: Handler) -> Handler:
        HANDLERS[path] = fn
        return fn

    return register


def req_str(args: Args, key: str) -> str:
    """A required non-empty string argument (40058 naming the field otherwise)."""
    value = args.get(key)
    if not isinstance(value, str) or not value:
        raise FakeError(40058, f"{key} is required")
    return value


def opt_str(args: Args, key: str, default: str = "") -> str:
    """An optional string argument."""
    value = args.get(key, default)
    return value if isinstance(value, str) else str(value)


def opt_int(args: Args, key: str, default: int) -> int:
    """An optional integer argument (GET query values arrive as strings)."""
    value = args.get(key)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise FakeError(40058, f"{key} must be an integer") from None


def str_list(args: Args, key: str, *, max_len: int | None = None) -> list[str]:
    """A list-of-strings argument; longer than max_len → 81017."""
    value = args.get(key) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FakeError(40058, f"{key} must be a list of strings")
    if max_len is not None and len(value) > max_len:
        raise FakeError(81017, f"{key} has {len(value)} items, at most {max_len}")
    return list(value)


def limit_arg(args: Args, default: int, maximum: int) -> int:
    """A page size within 1..maximum (outside → 40058, as the docs give hard bounds)."""
    limit = opt_int(args, "limit", default) or default
    if limit < 1 or limit > maximum:
        raise FakeError(40058, f"limit {limit} is outside 1..{maximum}")
    return limit


def encode_cursor(offset: int) -> str:
    """An opaque cursor for position offset."""
    return base64.urlsafe_b64encode(f"fc:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The offset inside a cursor; a cursor the fake never issued → 40058."""
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        tag, offset = raw.split(":", 1)
        if tag != "fc":
            raise ValueError(tag)
        return int(offset)
    except (ValueError, UnicodeDecodeError):
        raise FakeError(40058, f"invalid cursor {cursor!r}") from None


def page(items: list[Any], cursor: str, limit: int) -> tuple[list[Any], str]:
    """Slice items at the cursor; next_cursor is "" on the last page."""
    start = decode_cursor(cursor)
    chunk = items[start : start + limit]
    end = start + len(chunk)
    return chunk, encode_cursor(end) if end < len(items) else ""
