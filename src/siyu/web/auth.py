"""Who is looking: the Viewer of a console request, and the dependencies that demand one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.api.deps import get_session
from siyu.errors import Forbidden, Unauthorized
from siyu.models import OrgUnit
from siyu.org.permissions import Actor, PermissionRole
from siyu.org.tokens import actor_for_account
from siyu.web.access import PageAccess, access_for
from siyu.web.cookies import SESSION_COOKIE
from siyu.web.i18n import N_
from siyu.web.services.sessions import load_session

SessionDep = Annotated[Session, Depends(get_session)]


class LoginRequired(Unauthorized):
    """A console page was asked for without a live session; the page handler sends the browser to /login."""


@dataclass(frozen=True)
class Viewer:
    """The signed-in account behind a console request (plain values: it outlives the request's ORM session)."""

    account_id: int
    username: str
    display_name: str
    locale: str
    actor: Actor
    session_id: str
    csrf_token: str
    unit_name: str | None


def optional_viewer(request: Request, session: SessionDep) -> Viewer | None:
    """The viewer of the session cookie, or None; attached to request.state for render()."""
    if hasattr(request.state, "viewer"):
        cached: Viewer | None = request.state.viewer
        return cached
    viewer = None
    active = load_session(session, request.cookies.get(SESSION_COOKIE, ""))
    # The edge owns the transaction: persist the touch (or the expired row's removal) now.
    session.commit()
    if active is not None:
        actor = actor_for_account(session, active.account)
        unit_name = None
        if actor.scope_unit_id is not None:
            unit_name = session.scalar(select(OrgUnit.name).where(OrgUnit.id == actor.scope_unit_id))
        account = active.account
        viewer = Viewer(
            account_id=account.id,
            username=account.username,
            display_name=account.display_name or account.username,
            locale=account.locale,
            actor=actor,
            session_id=active.id,
            csrf_token=active.csrf_token,
            unit_name=unit_name,
        )
    request.state.viewer = viewer
    return viewer


OptionalViewerDep = Annotated[Viewer | None, Depends(optional_viewer)]


def require_viewer(viewer: OptionalViewerDep) -> Viewer:
    """A signed-in viewer, or LoginRequired (a redirect to the sign-in page)."""
    if viewer is None:
        raise LoginRequired(N_("Please sign in."))
    return viewer


ViewerDep = Annotated[Viewer, Depends(require_viewer)]


def require_access(access: PageAccess) -> Callable[[Viewer], Viewer]:
    """A dependency that lets through only viewers access allows (others get 403); the nav reads the same rule."""

    def dependency(viewer: ViewerDep) -> Viewer:
        if not access.allows(viewer.actor):
            raise Forbidden(access.denied)
        return viewer

    return dependency


def require_roles(*roles: PermissionRole) -> Callable[[Viewer], Viewer]:
    """A dependency that lets only the given permission roles through (others get 403)."""
    return require_access(access_for(roles))


AdminDep = Annotated[Viewer, Depends(require_roles(PermissionRole.admin))]


def safe_next(value: str | None, default: str = "/") -> str:
    """value when it is a path on this site, else default (no open redirect through ?next=)."""
    if not value or len(value) > 2000:
        return default
    if not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    if any(ch in value for ch in "\\\r\n\t") or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value
