"""End to end: the segment builder in Chromium against `siyu serve` on a small demo brand (SQLite file)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from siyu.db.engine import make_engine, session_factory
from siyu.db.types import utcnow
from siyu.org.permissions import SYSTEM_ACTOR
from siyu.segments import repository as repo
from siyu.segments.schemas import parse_rule
from tests.e2e.test_browser import CHROMIUM, PLAYWRIGHT, ROOT, _free_port, _siyu, _wait_until_up

SCRIPT = Path(__file__).with_name("builder.mjs")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(base URL, SQLite file) of a served 300-customer demo brand."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    if not PLAYWRIGHT.is_dir() or shutil.which("node") is None:
        pytest.skip("node or node_modules/playwright-core is missing (npm ci)")
    work = tmp_path_factory.mktemp("segments-e2e")
    db = work / "demo.db"
    env = {**os.environ, "SIYU_DATABASE_URL": f"sqlite:///{db}", "SIYU_EMBEDDED_WORKER": "false"}
    env.pop("SIYU_TEST_DATABASE_URL", None)
    subprocess.run(
        [_siyu(), "demo", "--customers", "300"],
        cwd=work,
        env=env,
        check=True,
        capture_output=True,
        timeout=90,
    )
    port = _free_port()
    with (work / "serve.log").open("wb") as log:
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


def _count(db: Path, node: dict[str, object]) -> int:
    engine = make_engine(f"sqlite:///{db}")
    try:
        with session_factory(engine)() as s:
            return repo.count_members(s, parse_rule({"version": 1, "rule": node}), SYSTEM_ACTOR, utcnow())
    finally:
        engine.dispose()


def test_builder_counts_live_and_saves_in_chromium(served: tuple[str, Path]) -> None:
    url, db = served
    run = subprocess.run(["node", str(SCRIPT), url], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout)
    assert seen["errors"] == [], json.dumps(seen, ensure_ascii=False)
    consent = {"field": "consent", "op": "is", "value": True}
    no_consent = {"field": "consent", "op": "is", "value": False}
    recent = {"field": "last_order_days", "op": "le", "value": 30}
    assert [int(n) for n in seen["counts"]] == [
        _count(db, {"all": [consent]}),
        _count(db, {"all": [no_consent]}),
        _count(db, {"all": [no_consent, recent]}),
    ]
    assert seen["rows"] == ["r", "r.0", "r.1"]
    assert seen["saved_url"].startswith("/segments/") and seen["versions"] == ["1"]
    assert int(seen["saved_count"]) == _count(db, {"all": [no_consent, recent]})
