"""`siyu journeys create|list|activate|pause|templates|copy-template|scan|show` on the test database."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine
from typer.testing import CliRunner

from siyu.cli import app
from siyu.db.engine import session_factory
from tests.journeys.j2_world import build, definition


def test_cli_round_trip(cli_env: str, engine: Engine, tmp_path: Path) -> None:
    with session_factory(engine)() as s:
        w = build(s)
        s.commit()
    path = tmp_path / "def.json"
    path.write_text(json.dumps(definition(w.scripts["approved"])), encoding="utf-8")
    runner = CliRunner()
    created = runner.invoke(
        app, ["journeys", "create", "--code", "cli-j", "--name", "命令行", "--file", str(path)]
    )
    assert created.exit_code == 0, created.output
    journey_id = created.output.split()[2]
    assert runner.invoke(app, ["journeys", "activate", journey_id]).exit_code == 0
    listed = runner.invoke(app, ["journeys", "list"])
    assert "cli-j\tactive\tv1\tmanual\t0/0/0/0" in listed.output
    assert runner.invoke(app, ["journeys", "pause", journey_id]).output.strip().endswith("paused")
    templates = runner.invoke(app, ["journeys", "templates"])
    assert "group_warmup" in templates.output
    copied = runner.invoke(
        app,
        [
            "journeys",
            "copy-template",
            "holiday_greeting",
            "--code",
            "hol",
            "--script",
            f"holiday_greeting={w.scripts['pending']}",
        ],
    )
    assert copied.exit_code == 0 and "pick a script" not in copied.output
    scanned = runner.invoke(app, ["journeys", "scan"])
    assert scanned.exit_code == 0 and json.loads(scanned.output)["journeys"] == 0
    shown = json.loads(runner.invoke(app, ["journeys", "show", journey_id]).output)
    assert shown["journey"]["code"] == "cli-j" and shown["versions"][0]["version"] == 1
    bad = runner.invoke(app, ["journeys", "activate", "99999"])
    assert bad.exit_code != 0
