"""The import API: multipart upload, job status and the error report."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from siyu.db.engine import session_factory
from siyu.models import Order
from siyu.org.accounts import create_account
from siyu.org.tokens import create_token
from tests.imports.conftest import count, csv_bytes, xlsx_bytes

GOOD = [["订单号", "下单时间", "手机号", "实付金额"], ["SO1", "2024-03-01 10:00", "13812345678", "12.30"]]
BAD = [*GOOD, ["SO2", "2024-03-01 10:00", "123", "x"]]


def _upload(
    client: TestClient, auth: dict[str, str], kind: str, data: bytes, name: str = "orders.csv", **form: str
):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/imports", headers=auth, data={"kind": kind, **form}, files={"file": (name, data, "text/csv")}
    )


def test_upload_status_and_idempotence(client: TestClient, auth: dict[str, str], session: Session) -> None:
    response = _upload(client, auth, "orders", csv_bytes(GOOD))
    assert response.status_code == 201, response.text
    job = response.json()
    assert (job["status"], job["kind"], job["filename"]) == ("succeeded", "orders", "orders.csv")
    assert (job["total_rows"], job["inserted"], job["rejected"]) == (1, 1, 0)
    assert job["mapping"] == {
        "订单号": "order_no",
        "下单时间": "paid_at",
        "手机号": "phone",
        "实付金额": "amount",
    }
    assert job["account_id"] is not None and len(job["file_sha256"]) == 64
    status = client.get(f"/api/v1/imports/{job['id']}", headers=auth)
    assert status.status_code == 200 and status.json()["inserted"] == 1
    again = _upload(client, auth, "orders", csv_bytes(GOOD)).json()
    assert (again["inserted"], again["unchanged"]) == (0, 1)
    listed = client.get("/api/v1/imports", headers=auth).json()
    assert [j["id"] for j in listed] == [again["id"], job["id"]]
    assert count(session, Order) == 1


def test_failed_upload_and_report(client: TestClient, auth: dict[str, str], session: Session) -> None:
    response = _upload(client, auth, "orders", csv_bytes(BAD))
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid" and body["job_id"] == 1 and body["error_count"] == 2
    assert body["message"].startswith("import job 1: orders.csv: 2 problem(s) on 1 row(s)")
    assert {(d["row"], d["column"]) for d in body["details"]} == {(3, "手机号"), (3, "实付金额")}
    assert count(session, Order) == 0
    job = client.get("/api/v1/imports/1", headers=auth).json()
    assert (job["status"], job["inserted"], job["rejected"]) == ("failed", 0, 1)
    report = client.get("/api/v1/imports/1/report", headers=auth).json()
    assert (report["status"], report["listed"], report["truncated"]) == ("failed", 2, False)
    assert report["errors"][0] == {
        "row": 3,
        "column": "手机号",
        "value": "123",
        "reason": "not a phone number: too short",
    }
    text = client.get("/api/v1/imports/1/report?format=csv", headers=auth)
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/csv")
    assert text.text.splitlines()[0] == "\ufeffrow,column,value,reason"
    assert "3,手机号,123,not a phone number: too short" in text.text


def test_skip_invalid_map_and_xlsx(client: TestClient, auth: dict[str, str], session: Session) -> None:
    data = xlsx_bytes([["单号", "时间", "电话", "金额"], *(row for row in BAD[1:])])
    response = _upload(
        client,
        auth,
        "orders",
        data,
        "orders.xlsx",
        map="单号=order_no,时间=paid_at,电话=phone,金额=amount",
        skip_invalid="true",
        source="pos",
    )
    assert response.status_code == 201, response.text
    assert (response.json()["inserted"], response.json()["rejected"]) == (1, 1)
    assert session.get_one(Order, 1).source == "pos"


def test_bad_requests(client: TestClient, auth: dict[str, str]) -> None:
    assert _upload(client, auth, "pets", csv_bytes(GOOD)).status_code == 422
    empty = _upload(client, auth, "customers", b"")
    assert empty.status_code == 422 and "the file is empty" in empty.json()["message"]
    assert client.get("/api/v1/imports/99", headers=auth).status_code == 404
    assert client.get("/api/v1/imports/1/report?format=xml", headers=auth).status_code == 422
    assert client.post("/api/v1/imports", data={"kind": "orders"}).status_code == 401


def test_roles_and_scope(
    client: TestClient, auth: dict[str, str], engine: Engine, org: dict[str, int]
) -> None:
    _upload(client, auth, "orders", csv_bytes(GOOD))
    with session_factory(engine)() as s:
        create_account(s, username="ana", password="analyst-pass-1", role="analyst", scope="all")
        create_account(
            s, username="op", password="operator-pass-1", role="operator", scope="unit", unit_code="S001"
        )
        analyst = {"Authorization": f"Bearer {create_token(s, 'ana', 't')}"}
        operator = {"Authorization": f"Bearer {create_token(s, 'op', 't')}"}
        s.commit()
    assert _upload(client, analyst, "orders", csv_bytes(GOOD)).status_code == 403
    refused = _upload(client, operator, "orders", csv_bytes(GOOD))
    assert refused.status_code == 403 and "scope 'all'" in refused.json()["message"]
    # Another account's jobs are invisible without the whole-brand scope.
    assert client.get("/api/v1/imports/1", headers=operator).status_code == 404
    assert client.get("/api/v1/imports", headers=operator).json() == []
