"""`siyu compliance rules …`: install, import (all or nothing, row-numbered errors), export, switches."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from siyu.cli import app
from siyu.models.compliance import SensitiveRule, WhitelistPhrase


def count(engine: Engine, model: type) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_rules_commands(cli_env: str, engine: Engine, tmp_path: Path) -> None:
    run = CliRunner()
    first = run.invoke(app, ["compliance", "rules", "install-defaults"])
    assert first.exit_code == 0, first.output
    shipped = count(engine, SensitiveRule)
    assert shipped == 7 and "added 7 rule(s)" in first.output
    assert "added 0 rule(s)" in run.invoke(app, ["compliance", "rules", "install-defaults"]).output

    bad = tmp_path / "bad.csv"
    bad.write_text("category,name,terms,severity\nprivate_deal,新,走我个人,high\nabuse,坏,傻,urgent\n")
    result = run.invoke(app, ["compliance", "rules", "import", str(bad)])
    assert result.exit_code != 0
    assert "row 3, column severity" in result.output
    assert count(engine, SensitiveRule) == shipped

    good = tmp_path / "list.txt"
    good.write_text("竞品丙\n竞品丁\n", encoding="utf-8")
    args = ["compliance", "rules", "import", str(good), "--category", "competitor", "--name", "竞品清单"]
    result = run.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "created 1, replaced 0 rule(s); 2 term(s)" in result.output

    out = tmp_path / "rules.csv"
    assert run.invoke(app, ["compliance", "rules", "export", str(out)]).exit_code == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == shipped + 2

    added = run.invoke(app, ["compliance", "rules", "whitelist-add", "官方客服电话", "--category", "contact"])
    assert added.exit_code == 0, added.output
    assert count(engine, WhitelistPhrase) == 5
    switched = run.invoke(app, ["compliance", "rules", "category", "competitor", "--disable"])
    assert "competitor: off" in switched.output
