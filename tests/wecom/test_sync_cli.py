"""`siyu wecom sync [--full] [--resume]` and `siyu wecom push-tags` call the same services."""

from __future__ import annotations

import json

from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from fake_wecom.server import FakeServer
from siyu.cli import app
from siyu.db.engine import session_factory
from siyu.models import ChannelMembership, OrgUnit, Staff, WecomSyncRun
from siyu.models.wecom import SyncStatus
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.wecom.credentials import save_app


def test_cli_sync_full_then_resume_refused_then_push(
    cli_env: str, engine: Engine, fake_wecom: FakeServer
) -> None:
    fake_wecom.corp.seed(staff=2, customers=25, groups=1, seed=4)
    with session_factory(engine)() as s:
        save_app(
            s,
            SYSTEM_ACTOR,
            corp_id=fake_wecom.corp.corp_id,
            secret=fake_wecom.corp.secret,
            callback_token="tok1",
            aes_key="a" * 43,
            api_base_url=fake_wecom.base_url,
        )
        store = OrgUnit(kind="store", code="S1", name="店", path="/1/", depth=0)
        s.add(store)
        s.flush()
        s.add_all(
            [
                Staff(code=f"G{i}", name=f"导购{i}", unit_id=store.id, wecom_userid=f"staff{i:04d}")
                for i in (1, 2)
            ]
        )
        s.commit()
    runner = CliRunner()
    done = runner.invoke(app, ["wecom", "sync", "--full", "--quiet"])
    assert done.exit_code == 0, done.output
    out = json.loads(done.output.strip().splitlines()[-1])
    follows = sum(len(f) for f in fake_wecom.corp.follows_by_user.values())
    assert out["status"] == "done" and out["kind"] == "full" and out["counts"]["follows"] == follows
    with session_factory(engine)() as s:
        assert s.scalars(select(WecomSyncRun)).one().status is SyncStatus.done
        open_follows = s.scalar(
            select(func.count()).select_from(ChannelMembership).where(ChannelMembership.staff_id.is_not(None))
        )
        assert open_follows == follows
    refused = runner.invoke(app, ["wecom", "sync", "--resume", "--quiet"])
    assert refused.exit_code == 1 and "no WeCom sync run to resume" in refused.output
    pushed = runner.invoke(app, ["wecom", "push-tags"])
    assert pushed.exit_code == 0 and "mark_tag calls 0" in pushed.output, pushed.output
