"""A sync process killed with SIGKILL mid-contacts resumes from its last committed page to the exact rows."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from fake_wecom.server import FakeServer
from siyu.channels.wecom.client import WecomClient
from siyu.db.engine import session_factory
from siyu.models import ChannelMembership, CustomerIdentity, Event, OrgUnit, Staff, WecomSyncRun
from siyu.models.enums import Channel, IdentityKind, OrgUnitKind
from siyu.models.wecom import SyncStatus
from siyu.wecom.sync_service import sync_now

WORKER = Path(__file__).resolve().parents[2] / "bench" / "bench_wecom_sync.py"


def _progress(engine: Engine) -> tuple[str, int]:
    with session_factory(engine)() as s:
        run = s.scalars(select(WecomSyncRun)).first()
        return ("", 0) if run is None else (run.stage, run.progress_done)


def test_sigkill_mid_contacts_then_resume(
    session: Session, engine: Engine, database_url: str, fake_wecom: FakeServer
) -> None:
    corp = fake_wecom.corp
    corp.seed(staff=4, customers=800, groups=0, seed=7)
    corp.latency = 0.05  # every call takes 50 ms, so the kill lands between pages
    store = OrgUnit(kind=OrgUnitKind.store, code="S1", name="S1", path="/1/", depth=0)
    session.add(store)
    session.flush()
    session.add_all(
        [
            Staff(code=f"G{i}", name=f"导购{i}", unit_id=store.id, wecom_userid=f"staff{i:04d}")
            for i in range(1, 5)
        ]
    )
    session.commit()
    worker = subprocess.Popen(
        [
            sys.executable,
            str(WORKER),
            "--worker",
            database_url,
            fake_wecom.base_url,
            corp.corp_id,
            corp.secret,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    killed = False
    deadline = time.monotonic() + 120
    while worker.poll() is None and time.monotonic() < deadline:
        stage, done = _progress(engine)
        if stage == "contacts" and done >= 300:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()
            killed = True
            break
        time.sleep(0.01)
    assert killed, worker.communicate()[1][-2000:]
    session.expire_all()
    stuck = session.scalars(select(WecomSyncRun)).one()
    assert stuck.status is SyncStatus.running and stuck.stage == "contacts"
    saved = stuck.progress_done
    follows = sum(len(f) for f in corp.follows_by_user.values())
    assert 300 <= saved < follows
    corp.latency = 0.0
    with WecomClient(corp.corp_id, corp.secret, base_url=fake_wecom.base_url) as client:
        run = sync_now(session, client, "full", session.commit, resume=True, stale_after=timedelta(0))
    assert run.id == stuck.id and run.status is SyncStatus.done and run.counts["follows"] == follows
    m = ChannelMembership
    ours = session.execute(
        select(CustomerIdentity.value, Staff.wecom_userid)
        .join(m, m.customer_id == CustomerIdentity.customer_id)
        .join(Staff, Staff.id == m.staff_id)
        .where(CustomerIdentity.kind == IdentityKind.wecom_external_userid, m.channel == Channel.wecom)
    ).all()
    truth = {(ext, u) for u, fs in corp.follows_by_user.items() for ext in fs}
    assert len(ours) == len(truth) and set(ours) == truth  # no page lost, none applied twice
    joined = session.scalar(select(func.count()).select_from(Event).where(Event.kind == "joined_channel"))
    assert joined == follows
