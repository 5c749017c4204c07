"""The WeCom console in Chromium (wecom.mjs): a fake WeCom server, the admin's walk, simulated scans, asserts."""

from __future__ import annotations

import base64
import json
import os
import secrets
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

from fake_wecom.corp import FakeCorp
from fake_wecom.server import FakeServer
from siyu.web.i18n import translations

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("wecom.mjs")
CODE = "e2e_poster_01"
# Page key in wecom.mjs → the msgid of its <h1>.
HEADINGS = {
    "hub_before": "Enterprise WeChat",
    "hub_after": "Enterprise WeChat",
    "settings_empty": "WeCom settings",
    "settings_invalid": "WeCom settings",
    "settings_saved": "WeCom settings",
    "settings_tested": "WeCom settings",
    "codes_before": "Channel codes",
    "codes_after": "Channel codes",
    "handover": "Customer handover",
    "handover_staff": "Customer handover",
    "sync": "WeCom sync",
    "moments": "Customer moments",
    "moments_after": "Customer moments",
}
FUNNEL_HEADINGS = {
    "codes_funnel": "Channel codes",
    "callbacks": "WeCom callbacks",
    "mass_sends": "Platform mass sends",
}


def _facts(db: Path) -> dict[str, Any]:
    """Who and what the walk uses, picked from the demo's tables."""
    with sqlite3.connect(db) as conn:
        q = conn.execute
        # Staff with a WeCom userid, the one following the most WeCom customers first (the handover member).
        staff = q(
            "SELECT s.id, s.wecom_userid, s.name, count(DISTINCT m.customer_id) AS n FROM staff s"
            " LEFT JOIN channel_memberships m ON m.staff_id = s.id AND m.channel = 'wecom' AND m.left_at IS NULL"
            " WHERE s.status = 'active' AND s.wecom_userid IS NOT NULL GROUP BY s.id ORDER BY n DESC, s.id"
        ).fetchall()
        # Two tags of a non-exclusive group (an exclusive group allows one tag per customer).
        tags = [
            r[0]
            for r in q(
                "SELECT t.id FROM tags t JOIN tag_groups g ON g.id = t.group_id WHERE NOT g.exclusive"
                " AND g.id = (SELECT t2.group_id FROM tags t2 JOIN tag_groups g2 ON g2.id = t2.group_id"
                " WHERE NOT g2.exclusive GROUP BY t2.group_id HAVING count(*) >= 2 ORDER BY t2.group_id LIMIT 1)"
                " ORDER BY t.id LIMIT 2"
            )
        ]
        (script,) = q("SELECT min(id) FROM scripts WHERE approval = 'approved'").fetchone()
        picker = {r[0] for r in q("SELECT id FROM staff WHERE wecom_userid IS NOT NULL")}
    assert len(staff) >= 3 and len(tags) == 2 and script is not None, "the demo lacks staff, tags or scripts"
    return {"staff": staff, "tags": tags, "script": script, "picker": picker}


def _run(url: str, options: dict[str, Any]) -> dict[str, Any]:
    if os.environ.get("SIYU_SCREENSHOTS") == "1":
        options["screenshots"] = str(ROOT / "docs" / "screenshots")
    run = subprocess.run(
        ["node", str(SCRIPT), url, json.dumps(options)], cwd=ROOT, capture_output=True, text=True, timeout=180
    )
    assert run.returncode == 0, run.stderr
    seen: dict[str, Any] = json.loads(run.stdout)
    return seen


def _check_pages(seen: dict[str, Any], headings: dict[str, str]) -> None:
    """Every page answered, under the WeCom nav entry, with its heading; no error and no secret anywhere."""
    assert seen["errors"] == [], seen["errors"]
    # Chromium logs the deliberate 422 of the invalid-key submission; anything else (CSP included) is an error.
    refused = "/wecom/settings: Failed to load resource: the server responded with a status of 422"
    expected = 1 if "settings_invalid" in headings else 0
    assert sum(1 for m in seen["console_errors"] if m.startswith(refused)) == expected, seen["console_errors"]
    others = [m for m in seen["console_errors"] if not m.startswith(refused)]
    assert others == [], others
    assert seen["secret_leaks"] == [], seen["secret_leaks"]
    zh = translations("zh")
    for key, msgid in headings.items():
        page = seen["pages"][key]
        assert page["h1"] == zh.gettext(msgid), key
        assert page["status"] in (None, 200, 422), key  # None: reached by a redirect after a POST
        assert page["nav_active"] == 1, key


def _wait_processed(db: Path, expected: int, timeout: float = 20.0) -> list[tuple[Any, ...]]:
    """Wait until `expected` callback events are stored and none is pending."""
    deadline = time.monotonic() + timeout
    rows: list[tuple[Any, ...]] = []
    while time.monotonic() < deadline:
        with sqlite3.connect(db) as conn:
            rows = conn.execute(
                "SELECT id, change_type, external_user_id, status, error FROM wecom_callback_events ORDER BY id"
            ).fetchall()
        if len(rows) >= expected and all(r[3] != "pending" for r in rows):
            return rows
        time.sleep(0.2)
    raise AssertionError(f"callbacks not processed within {timeout:.0f} s: {rows}")


def run_and_check(url: str, db: Path) -> None:
    """Configure WeCom against a fake, create a channel code, walk every WeCom page, scan the code, recount."""
    # The console walk switches the admin to English; headings below are checked against the Chinese catalog.
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE accounts SET locale = 'zh'")
    facts = _facts(db)
    (a_id, a_userid, a_name, _), (b_id, b_userid, b_name, _), (_, c_userid, _, _) = facts["staff"][:3]
    secret = "e2eSecret" + secrets.token_hex(16)
    aes_key = base64.b64encode(secrets.token_bytes(32)).decode()[:43]
    bad_aes_key = aes_key[:42] + "!"
    token = "e2eToken" + secrets.token_hex(4)
    corp = FakeCorp(corp_id="wwe2ecorp" + secrets.token_hex(3), secret=secret)
    corp.add_staff(a_userid, a_name)
    corp.add_staff(b_userid, b_name)
    corp.add_staff(c_userid, contact_feature=False)  # not allowed to add customers: not in the follow list
    with FakeServer(corp) as fake:
        settings = {
            "corp_id": corp.corp_id,
            "agent_id": corp.agent_id,
            "secret": secret,
            "token": token,
            "aes_key": aes_key,
            "bad_aes_key": bad_aes_key,
            "base_url": fake.base_url,
        }
        code = {
            "code": CODE,
            "name": "端到端门店海报",
            "source_detail": "门店海报",
            "staff_ids": [a_id],
            "tag_ids": facts["tags"],
            "welcome_script_id": facts["script"],
        }
        options = {
            "phase": "walk",
            "settings": settings,
            "code": code,
            "handover_staff_id": a_id,
            "moment": {"text": "端到端朋友圈：本周会员日", "staff_ids": [a_id, b_id]},
            "secrets": [secret, aes_key, bad_aes_key],
        }
        seen = _run(url, options)
        _check_pages(seen, HEADINGS)
        _check_walk(seen, db, facts, settings, code, corp, a_id)
        _check_moment(seen, db, corp, {a_id: a_userid, b_id: b_userid})

        # A customer scans the code twice over (two customers); the second then deletes the member.
        corp.configure_callback(f"{url}/wecom/callback", token, aes_key)
        first = corp.simulate_scan(CODE, name="扫码客户甲")
        second = corp.simulate_scan(CODE, name="扫码客户乙")
        assert [s.status_code for s in corp.callbacks_sent] == [200, 200], corp.callbacks_sent
        _wait_processed(db, 2)
        corp.simulate_customer_deletes_staff(a_userid, second)
        events = _wait_processed(db, 3)
        sent = _mass_send(db, corp, a_id, a_userid, facts["script"])
        funnel = _run(url, {"phase": "funnel", "code": code, "secrets": [secret, aes_key]})
        _check_pages(funnel, FUNNEL_HEADINGS)
        _check_funnel(funnel, db, events, corp, (first, second), facts["tags"])
        _check_mass_sends(funnel, db, sent)


def _check_walk(
    seen: dict[str, Any],
    db: Path,
    facts: dict[str, Any],
    settings: dict[str, str],
    code: dict[str, Any],
    corp: FakeCorp,
    a_id: int,
) -> None:
    zh = translations("zh")
    sections = {
        "/wecom/settings",
        "/wecom/channel-codes",
        "/wecom/sync",
        "/wecom/mass-sends",
        "/wecom/moments",
        "/wecom/handover",
    }
    # The hub: not configured at first, connected after the test, linking every WeCom page.
    before, after = seen["hub_before"], seen["hub_after"]
    assert before["badge"] is None and settings["corp_id"] not in before["status_text"]
    assert sections <= set(before["sections"])
    assert "ok" in after["badge"].split() and settings["corp_id"] in after["status_text"]
    assert zh.gettext("Connected") in after["status_text"]

    # The invalid key is refused with the reason, and neither secret nor key comes back in the form.
    invalid = seen["settings_invalid"]
    assert invalid["status"] == 422 and "base64" in invalid["error"]
    assert invalid["secret_value"] == invalid["aes_value"] == ""
    assert invalid["corp_value"] == settings["corp_id"]
    # Saved: the secrets are write-only (blank inputs, a "stored" placeholder), the base URL is the fake's.
    saved = seen["settings_saved"]
    assert saved["secret_value"] == saved["aes_value"] == "" and saved["secret_placeholder"]
    assert saved["base_value"] == settings["base_url"]
    assert saved["callback_url"].endswith("/wecom/callback")
    # The connection test fetched a token and the follow-user list (the members allowed to add customers).
    follow = sum(1 for s in corp.staff.values() if s.contact_feature)
    tested = seen["settings_tested"]
    assert "ok" in tested["badge"].split()
    assert f"{follow} member(s)" in tested["last_test"] and follow == 2
    assert corp.call_counts()["gettoken"] >= 1
    with sqlite3.connect(db) as conn:
        app = conn.execute(
            "SELECT corp_id, agent_id, callback_token, api_base_url, last_test_ok, secret_sealed, aes_key_sealed"
            " FROM wecom_apps"
        ).fetchall()
    assert len(app) == 1
    row = app[0]
    assert row[:5] == (settings["corp_id"], settings["agent_id"], settings["token"], settings["base_url"], 1)
    # Sealed at rest: the stored blobs hold neither plaintext.
    for blob in row[5:]:
        raw = bytes(blob)
        assert settings["secret"].encode() not in raw and settings["aes_key"].encode() not in raw

    # The channel code: listed with a zero funnel, stored with the chosen staff, tags and script, and a contact way.
    created = seen["codes_after"]
    assert created["error"] is None
    assert CODE not in seen["codes_before"]["rows"] and created["rows"][0] == CODE
    listed = created["row"]
    assert (listed["adds"], listed["following"], listed["ordered"]) == (0, 0, 0)
    assert code["name"] in listed["cells"] and code["source_detail"] in listed["cells"]
    with sqlite3.connect(db) as conn:
        stored = conn.execute(
            "SELECT id, staff_ids, tag_ids, welcome_script_id, config_id, qr_code, active FROM channel_codes"
            " WHERE code = ?",
            (CODE,),
        ).fetchone()
    assert stored is not None
    assert json.loads(stored[1]) == code["staff_ids"] and sorted(json.loads(stored[2])) == sorted(
        code["tag_ids"]
    )
    assert stored[3] == code["welcome_script_id"] and stored[6] == 1
    way = corp.contact_ways[stored[4]]
    assert way.state == CODE and list(way.user) == [corp_userid(db, a_id)]
    assert listed["qr"] == stored[5] and stored[5]
    page = seen["code_page"]
    assert sorted(page["tags"]) == sorted(code["tag_ids"]) and page["staff"] == code["staff_ids"]
    assert page["script"] == code["welcome_script_id"]

    # Handover: every member with a userid in the picker; the candidates are the member's open WeCom follows.
    handover = seen["handover"]
    assert set(handover["staff"]) == facts["picker"]
    with sqlite3.connect(db) as conn:
        expected = {
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT m.customer_id FROM channel_memberships m"
                " JOIN customers c ON c.id = m.customer_id"
                " JOIN customer_identities i ON i.customer_id = m.customer_id AND i.kind = 'wecom_external_userid'"
                " WHERE m.channel = 'wecom' AND m.staff_id = ? AND m.left_at IS NULL AND c.merged_into_id IS NULL",
                (a_id,),
            )
        }
        runs = conn.execute("SELECT count(*) FROM wecom_sync_runs").fetchone()[0]
    assert expected, "the demo's busiest WeCom member follows no customer"
    assert sorted(handover["candidates"]) == sorted(expected)
    assert a_id not in handover["takeover"] and handover["takeover"]

    # Sync, mass sends and moments: configured now, and their tables as stored.
    sync = seen["sync"]
    assert sync["not_configured"] is False and sync["start_full"] and sync["start_incremental"]
    assert sync["runs"] == runs
    assert set(seen["moments"]["staff_options"]) <= facts["picker"] and seen["moments"]["staff_options"]


def corp_userid(db: Path, staff_id: int) -> str:
    """A staff member's WeCom userid."""
    with sqlite3.connect(db) as conn:
        (userid,) = conn.execute("SELECT wecom_userid FROM staff WHERE id = ?", (staff_id,)).fetchone()
    return str(userid)


def _check_funnel(
    seen: dict[str, Any],
    db: Path,
    events: list[tuple[Any, ...]],
    corp: FakeCorp,
    externals: tuple[str, str],
    tag_ids: list[int],
) -> None:
    # Every callback was processed: two adds and one deletion.
    assert [(e[1], e[2], e[3]) for e in events] == [
        ("add_external_contact", externals[0], "done"),
        ("add_external_contact", externals[1], "done"),
        ("del_follow_user", externals[1], "done"),
    ]
    with sqlite3.connect(db) as conn:
        members = conn.execute(
            "SELECT customer_id, left_at FROM channel_memberships WHERE channel = 'wecom' AND channel_code = ?",
            (CODE,),
        ).fetchall()
        customers = dict(
            conn.execute(
                "SELECT value, customer_id FROM customer_identities WHERE kind = 'wecom_external_userid'"
                " AND value IN (?, ?)",
                externals,
            ).fetchall()
        )
        tagged = conn.execute(
            "SELECT customer_id, tag_id FROM customer_tags WHERE customer_id IN (?, ?)",
            [customers.get(e) for e in externals],
        ).fetchall()
        ordered = conn.execute(
            "SELECT count(DISTINCT o.customer_id) FROM orders o JOIN channel_memberships m"
            " ON m.customer_id = o.customer_id AND m.channel = 'wecom' AND m.channel_code = ?"
            " WHERE o.paid_at >= m.joined_at",
            (CODE,),
        ).fetchone()[0]
        welcomes = conn.execute(
            "SELECT status FROM wecom_welcomes WHERE customer_id IN (?, ?)",
            [customers.get(e) for e in externals],
        ).fetchall()
        statuses = dict(
            conn.execute("SELECT status, count(*) FROM wecom_callback_events GROUP BY status").fetchall()
        )
    assert set(customers) == set(externals)
    adds = len({m[0] for m in members})
    following = len({m[0] for m in members if m[1] is None})
    assert (adds, following) == (2, 1)
    row = seen["funnel"]["row"]
    assert (row["adds"], row["following"], row["ordered"]) == (adds, following, ordered)
    # The code's tags were applied to both customers, and both got the welcome within WeCom's window.
    assert {(c, t) for c in customers.values() for t in tag_ids} <= set(tagged)
    assert [w[0] for w in welcomes] == ["sent", "sent"]
    assert sorted(w["external_userid"] for w in corp.welcomes_sent) == sorted(externals)
    # The callbacks page counts what is stored.
    counts = seen["callbacks"]["counts"]
    assert {k: v for k, v in counts.items() if v} == statuses
    assert len(seen["callbacks"]["events"]) == sum(statuses.values())


def _check_moment(seen: dict[str, Any], db: Path, corp: FakeCorp, userids: dict[int, str]) -> None:
    """The moments task made in the browser: one WeCom job for both members, listed with a row per member."""
    moments, page = seen["moments"], seen["moment_page"]
    assert seen["pages"]["moment_page"]["h1"].startswith(translations("zh").gettext("Customer moments"))
    with sqlite3.connect(db) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM wecom_moments ORDER BY id")]
        members = conn.execute(
            "SELECT staff_id FROM wecom_moment_staff WHERE moment_id = ? ORDER BY staff_id", (ids[-1],)
        ).fetchall()
    assert sorted(moments["rows_after"]) == ids and len(ids) == moments["rows_before"] + 1
    assert page["path"] == f"/wecom/moments/{ids[-1]}"
    assert sorted(page["staff"]) == [m[0] for m in members] == sorted(userids)
    jobs = list(corp.moment_jobs.values())
    assert len(jobs) == 1 and sorted(jobs[0].senders) == sorted(userids.values())
    assert jobs[0].text == "端到端朋友圈：本周会员日"


def _mass_send(
    db: Path, corp: FakeCorp, staff_id: int, userid: str, script_id: int
) -> tuple[dict[int, int], list[int]]:
    """A mass send on the wecom channel to a few of the member's customers; the member confirms in WeCom."""
    from sqlalchemy import select

    from siyu.db.engine import make_engine, session_factory
    from siyu.db.types import utcnow
    from siyu.journeys.mass_send_run import run_mass_send
    from siyu.journeys.mass_send_schemas import MassSendCreate
    from siyu.journeys.mass_send_service import create_mass_send
    from siyu.models.wecom import WecomGroupMessage
    from siyu.org.permissions import SYSTEM_ACTOR
    from siyu.wecom.groupmsg_service import track_group_messages

    with sqlite3.connect(db) as conn:
        people = conn.execute(
            "SELECT c.id, i.value FROM customers c JOIN customer_identities i ON i.customer_id = c.id"
            " AND i.kind = 'wecom_external_userid' WHERE c.owner_staff_id = ? AND c.merged_into_id IS NULL"
            " ORDER BY c.id LIMIT 6",
            (staff_id,),
        ).fetchall()
    assert len(people) == 6, "the demo's busiest WeCom member owns too few WeCom customers"
    for n, (_, ext) in enumerate(people):
        corp.add_contact(f"群发客户{n}", external_userid=ext)
        if n:  # the first one deleted the member on WeCom: add_msg_template reports them in fail_list
            corp.add_follow(userid, ext)
    engine = make_engine(f"sqlite:///{db}")
    results = {1: 0, 2: 0, 3: 0}
    try:
        with session_factory(engine)() as session:
            now = utcnow()
            data = MassSendCreate(
                name="端到端企业微信群发",
                script_id=script_id,
                channel="wecom",
                audience_kind="customers",
                customer_ids=[c for c, _ in people],
            )
            row = create_mass_send(session, SYSTEM_ACTOR, data, now)
            assert run_mass_send(session, row.id, now)
            session.commit()
            msgids = session.scalars(select(WecomGroupMessage.msgid)).all()
            assert msgids, "the wecom mass send made no platform template"
            for msgid in msgids:
                got = corp.simulate_confirm_groupmsg(msgid, userid)
                results = {k: results[k] + got.get(k, 0) for k in results}
            track_group_messages(session, utcnow())
            session.commit()
    finally:
        engine.dispose()
    return results, [c for c, _ in people]


def _check_mass_sends(seen: dict[str, Any], db: Path, sent: tuple[dict[int, int], list[int]]) -> None:
    """The mass-sends page shows every template with the counts stored, and they match WeCom's results."""
    results, people = sent
    with sqlite3.connect(db) as conn:
        fates = dict(
            conn.execute(
                "SELECT customer_id, status FROM outbound_messages WHERE source_type = 'mass_send'"
                " AND source_id = (SELECT max(id) FROM mass_sends)"
            ).fetchall()
        )
        stored = {
            r[0]: {"recipients": r[1], "sent": r[2], "not_friend": r[3], "over_limit": r[4]}
            for r in conn.execute(
                "SELECT msgid, recipients, sent_count, not_friend_count, over_limit_count FROM wecom_group_messages"
            )
        }
        delivered = conn.execute(
            "SELECT count(*) FROM outbound_messages WHERE external_id IN ("
            + ",".join("?" * len(stored))
            + ") AND status IN ('sent', 'confirmed')",
            list(stored),
        ).fetchone()[0]
    shown = {
        r["msgid"]: {k: r[k] for k in ("recipients", "sent", "not_friend", "over_limit")}
        for r in seen["mass_sends"]["rows"]
    }
    assert shown == stored
    assert sum(r["sent"] for r in shown.values()) == results[1] == delivered
    assert sum(r["over_limit"] for r in shown.values()) == results[3]
    assert results[1] >= 1
    # Each customer has one outbound row; the one who deleted the member failed, never reached WeCom as sent.
    assert set(fates) == set(people)
    assert fates[people[0]] in ("failed", "opted_out", "capped")
    assert sum(1 for f in fates.values() if f == "confirmed") == results[1]
