"""Drain N due journey step runs with W engine worker processes, verify exactly-once by SQL, against a naive baseline.

Run: .venv/bin/python bench/bench_journey_engine.py URL [--steps 1000000] [--workers 2] [--batch 5000]
     [--customers 200000] [--baseline-sample 1000]
URL is a PostgreSQL URL (a private schema is created and dropped) or a SQLite file URL (must not exist yet).
Seeds (through siyu.db.bulk) customers, scripts and four journeys, then one enrolment + one due step run per
step: 45 % send_script via loopback, 30 % the first step of a two-step journey (send now, task in 3 days, so
the engine also schedules next steps), 10 % send_script via the staff_task adapter, 15 % create_task.
The baseline (one transaction per step, ORM objects, definition parsed per step) runs first on a sample of
extra step runs and is extrapolated to N. Prints JSON: seed_s, wall_s, steps_per_s, per-worker counts,
duplicates and losses (both must be 0, counted by SQL over raw rows), the baseline and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, select, text
from sqlalchemy.orm import Session

from siyu.db.bulk import datetime_adapter, insert_rows
from siyu.db.engine import make_engine, session_factory
from siyu.db.migrate import upgrade
from siyu.db.types import utcnow
from siyu.models import (
    Customer,
    Journey,
    JourneyEnrolment,
    JourneyStatus,
    JourneyStepRun,
    JourneyVersion,
    OrgUnit,
    Script,
    ScriptApproval,
    Staff,
)

MIX = (("send", 45), ("two", 30), ("staff", 10), ("task", 15))


def _private(url: str) -> tuple[str, str | None]:
    if not url.startswith("postgresql"):
        return url, None
    schema = f"bench_journey_{uuid.uuid4().hex[:8]}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}", schema


def _definitions(script_id: int) -> dict[str, dict[str, Any]]:
    send = {"kind": "send_script", "channel": "loopback", "script_id": script_id}
    task = {"kind": "create_task", "title": "回访", "script_id": script_id}

    def one(*steps: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "trigger": {"kind": "manual"},
            "steps": [
                {"key": f"s{i}", "name": f"第{i}步", "delay": {"days": 3 * i}, "actions": a}
                for i, a in enumerate(steps)
            ],
            "quiet_hours": None,
        }

    return {
        "send": one([send]),
        "two": one([send], [task]),
        "staff": one([{**send, "channel": "staff_task"}]),
        "task": one([task]),
    }


def seed(session: Session, steps: int, customers: int) -> dict[str, int]:
    """Customers, a script, four journeys, then steps enrolments with one due step run each; journey ids by kind."""
    now = utcnow()
    unit = OrgUnit(kind="store", code="B1", name="静安店", path="/1/", depth=0)
    session.add(unit)
    session.flush()
    staff = [Staff(code=f"G{i}", name=f"导购{i}", unit_id=unit.id) for i in range(50)]
    session.add_all(staff)
    script = Script(
        title="回访", category="follow_up", body="{name}您好，我是{guide}", approval=ScriptApproval.approved
    )
    session.add(script)
    session.flush()
    to_db = datetime_adapter(session)
    staff_ids = [s.id for s in staff]
    insert_rows(
        session,
        cast(Table, Customer.__table__),
        ("name", "owner_staff_id", "marketing_opt_in"),
        [(f"顾客{i}", staff_ids[i % len(staff_ids)], i % 10 != 0) for i in range(customers)],
        constants={
            "source": "organic",
            "home_store_id": unit.id,
            "lifecycle_stage": "new",
            "points_balance": 0,
            "chat_archive_consent": False,
            "first_seen_at": now,
            "created_at": now,
        },
    )
    first = session.execute(select(Customer.id).order_by(Customer.id).limit(1)).scalar_one()
    journeys: dict[str, int] = {}
    for code, definition in _definitions(script.id).items():
        j = Journey(code=f"bench_{code}", name=code, status=JourneyStatus.active, current_version=1)
        session.add(j)
        session.flush()
        session.add(JourneyVersion(journey_id=j.id, version=1, definition=definition, created_at=now))
        journeys[code] = j.id
    session.flush()
    kinds = [code for code, share in MIX for _ in range(share)]
    entered = to_db(now - timedelta(minutes=5))
    chunk = 100_000
    for start in range(0, steps, chunk):
        idx = range(start, min(steps, start + chunk))
        insert_rows(
            session,
            cast(Table, JourneyEnrolment.__table__),
            ("id", "journey_id", "customer_id", "staff_id", "entry_key"),
            [
                (
                    i + 1,
                    journeys[kinds[i % 100]],
                    first + i % customers,
                    staff_ids[i % len(staff_ids)],
                    f"b{i}",
                )
                for i in idx
            ],
            constants={"version": 1, "status": "active", "entered_at": entered, "steps_done": 0},
        )
        insert_rows(
            session,
            cast(Table, JourneyStepRun.__table__),
            ("id", "enrolment_id", "journey_id", "customer_id"),
            [(i + 1, i + 1, journeys[kinds[i % 100]], first + i % customers) for i in idx],
            constants={"step_index": 0, "due_at": entered, "status": "pending", "attempts": 0},
        )
    if session.get_bind().dialect.name == "postgresql":
        for table in ("journey_enrolments", "journey_step_runs"):
            session.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")  # noqa: S608
            )
    return journeys


def baseline(url: str, sample: int) -> dict[str, Any]:
    """The naive engine: one transaction per step, ORM objects, definition parsed every time, one touch at a time."""
    from siyu.journeys.contract import JourneyDefinition, TouchRequest
    from siyu.journeys.render import RenderItem, render_many
    from siyu.journeys.sending import queue_touches
    from siyu.models import StaffTask, StepRunStatus

    sessions = session_factory(make_engine(url))
    with sessions() as s:
        ids = list(
            s.execute(select(JourneyStepRun.id).order_by(JourneyStepRun.id.desc()).limit(sample)).scalars()
        )
    started = time.perf_counter()
    for run_id in ids:
        with sessions() as s:
            now = utcnow()
            run = s.get_one(JourneyStepRun, run_id)
            en = s.get_one(JourneyEnrolment, run.enrolment_id)
            doc = s.execute(
                select(JourneyVersion.definition).where(
                    JourneyVersion.journey_id == run.journey_id, JourneyVersion.version == en.version
                )
            ).scalar_one()
            step = JourneyDefinition.model_validate(doc).steps[run.step_index]
            for i, a in enumerate(step.actions):
                key = f"step:{run.id}:{i}"
                if a.kind == "send_script":
                    request = TouchRequest(
                        key, "journey_step", run.id, a.channel, a.script_id or 0, run.customer_id
                    )
                    queue_touches(s, [request], now)
                else:
                    body = render_many(s, [RenderItem(a.script_id or 0, run.customer_id, en.staff_id)])[0]
                    s.add(
                        StaffTask(
                            kind=a.task_kind,
                            title=a.title or step.name,
                            staff_id=en.staff_id or 0,
                            customer_id=run.customer_id,
                            due_at=now + timedelta(hours=a.due_hours),
                            body=body,
                            script_id=a.script_id,
                            idempotency_key=key,
                        )
                    )
            run.status, run.done_at, run.attempts = StepRunStatus.done, now, run.attempts + 1
            s.commit()
    elapsed = time.perf_counter() - started
    return {"sample": len(ids), "seconds": round(elapsed, 2), "steps_per_s": round(len(ids) / elapsed, 1)}


def verify(session: Session, total: int) -> dict[str, int]:
    """Counted over raw rows: every seeded run done once, every effect present once, nothing due left."""
    q = session.execute
    due_left = q(
        text("SELECT count(*) FROM journey_step_runs WHERE status = 'pending' AND step_index = 0")
    ).scalar_one()
    done = q(
        text("SELECT count(*) FROM journey_step_runs WHERE step_index = 0 AND status = 'done'")
    ).scalar_one()
    dup_out = q(
        text(
            "SELECT count(*) FROM (SELECT idempotency_key FROM outbound_messages GROUP BY 1 HAVING count(*) > 1) d"
        )
    ).scalar_one()
    dup_task = q(
        text(
            "SELECT count(*) FROM (SELECT idempotency_key FROM staff_tasks WHERE idempotency_key IS NOT NULL"
            " GROUP BY 1 HAVING count(*) > 1) d"
        )
    ).scalar_one()
    # A seeded run whose effect is missing: no outbound row (send journeys) / no task (task journey) for its key.
    lost = q(
        text(
            "SELECT count(*) FROM journey_step_runs r JOIN journeys j ON j.id = r.journey_id"
            " WHERE r.step_index = 0 AND ("
            " (j.code <> 'bench_task' AND NOT EXISTS (SELECT 1 FROM outbound_messages o"
            "   WHERE o.idempotency_key = 'step:' || r.id || ':' || '0'))"
            " OR (j.code = 'bench_task' AND NOT EXISTS (SELECT 1 FROM staff_tasks t"
            "   WHERE t.idempotency_key = 'step:' || r.id || ':' || '0')))"
        )
    ).scalar_one()
    attempts_gt1 = q(text("SELECT count(*) FROM journey_step_runs WHERE attempts > 1")).scalar_one()
    scheduled = q(text("SELECT count(*) FROM journey_step_runs WHERE step_index = 1")).scalar_one()
    return {
        "seeded": total,
        "done": int(done),
        "due_left": int(due_left),
        "duplicates": int(dup_out) + int(dup_task),
        "losses": int(lost) + int(due_left),
        "attempts_over_1": int(attempts_gt1),
        "next_steps_scheduled": int(scheduled),
    }


def worker_main(url: str, name: str, batch: int) -> None:
    """One engine worker process: drain everything due, print its totals as JSON."""
    from siyu.journeys.jobs import run_until_empty

    started = time.perf_counter()
    totals = run_until_empty(make_engine(url), batch_size=batch, budget_seconds=None, worker_name=name)
    usage = resource.getrusage(resource.RUSAGE_SELF)  # CPU of this process (the database's is separate)
    cpu = round(usage.ru_utime + usage.ru_stime, 2)
    print(
        json.dumps(
            {"worker": name, **totals, "seconds": round(time.perf_counter() - started, 2), "cpu_s": cpu}
        )
    )


def main() -> None:
    """Seed, run the baseline on a sample, run the workers, verify, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--baseline-sample", type=int, default=1000)
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL schema")
    parser.add_argument("--worker-mode", nargs=2, metavar=("NAME", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker_mode:
        worker_main(args.url, args.worker_mode[0], int(args.worker_mode[1]))
        return
    url, schema = _private(args.url)
    engine = make_engine(url)
    with engine.begin() as conn:
        upgrade(str(engine.url), connection=conn)
    result: dict[str, Any] = {
        "benchmark": "journey_engine",
        "dialect": engine.dialect.name,
        "steps": args.steps,
        "workers": args.workers,
        "batch": args.batch,
        "loadavg_before": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        t0 = time.perf_counter()
        with session_factory(engine)() as s:
            seed(s, args.steps + args.baseline_sample, args.customers)
            s.commit()
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        result["seed_s"] = round(time.perf_counter() - t0, 1)
        if args.baseline_sample:
            b = baseline(url, args.baseline_sample)
            b["extrapolated_s_for_steps"] = round(args.steps / b["steps_per_s"], 1)
            result["baseline"] = b
        script = str(Path(__file__).resolve())
        t1 = time.perf_counter()
        procs = [
            subprocess.Popen(
                [sys.executable, script, url, "--worker-mode", f"w{i}", str(args.batch)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for i in range(args.workers)
        ]
        workers = []
        for p in procs:
            out, err = p.communicate()
            if p.returncode != 0:
                raise SystemExit(f"worker failed: {err.decode()[-2000:]}")
            workers.append(json.loads(out.decode().strip().splitlines()[-1]))
        wall = time.perf_counter() - t1
        result["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
        result["wall_s"] = round(wall, 2)
        result["per_worker"] = workers
        processed = sum(w["claimed"] for w in workers)
        result["engine_steps"] = processed
        result["steps_per_s"] = round(processed / wall, 1)
        with session_factory(engine)() as s:
            result["check"] = verify(s, args.steps + args.baseline_sample)
            by_worker = s.execute(
                text("SELECT worker, count(*) FROM journey_step_runs WHERE status = 'done' GROUP BY worker")
            ).all()
            result["done_by_worker_sql"] = {str(w): int(n) for w, n in by_worker}
        if "baseline" in result:
            result["speedup_vs_baseline"] = round(
                result["steps_per_s"] / result["baseline"]["steps_per_s"], 1
            )
    finally:
        engine.dispose()
        if schema and not args.keep:
            drop = make_engine(args.url)
            with drop.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            drop.dispose()
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
