"""The console's cookies and their flags (HttpOnly, SameSite=Lax, Secure under https)."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

SESSION_COOKIE = "siyu_session"
PRE_SESSION_CSRF_COOKIE = "siyu_csrf"
LANG_COOKIE = "siyu_lang"
LANG_MAX_AGE = 365 * 24 * 3600


def is_https(request: Request) -> bool:
    """Whether the browser reached us over https (directly or through a proxy that says so)."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",", 1)[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def set_cookie(
    response: Response, request: Request, name: str, value: str, *, max_age: int | None = None
) -> None:
    """Set a cookie the page's JavaScript cannot read, sent on same-site requests and top-level links."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(request),
    )


def clear_cookie(response: Response, request: Request, name: str) -> None:
    """Remove a cookie set by set_cookie."""
    response.delete_cookie(name, path="/", httponly=True, samesite="lax", secure=is_https(request))
