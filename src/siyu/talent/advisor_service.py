"""Org advisor runs: answer the questionnaire, store answers and advice (audited), read the history, prefill from data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.db.types import utcnow
from siyu.errors import Forbidden, NotFound
from siyu.models.talent import AdvisorRun
from siyu.org.permissions import Actor, PermissionRole
from siyu.talent import advisor_repository as repo
from siyu.talent.access import ADVISOR
from siyu.talent.advisor import ROLE_CODES, advise, parse_answers

# Org design is the head's decision: analysts may read runs, only these roles may run the advisor.
WRITE_ROLES = frozenset({PermissionRole.admin, PermissionRole.private_domain_lead})
MAX_NOTE = 500


def may_run(actor: Actor) -> bool:
    """Whether actor may submit the questionnaire."""
    return actor.role in WRITE_ROLES


def check_read(actor: Actor) -> None:
    """Forbidden unless actor may read advisor runs."""
    if not ADVISOR.allows(actor):
        raise Forbidden(f"role {actor.role.value!r} may not read the org advisor")


def run_advisor(
    session: Session, actor: Actor, raw_answers: Mapping[str, Any], note: str | None
) -> AdvisorRun:
    """Validate the answers, advise, store answers + result as a run (audited); the caller commits."""
    if not may_run(actor):
        raise Forbidden(
            f"role {actor.role.value!r} may not run the org advisor (admin or private-domain lead only)"
        )
    answers = parse_answers(raw_answers)
    advice = advise(answers)
    clean_note = (note or "").strip()[:MAX_NOTE] or None
    run = repo.add_run(session, answers.to_dict(), advice.to_dict(), clean_note, actor.account_id)
    audit(
        session,
        actor,
        "talent.advisor.run",
        "advisor_run",
        run.id,
        {"structure": advice.structure.value, "build_mode": advice.build_mode.value},
    )
    return run


def runs(session: Session, limit: int = 50) -> Sequence[tuple[AdvisorRun, str | None]]:
    """The newest runs, newest first, with who ran each."""
    return repo.recent_runs(session, limit)


def latest_run(session: Session) -> AdvisorRun | None:
    """The newest run, or None."""
    found = repo.recent_runs(session, 1)
    return found[0][0] if found else None


def get_run(session: Session, run_id: int) -> tuple[AdvisorRun, str | None]:
    """One run and who ran it; NotFound naming the id."""
    found = repo.get_run(session, run_id)
    if found is None:
        raise NotFound(f"advisor run {run_id}: no such run")
    return found


@dataclass(frozen=True)
class DataFacts:
    """What Siyu's own data says about the questionnaire's countable answers, in the actor's scope."""

    store_count: int
    guide_count: int
    members: int
    customers: int
    team: dict[str, int]  # active staff per role code (role codes the advisor knows)

    @property
    def member_share(self) -> float:
        """members ÷ customers (0 without customers), rounded to 4 places for the form."""
        return round(self.members / self.customers, 4) if self.customers else 0.0

    def answers(self) -> dict[str, Any]:
        """The answers these facts fill in."""
        return {
            "store_count": self.store_count,
            "guide_count": self.guide_count,
            "member_share": self.member_share,
            "current_team": dict(self.team),
        }


def data_facts(session: Session, actor: Actor, now: datetime | None = None) -> DataFacts:
    """Stores, guides, members and headcount per role from the data (four set-based queries)."""
    by_role = repo.headcount_by_role(session, actor)
    members, customers = repo.member_counts(session, actor, now or utcnow())
    return DataFacts(
        store_count=repo.store_count(session, actor),
        guide_count=by_role.get("guide", 0),
        members=members,
        customers=customers,
        team={code: by_role[code] for code in ROLE_CODES if by_role.get(code)},
    )
