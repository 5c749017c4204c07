"""Retention purge: only rows older than the window are blanked, rows stay, audited, dry run changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from siyu.cli import app
from siyu.compliance.ingest import ingest_records
from siyu.compliance.retention import purge
from siyu.db.engine import session_factory
from siyu.models import AuditLog, ChatMessage
from siyu.models.compliance import SensitiveIncident
from siyu.org.permissions import SYSTEM_ACTOR
from tests.compliance.c4_support import World, count, send, world_fixture  # noqa: F401

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _seed(engine: Engine) -> None:
    def at(days: float) -> int:
        return int((NOW - timedelta(days=days)).timestamp() * 1000)

    records = [
        send("old", "zhangsan", "wmCust0001", "加微信 old", at(365) - 1),
        send("edge", "zhangsan", "wmCust0001", "加微信 edge", at(365)),  # exactly at the cutoff: kept
        send("new", "zhangsan", "wmCust0001", "加微信 new", at(10)),
        {**send("pic", "zhangsan", "wmCust0001", "", at(400)), "msgtype": "image", "image": {"md5sum": "x"}},
    ]
    with session_factory(engine)() as s:
        ingest_records(s, records, SYSTEM_ACTOR)
        s.commit()


def test_purge_blanks_only_old_rows(engine: Engine, world: World) -> None:
    _seed(engine)
    with session_factory(engine)() as s:
        dry = purge(s, days=365, now=NOW, dry_run=True)
        assert (dry.messages, dry.incidents) == (2, 1)
        assert count(s, ChatMessage, ChatMessage.purged_at.is_not(None)) == 0
        out = purge(s, days=365, now=NOW)
        s.commit()
        assert (out.messages, out.incidents) == (2, 1)
        rows = {m.msgid: m for m in s.scalars(select(ChatMessage))}
        assert len(rows) == 4  # rows stay for the metrics
        assert rows["old"].text is None and rows["old"].purged_at is not None
        assert rows["pic"].payload is None and rows["pic"].purged_at is not None
        assert rows["edge"].text == "加微信 edge" and rows["new"].text == "加微信 new"
        matched = {
            m: i
            for m, i in s.execute(
                select(ChatMessage.msgid, SensitiveIncident.matched).join(SensitiveIncident)
            )
        }
        assert matched == {"old": None, "edge": "加微信", "new": "加微信"}
        assert count(s, AuditLog, AuditLog.action == "compliance.purge") == 1
        assert purge(s, days=365, now=NOW).messages == 0  # already purged


def test_zero_keeps_forever_and_cli(engine: Engine, world: World, cli_env: str, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    _seed(engine)
    with session_factory(engine)() as s:
        assert purge(s, days=0, now=NOW).cutoff is None
    monkeypatch.setenv("SIYU_CHAT_RETENTION_DAYS", "0")
    from siyu.config import get_settings

    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["compliance", "purge"])
    assert "retention is off" in result.output
    # The CLI purges against the real clock: a window that keeps "new" (NOW − 10 days) whenever this runs.
    monkeypatch.setenv("SIYU_CHAT_RETENTION_DAYS", str((datetime.now(UTC) - NOW).days + 20))
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["compliance", "purge", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would blank 3 message(s)" in result.output
