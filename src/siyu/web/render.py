"""render(): one Jinja2 environment, the shared page context, and fragments (a named block) for HTMX."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PrefixLoader,
    Template,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context
from markupsafe import Markup

from siyu.config import get_settings
from siyu.org.permissions import Actor, PermissionRole
from siyu.web.access import EVERYONE, PageAccess, access_for
from siyu.web.cookies import LANG_COOKIE, PRE_SESSION_CSRF_COOKIE, set_cookie
from siyu.web.csrf import CSRF_FIELD, pre_session_token
from siyu.web.i18n import HTML_LANG, LOCALE_NAMES, LOCALES, negotiate, normalize_locale, translations
from siyu.web.labels import LABELS, choices, label_msgid

if TYPE_CHECKING:
    from siyu.web.auth import Viewer

WEB_DIR = Path(__file__).resolve().parent
SIYU_DIR = WEB_DIR.parent
TOAST_TARGET = "#toasts"


@dataclass(frozen=True)
class NavEntry:
    """A page in the top navigation; access is the same rule the page's route enforces."""

    key: str
    label: str
    path: str
    order: int = 100
    access: PageAccess = EVERYONE

    def visible_to(self, actor: Actor) -> bool:
        """Whether actor may see (and open) this page."""
        return self.access.allows(actor)


_NAV: dict[str, NavEntry] = {}


def register_nav(
    key: str,
    label: str,
    path: str,
    *,
    order: int = 100,
    roles: Iterable[PermissionRole] | None = None,
    access: PageAccess | None = None,
) -> NavEntry:
    """Add (or replace) a navigation entry; give the page's own PageAccess (or its roles) so nav and route agree."""
    entry = NavEntry(key, label, path, order, access or access_for(roles))
    _NAV[key] = entry
    return entry


def nav_entries(actor: Actor | None) -> list[NavEntry]:
    """The entries an actor may see, in display order."""
    if actor is None:
        return []
    return sorted((e for e in _NAV.values() if e.visible_to(actor)), key=lambda e: (e.order, e.key))


ROLE_LABELS = LABELS["PermissionRole"]
SCOPE_LABELS = LABELS["DataScope"]


def _template_loader() -> ChoiceLoader:
    # Each domain may keep templates/ beside its views; they are addressed as "<domain>/<file>.html".
    domains = {
        child.name: FileSystemLoader(child / "templates")
        for child in sorted(SIYU_DIR.iterdir())
        if child.is_dir() and child.name != "web" and (child / "templates").is_dir()
    }
    return ChoiceLoader([FileSystemLoader(WEB_DIR / "templates"), PrefixLoader(domains)])


@pass_context
def _gettext(context: Context, message: str) -> str:
    return translations(context.get("locale")).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return translations(context.get("locale")).ngettext(singular, plural, n)


@pass_context
def _csrf_input(context: Context) -> Markup:
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, context.get("csrf_token"))


@pass_context
def _label(context: Context, value: object, kind: str | None = None) -> str:
    # Codes without a label (new enum values, free-text codes) show as they are rather than vanish.
    msgid = label_msgid(value, kind)
    if msgid is None:
        return "" if value is None else str(value.value if isinstance(value, StrEnum) else value)
    return translations(context.get("locale")).gettext(msgid)


@pass_context
def _label_choices(context: Context, kind: str) -> list[tuple[str, str]]:
    gettext = translations(context.get("locale")).gettext
    return [(code, gettext(msgid)) for code, msgid in choices(kind)]


def _fen(value: int | None) -> str:
    return "—" if value is None else f"{value / 100:,.2f}"


def _local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    # Times are stored in UTC; people read them in the brand's time zone.
    return "" if value is None else value.astimezone(get_settings().zone).strftime(fmt)


def build_environment() -> Environment:
    """The console's Jinja2 environment: autoescaped, gettext through the per-render locale."""
    env = Environment(
        loader=_template_loader(),
        autoescape=select_autoescape(("html", "htm", "xml")),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(gettext=_gettext, ngettext=_ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["csrf_input"] = _csrf_input
    env.globals["ROLE_LABELS"] = ROLE_LABELS
    env.globals["SCOPE_LABELS"] = SCOPE_LABELS
    env.globals["label_choices"] = _label_choices
    env.filters["label"] = _label
    env.filters["fen"] = _fen
    env.filters["local_time"] = _local_time
    return env


environment = build_environment()


def render_block(template: Template, block: str, context: Mapping[str, Any]) -> str:
    """Render one named block of template alone (the HTMX fragment of a page)."""
    try:
        render = template.blocks[block]
    except KeyError:
        raise KeyError(f"template {template.name!r} has no block {block!r}") from None
    return "".join(render(template.new_context(dict(context))))


def is_htmx(request: Request) -> bool:
    """Whether htmx sent the request."""
    return request.headers.get("hx-request") == "true"


def wants_fragment(request: Request) -> bool:
    """An htmx request that swaps part of a page (boosted navigation and history restores want whole pages)."""
    return (
        is_htmx(request)
        and request.headers.get("hx-boosted") != "true"
        and request.headers.get("hx-history-restore-request") != "true"
    )


def request_viewer(request: Request) -> Viewer | None:
    """The signed-in viewer the auth dependency attached to this request, if any."""
    return getattr(request.state, "viewer", None)


def request_locale(request: Request) -> str:
    """The account's language, else the siyu_lang cookie, else Accept-Language (default Chinese)."""
    viewer = request_viewer(request)
    if viewer is not None and viewer.locale in LOCALES:
        return viewer.locale
    return normalize_locale(request.cookies.get(LANG_COOKIE)) or negotiate(
        request.headers.get("accept-language")
    )


def gettext_for(request: Request) -> Any:
    """The `_` of Python code for this request's locale."""
    return translations(request_locale(request)).gettext


def _is_active(entry_path: str, path: str) -> bool:
    # "/" is only itself; any other entry also owns the pages below it.
    return path == entry_path or (entry_path != "/" and path.startswith(entry_path.rstrip("/") + "/"))


def base_context(request: Request) -> tuple[dict[str, Any], str | None]:
    """What every page sees, and a new pre-session CSRF token to set as a cookie (if one was minted)."""
    viewer = request_viewer(request)
    locale = request_locale(request)
    new_cookie = None
    if viewer is not None:
        csrf_token = viewer.csrf_token
    else:
        csrf_token, is_new = pre_session_token(request)
        new_cookie = csrf_token if is_new else None
    path = request.url.path
    nav = nav_entries(viewer.actor if viewer else None)
    return {
        "request": request,
        "viewer": viewer,
        "locale": locale,
        "html_lang": HTML_LANG[locale],
        "locales": [(code, LOCALE_NAMES[code]) for code in LOCALES],
        "csrf_token": csrf_token,
        "htmx_headers": json.dumps({"X-CSRF-Token": csrf_token}),
        "nav": [(entry, _is_active(entry.path, path)) for entry in nav],
        "current_url": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "toasts": [],
    }, new_cookie


def toast_html(context: Mapping[str, Any], toasts: Iterable[tuple[str, str]]) -> str:
    """Toast markup for (kind, already-translated message) pairs."""
    return environment.get_template("_toasts.html").render({**context, "toasts": list(toasts)})


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    fragment: str | None = "content",
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    toasts: Iterable[tuple[str, str]] = (),
) -> HTMLResponse:
    """Render a page, or only its block fragment for an htmx request; toasts are (kind, message) pairs."""
    shared, new_cookie = base_context(request)
    page = environment.get_template(template)
    values = {**shared, **(context or {})}
    toast_list = list(toasts)
    if fragment and wants_fragment(request):
        body = render_block(page, fragment, values)
        if toast_list:
            # Out-of-band: htmx appends these to the toast container wherever the fragment goes.
            body += str(
                Markup('<div id="toasts" hx-swap-oob="beforeend">{}</div>').format(
                    Markup(toast_html(values, toast_list))
                )
            )
    else:
        body = page.render({**values, "toasts": toast_list})
    response = HTMLResponse(body, status_code=status_code, headers=dict(headers or {}))
    # Pages carry personal data and differ between the page and its fragment.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Vary"] = "HX-Request, Cookie"
    if new_cookie is not None:
        set_cookie(response, request, PRE_SESSION_CSRF_COOKIE, new_cookie)
    return response
