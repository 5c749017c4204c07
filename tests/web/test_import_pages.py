"""The 导入 page: preview of the mapping, dry-run validation, run with counts, report CSV, roles, CSRF, escaping."""

from __future__ import annotations

import csv
import io

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from siyu.db.engine import session_factory
from siyu.models import AuditLog, Customer, ImportJob, Order
from tests.web.conftest import MakeAccount, login, page_token

HEADER = ["订单号", "下单时间", "手机号", "实付金额(元)", "备注"]
GOOD = [
    HEADER,
    ["SO1", "2024-03-01 10:00", "13812345678", "12.30", "x"],
    ["SO2", "2024-03-02 11:00", "13912345678", "5"],
]
BAD = [
    HEADER,
    ["SO1", "not a date", "13812345678", "12.30", "x"],
    ["SO2", "2024-03-02 11:00", "13912345678", "<b>x</b>"],
]


def _csv(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding)


def _post(client: TestClient, step: str, body: bytes, token: str | None, **fields: str) -> httpx.Response:
    data = {"kind": "orders", **fields}
    if token is not None:
        data["csrf_token"] = token
    return client.post(f"/imports/{step}", data=data, files={"file": ("orders.csv", body, "text/csv")})


def _count(engine: Engine, model: type) -> int:
    with session_factory(engine)() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_nav_and_page(admin_client: TestClient) -> None:
    home = admin_client.get("/")
    assert 'href="/imports"' in home.text
    page = admin_client.get("/imports")
    assert page.status_code == 200
    assert 'name="file"' in page.text and 'hx-encoding="multipart/form-data"' in page.text


def test_preview_maps_chinese_headers(admin_client: TestClient, engine: Engine) -> None:
    token = page_token(admin_client, "/imports")
    response = _post(admin_client, "preview", _csv(GOOD, "gb18030"), token)
    assert response.status_code == 200, response.text
    text = response.text
    assert "<td>订单号</td><td>order_no</td>" in text
    assert "<td>实付金额(元)</td><td>amount</td>" in text
    assert 'class="map-unknown"><td>备注</td>' in text
    assert "gb18030" in text.lower()
    assert "SO2" in text
    missing = _post(admin_client, "preview", _csv([["订单号", "手机号"], ["SO1", "13812345678"]]), token)
    assert 'id="missing-fields"' in missing.text and "paid_at" in missing.text
    assert _count(engine, ImportJob) == 0


def test_validate_lists_errors_and_writes_nothing(admin_client: TestClient, engine: Engine) -> None:
    token = page_token(admin_client, "/imports")
    response = _post(admin_client, "validate", _csv(BAD), token, ignore_unknown="1")
    assert response.status_code == 422
    assert 'id="import-errors"' in response.text
    assert "not a date" in response.text
    assert "&lt;b&gt;x&lt;/b&gt;" in response.text and "<b>x</b>" not in response.text
    good = _post(admin_client, "validate", _csv(GOOD), token, ignore_unknown="1")
    assert good.status_code == 200, good.text
    assert 'id="import-counts"' in good.text
    assert _count(engine, Order) == 0
    assert _count(engine, Customer) == 0
    assert _count(engine, ImportJob) == 0


def test_run_writes_rows_and_shows_counts(admin_client: TestClient, engine: Engine) -> None:
    token = page_token(admin_client, "/imports")
    response = _post(admin_client, "run", _csv(GOOD), token, map="备注=-")
    assert response.status_code == 200, response.text
    assert "<td>2</td><td>2</td><td>0</td><td>0</td><td>0</td>" in response.text
    assert _count(engine, Order) == 2
    assert 'id="job-' in response.text
    again = _post(admin_client, "run", _csv(GOOD), token, map="备注=-")
    assert "<td>2</td><td>0</td><td>0</td><td>2</td><td>0</td>" in again.text
    with session_factory(engine)() as s:
        audits = s.execute(select(AuditLog).where(AuditLog.action == "import.orders")).scalars().all()
    assert [(a.detail or {}).get("inserted") for a in audits] == [2, 0]
    assert all(a.account_id is not None and a.target_type == "import_job" for a in audits)


def test_failed_run_reports_and_downloads_csv(admin_client: TestClient, engine: Engine) -> None:
    token = page_token(admin_client, "/imports")
    response = _post(admin_client, "run", _csv(BAD), token, ignore_unknown="1")
    assert response.status_code == 422
    assert "&lt;b&gt;x&lt;/b&gt;" in response.text and "<b>x</b>" not in response.text
    assert _count(engine, Order) == 0
    with session_factory(engine)() as s:
        job = s.execute(select(ImportJob)).scalar_one()
    assert job.status == "failed"
    assert f'href="/imports/{job.id}/report.csv"' in response.text
    report = admin_client.get(f"/imports/{job.id}/report.csv")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(report.text.lstrip("\ufeff"))))
    assert rows[0] == ["row", "column", "value", "reason"]
    assert any(r[2] == "not a date" for r in rows[1:])


def test_skip_invalid_imports_valid_rows(admin_client: TestClient, engine: Engine) -> None:
    token = page_token(admin_client, "/imports")
    response = _post(admin_client, "run", _csv(BAD), token, ignore_unknown="1", skip_invalid="1")
    assert response.status_code == 200, response.text
    assert 'id="import-errors"' in response.text
    assert _count(engine, Order) == 0  # both rows are bad in BAD
    assert "<td>2</td><td>0</td><td>0</td><td>0</td><td>2</td>" in response.text


def test_csrf_required(admin_client: TestClient, engine: Engine) -> None:
    for step in ("preview", "validate", "run"):
        response = _post(admin_client, step, _csv(GOOD), None, ignore_unknown="1")
        assert response.status_code == 403
    assert _count(engine, Order) == 0


def test_roles_and_scope(client: TestClient, make_account: MakeAccount, store: str) -> None:
    make_account("g1", "guide", scope="self", unit_code=store, staff_code="S1")
    assert login(client, "g1").status_code == 303
    assert 'href="/imports"' not in client.get("/").text
    assert client.get("/imports").status_code == 403
    token = page_token(client, "/")
    assert _post(client, "run", _csv(GOOD), token).status_code == 403
    client.post("/logout", data={"csrf_token": token})
    make_account("m1", "manager", scope="unit", unit_code=store)
    assert login(client, "m1").status_code == 303
    assert client.get("/imports").status_code == 403
