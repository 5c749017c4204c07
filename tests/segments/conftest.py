"""Segment test fixtures: a committed random world, accounts and tokens over it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine

from siyu.db.engine import session_factory
from siyu.models import CustomerIdentity, IdentityKind
from siyu.org.accounts import create_account
from siyu.org.tokens import create_token
from tests.segments.world import World, build
from tests.web.conftest import PASSWORD, make_account  # noqa: F401  (a fixture, re-exported here)

__all__ = ["PASSWORD"]


@pytest.fixture()
def world(engine: Engine) -> World:
    """The random brand, committed, every live customer with a phone."""
    with session_factory(engine)() as s:
        built = build(s)
        for c in built.customers:
            s.add(
                CustomerIdentity(customer_id=c["id"], kind=IdentityKind.phone, value=f"+86138{c['id']:08d}")
            )
        s.commit()
    return built


@pytest.fixture()
def token_for(engine: Engine, world: World) -> Callable[..., dict[str, str]]:
    """Make an account (role, scope, staff) and return its bearer header."""

    def make(
        username: str, role: str = "admin", scope: str = "all", staff_code: str | None = None
    ) -> dict[str, str]:
        with session_factory(engine)() as s:
            create_account(
                s, username=username, password=PASSWORD, role=role, scope=scope, staff_code=staff_code
            )
            token = create_token(s, username, "tests")
            s.commit()
        return {"Authorization": f"Bearer {token}"}

    return make
