"""Sign-in, sign-out and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from siyu.audit import audit
from siyu.config import get_settings
from siyu.web.auth import OptionalViewerDep, SessionDep, safe_next
from siyu.web.cookies import (
    LANG_COOKIE,
    LANG_MAX_AGE,
    PRE_SESSION_CSRF_COOKIE,
    SESSION_COOKIE,
    clear_cookie,
    set_cookie,
)
from siyu.web.i18n import LOCALES, N_, normalize_locale
from siyu.web.render import gettext_for, render
from siyu.web.services import accounts as account_service
from siyu.web.services.login import LoginOutcome, authenticate
from siyu.web.services.sessions import end_session, start_session

router = APIRouter(include_in_schema=False)

BAD_CREDENTIALS = N_("Wrong username or password.")
LOCKED = N_(
    "Too many failed attempts. Sign-in is locked until %(time)s; try again then or ask an administrator."
)
DISABLED = N_("This account is disabled. Ask an administrator to enable it.")


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request, viewer: OptionalViewerDep, next: Annotated[str | None, Query()] = None
) -> Response:
    """The sign-in form (a signed-in viewer goes straight on)."""
    target = safe_next(next)
    if viewer is not None:
        return RedirectResponse(target, status_code=303)
    return render(request, "login.html", {"next": target, "username": "", "error": None}, fragment=None)


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the credentials; on success issue a new session (the old one, if any, is ended)."""
    result = authenticate(session, username, password)
    if result.account is None:
        session.commit()  # the failure counter and the audit row must stick
        _ = gettext_for(request)
        if result.outcome is LoginOutcome.locked and result.locked_until is not None:
            local = result.locked_until.astimezone(get_settings().zone)
            error = _(LOCKED) % {"time": local.strftime("%H:%M")}
        elif result.outcome is LoginOutcome.disabled:
            error = _(DISABLED)
        else:
            error = _(BAD_CREDENTIALS)
        context = {"next": safe_next(next), "username": username.strip()[:64], "error": error}
        return render(request, "login.html", context, fragment=None, status_code=401)
    # A fresh id at every sign-in: whatever cookie the browser had before is never the session after.
    end_session(session, request.cookies.get(SESSION_COOKIE, ""))
    token = start_session(session, result.account, user_agent=request.headers.get("user-agent"))
    session.commit()
    response = RedirectResponse(safe_next(next), status_code=303)
    set_cookie(response, request, SESSION_COOKIE, token)
    clear_cookie(response, request, PRE_SESSION_CSRF_COOKIE)
    if result.account.locale in LOCALES:
        set_cookie(response, request, LANG_COOKIE, result.account.locale, max_age=LANG_MAX_AGE)
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, viewer: OptionalViewerDep) -> Response:
    """End the session on the server (audited) and drop the cookie."""
    if viewer is not None:
        audit(session, viewer.actor, "auth.logout", "account", viewer.account_id)
    end_session(session, request.cookies.get(SESSION_COOKIE, ""))
    session.commit()
    response: Response = RedirectResponse("/login", status_code=303)
    if request.headers.get("hx-request") == "true":
        response = Response(status_code=204, headers={"HX-Redirect": "/login"})
    clear_cookie(response, request, SESSION_COOKIE)
    return response


@router.post("/lang")
def switch_language(
    request: Request,
    session: SessionDep,
    viewer: OptionalViewerDep,
    lang: Annotated[str, Form(max_length=16)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Switch the console language: remembered on the account (when signed in) and in a cookie."""
    locale = normalize_locale(lang)
    if locale is None:
        from siyu.errors import Invalid

        raise Invalid(N_("Unsupported language."))
    if viewer is not None:
        account_service.set_locale(session, viewer.actor, viewer.account_id, locale)
        session.commit()
    response = RedirectResponse(safe_next(next), status_code=303)
    set_cookie(response, request, LANG_COOKIE, locale, max_age=LANG_MAX_AGE)
    return response
