"""Who may open a console page: one rule per page, read by both the nav and the route's dependency."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from siyu.org.permissions import Actor, DataScope, PermissionRole
from siyu.web.i18n import N_

DENIED = N_("Your role may not open this page.")


@dataclass(frozen=True)
class PageAccess:
    """Roles (None: every role) and data scopes (None: every scope) that may open a page."""

    roles: frozenset[PermissionRole] | None = None
    scopes: frozenset[DataScope] | None = None
    denied: str = DENIED

    def allows(self, actor: Actor) -> bool:
        """Whether actor may open (and so see in the nav) the page."""
        role_ok = self.roles is None or actor.role in self.roles
        return role_ok and (self.scopes is None or actor.scope in self.scopes)


EVERYONE = PageAccess()


def access_for(
    roles: Iterable[PermissionRole] | None = None,
    scopes: Iterable[DataScope] | None = None,
    denied: str = DENIED,
) -> PageAccess:
    """A PageAccess from any iterables of roles and scopes."""
    return PageAccess(
        frozenset(roles) if roles is not None else None,
        frozenset(scopes) if scopes is not None else None,
        denied,
    )
