"""Errors on console requests: a page for browsers, a toast fragment for htmx, a redirect when signed out."""

from __future__ import annotations

import logging
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import RedirectResponse, Response

from siyu.errors import SiyuError
from siyu.web.i18n import N_
from siyu.web.render import TOAST_TARGET, gettext_for, is_htmx, render, wants_fragment

logger = logging.getLogger(__name__)

TITLES = {
    400: N_("Bad request"),
    401: N_("Please sign in"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Not allowed"),
    409: N_("Conflict"),
    422: N_("Please check your input"),
    500: N_("Something went wrong"),
}
CSRF_MESSAGE = N_(
    "This form has expired or did not come from this site. Reload the page and try again "
    "(sign in again if your session ended)."
)
NOT_FOUND_MESSAGE = N_("There is no page at this address.")
INTERNAL_MESSAGE = N_("The server could not finish this request. It has been logged; please try again.")


def _ensure_viewer(request: Request) -> None:
    # Errors raised before the auth dependency ran (unknown paths, CSRF) still show the viewer's layout.
    if hasattr(request.state, "viewer"):
        return
    from siyu.web.auth import optional_viewer

    try:
        with request.app.state.sessions() as session:
            optional_viewer(request, session)
    except Exception:  # the layout must not turn one error into two
        logger.exception("could not load the viewer for an error page")
        request.state.viewer = None


def error_response(request: Request, status_code: int, message: str, *, details: object = None) -> Response:
    """The error as a toast for htmx swaps, else as a page; message is an English msgid or plain text."""
    _ensure_viewer(request)
    _ = gettext_for(request)
    title = _(TITLES.get(status_code, TITLES[400 if status_code < 500 else 500]))
    text = _(message)
    if wants_fragment(request):
        return render(
            request,
            "_toasts.html",
            {"toasts": [("error", text)]},
            fragment="toasts",
            status_code=status_code,
            headers={"HX-Retarget": TOAST_TARGET, "HX-Reswap": "beforeend"},
        )
    return render(
        request,
        "error.html",
        {"status": status_code, "title": title, "message": text, "details": details},
        fragment=None,
        status_code=status_code,
    )


def login_redirect(request: Request) -> Response:
    """Send a signed-out browser to /login, remembering where it was going."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if is_htmx(request):
        # htmx would swap the login page into a fragment; make it navigate instead, back to the page it was on.
        current = urlsplit(request.headers.get("hx-current-url", ""))
        if current.path:
            target = current.path + (f"?{current.query}" if current.query else "")
        return Response(status_code=401, headers={"HX-Redirect": f"/login?next={quote(target, safe='')}"})
    if request.method != "GET":
        target = "/"
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def csrf_rejected(request: Request) -> Response:
    """403 for an unsafe request without a valid CSRF token."""
    request.state.viewer = None  # the middleware runs before the auth dependency; keep the layout anonymous
    return error_response(request, 403, CSRF_MESSAGE)


def siyu_error_page(request: Request, exc: SiyuError) -> Response:
    """A SiyuError raised by a console route."""
    from siyu.web.auth import LoginRequired

    if isinstance(exc, LoginRequired):
        return login_redirect(request)
    return error_response(request, exc.status_code, exc.message, details=exc.details)


def http_error_page(request: Request, status_code: int, detail: str) -> Response:
    """Starlette's HTTP errors (unknown path, wrong method) on console paths."""
    message = NOT_FOUND_MESSAGE if status_code == 404 else detail
    return error_response(request, status_code, message)


def validation_error_page(request: Request, exc: RequestValidationError) -> Response:
    """Malformed form or query input on a console route."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where}: {err.get('msg', '')}")
    return error_response(request, 422, "; ".join(parts) or TITLES[422])


def internal_error_page(request: Request) -> Response:
    """An unexpected exception on a console route (the traceback goes to the log, not the browser)."""
    return error_response(request, 500, INTERNAL_MESSAGE)
