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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from siyu.db.engine import make_engine, session_factory
from siyu.models import BrandStage
from siyu.talent.gaps import stage_reached
from siyu.talent.roles_catalog import catalog as role_catalog
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


def _talent_facts(db: Path, store_code: str = "store-sh-01") -> dict[str, Any]:
    """What the talent pages should show, counted straight from the demo's tables."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    with sqlite3.connect(db) as conn:
        q = conn.execute
        holders = dict(
            q(
                "SELECT role_code, count(*) FROM staff_roles JOIN staff ON staff.id = staff_roles.staff_id"
                " WHERE staff.status = 'active' GROUP BY role_code"
            ).fetchall()
        )
        (store_id,) = q("SELECT id FROM org_units WHERE code = ?", (store_code,)).fetchone()

        def totals(where: str, args: tuple[Any, ...]) -> dict[str, int]:
            active = f"SELECT id FROM staff WHERE status = 'active' {where}"
            return {
                "active_staff": q(f"SELECT count(*) FROM ({active})", args).fetchone()[0],
                "guides": q(
                    f"SELECT count(*) FROM staff_roles WHERE role_code = 'guide' AND staff_id IN ({active})",
                    args,
                ).fetchone()[0],
                "stores": q(
                    "SELECT count(*) FROM org_units WHERE kind = 'store' AND active"
                    + (" AND id = ?" if args else ""),
                    args,
                ).fetchone()[0],
                "customers_owned": q(
                    "SELECT count(*) FROM customers WHERE merged_into_id IS NULL AND lifecycle_stage <> 'lost'"
                    f" AND owner_staff_id IN ({active})",
                    args,
                ).fetchone()[0],
                "open_tasks": q(
                    f"SELECT count(*) FROM staff_tasks WHERE status = 'open' AND staff_id IN ({active})", args
                ).fetchone()[0],
                "overdue_tasks": q(
                    "SELECT count(*) FROM staff_tasks WHERE status = 'open' AND due_at < ?"
                    f" AND staff_id IN ({active})",
                    (now, *args),
                ).fetchone()[0],
            }

        stage = q(
            "SELECT stage FROM brand_stage_changes WHERE effective_from <= date('now') ORDER BY effective_from DESC"
        ).fetchone()
        runs = {i: json.loads(r) for i, r in q("SELECT id, result FROM advisor_runs").fetchall()}
        cycles = {
            i: {"status": st, "total": n, "submitted": sub}
            for i, st, n, sub in q(
                "SELECT c.id, c.status, count(a.id), sum(a.status = 'submitted') FROM assessment_cycles c"
                " LEFT JOIN assessments a ON a.cycle_id = c.id GROUP BY c.id"
            ).fetchall()
        }
        per_cycle_store = dict(
            q(
                "SELECT cycle_id, count(*) FROM assessments WHERE unit_id = ? GROUP BY cycle_id", (store_id,)
            ).fetchall()
        )
        per_staff = dict(q("SELECT staff_id, count(*) FROM assessments GROUP BY staff_id").fetchall())
    return {
        "holders": holders,
        "lead_totals": totals("", ()),
        "store_totals": totals("AND unit_id = ?", (store_id,)),
        "stage": stage[0] if stage else "launch",
        "runs": runs,
        "cycles": cycles,
        "per_cycle_store": per_cycle_store,
        "per_staff": per_staff,
    }


def _check_talent(talent: dict[str, Any], db: Path) -> None:
    """The talent pages as the lead and a store manager saw them, against the demo's tables."""
    facts = _talent_facts(db)
    roles = talent["roles"]
    assert roles["path"] == "/talent/roles"
    assert roles["tabs"][:3] == ["/talent/roles", "/talent/advisor", "/talent/gaps"]
    # The catalog in force: the shipped roles plus the demo's console edits (a custom role).
    engine = make_engine(f"sqlite:///{db}")
    try:
        with session_factory(engine)() as session:
            catalog = {e.code: e for e in role_catalog(session)}
    finally:
        engine.dispose()
    assert set(roles["holders"]) == set(catalog)
    assert roles["holders"] == {code: facts["holders"].get(code, 0) for code in catalog}

    role_page = talent["role_page"]
    assert role_page["code"] == "guide" and role_page["jd_tag"] == "textarea" and role_page["jd_length"] > 100
    assert role_page["holder_count"] == role_page["holder_rows"] == facts["holders"]["guide"]

    # The advisor's submitted run is stored, and the page shows what was stored, with article citations.
    advisor = talent["advisor"]
    # The submitted run is the newest one stored (the demo may have made one before).
    assert advisor["run_id"] == max(facts["runs"])
    stored = facts["runs"][advisor["run_id"]]
    assert advisor["path"] == f"/talent/advisor/runs/{advisor['run_id']}"
    assert advisor["structure"] == stored["structure"]
    recommended = {s["role_code"]: s["headcount"] for s in stored["starting_team"]}
    assert {code: n for code, n in advisor["team"] if n or code in recommended} == recommended
    cited = {r["citation"]["seed"] for r in stored["reasons"] + stored["traps"]}
    assert advisor["citations"] and {c["seed"] for c in advisor["citations"]} == cited
    assert all(c["quote_length"] > 10 for c in advisor["citations"])

    # The gap page: totals reconcile with the tables; missing roles and headcount follow catalog and run.
    gaps = talent["gaps"]
    assert gaps["brand_wide"] is True and gaps["stage"] == facts["stage"]
    assert gaps["totals"] == facts["lead_totals"]
    by_section = {s: sum(1 for f in gaps["findings"] if f["section"] == s) for s in gaps["counts"]}
    assert gaps["counts"] == by_section
    kinds = {(f["kind"], f["subject"]) for f in gaps["findings"]}
    needed = [e.code for e in catalog.values() if stage_reached(e.needed_from, BrandStage(facts["stage"]))]
    missing = {("missing_role", f"role:{c}") for c in needed if facts["holders"].get(c, 0) == 0}
    assert {k for k in kinds if k[0] == "missing_role"} == missing
    short = {
        ("short_headcount", f"role:{s['role_code']}")
        for s in stored["starting_team"]
        if facts["holders"].get(s["role_code"], 0) < s["headcount"]
    }
    assert {k for k in kinds if k[0] == "short_headcount"} == short
    for f in gaps["findings"]:
        if f["subject"].startswith("role:"):
            assert f["link"] == f"/talent/roles/{f['subject'][5:]}"

    store = talent["store"]
    assert store["gaps"]["brand_wide"] is False
    assert store["gaps"]["totals"] == facts["store_totals"]
    assert not {f["kind"] for f in store["gaps"]["findings"]} & {"missing_role", "short_headcount"}

    # Assessment cycles (the demo's; skipped with a recorded reason when the demo has none).
    listed = talent["cycles"]["list"]
    if not facts["cycles"]:
        assert listed == [] and talent["skipped"]
        return
    assert {c["id"]: {k: c[k] for k in ("status", "total", "submitted")} for c in listed} == facts["cycles"]
    chosen = talent["cycles"]["chosen"]
    assert talent["cycles"]["rows"] == facts["cycles"][chosen]["total"]
    calibration = talent["calibration"]
    assert calibration["charts"] >= 1 and calibration["rendered"] == calibration["charts"]
    assert calibration["total"] == facts["cycles"][chosen]["total"]
    history = talent["history"]
    assert history["rows"] == facts["per_staff"][history["staff_id"]]
    assert history["rendered"] == history["charts"] >= 1
    assert store["cycle_rows"] == facts["per_cycle_store"].get(chosen, 0) > 0


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

    # The talent pages: role map, a role, the advisor, gaps, cycles, calibration and a history.
    _check_talent(seen["talent"], db)


def test_scripts_and_inbox_in_chromium(demo: tuple[str, Path]) -> None:
    """Script search and detail as the lead; the guide copies a task's text and marks a task done (journeys.mjs)."""
    from tests.e2e.journeys_check import run_and_check

    run_and_check(*demo)


def test_wecom_console_in_chromium(demo: tuple[str, Path]) -> None:
    """The admin configures WeCom against a fake server, creates a channel code and walks every WeCom page."""
    from tests.e2e.wecom_check import run_and_check

    run_and_check(*demo)
