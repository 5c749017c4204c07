"""Permission roles, data scopes and the acting account (Actor) every repository filters by."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PermissionRole(StrEnum):
    """What an account may do in the console and API."""

    admin = "admin"
    private_domain_lead = "private_domain_lead"
    manager = "manager"
    operator = "operator"
    guide = "guide"
    analyst = "analyst"


class DataScope(StrEnum):
    """Which customers and staff an account may see."""

    self_ = "self"
    unit = "unit"
    subtree = "subtree"
    all = "all"


# Roles whose holders may see full phone numbers (each reveal is audited).
REVEAL_ROLES = frozenset({PermissionRole.admin, PermissionRole.private_domain_lead, PermissionRole.manager})
# Roles that may change data through the API (tags, imports…).
WRITE_ROLES = frozenset(
    {
        PermissionRole.admin,
        PermissionRole.private_domain_lead,
        PermissionRole.manager,
        PermissionRole.operator,
    }
)


@dataclass(frozen=True)
class Actor:
    """The account on whose behalf a request or command runs."""

    account_id: int | None
    username: str
    role: PermissionRole
    scope: DataScope
    staff_id: int | None = None
    scope_unit_id: int | None = None
    scope_unit_path: str | None = None

    @property
    def may_reveal_phone(self) -> bool:
        """Whether this actor may see unmasked phone numbers."""
        return self.role in REVEAL_ROLES

    @property
    def may_write(self) -> bool:
        """Whether this actor may change shared data."""
        return self.role in WRITE_ROLES


SYSTEM_ACTOR = Actor(account_id=None, username="system", role=PermissionRole.admin, scope=DataScope.all)
