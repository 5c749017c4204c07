"""A small demo brand, built once per test module into the migrated test database."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from tests.conftest import truncate_all

from siyu.db.base import Base
from siyu.db.engine import session_factory
from siyu.demo.builder import DemoParams, DemoResult, build_demo

SMALL = 1_500
# Tables whose rows carry wall-clock values or salted hashes, so they are left out of digests.
# Bookkeeping rows stamped with the wall clock (who logged in, when a job ran), not demo content.
NOT_DETERMINISTIC = {
    "accounts",
    "audit_log",
    "api_tokens",
    "web_sessions",
    "login_throttles",
    "import_jobs",
    "leaderboard_watermarks",
}
# Columns stamped with the wall clock (when a run started, how long each step took) in otherwise
# deterministic tables.
NOT_DETERMINISTIC_COLUMNS = {
    "insight_runs": {"started_at", "finished_at", "figures"},
    "segments": {"created_at", "updated_at"},
    "segment_versions": {"created_at"},
    "segment_sizes": {"computed_at"},
    # The seeded default competency model is stamped when first used (siyu.talent.competency).
    "competency_models": {"created_at"},
    # The demo's advisor run and custom role are written through the services, stamped with the wall clock.
    "advisor_runs": {"created_at"},
    "role_definitions": {"created_at"},
    # Compliance rows written through the services (rules installed, incidents detected and reviewed).
    "sensitive_rules": {"created_at"},
    "sensitive_whitelist": {"created_at"},
    "sensitive_incidents": {"created_at", "reviewed_at"},
    "notifications": {"created_at"},
    "detection_runs": {"created_at"},
    # Journeys copied from the templates through the definition service, stamped when copied.
    "journeys": {"created_at"},
    "journey_versions": {"created_at"},
    # Channel codes are saved through the channel-code service, stamped when saved.
    "channel_codes": {"created_at"},
}


@dataclass
class Built:
    """A built demo and the engine it lives in."""

    engine: Engine
    result: DemoResult


def build(engine: Engine, params: DemoParams) -> DemoResult:
    """Build a demo in its own committed transaction, as the CLI does."""
    with session_factory(engine)() as session:
        result = build_demo(session, params)
        session.commit()
    return result


def table_digests(session: Session) -> dict[str, str]:
    """A SHA-256 of every deterministic table's rows, ordered by primary key."""
    out: dict[str, str] = {}
    for table in Base.metadata.sorted_tables:
        if table.name in NOT_DETERMINISTIC:
            continue
        skipped = NOT_DETERMINISTIC_COLUMNS.get(table.name, set())
        columns = [c for c in table.columns if c.name not in skipped]
        order = list(table.primary_key.columns)
        if table.name.startswith("rollup_") and "id" in table.c:
            # Rollup rows get surrogate ids in GROUP BY output order, which PostgreSQL's hash
            # aggregation does not fix; nothing refers to them, so compare the content alone.
            columns = order = [c for c in table.columns if c.name != "id"]
        digest = hashlib.sha256()
        for row in session.execute(select(*columns).order_by(*order)):
            digest.update(repr(tuple(row)).encode())
        out[table.name] = digest.hexdigest()
    return out


@pytest.fixture(scope="module")
def built(migrated_engine: Engine) -> Iterator[Built]:
    """A 1,500-customer demo (seed 7), emptied after the module."""
    truncate_all(migrated_engine)
    result = build(migrated_engine, DemoParams(customers=SMALL, seed=7))
    yield Built(engine=migrated_engine, result=result)
    truncate_all(migrated_engine)


@pytest.fixture()
def db(built: Built) -> Iterator[Session]:
    """A read session on the built demo."""
    with session_factory(built.engine)() as session:
        yield session
