"""Typed WeCom API errors, mapped from the `errcode` of a response body (HTTP is 200 even on errors)."""

from __future__ import annotations

from siyu.errors import SiyuError

# Not a WeCom code: marks a transport failure (no answer, non-JSON body, HTTP 5xx) after the retries.
UNREACHABLE_ERRCODE = -1000


class WecomError(SiyuError):
    """WeCom answered a call with a non-zero errcode; `api` is the path without the base URL."""

    status_code = 502
    code = "wecom_error"
    codes: tuple[int, ...] = ()

    def __init__(self, errcode: int, errmsg: str, api: str) -> None:
        super().__init__(
            f"WeCom API {api} failed: errcode {errcode} ({errmsg or 'no errmsg'})",
            details={"errcode": errcode, "errmsg": errmsg, "api": api},
        )
        self.errcode = errcode
        self.errmsg = errmsg
        self.api = api

    def __reduce__(self) -> tuple[type, tuple[int, str, str]]:
        return (type(self), (self.errcode, self.errmsg, self.api))


class TokenInvalid(WecomError):
    """The access_token was rejected (invalid, expired or revoked early)."""

    codes = (40014, 42001, 40082, 42009)


class RateLimited(WecomError):
    """WeCom's frequency (45009) or concurrency (45033) limit was hit."""

    codes = (45009, 45033)


class Busy(WecomError):
    """WeCom is busy (-1); the docs say retry up to three times."""

    codes = (-1,)


class PermissionDenied(WecomError):
    """The app may not call this API or see this member (not in the 客户联系 list, visible range, IP list)."""

    codes = (48002, 60011, 60020)


class NotFriend(WecomError):
    """No external-contact relation exists between the member and the customer."""

    codes = (84061,)


class WelcomeCodeUsed(WecomError):
    """The welcome code was already used (or the chat already started)."""

    codes = (41051,)


class InvalidUserId(WecomError):
    """An unknown member userid (40003) or external userid (40096)."""

    codes = (40003, 40096)


class WecomUnreachable(WecomError):
    """No usable answer from WeCom after the retries (connection error, timeout, HTTP 5xx, non-JSON)."""

    def __init__(self, api: str, reason: str) -> None:
        super().__init__(UNREACHABLE_ERRCODE, reason, api)
        self.message = f"WeCom API {api} unreachable after retries: {reason}"
        self.args = (self.message,)

    def __reduce__(self) -> tuple[type, tuple[str, str]]:  # type: ignore[override]
        return (type(self), (self.api, self.errmsg))


_BY_CODE: dict[int, type[WecomError]] = {
    code: cls
    for cls in (TokenInvalid, RateLimited, Busy, PermissionDenied, NotFriend, WelcomeCodeUsed, InvalidUserId)
    for code in cls.codes
}

RETRYABLE_CODES = frozenset((*RateLimited.codes, *Busy.codes))


def error_for(errcode: int, errmsg: str, api: str) -> WecomError:
    """The most specific WecomError subclass for an errcode."""
    return _BY_CODE.get(errcode, WecomError)(errcode, errmsg, api)
