"""Shared set-up of the script library, content pack and inbox tests: the talent test org plus an operator."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from siyu.db.engine import session_factory
from siyu.journeys import scripts_service as service
from siyu.journeys.scripts_schemas import ReviewIn, ScriptIn
from siyu.models import Script
from siyu.org.accounts import create_account
from siyu.org.permissions import Actor
from tests.talent.roles_support import Org, build_org
from tests.web.conftest import PASSWORD

# Active guides of the talent org (sm1 is store manager and guide; g4 has left).
ACTIVE_GUIDES = ("sm1", "g1", "g2", "g3")


def build_world(engine: Engine) -> Org:
    """The talent test org (admin, lead, manager of r1, guide g1, analyst) plus an operator account."""
    org = build_org(engine)
    with session_factory(engine)() as s:
        create_account(s, username="operator", password=PASSWORD, role="operator", scope="all")
        s.commit()
    return org


def add_script(
    session: Session,
    author: Actor,
    reviewer: Actor | None,
    title: str,
    body: str,
    category: str = "welcome",
    scenario: str | None = None,
    **extra: object,
) -> Script:
    """A script written by author and, when reviewer is given, submitted and approved by them."""
    data = ScriptIn.model_validate(
        {
            "title": title,
            "body": body,
            "category": category,
            "scenario": scenario,
            "submit": reviewer is not None,
            **extra,
        }
    )
    script = service.create_script(session, author, data)
    if reviewer is not None:
        service.review_script(session, reviewer, script.id, ReviewIn(decision="approve"))
    return script
