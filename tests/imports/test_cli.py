"""`siyu import …` on the command line: success, failure, rejects file, job report."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from siyu.cli import app
from siyu.models import Customer, ImportJob, Order
from tests.imports.conftest import count, csv_bytes, xlsx_bytes

runner = CliRunner()
ROWS = [
    ["订单号", "下单时间", "手机号", "实付金额"],
    ["SO1", "2024-03-01 10:00", "13812345678", "12.30"],
    ["SO2", "2024-03-01 11:00", "not-a-phone", "5"],
    ["SO3", "2024-03-01 12:00", "13900001111", "1.2.3"],
    ["SO4", "2024-03-01 13:00", "13900001111", "8"],
]


def test_import_orders_all_or_nothing(cli_env: str, session: Session, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(csv_bytes(ROWS))
    result = runner.invoke(app, ["import", "orders", str(path), "--quiet"])
    assert result.exit_code == 1
    assert "import job 1: orders.csv: 2 problem(s) on 2 row(s); nothing was imported" in result.output
    assert "row 3, column 手机号, value 'not-a-phone'" in result.output
    assert "row 4, column 实付金额, value '1.2.3': not an amount" in result.output
    assert count(session, Order) == 0
    shown = runner.invoke(app, ["import", "show", "1"])
    assert shown.exit_code == 0 and "failed" in shown.output and "row 3" in shown.output


def test_skip_invalid_writes_a_rejects_file(cli_env: str, session: Session, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(csv_bytes(ROWS))
    result = runner.invoke(app, ["import", "orders", str(path), "--skip-invalid"])
    assert result.exit_code == 0, result.output
    assert "import job 1 succeeded: 4 row(s): 2 inserted" in result.output
    rejects = tmp_path / "orders.csv.rejects.csv"
    assert "2 rejected row(s) written to" in result.output
    with rejects.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["line", *ROWS[0], "reason"]
    assert rows[1][:5] == ["3", *ROWS[2]] and rows[1][5].startswith("手机号: not a phone number")
    assert rows[2][:5] == ["4", *ROWS[3]] and rows[2][5].startswith("实付金额: not an amount")
    assert count(session, Order) == 2 and count(session, Customer) == 2
    again = runner.invoke(
        app, ["import", "orders", str(path), "--skip-invalid", "--rejects", str(tmp_path / "r.csv")]
    )
    assert again.exit_code == 0 and "0 inserted, 0 updated, 2 unchanged" in again.output
    assert (tmp_path / "r.csv").exists()
    assert count(session, ImportJob) == 2


def test_map_option_and_xlsx(cli_env: str, session: Session, tmp_path: Path) -> None:
    path = tmp_path / "customers.xlsx"
    path.write_bytes(xlsx_bytes([["客户电话", "名字", "备注"], [13812345678, "张三", "老客"]]))
    result = runner.invoke(app, ["import", "customers", str(path), "-q"])
    assert result.exit_code == 1 and "unknown column" in result.output
    result = runner.invoke(
        app, ["import", "customers", str(path), "-q", "--map", "客户电话=phone,名字=name,备注=-"]
    )
    assert result.exit_code == 0, result.output
    assert session.scalar(select(Customer.name)) == "张三"


def test_missing_file(cli_env: str) -> None:
    result = runner.invoke(app, ["import", "messages", "/nonexistent/archive.csv"])
    assert result.exit_code == 1 and "cannot open" in result.output
