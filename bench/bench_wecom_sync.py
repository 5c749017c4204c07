"""WeCom full sync against the fake WeCom server (uvicorn on loopback): rate, API calls, kill -9 and resume.

Run: .venv/bin/python bench/bench_wecom_sync.py [URL] [--staff 50] [--customers 10000] [--groups 100]
     [--kill-at 0.4] [--baseline-sample 300]
URL: a PostgreSQL URL (private schemas are created and dropped) or nothing (SQLite files in a temp dir).
1. Uninterrupted: a full sync in a subprocess into database A. Rate = distinct customers / contacts-stage
   seconds and over the whole run; API calls per API from the fake's call log, and the busiest minute of
   each API against WeCom's 10,000 calls/min/API.
2. Killed: the same full sync into database B in a subprocess, SIGKILLed once the contacts stage has
   saved kill-at of the follows; a second subprocess resumes the run (siyu wecom sync --resume semantics).
   B must hold exactly A's rows (compared on natural keys: external userids, WeCom tag ids, chat ids…).
3. Baseline, same run: the naive sync (externalcontact/list per member, then externalcontact/get and one
   commit per customer) on a sample, extrapolated.
Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from siyu.db.engine import make_engine, session_factory
from siyu.db.migrate import upgrade
from siyu.models import (
    ChannelMembership,
    ChatGroup,
    Customer,
    CustomerIdentity,
    CustomerTag,
    Event,
    OrgUnit,
    Staff,
    Tag,
    TagGroup,
    WecomBehaviorSnapshot,
    WecomGroupStatSnapshot,
    WecomSyncRun,
)
from siyu.models.enums import IdentityKind, OrgUnitKind

WECOM_LIMIT_PER_MINUTE = 10_000


def _database(url: str | None, tmp: Path, name: str) -> tuple[str, str | None]:
    if url is None:
        return f"sqlite:///{tmp / (name + '.db')}", None
    schema = f"bench_wecom_{name}_{uuid.uuid4().hex[:8]}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}", schema


def _drop(url: str, schema: str | None) -> None:
    if schema is None:
        return
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    engine.dispose()


def _prepare(url: str, staff: int) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        upgrade(url, "head", connection=conn)
    with session_factory(engine)() as s:
        store = OrgUnit(kind=OrgUnitKind.store, code="S1", name="门店1", path="/1/", depth=0)
        s.add(store)
        s.flush()
        s.add_all(
            Staff(code=f"G{i:04d}", name=f"导购{i:02d}", unit_id=store.id, wecom_userid=f"staff{i:04d}")
            for i in range(1, staff + 1)
        )
        s.commit()
    engine.dispose()


# --- the worker subprocess -----------------------------------------------------------------------


def worker(url: str, base_url: str, corp_id: str, secret: str, resume: bool) -> None:
    """Run (or resume) a full sync; print JSON with the seconds spent per stage."""
    from datetime import timedelta

    from siyu.channels.wecom.client import WecomClient
    from siyu.wecom.sync_service import sync_now

    engine = make_engine(url)
    session = session_factory(engine)()
    stage_seconds: dict[str, float] = {}
    last_stage = [""]
    last_at = [time.perf_counter()]

    def progress(run: WecomSyncRun) -> None:
        now = time.perf_counter()
        key = last_stage[0] or run.stage
        stage_seconds[key] = stage_seconds.get(key, 0.0) + now - last_at[0]
        last_stage[0], last_at[0] = run.stage, now

    started = time.perf_counter()
    with WecomClient(corp_id, secret, base_url=base_url) as client:
        run = sync_now(
            session,
            client,
            "full",
            session.commit,
            resume=resume,
            on_progress=progress,
            stale_after=timedelta(0),
        )
    out = {
        "run": run.id,
        "status": run.status.value,
        "seconds": round(time.perf_counter() - started, 2),
        "stage_seconds": {k: round(v, 2) for k, v in stage_seconds.items()},
        "api_calls": run.api_calls,
        "counts": run.counts,
    }
    print(json.dumps(out, ensure_ascii=False))


def _spawn(url: str, fake: Any, resume: bool = False) -> subprocess.Popen[str]:
    args = [sys.executable, __file__, "--worker", url, fake.base_url, fake.corp.corp_id, fake.corp.secret]
    if resume:
        args.append("--resume")
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"sync worker failed ({proc.returncode}):\n{err[-3000:]}")
    return dict(json.loads(out.strip().splitlines()[-1]))


# --- comparing two databases on natural keys ----------------------------------------------------


def snapshot(url: str) -> dict[str, set[Any]]:
    """Every synced row keyed by WeCom's ids, not Siyu's (ids differ between databases)."""
    engine = make_engine(url)
    with session_factory(engine)() as s:
        ext = dict(
            (c, v)
            for c, v in s.execute(
                select(CustomerIdentity.customer_id, CustomerIdentity.value).where(
                    CustomerIdentity.kind == IdentityKind.wecom_external_userid
                )
            )
        )
        staff = dict((i, u) for i, u in s.execute(select(Staff.id, Staff.wecom_userid)))
        chats = dict((i, e) for i, e in s.execute(select(ChatGroup.id, ChatGroup.external_id)))
        tags = dict((i, (w, n)) for i, w, n in s.execute(select(Tag.id, Tag.wecom_tag_id, Tag.name)))
        out: dict[str, set[Any]] = {
            "customers": {
                (
                    ext.get(c.id),
                    c.name,
                    c.gender,
                    c.source.value,
                    c.source_channel_code,
                    c.first_seen_at,
                    staff.get(c.owner_staff_id),
                )
                for c in s.scalars(select(Customer))
            },
            "identities": {
                (ext.get(c), k.value, v)
                for c, k, v in s.execute(
                    select(CustomerIdentity.customer_id, CustomerIdentity.kind, CustomerIdentity.value)
                )
            },
            "memberships": {
                (
                    ext.get(m.customer_id),
                    m.channel.value,
                    staff.get(m.staff_id),
                    chats.get(m.group_id),
                    m.channel_code,
                    m.add_way,
                    m.remark,
                    m.join_scene,
                    m.joined_at,
                    m.left_at,
                )
                for m in s.scalars(select(ChannelMembership))
            },
            "customer_tags": {
                (ext.get(c), tags[t])
                for c, t in s.execute(select(CustomerTag.customer_id, CustomerTag.tag_id))
            },
            "tags": {
                (w, n, g)
                for w, n, g in s.execute(
                    select(Tag.wecom_tag_id, Tag.name, TagGroup.wecom_group_id).join(TagGroup)
                )
            },
            "groups": {
                (g.external_id, g.name, staff.get(g.owner_staff_id)) for g in s.scalars(select(ChatGroup))
            },
            "behaviour": {
                (
                    staff.get(b.staff_id),
                    b.day,
                    b.chat_cnt,
                    b.message_cnt,
                    b.reply_percentage,
                    b.avg_reply_time,
                    b.new_contact_cnt,
                )
                for b in s.scalars(select(WecomBehaviorSnapshot))
            },
            "group_stats": {
                (staff.get(g.staff_id), g.day, g.chat_total, g.member_total, g.msg_total)
                for g in s.scalars(select(WecomGroupStatSnapshot))
            },
            # Tag and leave events happen "now" (WeCom gives no time for them): compared without the time.
            "events": {
                (
                    e.kind,
                    ext.get(e.customer_id),
                    staff.get(e.staff_id),
                    e.occurred_at if e.kind == "joined_channel" else None,
                    json.dumps(_natural(e.data, chats), sort_keys=True),
                )
                for e in s.scalars(select(Event))
            },
        }
        # Duplicates would vanish in sets: count raw rows too.
        out["row_counts"] = {
            (name, int(s.scalar(text(f"SELECT COUNT(*) FROM {table}")) or 0))  # noqa: S608
            for name, table in (
                ("customers", "customers"),
                ("identities", "customer_identities"),
                ("memberships", "channel_memberships"),
                ("customer_tags", "customer_tags"),
                ("events", "events"),
            )
        }
    engine.dispose()
    return out


def _natural(data: Any, chats: dict[int, str]) -> Any:
    if isinstance(data, dict) and "group_id" in data:
        return {**data, "group_id": chats.get(data["group_id"])}
    return data


# --- the naive baseline -------------------------------------------------------------------------


def baseline(url: str, fake: Any, sample: int) -> dict[str, Any]:
    """externalcontact/list per member, then externalcontact/get + upsert + commit per customer (a sample)."""
    from siyu.channels.wecom.client import WecomClient
    from siyu.db.types import utcnow
    from siyu.wecom.contacts import upsert_contacts

    engine = make_engine(url)
    session: Session = session_factory(engine)()
    fake.corp.reset_calls()
    started = time.perf_counter()
    done = 0
    with WecomClient(fake.corp.corp_id, fake.corp.secret, base_url=fake.base_url) as client:
        seen: set[str] = set()
        for userid in client.get_follow_user_list():
            for ext in client.list_external_contacts(userid):
                if ext in seen or done >= sample:
                    continue
                seen.add(ext)
                detail = client.get_external_contact(ext)
                upsert_contacts(session, detail.rows(), utcnow())
                session.commit()
                done += 1
            if done >= sample:
                break
        calls = client.calls
    seconds = time.perf_counter() - started
    session.close()
    engine.dispose()
    return {
        "customers": done,
        "seconds": round(seconds, 2),
        "customers_per_s": round(done / seconds, 1),
        "api_calls": calls,
        "api_calls_per_customer": round(calls / max(done, 1), 2),
    }


# --- main ---------------------------------------------------------------------------------------


def _progress(url: str) -> tuple[str, int, int]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as s:
            run = s.scalars(select(WecomSyncRun).order_by(WecomSyncRun.id.desc()).limit(1)).first()
            return ("", 0, 0) if run is None else (run.stage, run.progress_done, run.progress_total)
    except Exception:  # SQLite busy while the worker commits: ask again
        return ("", 0, 0)
    finally:
        engine.dispose()


def main() -> None:
    """Seed the fake, sync A, sync B with a kill -9 and resume, compare, baseline, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url", nargs="?", default=None)
    parser.add_argument("--staff", type=int, default=50)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--kill-at", type=float, default=0.4)
    parser.add_argument("--baseline-sample", type=int, default=300)
    args = parser.parse_args()

    from fake_wecom.corp import FakeCorp
    from fake_wecom.server import FakeServer

    corp = FakeCorp()
    corp.seed(staff=args.staff, customers=args.customers, groups=args.groups, seed=1)
    follows = sum(len(f) for f in corp.follows_by_user.values())
    result: dict[str, Any] = {
        "staff": args.staff,
        "customers": len(corp.contacts),
        "follows": follows,
        "groups": len(corp.groups),
        "database": "postgresql" if args.url else "sqlite",
        "load_avg_before": os.getloadavg()[0],
    }
    with tempfile.TemporaryDirectory(prefix="siyu-bench-wecom-") as tmp, FakeServer(corp) as fake:
        url_a, schema_a = _database(args.url, Path(tmp), "a")
        url_b, schema_b = _database(args.url, Path(tmp), "b")
        url_c, schema_c = _database(args.url, Path(tmp), "c")
        try:
            for url in (url_a, url_b, url_c):
                _prepare(url, args.staff)
            # 1. uninterrupted
            corp.reset_calls()
            a = _finish(_spawn(url_a, fake))
            contacts_s = a["stage_seconds"].get("contacts", a["seconds"])
            calls = corp.call_counts()
            result["uninterrupted"] = {
                **a,
                "customers_per_s_contacts_stage": round(len(corp.contacts) / contacts_s, 1),
                "customers_per_s_whole_run": round(len(corp.contacts) / a["seconds"], 1),
                "calls_per_api": dict(sorted(calls.items())),
                "max_calls_per_minute_per_api": {
                    api: corp.max_calls_per_minute(api) for api in sorted(calls)
                },
                "wecom_limit_per_minute_per_api": WECOM_LIMIT_PER_MINUTE,
            }
            # 2. kill -9 mid contacts stage, then resume
            corp.reset_calls()
            proc = _spawn(url_b, fake)
            target = int(follows * args.kill_at)
            killed_at: tuple[str, int, int] = ("", 0, 0)
            while proc.poll() is None:
                stage, done, total = _progress(url_b)
                if stage == "contacts" and done >= target:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait()
                    killed_at = (stage, done, total)
                    break
                time.sleep(0.05)
            if killed_at[0] != "contacts":
                raise SystemExit("the worker finished before it could be killed; lower --kill-at")
            b = _finish(_spawn(url_b, fake, resume=True))
            snap_a, snap_b = snapshot(url_a), snapshot(url_b)
            diff = {k: len(snap_a[k] ^ snap_b[k]) for k in snap_a}
            result["killed_and_resumed"] = {
                "killed_in_stage": killed_at[0],
                "follows_saved_when_killed": killed_at[1],
                "follows_total": killed_at[2],
                "resume": b,
                "api_calls_both_processes": sum(corp.call_counts().values()),
                "rows_compared": {k: len(v) for k, v in snap_a.items()},
                "differences_vs_uninterrupted": diff,
                "identical": not any(diff.values()),
            }
            # 3. naive baseline on a sample
            base = baseline(url_c, fake, args.baseline_sample)
            result["baseline_naive"] = base
            result["speedup_vs_baseline"] = round(
                result["uninterrupted"]["customers_per_s_whole_run"] / base["customers_per_s"], 1
            )
            result["api_calls_per_customer"] = round(a["api_calls"] / len(corp.contacts), 3)
        finally:
            for url, schema in ((url_a, schema_a), (url_b, schema_b), (url_c, schema_c)):
                _drop(url, schema)
    result["load_avg_after"] = os.getloadavg()[0]
    print(json.dumps(result, ensure_ascii=False, indent=2, default=str))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], "--resume" in sys.argv[6:])
    else:
        main()
