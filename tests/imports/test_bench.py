"""The import benchmark runs end to end on a small file; large SQLite loads defer their indexes safely."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from siyu.db.bulk import deferred_indexes
from siyu.db.engine import session_factory
from siyu.models import Event, Order

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import bench_import


def test_bench_small(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    result = bench_import.main(["--rows", "3000", "--workdir", str(tmp_path), "--out", str(out)])
    assert "error" not in result
    assert result["rows"] == 3000 and result["job_status"] == "succeeded"
    assert 1000 < int(str(result["orders"])) < 3000 and result["order_lines"] == 3000
    assert json.loads(out.read_text())["rows_per_s"] == result["rows_per_s"]


def _indexes(engine: Engine, table: str) -> set[str]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", (table,)
        )
        return {r[0] for r in rows}


def test_deferred_indexes_come_back(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("indexes are only deferred on SQLite")
    before = _indexes(engine, "orders")
    assert "ix_orders_paid_at" in before
    tables = [Order.__table__, Event.__table__]
    with session_factory(engine)() as s:
        with deferred_indexes(s, tables, new_rows=10, min_rows=0):  # type: ignore[arg-type]
            names = {
                r[0]
                for r in s.connection().exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE tbl_name='orders'"
                )
            }
            assert "ix_orders_paid_at" not in names
            assert any(n.startswith("sqlite_autoindex") for n in names)  # the unique key stays enforced
        s.commit()
    assert _indexes(engine, "orders") == before
    with session_factory(engine)() as s:
        with pytest.raises(RuntimeError), deferred_indexes(s, tables, new_rows=10, min_rows=0):  # type: ignore[arg-type]
            raise RuntimeError("boom")
        s.rollback()
    assert _indexes(engine, "orders") == before


def test_foreign_keys_come_back_after_a_bulk_load(engine: Engine) -> None:
    from siyu.db.bulk import suspend_foreign_keys

    if engine.dialect.name != "sqlite":
        pytest.skip("foreign-key checks are only suspended on SQLite")
    with session_factory(engine)() as s:
        assert suspend_foreign_keys(s, new_rows=10, min_rows=0)
        assert s.connection().exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 0
        s.connection().exec_driver_sql("UPDATE customers SET id = id WHERE id < 0")  # the transaction starts
        assert not suspend_foreign_keys(s, new_rows=10, min_rows=0)  # too late inside a transaction
        s.commit()
    for _ in range(3):  # whichever pooled connection comes next has its checks back on
        with session_factory(engine)() as s:
            assert s.connection().exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    with session_factory(engine)() as s:
        assert not suspend_foreign_keys(s, new_rows=10)  # small loads keep the row-by-row checks


def test_large_load_keeps_the_database_whole(tmp_path: Path) -> None:
    import sqlite3

    result = bench_import.main(["--rows", "75000", "--workdir", str(tmp_path)])  # above the bulk thresholds
    assert "error" not in result and int(str(result["orders"])) > 50_000
    db = sqlite3.connect(tmp_path / "bench.db")
    try:
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"ix_orders_customer_paid", "ix_events_customer_occurred", "ix_order_lines_order_id"} <= names
        events = db.execute("SELECT count(*) FROM events WHERE kind = 'ordered'").fetchone()[0]
        assert events == result["orders"]
    finally:
        db.close()
