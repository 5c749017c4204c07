"""The root CLI: schema commands, accounts and API tokens."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from siyu.cli import app
from siyu.db.migrate import heads
from siyu.models import Account, ApiToken
from siyu.org.service import create_unit
from siyu.org.tokens import authenticate_token, hash_token
from siyu.timeutil import day_range_utc, local_date

runner = CliRunner()


def test_db_heads_prints_single_head() -> None:
    result = runner.invoke(app, ["db", "heads"])
    assert result.exit_code == 0, result.output
    assert result.output.split() == heads()


def test_db_upgrade_is_idempotent(cli_env: str) -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output


def test_user_and_token_create(cli_env: str, session: Session) -> None:
    result = runner.invoke(
        app, ["user", "create", "lead", "--role", "private_domain_lead"], input="s3cret-pass\ns3cret-pass\n"
    )
    assert result.exit_code == 0, result.output
    account = session.scalar(select(Account).where(Account.username == "lead"))
    assert account is not None and account.password_hash and "s3cret" not in account.password_hash
    result = runner.invoke(app, ["token", "create", "lead", "--name", "bi"])
    assert result.exit_code == 0, result.output
    clear = result.output.strip().splitlines()[-1]
    assert clear.startswith("siyu_")
    stored = session.scalar(select(ApiToken.token_hash).where(ApiToken.name == "bi"))
    assert stored == hash_token(clear) and clear not in (stored or "")
    assert authenticate_token(session, clear).username == "lead"


def test_user_create_rejects_bad_input(cli_env: str) -> None:
    result = runner.invoke(app, ["user", "create", "x", "--role", "boss"], input="longenough\nlongenough\n")
    assert result.exit_code != 0
    assert "role 'boss' is not one of" in str(result.exception)
    result = runner.invoke(app, ["user", "create", "y", "--scope", "unit"], input="longenough\nlongenough\n")
    assert "needs --unit" in str(result.exception)


def test_token_for_unknown_user(cli_env: str) -> None:
    result = runner.invoke(app, ["token", "create", "ghost"])
    assert result.exit_code != 0
    assert "account 'ghost' does not exist" in str(result.exception)


def test_org_unit_paths_make_subtrees(engine: Engine, session: Session) -> None:
    company = create_unit(session, code="hq", name="总部", kind="company")
    east = create_unit(session, code="east", name="华东", kind="region", parent_code="hq")
    store = create_unit(session, code="sh01", name="上海一店", kind="store", parent_code="east")
    assert store.path == f"/{company.id}/{east.id}/{store.id}/"
    assert store.depth == 2


def test_day_cut_in_brand_zone() -> None:
    late_evening = datetime(2024, 3, 1, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    assert local_date(late_evening) == date(2024, 3, 1)
    start, end = day_range_utc(date(2024, 3, 1), date(2024, 3, 1))
    assert start == datetime(2024, 2, 29, 16, 0, tzinfo=UTC)
    assert end == datetime(2024, 3, 1, 16, 0, tzinfo=UTC)
    assert start <= late_evening < end
