"""`siyu segments create|count|list|show|update|sizes` on the test database, through the same service."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine, select
from typer.testing import CliRunner

from siyu.cli import app
from siyu.db.engine import session_factory
from siyu.db.types import utcnow
from siyu.models import SegmentSize
from tests.segments.brute import Brute
from tests.segments.world import World


def test_cli_round_trip(cli_env: str, world: World, engine: Engine, tmp_path: Path) -> None:
    rule = {"version": 1, "rule": {"not": {"field": "tag", "op": "any", "value": world.tags[:2]}}}
    path = tmp_path / "rule.json"
    path.write_text(json.dumps(rule), encoding="utf-8")
    runner = CliRunner()
    expected = len(Brute(world, utcnow()).ids(rule))
    counted = runner.invoke(app, ["segments", "count", str(path)])
    assert counted.exit_code == 0, counted.output
    assert counted.output.strip() == str(expected)
    created = runner.invoke(app, ["segments", "create", "--name", "无兴趣标签", str(path)])
    assert created.exit_code == 0 and "v1" in created.output
    sized = runner.invoke(app, ["segments", "sizes"])
    assert sized.exit_code == 0 and f"\t{expected}" in sized.output
    listed = runner.invoke(app, ["segments", "list"])
    assert "无兴趣标签" in listed.output and f"{expected} on" in listed.output
    shown = runner.invoke(app, ["segments", "show", "1"])
    assert json.loads(shown.output)["versions"][0]["rule"] == rule
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"version": 1, "rule": {"field": "tag", "op": "any", "value": [999999]}}), encoding="utf-8"
    )
    refused = runner.invoke(app, ["segments", "update", "1", str(bad)])
    assert refused.exit_code != 0 and "rule.value: tag 999999 does not exist" in str(refused.exception)
    with session_factory(engine)() as s:
        assert s.scalars(select(SegmentSize.customers)).all() == [expected]
