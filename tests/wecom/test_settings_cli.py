"""`siyu wecom settings|test|codes`: the CLI edges call the same services (the fake answers the test)."""

from __future__ import annotations

from sqlalchemy import Engine, select
from typer.testing import CliRunner

from fake_wecom.server import FakeServer
from siyu.cli import app
from siyu.db.engine import session_factory
from siyu.models import OrgUnit, Staff
from siyu.models.wecom import ChannelCode, WecomApp

AES = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"


def test_cli_settings_test_and_codes(cli_env: str, engine: Engine, fake_wecom: FakeServer) -> None:
    runner = CliRunner()
    fake_wecom.corp.add_staff("lee")
    saved = runner.invoke(
        app,
        [
            "wecom",
            "settings",
            "--corp-id",
            fake_wecom.corp.corp_id,
            "--token",
            "tok1",
            "--api-base-url",
            fake_wecom.base_url,
        ],
        env={"SIYU_WECOM_SECRET": fake_wecom.corp.secret, "SIYU_WECOM_AES_KEY": AES},
    )
    assert saved.exit_code == 0, saved.output
    assert fake_wecom.corp.secret not in saved.output
    tested = runner.invoke(app, ["wecom", "test"])
    assert tested.exit_code == 0 and "1 member(s)" in tested.output, tested.output
    with session_factory(engine)() as s:
        assert s.scalars(select(WecomApp.last_test_ok)).one() is True
        store = OrgUnit(kind="store", code="S1", name="店", path="/1/", depth=0)
        s.add(store)
        s.flush()
        staff = Staff(code="G1", name="小李", unit_id=store.id, wecom_userid="lee")
        s.add(staff)
        s.commit()
        staff_id = staff.id
    created = runner.invoke(
        app, ["wecom", "codes", "create", "--code", "CLI_1", "--name", "命令行", "--staff", str(staff_id)]
    )
    assert created.exit_code == 0, created.output
    with session_factory(engine)() as s:
        code = s.scalars(select(ChannelCode)).one()
        assert code.config_id and fake_wecom.corp.contact_ways[code.config_id].state == "CLI_1"
    listed = runner.invoke(app, ["wecom", "codes", "list"])
    assert "CLI_1" in listed.output and "adds      0" in listed.output
    assert runner.invoke(app, ["wecom", "codes", "deactivate", str(code.id)]).exit_code == 0
    assert code.config_id not in fake_wecom.corp.contact_ways
    fake_wecom.corp.secret = "rotated"  # the stored secret no longer works: the test command fails
    failed = runner.invoke(app, ["wecom", "test"])
    assert failed.exit_code == 1
