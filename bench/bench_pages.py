"""Console pages under load: serve a built demo database (uvicorn, as siyu serve), sign in as demo accounts, drive the pages with wrk.

Run: .venv/bin/python bench/bench_pages.py sqlite:////tmp/h5/siyu.db [--accounts admin guide]
     [--duration 10] [--connections 2] [--pages name phone tag 360 overview]
Needs wrk on PATH (Debian/Ubuntu: sudo apt-get install wrk). Prints one JSON document: for each account
and page, p50/p95/p99 latency (ms) and requests/s as measured by wrk over loopback (bench/pages.lua).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.customers import repository as customer_repo
from siyu.db.engine import make_engine, session_factory
from siyu.demo.accounts import password_of
from siyu.models import Account, Customer, CustomerTag
from siyu.org.tokens import actor_for_account
from siyu.web.cookies import SESSION_COOKIE

HERE = Path(__file__).resolve().parent
LUA = HERE / "pages.lua"
PAGES = ("name", "phone", "tag", "360", "overview")
ROTATE = 20  # distinct customers / queries each wrk run cycles through
# The bars (p95, ms) at 50,000 customers.
BARS = {"name": 150, "phone": 150, "tag": 150, "360": 100, "overview": 300}
UVICORN = [sys.executable, "-m", "uvicorn", "--factory", "siyu.app:create_app", "--host", "127.0.0.1"]
UVICORN += ["--log-level", "warning", "--no-access-log"]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def require_wrk() -> str:
    """wrk's path, or exit telling how to install it."""
    found = shutil.which("wrk")
    if found is None:
        sys.exit(
            "bench_pages: wrk is not installed; install it with `sudo apt-get install wrk` (Debian/Ubuntu)"
        )
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spread(values: list[int], n: int) -> list[int]:
    # Evenly spaced picks: deterministic between runs and spread over old and new customers.
    if len(values) <= n:
        return values
    step = len(values) / n
    return [values[int(i * step)] for i in range(n)]


def sample_paths(session: Session, username: str) -> dict[str, list[str]]:
    """The URLs each page run rotates through, drawn from what the account may read."""
    account = session.scalar(select(Account).where(Account.username == username))
    if account is None:
        sys.exit(f"bench_pages: no account {username!r} (is this a demo database?)")
    actor = actor_for_account(session, account)
    readable = select(Customer.id).where(customer_repo.readable(actor), Customer.merged_into_id.is_(None))
    ids = _spread(list(session.scalars(readable.order_by(Customer.id))), ROTATE)
    if not ids:
        sys.exit(f"bench_pages: account {username!r} can read no customers")
    rows = session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids)))
    names = {int(i): n for i, n in rows}
    phones = customer_repo.first_phones(session, ids)
    # The most used tags: a filter that matches many customers is the slow case, not the empty one.
    popular = (
        select(CustomerTag.tag_id)
        .group_by(CustomerTag.tag_id)
        .order_by(func.count().desc(), CustomerTag.tag_id)
        .limit(ROTATE // 2)
    )
    tag_ids = list(session.scalars(popular))
    return {
        "name": [f"/customers?q={quote(names[i])}" for i in ids if names.get(i)],
        "phone": [f"/customers?phone={phones[i][-4:]}" for i in ids if i in phones],
        "tag": [f"/customers?tag={t}" for t in tag_ids],
        "360": [f"/customers/{i}" for i in ids],
        "overview": ["/overview"],
    }


def sign_in(base: str, username: str) -> str:
    """The session cookie of a demo account, signed in through the real form."""
    with httpx.Client(base_url=base, timeout=30) as client:
        page = client.get("/login")
        match = CSRF.search(page.text)
        if match is None:
            sys.exit("bench_pages: the sign-in page has no CSRF token")
        form = {"username": username, "password": password_of(username), "next": "/", "csrf_token": match[1]}
        response = client.post("/login", data=form)
        token = response.cookies.get(SESSION_COOKIE)
        if response.status_code != 303 or not token:
            sys.exit(f"bench_pages: signing in as {username!r} failed ({response.status_code})")
        return token


def _wait_until_up(base: str, server: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"bench_pages: siyu serve exited with {server.returncode}")
        try:
            if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    sys.exit(f"bench_pages: siyu serve did not answer within {timeout:.0f} s")


def run_wrk(wrk: str, base: str, cookie: str, paths: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """One wrk run over paths (after one warm-up GET each); a page the role may not open is skipped."""
    headers = {"Cookie": f"{SESSION_COOKIE}={cookie}"}
    for path in paths:
        status = httpx.get(base + path, headers=headers, timeout=120).status_code
        if status == 403:
            return {"skipped": "403: the role may not open this page"}
        if status != 200:
            # Reported, not fatal: the other pages are still worth measuring.
            return {"skipped": f"warm-up GET {path} answered {status}"}
    command = [
        wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.duration}s",
        "--timeout",
        "30s",
        "-s",
        str(LUA),
        "-H",
        f"Cookie: {SESSION_COOKIE}={cookie}",
        base,
        "--",
        *paths,
    ]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["urls"] = len(paths)
    return result


def main() -> None:
    """Serve the database, then measure every page for every account and print the JSON report."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("url", help="database URL of a built demo brand (siyu demo)")
    parser.add_argument("--accounts", nargs="+", default=["admin", "guide"])
    parser.add_argument("--pages", nargs="+", choices=PAGES, default=list(PAGES))
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    wrk = require_wrk()
    load_before = round(os.getloadavg()[0], 2)
    session = session_factory(make_engine(args.url))()
    live = select(func.count()).select_from(Customer).where(Customer.merged_into_id.is_(None))
    customers = session.scalar(live) or 0
    plans = {user: sample_paths(session, user) for user in args.accounts}
    session.close()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SIYU_DATABASE_URL": args.url}
    # The app `siyu serve` runs, under uvicorn, without serve's in-process worker: background jobs
    # would otherwise share the CPU with the pages being timed.
    server = subprocess.Popen(
        [*UVICORN, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    results: dict[str, dict[str, Any]] = {}
    try:
        _wait_until_up(base, server)
        for user in args.accounts:
            cookie = sign_in(base, user)
            results[user] = {}
            for page in args.pages:
                paths = plans[user][page]
                if paths:
                    results[user][page] = run_wrk(wrk, base, cookie, paths, args)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    report = {
        "benchmark": "console_pages",
        "database": args.url.split("?")[0],
        "customers": customers,
        "load": {
            "tool": "wrk",
            "threads": args.threads,
            "connections": args.connections,
            "seconds": args.duration,
        },
        # The machine's load average around the runs: other work on the host inflates the latencies.
        "loadavg_1m": {"before": load_before, "after": round(os.getloadavg()[0], 2)},
        "bars_p95_ms": BARS,
        "results": results,
    }
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
