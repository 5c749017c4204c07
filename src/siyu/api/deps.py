"""Request-scoped dependencies: the database session and the authenticated actor."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from siyu.errors import Forbidden, Unauthorized
from siyu.org.permissions import Actor
from siyu.org.tokens import authenticate_token


def get_session(request: Request) -> Iterator[Session]:
    """One session per request; write routes commit explicitly, anything unfinished rolls back."""
    session: Session = request.app.state.sessions()
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]


def get_actor(request: Request, session: SessionDep) -> Actor:
    """Authenticate the bearer token of the request."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    actor = authenticate_token(session, token.strip())
    session.commit()  # records last_used_at; nothing else is pending yet
    return actor


ActorDep = Annotated[Actor, Depends(get_actor)]


def require_write(actor: ActorDep) -> Actor:
    """Allow only roles that may change shared data."""
    if not actor.may_write:
        raise Forbidden(f"role {actor.role.value!r} may not change data")
    return actor


WriterDep = Annotated[Actor, Depends(require_write)]
