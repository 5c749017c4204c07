"""The script library and task inbox in Chromium (journeys.mjs): make sure the demo has what it needs, run, assert."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from siyu.compliance.normalise import fold
from siyu.db.engine import make_engine, session_factory
from siyu.journeys.scripts_repository import search_text_of
from siyu.models import Account, Script, ScriptApproval, StaffTask, TaskStatus
from siyu.timeutil import day_range_utc, local_date
from siyu.web.i18n import translations

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("journeys.mjs")
QUERY = "會員日"  # traditional: must find the simplified 会员日 scripts


def ensure_data(db: Path) -> int:
    """Top up the demo if a seed is not wired yet: an approved 会员日 script and an open task of the guide today."""
    engine = make_engine(f"sqlite:///{db}")
    try:
        with session_factory(engine)() as s:
            staff_id = s.scalar(select(Account.staff_id).where(Account.username == "guide"))
            assert staff_id is not None, "the demo's guide account has no staff member"
            folded = fold(QUERY)
            if not s.scalar(
                select(func.count()).select_from(Script).where(Script.search_text.contains(folded))
            ):
                body = "{name}，本周六会员日全场95折，{guide}帮您留货"
                s.add(
                    Script(
                        title="会员日预告",
                        category="promotion",
                        scenario="会员日",
                        body=body,
                        approval=ScriptApproval.approved,
                        usage_count=0,
                        search_text=search_text_of("会员日预告", "会员日", body),
                    )
                )
            now = datetime.now(UTC)
            _, end = day_range_utc(local_date(now), local_date(now))
            has_task = s.scalar(
                select(func.count())
                .select_from(StaffTask)
                .where(
                    StaffTask.staff_id == staff_id,
                    StaffTask.status == TaskStatus.open,
                    StaffTask.due_at < end,
                    StaffTask.body.is_not(None),
                )
            )
            if not has_task:
                s.add(
                    StaffTask(
                        kind="moments_post",
                        title="朋友圈：会员日",
                        staff_id=staff_id,
                        due_at=now + timedelta(minutes=30),
                        status=TaskStatus.open,
                        body="本周六会员日全场95折＋积分双倍！",
                        origin="content-pack",
                    )
                )
            s.commit()
            return int(staff_id)
    finally:
        engine.dispose()


def _facts(db: Path, staff_id: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    _, end = day_range_utc(local_date(now), local_date(now))
    fmt = "%Y-%m-%d %H:%M:%S"
    with sqlite3.connect(db) as conn:
        scripts = {
            i: (title, usage, text, approval)
            for i, title, usage, text, approval in conn.execute(
                "SELECT id, title, usage_count, search_text, approval FROM scripts"
            )
        }
        open_ids = {
            r[0]
            for r in conn.execute(
                "SELECT id FROM staff_tasks WHERE staff_id = ? AND status = 'open' AND due_at < ?",
                (staff_id, end.strftime(fmt)),
            )
        }
    return {"scripts": scripts, "open": open_ids}


def run_and_check(url: str, db: Path) -> None:
    """Run journeys.mjs against the served demo and check what it saw against the tables."""
    staff_id = ensure_data(db)
    before = _facts(db, staff_id)
    options: dict[str, Any] = {"query": QUERY}
    if os.environ.get("SIYU_SCREENSHOTS") == "1":
        options["screenshots"] = str(ROOT / "docs" / "screenshots")
    run = subprocess.run(
        ["node", str(SCRIPT), url, json.dumps(options)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen["errors"] == []

    # The traditional query found exactly the non-retired scripts whose folded text holds 会员日, usage as stored.
    folded = fold(QUERY)
    expected = {
        i
        for i, (_, _, text, approval) in before["scripts"].items()
        if folded in text and approval != "retired"
    }
    rows = seen["search"]["rows"]
    assert rows and {r["id"] for r in rows} == expected
    assert all(r["usage"] == before["scripts"][r["id"]][1] for r in rows)
    assert all(r["title"] == before["scripts"][r["id"]][0] for r in rows)
    detail = seen["detail"]
    assert before["scripts"][detail["id"]][0] in detail["title"]
    assert detail["preview"] and "{" not in detail["preview"]  # every variable filled with a sample value

    # The inbox lists exactly the guide's open tasks due by tonight; overdue ones are highlighted.
    inbox = seen["inbox"]
    assert set(inbox["tasks"]) == before["open"]
    assert set(inbox["overdue"]) <= set(inbox["tasks"]) and inbox["overdue_count"] == len(inbox["overdue"])
    assert inbox["open_today"] + inbox["overdue_count"] == len(inbox["tasks"])

    # Copy: the clipboard holds the task's text, or at least the button says it copied.
    copy = seen["copy"]
    assert copy["clipboard"] == copy["text"] or copy["label"] == translations("zh").gettext("Copied")

    # Mark done: the task is closed, a task_done event exists, and it left the inbox.
    done = seen["done"]
    assert done["still_listed"] is False
    with sqlite3.connect(db) as conn:
        status, done_at = conn.execute(
            "SELECT status, done_at FROM staff_tasks WHERE id = ?", (done["id"],)
        ).fetchone()
        events = conn.execute(
            "SELECT count(*) FROM events WHERE kind = 'task_done' AND subject_type = 'staff_task' AND subject_id = ?",
            (done["id"],),
        ).fetchone()[0]
    assert status == "done" and done_at is not None and events == 1
