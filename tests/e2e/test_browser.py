"""End to end: a small demo brand served by `siyu serve`, driven by Debian's Chromium via playwright-core.

The browser script (console.mjs) only records what it sees; the assertions live here. The demo
database is always a temporary SQLite file: the test exercises the browser, not the database.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from siyu.web.i18n import translations
from siyu.web.render import ROLE_LABELS

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("SIYU_CHROMIUM", "/usr/bin/chromium"))
PLAYWRIGHT = ROOT / "node_modules" / "playwright-core"
SCRIPT = Path(__file__).with_name("console.mjs")
SCREENSHOTS = ROOT / "docs" / "screenshots"
ROLES = ("admin", "lead", "region", "store", "guide")
# A small customer file as an operator would export it from a spreadsheet (Chinese headers and values).
IMPORT_PHONES = ("13900007701", "13900007702", "13900007703")
IMPORT_CSV = "手机号,姓名,来源,门店\n" + "".join(
    f"{phone},端到端客户{i},{source},store-sh-01\n"
    for i, (phone, source) in enumerate(zip(IMPORT_PHONES, ("门店", "转介绍", "广告"), strict=True), 1)
)


def _siyu() -> str:
    beside = Path(sys.executable).with_name("siyu")
    return str(beside) if beside.exists() else (shutil.which("siyu") or "siyu")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_up(url: str, server: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"siyu serve exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/login", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    pytest.fail(f"siyu serve did not answer on {url} within {timeout:.0f} s")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(base URL, SQLite file) of a served 600-customer demo brand."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    if not PLAYWRIGHT.is_dir() or shutil.which("node") is None:
        pytest.skip("node or node_modules/playwright-core is missing (npm ci)")
    work = tmp_path_factory.mktemp("e2e")
    db = work / "demo.db"
    env = {**os.environ, "SIYU_DATABASE_URL": f"sqlite:///{db}"}
    env.pop("SIYU_TEST_DATABASE_URL", None)
    subprocess.run(
        [_siyu(), "demo", "--customers", "600"],
        cwd=work,
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    port = _free_port()
    log = (work / "serve.log").open("wb")
    server = subprocess.Popen(
        [_siyu(), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=work,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, server)
        yield url, db
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _scope_facts(db: Path) -> dict[str, Any]:
    with sqlite3.connect(db) as conn:
        accounts = {
            row[0]: {"name": row[1], "role": row[2], "staff_id": row[3]}
            for row in conn.execute("SELECT username, display_name, permission_role, staff_id FROM accounts")
        }
        staff_id = accounts["guide"]["staff_id"]
        (unit_id,) = conn.execute("SELECT unit_id FROM staff WHERE id = ?", (staff_id,)).fetchone()
        own = {
            row[0] for row in conn.execute("SELECT id FROM customers WHERE owner_staff_id = ?", (staff_id,))
        }
        (forbidden,) = conn.execute(
            "SELECT min(id) FROM customers WHERE owner_staff_id <> ? AND home_store_id <> ? AND merged_into_id IS NULL",
            (staff_id, unit_id),
        ).fetchone()
    return {"accounts": accounts, "own": own, "forbidden": forbidden}


def _badge(text: str) -> str:
    """A tag badge's label without its remove button."""
    return text.replace("×", "").strip()


def test_console_in_chromium(demo: tuple[str, Path]) -> None:
    url, db = demo
    facts = _scope_facts(db)
    assert facts["own"] and facts["forbidden"] is not None
    options: dict[str, Any] = {
        "forbidden_id": facts["forbidden"],
        "import_name": "e2e-customers.csv",
        "import_csv": IMPORT_CSV,
    }
    if os.environ.get("SIYU_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        options["screenshots"] = str(SCREENSHOTS)
    run = subprocess.run(
        ["node", str(SCRIPT), url, json.dumps(options)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen["errors"] == []

    # Every role signs in and finds its own name and role in the top bar (Chinese by default).
    zh = translations("zh")
    for user in ROLES:
        account = facts["accounts"][user]
        assert seen["logins"][user]["name"] == account["name"], user
        assert seen["logins"][user]["role"] == zh.gettext(ROLE_LABELS[account["role"]]), user

    # The guide lists only own customers, and another store's customer is a 404 page.
    assert seen["guide_list_ids"]
    assert set(seen["guide_list_ids"]) <= facts["own"]
    assert seen["guide_forbidden"] == {"status": 404, "error_page": True, "shows_customer": False}

    # Searching by the last four digits of a phone finds only matching phones.
    search = seen["search"]
    assert search["phones"] and all(p.endswith(search["last4"]) for p in search["phones"])
    assert f"phone={search['last4']}" in search["url"]

    # A tag added on the customer 360 shows up without a page load.
    tag = seen["tag"]
    assert tag["in_place"] is True
    assert tag["label"] not in [_badge(t) for t in tag["before"]]
    assert tag["label"] in [_badge(t) for t in tag["after"]]
    with sqlite3.connect(db) as conn:
        names = {
            f"{g}: {t}"
            for g, t in conn.execute(
                "SELECT tag_groups.name, tags.name FROM customer_tags"
                " JOIN tags ON tags.id = customer_tags.tag_id JOIN tag_groups ON tag_groups.id = tags.group_id"
                " WHERE customer_tags.customer_id = ?",
                (tag["customer_id"],),
            )
        }
    assert tag["label"] in names

    # The overview draws every chart.
    assert seen["overview"]["charts"] >= 1
    assert seen["overview"]["rendered"] == seen["overview"]["charts"]

    # The small file went through preview → validate → run, and the job and customers exist.
    imported = seen["import"]
    mapped = {row[0]: row[1] for row in imported["mapping"]}
    assert mapped == {"手机号": "phone", "姓名": "name", "来源": "source", "门店": "home_store_code"}
    assert imported["preview_rows"] == len(IMPORT_PHONES)
    assert imported["validated"]["ok"] and imported["validated"]["counts"][0] == len(IMPORT_PHONES)
    assert imported["ran"] == {"ok": True, "counts": [len(IMPORT_PHONES), len(IMPORT_PHONES), 0, 0, 0]}
    assert imported["in_place"] is True
    with sqlite3.connect(db) as conn:
        job = conn.execute(
            "SELECT id, status, filename, total_rows, inserted FROM import_jobs ORDER BY id DESC LIMIT 1"
        ).fetchone()
        found = conn.execute(
            "SELECT count(DISTINCT customers.id) FROM customers JOIN customer_identities"
            " ON customer_identities.customer_id = customers.id"
            " WHERE customer_identities.kind = 'phone' AND customer_identities.value IN (?, ?, ?)",
            [f"+86{p}" for p in IMPORT_PHONES],  # phones are stored in E.164
        ).fetchone()[0]
    assert job[1:] == ("succeeded", "e2e-customers.csv", 3, 3)
    assert imported["latest_job"][0] == str(job[0]) and imported["latest_job"][2] == "e2e-customers.csv"
    assert found == len(IMPORT_PHONES)

    # Switching to English translates the console.
    assert seen["language"] == {"html_lang": "en", "sign_out": "Sign out", "role": "Administrator"}
