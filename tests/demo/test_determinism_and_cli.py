"""Same seed → identical data; `siyu demo` refuses a non-empty database and honours --if-empty."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from tests.conftest import truncate_all
from tests.demo.conftest import build, table_digests
from typer.testing import CliRunner

from siyu.cli import app
from siyu.db.engine import session_factory
from siyu.demo.builder import DemoParams, build_demo
from siyu.errors import Conflict, Invalid
from siyu.models import Account, Customer, OrgUnit
from siyu.org.service import create_unit

runner = CliRunner()


def test_same_seed_same_rows(engine: Engine) -> None:
    params = DemoParams(customers=400, seed=11)
    first = build(engine, params)
    with session_factory(engine)() as s:
        digests = table_digests(s)
    truncate_all(engine)
    second = build(engine, params)
    with session_factory(engine)() as s:
        assert table_digests(s) == digests
    assert first.counts == second.counts and first.violations == second.violations
    truncate_all(engine)
    build(engine, DemoParams(customers=400, seed=12))
    with session_factory(engine)() as s:
        other = table_digests(s)
    assert other["customers"] != digests["customers"] and other["orders"] != digests["orders"]


def test_refuses_a_non_empty_database(engine: Engine, session: Session) -> None:
    create_unit(session, code="hq", name="总部", kind="company")
    session.commit()
    with pytest.raises(Conflict, match=r"not empty \(org_units: 1 rows\)"):
        build_demo(session, DemoParams(customers=200))
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Customer)) == 0


def test_rejects_silly_parameters(session: Session) -> None:
    with pytest.raises(Invalid, match="--customers 5"):
        build_demo(session, DemoParams(customers=5))


def test_cli_builds_then_reuses(cli_env: str, session: Session) -> None:
    result = runner.invoke(app, ["demo", "--customers", "300", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "demo accounts" in result.output and "guide-demo-2026" in result.output
    assert session.scalar(select(func.count()).select_from(Customer)) == 300

    again = runner.invoke(app, ["demo", "--customers", "300"])
    assert again.exit_code != 0
    assert isinstance(again.exception, Conflict) and "not empty" in again.exception.message

    reuse = runner.invoke(app, ["demo", "--if-empty"])
    assert reuse.exit_code == 0, reuse.output
    assert "demo brand already built" in reuse.output and "admin-demo-2026" in reuse.output
    assert session.scalar(select(func.count()).select_from(Customer)) == 300
    assert session.scalar(select(func.count()).select_from(Account)) == 7


def test_cli_if_empty_still_refuses_a_foreign_org(cli_env: str, session: Session) -> None:
    create_unit(session, code="hq", name="总部", kind="company")
    session.commit()
    result = runner.invoke(app, ["demo", "--if-empty", "--customers", "200", "--no-migrate"])
    assert result.exit_code != 0 and isinstance(result.exception, Conflict)
    assert session.scalar(select(func.count()).select_from(OrgUnit)) == 1


def test_cli_rejects_a_bad_date(cli_env: str) -> None:
    result = runner.invoke(app, ["demo", "--as-of", "2026-13-01"])
    assert result.exit_code != 0 and isinstance(result.exception, Invalid)
