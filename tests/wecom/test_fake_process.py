"""`python -m fake_wecom` serves a seeded corp, and the demo's auto-scan adds customers through contact ways."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from fake_wecom.__main__ import auto_scan
from fake_wecom.corp import FakeCorp
from fake_wecom.server import FakeServer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_module_entry_point_serves_a_seeded_corp(tmp_path: Path) -> None:
    port = _free_port()
    userids = tmp_path / "userids.txt"
    userids.write_text("zhangwei\nlina\n\nwangfang\n", encoding="utf-8")
    cmd = [sys.executable, "-m", "fake_wecom", "--port", str(port), "--customers", "40"]
    cmd += ["--userids-file", str(userids)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                state = httpx.get(f"{base}/fake/state").json()
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "fake server did not come up"
                time.sleep(0.1)
        assert state["staff"] == 3 and state["contacts"] == 40
        assert {w["state"] for w in state["contact_ways"]} == {
            "store_poster",
            "parcel_card",
            "live_room",
            "moments_ad",
        }
        tok = httpx.get(
            f"{base}/cgi-bin/gettoken", params={"corpid": "wwfakecorp", "corpsecret": "fake-secret"}
        ).json()
        users = httpx.get(
            f"{base}/cgi-bin/externalcontact/get_follow_user_list",
            params={"access_token": tok["access_token"]},
        )
        assert users.json()["follow_user"] == ["zhangwei", "lina", "wangfang"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_auto_scan_adds_customers_until_stopped() -> None:
    corp = FakeCorp()
    corp.seed(staff=3, customers=5, contact_ways=True)
    stop = threading.Event()
    worker = threading.Thread(target=auto_scan, args=(corp, 0.01, stop))
    worker.start()
    deadline = time.monotonic() + 10
    while len(corp.events) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    worker.join(timeout=5)
    assert len(corp.events) >= 3
    assert all(e["ChangeType"] == "add_external_contact" and e["State"] for e in corp.events)
    assert len(corp.contacts) == 5 + len(corp.events)


def test_server_reset_swaps_the_corp_without_restarting(fake_wecom: FakeServer) -> None:
    fake_wecom.corp.add_staff("old")
    fresh = fake_wecom.reset(FakeCorp(corp_id="wwother", secret="s2"))
    body = httpx.get(
        f"{fake_wecom.base_url}/gettoken", params={"corpid": "wwother", "corpsecret": "s2"}
    ).json()
    assert body["errcode"] == 0 and fresh.staff == {}
    assert fake_wecom.base_url.startswith("http://127.0.0.1:") and fake_wecom.base_url.endswith("/cgi-bin")
    # Each reset gets its own base URL, so a token cache keyed by URL never carries a token across corps.
    before = fake_wecom.base_url
    fake_wecom.reset()
    assert fake_wecom.base_url != before
    assert (
        httpx.get(
            f"{fake_wecom.root_url}/cgi-bin/gettoken",
            params={"corpid": "wwfakecorp", "corpsecret": "fake-secret"},
        ).json()["errcode"]
        == 0
    )
